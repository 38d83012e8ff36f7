"""Smoke tests of the capture benchmark's building blocks on a tiny generated capture (no timings).

Checks that N× inputs are valid packets (checksums intact, time and address shifts as
documented, flows not merged across copies), that the launcher measures the child and not the
parent, that the peers run and report their connection counts, and that the tables and target
lines are computed from the results.
"""

from __future__ import annotations

import importlib.util
import socket
import struct
import sys
from pathlib import Path

import dpkt
import pytest

from sopkit.errors import CaptureError

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCH))

import _peers  # noqa: E402
import _util  # noqa: E402

_spec = importlib.util.spec_from_file_location("benchmarks_capture", BENCH / "capture.py")
capture = importlib.util.module_from_spec(_spec)
sys.modules["benchmarks_capture"] = capture  # dataclasses look their module up there
_spec.loader.exec_module(capture)

MAC_A, MAC_B = b"\x02\x00\x00\x00\x00\x01", b"\x02\x00\x00\x00\x00\x02"
T0 = 1_700_000_000


def _eth_ip(src: str, dst: str, l4: dpkt.Packet, proto: int) -> bytes:
    ip = dpkt.ip.IP(src=socket.inet_aton(src), dst=socket.inet_aton(dst), p=proto, ttl=64, data=l4)
    ip.len = len(ip)
    return bytes(dpkt.ethernet.Ethernet(src=MAC_A, dst=MAC_B, type=dpkt.ethernet.ETH_TYPE_IP, data=ip))


def _tcp(src: str, dst: str, sport: int, dport: int, flags: int, seq: int, ack: int, data: bytes = b"") -> bytes:
    return _eth_ip(src, dst, dpkt.tcp.TCP(sport=sport, dport=dport, flags=flags, seq=seq, ack=ack, win=8192,
                                          data=data), dpkt.ip.IP_PROTO_TCP)


def _udp(src: str, dst: str, sport: int, dport: int, data: bytes) -> bytes:
    udp = dpkt.udp.UDP(sport=sport, dport=dport, data=data)
    udp.ulen = len(udp)
    return _eth_ip(src, dst, udp, dpkt.ip.IP_PROTO_UDP)


@pytest.fixture()
def tiny_pcap(tmp_path: Path) -> Path:
    """One TCP connection (handshake, data, close), one DNS exchange, one broadcast; 10 records."""
    c, s = "10.20.10.5", "198.18.0.80"
    S, A, PA, FA = dpkt.tcp.TH_SYN, dpkt.tcp.TH_ACK, dpkt.tcp.TH_PUSH | dpkt.tcp.TH_ACK, dpkt.tcp.TH_FIN | dpkt.tcp.TH_ACK
    frames = [
        _tcp(c, s, 40000, 80, S, 100, 0),
        _tcp(s, c, 80, 40000, S | A, 500, 101),
        _tcp(c, s, 40000, 80, A, 101, 501),
        _tcp(c, s, 40000, 80, PA, 101, 501, b"GET / HTTP/1.1\r\n\r\n"),
        _tcp(s, c, 80, 40000, PA, 501, 119, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
        _tcp(c, s, 40000, 80, FA, 119, 539),
        _tcp(s, c, 80, 40000, FA, 539, 120),
        _udp(c, "10.20.1.53", 50000, 53, b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x01"),
        _udp("10.20.1.53", c, 53, 50000, b"\x12\x34\x81\x80\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x01"),
        _udp(c, "255.255.255.255", 68, 67, b"\x00" * 20),
    ]
    path = tmp_path / "tiny.pcap"
    with open(path, "wb") as fh:
        w = dpkt.pcap.Writer(fh, linktype=dpkt.pcap.DLT_EN10MB)
        for i, f in enumerate(frames):
            w.writepkt(f, T0 + i * 0.5)
    return path


def _records(path: Path) -> list[tuple[float, bytes]]:
    with open(path, "rb") as fh:
        return list(dpkt.pcap.Reader(fh))


def _checksums_ok(frame: bytes) -> bool:
    ip = dpkt.ethernet.Ethernet(frame).data
    ip_sum, l4_sum = ip.sum, ip.data.sum
    ip.sum = 0
    ip.data.sum = 0
    fresh = dpkt.ip.IP(bytes(ip))  # dpkt recomputes both checksums when they are zero
    return fresh.sum == ip_sum and fresh.data.sum == l4_sum


def test_layout_and_head(tiny_pcap: Path, tmp_path: Path) -> None:
    layout = _util.pcap_layout(tiny_pcap)
    assert layout.records == 10 and layout.linktype == 1 and layout.order == "<"
    assert layout.offsets[0] == 24
    assert _util.capture_span_seconds(layout) == 5  # 4.5 s, rounded up to whole seconds
    head = _util.head_pcap(tiny_pcap, tmp_path / "head.pcap", 3)
    assert [f for _, f in _records(head)] == [f for _, f in _records(tiny_pcap)[:3]]


def test_layout_rejects_non_pcap(tmp_path: Path) -> None:
    bad = tmp_path / "capture.pcapng"
    bad.write_bytes(b"\x0a\x0d\x0d\x0a" + b"\x00" * 40)
    with pytest.raises(CaptureError, match="capture.pcapng.*not classic pcap"):
        _util.pcap_layout(bad)
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(bytes.fromhex("d4c3b2a1020004000000000000000000ffff000001000000") + struct.pack("<IIII", 0, 0, 60, 60))
    with pytest.raises(CaptureError, match="cut.pcap: record 0 .*runs past the end"):
        _util.pcap_layout(cut)


def test_multiply_shifts_time_and_addresses_with_valid_checksums(tiny_pcap: Path, tmp_path: Path) -> None:
    out = _util.multiply_pcap(tiny_pcap, tmp_path / "x3.pcap", 3, gap_seconds=3600)
    orig, got = _records(tiny_pcap), _records(out)
    assert len(got) == 30
    step = 5 + 3600
    for k in range(3):
        for (ts0, f0), (ts1, f1) in zip(orig, got[10 * k:10 * (k + 1)], strict=True):
            assert ts1 == pytest.approx(ts0 + k * step)
            ip0, ip1 = dpkt.ethernet.Ethernet(f0).data, dpkt.ethernet.Ethernet(f1).data
            a0, a1 = int.from_bytes(ip0.src, "big"), int.from_bytes(ip1.src, "big")
            assert (a1 >> 16) == (a0 >> 16) + k and (a1 & 0xFFFF) == (a0 & 0xFFFF) - k
            if ip0.dst == b"\xff" * 4:
                assert ip1.dst == ip0.dst  # broadcast keeps its meaning
            assert _checksums_ok(f1)
            assert ip1.data.data == ip0.data.data
    assert socket.inet_ntoa(dpkt.ethernet.Ethernet(got[10][1]).data.src) == "10.21.10.4"
    broken = bytearray(got[10][1])
    broken[14 + 15] ^= 1  # one address bit flipped without the compensating change
    assert not _checksums_ok(bytes(broken))


def test_copies_are_separate_flows(tiny_pcap: Path, tmp_path: Path) -> None:
    from sopkit.capture.flows import FlowTable, flows_from_captures

    out = _util.multiply_pcap(tiny_pcap, tmp_path / "x3.pcap", 3)
    one = flows_from_captures(str(tiny_pcap), engine="exact")
    table = FlowTable()  # the per-packet path's table, whose drop counters are checked below
    three = flows_from_captures(str(out), engine="exact", table=table)
    assert len(one) == 3 and len(three) == 9
    assert len(flows_from_captures(str(out), engine="fast")) == 9
    assert table.stats["bad_checksum_dropped"] == 0 and table.stats["bad_ip_checksum_dropped"] == 0
    assert sorted(three["conn_state"]) == sorted(list(one["conn_state"]) * 3)
    assert three["orig_pkts"].sum() == 3 * one["orig_pkts"].sum()
    packets, rows = _peers.dpkt_flows(str(out))
    assert packets == 30 and len(rows) == 9


def test_dpkt_baseline_rows(tiny_pcap: Path) -> None:
    packets, rows = _peers.dpkt_flows(str(tiny_pcap))
    assert packets == 10
    by_port = {r[6]: r for r in rows}
    tcp = by_port[80]
    assert tcp[2] == 6 and socket.inet_ntoa(tcp[3]) == "10.20.10.5" and tcp[4] == 40000
    assert (tcp[7], tcp[9]) == (4, 3)  # packets client→server, server→client
    assert tcp[1] - tcp[0] == pytest.approx(3.0)
    assert (by_port[53][7], by_port[53][9]) == (1, 1)
    assert (by_port[67][7], by_port[67][9]) == (1, 0)


def test_run_measured_reports_the_child_not_the_parent() -> None:
    ballast = bytearray(300 * 2**20)  # the parent is big; the child must not inherit its peak
    ballast[::4096] = b"\x01" * len(ballast[::4096])
    small = _util.run_measured([sys.executable, "-S", "-c", "pass"])
    big = _util.run_measured([sys.executable, "-S", "-c", "b = bytearray(160 * 2**20); b[::4096] = b'x' * len(b[::4096])"])
    assert small.returncode == 0 and big.returncode == 0
    assert big.cpu_seconds > 0
    assert small.peak_rss_mb < 100
    assert 160 <= big.peak_rss_mb < 300
    failed = _util.run_measured([sys.executable, "-S", "-c", "import sys; print('oops', file=sys.stderr); sys.exit(3)"])
    assert failed.returncode == 3 and "oops" in failed.stderr
    del ballast


def test_peers_run_and_report_connections(tiny_pcap: Path, tmp_path: Path) -> None:
    peers = {p.name: p for p in capture.find_peers(["sopkit", "dpkt", "tshark-conv"])}
    want = {"sopkit": 3, "dpkt": 3, "tshark-conv": 1}
    for name, n in want.items():
        peer = peers[name]
        if peer.skipped:
            assert name == "tshark-conv" and "not installed" in peer.skipped
            continue
        r = capture.measure(peer, tiny_pcap, "1×", 10, tmp_path, repeat=1)
        assert r.error is None, r.error
        assert r.connections == n, name
        assert r.rss_mb > 0 and r.seconds > 0
    with pytest.raises(SystemExit, match="unknown peer"):
        capture.find_peers(["zeek"])


def test_table_and_targets_from_results() -> None:
    R = capture.Result
    results = [R("sopkit", "1×", 1_000_000, 500_000_000, 1.0, 1.0, 400.0, 300.0, 10),
               R("dpkt", "1×", 1_000_000, 500_000_000, 20.0, 20.0, 200.0, 150.0, 10),
               R("sopkit", "4×", 4_000_000, 2_000_000_000, 5.0, 5.0, 600.0, 500.0, 40),
               R("dpkt", "4×", 4_000_000, 2_000_000_000, 50.0, 50.0, 700.0, 650.0, 40),
               R("tshark-fields", "4×", 4_000_000, 2_000_000_000, 1.0, 1.0, 1.0, None, None, error="exit 1: boom")]
    table = capture.results_table(results)
    assert "| sopkit" in table and "1,000,000" in table and "20.0×" in table and "10.0×" in table
    assert "exit 1: boom" in table
    lines = capture.target_lines(results, ["1×", "4×"], None)  # no large capture: judged on 4×
    assert any("packets/s" in x and "PASS" in x and "(800,000 packets/s)" in x and "--no-big" in x for x in lines)
    assert any("dpkt builder" in x and "FAIL" in x and "10.0×" in x for x in lines)
    assert any("for information, at 1×: 20.0× dpkt" in x for x in lines)
    assert any("RSS flat" in x and "FAIL" in x and "1.50×" in x for x in lines)
    big = [R("sopkit", "11× (big)", 11_000_000, 2_160_000_000, 8.0, 9.0, 450.0, 300.0, 110),
           R("dpkt", "11× (big)", 11_000_000, 2_160_000_000, 104.0, 104.0, 500.0, 450.0, 110)]
    lines = capture.target_lines(results + big, ["1×", "4×"], "11× (big)")  # judged on the large capture
    assert any("packets/s" in x and "2.16 GB capture" in x and "PASS" in x and "1,375,000" in x for x in lines)
    assert any("dpkt builder" in x and "PASS" in x and "13.0×" in x for x in lines)
    assert any("for information, at 4×: 10.0× dpkt" in x for x in lines)
    assert any("under 1,536 MB" in x and "PASS" in x and "450 MB" in x for x in lines)
    marginal = capture.marginal_table(results, ["1×", "4×"], {"sopkit": 0.5, "dpkt": None})
    assert "| sopkit" in marginal and "750,000" in marginal and "0.50" in marginal
    assert "100,000" in marginal and "tshark-fields" not in marginal  # failed runs have no slope


def test_engine_option_detection() -> None:
    assert capture.engine_from_help("  --engine {python,fast}  flow engine") == "fast"
    assert capture.engine_from_help("  --engine {auto,python,numba}") == "numba"
    assert capture.engine_from_help("  --engine {python,columnar}") == "columnar"
    assert capture.engine_from_help("  --format {zeek,csv,parquet}") is None
    assert capture.engine_from_help("  [--engine {fast,exact}]") == "fast"
    assert capture.slow_engine_from_help("  [--engine {fast,exact}]") == "exact"
    assert capture.slow_engine_from_help("  --engine {python,numba}") == "python"
    assert capture.slow_engine_from_help("  --format {zeek,csv,parquet}") is None
