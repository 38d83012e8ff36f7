"""Build small pcap/pcapng files and packets for the capture tests (struct for files, dpkt for packets)."""

from __future__ import annotations

import struct
from pathlib import Path

import dpkt

SRC4 = bytes([10, 0, 0, 1])
DST4 = bytes([10, 0, 0, 2])
SRC6 = bytes.fromhex("20010db8000000000000000000000001")
DST6 = bytes.fromhex("20010db8000000000000000000000002")
MAC_A = bytes.fromhex("020000000001")
MAC_B = bytes.fromhex("020000000002")


def pcap_bytes(records: list[tuple[int, bytes]] | list[tuple[int, bytes, int]], *, linktype: int = 1,
               order: str = "<", ns: bool = False, snaplen: int = 65535) -> bytes:
    """A libpcap file: records are (ts_ns, data[, wirelen])."""
    magic = 0xA1B23C4D if ns else 0xA1B2C3D4
    out = [struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype)]
    for rec in records:
        ts, data = rec[0], rec[1]
        wire = rec[2] if len(rec) > 2 else len(data)
        frac = ts % 1_000_000_000 if ns else (ts % 1_000_000_000) // 1000
        out.append(struct.pack(order + "IIII", ts // 1_000_000_000, frac, len(data), wire) + data)
    return b"".join(out)


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _pad4(b: bytes) -> bytes:
    return b + b"\0" * (-len(b) % 4)


def ng_block(btype: int, body: bytes, order: str = "<") -> bytes:
    body = _pad4(body)
    total = len(body) + 12
    return struct.pack(order + "II", btype, total) + body + struct.pack(order + "I", total)


def ng_shb(order: str = "<") -> bytes:
    return ng_block(0x0A0D0D0A, struct.pack(order + "IHHq", 0x1A2B3C4D, 1, 0, -1), order)


def ng_idb(linktype: int, *, tsresol: int | None = None, tsoffset: int | None = None,
           snaplen: int = 0, order: str = "<") -> bytes:
    opts = b""
    if tsresol is not None:
        opts += struct.pack(order + "HH", 9, 1) + _pad4(bytes([tsresol]))
    if tsoffset is not None:
        opts += struct.pack(order + "HHq", 14, 8, tsoffset)
    if opts:
        opts += struct.pack(order + "HH", 0, 0)
    return ng_block(1, struct.pack(order + "HHI", linktype, 0, snaplen) + opts, order)


def ng_epb(iface: int, units: int, data: bytes, wirelen: int | None = None, order: str = "<") -> bytes:
    body = struct.pack(order + "IIIII", iface, units >> 32, units & 0xFFFFFFFF, len(data),
                       len(data) if wirelen is None else wirelen) + data
    return ng_block(6, body, order)


def ng_spb(data: bytes, wirelen: int | None = None, order: str = "<") -> bytes:
    return ng_block(3, struct.pack(order + "I", len(data) if wirelen is None else wirelen) + data, order)


def ng_pb(iface: int, units: int, data: bytes, order: str = "<") -> bytes:
    body = struct.pack(order + "HHIIII", iface, 0, units >> 32, units & 0xFFFFFFFF, len(data), len(data)) + data
    return ng_block(2, body, order)


def tcp4(sport: int = 1234, dport: int = 80, flags: int = dpkt.tcp.TH_SYN, payload: bytes = b"",
         src: bytes = SRC4, dst: bytes = DST4, seq: int = 1000, ack: int = 0) -> bytes:
    """An IPv4/TCP packet with correct checksums (dpkt computes them on bytes())."""
    tcp = dpkt.tcp.TCP(sport=sport, dport=dport, flags=flags, seq=seq, ack=ack, win=8192, data=payload)
    ip = dpkt.ip.IP(src=src, dst=dst, p=6, ttl=64, data=tcp)
    ip.len = 20 + len(bytes(tcp))
    return bytes(ip)


def udp4(sport: int = 5353, dport: int = 53, payload: bytes = b"hello", src: bytes = SRC4,
         dst: bytes = DST4, ident: int = 1) -> bytes:
    udp = dpkt.udp.UDP(sport=sport, dport=dport, data=payload)
    udp.ulen = 8 + len(payload)
    ip = dpkt.ip.IP(src=src, dst=dst, p=17, ttl=64, id=ident, data=udp)
    ip.len = 20 + udp.ulen
    return bytes(ip)


def udp6(sport: int = 5353, dport: int = 53, payload: bytes = b"hello", src: bytes = SRC6,
         dst: bytes = DST6) -> bytes:
    udp = dpkt.udp.UDP(sport=sport, dport=dport, data=payload)
    udp.ulen = 8 + len(payload)
    ip6 = dpkt.ip6.IP6(src=src, dst=dst, nxt=17, hlim=64, data=udp)
    ip6.plen = udp.ulen
    return bytes(ip6)


def icmp4(type_: int = 8, code: int = 0, payload: bytes = b"ping") -> bytes:
    icmp = dpkt.icmp.ICMP(type=type_, code=code, data=dpkt.icmp.ICMP.Echo(id=7, seq=1, data=payload))
    ip = dpkt.ip.IP(src=SRC4, dst=DST4, p=1, ttl=64, data=icmp)
    ip.len = 20 + len(bytes(icmp))
    return bytes(ip)


def eth(payload: bytes, ethertype: int = 0x0800, src: bytes = MAC_A, dst: bytes = MAC_B) -> bytes:
    return dst + src + struct.pack("!H", ethertype) + payload
