"""Open packet captures by content, and merge several into one time-ordered frame stream.

The format is recognised from the magic number, never from the file name: libpcap (µs and ns
magic, both byte orders), pcapng, and either of them gzip-compressed. The per-format readers live
in :mod:`sopkit.capture.pcap` and :mod:`sopkit.capture.pcapng` (see there why they are our own and
not dpkt's: dpkt 1.9.8 applies the first pcapng interface's timestamp resolution to all interfaces,
dpkt issue 681, and raises from its iterator on a file cut mid-record).
"""

from __future__ import annotations

import gzip
import heapq
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from sopkit.capture.packet import Frame
from sopkit.capture.pcap import MAGICS, PcapReader, is_pcap
from sopkit.capture.pcapng import PcapngReader, is_pcapng
from sopkit.capture.stats import CaptureStats
from sopkit.errors import CaptureError

GZIP_MAGIC = b"\x1f\x8b"


def sniff(path: str | os.PathLike) -> str | None:
    """Return "pcap", "pcapng", "pcap+gzip" or "pcapng+gzip" from the file's first bytes, or None."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
            if head[:2] == GZIP_MAGIC:
                fh.seek(0)
                try:
                    with gzip.GzipFile(fileobj=fh) as gz:
                        inner = gz.read(4)
                except (OSError, EOFError):
                    return None
                kind = _kind(inner)
                return f"{kind}+gzip" if kind else None
            return _kind(head)
    except OSError:
        return None


def _kind(head: bytes) -> str | None:
    if is_pcapng(head):
        return "pcapng"
    if is_pcap(head):
        return "pcap"
    return None


class CaptureReader:
    """An open capture file: iterate for :class:`Frame` objects; ``stats`` reports what was read.

    Iterating reads the file once, from start to end, and closes it; ``position`` is the number of
    bytes of the (possibly compressed) file consumed so far, for progress bars.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = str(path)
        self.stats = CaptureStats(path=self.path)
        try:
            self._raw: BinaryIO = open(path, "rb")
        except OSError as exc:
            raise CaptureError(f"{path}: cannot open capture ({exc.strerror or exc})") from exc
        try:
            self.size = os.fstat(self._raw.fileno()).st_size
            head = self._raw.read(4)
            self._raw.seek(0)
            fh: BinaryIO = self._raw
            suffix = ""
            if head[:2] == GZIP_MAGIC:
                fh = gzip.GzipFile(fileobj=self._raw)  # type: ignore[assignment]
                suffix = "+gzip"
                try:
                    head = fh.peek(4)[:4]  # type: ignore[attr-defined]
                except (OSError, EOFError) as exc:
                    raise CaptureError(f"{path}: gzip file is damaged ({exc})") from exc
            self._fh = fh
            if is_pcapng(head):
                self.stats.format = "pcapng" + suffix
                self._reader: PcapReader | PcapngReader = PcapngReader(fh, self.path, self.stats)
            elif is_pcap(head):
                ns = MAGICS[int.from_bytes(head[:4], "little")][1]
                self.stats.format = ("pcap-ns" if ns else "pcap") + suffix
                self._reader = PcapReader(fh, self.path, self.stats)
            else:
                what = "gzip data starting" if suffix else "file starts"
                raise CaptureError(
                    f"{path}: not a packet capture ({what} with bytes {head.hex() or '(empty file)'}; "
                    "expected a pcap or pcapng magic number)"
                )
        except BaseException:
            self._raw.close()
            raise

    @property
    def linktypes(self) -> set[int]:
        """Link types declared so far (pcap: at open; pcapng: as interface blocks are read)."""
        return self.stats.linktypes

    @property
    def position(self) -> int:
        """Bytes of the file on disk consumed so far (compressed bytes for gzip files)."""
        try:
            return self._raw.tell()
        except (OSError, ValueError):
            return self.size

    def __iter__(self) -> Iterator[Frame]:
        try:
            yield from self._reader
        except (OSError, EOFError) as exc:  # gzip stream damage surfaces here
            self.stats.warnings.append(f"{self.path}: read error after {self.stats.records} records: {exc}")
        finally:
            self.close()

    def close(self) -> None:
        self._fh.close()
        self._raw.close()

    def __enter__(self) -> CaptureReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_capture(path: str | os.PathLike) -> CaptureReader:
    """Open one capture file, detecting pcap/pcapng (optionally gzipped) from its magic number.

    Raises :class:`~sopkit.errors.CaptureError` naming the file and its first bytes when it is not
    a capture.
    """
    return CaptureReader(path)


def find_captures(paths: Iterable[str | os.PathLike] | str | os.PathLike) -> tuple[list[Path], list[str]]:
    """Expand files and directories (recursively) into capture files recognised by magic number.

    Returns (captures, rejected) where rejected lists "path: reason" for files that were skipped.
    An explicitly named file that is not a capture is rejected too, not fatal.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    found: list[Path] = []
    rejected: list[str] = []
    for p in map(Path, paths):
        if p.is_dir():
            candidates = sorted(q for q in p.rglob("*") if q.is_file())
        elif p.exists():
            candidates = [p]
        else:
            rejected.append(f"{p}: no such file or directory")
            continue
        for q in candidates:
            if sniff(q):
                found.append(q)
            else:
                rejected.append(f"{q}: not a pcap/pcapng capture (by magic number)")
    return found, rejected


def open_captures(paths: Iterable[str | os.PathLike] | str | os.PathLike) -> tuple[list[CaptureReader], list[str]]:
    """Open every capture among ``paths`` (see :func:`find_captures`): (readers, rejected "path: reason")."""
    files, rejected = find_captures(paths)
    readers: list[CaptureReader] = []
    for f in files:
        try:
            readers.append(open_capture(f))
        except CaptureError as exc:
            rejected.append(str(exc))
    return readers, rejected


def total_stats(readers: Iterable[CaptureReader]) -> CaptureStats:
    """The readers' statistics added up (for multi-file totals)."""
    readers = list(readers)
    total = CaptureStats(path=f"{len(readers)} files")
    for r in readers:
        total.merge(r.stats)
    return total


class CaptureStream:
    """Base of the merged streams over several captures: opens them (``readers``, one
    :class:`CaptureReader` each, and ``rejected``, files found in directories that were not
    captures), keeps the time window and progress flag, totals the readers' statistics, and
    iterates what :meth:`_items` yields (started on the first ``next``)."""

    def __init__(
        self,
        paths: Iterable[str | os.PathLike] | str | os.PathLike,
        *,
        start_ns: int | None = None,
        end_ns: int | None = None,
        progress: bool = False,
    ) -> None:
        self.readers, self.rejected = open_captures(paths)
        self.start_ns = start_ns
        self.end_ns = end_ns
        self.progress = progress
        self._gen: Iterator | None = None

    @property
    def stats(self) -> CaptureStats:
        """Totals over every file read so far (records, bytes, warnings, skipped blocks)."""
        return total_stats(self.readers)

    def _items(self) -> Iterator:
        raise NotImplementedError

    def __next__(self):  # each subclass yields its own item type
        if self._gen is None:
            self._gen = self._items()
        return next(self._gen)

    def __iter__(self):
        return self


class FrameStream(CaptureStream):
    """Several captures merged into one time-ordered :class:`Frame` stream (``heapq.merge`` on ts)."""

    def _items(self) -> Iterator[Frame]:
        return self._frames()

    def _frames(self) -> Iterator[Frame]:
        readers = self.readers
        if len(readers) == 1:
            stream: Iterator[Frame] = iter(readers[0])
        else:
            stream = heapq.merge(*readers, key=lambda f: f.ts_ns)
        lo, hi = self.start_ns, self.end_ns
        bar = None
        if self.progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=sum(r.size for r in readers), unit="B", unit_scale=True, desc="reading")
        done = 0
        try:
            for n, frame in enumerate(stream):
                if bar is not None and not n & 0x3FFF:
                    now = sum(r.position for r in readers)
                    bar.update(now - done)
                    done = now
                if lo is not None and frame.ts_ns < lo:
                    continue
                if hi is not None and frame.ts_ns >= hi:
                    # no early stop: files are time-ordered only as far as their writer kept them
                    continue
                yield frame
        finally:
            if bar is not None:
                bar.update(bar.total - done)
                bar.close()


def iter_frames(
    paths: Iterable[str | os.PathLike] | str | os.PathLike,
    *,
    start_ns: int | None = None,
    end_ns: int | None = None,
    progress: bool = False,
) -> FrameStream:
    """Read files and/or directories (recursively) as one time-ordered stream of frames.

    Returns a :class:`FrameStream` (an iterator of frames) whose ``rejected`` lists the files that
    were not captures and whose ``stats`` totals what each file's reader saw and skipped. Raises
    :class:`CaptureError` when not one readable capture is among ``paths``.
    ``start_ns``/``end_ns`` keep frames with ``start_ns <= ts_ns < end_ns``.
    """
    stream = FrameStream(paths, start_ns=start_ns, end_ns=end_ns, progress=progress)
    if not stream.readers:
        named = [str(paths)] if isinstance(paths, (str, os.PathLike)) else [str(p) for p in paths]
        why = "; ".join(stream.rejected) or "nothing given"
        raise CaptureError(f"no readable capture among {', '.join(named) or '(no paths)'}: {why}")
    return stream
