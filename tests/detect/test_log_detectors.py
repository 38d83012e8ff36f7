"""Log detectors on small generated event tables (positive and negative), the demo day and loghub OpenSSH."""

from __future__ import annotations

import pandas as pd
import pytest

from sopkit.detect import logs as dl
from sopkit.detect.logsilence import detect_silent_sources
from sopkit.detect.logthresholds import LogThresholds, load_log_thresholds
from sopkit.errors import ParameterError
from sopkit.logs.read import read_logs
from sopkit.logs.schema import LogResult, conform
from sopkit.report import logs as rl

T0 = pd.Timestamp("2026-11-24 01:00", tz="UTC")


def ev(rows: list[dict]) -> pd.DataFrame:
    """An event table from partial rows; ``s`` is seconds after T0."""
    out = []
    for i, r in enumerate(rows):
        r = dict(r)
        r["ts"] = T0 + pd.Timedelta(seconds=r.pop("s", i))
        r.setdefault("file", "/var/log/auth.log")
        r.setdefault("line", i + 1)
        out.append(r)
    return conform(pd.DataFrame(out))


def failures(src: str, n: int, *, users=("root",), step: float = 5.0, start: float = 0.0, host="srv1") -> list[dict]:
    return [{"s": start + i * step, "source": "auth", "host": host, "program": "sshd", "src_ip": src,
             "user": users[i % len(users)], "action": "login", "outcome": "failure"} for i in range(n)]


TH = LogThresholds()


def test_bruteforce_positive_and_negative():
    e = ev(failures("203.0.113.5", 30) + failures("198.51.100.1", 4))
    found = dl.detect_bruteforce(e, TH)
    assert [f.entities["src_ip"] for f in found] == [["203.0.113.5"]]
    assert found[0].counts["failures"] == 30 and found[0].entities["service"] == ["sshd"]
    # 30 failures spread over 30 hours never reach 10 inside one hour
    assert dl.detect_bruteforce(ev(failures("203.0.113.5", 30, step=3600)), TH) == []


def test_web_login_bruteforce():
    posts = [{"s": i * 2, "source": "access", "file": "/var/log/nginx/access.log", "src_ip": "192.0.2.44",
              "http_method": "POST", "url": "/wp-login.php", "http_status": 200} for i in range(15)]
    posts.append({"s": 40, "source": "access", "file": "/var/log/nginx/access.log", "src_ip": "10.0.0.8",
                  "http_method": "POST", "url": "/wp-login.php", "http_status": 302})
    found = dl.detect_bruteforce(ev(posts), TH)
    assert [(f.entities["src_ip"], f.entities["host"], f.entities["service"], f.counts["failures"]) for f in found] == [
        (["192.0.2.44"], ["access.log"], ["http"], 15.0)]


def test_spraying_needs_many_accounts_few_tries():
    users = [f"u{i}" for i in range(8)]
    spray = dl.detect_spraying(ev(failures("203.0.113.7", 8, users=users)), TH)
    assert len(spray) == 1 and spray[0].counts["accounts"] == 8
    assert dl.detect_spraying(ev(failures("203.0.113.7", 40, users=("root",))), TH) == []


def test_success_after_failures_is_critical():
    ok = {"source": "auth", "host": "srv1", "program": "sshd", "src_ip": "203.0.113.5", "user": "admin",
          "action": "login", "outcome": "success"}
    e = ev(failures("203.0.113.5", 12) + [dict(ok, s=100)])
    found = dl.detect_success_after_failures(e, TH)
    assert len(found) == 1 and found[0].severity == "critical" and found[0].entities["user"] == ["admin"]
    assert found[0].counts["failures_before"] == 12
    # the same success two hours after the failures, or from another source, is not suspicious
    assert dl.detect_success_after_failures(ev(failures("203.0.113.5", 12) + [dict(ok, s=8000)]), TH) == []
    assert dl.detect_success_after_failures(ev(failures("203.0.113.5", 12) + [dict(ok, s=100, src_ip="10.0.0.2")]),
                                            TH) == []


def test_windows_4625_storm():
    rows = [{"s": i, "source": "winevt", "host": "DC01", "event_id": "4625", "src_ip": f"10.0.0.{i % 40}",
             "user": f"u{i % 7}", "action": "login", "outcome": "failure"} for i in range(60)]
    found = dl.detect_windows_storm(ev(rows), TH)
    assert len(found) == 1 and found[0].counts["failures"] == 60 and found[0].entities["host"] == ["DC01"]
    assert dl.detect_windows_storm(ev(rows[:20]), TH) == []


def test_account_created_and_admin_groups():
    e = ev([{"source": "auth", "host": "srv1", "program": "useradd", "user": "eve", "action": "user_add",
             "outcome": "success"},
            {"source": "auth", "host": "srv1", "program": "usermod", "user": "eve", "action": "group_member_add",
             "auth.group": "wheel"},
            {"source": "auth", "host": "srv1", "program": "usermod", "user": "bob", "action": "group_member_add",
             "auth.group": "audio"},
            {"source": "winevt", "host": "DC01", "event_id": "4732", "user": "S-1-5-21-1-1104",
             "action": "group_add", "win.TargetUserName": "Administrators", "win.TargetSid": "S-1-5-32-544"},
            {"source": "winevt", "host": "DC01", "event_id": "4732", "user": "S-1-5-21-1-1105",
             "action": "group_add", "win.TargetUserName": "Print Operators", "win.TargetSid": "S-1-5-32-550"}])
    found = dl.detect_account_changes(e, TH)
    kinds = sorted((f.detector, f.entities["user"][0]) for f in found)
    assert kinds == [("logs.account_created", "eve"), ("logs.admin_group_add", "S-1-5-21-1-1104"),
                     ("logs.admin_group_add", "eve")]


def test_sudo_root_admins_history_and_compromise():
    rows = [{"source": "auth", "host": "srv1", "program": "sudo", "user": "root", "action": "sudo",
             "outcome": "success", "auth.by_user": who, "process": "/bin/bash"} for who in ("alice", "mallory")]
    e = ev(rows)
    by_admins = dl.detect_sudo_root(e, LogThresholds(sudo_admins=["alice"]))
    assert [(f.entities["user"], f.severity) for f in by_admins] == [(["mallory"], "medium")]
    assert dl.detect_sudo_root(e, TH, known_sudoers=["alice", "mallory"]) == []
    hot = dl.detect_sudo_root(e, TH, known_sudoers=["alice", "mallory"], compromised=["mallory"])
    assert [(f.entities["user"], f.severity) for f in hot] == [(["mallory"], "high")]


def test_web_attacks_and_4xx_storm():
    req = [{"s": i, "source": "access", "host": "www", "src_ip": "192.0.2.9", "http_method": "GET",
            "url": "/item?id=1' OR '1'='1", "http_status": 200, "user_agent": "curl"} for i in range(3)]
    req += [{"s": 10 + i, "source": "access", "host": "www", "src_ip": "192.0.2.10", "http_method": "GET",
             "url": f"/admin{i}.php", "http_status": 404, "user_agent": "Mozilla"} for i in range(150)]
    req += [{"s": 500, "source": "access", "host": "www", "src_ip": "10.0.0.5", "http_method": "GET",
             "url": "/index.html", "http_status": 200, "user_agent": "Mozilla"}]
    e = ev(req)
    web = dl.detect_web_attacks(e, TH)
    assert [(f.detector, f.entities["src_ip"], f.counts["answered_2xx"]) for f in web] == [
        ("logs.web.sqli", ["192.0.2.9"], 3.0)]
    storms = dl.detect_4xx_storms(e, TH)
    assert [f.entities["src_ip"] for f in storms] == [["192.0.2.10"]] and storms[0].counts["errors"] == 150


def test_silent_sources():
    rows = [{"s": h * 3600, "source": "auth", "host": "srv1", "action": "login"} for h in range(24)]
    rows += [{"s": h * 3600, "source": "auth", "host": "srv2", "action": "login"} for h in (0, 1, 2, 10, 11)]
    found = detect_silent_sources(ev(rows), TH)
    got = sorted((f.entities["host"][0], f.severity, f.counts["hours"]) for f in found)
    assert got == [("srv2", "low", 8.0), ("srv2", "medium", 12.0)]


def test_detect_log_all_reports_files_without_events():
    result = LogResult(events=ev(failures("203.0.113.5", 2)),
                       formats={"/var/log/auth.log": "auth", "/var/log/empty.log": "syslog"})
    found = dl.detect_log_all(result)
    assert [f.entities["file"] for f in found if f.title_en.startswith("No events read")] == [["/var/log/empty.log"]]


def test_thresholds_loading(tmp_path):
    p = tmp_path / "t.yaml"
    p.write_text("bruteforce_min_failures: 20\nsudo_admins: [alice]\n")
    th = load_log_thresholds(p)
    assert th.bruteforce_min_failures == 20 and th.sudo_admins == ["alice"]
    p.write_text("bruteforce_min_failure: 20\n")
    with pytest.raises(ParameterError, match="bruteforce_min_failure"):
        load_log_thresholds(p)


@pytest.fixture(scope="module")
def demo_findings():
    from sopkit.jobs import demo_inputs

    d = demo_inputs()
    result = read_logs(d["auth_logs"] + d["access_logs"] + d["eve_logs"])
    return result, dl.detect_log_all(result)


def test_demo_day(demo_findings):
    result, found = demo_findings
    by = {}
    for f in found:
        by.setdefault(f.detector, []).append(f)
    assert [f.entities["src_ip"] for f in by["logs.bruteforce"]] == [["198.51.100.77"]]
    saf = by["logs.success_after_failures"]
    assert [(f.entities["user"], f.entities["src_ip"], f.severity) for f in saf] == [
        (["webadmin"], ["198.51.100.77"], "critical")]
    assert [f.entities["user"] for f in by["logs.account_created"]] == [["sysupd"]]
    assert [f.entities["group"] for f in by["logs.admin_group_add"]] == [["sudo"]]
    sudo = {f.entities["user"][0]: f.severity for f in by["logs.sudo_root"]}
    assert sudo["webadmin"] == "high"
    web = {(f.detector, f.entities["src_ip"][0]) for f in found if f.detector.startswith("logs.web.")}
    assert {("logs.web.sqli", "192.0.2.66"), ("logs.web.xss", "192.0.2.99"),
            ("logs.web.path_traversal", "192.0.2.120"), ("logs.web.scanner", "203.0.113.200")} <= web
    triage = rl.triage(found)
    assert triage["severity"].iloc[0] == "critical" and set(triage["severity"]) <= {"medium", "high", "critical"}
    cov = rl.coverage(result)
    assert cov["events"].sum() == len(result.events) and (cov["rejected"] == 0).all()


def test_demo_day_titles_in_both_languages(demo_findings):
    """Every log and Sigma finding of the demo day is named in Bahasa Indonesia and in English, differently."""
    from sopkit.detect.sigma import evaluate, load_rules, shipped_rules, sigma_findings

    result, found = demo_findings
    found = found + sigma_findings(evaluate(load_rules([shipped_rules()]), result.events), "low")
    assert {f.detector.split(".")[0] for f in found} == {"logs", "sigma"}
    assert len({f.detector for f in found}) >= 8
    for f in found:
        assert f.title("id").strip() and f.title("en").strip(), f.detector
        assert f.title("id") != f.title("en"), f.title_en


def test_loghub_openssh_bruteforce(conformance):
    result = read_logs([conformance / "logs" / "loghub" / "OpenSSH_2k.log"], year=2015)
    fails = result.events[(result.events["action"] == "login") & (result.events["outcome"] == "failure")]
    per_src = fails.groupby("src_ip").size()
    attackers = set(per_src[per_src >= 10].index)
    assert len(attackers) == 6
    found = {f.entities["src_ip"][0] for f in dl.detect_bruteforce(result.events, LogThresholds())}
    assert found == attackers
