"""Classic libpcap file reader (``.pcap``): µs and ns magic, both byte orders, Kuznetsov's variant.

Why a reader of our own rather than ``dpkt.pcap.Reader``: dpkt raises from its iterator when a
file is cut mid-record (so the caller loses the position and every later warning), and builds a
Python object per record through its header class. This reader works on large blocks read from
the file (one ``read`` per few MiB, not per record), unpacks each 16-byte record header with one
``struct.unpack_from`` and reports every irregularity as a warning string carrying the byte offset,
while yielding each complete record before it.

Record header fields (per the libpcap file format)::

    ts_sec  u32 | ts_frac u32 (µs or ns by magic) | caplen u32 | wirelen u32
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import BinaryIO

from sopkit.capture.packet import Frame
from sopkit.capture.stats import CaptureStats
from sopkit.errors import CaptureError

#: magic (as read little-endian) -> (byte order, ns resolution?, record header length)
MAGICS: dict[int, tuple[str, bool, int]] = {
    0xA1B2C3D4: ("<", False, 16),
    0xD4C3B2A1: (">", False, 16),
    0xA1B23C4D: ("<", True, 16),
    0x4D3CB2A1: (">", True, 16),
    0xA1B2CD34: ("<", False, 24),  # Kuznetsov's patched libpcap: 8 extra bytes per record
    0x34CDB2A1: (">", False, 24),
}

FILE_HEADER = 24
#: refuse records larger than this (and larger than the snaplen): a damaged length would
#: otherwise make us try to buffer gigabytes.
MAX_RECORD = 262144
BLOCK = 4 << 20


def is_pcap(head: bytes) -> bool:
    """True when ``head`` (the first 4 bytes) is a libpcap magic number."""
    return len(head) >= 4 and struct.unpack_from("<I", head)[0] in MAGICS


class PcapReader:
    """Iterate over the records of one libpcap stream as :class:`Frame` objects.

    ``fh`` is positioned at the file start; ``name`` is used in warnings and ``Frame.source``.
    Damage never raises after the file header: it stops iteration and appends a warning.
    """

    def __init__(self, fh: BinaryIO, name: str, stats: CaptureStats) -> None:
        self._fh = fh
        self.name = name
        self.stats = stats
        head = fh.read(FILE_HEADER)
        if len(head) < 4 or not is_pcap(head):
            raise CaptureError(f"{name}: not a pcap file (first bytes {head[:4].hex() or 'empty'})")
        if len(head) < FILE_HEADER:
            raise CaptureError(f"{name}: pcap file header cut at {len(head)} of {FILE_HEADER} bytes")
        order, self.nanosecond, self._rec_len = MAGICS[struct.unpack_from("<I", head)[0]]
        self._order = order
        (self.version_major, self.version_minor, _zone, _sigfigs, self.snaplen, network) = struct.unpack_from(
            order + "HHiIII", head, 4
        )
        # Upper bits of the link-type field may carry FCS information (pcap spec, "LinkType and
        # additional information"); the link type itself is the low 16 bits.
        self.linktype = network & 0xFFFF
        self.fcs_len = ((network >> 28) & 0xF) * 2 if network & 0x04000000 else 0
        stats.linktypes.add(self.linktype)
        self._max_caplen = max(MAX_RECORD, self.snaplen if self.snaplen < (1 << 30) else 0)

    def __iter__(self) -> Iterator[Frame]:
        fh = self._fh
        st = self.stats
        name = self.name
        linktype = self.linktype
        rec_len = self._rec_len
        hdr = struct.Struct(self._order + "IIII")
        unpack = hdr.unpack_from
        mult = 1 if self.nanosecond else 1000
        max_caplen = self._max_caplen
        buf = b""
        pos = 0
        base = FILE_HEADER  # file offset of buf[0]
        index = 0
        while True:
            avail = len(buf) - pos
            if avail < rec_len:
                more = fh.read(BLOCK)
                if not more:
                    if avail:
                        st.warnings.append(
                            f"{name}: record {index} at byte {base + pos}: file ends inside the record "
                            f"header ({avail} of {rec_len} bytes)"
                        )
                    break
                buf = buf[pos:] + more
                base += pos
                pos = 0
                continue
            sec, frac, caplen, wirelen = unpack(buf, pos)
            if caplen > max_caplen:
                st.warnings.append(
                    f"{name}: record {index} at byte {base + pos}: implausible caplen {caplen} "
                    f"(snaplen {self.snaplen}); stopped reading"
                )
                break
            end = pos + rec_len + caplen
            if end > len(buf):
                more = fh.read(max(BLOCK, end - len(buf)))
                if not more:
                    st.warnings.append(
                        f"{name}: record {index} at byte {base + pos}: file ends inside the record data "
                        f"({len(buf) - pos - rec_len} of {caplen} bytes)"
                    )
                    break
                buf = buf[pos:] + more
                base += pos
                pos = 0
                continue
            data = buf[pos + rec_len : end]
            pos = end
            st.records += 1
            st.bytes += caplen
            if caplen < wirelen:
                st.truncated_records += 1
            yield Frame(sec * 1_000_000_000 + frac * mult, linktype, data, wirelen, name, index)
            index += 1
