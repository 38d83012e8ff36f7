"""Decoder: Ethernet/VLAN to IPv4/IPv6 to TCP/UDP/ICMP, lengths from headers, checksums."""

from __future__ import annotations

import struct

import dpkt
from capbuild import DST4, SRC4, SRC6, eth, icmp4, tcp4, udp4, udp6

from sopkit.capture.decode import Decoder, iter_packets
from sopkit.capture.packet import TH_ACK, TH_PUSH, Frame


def frame(data: bytes, linktype: int = 1, wirelen: int | None = None) -> Frame:
    return Frame(5, linktype, data, len(data) if wirelen is None else wirelen, "t", 0)


def test_tcp_over_ethernet_fields_and_padding():
    ip = tcp4(flags=TH_ACK | TH_PUSH, payload=b"GET / HTTP/1.0\r\n", seq=7, ack=9)
    data = eth(ip) + b"\0" * 6  # Ethernet trailer padding must not count
    (p,) = Decoder().decode(frame(data))
    assert (p.src, p.dst, p.proto, p.sport, p.dport) == (SRC4, DST4, 6, 1234, 80)
    assert p.tcp_flags == TH_ACK | TH_PUSH and (p.seq, p.ack, p.window) == (7, 9, 8192)
    assert p.ip_len == len(ip) and p.payload_len == 16 and p.payload == b"GET / HTTP/1.0\r\n"
    assert not p.bad_checksum and not p.truncated
    assert p.l2_src == bytes.fromhex("020000000001") and p.ttl == 64


def test_vlan_and_qinq():
    ip = udp4()
    one = eth(struct.pack("!HH", 100, 0x0800) + ip, 0x8100)
    (p,) = Decoder().decode(frame(one))
    assert p.vlan == 100 and p.inner_vlan is None and p.dport == 53
    two = eth(struct.pack("!HHHH", 10, 0x8100, 20, 0x0800) + ip, 0x88A8)
    (q,) = Decoder().decode(frame(two))
    assert (q.vlan, q.inner_vlan) == (10, 20) and q.payload == b"hello"


def test_udp_ipv6_and_icmp():
    (p,) = Decoder().decode(frame(eth(udp6(), 0x86DD)))
    assert p.ip_version == 6 and p.src == SRC6 and p.ip_len == 40 + 13 and p.payload_len == 5
    assert not p.bad_checksum
    (i,) = Decoder().decode(frame(icmp4(8, 0), linktype=101))
    assert (i.proto, i.sport, i.dport) == (1, 8, 0) and not i.bad_checksum


def test_bad_checksums_are_flagged_and_counted():
    ip = bytearray(tcp4(payload=b"abc"))
    ip[-1] ^= 0xFF  # corrupt payload: TCP checksum wrong, IP header fine
    d = Decoder()
    (p,) = d.decode(frame(bytes(ip), 101))
    assert p.bad_checksum and d.stats["bad transport checksum"] == 1
    hdr = bytearray(udp4())
    hdr[8] = 1  # TTL change breaks the IPv4 header checksum
    (q,) = d.decode(frame(bytes(hdr), 101))
    assert q.bad_checksum and d.stats["bad IPv4 checksum"] == 1
    zero = bytearray(udp4())
    zero[26:28] = b"\0\0"  # UDP checksum 0 over IPv4 means "none"
    (z,) = d.decode(frame(bytes(zero), 101))
    assert not z.bad_checksum


def test_truncated_segment_not_verified_and_flagged():
    ip = tcp4(payload=b"x" * 100)
    d = Decoder()
    (p,) = d.decode(frame(ip[:60], 101, wirelen=len(ip)))
    assert p.truncated and not p.bad_checksum
    assert p.payload_len == 100 and len(p.payload) == 20 and p.ip_len == len(ip)


def test_undecodable_counted():
    d = Decoder()
    assert d.decode(frame(eth(b"\0" * 28, 0x0806))) == []
    assert d.decode(frame(b"\0" * 20, linktype=999)) == []
    assert d.decode(frame(eth(b"\x45\0"))) == []
    assert d.stats["non-IP ethertype 0x0806"] == 1
    assert d.stats["unknown linktype 999"] == 1
    assert d.stats["truncated IPv4 header"] == 1


def test_ipv6_extension_headers_walked():
    udp = dpkt.udp.UDP(sport=1, dport=2, data=b"x")
    udp.ulen = 9
    raw_udp = bytes(udp)
    hop = bytes([60, 0]) + b"\x01\x04\0\0\0\0"  # hop-by-hop -> dest opts
    dst = bytes([17, 0]) + b"\x01\x04\0\0\0\0"  # dest opts -> UDP
    payload = hop + dst + raw_udp
    hdr = struct.pack("!IHBB", 6 << 28, len(payload), 0, 64) + SRC6 + SRC6
    (p,) = Decoder(verify_checksums=False).decode(frame(hdr + payload, 101))
    assert (p.proto, p.sport, p.dport, p.payload_len, p.ip_len) == (17, 1, 2, 1, 40 + len(payload))


def test_iter_packets(tmp_path):
    from capbuild import pcap_bytes, write

    f = write(tmp_path / "a.pcap", pcap_bytes([(1, eth(udp4())), (2, eth(b"", 0x0806))]))
    d = Decoder()
    pkts = list(iter_packets([f], decoder=d))
    assert len(pkts) == 1 and pkts[0].source == str(f) and d.frames == 2
