"""Every supported link type, built by hand, decodes to the same UDP packet."""

from __future__ import annotations

import struct

import pytest
from capbuild import MAC_A, MAC_B, eth, udp4, udp6

from sopkit.capture.decode import Decoder
from sopkit.capture.packet import Frame

IP4 = udp4()
IP6 = udp6()
SNAP4 = b"\xaa\xaa\x03\x00\x00\x00\x08\x00"


def mpls(*labels: int) -> bytes:
    out = b""
    for i, label in enumerate(labels):
        out += struct.pack("!I", (label << 12) | (0x100 if i == len(labels) - 1 else 0) | 64)
    return out


def radiotap_hdr() -> bytes:
    return struct.pack("<BBHI", 0, 0, 8, 0)


def dot11_data(payload: bytes, qos: bool = False) -> bytes:
    fc = bytes([0x88 if qos else 0x08, 0x01])  # data, ToDS
    bssid, sa, da = b"\x10" * 6, MAC_A, MAC_B
    hdr = fc + b"\0\0" + bssid + sa + da + b"\0\0" + (b"\0\0" if qos else b"")
    return hdr + SNAP4 + payload


CASES = {
    "ethernet": (1, eth(IP4)),
    "802.1Q": (1, eth(struct.pack("!HH", 7, 0x0800) + IP4, 0x8100)),
    "QinQ 9100": (1, eth(struct.pack("!HHHH", 7, 0x8100, 8, 0x0800) + IP4, 0x9100)),
    "MPLS stack": (1, eth(mpls(100, 200) + IP4, 0x8847)),
    "MPLS in VLAN": (1, eth(struct.pack("!HH", 5, 0x8847) + mpls(16) + IP4, 0x8100)),
    "PPPoE": (1, eth(struct.pack("!BBHHH", 0x11, 0, 1, len(IP4) + 2, 0x0021) + IP4, 0x8864)),
    "802.3 LLC/SNAP": (1, MAC_B + MAC_A + struct.pack("!H", len(IP4) + 8) + SNAP4 + IP4),
    "FabricPath": (1, b"\x01" * 12 + b"\x89\x03\x00\x00" + eth(IP4)),
    "Linux SLL": (113, struct.pack("!HHH", 0, 1, 6) + MAC_A + b"\0\0" + b"\x08\x00" + IP4),
    "Linux SLL2": (276, struct.pack("!HHIHBB", 0x0800, 0, 2, 1, 0, 6) + MAC_A + b"\0\0" + IP4),
    "raw 101": (101, IP4),
    "raw 12": (12, IP4),
    "raw 14": (14, IP4),
    "IPv4 228": (228, IP4),
    "null LE": (0, struct.pack("<I", 2) + IP4),
    "null BE": (0, struct.pack(">I", 2) + IP4),
    "loop 108": (108, struct.pack(">I", 2) + IP4),
    "PPP ff03": (9, b"\xff\x03\x00\x21" + IP4),
    "PPP bare": (9, b"\x00\x21" + IP4),
    "PPP_HDLC": (50, b"\xff\x03\x00\x21" + IP4),
    "PPP compressed proto": (9, b"\x21" + IP4),
    "Cisco HDLC": (104, b"\x0f\x00\x08\x00" + IP4),
    "802.11": (105, dot11_data(IP4)),
    "802.11 QoS": (105, dot11_data(IP4, qos=True)),
    "radiotap": (127, radiotap_hdr() + dot11_data(IP4)),
    "FDDI": (10, b"\x50" + MAC_B + MAC_A + SNAP4 + IP4),
    "NFLOG": (239, bytes([2, 0, 0, 0]) + struct.pack("<HH", 4 + len(IP4), 9) + IP4),
}


@pytest.mark.parametrize("name", list(CASES))
def test_link_type_decodes_to_ipv4_udp(name):
    linktype, data = CASES[name]
    d = Decoder()
    pkts = d.decode(Frame(1, linktype, data, len(data)))
    assert len(pkts) == 1, d.stats
    p = pkts[0]
    assert (p.proto, p.sport, p.dport, p.payload) == (17, 5353, 53, b"hello")
    assert not p.bad_checksum and not p.truncated


def test_vlan_ids_and_macs():
    (p,) = Decoder().decode(Frame(1, 1, CASES["QinQ 9100"][1], 0))
    assert (p.vlan, p.inner_vlan, p.l2_src, p.l2_dst) == (7, 8, MAC_A, MAC_B)
    (w,) = Decoder().decode(Frame(1, 105, CASES["802.11"][1], 0))
    assert (w.l2_src, w.l2_dst) == (MAC_A, MAC_B)  # ToDS: SA = addr2, DA = addr3


@pytest.mark.parametrize("linktype, data", [
    (229, IP6), (101, IP6), (0, struct.pack("<I", 24) + IP6), (0, struct.pack("<I", 28) + IP6),
    (108, struct.pack(">I", 30) + IP6), (9, b"\x00\x57" + IP6), (1, eth(IP6, 0x86DD)),
])
def test_ipv6_link_types(linktype, data):
    (p,) = Decoder().decode(Frame(1, linktype, data, len(data)))
    assert p.ip_version == 6 and p.dport == 53


@pytest.mark.parametrize("linktype, data, reason", [
    (1, eth(b"\0" * 28, 0x0806), "non-IP ethertype 0x0806"),
    (1, MAC_B + MAC_A + struct.pack("!H", 38) + b"\x42\x42\x03" + b"\0" * 35, "802.3 LLC frame (DSAP 0x42)"),
    (1, eth(b"\x11\0\0\1\0\2\xc0\x21", 0x8864), "PPPoE non-IP protocol 0xc021"),
    (105, b"\x80\x00" + b"\0" * 30, "802.11 management/control frame"),
    (105, b"\x08\x41" + b"\0" * 30, "802.11 protected (encrypted) frame"),
    (0, struct.pack("<I", 7) + IP4, "loopback address family 7"),
    (1, eth(struct.pack("!I", 3 << 12), 0x8847), "truncated MPLS label stack"),
    (1, eth(mpls(3), 0x8847), "MPLS payload not IP (empty IP payload)"),
    (147, IP4, "unknown linktype 147"),
    (1, b"\0" * 10, "truncated Ethernet header"),
])
def test_undecodable_frames_are_counted(linktype, data, reason):
    d = Decoder()
    assert d.decode(Frame(1, linktype, data, len(data))) == []
    assert d.stats == {reason: 1}
