"""In-order TCP reassembly: reordering, retransmission, overlap, gaps, port reuse."""

from __future__ import annotations

from sopkit.capture.packet import PROTO_TCP, TH_ACK, TH_PUSH, TH_SYN, Packet
from sopkit.capture.tcpstream import TcpReassembler, ip_text

C, S = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])


def seg(seq: int, data: bytes = b"", flags: int = TH_ACK | TH_PUSH, *, rev: bool = False,
        ts: int = 0, plen: int | None = None) -> Packet:
    src, dst, sp, dp = (S, C, 80, 40000) if rev else (C, S, 40000, 80)
    return Packet(ts_ns=ts, src=src, dst=dst, proto=PROTO_TCP, sport=sp, dport=dp, tcp_flags=flags,
                  seq=seq, payload=data, payload_len=len(data) if plen is None else plen)


def run(pkts: list[Packet], **kw) -> tuple[list, TcpReassembler]:
    r = TcpReassembler(**kw)
    out = []
    for p in pkts:
        out += r.feed(p)
    out += r.flush()
    return out, r


def joined(chunks, from_orig: bool = True) -> bytes:
    return b"".join(c.data for c in chunks if c.from_orig == from_orig)


def test_in_order_and_out_of_order_give_same_stream() -> None:
    pkts = [seg(99, flags=TH_SYN), seg(100, b"hello "), seg(106, b"big "), seg(110, b"world")]
    out, _ = run(pkts)
    assert joined(out) == b"hello big world"
    shuffled = [pkts[0], pkts[3], pkts[2], pkts[1]]
    out, r = run(shuffled)
    assert joined(out) == b"hello big world"
    assert r.stats.gaps == 0 and r.stats.connections == 1


def test_retransmission_and_overlap_are_trimmed() -> None:
    pkts = [seg(0, flags=TH_SYN), seg(1, b"abcdef"), seg(1, b"abcdef"), seg(4, b"defghi"), seg(10, b"j")]
    out, r = run(pkts)
    assert joined(out) == b"abcdefghij"
    assert r.stats.retransmitted_bytes == 6 + 3


def test_gap_is_reported_at_flush() -> None:
    pkts = [seg(0, flags=TH_SYN), seg(1, b"abc"), seg(10, b"xyz")]
    out, r = run(pkts)
    assert joined(out) == b"abcxyz"
    gaps = [c.gap for c in out if c.gap]
    assert gaps == [6] and r.stats.gap_bytes == 6 and r.stats.gaps == 1


def test_buffer_limit_skips_hole() -> None:
    pkts = [seg(0, flags=TH_SYN), seg(1, b"a"), seg(100, b"x" * 30), seg(130, b"y" * 30)]
    out, r = run(pkts, max_buffer=40)
    # the second out-of-order segment overflows the 40-byte buffer: the hole before seq 100 is skipped
    assert [c.gap for c in out if c.gap] == [98]
    assert joined(out) == b"a" + b"x" * 30 + b"y" * 30


def test_snaplen_truncated_segment_is_a_gap() -> None:
    pkts = [seg(0, flags=TH_SYN), seg(1, b"ab", plen=5), seg(6, b"cd")]
    out, r = run(pkts)
    assert joined(out) == b"abcd"
    assert r.stats.gap_bytes == 3


def test_orientation_follows_syn_and_directions_are_separate() -> None:
    pkts = [seg(500, flags=TH_SYN | TH_ACK, rev=True), seg(501, b"resp", rev=True), seg(7, b"req")]
    out, _ = run(pkts)
    key = out[0].conn
    assert (ip_text(key.orig_h), key.orig_p, ip_text(key.resp_h), key.resp_p) == ("10.0.0.1", 40000, "10.0.0.2", 80)
    assert joined(out, False) == b"resp" and joined(out, True) == b"req"


def test_sequence_wraparound() -> None:
    top = (1 << 32) - 3
    out, r = run([seg(top - 1, flags=TH_SYN), seg(top, b"abc"), seg(0, b"def")])
    assert joined(out) == b"abcdef" and r.stats.gaps == 0


def test_new_syn_on_same_tuple_starts_new_connection() -> None:
    out, r = run([seg(0, flags=TH_SYN), seg(1, b"one"), seg(5000, flags=TH_SYN), seg(5001, b"two")])
    assert r.stats.connections == 2
    assert [c.conn.gen for c in out] == [0, 1]
    assert [c.data for c in out] == [b"one", b"two"]
