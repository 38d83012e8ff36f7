"""Record scanning for the vectorized decoder: pcap/pcapng files → blocks of record offsets.

:func:`scan_file` reads a capture opened by :func:`~sopkit.capture.readers.open_capture` in large
blocks (a few MiB per ``read``; memory stays bounded by the block size, never the whole file) and
yields one :class:`Chunk` per block: the block's bytes plus parallel arrays giving, for each packet
record, where its data starts, its captured and wire lengths, its timestamp in ns, its link type
and its 0-based record number in the file. The file header was already parsed (and validated) by
the per-format readers (:mod:`sopkit.capture.pcap`, :mod:`sopkit.capture.pcapng`); their parsed
fields are reused here.

Walking record boundaries is inherently sequential (each length gives the next offset), so the
common records — pcap records, pcapng Enhanced Packet Blocks of a declared interface with a
decimal timestamp resolution — are walked by small numba-compiled loops (~ns per record instead
of ~µs for a Python loop). Everything else — section and interface blocks, simple/obsolete packet
blocks, binary timestamp resolutions, every damaged or cut block — stops the compiled loop and is
handled by a Python step that mirrors the readers record by record, with the same counters and
the same warning texts, so ``CaptureStats`` ends up exactly as the per-packet readers leave it.
One deliberate difference: a pcapng timestamp beyond the signed 64-bit nanosecond range (absurd
resolution or offset options) cannot go into a batch, so that record is skipped and counted
(``skipped["timestamp out of range"]``, with a warning) instead of yielded.

Plain files are memory-mapped: a capture must not be truncated while it is being read (growing,
as tcpdump writes it, is fine: the part present at open time is read). Once a chunk has been
consumed (the generator is resumed for the next one), its pages are released from the process
with ``madvise(MADV_DONTNEED)``: otherwise every page read stays mapped and counted in the
process's RSS, which then grows to the size of the capture. The pages stay in the OS page cache,
and a later access (a record straddling the release point) simply maps them again — releasing
never changes what is read, only how much of the file the process keeps resident.
"""

from __future__ import annotations

import mmap
import struct
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numba import njit

from sopkit.capture import pcap, pcapng
from sopkit.capture.readers import CaptureReader

BLOCK = 8 << 20
#: release consumed pages of a mapping once at least this many bytes are behind the scan position
RELEASE = 4 << 20
_DONTNEED = getattr(mmap, "MADV_DONTNEED", None)
_I64_MAX = (1 << 63) - 1


@dataclass
class Chunk:
    """Packet records found in one block of a file (offsets index into ``data``)."""

    data: bytes  #: the block's bytes
    off: np.ndarray  #: i8: where each record's captured bytes start in ``data``
    cap: np.ndarray  #: i8: captured length
    wire: np.ndarray  #: i8: original length on the wire
    ts: np.ndarray  #: i8: timestamp, ns since the epoch
    lt: np.ndarray  #: i4: link type
    index: np.ndarray  #: i8: record number in the file

    def __len__(self) -> int:
        return len(self.off)


@njit(cache=True, nogil=True)
def _u32(b, p, big):
    if big:
        return (np.int64(b[p]) << 24) | (np.int64(b[p + 1]) << 16) | (np.int64(b[p + 2]) << 8) | np.int64(b[p + 3])
    return (np.int64(b[p + 3]) << 24) | (np.int64(b[p + 2]) << 16) | (np.int64(b[p + 1]) << 8) | np.int64(b[p])


@njit(cache=True, nogil=True)
def _scan_pcap(b, pos, stop, big, rec_len, max_caplen, mult, off, cap, wire, ts):
    """Walk complete pcap records starting before ``stop``; returns (count, next pos, 1 if caplen implausible)."""
    n = 0
    size = b.shape[0]
    while pos < stop and size - pos >= rec_len:
        c = _u32(b, pos + 8, big)
        if c > max_caplen:
            return n, pos, 1
        end = pos + rec_len + c
        if end > size:
            break
        off[n] = pos + rec_len
        cap[n] = c
        wire[n] = _u32(b, pos + 12, big)
        ts[n] = _u32(b, pos, big) * 1_000_000_000 + _u32(b, pos + 4, big) * mult
        n += 1
        pos = end
    return n, pos, 0


@njit(cache=True, nogil=True)
def _scan_epb(b, pos, stop, big, if_lt, if_mult, if_div, if_off, off, cap, wire, ts, lt):
    """Walk plain Enhanced Packet Blocks from ``pos``; stops at anything else (returns count, pos).

    ``if_mult``/``if_div`` convert timestamp units to ns (one of them is 1; 0 = not handled here).
    """
    n = 0
    size = b.shape[0]
    nif = if_lt.shape[0]
    while pos < stop and size - pos >= 12:
        total = _u32(b, pos + 4, big)
        if _u32(b, pos, big) != 6 or total < 32 or total % 4 or total > 64 << 20 or pos + total > size:
            break
        if_id = _u32(b, pos + 8, big)
        c = _u32(b, pos + 20, big)
        high = _u32(b, pos + 12, big)
        if c > total - 32 or if_id >= nif or if_mult[if_id] == 0 or high >= 1 << 31:
            break
        units = (high << 32) | _u32(b, pos + 16, big)
        mult = if_mult[if_id]
        if mult > 1 and units > 9223372036854775807 // mult:
            break
        off[n] = pos + 28
        cap[n] = c
        wire[n] = _u32(b, pos + 24, big)
        ts[n] = units * mult // if_div[if_id] + if_off[if_id]
        lt[n] = if_lt[if_id]
        n += 1
        pos += total
    return n, pos


class _Collector:
    """Accumulates the records found in the current block (compiled segments and single records)."""

    def __init__(self, stats) -> None:
        self.stats = stats
        self.parts: list[tuple] = []
        self.index = 0

    def add(self, off, cap, wire, ts, lt) -> None:
        n = len(off)
        if not n:
            return
        st = self.stats
        st.records += n
        st.bytes += int(cap.sum())
        st.truncated_records += int(np.count_nonzero(cap < wire))
        idx = np.arange(self.index, self.index + n, dtype=np.int64)
        self.index += n
        self.parts.append((off, cap, wire, ts, lt, idx))

    def add_one(self, off: int, cap: int, wire: int, ts: int, lt: int) -> None:
        self.add(np.array([off], np.int64), np.array([cap], np.int64), np.array([wire], np.int64),
                 np.array([ts], np.int64), np.array([lt], np.int32))

    def flush(self, data: bytes) -> Chunk | None:
        if not self.parts:
            return None
        cols = [np.concatenate(c) if len(self.parts) > 1 else c[0] for c in zip(*self.parts, strict=True)]
        self.parts = []
        return Chunk(data, *cols)


class _Window:
    """The bytes being scanned: the whole file memory-mapped, or a block read into memory.

    Memory-mapping (plain files) scans the page cache in place, without copying; gzip streams
    and files that cannot be mapped are read ``BLOCK`` bytes at a time, the unfinished record at
    the end of a block carried over to the next. ``base`` is the file offset of ``buf[0]``.
    """

    def __init__(self, reader: CaptureReader, head: bytes, start: int) -> None:
        self.fh = reader._fh
        self.raw = reader._raw
        self.mapped = False
        self.released = 0  #: pages of the mapping before this offset were released
        self.buf: bytes | mmap.mmap = head
        self.base, self.pos = 0, start
        if self.fh is self.raw:  # not compressed
            try:
                self.buf = mmap.mmap(self.raw.fileno(), 0, access=mmap.ACCESS_READ)
                self.mapped = True
            except (OSError, ValueError):
                self.buf, self.base, self.pos = head[start:], start, 0
        else:
            self.buf, self.base, self.pos = head[start:], start, 0
        self.array = np.frombuffer(self.buf, np.uint8)

    def stop(self) -> int:
        """Where the next compiled walk should stop (bounded so that chunks stay ~BLOCK bytes)."""
        if not self.mapped:
            return len(self.buf)
        self.raw.seek(self.pos)  # progress for CaptureReader.position
        return min(len(self.buf), self.pos + BLOCK)

    def release(self, upto: int) -> None:
        """Drop the mapped pages wholly before file offset ``upto`` from the process (mapped files only).

        Called when every record before ``upto`` has been handed over and consumed.  Works on
        whole pages and in steps of at least :data:`RELEASE` bytes (one system call per few MiB).
        """
        if not self.mapped or _DONTNEED is None:
            return
        end = upto - upto % mmap.PAGESIZE
        if end - self.released < RELEASE:
            return
        try:
            self.buf.madvise(_DONTNEED, self.released, end - self.released)  # type: ignore[union-attr]
        except (OSError, ValueError):  # not supported here: keep the pages, nothing else changes
            return
        self.released = end

    def more(self, need: int) -> bool:
        """Bring at least ``need`` more bytes after ``pos`` into ``buf``; False at the end of the file."""
        if self.mapped:
            return False
        more = self.fh.read(max(BLOCK, need))
        if not more:
            return False
        self.buf = self.buf[self.pos :] + more
        self.base += self.pos
        self.pos = 0
        self.array = np.frombuffer(self.buf, np.uint8)
        return True


def _pcap_chunks(reader: CaptureReader) -> Iterator[Chunk]:
    r: pcap.PcapReader = reader._reader  # type: ignore[assignment]
    st, name = reader.stats, reader.path
    big = r._order == ">"
    rec_len, max_caplen = r._rec_len, r._max_caplen
    mult = 1 if r.nanosecond else 1000
    col = _Collector(st)
    win = _Window(reader, b"", pcap.FILE_HEADER)
    if not win.mapped:
        win.more(BLOCK)
    caplen_at = struct.Struct(r._order + "I").unpack_from
    while True:
        stop = win.stop()
        room = (stop - win.pos) // rec_len + 1
        off, cap, wire, ts = (np.empty(room, np.int64) for _ in range(4))
        n, win.pos, bad = _scan_pcap(win.array, win.pos, stop, big, rec_len, max_caplen, mult, off, cap, wire, ts)
        col.add(off[:n].copy(), cap[:n].copy(), wire[:n].copy(), ts[:n].copy(), np.full(n, r.linktype, np.int32))
        chunk = col.flush(win.buf)
        if chunk is not None:
            yield chunk
            del chunk
        win.release(win.pos)
        buf, pos = win.buf, win.pos
        if bad:
            st.warnings.append(f"{name}: record {col.index} at byte {win.base + pos}: implausible caplen "
                               f"{caplen_at(buf, pos + 8)[0]} (snaplen {r.snaplen}); stopped reading")
            return
        if win.mapped and pos >= stop and pos < len(buf):
            continue
        avail = len(buf) - pos
        need = rec_len if avail < rec_len else rec_len + caplen_at(buf, pos + 8)[0] - avail
        if win.more(need):
            continue
        if avail and avail < rec_len:
            st.warnings.append(f"{name}: record {col.index} at byte {win.base + pos}: file ends inside the record "
                               f"header ({avail} of {rec_len} bytes)")
        elif avail:
            st.warnings.append(f"{name}: record {col.index} at byte {win.base + pos}: file ends inside the record "
                               f"data ({avail - rec_len} of {caplen_at(buf, pos + 8)[0]} bytes)")
        return


def _iface_arrays(interfaces: list[pcapng.Interface]) -> tuple[np.ndarray, ...]:
    """Per-interface (link type, multiplier, divisor, offset) for the compiled EPB walk."""
    lt = np.array([i.linktype for i in interfaces], np.int64)
    mult = np.zeros(len(interfaces), np.int64)
    div = np.ones(len(interfaces), np.int64)
    off = np.array([i.tsoffset_ns if abs(i.tsoffset_ns) < 1 << 62 else 0 for i in interfaces], np.int64)
    for k, i in enumerate(interfaces):
        if abs(i.tsoffset_ns) >= 1 << 62 or i.tsresol & 0x80:
            continue  # left to the Python step (exact big-integer arithmetic)
        if i.tsresol <= 9:
            mult[k] = 10 ** (9 - i.tsresol)
        elif i.tsresol <= 27:
            mult[k], div[k] = 1, 10 ** (i.tsresol - 9)
    return lt, mult, div, off


def _pcapng_chunks(reader: CaptureReader) -> Iterator[Chunk]:
    r: pcapng.PcapngReader = reader._reader  # type: ignore[assignment]
    st = reader.stats
    col = _Collector(st)
    win = _Window(reader, r._head, 0)
    mark = win.pos
    order = "<"
    u32 = struct.Struct("<I").unpack_from
    interfaces: list[pcapng.Interface] = []
    tables = _iface_arrays(interfaces)
    outs: tuple[np.ndarray, ...] = ()

    def warn(offset: int, text: str) -> None:
        r._warn(col.index, offset, text)

    while True:
        buf, pos = win.buf, win.pos
        avail = len(buf) - pos
        if avail >= 12 and interfaces:
            stop = win.stop()
            if not outs or len(outs[0]) < (stop - pos) // 32 + 1:
                room = max((stop - pos) // 32 + 1, 1024)
                outs = tuple(np.empty(room, np.int64) for _ in range(4)) + (np.empty(room, np.int32),)
            n, pos = _scan_epb(win.array, pos, stop, order == ">", *tables, *outs)
            win.pos = pos
            if n:
                col.add(*(a[:n].copy() for a in outs))
            avail = len(buf) - pos
        if pos - mark >= BLOCK or avail < 12:
            chunk = col.flush(buf)
            if chunk is not None:
                yield chunk
                del chunk
            win.release(pos)
            mark = pos
        if avail < 12:
            if win.more(BLOCK):
                mark = win.pos
                continue
            if avail:
                warn(win.base + pos, f"file ends inside a block header ({avail} bytes left)")
            return
        # one block the compiled walk did not take, exactly as PcapngReader handles it
        btype = u32(buf, pos)[0]
        if btype == pcapng.SHB:
            got_order = pcapng.section_order(buf, pos)
            if got_order is None:
                warn(win.base + pos, f"section header without byte-order magic ({buf[pos + 8 : pos + 12].hex()}); "
                                     "stopped")
                break
            order = got_order
            u32 = struct.Struct(order + "I").unpack_from
            interfaces = []
            tables = _iface_arrays(interfaces)
        total = u32(buf, pos + 4)[0]
        if total < 12 or total % 4 or total > pcapng.MAX_BLOCK:
            warn(win.base + pos, f"implausible block length {total} (type {btype:#x}); stopped")
            break
        end = pos + total
        if end > len(buf):
            chunk = col.flush(buf)
            if chunk is not None:
                yield chunk
            if win.more(end - len(buf)):
                mark = win.pos
                continue
            warn(win.base + pos, f"file ends inside a block of type {btype:#x} ({len(buf) - pos} of {total} bytes)")
            break
        start = pos
        win.pos = end
        at = win.base + start
        got = pcapng.read_block(buf, start, total, btype, order, interfaces, st, warn, at)
        if btype == pcapng.IDB:
            tables = _iface_arrays(interfaces)
        if got is None:
            continue
        off, caplen, wirelen, ts, iface = got
        if not -_I64_MAX - 1 <= ts <= _I64_MAX:  # cannot be a PacketBatch timestamp
            warn(at, f"timestamp out of range ({ts} ns, interface {interfaces.index(iface)})")
            st.skipped["timestamp out of range"] += 1
            continue
        col.add_one(off, caplen, wirelen, ts, iface.linktype)
    chunk = col.flush(win.buf)
    if chunk is not None:
        yield chunk


def scan_file(reader: CaptureReader) -> Iterator[Chunk]:
    """Yield the packet records of an opened capture block by block, updating ``reader.stats``.

    Damage never raises: it ends the file with a warning in ``reader.stats.warnings`` (the same
    texts as the per-packet readers); a gzip stream that fails mid-way is reported likewise. The
    file is closed at the end.
    """
    gen = _pcapng_chunks(reader) if isinstance(reader._reader, pcapng.PcapngReader) else _pcap_chunks(reader)
    try:
        yield from gen
    except (OSError, EOFError) as exc:  # gzip stream damage surfaces in read()
        reader.stats.warnings.append(f"{reader.path}: read error after {reader.stats.records} records: {exc}")
    finally:
        reader.close()
