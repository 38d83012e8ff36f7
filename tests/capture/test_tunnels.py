"""Tunnels: the outer packet first, then the inner one with ``tunnel`` naming the outer flow."""

from __future__ import annotations

import struct

import dpkt
import pytest
from capbuild import DST4, SRC4, eth, udp4, udp6

from sopkit.capture.decode import Decoder
from sopkit.capture.packet import Frame, TunnelKey

OUT_SRC = bytes([192, 0, 2, 1])
OUT_DST = bytes([192, 0, 2, 2])
INNER4 = udp4()
INNER6 = udp6()


def outer_ip(proto: int, payload: bytes) -> bytes:
    ip = dpkt.ip.IP(src=OUT_SRC, dst=OUT_DST, p=proto, ttl=30, data=payload)
    ip.len = 20 + len(payload)
    return bytes(ip)


def outer_udp(sport: int, dport: int, payload: bytes) -> bytes:
    u = dpkt.udp.UDP(sport=sport, dport=dport, data=payload)
    u.ulen = 8 + len(payload)
    ip = dpkt.ip.IP(src=OUT_SRC, dst=OUT_DST, p=17, ttl=30, data=u)
    ip.len = 20 + u.ulen
    return bytes(ip)


def decode(ip: bytes):
    d = Decoder()
    return d.decode(Frame(1, 1, eth(ip), 14 + len(ip))), d


CASES = {
    "4in4": (outer_ip(4, INNER4), "ip-in-ip", 4, 0, 0, 4),
    "6in4": (outer_ip(41, INNER6), "ip-in-ip", 41, 0, 0, 6),
    "GRE IPv4": (outer_ip(47, b"\0\0\x08\x00" + INNER4), "gre", 47, 0, 0, 4),
    "GRE key+seq IPv6": (outer_ip(47, b"\x30\0\x86\xdd" + b"\0" * 8 + INNER6), "gre", 47, 0, 0, 6),
    "GRE Ethernet": (outer_ip(47, b"\0\0\x65\x58" + eth(INNER4)), "gre", 47, 0, 0, 4),
    "ERSPAN II": (outer_ip(47, b"\x10\0\x88\xbe" + b"\0" * 4 + b"\x10\0\0\0\0\0\0\0" + eth(INNER4)),
                  "gre", 47, 0, 0, 4),
    "VXLAN": (outer_udp(40000, 4789, b"\x08\0\0\0\0\0\x01\0" + eth(INNER4)), "vxlan", 17, 40000, 4789, 4),
    "Geneve": (outer_udp(40000, 6081, b"\x00\x00\x65\x58\0\0\x01\0" + eth(INNER4)), "geneve", 17, 40000, 6081, 4),
    "Geneve IPv4 opts": (outer_udp(1, 6081, b"\x01\x00\x08\x00\0\0\x01\0" + b"\0" * 4 + INNER4), "geneve", 17, 1, 6081, 4),
    "GTP-U": (outer_udp(2152, 2152, struct.pack("!BBHI", 0x30, 0xFF, len(INNER4), 1) + INNER4), "gtpv1", 17, 2152, 2152, 4),
    "Teredo": (outer_udp(3797, 3544, INNER6), "teredo", 17, 3797, 3544, 6),
    "Teredo other port, origin": (outer_udp(32900, 3797, b"\0\0" + b"\0" * 6 + INNER6), "teredo", 17, 32900, 3797, 6),
    "AYIYA": (outer_udp(5072, 5072, bytes([0x41, 0, 0x01, 4]) + b"\0" * 4 + b"\0" * 16 + INNER4),
              "ayiya", 17, 5072, 5072, 4),
}


@pytest.mark.parametrize("name", list(CASES))
def test_tunnel_outer_then_inner(name):
    ip, kind, proto, sport, dport, ver = CASES[name]
    pkts, d = decode(ip)
    assert len(pkts) == 2, d.stats
    outer, inner = pkts
    assert outer.tunnel is None and (outer.src, outer.dst) == (OUT_SRC, OUT_DST)
    assert inner.tunnel == TunnelKey(kind, proto, OUT_SRC, sport, OUT_DST, dport)
    assert inner.ip_version == ver and inner.payload == b"hello" and not inner.bad_checksum
    # Zeek logs the UDP outer flows (service teredo/vxlan/...) but not IP-in-IP or GRE outers
    assert outer.extra.get("no_conn", False) is (proto != 17)


def test_nested_geneve_vxlan():
    vx = outer_udp(5555, 4789, b"\x08\0\0\0\0\0\x01\0" + eth(INNER4))
    gen = outer_udp(6666, 6081, b"\x00\x00\x08\x00\0\0\x01\0" + vx)
    pkts, _ = decode(gen)
    assert [p.tunnel.kind if p.tunnel else None for p in pkts] == [None, "geneve", "vxlan"]
    assert (pkts[2].src, pkts[2].dst) == (SRC4, DST4)


def test_plain_udp_is_not_teredo_and_bubbles_are_no_conn():
    pkts, _ = decode(outer_udp(3544, 1000, b"not ipv6 at all" * 4))
    assert len(pkts) == 1
    bubble = struct.pack("!IHBB", 6 << 28, 0, 59, 255) + bytes(32)
    pkts, _ = decode(outer_udp(3797, 3544, bubble))
    assert len(pkts) == 2 and pkts[1].proto == 59 and pkts[1].extra["no_conn"]


def test_damaged_tunnels_counted():
    pkts, d = decode(outer_ip(47, b"\0\0\x12\x34" + INNER4))
    assert len(pkts) == 1 and pkts[0].extra["no_conn"] and d.stats["GRE protocol 0x1234"] == 1
    pkts, d = decode(outer_udp(1, 4789, b"\x08\0\0\0\0\0\x01\0" + b"\0" * 10))
    assert len(pkts) == 1 and d.stats["vxlan inner: truncated Ethernet header"] == 1


def test_tunnels_off():
    pkts, _ = Decoder(tunnels=False).decode(Frame(1, 101, CASES["VXLAN"][0], 0)), None
    assert len(pkts) == 1
