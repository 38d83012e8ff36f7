"""Vectorized capture decoding: capture files → :class:`~sopkit.capture.batch.PacketBatch` blocks.

The per-packet path (:func:`~sopkit.capture.decode.iter_packets`) builds a ``Frame`` and a
``Packet`` object per packet (~200k packets/s). :func:`iter_batches` yields the same packets as
columnar batches much faster: :mod:`sopkit.capture.fastscan` finds the records of each file block
by block, :mod:`sopkit.capture.fastkernel` decodes the common headers of a whole block in one
compiled loop, and every frame it does not cover (fragments, tunnels, IPv6 extension headers,
other link types, damaged headers …) is decoded by one :class:`~sopkit.capture.decode.Decoder`
in capture order — so fragment reassembly state is the Decoder's, exactly as on the slow path —
and converted with :func:`~sopkit.capture.batch.packets_to_batch`. Both kinds are merged back
into capture order within each batch.

The result is field for field what ``packets_to_batch(iter_packets(paths))`` gives (the tests
check it over the conformance corpus), and so are the counters: ``stream.stats`` totals what the
readers saw (:class:`~sopkit.capture.stats.CaptureStats`), ``stream.decode_stats`` is the Counter
``Decoder.stats`` would hold had every frame gone through it.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Iterable, Iterator

import numpy as np

from sopkit.capture import fastkernel
from sopkit.capture.batch import (
    F_BAD_CHECKSUM,
    F_BAD_IP_CHECKSUM,
    F_TRUNCATED,
    FIELDS,
    PacketBatch,
    packets_to_batch,
)
from sopkit.capture.decode import Decoder
from sopkit.capture.fastscan import Chunk, scan_file
from sopkit.capture.packet import Frame
from sopkit.capture.readers import CaptureReader, CaptureStream
from sopkit.errors import ParameterError

#: columns the kernel fills, in its argument order (ts_ns, tunnel, frame_index come from elsewhere)
KERNEL_FIELDS = ("src_hi", "src_lo", "dst_hi", "dst_lo", "ip_version", "proto", "tcp_flags", "flags", "sport",
                 "dport", "window", "ip_len", "payload_len", "captured_len", "seq", "ack", "vlan", "inner_vlan")


class _Decoded:
    """One chunk plus its kernel output (status and columns per record)."""

    def __init__(self, chunk: Chunk, source: str, verify: bool) -> None:
        self.chunk = chunk
        self.source = source
        n = len(chunk)
        self.status = np.empty(n, np.uint8)
        self.aux = np.zeros(n, np.int64)
        self.cols = {name: np.zeros(n, FIELDS[name]) for name in KERNEL_FIELDS}
        words = np.frombuffer(chunk.data, np.uint16, count=len(chunk.data) // 2)
        fastkernel.decode_records(np.frombuffer(chunk.data, np.uint8), words, sys.byteorder == "little",
                                  chunk.off, chunk.cap, chunk.lt, verify,
                                  self.status, self.aux, *(self.cols[k] for k in KERNEL_FIELDS))
        self.cols["ts_ns"] = chunk.ts
        self.cols["frame_index"] = chunk.index
        self.cols["aux"] = self.aux
        self.pos = 0  #: next record not yet emitted
        self.pool_at = -1  #: where its timestamps are in BatchStream's pool (multi-file merge)

    def frame(self, i: int) -> Frame:
        c = self.chunk
        o = int(c.off[i])
        return Frame(int(c.ts[i]), int(c.lt[i]), c.data[o : o + int(c.cap[i])], int(c.wire[i]), self.source,
                     int(c.index[i]))


class BatchStream(CaptureStream):
    """Iterator of :class:`PacketBatch` over one or more captures (see :func:`iter_batches`).

    Attributes for inspection: ``readers`` (one :class:`CaptureReader` per file, with its
    ``stats``), ``rejected`` (files that are not captures), ``decoder`` (the slow-path Decoder),
    ``fast_frames``/``slow_frames`` (frames each path took), ``packets`` (packets yielded).
    """

    def __init__(self, paths: Iterable[str | os.PathLike] | str | os.PathLike, *, start_ns: int | None = None,
                 end_ns: int | None = None, batch_size: int = 1 << 16, progress: bool = False,
                 verify_checksums: bool = True) -> None:
        if batch_size < 1:
            raise ParameterError(f"iter_batches: batch_size must be at least 1, not {batch_size}")
        super().__init__(paths, start_ns=start_ns, end_ns=end_ns, progress=progress)
        self.batch_size = batch_size
        self.verify = verify_checksums
        self.decoder = Decoder(verify_checksums=verify_checksums)
        self.fast_stats: Counter = Counter()  #: Decoder-style counters of the frames the kernel decoded
        self.fast_frames = 0
        self.slow_frames = 0
        self.packets = 0
        self._pool = np.zeros(0, np.int64)  #: timestamps of the current chunks, for the multi-file merge
        self._pool_used = 0

    @property
    def decode_stats(self) -> Counter:
        """Decoding counters by reason, as ``Decoder.stats`` would count them for all frames."""
        return self.fast_stats + self.decoder.stats

    @property
    def frames(self) -> int:
        """Frames decoded so far (after the time filter)."""
        return self.fast_frames + self.slow_frames

    def _items(self) -> Iterator[PacketBatch]:
        return self._batches()

    def _sources(self) -> list[tuple[CaptureReader, Iterator[Chunk]]]:
        return [(r, scan_file(r)) for r in self.readers]

    def _batches(self) -> Iterator[PacketBatch]:
        sources = self._sources()
        heads: list[_Decoded | None] = [None] * len(sources)
        live = list(range(len(sources)))
        bar = None
        if self.progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=sum(r.size for r in self.readers), unit="B", unit_scale=True, desc="reading")
        done = 0
        try:
            while True:
                for k in list(live):  # every live file needs a chunk with records left
                    while heads[k] is None or heads[k].pos >= len(heads[k].chunk):  # type: ignore[union-attr]
                        chunk = next(sources[k][1], None)
                        if chunk is None:
                            heads[k] = None
                            live.remove(k)
                            break
                        heads[k] = _Decoded(chunk, sources[k][0].path, self.verify)
                if not live:
                    break
                if bar is not None:
                    now = sum(r.position for r in self.readers)
                    bar.update(now - done)
                    done = now
                batch = self._build(self._merge(heads, live))
                if len(batch):
                    self.packets += len(batch)
                    yield batch
            self.decoder.finish()
        finally:
            if bar is not None:
                bar.update(bar.total - done)
                bar.close()

    def _merge(self, heads: list, live: list[int]) -> _Picks:
        """Up to ``batch_size`` records in capture order.

        One file: the next records of its chunk. Several: ``heapq.merge`` order (smallest
        timestamp first, ties to the earlier file) until one file's chunk runs out.
        """
        ds = [heads[k] for k in live]
        if len(ds) == 1:
            d = ds[0]
            stop = min(len(d.chunk), d.pos + self.batch_size)
            picks = _Picks(ds, None, np.arange(d.pos, stop, dtype=np.int64), (d.pos, stop))
            d.pos = stop
            return picks
        for d in ds:
            if d.pool_at < 0:
                self._pool_add(d, ds)
        starts = np.array([d.pool_at for d in ds], np.int64)
        pos = np.array([d.pos for d in ds], np.int64)
        ends = np.array([len(d.chunk) for d in ds], np.int64)
        src = np.empty(self.batch_size, np.int64)
        rec = np.empty(self.batch_size, np.int64)
        n = fastkernel.merge_heads(self._pool, starts, pos, ends, self.batch_size, src, rec)
        for j, d in enumerate(ds):
            d.pos = int(pos[j])
        return _Picks(ds, src[:n], rec[:n])

    def _pool_add(self, d: _Decoded, ds: list[_Decoded]) -> None:
        """Give chunk ``d`` a place in the timestamp pool the compiled merge reads (amortized O(n))."""
        n = len(d.chunk)
        if self._pool_used + n > len(self._pool):
            live = [x for x in ds if x.pool_at >= 0]
            size = sum(len(x.chunk) for x in live) + n
            pool = np.empty(max(2 * size, 1024), np.int64)
            used = 0
            for x in live:
                pool[used : used + len(x.chunk)] = x.chunk.ts
                x.pool_at = used
                used += len(x.chunk)
            self._pool, self._pool_used = pool, used
        self._pool[self._pool_used : self._pool_used + n] = d.chunk.ts
        d.pool_at = self._pool_used
        self._pool_used += n

    def _build(self, picks: _Picks) -> PacketBatch:
        """Decode the picked records: kernel results where FAST, the Decoder elsewhere, in order."""
        if self.start_ns is not None or self.end_ns is not None:
            ts = picks.take("ts_ns")
            keep = np.ones(len(ts), bool)
            if self.start_ns is not None:
                keep &= ts >= self.start_ns
            if self.end_ns is not None:
                keep &= ts < self.end_ns
            picks = picks.subset(keep)
        status = picks.take(None)
        fast = status == fastkernel.FAST
        fp = picks.subset(fast)
        nonip = status == fastkernel.NON_IP
        self._count_fast(fp, picks.subset(nonip) if nonip.any() else None)
        where = np.flatnonzero(status == fastkernel.SLOW)
        self.slow_frames += len(where)
        if not len(where):
            cols = {name: fp.take(name) for name in FIELDS if name != "tunnel"}
            cols["tunnel"] = np.full(len(fp), -1, np.int32)
            return PacketBatch(cols)
        counts = fast.astype(np.int64)
        packets = []
        decode = self.decoder.decode
        for w in where.tolist():
            got = decode(picks.frame(w))
            counts[w] = len(got)
            packets.extend(got)
        slow = packets_to_batch(packets)
        ends = np.cumsum(counts)
        starts = ends - counts
        out = PacketBatch.empty(int(ends[-1]))
        fpos = starts[fast]
        spos = np.repeat(starts[where], counts[where]) + _ramp(counts[where])
        for name in FIELDS:
            col = out.columns[name]
            if name != "tunnel":
                col[fpos] = fp.take(name)
            col[spos] = slow.columns[name]
        out.tunnels = slow.tunnels
        return out

    def _count_fast(self, fp: _Picks, nonip: _Picks | None) -> None:
        """Count what the kernel decoded into the Decoder-style counters."""
        self.fast_frames += len(fp) + (len(nonip) if nonip is not None else 0)
        if nonip is not None:
            ets, n = np.unique(nonip.take("aux"), return_counts=True)
            for et, c in zip(ets.tolist(), n.tolist(), strict=True):
                self.fast_stats[f"non-IP ethertype {et:#06x}"] += c
        fl = fp.take("flags")
        for key, c in (("bad IPv4 checksum", np.count_nonzero(fl & F_BAD_IP_CHECKSUM)),
                       ("packet truncated by snaplen", np.count_nonzero(fl & F_TRUNCATED)),
                       ("bad transport checksum",
                        np.count_nonzero((fl & (F_BAD_CHECKSUM | F_BAD_IP_CHECKSUM)) == F_BAD_CHECKSUM))):
            if c:
                self.fast_stats[key] += int(c)


class _Picks:
    """Records picked for one batch, in capture order: chunk ``src[i]`` (index into ``ds``), record ``rec[i]``.

    ``span`` marks the common case of one chunk's consecutive records, whose columns are then
    sliced rather than gathered.
    """

    def __init__(self, ds: list[_Decoded], src: np.ndarray | None, rec: np.ndarray,
                 span: tuple[int, int] | None = None) -> None:
        self.ds, self.src, self.rec, self.span = ds, src, rec, span
        self.groups: list[tuple[int, np.ndarray]] = []
        if src is not None:  # positions of each chunk's records, for one gather per chunk
            order = np.argsort(src, kind="stable")
            bounds = np.concatenate(([0], np.cumsum(np.bincount(src, minlength=len(ds)))))
            self.groups = [(j, order[bounds[j] : bounds[j + 1]]) for j in np.flatnonzero(np.diff(bounds)).tolist()]

    def __len__(self) -> int:
        return len(self.rec)

    def subset(self, mask: np.ndarray) -> _Picks:
        if self.span is not None and mask.all():
            return self
        return _Picks(self.ds, None if self.src is None else self.src[mask], self.rec[mask])

    def take(self, name: str | None) -> np.ndarray:
        """Column ``name`` (None: the kernel status) of the picked records."""
        cols = [d.status if name is None else d.cols[name] for d in self.ds]
        if self.span is not None:
            return cols[0][self.span[0] : self.span[1]]
        if self.src is None:
            return cols[0][self.rec]
        out = np.empty(len(self.rec), cols[0].dtype)
        for j, at in self.groups:
            out[at] = cols[j][self.rec[at]]
        return out

    def frame(self, i: int) -> Frame:
        return self.ds[0 if self.src is None else int(self.src[i])].frame(int(self.rec[i]))


def _ramp(counts: np.ndarray) -> np.ndarray:
    """[0..c0-1, 0..c1-1, …] for the packets of each slow frame."""
    total = int(counts.sum())
    if not total:
        return np.zeros(0, np.int64)
    starts = np.cumsum(counts) - counts
    return np.arange(total) - np.repeat(starts, counts)


def iter_batches(paths: Iterable[str | os.PathLike] | str | os.PathLike, *, start_ns: int | None = None,
                 end_ns: int | None = None, batch_size: int = 1 << 16, progress: bool = False,
                 verify_checksums: bool = True) -> BatchStream:
    """Read captures (files/directories, as :func:`~sopkit.capture.readers.iter_frames`) as packet batches.

    Each batch holds the packets of at most ``batch_size`` consecutive frames (in the
    time-ordered merge of the files, ``start_ns <= ts < end_ns``), in the order
    :func:`~sopkit.capture.decode.iter_packets` yields them. The returned :class:`BatchStream`
    exposes reader statistics (``stats``), decoding counters (``decode_stats``) and how many
    frames took the compiled and the per-packet path.

    Each batch costs a little bookkeeping per open file, so with many files keep ``batch_size``
    large (the default); batch boundaries never change the packets or their order.
    """
    return BatchStream(paths, start_ns=start_ns, end_ns=end_ns, batch_size=batch_size, progress=progress,
                       verify_checksums=verify_checksums)


def concatenate(batches: Iterable[PacketBatch]) -> PacketBatch:
    """Join batches into one, renumbering ``tunnel`` indices into one shared tunnel list."""
    batches = list(batches)
    tunnels: dict = {}
    cols: dict[str, list[np.ndarray]] = {name: [] for name in FIELDS}
    for b in batches:
        for name in FIELDS:
            if name != "tunnel":
                cols[name].append(b.columns[name])
        remap = np.array([tunnels.setdefault(t, len(tunnels)) for t in b.tunnels] + [-1], np.int32)
        cols["tunnel"].append(remap[b.columns["tunnel"]])  # -1 picks the trailing -1
    out = PacketBatch({name: np.concatenate(c).astype(FIELDS[name], copy=False) if c else np.zeros(0, FIELDS[name])
                       for name, c in cols.items()})
    out.tunnels = list(tunnels)
    return out
