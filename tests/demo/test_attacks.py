"""Every planted attack is really in the data, where and when its label says, in its true shape."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
import statistics
from collections import Counter

import dpkt
import pytest

from sopkit.demo.labels import KINDS

SYN, ACK, RST = dpkt.tcp.TH_SYN, dpkt.tcp.TH_ACK, dpkt.tcp.TH_RST
WEB = "10.20.1.80"


def _window(label: dict) -> tuple[float, float]:
    def ts(text: str) -> float:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()

    return ts(label["start"]) - 1e-6, ts(label["end"]) + 1e-6


def _access(demo_day) -> list[tuple[str, str, str, str]]:
    rx = re.compile(r'^(\S+) \S+ \S+ \[[^]]+\] "((?:[^"\\]|\\.)*)" (\d{3}) \S+ "(?:[^"\\]|\\.)*" "((?:[^"\\]|\\.)*)"$')
    rows = [rx.match(ln).groups() for ln in demo_day.access_log.read_text().splitlines()]
    return [(ip, re.sub(r"\\(.)", r"\1", req), st, ua) for ip, req, st, ua in rows]  # undo Apache's escaping


def test_labels_cover_every_kind_and_fit_the_day(labels, demo_day):
    kinds = [a["kind"] for a in labels["attacks"]]
    assert sorted(kinds) == sorted(KINDS)
    assert len({a["id"] for a in labels["attacks"]}) == len(kinds)
    assert (labels["date"], labels["tz"], labels["seed"]) == ("2026-11-24", "Asia/Jakarta", 7)
    assert labels["network"]["servers"]["web"]["ip"] == WEB
    day0 = dt.datetime(2026, 11, 23, 17, tzinfo=dt.timezone.utc).timestamp()
    for a in labels["attacks"]:
        lo, hi = _window(a)
        assert day0 <= lo < hi <= day0 + 86400, a["id"]
        assert set(a["evidence"]) <= {"capture", "auth_log", "access_log", "eve_json"} and a["attack"].startswith("T")


def test_vertical_scan(packets, attack):
    lab = attack("port_scan_vertical")
    lo, hi = _window(lab)
    src = lab["source"]
    syns = [p for p in packets if p.src == src and p.flags == SYN and lo <= p.ts <= hi]
    assert len({p.dport for p in syns}) >= 1000 and {p.dst for p in syns} == {WEB}
    assert all(dpkt.ethernet.Ethernet(p.frame).data.data.win == 1024 for p in syns[:50])  # nmap -sS
    replies = Counter(p.flags for p in packets if p.src == WEB and p.dst == src)
    assert replies[RST | ACK] >= 900 and replies[SYN | ACK] == 3
    assert {p.dport for p in packets if p.src == src and p.flags == RST} == {22, 80, 443}


def test_horizontal_scan_fans_out_with_mostly_unanswered_probes(packets, attack):
    lab = attack("port_scan_horizontal")
    lo, hi = _window(lab)
    src = lab["source"]
    probes = {(p.dst, p.dport, p.sport) for p in packets
              if p.src == src and p.flags == SYN and p.dport in (445, 3389) and lo <= p.ts <= hi}
    assert len({d for d, _, _ in probes}) >= 400
    answered = {(p.src, p.sport, p.dport) for p in packets if p.dst == src and p.sport in (445, 3389) and lo <= p.ts <= hi}
    assert len(answered) < 0.5 * len(probes) and len(answered) >= 20


def test_ssh_bruteforce_matches_auth_log(packets, attack, demo_day):
    lab = attack("ssh_bruteforce")
    src = lab["source"]
    auth = demo_day.auth_log.read_text().splitlines()
    failed = [ln for ln in auth if re.search(rf"Failed password for (invalid user )?\S+ from {re.escape(src)} port \d+ ssh2$", ln)]
    assert len(failed) >= 100 and len(failed) == lab["failed_attempts"]
    assert any("Failed password for root from" in ln for ln in failed)
    syn_ports = {p.sport for p in packets if p.src == src and p.dport == 22 and p.flags == SYN}
    assert len(syn_ports) >= 100
    log_ports = {int(re.search(r"port (\d+) ssh2", ln).group(1)) for ln in failed}
    assert log_ports <= syn_ports
    accepted = [i for i, ln in enumerate(auth) if f"Accepted password for webadmin from {src}" in ln]
    assert len(accepted) == 1 and accepted[0] > auth.index(failed[-1])
    after = "\n".join(auth[accepted[0]:])
    assert "sudo[" in after and "USER=root" in after and re.search(r"useradd\[\d+\]: new user: name=sysupd", after)


def test_syn_flood_from_spoofed_sources(packets, attack):
    lab = attack("syn_flood")
    lo, hi = _window(lab)
    syns = [p for p in packets if p.dst == WEB and p.dport == 80 and p.flags == SYN and lo <= p.ts <= hi]
    assert len(syns) >= 10_000 and len({p.src for p in syns}) >= 5_000
    assert hi - lo < 300
    spoofed = {p.src for p in syns}
    completed = sum(1 for p in packets if p.src in spoofed and p.flags & ACK and lo <= p.ts <= hi)
    assert completed < 0.01 * len(syns)


def _entropy(text: str) -> float:
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in Counter(text).values())


def test_dns_tunnel_queries(packets, attack):
    lab = attack("dns_tunnel")
    names = []
    for p in packets:
        if p.src == lab["source"] and p.proto == 17 and p.dport == 53:
            q = dpkt.dns.DNS(p.payload).qd[0]
            if q.name.endswith(lab["domain"]):
                assert q.type == dpkt.dns.DNS_TXT
                names.append(q.name)
    assert len(names) >= 500 and len(set(names)) == len(names)
    sub = [n[: -len(lab["domain"]) - 1].split(".")[0] for n in names]
    assert statistics.mean(len(s) for s in sub) > 50 and statistics.mean(_entropy(s) for s in sub) > 4.0
    answers = [dpkt.dns.DNS(p.payload) for p in packets if p.dst == lab["source"] and p.sport == 53]
    txt = [a for a in answers if a.qd[0].name.endswith(lab["domain"])]
    assert len(txt) == len(names) and all(a.an[0].type == dpkt.dns.DNS_TXT for a in txt)


def test_c2_beacon_is_periodic_tls_with_sni_and_ja3(packets, attack):
    lab = attack("c2_beacon")
    syn_ts = [p.ts for p in packets if p.src == lab["source"] and p.dst == lab["targets"][0] and p.flags == SYN]
    gaps = [b - a for a, b in zip(syn_ts, syn_ts[1:], strict=False)]
    assert len(syn_ts) >= 1000 and 57 <= statistics.median(gaps) <= 63
    assert sum(53 <= g <= 67 for g in gaps) / len(gaps) > 0.99
    hello = next(p for p in packets if p.src == lab["source"] and p.dst == lab["targets"][0] and p.payload[:1] == b"\x16")
    ch = dpkt.ssl.TLSHandshake(dpkt.ssl.TLSRecord(hello.payload).data).data
    ext = dict(ch.extensions)
    assert ext[0][5:].decode() == lab["sni"]
    groups = [int.from_bytes(ext[10][i:i + 2], "big") for i in range(2, len(ext[10]), 2)]
    ja3 = "{},{},{},{},{}".format(ch.version, "-".join(str(c.code) for c in ch.ciphersuites),
                                  "-".join(str(t) for t, _ in ch.extensions), "-".join(map(str, groups)),
                                  "-".join(str(b) for b in ext[11][1:]))
    assert hashlib.md5(ja3.encode()).hexdigest() == lab["ja3"]


def test_large_upload_dwarfs_the_hosts_normal_outbound(packets, attack):
    lab = attack("large_upload")
    src, dst = lab["source"], lab["targets"][0]
    up = sum(len(p.payload) for p in packets if p.src == src and p.dst == dst)
    other = sum(len(p.payload) for p in packets if p.src == src and p.dst != dst)
    assert up >= 30_000_000 and up > 20 * other
    assert max(len(p.payload) for p in packets if p.src == src) <= 1460


def test_web_attacks_in_capture_and_access_log(packets, attack, demo_day):
    log = _access(demo_day)
    sqli = attack("web_sqli")
    wire = [p.payload for p in packets if p.src == sqli["source"] and p.dport == 80 and p.payload.startswith(b"GET ")]
    assert len(wire) == sqli["requests"] >= 100
    assert any(b"UNION%20SELECT" in w for w in wire) and all(b"User-Agent: sqlmap/" in w for w in wire)
    assert sum(1 for ip, _, _, ua in log if ip == sqli["source"] and ua.startswith("sqlmap/")) == len(wire)
    xss = [r for ip, r, _, _ in log if ip == attack("web_xss")["source"]]
    assert any("<script>alert(1)</script>" in r for r in xss)
    assert any("../../etc/passwd" in r for ip, r, _, _ in log if ip == attack("web_traversal")["source"])
    scan = attack("web_scanner")
    scan_lines = [(st, ua) for ip, _, st, ua in log if ip == scan["source"]]
    assert len(scan_lines) >= 500 and sum(st == "404" for st, _ in scan_lines) / len(scan_lines) > 0.8
    assert all("Nikto" in ua for _, ua in scan_lines)


def test_every_cleartext_request_to_the_web_server_is_in_access_log(packets, demo_day):
    logged = Counter((ip, r.split(" ")[1]) for ip, r, _, _ in _access(demo_day))
    wire = Counter()
    for p in packets:
        if p.dst == WEB and p.dport == 80 and p.payload[:4] == b"GET ":
            wire[(p.src, p.payload.split(b" ", 2)[1].decode("latin-1"))] += 1
    assert len(wire) > 100
    assert all(logged[k] >= n for k, n in wire.items())


@pytest.mark.parametrize("kind,sid", [("port_scan_vertical", 2009582), ("ssh_bruteforce", 2001219),
                                      ("web_sqli", 2006446), ("web_xss", 2009714), ("web_scanner", 2002677)])
def test_suricata_alerts_name_the_attacker(demo_day, attack, kind, sid):
    events = [json.loads(ln) for ln in demo_day.eve_json.read_text().splitlines()]
    hits = [e for e in events if e["event_type"] == "alert" and e["alert"]["signature_id"] == sid]
    assert hits and all(e["src_ip"] == attack(kind)["source"] for e in hits)
