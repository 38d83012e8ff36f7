"""TCP segments in the reference engine: sequence wrap, history letters, states after a reset."""

from __future__ import annotations

from sopkit.capture import conn as C
from sopkit.capture import conntcp as T


def test_sequence_wrap_keeps_byte_counts():
    c = C.Conn(None, "tcp", 6, b"a", 1, b"b", 2, 0)
    iss = 0xFFFFFF00
    T.tcp_packet(c, True, 0, C.SYN, iss, 0, 0, 0, 100, 40, 300.0)
    T.tcp_packet(c, False, 1, C.SYN | C.ACK, 7, iss + 1, 0, 0, 100, 40, 300.0)
    seq = iss + 1
    for i in range(4):
        T.tcp_packet(c, True, 2 + i, C.ACK, seq & C.M32, 8, 200, 200, 100, 240, 300.0)
        seq += 200
    assert c.sizes() == (800, 0)
    assert "".join(c.history) == "ShD"


def test_rstos0_needs_syn_then_reset_without_handshake_letters():
    c = C.Conn(None, "tcp", 6, b"a", 1, b"b", 2, 0)
    T.tcp_packet(c, True, 0, C.SYN, 100, 0, 0, 0, 100, 40, 300.0)
    T.tcp_packet(c, True, 1, C.RST, 101, 0, 0, 0, 100, 40, 300.0)
    assert "".join(c.history) == "SR"
    assert C.conn_state(c) == "RSTOS0"
