"""Built-in detections over the normalized event table (SOP *Monitoring Sistem Elektronik*, log analysis).

Each detector takes the event table of :mod:`sopkit.logs.schema` and :class:`LogThresholds` and
returns :class:`~sopkit.findings.Finding` records; :func:`detect_log_all` runs them all.

Methods (all counts are over events, so any reader that fills ``action``/``outcome`` feeds them):

* *failed login* = ``action == "login"`` and ``outcome == "failure"`` (sshd "Failed password", Windows
  4625), or a POST to a login URL (``web_login_pattern``) not answered with a redirect (3xx: the
  usual answer to a successful form login). PAM "authentication failure" and "Invalid user" lines are
  not counted: they repeat the same attempt.
* *brute force*: failures from one source to one host and service, peak count in a sliding window
  (:func:`sopkit.detect.scan.max_in_window`) ≥ ``bruteforce_min_failures``.
* *password spraying*: one source failing on ≥ ``spray_min_users`` accounts of one host/service with a
  median of ≤ ``spray_max_per_user`` attempts per account (many accounts, few guesses each).
* *success after failures*: a successful login from a source that failed ≥ ``success_min_failures``
  times on that host in the preceding ``success_window_s`` — critical, the guess probably worked.
* *Windows 4625 storm*: failed logons on one host, any source, peak in ``win_storm_window_s``.
* *account created / added to an admin group*: ``user_add`` (useradd, 4720); membership of a group in
  ``admin_groups`` (usermod/gpasswd lines, 4728/4732/4756 or the Administrators SID S-1-5-32-544).
* *sudo to root*: ``sudo`` (and ``su``) to root by an account not in ``sudo_admins`` or not in the
  ``known_sudoers`` of earlier runs; high when the account logged in from a source that had just
  brute-forced it.
* *web attacks*: :func:`sopkit.detect.web.classify_requests` hits per client and category; *4xx storms*
  per client.
* *silent sources* (:mod:`sopkit.detect.logsilence`): a file/host whose last event is much older than
  the end of the period, a gap longer than ``silent_gap_hours``, or a file that gave no events at all.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd

from sopkit.detect.common import evidence, evidence_ref, strength
from sopkit.detect.logthresholds import LogThresholds
from sopkit.detect.scan import max_in_window
from sopkit.detect.web import classify_requests
from sopkit.detect.webtraffic import CATEGORIES as WEB_CATEGORIES
from sopkit.findings import Finding
from sopkit.logs.schema import LogResult
from sopkit.report.i18n import number

#: event columns shown as evidence (``time`` is ``ts``, kept visible in printed reports)
EVENT_EVIDENCE = ["time", "host", "program", "event_id", "src_ip", "user", "action", "outcome", "http_method",
                  "url", "http_status", "user_agent", "message", "file", "line"]
ADMIN_SID = "S-1-5-32-544"
ADMIN_GROUP_EVENTS = {"4728", "4732", "4756"}


def _col(ev: pd.DataFrame, name: str) -> pd.Series:
    return ev[name] if name in ev.columns else pd.Series(pd.NA, index=ev.index, dtype="string")


def _target(ev: pd.DataFrame) -> pd.Series:
    """The host an event is about: its logged host, else the name of the file it came from."""
    files = _col(ev, "file").astype("string").str.replace(r"^.*[/\\]", "", regex=True)
    return _col(ev, "host").fillna(files).fillna("?").astype(str)


def _secs(ts: pd.Series) -> np.ndarray:
    return np.sort(ts.astype("int64").to_numpy() / 1e9)


def _finding(detector: str, title: tuple[str, str], score: float, rows: pd.DataFrame, *, severity: str, attack: str,
             entities: dict, counts: dict, explanation: tuple[str, str], recommendation: tuple[str, str],
             query: str) -> Finding:
    ev = rows.assign(time=rows["ts"])
    return Finding(detector=detector, title_id=title[0], title_en=title[1], severity=severity, first_seen=rows["ts"].min(),
                   last_seen=rows["ts"].max(), explanation_id=explanation[0], explanation_en=explanation[1],
                   attack=attack, score=round(float(min(max(score, 0.0), 1.0)), 3),
                   entities={k: [str(x) for x in v] for k, v in entities.items()},
                   counts={k: float(v) for k, v in counts.items()}, recommendation_id=recommendation[0],
                   recommendation_en=recommendation[1], evidence=evidence(ev, EVENT_EVIDENCE, sort="time"),
                   evidence_ref=evidence_ref("events", len(rows), query))


def login_failures(events: pd.DataFrame, th: LogThresholds) -> pd.DataFrame:
    """Failed logins with ``service`` (sshd, rdp, windows, http…) and ``target`` (host) columns."""
    ev = events
    auth = ev[(_col(ev, "action") == "login") & (_col(ev, "outcome") == "failure")].copy()
    logon_type = _col(auth, "win.LogonType").astype("string")
    auth["service"] = _col(auth, "program").fillna("login").astype(str)
    auth.loc[_col(auth, "source") == "winevt", "service"] = np.where(logon_type[_col(auth, "source") == "winevt"]
                                                                     .eq("10").fillna(False), "rdp", "windows")
    web = ev[_col(ev, "http_method").eq("POST").fillna(False)
             & _col(ev, "url").str.contains(th.web_login_pattern, flags=re.IGNORECASE, regex=True).fillna(False)
             & ~_col(ev, "http_status").between(300, 399).fillna(False)].assign(service="http")
    out = pd.concat([auth, web]) if len(web) else auth
    return out.assign(target=_target(out))


def _logins_ok(events: pd.DataFrame) -> pd.DataFrame:
    ok = events[(_col(events, "action") == "login") & (_col(events, "outcome") == "success")]
    return ok.assign(target=_target(ok))


_BF_REC = ("Blokir sumber di firewall, aktifkan pembatasan percobaan login (fail2ban/lockout) dan autentikasi "
           "kunci/MFA; periksa apakah ada login berhasil dari sumber ini.",
           "Block the source at the firewall, enable login rate limiting (fail2ban/lockout) and key-based "
           "authentication or MFA; check for any successful login from this source.")


def detect_bruteforce(events: pd.DataFrame, th: LogThresholds) -> list[Finding]:
    """Many failed logins from one source to one host/service within a sliding window."""
    fails = login_failures(events, th).dropna(subset=["src_ip"])
    found: list[Finding] = []
    for (src, host, service), rows in fails.groupby(["src_ip", "target", "service"]):
        peak = max_in_window(_secs(rows["ts"]), th.bruteforce_window_s)
        if peak < th.bruteforce_min_failures:
            continue
        n, users = len(rows), sorted(rows["user"].dropna().astype(str).unique())
        score = 0.5 * strength(peak, th.bruteforce_min_failures) + 0.5 * strength(n, th.bruteforce_high_failures)
        hours = th.bruteforce_window_s / 3600
        found.append(_finding(
            "logs.bruteforce", (f"Percobaan brute force login {service} dari {src} ke {host} ({number(n)} kali "
                                f"gagal)",
                                f"Login brute force {src} → {host} ({service}, {n} failures)"), score, rows,
            severity="high" if n >= th.bruteforce_high_failures else "medium", attack="T1110.001",
            entities={"src_ip": [src], "host": [host], "service": [service], "user": users[:20]},
            counts={"failures": n, "failures_in_window": peak, "users": len(users)},
            explanation=(f"{src} gagal login {number(n)} kali ke {service} di {host} (puncak {number(peak)} "
                         f"dalam {number(hours)} jam) "
                         f"dengan {number(len(users))} akun: pola tebak kata sandi (brute force).",
                         f"{src} failed to log in {n} times to {service} on {host} (peak {peak} within "
                         f"{hours:g} h) using {len(users)} accounts: password guessing (brute force)."),
            recommendation=_BF_REC, query=f"failed login from {src} to {host} {service}"))
    return found


def detect_spraying(events: pd.DataFrame, th: LogThresholds) -> list[Finding]:
    """One source failing on many distinct accounts with only a few attempts each."""
    fails = login_failures(events, th).dropna(subset=["src_ip", "user"])
    found: list[Finding] = []
    for (src, host, service), rows in fails.groupby(["src_ip", "target", "service"]):
        per_user = rows.groupby("user").size()
        if len(per_user) < th.spray_min_users or per_user.median() > th.spray_max_per_user:
            continue
        score = strength(len(per_user), th.spray_min_users)
        found.append(_finding(
            "logs.spraying", (f"Password spraying dari {src} ke {host} ({service}, {number(len(per_user))} akun)",
                              f"Password spraying {src} → {host} ({service}, {len(per_user)} accounts)"), score,
            rows, severity="high" if score >= 0.85 else "medium", attack="T1110.003",
            entities={"src_ip": [src], "host": [host], "service": [service], "user": list(per_user.index[:20])},
            counts={"accounts": len(per_user), "failures": len(rows), "median_per_account": per_user.median()},
            explanation=(f"{src} mencoba {number(len(per_user))} akun berbeda pada {service} di {host} dengan median "
                         f"{number(per_user.median())} percobaan per akun: pola password spraying (menebak akun).",
                         f"{src} tried {len(per_user)} distinct accounts on {service} on {host} with a median of "
                         f"{per_user.median():g} attempts per account: password spraying (guessing accounts)."),
            recommendation=_BF_REC, query=f"failed login from {src} to {host} {service}"))
    return found


def detect_success_after_failures(events: pd.DataFrame, th: LogThresholds) -> list[Finding]:
    """A successful login from a source that just failed many times on the same host (critical)."""
    fails = login_failures(events, th).dropna(subset=["src_ip"])
    ok = _logins_ok(events).dropna(subset=["src_ip"])
    window = pd.Timedelta(seconds=th.success_window_s)
    found: list[Finding] = []
    seen: set[tuple] = set()
    for _, s in ok.sort_values("ts").iterrows():
        key = (s["src_ip"], s["target"], s["user"])
        if key in seen:
            continue
        before = fails[(fails["src_ip"] == s["src_ip"]) & (fails["target"] == s["target"])
                       & (fails["ts"] < s["ts"]) & (fails["ts"] >= s["ts"] - window)]
        if len(before) < th.success_min_failures:
            continue
        seen.add(key)
        rows = pd.concat([before, ok.loc[[s.name]]])
        src, host, user, n = s["src_ip"], s["target"], s["user"], len(before)
        found.append(_finding(
            "logs.success_after_failures", (f"Login berhasil setelah {number(n)} kali gagal: {user} dari {src} "
                                            f"di {host}",
                                            f"Login success after {n} failures: {user} from {src} on {host}"),
            strength(n, th.success_min_failures), rows, severity="critical", attack="T1110,T1078",
            entities={"src_ip": [src], "host": [host], "user": [user]},
            counts={"failures_before": n, "failed_accounts": before["user"].nunique()},
            explanation=(f"Akun {user} berhasil login ke {host} dari {src} setelah {number(n)} kegagalan dari "
                         f"sumber yang "
                         "sama: kemungkinan besar kata sandi berhasil ditebak dan akun telah diambil alih.",
                         f"Account {user} logged in to {host} from {src} after {n} failures from the same source: "
                         "the password was most likely guessed and the account taken over."),
            recommendation=("Segera nonaktifkan/reset akun, putus sesi aktif, blokir sumber, dan periksa aktivitas "
                            "setelah login (sudo, akun baru, berkas diubah) — tangani sebagai insiden.",
                            "Disable/reset the account now, end its sessions, block the source and review what "
                            "happened after the login (sudo, new accounts, changed files) — handle as an incident."),
            query=f"login from {src} to {host}"))
    return found


def detect_windows_storm(events: pd.DataFrame, th: LogThresholds) -> list[Finding]:
    """Many Windows 4625 failed logons on one host in a short window, whatever their sources."""
    ev = events[_col(events, "event_id").eq("4625").fillna(False) & _col(events, "source").eq("winevt").fillna(False)]
    found: list[Finding] = []
    for host, rows in ev.assign(target=_target(ev)).groupby("target"):
        peak = max_in_window(_secs(rows["ts"]), th.win_storm_window_s)
        if peak < th.win_storm_min_failures:
            continue
        srcs = sorted(rows["src_ip"].dropna().astype(str).unique())
        users = sorted(rows["user"].dropna().astype(str).unique())
        found.append(_finding(
            "logs.win_4625_storm", (f"Lonjakan logon gagal di {host} ({number(len(rows))} × 4625)",
                                    f"Failed-logon storm on {host} ({len(rows)} × 4625)"),
            strength(peak, th.win_storm_min_failures), rows, severity="high", attack="T1110",
            entities={"host": [host], "src_ip": srcs[:20], "user": users[:20]},
            counts={"failures": len(rows), "failures_in_window": peak, "sources": len(srcs), "users": len(users)},
            explanation=(f"{host} mencatat {number(len(rows))} logon gagal (4625), puncak {number(peak)} dalam "
                         f"{number(th.win_storm_window_s / 60)} menit, dari {number(len(srcs))} sumber pada "
                         f"{number(len(users))} akun.",
                         f"{host} logged {len(rows)} failed logons (4625), peaking at {peak} within "
                         f"{th.win_storm_window_s / 60:g} minutes, from {len(srcs)} sources on {len(users)} accounts."),
            recommendation=_BF_REC, query=f"EventID 4625 on {host}"))
    return found


def detect_account_changes(events: pd.DataFrame, th: LogThresholds) -> list[Finding]:
    """Accounts created (useradd, 4720) and accounts added to an administrator group."""
    ev = events.assign(target=_target(events))
    found: list[Finding] = []
    admin = {g.lower() for g in th.admin_groups}
    for _, e in ev[_col(ev, "action").eq("user_add").fillna(False)].iterrows():
        user, host = str(e["user"]), e["target"]
        found.append(_finding(
            "logs.account_created", (f"Akun baru dibuat: {user} di {host}", f"Account created: {user} on {host}"), 0.6, ev.loc[[e.name]],
            severity="medium", attack="T1136", entities={"host": [host], "user": [user]}, counts={"events": 1},
            explanation=(f"Akun baru {user} dibuat di {host}. Penyerang membuat akun untuk bertahan (persistence); "
                         "pastikan ada permintaan perubahan yang sah.",
                         f"A new account {user} was created on {host}. Attackers create accounts to persist; "
                         "make sure a legitimate change request exists."),
            recommendation=("Konfirmasi dengan administrator; bila tidak sah, nonaktifkan akun dan telusuri siapa "
                            "yang membuatnya.", "Confirm with the administrators; if unauthorised, disable the "
                            "account and trace who created it."), query=f"user_add {user} on {host}"))
    group = _col(ev, "auth.group").str.lower()
    win_group = _col(ev, "win.TargetUserName").str.lower()
    adds = ev[(_col(ev, "action").eq("group_member_add") & group.isin(admin)).fillna(False)
              | (_col(ev, "event_id").isin(ADMIN_GROUP_EVENTS) & (win_group.isin(admin)
                 | _col(ev, "win.TargetSid").eq(ADMIN_SID))).fillna(False)]
    for _, e in adds.iterrows():
        user, host = str(e["user"]), e["target"]
        grp = e.get("auth.group") if pd.notna(e.get("auth.group", pd.NA)) else e.get("win.TargetUserName")
        found.append(_finding(
            "logs.admin_group_add", (f"{user} ditambahkan ke grup admin {grp} di {host}",
                                     f"{user} added to admin group {grp} on {host}"), 0.8, ev.loc[[e.name]],
            severity="high", attack="T1098", entities={"host": [host], "user": [user], "group": [grp]},
            counts={"events": 1},
            explanation=(f"Akun {user} ditambahkan ke grup administrator {grp} di {host}: akun ini kini dapat "
                         "menjadi root/administrator.", f"Account {user} was added to the administrator group "
                         f"{grp} on {host}: it can now act as root/administrator."),
            recommendation=("Verifikasi perubahan; bila tidak sah, keluarkan dari grup, nonaktifkan akun dan "
                            "tangani sebagai insiden.", "Verify the change; if unauthorised, remove the membership, "
                            "disable the account and handle as an incident."), query=f"group add {user} on {host}"))
    return found


def detect_sudo_root(events: pd.DataFrame, th: LogThresholds, known_sudoers: Iterable[str] | None = None,
                     compromised: Iterable[str] = ()) -> list[Finding]:
    """sudo/su to root by an account outside ``sudo_admins`` or not seen doing so in earlier runs.

    ``compromised`` lists accounts that logged in after a brute force (see
    :func:`detect_success_after_failures`); their root shells are rated high.
    """
    ev = events
    root = _col(ev, "user").fillna("root").eq("root")
    sudo = ev[_col(ev, "action").isin(["sudo", "su"]).fillna(False) & root
              & _col(ev, "outcome").ne("failure").fillna(True)].assign(target=_target(ev))
    by = _col(sudo, "auth.by_user").fillna(_col(sudo, "win.SubjectUserName"))
    sudo = sudo.assign(by=by)[by.notna() & by.ne("root")]
    admins, known, bad = set(th.sudo_admins), set(known_sudoers or ()), set(compromised)
    found: list[Finding] = []
    for (who, host), rows in sudo.groupby(["by", "target"]):
        if who in admins or (known and who in known and who not in bad):
            continue
        why_id, why_en = ("belum pernah tercatat menjadi root", "never seen becoming root before") if known else (
            ("tidak ada dalam daftar admin", "not in the admins list") if admins else
            ("daftar admin belum diisi", "no admins list configured"))
        sev = "high" if who in bad else ("medium" if admins or known else "low")
        if who in bad:
            why_id, why_en = "login dari sumber brute force", "logged in from a brute-force source"
        cmds = rows["process"].dropna().astype(str).unique()[:5]
        found.append(_finding(
            "logs.sudo_root", (f"{who} menjadi root di {host} ({number(len(rows))}×)",
                               f"{who} became root on {host} ({len(rows)}×)"),
            0.9 if who in bad else 0.5, rows,
            severity=sev, attack="T1548.003", entities={"host": [host], "user": [who], "command": list(cmds)},
            counts={"events": len(rows)},
            explanation=(f"{who} menjalankan perintah sebagai root di {host} {number(len(rows))} kali ({why_id}).",
                         f"{who} ran commands as root on {host} {len(rows)} times ({why_en})."),
            recommendation=("Pastikan akun ini berwenang menjadi root dan perintahnya wajar; bila tidak, cabut hak "
                            "sudo dan tangani sebagai insiden.", "Make sure this account may become root and the "
                            "commands are expected; if not, revoke its sudo rights and handle as an incident."),
            query=f"sudo/su to root by {who} on {host}"))
    return found


def _requests(events: pd.DataFrame) -> pd.DataFrame:
    return events[_col(events, "url").notna() & _col(events, "http_status").notna() & _col(events, "source").ne(
        "suricata").fillna(True)]


def detect_web_attacks(events: pd.DataFrame, th: LogThresholds) -> list[Finding]:
    """Web-attack signature hits per client and category (SQLi, XSS, traversal, scanners…)."""
    req = _requests(events)
    if req.empty:
        return []
    hits = classify_requests(req)
    hits = hits[hits["attack"] != ""].assign(category=lambda d: d["attack"].str.split(",")).explode("category")
    found: list[Finding] = []
    for (src, cat), rows in hits.groupby(["src_ip", "category"]):
        need = th.web_sensitive_min_requests if cat == "sensitive_file" else th.web_min_requests
        if len(rows) < need:
            continue
        ok = int(rows["http_status"].between(200, 299).sum())
        _, name_id, name_en = WEB_CATEGORIES.get(cat, ("", cat, cat))
        score = 0.5 * strength(len(rows), need) + 0.5 * strength(len(rows), th.web_high_requests)
        found.append(_finding(
            f"logs.web.{cat}", (f"Serangan web ({name_id}) dari {src}: {number(len(rows))} permintaan",
                                f"Web attack ({name_en}) from {src}: {len(rows)} requests"), score, rows,
            severity="high" if len(rows) >= th.web_high_requests or cat in ("webshell", "command_injection")
            else "medium", attack="T1190" if cat != "scanner" else "T1595.002",
            entities={"src_ip": [src], "host": sorted(_target(rows).unique()), "category": [cat]},
            counts={"requests": len(rows), "urls": rows["url"].nunique(), "answered_2xx": ok},
            explanation=(f"{src} mengirim {number(len(rows))} permintaan berpola serangan {cat} ({number(ok)} "
                         f"dijawab 2xx).",
                         f"{src} sent {len(rows)} requests matching the {cat} attack pattern ({ok} answered 2xx)."),
            recommendation=("Periksa permintaan yang dijawab 2xx, blokir sumber di WAF/firewall dan perbaiki "
                            "aplikasi yang rentan.", "Review the requests answered 2xx, block the source at the "
                            "WAF/firewall and fix the vulnerable application."), query=f"{cat} from {src}"))
    return found


def detect_4xx_storms(events: pd.DataFrame, th: LogThresholds) -> list[Finding]:
    """Clients that received many client-error (4xx) answers in a short window: crawling for content."""
    req = _requests(events)
    errs = req[req["http_status"].between(400, 499).fillna(False)]
    total = req.groupby("src_ip").size()
    found: list[Finding] = []
    for src, rows in errs.groupby("src_ip"):
        peak = max_in_window(_secs(rows["ts"]), th.http_4xx_window_s)
        share = len(rows) / total[src]
        if peak < th.http_4xx_min or share < th.http_4xx_min_share:
            continue
        found.append(_finding(
            "logs.http_4xx_storm", (f"Lonjakan respons HTTP 4xx ke {src} ({number(len(rows))} error)",
                                    f"HTTP 4xx storm from {src} ({len(rows)} errors)"), strength(peak, th.http_4xx_min),
            rows, severity="medium", attack="T1595.003", entities={"src_ip": [src]},
            counts={"errors": len(rows), "errors_in_window": peak, "share": share},
            explanation=(f"{src} menerima {number(len(rows))} jawaban 4xx ({share:.0%} permintaannya): "
                         f"pencarian berkas/"
                         "direktori secara otomatis.", f"{src} received {len(rows)} 4xx answers ({share:.0%} of its "
                         "requests): automated file/directory discovery."),
            recommendation=("Blokir atau batasi laju sumber ini; periksa apakah ada URL yang ditemukan (2xx).",
                            "Block or rate-limit this source; check whether it found any URL (2xx)."),
            query=f"4xx to {src}"))
    return found


DETECTORS: tuple[Callable[[pd.DataFrame, LogThresholds], list[Finding]], ...] = (
    detect_bruteforce, detect_spraying, detect_windows_storm, detect_account_changes, detect_web_attacks,
    detect_4xx_storms)


def detect_log_all(result: LogResult, thresholds: LogThresholds | None = None, now: object = None, *,
                   start: object = None, known_sudoers: Iterable[str] | None = None) -> list[Finding]:
    """Every log detector over ``result.events``; ``now``/``start`` bound the period (default: the data's)."""
    from sopkit.detect.logsilence import detect_files_without_events, detect_silent_sources  # (a cycle)

    th = thresholds or LogThresholds()
    ev = result.events
    found: list[Finding] = [f for det in DETECTORS for f in det(ev, th)]
    saf = detect_success_after_failures(ev, th)
    found += saf
    found += detect_sudo_root(ev, th, known_sudoers, compromised=[u for f in saf for u in f.entities["user"]])
    end = pd.Timestamp(now, tz="UTC") if now is not None and pd.Timestamp(now).tzinfo is None else (
        pd.Timestamp(now) if now is not None else None)
    begin = pd.Timestamp(start, tz="UTC") if start is not None and pd.Timestamp(start).tzinfo is None else (
        pd.Timestamp(start) if start is not None else None)
    found += detect_silent_sources(ev, th, start=begin, end=end)
    found += detect_files_without_events(result, end)
    return found
