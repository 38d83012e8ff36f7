"""Open a log file whatever its wrapping: plain or gzip (by magic number), any line ending, bad UTF-8.

Readers get ``(line_number, text)`` pairs and a :class:`ReadReport` that counts what needed repair,
so that nothing is lost silently: invalid UTF-8 bytes are kept as ``\\xNN`` escapes and counted,
NUL-laden binary junk lines are rejected with their line numbers.
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sopkit.errors import LogFormatError

GZIP_MAGIC = b"\x1f\x8b"


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


def open_binary(path: Path) -> io.BufferedIOBase:
    """Open ``path`` for reading bytes, transparently un-gzipping by magic number, not extension."""
    path = Path(path)
    try:
        fh = open(path, "rb")
    except FileNotFoundError as exc:
        raise LogFormatError(f"{path}: file not found") from exc
    except IsADirectoryError as exc:
        raise LogFormatError(f"{path}: is a directory, not a log file") from exc
    if fh.peek(2)[:2] == GZIP_MAGIC:
        return gzip.GzipFile(fileobj=fh)  # type: ignore[return-value]
    return fh


def iter_lines(path: Path, report: ReadReport) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, text)`` for every line of ``path`` (1-based), without line endings."""
    with open_binary(path) as fh:
        try:
            for number, raw in enumerate(fh, start=1):
                report.lines = number
                raw = raw.rstrip(b"\r\n")
                if b"\x00" in raw:
                    report.reject(number, "binary data (NUL bytes)", raw.decode("latin-1"))
                    continue
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError:
                    text = raw.decode("utf-8", errors="backslashreplace")
                    report.invalid_utf8 += 1
                yield number, text
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            # a cut or corrupt gzip stream: keep every line read so far and say where it stopped
            report.reject(report.lines + 1, f"file unreadable from here ({type(exc).__name__}: {exc})", "")
