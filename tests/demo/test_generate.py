"""The generated day: files parse, times stay inside the day, output is deterministic, TCP is correct."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import socket
from collections import defaultdict

import dpkt
import pytest

from sopkit.demo import generate_day
from sopkit.demo.network import Day
from sopkit.errors import ParameterError

SYSLOG = re.compile(r"^(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ 1-3]\d \d\d:\d\d:\d\d [\w.-]+ "
                    r"[\w./-]+(\[\d+\])?: .+$")
QUOTED = r'"((?:[^"\\]|\\.)*)"'
COMBINED = re.compile(r"^(\S+) \S+ \S+ \[(\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4})\] " + QUOTED
                      + r" (\d{3}) (\d+|-) " + QUOTED + " " + QUOTED + "$")
FILES = ("capture", "auth_log", "access_log", "eve_json", "labels")


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_files_exist_and_are_named_as_documented(demo_day):
    assert demo_day.capture.name == "traffic.pcap" and demo_day.eve_json.name == "eve.json"
    for name in FILES:
        path = getattr(demo_day, name)
        assert path.parent == demo_day.root and path.stat().st_size > 0, name
    assert not list(demo_day.root.glob(".*.tmp")), "temporary files left behind"
    assert (demo_day.date, demo_day.tz, demo_day.seed) == (dt.date(2026, 11, 24), "Asia/Jakarta", 7)


def test_pcap_times_monotonic_and_inside_the_local_day(demo_day, packets):
    day = Day(demo_day.date, demo_day.tz)
    ts = [p.ts for p in packets]
    assert len(ts) > 100_000
    assert all(a <= b for a, b in zip(ts, ts[1:], strict=False))
    assert day.start_ns / 1e9 <= ts[0] and ts[-1] < day.end_ns / 1e9
    # 2026-11-24 00:00 WIB is 2026-11-23 17:00 UTC
    assert day.start_ns == int(dt.datetime(2026, 11, 23, 17, tzinfo=dt.timezone.utc).timestamp()) * 10**9
    hours = [((t - day.start_ns / 1e9) / 3600) for t in ts[::50]]
    office = sum(7.5 <= h < 16.0 for h in hours) / len(hours)
    assert office > 0.6, f"only {office:.0%} of traffic in office hours"


def test_auth_log_lines_are_syslog(demo_day):
    lines = demo_day.auth_log.read_text().splitlines()
    assert len(lines) > 500
    bad = [ln for ln in lines if not SYSLOG.match(ln)]
    assert not bad, bad[:3]
    assert lines[0].startswith("Nov 24 ")
    assert any(re.search(r" sudo: +budi : TTY=pts/0 ; PWD=/home/budi ; USER=root ; COMMAND=", ln) for ln in lines)


def test_zeek_flow_builder_sees_sf_for_benign_and_s0_rej_for_scans(demo_day, attack):
    from sopkit.capture.flows import flows_from_captures

    df = flows_from_captures(str(demo_day.capture))
    tcp = df[df["proto"] == "tcp"]
    benign = tcp[tcp["id.orig_h"].str.startswith("10.20.10.") & tcp["id.resp_p"].isin([88, 389, 443])
                 & (tcp["id.orig_h"] != attack("port_scan_horizontal")["source"])]
    assert len(benign) > 300
    assert (benign["conn_state"].isin(["SF", "RSTO"])).all() and (benign["conn_state"] == "SF").mean() > 0.85
    scan = tcp[tcp["id.orig_h"] == attack("port_scan_horizontal")["source"]]
    scan = scan[scan["id.resp_p"].isin([445, 3389])]
    assert (scan["conn_state"] == "S0").sum() > 400 and (scan["conn_state"] == "REJ").sum() > 20
    vert = tcp[tcp["id.orig_h"] == attack("port_scan_vertical")["source"]]
    assert (vert["conn_state"] == "REJ").sum() >= 1000


def test_access_log_lines_are_combined_format(demo_day):
    lines = demo_day.access_log.read_text().splitlines()
    parsed = [COMBINED.match(ln) for ln in lines]
    assert all(parsed), [ln for ln, m in zip(lines, parsed, strict=True) if not m][:3]
    assert all(m.group(2).startswith("24/Nov/2026:") and m.group(2).endswith("+0700") for m in parsed)
    statuses = {m.group(4) for m in parsed}
    assert {"200", "304", "404"} <= statuses
    assert "<script>alert(1)</script>" in demo_day.access_log.read_text()


def test_eve_json_lines(demo_day):
    events = [json.loads(ln) for ln in demo_day.eve_json.read_text().splitlines()]
    kinds = {e["event_type"] for e in events}
    assert {"alert", "dns", "http", "tls", "flow"} <= kinds
    assert all(e["timestamp"].endswith("+0700") for e in events)
    stamps = [e["timestamp"] for e in events]
    assert stamps == sorted(stamps)
    sids = {e["alert"]["signature_id"] for e in events if e["event_type"] == "alert"}
    assert {2009582, 2001219, 2008538, 2009714, 2002677} <= sids
    tls = [e for e in events if e["event_type"] == "tls"]
    assert all(len(e["tls"]["ja3"]["hash"]) == 32 and e["tls"]["sni"] for e in tls)


def test_same_seed_is_byte_identical_and_other_seed_differs(demo_day, demo_scale, tmp_path):
    again = generate_day(tmp_path / "same", scale=demo_scale, seed=7)
    for name in FILES:
        assert _sha(getattr(again, name)) == _sha(getattr(demo_day, name)), name
    other = generate_day(tmp_path / "other", scale=demo_scale, seed=8)
    assert _sha(other.capture) != _sha(demo_day.capture)
    assert _sha(other.auth_log) != _sha(demo_day.auth_log)


def test_scale_grows_background_but_not_attacks(demo_day, demo_scale, labels, packets, tmp_path):
    """Doubling ``scale`` doubles the benign connections; the planted attacks stay identical."""
    bigger = generate_day(tmp_path / "bigger", scale=2 * demo_scale, seed=7)
    assert json.loads(bigger.labels.read_text())["attacks"] == labels["attacks"]
    planted = {a["source"] for a in labels["attacks"]} | {t for a in labels["attacks"] for t in a["targets"]}

    def benign_https_syns(pkts) -> int:
        return sum(1 for src, dst, dport, flags in pkts
                   if dport == 443 and flags == dpkt.tcp.TH_SYN and src not in planted and dst not in planted)

    small = benign_https_syns((p.src, p.dst, p.dport, p.flags) for p in packets)
    big_rows = []
    with bigger.capture.open("rb") as fh:
        for _, buf in dpkt.pcap.Reader(fh):
            ip = dpkt.ethernet.Ethernet(buf).data
            if isinstance(ip.data, dpkt.tcp.TCP):
                big_rows.append((socket.inet_ntoa(ip.src), socket.inet_ntoa(ip.dst), ip.data.dport, ip.data.flags))
    assert small > 100 and 1.7 < benign_https_syns(big_rows) / small < 2.3
    assert len(big_rows) > sum(1 for p in packets if p.proto == 6)


def test_command_line_writes_a_day_and_reports_bad_input(tmp_path, capsys):
    from sopkit.demo.__main__ import main

    assert main([str(tmp_path / "cli"), "--scale", "0", "--quiet"]) == 2
    assert "scale" in capsys.readouterr().err


def test_checksums_and_lengths_match_dpkt(packets):
    """Re-packing with dpkt (checksums zeroed so it recomputes them) reproduces every sampled frame."""
    for p in packets[::97]:
        eth = dpkt.ethernet.Ethernet(p.frame)
        ip = eth.data
        assert ip.len == len(p.frame) - 14
        ip.sum = 0
        ip.data.sum = 0
        assert bytes(eth) == p.frame, p


def _conversations(packets):
    conv = defaultdict(list)
    for p in packets:
        if p.proto == 6:
            key = (p.src, p.sport, p.dst, p.dport) if p.sport > p.dport else (p.dst, p.dport, p.src, p.sport)
            conv[key].append(p)
    return conv


def test_benign_tcp_conversations_are_protocol_correct(packets):
    conv = _conversations(packets)
    checked = 0
    for (client, _, server, dport), pk in conv.items():
        if dport not in (443, 445, 389, 88) or not client.startswith("10.20.10.") or checked >= 200:
            continue
        syn, synack, ack = pk[0], pk[1], pk[2]
        assert syn.flags == dpkt.tcp.TH_SYN and syn.src == client
        assert synack.flags == dpkt.tcp.TH_SYN | dpkt.tcp.TH_ACK and synack.ack == (syn.seq + 1) % 2**32
        assert ack.flags == dpkt.tcp.TH_ACK and ack.ack == (synack.seq + 1) % 2**32
        nxt = {client: (syn.seq + 1) % 2**32, server: (synack.seq + 1) % 2**32}
        for p in pk[2:]:
            assert p.seq == nxt[p.src], f"seq gap in {client}->{server}:{dport}"
            peer = server if p.src == client else client
            if p.flags & dpkt.tcp.TH_ACK:
                assert p.ack == nxt[peer] or p.flags & dpkt.tcp.TH_RST
            assert len(p.payload) <= 1460
            nxt[p.src] = (nxt[p.src] + len(p.payload) + (1 if p.flags & dpkt.tcp.TH_FIN else 0)) % 2**32
        last = pk[-1]
        if not last.flags & dpkt.tcp.TH_RST:
            fins = [p.src for p in pk if p.flags & dpkt.tcp.TH_FIN]
            assert sorted(fins) == sorted([client, server]) and last.flags == dpkt.tcp.TH_ACK
        checked += 1
    assert checked == 200


def test_tls_client_hello_has_sni_and_parses(packets):
    hellos = [p for p in packets if p.dport == 443 and p.payload[:1] == b"\x16" and p.payload[5:6] == b"\x01"]
    assert len(hellos) > 500
    for p in hellos[::25]:
        rec = dpkt.ssl.TLSRecord(p.payload)
        hs = dpkt.ssl.TLSHandshake(rec.data)
        ch = hs.data
        assert isinstance(ch, dpkt.ssl.TLSClientHello) and len(ch.ciphersuites) >= 10
        sni = dict(ch.extensions)[0]
        name = sni[5:].decode()
        assert re.fullmatch(r"[a-z0-9.-]+\.[a-z]{2,}", name), name


def test_bad_parameters_raise_parameter_error(tmp_path):
    with pytest.raises(ParameterError, match="scale"):
        generate_day(tmp_path / "x", scale=0)
    with pytest.raises(ParameterError, match="time zone"):
        generate_day(tmp_path / "x", tz="Mars/Olympus")
    with pytest.raises(ParameterError, match="seed"):
        generate_day(tmp_path / "x", seed=-1)
    assert not (tmp_path / "x").exists()
