"""IPv4/IPv6 fragment reassembly: order, overlaps, garbage, timeouts, bounded memory."""

from __future__ import annotations

import struct

import dpkt
from capbuild import DST4, DST6, SRC4, SRC6

from sopkit.capture.decode import Decoder
from sopkit.capture.frag import Reassembler
from sopkit.capture.packet import Frame

PAYLOAD = bytes(range(256)) * 8  # 2048 bytes


def udp_segment(payload: bytes = PAYLOAD) -> bytes:
    u = dpkt.udp.UDP(sport=1000, dport=2000, data=payload)
    u.ulen = 8 + len(payload)
    ip = dpkt.ip.IP(src=SRC4, dst=DST4, p=17, data=u)
    ip.len = 20 + u.ulen
    bytes(ip)  # computes the UDP checksum into u
    return bytes(u)


def frag4(seg: bytes, off: int, size: int, more: bool, ident: int = 77) -> bytes:
    part = seg[off : off + size]
    flags = (off // 8) | (0x2000 if more else 0)
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(part), ident, flags, 64, 17, 0, SRC4, DST4)
    csum = dpkt.in_cksum(hdr)
    return hdr[:10] + struct.pack("!H", csum) + hdr[12:] + part


def run(frames: list[bytes], d: Decoder | None = None):
    d = d or Decoder()
    out = []
    for i, f in enumerate(frames):
        out += d.decode(Frame(i * 1000, 101, f, len(f), "t", i))
    return out, d


def test_in_order_and_out_of_order():
    seg = udp_segment()
    parts = [frag4(seg, 0, 800, True), frag4(seg, 800, 800, True), frag4(seg, 1600, len(seg) - 1600, False)]
    for order in ([0, 1, 2], [2, 0, 1], [1, 2, 0]):
        pkts, d = run([parts[i] for i in order])
        (p,) = pkts
        assert p.ip_len == 20 + len(seg) and p.payload == PAYLOAD and p.payload_len == len(PAYLOAD)
        assert (p.sport, p.dport) == (1000, 2000) and not p.bad_checksum
        assert d.stats["IP fragments seen"] == 3 and d.reassembler.pending == {}


def test_overlap_first_data_wins_and_counted():
    seg = udp_segment()
    forged = bytearray(seg)
    forged[900:1000] = b"X" * 100
    frames = [frag4(seg, 0, 1000, True), frag4(bytes(forged), 800, 800, True),
              frag4(seg, 1600, len(seg) - 1600, False)]
    (p,), d = run(frames)
    assert p.payload == PAYLOAD  # the forged overlap did not replace the first bytes
    assert d.stats["overlapping fragment"] == 1
    assert d.stats["overlapping fragment with different data"] == 1


def test_garbage_and_incomplete_fragments_counted():
    seg = udp_segment()
    frames = [frag4(seg, 800, 800, False), frag4(seg, 1600, 400, True)]  # data beyond the "last" fragment
    pkts, d = run(frames)
    assert pkts == [] and d.stats["garbage fragments"] == 1
    pkts, d = run([frag4(seg, 0, 800, True, ident=5)])
    d.finish()
    assert pkts == [] and d.stats["incomplete fragmented datagram at end of input"] == 1


def test_timeout_and_caps():
    r = Reassembler(timeout_ns=10, max_datagrams=2, max_bytes=3000)
    assert r.add(("a",), 0, True, b"x" * 8, ts=0) is None
    assert r.add(("b",), 0, True, b"y" * 8, ts=20) is None  # expires "a"
    assert r.stats["fragment reassembly timeout"] == 1
    r.add(("c",), 0, True, b"z" * 8, ts=21)
    r.add(("d",), 0, True, b"w" * 8, ts=22)  # table full: oldest ("b") dropped
    assert r.stats["fragment table full (oldest dropped)"] == 1
    r.add(("e",), 2000, True, b"v" * 1600, ts=23)  # 3600 bytes buffered > cap
    assert r.stats["fragment memory cap (oldest dropped)"] >= 1 and r.held <= 3000
    assert r.add(("f",), 65528, False, b"q" * 100, ts=24) is None
    assert r.stats["fragment beyond maximum datagram size"] == 1


def test_ipv6_fragments():
    u = dpkt.udp.UDP(sport=53, dport=5353, data=PAYLOAD)
    u.ulen = 8 + len(PAYLOAD)
    whole = dpkt.ip6.IP6(src=SRC6, dst=DST6, nxt=17, hlim=64, data=u)
    whole.plen = u.ulen
    seg = bytes(whole)[40:]
    frames = []
    for off, size, more in ((1200, len(seg) - 1200, False), (0, 1200, True)):
        fh = struct.pack("!BBHI", 17, 0, off | more, 0xABCD)
        part = seg[off : off + size]
        frames.append(struct.pack("!IHBB", 6 << 28, 8 + len(part), 44, 64) + SRC6 + DST6 + fh + part)
    (p,), d = run(frames)
    assert p.ip_version == 6 and p.proto == 17 and p.ip_len == 40 + len(seg)
    assert p.payload == PAYLOAD and not p.bad_checksum


def test_truncated_fragment_cannot_be_reassembled():
    seg = udp_segment()
    f = frag4(seg, 0, 800, True)
    pkts, d = run([f[:100]])
    assert pkts == [] and d.stats["truncated IP fragment (cannot reassemble)"] == 1
