"""Syslog files (RFC 3164 "BSD" lines, rsyslog's RFC 3339 variant, and RFC 5424) into event rows.

Three header layouts are recognised, each by one RE2 pattern applied to a whole chunk at once
(:func:`sopkit.logs.source.extract`; Python's per-line ``re`` loop would be the bottleneck). RFC 3164
headers, by far the most common, are first read by the compiled scanner of
:mod:`sopkit.logs.fastsyslog`, which decides exactly as the pattern does; only the other lines go
through the patterns (``engine="regex"``: all of them). Extra columns come in a fixed order
(:data:`SYSLOG_COLUMNS`), whichever layout a file starts with.

* RFC 3164 — ``Nov 24 02:13:45 web01 sshd[23456]: message``: no year, no zone. The year is the
  ``year=`` argument, else derived from the file's modification time; a month that goes back by
  half a year or more (Dec → Jan) starts the next year, one that jumps forward by half a year or more
  (a late ``Dec 31`` line after ``Jan 1``) belongs to the previous year, smaller steps back are
  out-of-order lines of the same year. The zone is ``tz=`` (office zone). Both are recorded in
  :attr:`LogResult.assumptions`.
* RFC 3339 traditional layout (rsyslog ``RSYSLOG_FileFormat``) — ``2026-11-24T02:13:45.123+07:00
  web01 sshd[1]: message``: zone from the line, ``tz=`` when it has none.
* RFC 5424 — ``<34>1 2026-11-24T02:13:45Z web01 sshd 1 ID47 [sd] message``.

The tag (``program[pid]:``) follows rsyslog: the program is everything up to ``[`` or ``:`` (so
``sshd(pam_unix)`` and ``syslogd 1.4.1`` stay whole, as in loghub's Linux sample), at most 48
characters; a line without a tag keeps its whole text as the message.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from sopkit.errors import ParameterError
from sopkit.logs.schema import LogResult, conform
from sopkit.logs.source import (
    CHUNK_LINES,
    Chunk,
    ReadReport,
    civil_ns,
    clean_block,
    extract,
    frame_from_tables,
    hms_seconds,
    iter_blocks,
    localize,
    nonempty,
    repair_line,
    split_block,
    take,
    to_int,
)

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_PRI = r"(?:<(?P<pri>\d{1,3})>)?"
_TAG = r"(?:(?P<program>[^\s:\[][^:\[]{0,47}?)(?:\[(?P<pid>\d+)\])?:(?: |$))?(?P<message>.*)$"
RFC3164 = (r"^" + _PRI + r"(?P<mon>" + "|".join(MONTHS) + r") +(?P<day>\d{1,2}) "
           r"(?P<hh>\d\d):(?P<mi>\d\d):(?P<ss>\d\d) +(?P<host>\S+) +" + _TAG)
RFC3339 = (r"^" + _PRI + r"(?P<iso>\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?)(?P<zone>Z|[+-]\d\d:?\d\d)? +"
           r"(?P<host>\S+) +" + _TAG)
RFC5424 = (r"^<(?P<pri>\d{1,3})>(?P<ver>\d{1,2}) (?P<iso>-|\S+?)(?P<zone>Z|[+-]\d\d:\d\d)? (?P<host>\S+) "
           r"(?P<program>\S+) (?P<procid>\S+) (?P<msgid>\S+) "
           r"(?P<sd>-|(?:\[[^\]\"]*(?:\"(?:[^\"\\]|\\.)*\"[^\]\"]*)*\])+)(?: (?P<message>.*))?$")
NOT_SYSLOG = "not a syslog line (RFC 3164 or RFC 5424 header expected)"
ENGINES = ("auto", "compiled", "regex")
MAX_BLOCK = (1 << 31) - 1  #: Arrow int32 string offsets
#: extra columns in a fixed order, so the table's columns do not depend on which layout a chunk met first
SYSLOG_COLUMNS = ["line", "host", "program", "pid", "message", "raw", "syslog.facility", "syslog.severity",
                  "syslog.msgid", "syslog.sd"]

#: per-chunk hook adding format semantics (auth, iptables) to the parsed columns
Enricher = Callable[[dict[str, pa.Array]], dict[str, pa.Array]]


class YearTracker:
    """Assigns each RFC 3164 line a year offset from the file's first such line (see module doc)."""

    def __init__(self) -> None:
        self.ref: int | None = None  #: month of the current year's latest line
        self.offset = 0

    def offsets(self, months: np.ndarray) -> np.ndarray:
        """Year offsets for consecutive lines with these months (1–12); state carries to the next call."""
        out = np.empty(len(months), dtype=np.int64)
        starts = np.flatnonzero(np.r_[True, months[1:] != months[:-1]]) if len(months) else []
        ends = list(starts[1:]) + [len(months)]
        for a, b in zip(starts, ends, strict=True):
            month = int(months[a])
            if self.ref is None:
                self.ref = month
            step = month - self.ref
            if step <= -6:
                self.offset += 1
                self.ref = month
                out[a:b] = self.offset
            elif step >= 6:
                out[a:b] = self.offset - 1
            else:
                self.ref = max(self.ref, month)
                out[a:b] = self.offset
        return out


def _pri_columns(pri: pa.Array) -> dict[str, pa.Array]:
    code = to_int(pri)
    if code.null_count == len(code):
        return {}
    return {"syslog.facility": pc.divide(code, 8), "syslog.severity": pc.bit_wise_and(code, 7)}


def _common(g: dict[str, pa.Array], raw: pa.Array, numbers: np.ndarray) -> dict[str, pa.Array]:
    program = nonempty(pc.utf8_trim_whitespace(g["program"]))
    pid = pc.if_else(pc.match_substring_regex(g["pid"], r"^\d{1,18}$"), g["pid"], "")  # RFC 5424 PROCID: any token
    return {"line": pa.array(numbers), "host": g["host"], "program": program, "pid": to_int(pid),
            "message": pc.utf8_rtrim_whitespace(g["message"]), "raw": raw, **_pri_columns(g["pri"])}


class SyslogParser:
    """Parses one file chunk by chunk, then builds the event table (timestamps need the whole file)."""

    def __init__(self, path: Path, *, source: str, year: int | None, tz: str, enrich: Enricher | None,
                 engine: str = "auto") -> None:
        if engine not in ENGINES:
            raise ParameterError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
        self.path, self.source, self.year, self.tz, self.enrich = Path(path), source, year, tz, enrich
        self.report = ReadReport(str(path))
        self.tracker = YearTracker()
        self.tables: list[pa.Table] = []
        self.assumed_tz = False
        self.scanner = None
        if engine != "regex":
            try:
                from sopkit.logs import fastsyslog
            except ImportError as exc:  # numba missing: the regex path gives the same table, slower
                if engine == "compiled":
                    raise ParameterError(f"engine='compiled' needs numba ({exc})") from exc
            else:
                self.scanner = fastsyslog

    def feed_block(self, first: int, block: bytes, chunk_lines: int = CHUNK_LINES) -> None:
        """Parse a block of whole lines from line ``first``: RFC 3164 headers compiled, the rest by regex.

        A block with bad UTF-8 or NUL bytes goes the regex way whole, so the year tracker still
        sees every RFC 3164 line in file order.
        """
        if self.scanner is None or len(block) > MAX_BLOCK or not clean_block(block):
            numbers, lines = split_block(block, first, self.report)
            for k in range(0, len(lines), chunk_lines):
                self.feed(Chunk(numbers[k:k + chunk_lines], lines[k:k + chunk_lines]))
            return
        rows, g, parts, starts, ends = self.scanner.scan_block(block)
        if len(rows):
            months = parts[0].astype(np.int32)
            secs = parts[2] * 3600 + parts[3] * 60 + parts[4]
            ok = (parts[2] < 24) & (parts[3] < 60) & (parts[4] <= 60)
            cols = _common(g, g["raw"], rows + first)
            cols.update({"_mon": pa.array(months), "_day": pa.array(parts[1]), "_secs": pa.array(secs),
                         "_yoff": pa.array(self.tracker.offsets(months)), "_ok": pa.array(ok)})
            self._add(cols)
        left = np.ones(len(starts), dtype=bool)
        left[rows] = False
        slow = np.flatnonzero(left)
        lines = [repair_line(first + i, block[starts[i]:ends[i]], self.report) for i in slow.tolist()]
        for k in range(0, len(slow), chunk_lines):
            self.feed(Chunk(slow[k:k + chunk_lines] + first, lines[k:k + chunk_lines]))

    def feed(self, chunk: Chunk) -> None:
        """Parse one chunk: keep matched rows as an Arrow table, reject the rest with a reason."""
        lines = pa.array(chunk.lines, pa.string())
        numbers = chunk.numbers
        left = np.ones(len(lines), dtype=bool)
        g, hit = extract(lines, RFC3164)
        if hit.any():
            g = {k: take(v, hit) for k, v in g.items()}
            months = pc.index_in(g["mon"], pa.array(MONTHS)).to_numpy(zero_copy_only=False) + 1
            secs, ok = hms_seconds(g["hh"], g["mi"], g["ss"])
            cols = _common(g, take(lines, hit), numbers[hit])
            cols.update({"_mon": pa.array(months), "_day": pc.cast(g["day"], pa.int64()), "_secs": pa.array(secs),
                         "_yoff": pa.array(self.tracker.offsets(months)), "_ok": pa.array(ok)})
            self._add(cols)
            left &= ~hit
        for pattern in (RFC3339, RFC5424):
            if not left.any():
                break
            sub = take(lines, left)
            g, hit = extract(sub, pattern)
            if not hit.any():
                continue
            idx = np.flatnonzero(left)[hit]
            left[idx] = False
            nil = np.asarray(pc.equal(take(g["iso"], hit), "-").to_numpy(zero_copy_only=False), dtype=bool)
            for i in idx[nil]:
                self.report.reject(int(numbers[i]), "RFC 5424 line without a timestamp (NILVALUE)", chunk.lines[i])
            hit[np.flatnonzero(hit)[nil]] = False
            idx = idx[~nil]
            if not len(idx):
                continue
            g = {k: take(v, hit) for k, v in g.items()}
            cols = _common({**g, "pid": g.get("pid", g.get("procid")),
                            "program": pc.if_else(pc.equal(g["program"], "-"), "", g["program"]),
                            "message": pc.utf8_ltrim(pc.if_else(pc.is_null(g["message"]), "", g["message"]),
                                                     characters="\ufeff")}, take(sub, hit), numbers[idx])
            if "ver" in g:
                cols["pid"] = to_int(pc.if_else(pc.match_substring_regex(g["procid"], r"^\d+$"), g["procid"], ""))
                cols["syslog.msgid"] = pc.if_else(pc.equal(g["msgid"], "-"), pa.scalar(None, pa.string()), g["msgid"])
                cols["syslog.sd"] = pc.if_else(pc.equal(g["sd"], "-"), pa.scalar(None, pa.string()), g["sd"])
            cols.update(self._iso_ns(g["iso"], g["zone"]))
            self._add(cols)
        for i in np.flatnonzero(left):
            text = chunk.lines[i]
            self.report.reject(int(numbers[i]), "empty line" if not text.strip() else NOT_SYSLOG, text)

    def _iso_ns(self, iso: pa.Array, zone: pa.Array) -> dict[str, pa.Array]:
        """UTC nanoseconds for RFC 3339 times; the ones without an offset are taken in ``tz``."""
        text = pd.Series(iso.to_pylist(), dtype=object).str.replace(" ", "T", n=1)
        zones = pd.Series(zone.to_pylist(), dtype=object).fillna("")
        ns = np.full(len(text), np.iinfo(np.int64).min, dtype=np.int64)
        has = (zones != "").to_numpy()
        if has.any():
            aware = pd.to_datetime(text[has] + zones[has], format="ISO8601", utc=True, errors="coerce")
            ns[has] = aware.dt.tz_localize(None).to_numpy("datetime64[ns]").astype(np.int64)
        if (~has).any():
            self.assumed_tz = True
            naive = pd.to_datetime(text[~has], format="ISO8601", errors="coerce")
            vals = naive.to_numpy().astype("datetime64[ns]").astype(np.int64)
            good = ~naive.isna().to_numpy()
            out = np.full(len(vals), np.iinfo(np.int64).min, dtype=np.int64)
            out[good] = localize(vals[good], self.tz)
            ns[~has] = out
        return {"_utc": pa.array(ns), "_ok": pa.array(ns != np.iinfo(np.int64).min)}

    def _add(self, cols: dict[str, pa.Array]) -> None:
        if self.enrich is not None:
            cols = self.enrich(cols)
        self.tables.append(pa.table(cols))

    def finish(self) -> LogResult:
        """Event table with UTC timestamps, the rejections, and the year/zone assumed."""
        df = frame_from_tables(self.tables)
        assumptions: dict[str, object] = {}
        if df.empty:
            events = conform(df)
        else:
            ts = np.full(len(df), np.iinfo(np.int64).min, dtype=np.int64)

            def ints(name: str) -> np.ndarray:  # numpy, not .loc: no pandas take per internal column
                return df[name].to_numpy(dtype=np.int64, na_value=0)

            if "_utc" in df:
                has = df["_utc"].notna().to_numpy()
                ts[has] = ints("_utc")[has]
            if "_mon" in df and df["_mon"].notna().any():
                bsd = df["_mon"].notna().to_numpy()
                base, how = self._base_year()
                assumptions.update({"year": base, "year_from": how})
                yoff = ints("_yoff")[bsd]
                if len(np.unique(yoff)) > 1:
                    assumptions["year_last"] = base + int(yoff.max())
                naive, ok = civil_ns(base + yoff, ints("_mon")[bsd], ints("_day")[bsd], ints("_secs")[bsd])
                utc = np.full(len(naive), np.iinfo(np.int64).min, dtype=np.int64)
                utc[ok] = localize(naive[ok], self.tz)
                ts[bsd] = utc
                self.assumed_tz = True
            bad = (ts == np.iinfo(np.int64).min) | ~df["_ok"].to_numpy(dtype=bool)
            if bad.any():
                for line, raw in zip(df.loc[bad, "line"], df.loc[bad, "raw"], strict=True):
                    self.report.reject(int(line), "invalid date or time (or not valid in the zone)", raw)
                df = df.loc[~bad]
            df = df.drop(columns=[c for c in df if c.startswith("_")])
            df["ts"] = pd.to_datetime(ts[~bad], unit="ns", utc=True)
            df["source"] = self.source
            df["file"] = str(self.path)
            df = df[[c for c in SYSLOG_COLUMNS if c in df] + [c for c in df if c not in SYSLOG_COLUMNS]]
            if not df["line"].is_monotonic_increasing:
                df = df.sort_values("line", kind="stable")
            events = conform(df.reset_index(drop=True))
        if self.assumed_tz:
            assumptions["tz"] = self.tz
        self.report.rejects.sort(key=lambda r: r[0])
        return LogResult(events, self.report.rejections(), assumptions, {str(self.path): self.source})

    def _base_year(self) -> tuple[int, str]:
        """Year of the first RFC 3164 line's offset 0: the argument, or from the file's mtime."""
        if self.year is not None:
            return int(self.year), "argument"
        mtime = dt.datetime.fromtimestamp(os.path.getmtime(self.path), dt.timezone.utc)
        last = mtime.year if (self.tracker.ref or 1) <= mtime.month else mtime.year - 1
        return last - self.tracker.offset, "file modification time"


def read_syslog(path: Path, *, year: int | None = None, tz: str = "Asia/Jakarta", progress: bool = False,
                chunk_lines: int = CHUNK_LINES, source: str = "syslog", enrich: Enricher | None = None,
                engine: str = "auto") -> LogResult:
    """Read a syslog file (RFC 3164, RFC 3339 layout, RFC 5424; plain or gzip) into the event table.

    ``year``/``tz`` apply to lines that lack them (see module doc); ``source`` and ``enrich`` let
    the auth and iptables readers reuse this parser and add their semantics chunk by chunk.
    ``engine``: ``auto`` (RFC 3164 headers by the compiled scanner of :mod:`sopkit.logs.fastsyslog`
    when numba is importable), ``compiled`` (that or a :class:`ParameterError`), ``regex`` (RE2
    only); all give the same table and rejections.
    """
    parser = SyslogParser(Path(path), source=source, year=year, tz=tz, enrich=enrich, engine=engine)
    for first, block in iter_blocks(Path(path), parser.report, progress):
        parser.feed_block(first, block, chunk_lines)
    return parser.finish()
