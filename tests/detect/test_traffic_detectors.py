"""Unit tests of the traffic detectors on small generated tables, positive and negative."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from trafficgen import T0, dns, flow, http, tables

from sopkit.detect.beacon import detect_beacons, periodicity
from sopkit.detect.cleartext import detect_cleartext
from sopkit.detect.dnstunnel import detect_dns_tunnel, split_domain
from sopkit.detect.exfil import detect_large_outbound
from sopkit.detect.flood import detect_reflection, detect_syn_flood
from sopkit.detect.icmptunnel import detect_icmp_tunnel
from sopkit.detect.ioc import detect_ioc, load_iocs
from sopkit.detect.newdest import detect_new_destinations
from sopkit.detect.scan import detect_bruteforce, detect_port_scans, max_in_window
from sopkit.detect.thresholds import Thresholds
from sopkit.detect.traffic import detect_all
from sopkit.detect.webtraffic import detect_web_attacks
from sopkit.errors import ParameterError

TH = Thresholds()
rng = np.random.default_rng(1)


def _probe(ts, src, dst, port, state="REJ"):
    return flow(ts, src, 50000, dst, port, state=state, history="Sr" if state == "REJ" else "S", ob=0, rb=0,
                op=1, rp=1 if state == "REJ" else 0)


def test_vertical_scan_found_in_window_and_not_when_spread_out():
    fast = [_probe(T0 + i * 0.1, "203.0.113.5", "10.0.0.9", 1000 + i) for i in range(40)]
    found = detect_port_scans(tables(fast), TH)
    assert [f.detector for f in found] == ["scan.vertical"]
    assert found[0].counts["ports"] == 40 and found[0].severity == "medium" and found[0].attack == "T1046"
    assert len(found[0].evidence) == 40 and found[0].explanation_id and found[0].explanation_en
    slow = [_probe(T0 + i * 600, "203.0.113.5", "10.0.0.9", 1000 + i) for i in range(40)]  # one port per 10 min
    assert detect_port_scans(tables(slow), TH) == []
    sessions = [flow(T0 + i, "10.0.0.7", 50000 + i, "10.0.0.9", 1000 + i) for i in range(40)]  # data exchanged
    assert detect_port_scans(tables(sessions), TH) == []


def test_horizontal_scan_and_max_in_window():
    rows = [_probe(T0 + i * 0.05, "10.0.0.66", f"10.0.1.{i}", 445, "S0") for i in range(1, 200)]
    found = detect_port_scans(tables(rows), TH)
    assert [f.detector for f in found] == ["scan.horizontal"]
    assert found[0].entities == {"src_ip": ["10.0.0.66"], "dst_port": [445]} and found[0].counts["hosts"] == 199
    assert max_in_window(np.array([0.0, 1, 2, 100, 101]), 60) == 3


def test_bruteforce_needs_many_short_established_sessions():
    rows = [flow(T0 + i * 5, "198.51.100.7", 40000 + i, "10.0.0.22", 22, duration=3.0) for i in range(50)]
    found = detect_bruteforce(tables(rows), TH)
    assert len(found) == 1 and found[0].counts["connections"] == 50
    assert detect_bruteforce(tables(rows[:10]), TH) == []
    long = [flow(T0 + i * 5, "198.51.100.7", 40000 + i, "10.0.0.22", 22, duration=600.0) for i in range(50)]
    assert detect_bruteforce(tables(long), TH) == []


def _syns(n, rate, answered=False):
    return [flow(T0 + i / rate, f"{rng.integers(1, 223)}.{i % 250}.{i // 250 % 250}.9", 1024 + i, "10.0.0.80", 80,
                 state="SF" if answered else "S0", history="ShADadFf" if answered else "S", ob=0, rb=0, op=1, rp=0)
            for i in range(n)]


def test_syn_flood_spoofed_and_not_for_busy_answered_service():
    found = detect_syn_flood(tables(_syns(3000, 300)), TH)
    assert len(found) == 1 and found[0].severity == "high"
    assert found[0].entities == {"dst_ip": ["10.0.0.80"], "dst_port": [80]}  # spoofed: sources not listed
    assert found[0].counts["rate_per_s"] == pytest.approx(300, rel=0.05)
    assert detect_syn_flood(tables(_syns(3000, 300, answered=True)), TH) == []
    assert detect_syn_flood(tables(_syns(3000, 5)), TH) == []  # 5/s: under the flood rate


def test_reflection_unsolicited_synacks_and_dns_answers():
    synack = [flow(T0 + i * 0.01, "10.0.0.5", 1000 + i, f"198.18.{i % 200}.{i // 200}", 80, state="OTH",
                   history="^h", ob=None, rb=None, op=0, rp=1) for i in range(400)]
    found = detect_reflection(tables(synack), TH)
    assert [f.detector for f in found] == ["flood.reflection"] and found[0].counts["packets"] == 400
    dnsans = [flow(T0 + i * 0.01, "10.0.0.5", 22, f"198.18.{i % 50}.1", 53, proto="udp", state="SHR",
                   history="^d", ob=None, rb=None, op=0, rp=1) for i in range(300)]
    assert detect_reflection(tables(dnsans), TH)[0].counts["reflectors"] == 50
    midstream = [dict(r, history="^dA", rb=1500) for r in synack]  # data from a capture started mid-connection
    assert detect_reflection(tables(midstream), TH) == []


def test_dns_tunnel_by_domain_and_ordinary_browsing():
    q = [dns(T0 + i, "10.0.0.23", f"{rng.bytes(20).hex()}.t.exfil-domain.xyz", "TXT") for i in range(200)]
    found = detect_dns_tunnel(tables(dns=q), TH)
    assert len(found) == 1 and found[0].entities["domain"] == ["exfil-domain.xyz"] and found[0].severity == "high"
    assert found[0].counts["distinct_names"] == 200
    normal = [dns(T0 + i, "10.0.0.23", f"{w}.example.co.id") for i in range(200) for w in ("www", "mail", "api")]
    assert detect_dns_tunnel(tables(dns=normal), TH) == []
    assert split_domain("a.b.example.go.id") == ("example.go.id", "a.b")
    assert split_domain("dnscat.0123456789abcdef0123456789abcdef") == ("dnscat.*", "0123456789abcdef0123456789abcdef")


def test_icmp_tunnel_versus_ping():
    base = {"ts": T0, "ts_ns": int(T0 * 1e9), "last_ts": T0 + 60, "src": "10.0.0.4", "dst": "203.0.113.9",
            "ip_version": 4, "icmp_type": 8}
    tunnel = dict(base, packets=400, payload_bytes=300_000, max_payload=1024, distinct_payloads=390, mean_entropy=7.5)
    ping = dict(base, packets=400, payload_bytes=400 * 56, max_payload=56, distinct_payloads=1, mean_entropy=5.0)
    assert [f.detector for f in detect_icmp_tunnel(tables(icmp=[tunnel]), TH)] == ["icmptunnel"]
    assert detect_icmp_tunnel(tables(icmp=[ping]), TH) == []


def test_beacon_with_jitter_and_random_browsing():
    times = T0 + np.cumsum(60 * (1 + rng.uniform(-0.15, 0.15, 100)))
    rows = [flow(t, "10.0.0.29", 50000 + i, "203.0.113.66", 443) for i, t in enumerate(times)]
    found = detect_beacons(tables(rows), TH)
    assert len(found) == 1 and found[0].counts["interval_s"] == pytest.approx(60, rel=0.1)
    assert "MAD" in found[0].explanation_en
    random_times = T0 + np.cumsum(rng.exponential(60, 100))
    rows = [flow(t, "10.0.0.29", 50000 + i, "203.0.113.66", 443) for i, t in enumerate(random_times)]
    assert detect_beacons(tables(rows), TH) == []
    assert periodicity(np.array([0.0, 10.0])) == (0.0, float("inf"))


def test_large_outbound_against_population_and_history():
    rows = [flow(T0 + i, f"10.0.0.{i}", 40000, "198.51.100.1", 443, ob=2_000_000) for i in range(1, 30)]
    rows.append(flow(T0, "10.0.0.200", 40000, "198.51.100.200", 443, ob=60_000_000))
    found = detect_large_outbound(tables(rows), TH)
    assert [f.entities["src_ip"] for f in found] == [["10.0.0.200"]] and found[0].counts["bytes_out"] == 60_000_000
    usual = pd.DataFrame({"host": ["10.0.0.200"] * 5, "bytes_out": [55e6, 60e6, 65e6, 58e6, 62e6]})
    assert detect_large_outbound(tables(rows), TH, history=usual) == []


def test_web_attacks_use_the_signature_table():
    reqs = [http(T0 + i, "192.0.2.66", "/item.php?id=1' OR '1'='1") for i in range(3)]
    reqs += [http(T0, "10.0.0.3", "/index.html", status=200)]
    found = detect_web_attacks(tables(http=reqs), TH)
    assert [(f.detector, f.counts["requests"]) for f in found] == [("web.sqli", 3)] and found[0].attack == "T1190"
    assert detect_web_attacks(tables(http=reqs[-1:]), TH) == []


def test_cleartext_logins_and_http_basic():
    ftp = {"ts": T0, "ts_ns": int(T0 * 1e9), "id.orig_h": "10.0.0.3", "id.orig_p": 40000, "id.resp_h": "203.0.113.21",
           "id.resp_p": 21, "protocol": "ftp", "command": "PASS", "username": "alice", "password_present": True}
    basic = dict(http(T0, "10.0.0.4", "/admin"), username="bob", password_present=True)
    found = sorted(detect_cleartext(tables(cleartext=[ftp], http=[basic]), TH), key=lambda f: f.title_en)
    assert [(f.entities["protocol"], f.severity, f.entities["user"]) for f in found] == [
        (["ftp"], "high", ["alice"]), (["http-basic"], "medium", ["bob"])]
    assert detect_cleartext(tables(http=[http(T0, "10.0.0.4", "/")]), TH) == []


def test_ioc_matching_and_file_errors(tmp_path):
    path = tmp_path / "ioc.csv"
    path.write_text("indicator,type,description\n203.0.113.0/24,ip,bad net\nevil.example,domain,c2\n")
    t = tables([flow(T0, "10.0.0.3", 40000, "203.0.113.66", 443)], dns=[dns(T0, "10.0.0.3", "x.evil.example")])
    found = detect_ioc(t, Thresholds(ioc_file=str(path)))
    assert sorted(f.entities["indicator"][0] for f in found) == ["203.0.113.0/24", "evil.example"]
    assert detect_ioc(t, TH) == []  # no IOC file configured
    path.write_text("indicator,type,description\n1.2.3.4,hash,x\n")
    with pytest.raises(ParameterError, match="line 2: unknown type 'hash'"):
        load_iocs(path)
    path.write_text("ip,kind\n1.2.3.4,ip\n")
    with pytest.raises(ParameterError, match="header"):
        load_iocs(path)


def test_new_destinations_need_history():
    t = tables([flow(T0, "10.0.0.3", 40000, "203.0.113.66", 443), flow(T0, "10.0.0.3", 40001, "198.51.100.1", 443)])
    hist = pd.DataFrame({"host": ["10.0.0.3"], "destination": ["198.51.100.1"]})
    found = detect_new_destinations(t, TH, history=hist)
    assert len(found) == 1 and found[0].entities["dst_ip"] == ["203.0.113.66"] and found[0].severity == "low"
    assert detect_new_destinations(t, TH) == []


def test_detect_all_on_empty_tables_is_quiet():
    assert detect_all(tables(), TH) == []
