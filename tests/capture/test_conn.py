"""Per-connection primitives: sequence arithmetic, endpoint sizes, conn_state rules."""

from __future__ import annotations

from sopkit.capture import conn as C


def test_seq_delta_and_unwrap_across_wrap():
    assert C.seq_delta(5, 0xFFFFFFF0) == 21
    assert C.seq_delta(0xFFFFFFF0, 5) == -21
    assert C.unwrap(5, 0xFFFFFFF0) == 0x100000005
    assert C.unwrap(0xFFFFFFF0, 0x100000005) == 0xFFFFFFF0


def test_udp_and_other_states():
    u = C.Conn(None, "udp", 17, b"a", 1, b"b", 2, 0)
    assert C.conn_state(u) == "OTH"
    u.udp_len[1] = 0
    assert C.conn_state(u) == "SHR"
    u.udp_len[0] = 5
    assert C.conn_state(u) == "SF"
    assert C.conn_state(C.Conn(None, "icmp", 1, b"a", 8, b"b", 0, 0)) == "OTH"


def test_flip_swaps_counters_and_marks_history():
    c = C.Conn(None, "udp", 17, b"a", 1, b"b", 2, 0)
    c.count(0, 0, 100)
    c.flip()
    assert (c.pkts, c.ip_bytes, c.orig_h, c.resp_p) == ([0, 1], [0, 100], b"b", 1)
    assert c.history == ["^"]
