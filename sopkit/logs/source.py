"""Open a log file whatever its wrapping: plain or gzip (by magic number), any line ending, bad UTF-8.

Readers get the file as *chunks* of decoded lines (so a file larger than memory is never held whole)
and a :class:`ReadReport` that counts what needed repair, so that nothing is lost silently: invalid
UTF-8 bytes are kept as ``\\xNN`` escapes and counted, NUL-laden binary junk lines are rejected with
their line numbers. A chunk is decoded in one ``bytes.decode`` + ``str.split`` when it is clean UTF-8
without NULs (the common case, and the reason for reading by blocks rather than by line); only blocks
with damage fall back to line-by-line repair. Readers that scan bytes themselves (the compiled
access and syslog scanners) take the blocks undecoded from :func:`iter_blocks` and use
:func:`repair_line` for the lines they leave to the regex path.

:func:`extract` and friends are the small vectorized toolkit the readers share: one RE2 pattern
applied to a whole chunk with :func:`pyarrow.compute.extract_regex`.
"""

from __future__ import annotations

import gzip
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from tqdm.auto import tqdm

from sopkit.errors import LogFormatError
from sopkit.logs.schema import Rejection

GZIP_MAGIC = b"\x1f\x8b"
BLOCK_BYTES = 8 << 20  #: bytes decoded at once
READ_BYTES = 1 << 20  #: bytes asked of the (possibly gzip) stream per read, so a cut stream loses little
CHUNK_LINES = 200_000  #: default lines handed to a reader at once


@dataclass
class ReadReport:
    """What a reader met while reading one file."""

    path: str
    lines: int = 0
    invalid_utf8: int = 0  #: lines whose invalid bytes were kept as ``\\xNN`` escapes
    rejects: list[tuple[int, str, str]] = field(default_factory=list)  #: (line number, reason, raw text)

    def reject(self, line_no: int, reason: str, raw: str) -> None:
        """Record a line that could not become an event."""
        self.rejects.append((line_no, reason, raw[:2000]))

    def rejections(self) -> list[Rejection]:
        """The rejects as schema :class:`Rejection` records."""
        return [Rejection(self.path, n, why, raw) for n, why, raw in self.rejects]


@dataclass
class Chunk:
    """Consecutive lines of one file: their 1-based numbers and their decoded text (no line endings)."""

    numbers: np.ndarray
    lines: list[str]


def open_binary(path: Path) -> io.BufferedIOBase:
    """Open ``path`` for reading bytes, transparently un-gzipping by magic number, not extension."""
    path = Path(path)
    try:
        fh = open(path, "rb")
    except FileNotFoundError as exc:
        raise LogFormatError(f"{path}: file not found") from exc
    except IsADirectoryError as exc:
        raise LogFormatError(f"{path}: is a directory, not a log file") from exc
    except OSError as exc:
        raise LogFormatError(f"{path}: cannot open ({exc.strerror or exc})") from exc
    if fh.peek(2)[:2] == GZIP_MAGIC:
        return gzip.GzipFile(fileobj=fh)  # type: ignore[return-value]
    return fh


def read_head(path: Path, size: int = 65536) -> bytes:
    """The first ``size`` bytes of ``path`` (after un-gzipping), for format sniffing."""
    with open_binary(path) as fh:
        try:
            return fh.read(size)
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise LogFormatError(f"{path}: unreadable from the start ({type(exc).__name__}: {exc})") from exc


def _blocks(fh: io.BufferedIOBase, report: ReadReport, bar: tqdm | None, raw_fh) -> Iterator[bytes]:
    """Blocks of whole lines (each ending with ``\\n`` except perhaps the file's last).

    A cut or corrupt gzip stream ends the file: every whole line read so far is yielded, and the
    partial line at the cut is recorded as a rejection (its number is fixed up by the caller).
    """
    rest = b""
    buf: list[bytes] = []
    size = 0
    error = None
    while error is None:
        try:
            piece = fh.read1(READ_BYTES)  # read1: a cut gzip stream loses only its last buffer
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            piece, error = b"", f"file unreadable from here ({type(exc).__name__}: {exc})"
        if bar is not None:
            bar.update(raw_fh.tell() - bar.n)
        buf.append(piece)
        size += len(piece)
        done = not piece
        if size >= BLOCK_BYTES or done:
            pieces = [rest, *buf]
            buf, size = [], 0
            if done and error is None:
                block, rest = b"".join(pieces), b""
            else:  # cut after the last newline, joining each byte once (not join, then slice)
                k = len(pieces) - 1
                while k >= 0 and pieces[k].rfind(b"\n") < 0:
                    k -= 1
                if k < 0:
                    block, rest = b"", b"".join(pieces)
                else:
                    cut = pieces[k].rfind(b"\n") + 1
                    block = b"".join([*pieces[:k], pieces[k][:cut]])
                    rest = b"".join([pieces[k][cut:], *pieces[k + 1:]])
            if block:
                yield block
            if done:
                break
    if error is not None:
        report.reject(-1, error, rest.decode("utf-8", errors="backslashreplace"))


def repair_line(number: int, raw: bytes, report: ReadReport) -> str | None:
    """One damaged line's text: ``None`` (and a rejection) for NUL bytes, ``\\xNN`` escapes for bad UTF-8."""
    raw = raw.rstrip(b"\r")
    if b"\x00" in raw:
        report.reject(number, "binary data (NUL bytes)", raw.decode("latin-1"))
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        report.invalid_utf8 += 1
        return raw.decode("utf-8", errors="backslashreplace")


def clean_block(block: bytes) -> bool:
    """Whether ``block`` is valid UTF-8 without NUL bytes (then every line decodes as it is)."""
    if b"\x00" in block:
        return False
    try:
        block.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def split_block(block: bytes, first: int, report: ReadReport) -> tuple[np.ndarray, list[str]]:
    """Decode one block into lines; the slow path repairs bad UTF-8 and rejects NUL lines."""
    if block.endswith(b"\n"):
        block = block[:-1]
    if b"\x00" not in block:
        try:
            text = block.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if text is not None:
            lines = text.split("\n")
            if "\r" in text:
                lines = [ln.rstrip("\r") for ln in lines]
            return np.arange(first, first + len(lines), dtype=np.int64), lines
    numbers, lines = [], []
    for number, raw in enumerate(block.split(b"\n"), start=first):
        text = repair_line(number, raw, report)
        if text is not None:
            numbers.append(number)
            lines.append(text)
    return np.asarray(numbers, dtype=np.int64), lines


def iter_blocks(path: Path, report: ReadReport, progress: bool = False) -> Iterator[tuple[int, bytes]]:
    """Yield ``(number of the block's first line, block)`` for blocks of whole lines of ``path``.

    For readers that scan bytes themselves (:mod:`sopkit.logs.fastaccess`); ``report.lines`` is
    kept as :func:`iter_chunks` keeps it, and a cut gzip stream is recorded the same way.
    """
    path = Path(path)
    with open_binary(path) as fh:
        raw_fh = getattr(fh, "fileobj", None) or fh
        bar = tqdm(total=os.path.getsize(path), unit="B", unit_scale=True, desc=path.name,
                   disable=not progress) if progress else None
        try:
            for block in _blocks(fh, report, bar, raw_fh):
                first = report.lines + 1
                report.lines += block.count(b"\n") + (0 if block.endswith(b"\n") else 1)
                yield first, block
        finally:
            if bar is not None:
                bar.close()
    report.rejects = [(report.lines + 1 if n == -1 else n, why, raw) for n, why, raw in report.rejects]


def iter_chunks(path: Path, report: ReadReport, chunk_lines: int = CHUNK_LINES,
                progress: bool = False) -> Iterator[Chunk]:
    """Yield the lines of ``path`` as :class:`Chunk` s of at most ``chunk_lines`` lines.

    ``report.lines`` ends as the number of lines in the file; a cut gzip stream is recorded as a
    rejection at the line where reading stopped, and every line before it is still yielded.
    """
    for first, block in iter_blocks(path, report, progress):
        numbers, lines = split_block(block, first, report)
        for start in range(0, len(lines), chunk_lines):
            yield Chunk(numbers[start:start + chunk_lines], lines[start:start + chunk_lines])


def iter_lines(path: Path, report: ReadReport) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, text)`` for every line of ``path`` (1-based), without line endings."""
    for chunk in iter_chunks(path, report):
        yield from zip(chunk.numbers.tolist(), chunk.lines, strict=True)


# --- vectorized helpers shared by the readers ------------------------------------------------------

def extract(strings: pa.Array, pattern: str) -> tuple[dict[str, pa.Array], np.ndarray]:
    """Apply one RE2 ``pattern`` with named groups to every string; ``(groups, matched mask)``.

    Groups of rows that did not match are null; an optional group that did not take part is ``""``.
    """
    st = pc.extract_regex(strings, pattern)
    valid = st.is_valid()
    mask = np.asarray(valid.to_numpy(zero_copy_only=False), dtype=bool)
    groups = {st.type.field(i).name: pc.if_else(valid, st.field(i), None) for i in range(st.type.num_fields)}
    return groups, mask


def nonempty(arr: pa.Array) -> pa.Array:
    """``""`` → null (optional regex groups that did not take part)."""
    return pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)


def to_int(arr: pa.Array) -> pa.Array:
    """Digits → int64; empty, ``-`` or null → null."""
    arr = nonempty(arr)
    arr = pc.if_else(pc.equal(arr, "-"), pa.scalar(None, pa.string()), arr)
    return pc.cast(arr, pa.int64())


def take(arr: pa.Array, mask: np.ndarray) -> pa.Array:
    """Rows of ``arr`` where ``mask`` is true."""
    return arr.filter(pa.array(mask))


def civil_ns(year: np.ndarray, month: np.ndarray, day: np.ndarray, seconds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Wall-clock parts → ``(int64 nanoseconds since 1970 as if UTC, valid mask)``, vectorized.

    Invalid dates (``Feb 30``, month 13) are flagged invalid rather than rolled over.
    """
    year, month, day = (np.asarray(a, dtype=np.int64) for a in (year, month, day))
    ok = (month >= 1) & (month <= 12) & (day >= 1) & (day <= 31) & (year >= 1678) & (year <= 2261)
    months = np.where(ok, (year - 1970) * 12 + month - 1, 0).astype("datetime64[M]")
    days = months.astype("datetime64[D]") + np.where(ok, day - 1, 0)
    ok &= days.astype("datetime64[M]") == months
    ns = days.astype("datetime64[ns]").astype(np.int64) + np.asarray(seconds, dtype=np.int64) * 1_000_000_000
    return ns, ok


def hms_seconds(hh: pa.Array, mi: pa.Array, ss: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """``HH``, ``MM``, ``SS`` digit strings → (seconds of day, valid mask); ``:60`` leap seconds allowed."""
    h, m, s = (pc.cast(a, pa.int64()).to_numpy(zero_copy_only=False) for a in (hh, mi, ss))
    return h * 3600 + m * 60 + s, (h < 24) & (m < 60) & (s <= 60)


def localize(naive_ns: np.ndarray, zone: str) -> np.ndarray:
    """Local wall-clock nanoseconds in ``zone`` → UTC nanoseconds; NaT (int64 min) where nonexistent/ambiguous."""
    from sopkit.timezones import resolve_zone

    info = resolve_zone(zone)[1]
    idx = pd.DatetimeIndex(np.asarray(naive_ns, dtype=np.int64).view("datetime64[ns]"))
    return idx.tz_localize(info.key, ambiguous="NaT", nonexistent="NaT").tz_convert("UTC").asi8


def _pandas_type(t: pa.DataType):
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return pd.StringDtype("pyarrow")
    if pa.types.is_integer(t):
        return pd.Int64Dtype()
    return None


def frame_from_tables(tables: list[pa.Table]) -> pd.DataFrame:
    """Concatenate per-chunk Arrow tables (columns may differ: missing ones become null) into pandas."""
    tables = [t for t in tables if t.num_rows]
    if not tables:
        return pd.DataFrame()
    table = pa.concat_tables(tables, promote_options="default")
    return table.to_pandas(types_mapper=_pandas_type)
