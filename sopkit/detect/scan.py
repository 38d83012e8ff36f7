"""Port scans (vertical and horizontal) and brute force over the network, from the flow table.

Method: a *probe* is a TCP connection that carried no payload in either direction — Zeek states
S0 (no answer), REJ (refused), RSTOS0/RSTR/RSTRH/SH/SHR (reset or half-open), and RSTO/RSTOS0 with
zero bytes (a connect() scan that resets right after the handshake). Per source, a *vertical scan*
is many distinct ports probed on one host, a *horizontal scan* many distinct hosts probed on one
port, in both cases counted within a sliding window (``scan_window_s``) over the first time each
port/host was probed — the fan-out rule of Snort's sfPortscan, on connections instead of packets.

*Brute force over the network*: many short connections that did reach a login service (SSH, RDP,
FTP, SMB, databases…) from one source to one server; the payload is encrypted, so the traffic
side can only say "many short sessions", and the log detectors confirm failed logins.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sopkit.detect.common import FLOW_EVIDENCE, finding, severity_for, strength
from sopkit.detect.thresholds import Thresholds
from sopkit.findings import Finding
from sopkit.report.i18n import number

PROBE_STATES = {"S0", "REJ", "RSTOS0", "RSTR", "RSTRH", "SH", "SHR", "RSTO"}
SCAN_WINDOW_S = 60.0  #: sliding window of the fan-out count (sfPortscan's default sense window)


def probes(flows: pd.DataFrame) -> pd.DataFrame:
    """TCP connections without payload in either direction that look like probes (see module docstring)."""
    f = flows[flows["proto"] == "tcp"]
    empty = f["orig_bytes"].fillna(0).eq(0) & f["resp_bytes"].fillna(0).eq(0)
    return f[f["conn_state"].isin(PROBE_STATES) & empty & f["orig_pkts"].gt(0)]


def max_in_window(times: np.ndarray, window: float) -> int:
    """Largest number of sorted ``times`` inside any interval of length ``window``."""
    if len(times) == 0:
        return 0
    j = np.searchsorted(times, times + window, side="right")
    return int((j - np.arange(len(times))).max())


def _fanout(p: pd.DataFrame, group: list[str], item: str, minimum: int) -> list[tuple[tuple, int, int]]:
    """(group key, max distinct items in a window, distinct items overall) for groups reaching ``minimum``."""
    out = []
    distinct = p.groupby(group)[item].nunique()
    for key in distinct[distinct >= minimum].index:
        sel = p
        for col, val in zip(group, key, strict=True):
            sel = sel[sel[col] == val]
        first = np.sort(sel.groupby(item)["ts"].min().to_numpy())
        out.append((key, max_in_window(first, SCAN_WINDOW_S), int(distinct[key])))
    return out


def detect_port_scans(tables, thresholds: Thresholds, history=None) -> list[Finding]:
    """Vertical (ports on one host) and horizontal (hosts on one port) scans per source."""
    p = probes(tables.flows)
    found: list[Finding] = []
    for (src, dst), peak, total in _fanout(p, ["id.orig_h", "id.resp_h"], "id.resp_p", thresholds.scan_min_ports):
        if peak < thresholds.scan_min_ports:
            continue
        rows = p[(p["id.orig_h"] == src) & (p["id.resp_h"] == dst)]
        score = strength(total, thresholds.scan_min_ports) * 0.5 + strength(total, thresholds.scan_high) * 0.5
        sev = "high" if total >= thresholds.scan_high else "medium"
        found.append(finding(
            "scan.vertical", (f"Pemindaian port vertikal dari {src} ke {dst} ({number(total)} port)",
                              f"Vertical port scan {src} → {dst} ({total} ports)"), score, rows, severity=sev,
            attack="T1046", entities={"src_ip": [src], "dst_ip": [dst]},
            counts={"ports": total, "ports_in_window": peak, "probes": len(rows)},
            explanation=(f"{src} mencoba {number(total)} port berbeda pada {dst} ({number(peak)} dalam "
                         f"{number(SCAN_WINDOW_S, decimals=0)} detik) "
                         "tanpa membuka sesi: pola pemindaian port (port scan) untuk mencari layanan terbuka.",
                         f"{src} tried {total} distinct ports on {dst} ({peak} within {SCAN_WINDOW_S:.0f} s) without "
                         "opening a session: a port scan looking for open services."),
            recommendation=("Periksa apakah sumber ini pemindai resmi; jika tidak, blokir di firewall dan cek "
                            "layanan yang menjawab.", "Check whether the source is an authorised scanner; if not, "
                            "block it at the firewall and review the services that answered."),
            columns=FLOW_EVIDENCE, query=f"probe from {src} to {dst}"))
    for (src, port), peak, total in _fanout(p, ["id.orig_h", "id.resp_p"], "id.resp_h", thresholds.scan_min_hosts):
        if peak < thresholds.scan_min_hosts:
            continue
        rows = p[(p["id.orig_h"] == src) & (p["id.resp_p"] == port)]
        score = strength(total, thresholds.scan_min_hosts) * 0.5 + strength(total, thresholds.scan_high) * 0.5
        sev = "high" if total >= thresholds.scan_high else "medium"
        found.append(finding(
            "scan.horizontal", (f"Pemindaian horizontal dari {src} pada port {port} ({number(total)} host)",
                                f"Horizontal scan from {src} on port {port} ({total} hosts)"), score, rows,
            severity=sev, attack="T1046", entities={"src_ip": [src], "dst_port": [int(port)]},
            counts={"hosts": total, "hosts_in_window": peak, "probes": len(rows)},
            explanation=(f"{src} mencoba port {port} pada {number(total)} host berbeda ({number(peak)} dalam "
                         f"{number(SCAN_WINDOW_S, decimals=0)} "
                         "detik) tanpa membuka sesi: penyapuan (sweep) mencari host dengan layanan ini, sering "
                         "dilakukan malware yang menyebar di jaringan.",
                         f"{src} tried port {port} on {total} distinct hosts ({peak} within {SCAN_WINDOW_S:.0f} s) "
                         "without opening a session: a sweep for hosts running this service, typical of "
                         "worms spreading inside a network."),
            recommendation=("Isolasi host sumber bila internal dan periksa adanya malware; bila eksternal, "
                            "blokir di firewall.", "Isolate the source if internal and check it for malware; "
                            "if external, block it at the firewall."),
            columns=FLOW_EVIDENCE, query=f"probe from {src} to port {port}"))
    return found


def detect_bruteforce(tables, thresholds: Thresholds, history=None) -> list[Finding]:
    """Many short connections that reached a login service, from one source to one server."""
    f = tables.flows
    f = f[(f["proto"] == "tcp") & f["id.resp_p"].isin(thresholds.bruteforce_ports)
          & f["history"].str.contains("h", regex=False) & f["resp_bytes"].fillna(0).gt(0)]
    found: list[Finding] = []
    if f.empty:
        return found
    g = f.groupby(["id.orig_h", "id.resp_h", "id.resp_p"]).agg(n=("uid", "size"), med=("duration", "median"))
    g = g[(g["n"] >= thresholds.bruteforce_min_conns) & (g["med"].fillna(0) <= thresholds.bruteforce_max_median_s)]
    for (src, dst, port), row in g.iterrows():
        rows = f[(f["id.orig_h"] == src) & (f["id.resp_h"] == dst) & (f["id.resp_p"] == port)]
        score = strength(row["n"], thresholds.bruteforce_min_conns)
        found.append(finding(
            "scan.bruteforce", (f"Dugaan brute force dari {src} ke {dst}:{port} ({number(int(row['n']))} sesi)",
                                f"Possible brute force {src} → {dst}:{port} ({int(row['n'])} sessions)"), score, rows,
            severity=severity_for(score), attack="T1110",
            entities={"src_ip": [src], "dst_ip": [dst], "dst_port": [int(port)]},
            counts={"connections": int(row["n"]), "median_duration_s": float(row["med"] or 0)},
            explanation=(f"{src} membuka {number(int(row['n']))} sesi singkat (median "
                         f"{number(row['med'] or 0, decimals=1)} detik) ke layanan "
                         f"login {dst}:{port}: pola tebak kata sandi (brute force) lewat jaringan.",
                         f"{src} opened {int(row['n'])} short sessions (median {row['med'] or 0:.1f} s) to the login "
                         f"service {dst}:{port}: the pattern of password guessing (brute force) over the network."),
            recommendation=("Cocokkan dengan log autentikasi server; blokir sumber, aktifkan pembatasan percobaan "
                            "login dan autentikasi kunci/MFA.", "Match with the server's authentication log; block "
                            "the source, enable login rate limiting and key-based authentication or MFA."),
            columns=FLOW_EVIDENCE, query=f"{src} to {dst}:{port}"))
    return found
