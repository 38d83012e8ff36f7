"""Apache/Nginx access logs (combined, common, vhost_combined, or any Apache ``LogFormat``) into events.

A ``LogFormat`` string (``%h %l %u %t \\"%r\\" %>s %b``) is compiled once, from the declarative
:data:`DIRECTIVES` table, into an element list and two patterns:

* the elements drive the compiled scanner of :mod:`sopkit.logs.fastaccess` (numba), which reads
  blocks of bytes straight into Arrow columns (≥ 500k lines/s on one core) and hands every line it
  cannot decide exactly as the strict pattern would to the two paths below (``engine="regex"``
  skips it; the table is the same either way);
* a *strict* RE2 pattern run over a whole chunk with :func:`pyarrow.compute.extract_regex`, where
  quoted fields follow Apache's escaping (``\\"`` and ``\\\\`` inside quotes) and the time is split into
  its parts so it converts to UTC with integer arithmetic;
* a *lenient* Python pattern, used line by line only for lines the strict one refused, where quoted
  fields are greedy so unescaped quotes in attack traffic (``"GET /?q=" OR 1=1 HTTP/1.1"``) still
  parse up to the last ``"`` that is followed by the rest of the format. Lines neither pattern takes
  are rejected with their number and the reason.

Attacker-controlled fields (URL, user agent, referrer) are kept verbatim apart from undoing
Apache's ``\\"``/``\\\\`` escapes. ``format="auto"`` tries combined, then common, then vhost_combined.
A numeric field that does not fit an int64 rejects its line (with the reason) rather than the read.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from sopkit.errors import LogFormatError, ParameterError
from sopkit.logs.schema import EVENT_DTYPES, LogResult, conform
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
    nonempty,
    repair_line,
    split_block,
    take,
    to_int,
)

FORMATS = {
    "combined": '%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i"',
    "common": '%h %l %u %t "%r" %>s %b',
    "vhost_combined": '%v:%p %h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i"',
}
AUTO = ("combined", "common", "vhost_combined")
#: directive → (column, unquoted value pattern); quoted directives take any escaped text
DIRECTIVES: dict[str, tuple[str, str]] = {
    "h": ("src_ip", r"\S+"), "a": ("src_ip", r"\S+"), "{c}a": ("src_ip", r"\S+"), "A": ("dst_ip", r"\S+"),
    "l": ("access.ident", r"\S+"), "u": ("user", r"\S+"), "r": ("request", r"\S+"),
    "s": ("http_status", r"\d{3}"), ">s": ("http_status", r"\d{3}"), "<s": ("http_status", r"\d{3}"),
    "b": ("bytes", r"\d+|-"), "B": ("bytes", r"\d+"), "O": ("bytes", r"\d+|-"), "I": ("access.bytes_in", r"\d+|-"),
    "v": ("host", r"\S+"), "V": ("host", r"\S+"), "p": ("dst_port", r"\d+"), "{canonical}p": ("dst_port", r"\d+"),
    "{local}p": ("dst_port", r"\d+"), "{remote}p": ("src_port", r"\d+"), "D": ("access.duration_us", r"\d+"),
    "T": ("access.duration_s", r"\d+"), "m": ("http_method", r"\S+"), "U": ("url", r"\S+"),
    "q": ("access.query", r"\S*"), "H": ("access.protocol", r"\S+"),
    "{referer}i": ("access.referrer", r"\S+"), "{user-agent}i": ("user_agent", r"\S+"),
}
INT_COLUMNS = {"http_status", "bytes", "access.bytes_in", "dst_port", "src_port", "access.duration_us",
               "access.duration_s"}
ESCAPED_COLUMNS = ("url", "user", "access.referrer", "user_agent", "request")
NULLABLE_COLUMNS = ("user", "access.ident", "access.referrer", "user_agent")  #: ``-`` or empty → null
ENGINES = ("auto", "compiled", "regex")
_TIME_STRICT = (r"\[(?P<tD>\d{1,2})/(?P<tM>[A-Z][a-z]{2})/(?P<tY>\d{4}):(?P<th>\d\d):(?P<tm>\d\d):(?P<ts>\d\d)"
                r" (?P<tz>[+-]\d{4})\]")
_QUOTED_STRICT = r'(?:[^"\\]|\\.)*'
_TOKEN = re.compile(r"%(?:[<>])?(?:\{[^}]*\})?[a-zA-Z%]")
_SPECIAL = set(".^$*+?()[]{}|\\")
REQUEST = r"^(?P<method>[A-Z][A-Z0-9_-]*) (?P<url>.*?)(?: (?P<protocol>HTTP/\d(?:\.\d)?))?$"
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
COLUMNS = ["ts", "line", "src_ip", "user", "method", "url", "protocol", "status", "bytes", "referrer",
           "user_agent", "raw"]


def _escape(text: str) -> str:
    return "".join("\\" + c if c in _SPECIAL else c for c in text)


class LogFormat:
    """One Apache ``LogFormat`` compiled into a strict (RE2) and a lenient (Python ``re``) pattern."""

    def __init__(self, spec: str) -> None:
        self.spec = FORMATS.get(spec, spec)
        self.name = spec if spec in FORMATS else f"LogFormat {spec!r}"
        strict, lenient, self.columns = ["^"], ["^"], {}
        #: the format as a sequence of ("lit", text) / ("time", "") / (group, value pattern or "quoted"),
        #: for the compiled scanner (:mod:`sopkit.logs.fastaccess`)
        self.elements: list[tuple[str, str]] = []
        pos = 0
        for m in _TOKEN.finditer(self.spec):
            lit = self.spec[pos:m.start()].replace('\\"', '"')
            strict.append(_escape(lit))
            lenient.append(re.escape(lit))
            self.elements.append(("lit", lit))
            pos = m.end()
            token = m.group()[1:]
            quoted = lit.endswith('"') and self.spec[pos:pos + 2].lstrip("\\").startswith('"')
            if token == "%":
                strict.append("%")
                lenient.append("%")
                self.elements.append(("lit", "%"))
                continue
            if token.lstrip("<>") == "t":
                strict.append(_TIME_STRICT)
                lenient.append(r"\[(?P<time>[^\]]+)\]")
                self.elements.append(("time", ""))
                continue
            column, value = DIRECTIVES.get(token.lstrip("<>").lower() if token.startswith("{") or "}" in token
                                           else token, (None, r"\S+"))
            group = f"g{len(self.columns)}"
            if column is None or column in self.columns.values():
                column = f"access.{re.sub(r'[^A-Za-z0-9]+', '_', token).strip('_').lower()}"
            self.columns[group] = column
            strict.append(f"(?P<{group}>{_QUOTED_STRICT if quoted else value})")
            lenient.append(f"(?P<{group}>{'.*' if quoted else value})")
            self.elements.append((group, "quoted" if quoted else value))
        lit = self.spec[pos:].replace('\\"', '"')
        self.elements.append(("lit", lit))
        strict.append(_escape(lit) + r"\s*$")
        lenient.append(re.escape(lit) + r"\s*$")
        self.strict = "".join(strict)
        self.lenient = re.compile("".join(lenient))
        if "time" not in self.lenient.groupindex:
            raise LogFormatError(f"access log format {self.spec!r} has no %t time field: events need a time")


def _utc_ns(g: dict[str, pa.Array]) -> tuple[np.ndarray, np.ndarray]:
    month = pc.index_in(g["tM"], pa.array(MONTHS)).to_numpy(zero_copy_only=False)
    month = np.nan_to_num(np.asarray(month, dtype=float), nan=-1).astype(np.int64) + 1
    secs, ok_t = hms_seconds(g["th"], g["tm"], g["ts"])
    naive, ok = civil_ns(pc.cast(g["tY"], pa.int64()).to_numpy(), month,
                         pc.cast(g["tD"], pa.int64()).to_numpy(), secs)
    tz = pc.cast(pc.utf8_ltrim(g["tz"], characters="+"), pa.int64()).to_numpy()
    offset = np.sign(tz) * ((np.abs(tz) // 100) * 3600 + (np.abs(tz) % 100) * 60)
    return naive - offset * 1_000_000_000, ok & ok_t


def _bad_numbers(fmt: LogFormat, g: dict[str, pa.Array]) -> np.ndarray | None:
    """Per row, why a numeric field cannot be an int64 (more than 18 digits, or not digits in quotes), else None.

    Such a line is rejected with that reason rather than failing the whole read in the cast.
    """
    out = None
    for group, column in fmt.columns.items():
        if column not in INT_COLUMNS:
            continue
        good = np.asarray(pc.fill_null(pc.match_substring_regex(g[group], r"^(?:\d{1,18}|-)?$"), True)
                          .to_numpy(zero_copy_only=False), dtype=bool)
        if good.all():
            continue
        if out is None:
            out = np.full(len(good), None, dtype=object)
        out[~good & (out == None)] = f"{column} is not a number up to 18 digits"  # noqa: E711
    return out


def _columns(fmt: LogFormat, g: dict[str, pa.Array]) -> dict[str, pa.Array]:
    cols: dict[str, pa.Array] = {}
    for group, column in fmt.columns.items():
        arr = g[group]
        cols[column] = to_int(arr) if column in INT_COLUMNS else arr
    for name in NULLABLE_COLUMNS:
        if name in cols:
            cols[name] = pc.if_else(pc.equal(cols[name], "-"), pa.scalar(None, pa.string()), nonempty(cols[name]))
    for name in ESCAPED_COLUMNS:
        if name in cols and pc.any(pc.match_substring(cols[name], "\\")).as_py():
            cols[name] = pc.replace_substring_regex(cols[name], r'\\(["\\])', r"\1")
    if "request" in cols:
        request = pc.fill_null(cols.pop("request"), "")
        req, hit = extract(request, REQUEST)
        cols["http_method"] = req["method"]
        cols["url"] = pc.if_else(pa.array(hit), req["url"], request)
        cols["access.protocol"] = nonempty(req["protocol"])
    return cols


class AccessParser:
    """Parses one access log chunk by chunk (see module doc)."""

    def __init__(self, path: Path, spec: str = "auto", engine: str = "auto") -> None:
        if engine not in ENGINES:
            raise ParameterError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
        self.path = Path(path)
        self.formats = [LogFormat(s) for s in (AUTO if spec == "auto" else (spec,))]
        self.label = "combined/common" if spec == "auto" else self.formats[0].name
        self.report = ReadReport(str(path))
        self.tables: list[pa.Table] = []
        self.scanner = None if engine == "regex" else _scanner(self.formats, engine == "compiled")

    def feed_block(self, first: int, block: bytes, chunk_lines: int = CHUNK_LINES) -> None:
        """Parse one block of whole lines starting at line ``first``: compiled scanner, exact path for the rest."""
        if self.scanner is None:
            numbers, lines = split_block(block, first, self.report)
            for k in range(0, len(lines), chunk_lines):
                self.feed(Chunk(numbers[k:k + chunk_lines], lines[k:k + chunk_lines]))
            return
        force = None
        if not clean_block(block):
            body = block[:-1] if block.endswith(b"\n") else block
            force = np.fromiter((not clean_block(raw) for raw in body.split(b"\n")), dtype=bool)
        tables, slow, starts, ends = self.scanner.scan_block(block, first, force)
        self.tables.extend(tables)
        numbers, lines = [], []
        for i in slow.tolist():
            text = repair_line(first + i, block[starts[i]:ends[i]], self.report)
            if text is not None:
                numbers.append(first + i)
                lines.append(text)
        for k in range(0, len(lines), chunk_lines):
            self.feed(Chunk(np.asarray(numbers[k:k + chunk_lines], dtype=np.int64), lines[k:k + chunk_lines]))

    def feed(self, chunk: Chunk) -> None:
        """Strict patterns over the whole chunk, then the lenient one line by line for the rest."""
        lines = pa.array(chunk.lines, pa.string())
        left = np.ones(len(lines), dtype=bool)
        for fmt in self.formats:
            idx = np.flatnonzero(left)
            if not len(idx):
                break
            sub = lines if len(idx) == len(lines) else lines.take(pa.array(idx))
            g, hit = extract(sub, fmt.strict)
            if not hit.any():
                continue
            g = {k: take(v, hit) for k, v in g.items()}
            rows = idx[hit]
            raw = take(sub, hit)
            left[rows] = False
            bad = _bad_numbers(fmt, g)
            if bad is not None:
                for r, why in zip(rows[bad.nonzero()[0]], bad[bad.nonzero()[0]], strict=True):
                    self.report.reject(int(chunk.numbers[r]), why, chunk.lines[r])
                keep = np.asarray(bad == None)  # noqa: E711
                g, rows, raw = {k: take(v, keep) for k, v in g.items()}, rows[keep], take(raw, keep)
            utc, ok = _utc_ns(g)
            cols = {"line": pa.array(chunk.numbers[rows]), **_columns(fmt, g), "raw": raw, "_utc": pa.array(utc)}
            self.tables.append(pa.table(cols).filter(pa.array(ok)))
            for r in rows[~ok]:
                self.report.reject(int(chunk.numbers[r]), "unreadable time", chunk.lines[r])
        slow = [self._lenient(int(chunk.numbers[i]), chunk.lines[i]) for i in np.flatnonzero(left)]
        slow = [row for row in slow if row is not None]
        if slow:
            self.tables.append(pa.Table.from_pylist(slow))

    def _lenient(self, number: int, text: str) -> dict | None:
        if not text.strip():
            self.report.reject(number, "empty line", text)
            return None
        for fmt in self.formats:
            m = fmt.lenient.match(text)
            if m is None:
                continue
            try:
                when = dt.datetime.strptime(m["time"], "%d/%b/%Y:%H:%M:%S %z")
            except ValueError:
                self.report.reject(number, f"unreadable time {m['time']!r}", text)
                return None
            if not 1678 <= when.year <= 2261:  # outside pandas' nanosecond range, as the strict path
                self.report.reject(number, f"unreadable time {m['time']!r}", text)
                return None
            g = {k: pa.array([v], pa.string()) for k, v in m.groupdict().items() if k != "time"}
            bad = _bad_numbers(fmt, g)
            if bad is not None:
                self.report.reject(number, bad[0], text)
                return None
            cols = {k: v[0].as_py() for k, v in _columns(fmt, g).items()}
            return {"line": number, **cols, "raw": text, "_utc": int(when.timestamp()) * 1_000_000_000}
        self.report.reject(number, f"not in {self.label} log format", text)
        return None

    def finish(self) -> LogResult:
        """The event table (sorted by line) and the rejections.

        Columns come in the order the formats name them (not the order chunks happened to meet
        them), and the documented columns are added in Arrow, so building the frame costs no
        per-row Python work.
        """
        tables = [t for t in self.tables if t.num_rows]
        self.report.rejects.sort(key=lambda r: r[0])
        result = LogResult(conform(pd.DataFrame()), self.report.rejections(), {}, {str(self.path): "access"})
        if not tables:
            return result
        tables = [_large(t) for t in tables]
        table = pa.concat_tables(tables, promote_options="default")
        line = table.column("line")
        if len(line) > 1 and not pc.all(pc.greater_equal(line.slice(1), line.slice(0, len(line) - 1))).as_py():
            table = table.take(pc.sort_indices(line))
        n = table.num_rows
        order = list(dict.fromkeys(c for fmt in self.formats for c in _column_order(fmt)))
        names = [c for c in order if c in table.column_names] + [c for c in table.column_names if c not in order]
        cols = {"ts": pc.cast(table.column("_utc"), pa.timestamp("ns", tz="UTC")),
                "source": pa.repeat(pa.scalar("access", pa.large_string()), n),
                "file": pa.repeat(pa.scalar(str(self.path), pa.large_string()), n)}
        cols.update((c, table.column(c)) for c in names if c != "_utc")
        for name, dtype in EVENT_DTYPES.items():
            if name not in cols:
                cols[name] = pa.nulls(n, pa.int64() if dtype == "Int64" else pa.large_string())
        events = frame_from_tables([pa.table(cols)])
        events["ts"] = events["ts"].astype("datetime64[ns, UTC]")
        result.events = conform(events)
        return result


def _large(table: pa.Table) -> pa.Table:
    """``string`` columns as ``large_string`` (the compiled scanner's type, and pandas' own)."""
    if not any(pa.types.is_string(f.type) for f in table.schema):
        return table
    return table.cast(pa.schema([f.with_type(pa.large_string()) if pa.types.is_string(f.type) else f
                                 for f in table.schema]))


def _column_order(fmt: LogFormat) -> list[str]:
    """The columns one format's rows have, in the order :func:`_columns` makes them."""
    names = dict.fromkeys(fmt.columns.values())
    if "request" in names:
        del names["request"]
        names.update(dict.fromkeys(("http_method", "url", "access.protocol")))
    return ["line", *names, "raw"]


def _scanner(formats: list[LogFormat], required: bool):
    """The compiled scanner for ``formats``, or None when numba or the format rules it out."""
    try:
        from sopkit.logs.fastaccess import FastScanner, Unsupported
    except ImportError as exc:  # numba missing: the regex path gives the same table, slower
        if required:
            raise ParameterError(f"engine='compiled' needs numba ({exc})") from exc
        return None
    try:
        return FastScanner(formats, INT_COLUMNS, NULLABLE_COLUMNS, ESCAPED_COLUMNS)
    except Unsupported as exc:
        if required:
            raise ParameterError(f"engine='compiled' cannot read this format: {exc}") from exc
        return None


def _read(path: Path, log_format: str, progress: bool, chunk_lines: int,
          engine: str = "auto") -> tuple[LogResult, ReadReport]:
    parser = AccessParser(Path(path), log_format, engine)
    for first, block in iter_blocks(Path(path), parser.report, progress):
        parser.feed_block(first, block, chunk_lines)
    return parser.finish(), parser.report


def read_access(path: Path, *, log_format: str = "auto", progress: bool = False,
                chunk_lines: int = CHUNK_LINES, engine: str = "auto", **_: object) -> LogResult:
    """Read an access log into the normalized event table.

    ``log_format`` is ``auto`` (combined, common, vhost_combined), one of those names, or an Apache
    ``LogFormat`` string. The log's own UTC offset is applied, so no zone is assumed. ``engine``:
    ``auto`` (the compiled scanner of :mod:`sopkit.logs.fastaccess` when numba is importable and the
    format allows it), ``compiled`` (that scanner or a :class:`ParameterError`) or ``regex`` (RE2
    over whole chunks only); all three give the same table and rejections.
    """
    return _read(path, log_format, progress, chunk_lines, engine)[0]


def read_access_log(path: Path) -> tuple[pd.DataFrame, ReadReport]:
    """Read an access log into ``(requests, report)``; unparsable lines are in ``report.rejects``.

    The older request table used by the daily overview: ``ts`` is UTC (the log's own offset is
    applied); ``bytes`` is 0 where the log says ``-``.
    """
    result, report = _read(path, "auto", False, CHUNK_LINES)
    ev = result.events
    df = pd.DataFrame({"ts": ev["ts"], "line": ev["line"].astype("int64"), "src_ip": ev["src_ip"],
                       "user": ev["user"], "method": ev["http_method"], "url": ev["url"],
                       "protocol": ev["access.protocol"] if "access.protocol" in ev else pd.NA,
                       "status": ev["http_status"].astype("int16"), "bytes": ev["bytes"].fillna(0).astype("int64"),
                       "referrer": ev["access.referrer"] if "access.referrer" in ev else pd.NA,
                       "user_agent": ev["user_agent"], "raw": ev["raw"]}, columns=COLUMNS)
    return df, report
