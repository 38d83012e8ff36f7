"""pcapng reader: several sections and interfaces, per-interface ``if_tsresol``/``if_tsoffset``.

Why a reader of our own rather than ``dpkt.pcapng.Reader``: dpkt 1.9.8 applies the *first*
interface's timestamp resolution to every interface of the file (dpkt issue 681), so a file mixing
µs and ns interfaces gets wrong times; it also raises from its iterator on a file cut mid-block.
This reader keeps one (link type, resolution, offset, snaplen) entry per Interface Description
Block, restarts the table at each Section Header Block (whose byte order may differ from the
previous section's), converts timestamps to integer nanoseconds exactly (decimal and power-of-two
resolutions), and reads the file in large blocks.

Block types handled (pcapng draft, section 4): SHB 0x0A0D0D0A, IDB 1, obsolete Packet Block 2,
Simple Packet Block 3, Enhanced Packet Block 6. Others (name resolution, statistics, journal,
decryption secrets, custom) are skipped and counted in ``stats.skipped``.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from typing import BinaryIO

from sopkit.capture.packet import Frame
from sopkit.capture.stats import CaptureStats
from sopkit.errors import CaptureError

SHB = 0x0A0D0D0A
IDB = 1
PB = 2
SPB = 3
EPB = 6
BYTE_ORDER_MAGIC = 0x1A2B3C4D
OPT_TSRESOL = 9
OPT_TSOFFSET = 14
#: refuse blocks larger than this: a damaged length must not make us buffer gigabytes
MAX_BLOCK = 64 << 20
BLOCK = 4 << 20
BLOCK_NAMES = {4: "name resolution", 5: "interface statistics", 9: "journal", 10: "decryption secrets",
               0x00000BAD: "custom", 0x40000BAD: "custom"}


def is_pcapng(head: bytes) -> bool:
    """True when ``head`` starts with a pcapng Section Header Block type."""
    return len(head) >= 4 and struct.unpack_from("<I", head)[0] == SHB


def ts_to_ns(units: int, resol: int) -> int:
    """Convert a timestamp in ``if_tsresol`` units to integer nanoseconds, exactly.

    ``resol`` is the option byte: high bit clear = 10^-n seconds, set = 2^-n seconds.
    """
    if resol & 0x80:
        return (units * 1_000_000_000) >> (resol & 0x7F)
    if resol <= 9:
        return units * 10 ** (9 - resol)
    return units // 10 ** (resol - 9)


class Interface:
    """One Interface Description Block's decoding parameters."""

    __slots__ = ("linktype", "snaplen", "tsresol", "tsoffset_ns")

    def __init__(self, linktype: int, snaplen: int, tsresol: int = 6, tsoffset_ns: int = 0) -> None:
        self.linktype = linktype
        self.snaplen = snaplen
        self.tsresol = tsresol
        self.tsoffset_ns = tsoffset_ns

    def ts_ns(self, high: int, low: int) -> int:
        return ts_to_ns((high << 32) | low, self.tsresol) + self.tsoffset_ns


def _options(body: bytes, start: int, end: int, order: str) -> Iterator[tuple[int, bytes]]:
    """Yield (code, value) for the options in ``body[start:end]`` until opt_endofopt."""
    hdr = struct.Struct(order + "HH")
    while start + 4 <= end:
        code, length = hdr.unpack_from(body, start)
        if code == 0:
            return
        value = body[start + 4 : start + 4 + length]
        if len(value) < length:
            return
        yield code, value
        start += 4 + ((length + 3) & ~3)


def section_order(buf: bytes, pos: int) -> str | None:
    """Byte order (``"<"`` or ``">"``) of the Section Header Block at ``buf[pos:]``; None without the magic."""
    bom = buf[pos + 8 : pos + 12]
    if struct.unpack("<I", bom)[0] == BYTE_ORDER_MAGIC:
        return "<"
    if struct.unpack(">I", bom)[0] == BYTE_ORDER_MAGIC:
        return ">"
    return None


def read_block(buf: bytes, start: int, total: int, btype: int, order: str, interfaces: list[Interface],
               stats: CaptureStats, warn: Callable[[int, str], None], at: int) -> tuple | None:
    """Interpret one complete block ``buf[start : start + total]`` of type ``btype``.

    A packet block (EPB, PB, SPB) gives ``(data offset in buf, caplen, wirelen, ts_ns, interface)``;
    an Interface Description Block is appended to ``interfaces``; a damaged block is reported with
    ``warn(at, text)`` (``at``: its file offset) and counted in ``stats.skipped``; other block types
    are counted there too. Everything but a packet gives None. Shared by :class:`PcapngReader` and
    the block scanner of :mod:`sopkit.capture.fastscan`, so both read a file the same way.
    """
    if btype == EPB or btype == PB:
        if total < 32:
            warn(at, f"packet block too short ({total} bytes)")
            stats.skipped["short packet block"] += 1
            return None
        if btype == EPB:
            if_id, high, low, caplen, wirelen = struct.unpack_from(order + "IIIII", buf, start + 8)
        else:
            if_id, _drops, high, low, caplen, wirelen = struct.unpack_from(order + "HHIIII", buf, start + 8)
        if caplen > total - 32:
            warn(at, f"captured length {caplen} exceeds the block ({total} bytes)")
            stats.skipped["packet larger than its block"] += 1
            return None
        if if_id >= len(interfaces):
            warn(at, f"packet for undeclared interface {if_id}")
            stats.skipped["undeclared interface"] += 1
            return None
        iface = interfaces[if_id]
        return start + 28, caplen, wirelen, iface.ts_ns(high, low), iface
    if btype == SPB:
        if not interfaces:
            warn(at, "simple packet block before any interface")
            stats.skipped["undeclared interface"] += 1
            return None
        iface = interfaces[0]
        wirelen = struct.unpack_from(order + "I", buf, start + 8)[0]
        caplen = min(wirelen, total - 16)
        if iface.snaplen:
            caplen = min(caplen, iface.snaplen)
        return start + 12, caplen, wirelen, 0, iface  # SPBs carry no timestamp
    if btype == IDB:
        if total < 20:
            warn(at, f"interface block too short ({total} bytes)")
            return None
        linktype, _res, snaplen = struct.unpack_from(order + "HHI", buf, start + 8)
        iface = Interface(linktype, snaplen)
        for code, value in _options(buf, start + 16, start + total - 4, order):
            if code == OPT_TSRESOL and value:
                iface.tsresol = value[0]
            elif code == OPT_TSOFFSET and len(value) == 8:
                iface.tsoffset_ns = struct.unpack(order + "q", value)[0] * 1_000_000_000
        interfaces.append(iface)
        stats.linktypes.add(linktype)
        return None
    if btype != SHB:
        stats.skipped[f"{BLOCK_NAMES.get(btype, 'unknown')} block {btype:#x}"] += 1
    return None


class PcapngReader:
    """Iterate over the packet blocks of one pcapng stream as :class:`Frame` objects."""

    def __init__(self, fh: BinaryIO, name: str, stats: CaptureStats) -> None:
        self._fh = fh
        self.name = name
        self.stats = stats
        head = fh.read(12)
        if not is_pcapng(head):
            raise CaptureError(f"{name}: not a pcapng file (first bytes {head[:4].hex() or 'empty'})")
        if len(head) < 12:
            raise CaptureError(f"{name}: pcapng section header cut at {len(head)} of 12 bytes")
        bom_le = struct.unpack_from("<I", head, 8)[0]
        if bom_le != BYTE_ORDER_MAGIC and struct.unpack_from(">I", head, 8)[0] != BYTE_ORDER_MAGIC:
            raise CaptureError(f"{name}: pcapng section header has no byte-order magic ({head[8:12].hex()})")
        self._head = head

    def _warn(self, index: int, offset: int, text: str) -> None:
        self.stats.warnings.append(f"{self.name}: block at byte {offset} (after {index} packets): {text}")

    def __iter__(self) -> Iterator[Frame]:
        fh = self._fh
        st = self.stats
        name = self.name
        buf = self._head
        pos = 0
        base = 0
        index = 0
        order = "<"
        u32 = struct.Struct("<I").unpack_from
        interfaces: list[Interface] = []

        def warn(at: int, text: str) -> None:
            self._warn(index, at, text)

        while True:
            avail = len(buf) - pos
            if avail < 12:
                more = fh.read(BLOCK)
                if not more:
                    if avail:
                        self._warn(index, base + pos, f"file ends inside a block header ({avail} bytes left)")
                    return
                buf = buf[pos:] + more
                base += pos
                pos = 0
                continue
            btype = u32(buf, pos)[0]
            if btype == SHB:  # byte order may change at every section
                got_order = section_order(buf, pos)
                if got_order is None:
                    self._warn(index, base + pos, f"section header without byte-order magic "
                                                  f"({buf[pos + 8 : pos + 12].hex()}); stopped")
                    return
                order = got_order
                u32 = struct.Struct(order + "I").unpack_from
                interfaces = []
            total = u32(buf, pos + 4)[0]
            if total < 12 or total % 4 or total > MAX_BLOCK:
                self._warn(index, base + pos, f"implausible block length {total} (type {btype:#x}); stopped")
                return
            end = pos + total
            if end > len(buf):
                more = fh.read(max(BLOCK, end - len(buf)))
                if not more:
                    self._warn(index, base + pos,
                               f"file ends inside a block of type {btype:#x} ({len(buf) - pos} of {total} bytes)")
                    return
                buf = buf[pos:] + more
                base += pos
                pos = 0
                continue
            start = pos
            pos = end
            got = read_block(buf, start, total, btype, order, interfaces, st, warn, base + start)
            if got is None:
                continue
            off, caplen, wirelen, ts, iface = got
            data = buf[off : off + caplen]
            st.records += 1
            st.bytes += caplen
            if caplen < wirelen:
                st.truncated_records += 1
            yield Frame(ts, iface.linktype, data, wirelen, name, index)
            index += 1
