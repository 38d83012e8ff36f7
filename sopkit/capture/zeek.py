"""Zeek TSV logs: write our flow table as ``conn.log``, read Zeek logs back, score against a baseline.

What: :func:`write_conn_log` writes the Zeek ASCII format (``#separator``/``#fields``/``#types``
header, ``-`` for unset, ``(empty)`` for empty sets, ``#close`` footer) atomically, and
:class:`ConnLogWriter` does the same block by block (``sopkit flows`` streams rows as they finish),
from DataFrames (:meth:`~ConnLogWriter.write`) or, per column and without pandas, from Arrow tables
(:meth:`~ConnLogWriter.write_table`, via :mod:`sopkit.capture.zeektsv`);
:func:`read_zeek_log` reads any Zeek TSV log (including the masked ``XXXXXXXXXX.XXXXXX`` timestamps
of Zeek's test baselines) into a DataFrame; :func:`score_against_baseline` compares a flow table to a
baseline ``conn.log`` with the conformance rules (multiset match on proto + 5-tuple, then exact
per-field comparison).

Why our own code: the format is a simple header + TSV; pandas reads the body, but the header rules
(custom separators, escapes such as ``\\x09``, unset vs empty) are Zeek-specific.
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from sopkit.errors import LogFormatError, SopkitError

if TYPE_CHECKING:  # pandas is imported by the functions that take or make DataFrames only
    import pandas as pd
    import pyarrow as pa

CONN_FIELDS = [
    "ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service", "duration",
    "orig_bytes", "resp_bytes", "conn_state", "local_orig", "local_resp", "missed_bytes", "history",
    "orig_pkts", "orig_ip_bytes", "resp_pkts", "resp_ip_bytes", "tunnel_parents", "ip_proto",
]
CONN_TYPES = [
    "time", "string", "addr", "port", "addr", "port", "enum", "string", "interval", "count", "count",
    "string", "bool", "bool", "count", "string", "count", "count", "count", "count", "set[string]",
    "count",
]
_INT_TYPES = ("count", "int", "port")
_BLOCK_ROWS = 1 << 16  #: rows formatted at once by ConnLogWriter.write_table (bounds its text in memory)


def _fmt(v: Any, typ: str, na: Any) -> str:
    if v is None or v is na or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if typ in ("time", "interval"):
        return f"{float(v):.6f}"
    if typ == "bool":
        return "T" if v else "F"
    if typ.startswith("set["):
        return str(v) if str(v) else "(empty)"
    if typ in _INT_TYPES:
        return str(int(v))
    s = str(v)
    return s if s else "(empty)"


def _header(now: str) -> list[str]:
    return ["#separator \\x09", "#set_separator\t,", "#empty_field\t(empty)", "#unset_field\t-",
            "#path\tconn", f"#open\t{now}", "#fields\t" + "\t".join(CONN_FIELDS),
            "#types\t" + "\t".join(CONN_TYPES)]


def _check_columns(df: pd.DataFrame, where: object) -> None:
    missing = [f for f in CONN_FIELDS if f not in df.columns and f not in ("service",)]
    if missing:
        raise SopkitError(f"{where}: flow table lacks conn.log columns {missing}")


def conn_log_lines(df: pd.DataFrame) -> list[str]:
    """The body lines (no header, no newline) of a conn.log for the rows of ``df``, in its order."""
    import pandas as pd

    na = pd.NA
    cols = [df[f].tolist() if f in df.columns else ["-"] * len(df) for f in CONN_FIELDS]
    return ["\t".join(_fmt(v, t, na) for v, t in zip(row, CONN_TYPES, strict=False))
            for row in zip(*cols, strict=False)]


class ConnLogWriter:
    """Write a ``conn.log`` in pieces: the header at open, row blocks with :meth:`write`, ``#close`` at
    :meth:`close` — so a flow table can be written while it is being built, in constant memory.

    Given a path, the log is written to a temporary file in the same folder and renamed into place
    by :meth:`close` (a reader never sees half a log); :meth:`abort` (or leaving a ``with`` block
    with an exception) removes the temporary file and leaves an existing log untouched. Given a
    text stream instead (``stream=sys.stdout``), lines go straight to it.
    """

    def __init__(self, path: str | os.PathLike | None = None, *, stream: TextIO | None = None) -> None:
        if (path is None) == (stream is None):
            raise SopkitError("ConnLogWriter needs exactly one of a path and a stream")
        self.path = None if path is None else Path(path)
        self.rows = 0
        self._now = time.strftime("%Y-%m-%d-%H-%M-%S", time.gmtime())
        self._tmp: str | None = None
        self._closed = False
        if self.path is not None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd, self._tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
            except OSError as e:
                raise SopkitError(f"{self.path}: cannot create the log ({e.strerror})") from e
            self._fh: TextIO = os.fdopen(fd, "w", encoding="utf-8", newline="\n")
        else:
            self._fh = stream  # type: ignore[assignment]
        self._fh.write("\n".join(_header(self._now)) + "\n")

    def write(self, df: pd.DataFrame) -> int:
        """Append the rows of ``df`` (in its order); returns how many."""
        _check_columns(df, self.path or "conn.log")
        if len(df):
            self._fh.write("\n".join(conn_log_lines(df)) + "\n")
            self.rows += len(df)
        return len(df)

    def write_table(self, table: pa.Table | pa.RecordBatch) -> int:
        """Append the rows of an Arrow table with the flows schema (in its order); returns how many.

        The text is byte for byte what :meth:`write` gives for ``table.to_pandas()``, but it is
        formatted per column (:mod:`sopkit.capture.zeektsv`), several times faster, and without pandas.
        Raises :class:`SopkitError` naming the log when columns are missing or of an unusable type.
        """
        import pyarrow as pa

        from sopkit.capture.zeektsv import tsv_lines

        where = self.path or "conn.log"
        names = table.schema.names
        missing = [f for f in CONN_FIELDS if f not in names and f != "service"]
        if missing:
            raise SopkitError(f"{where}: flow table lacks conn.log columns {missing}")
        n = table.num_rows
        batches = [table] if isinstance(table, pa.RecordBatch) else table.to_batches(max_chunksize=_BLOCK_ROWS)
        for batch in batches:
            cols = [batch.column(f) if f in names else None for f in CONN_FIELDS]
            try:
                body = tsv_lines(cols, CONN_TYPES, CONN_FIELDS)
            except SopkitError as e:
                raise SopkitError(f"{where}: {e}") from e
            self._write_utf8(body)
        self.rows += n
        return n

    def _write_utf8(self, data: Any) -> None:
        """Write UTF-8 bytes (a buffer) to the log: straight to the byte stream under a UTF-8 text
        stream that does not translate newlines (no decoding), else decoded and written as text."""
        if not len(data):
            return
        raw = getattr(self._fh, "buffer", None)
        utf8 = str(getattr(self._fh, "encoding", "")).lower().replace("-", "") == "utf8"
        if raw is not None and utf8 and (self._tmp is not None or os.linesep == "\n"):
            self._fh.flush()
            raw.write(data)
        else:
            self._fh.write(bytes(data).decode("utf-8"))

    def close(self) -> Path | None:
        """Write ``#close`` and move the log into place; returns its path (None for a stream)."""
        if self._closed:
            return self.path
        self._closed = True
        self._fh.write(f"#close\t{self._now}\n")
        if self._tmp is None:
            self._fh.flush()
            return None
        try:
            self._fh.close()
            os.replace(self._tmp, self.path)  # type: ignore[arg-type]
        except OSError as e:
            self.abort()
            raise SopkitError(f"{self.path}: cannot write the log ({e.strerror or e})") from e
        except BaseException:
            self.abort()
            raise
        self._tmp = None
        return self.path

    def abort(self) -> None:
        """Discard a log being written to a path (the temporary file is removed)."""
        self._closed = True
        if self._tmp is not None:
            self._fh.close()
            Path(self._tmp).unlink(missing_ok=True)
            self._tmp = None

    def __enter__(self) -> ConnLogWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.abort()
        else:
            self.close()


def write_conn_log(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write a flow table as a Zeek ``conn.log`` (TSV); returns the path.

    The file is written to a temporary name in the same folder and moved into place, so a reader
    never sees half a log.
    """
    path = Path(path)
    _check_columns(df, path)
    with ConnLogWriter(path) as w:
        w.write(df)
    return path


def _unescape(s: str) -> str:
    return s.encode("latin-1").decode("unicode_escape") if "\\x" in s else s


def read_zeek_log(path: str | os.PathLike) -> pd.DataFrame:
    """Read a Zeek TSV log into a DataFrame.

    Unset (``-``) values become missing, ``(empty)`` sets become ``""``, masked timestamps
    (``XXXXXXXXXX.XXXXXX`` in Zeek baselines) become NaN.  Counts/ports are ``Int64``, times and
    intervals ``float64``, bools ``boolean``.  Raises :class:`LogFormatError` naming the file and
    line when the header is missing or a row has the wrong number of fields.
    """
    import pandas as pd

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as e:
        raise LogFormatError(f"{path}: cannot read ({e.strerror})") from e
    sep, unset, empty = "\t", "-", "(empty)"
    fields: list[str] | None = None
    types: list[str] | None = None
    rows: list[list[str]] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line:
            continue
        if line.startswith("#"):
            key, _, val = line.partition(" " if line.startswith("#separator") else sep)
            if key == "#separator":
                sep = _unescape(val.strip())
            elif key == "#unset_field":
                unset = val
            elif key == "#empty_field":
                empty = val
            elif key == "#fields":
                fields = val.split(sep)
            elif key == "#types":
                types = val.split(sep)
            continue
        if fields is None:
            raise LogFormatError(f"{path}:{lineno}: data before the #fields header line")
        parts = line.split(sep)
        if len(parts) != len(fields):
            raise LogFormatError(f"{path}:{lineno}: {len(parts)} fields, header declares {len(fields)}")
        rows.append(parts)
    if fields is None:
        raise LogFormatError(f"{path}: no #fields header line; not a Zeek TSV log")
    types = types or ["string"] * len(fields)
    df = pd.DataFrame(rows, columns=fields, dtype=object)
    for f, t in zip(fields, types, strict=False):
        col = df[f]
        if t in ("time", "interval", "double"):
            df[f] = pd.to_numeric(col.where(~col.isin([unset, empty]) & ~col.str.startswith("X")),
                                  errors="coerce").astype("float64")
        elif t in _INT_TYPES:
            df[f] = pd.to_numeric(col.where(col != unset), errors="coerce").astype("Int64")
        elif t == "bool":
            df[f] = col.map({"T": True, "F": False}).astype("boolean")
        else:
            df[f] = col.where(col != unset).where(col != empty, "").astype("string")
    return df


KEY = ["proto", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p"]
EXACT = ["orig_pkts", "resp_pkts", "orig_ip_bytes", "resp_ip_bytes"]
OTHER = ["conn_state", "history", "orig_bytes", "resp_bytes", "missed_bytes", "duration"]


def _val(v: Any) -> Any:
    import pandas as pd  # already imported by whoever made the DataFrames being scored

    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return None
    return v


def _norm_addr(a: str) -> str:
    import ipaddress

    try:
        return str(ipaddress.ip_address(a))
    except ValueError:
        return a


def score_against_baseline(ours: pd.DataFrame, baseline: pd.DataFrame) -> dict:
    """Score a flow table against a Zeek ``conn.log`` baseline.

    Rows are matched as a multiset on (proto, 5-tuple); several rows with the same key are paired
    in start-time order.  Returns counts: ``baseline_rows``, ``our_rows``, ``matched``,
    ``exact_counts`` (all four per-direction packet/IP-byte counts equal), and per field of
    :data:`OTHER` the number equal (duration within 1 µs, both-unset counts as equal), plus
    ``mismatches``: a list of (key, field, ours, theirs) for inspection.
    """
    def keyed(df: pd.DataFrame) -> dict[tuple, list[dict]]:
        out: dict[tuple, list[dict]] = defaultdict(list)
        recs = df.to_dict("records")
        for r in recs:
            k = (str(r["proto"]), _norm_addr(str(r["id.orig_h"])), int(r["id.orig_p"]),
                 _norm_addr(str(r["id.resp_h"])), int(r["id.resp_p"]))
            out[k].append(r)
        return out

    ob, bb = keyed(ours), keyed(baseline)
    res: dict[str, Any] = {"baseline_rows": len(baseline), "our_rows": len(ours), "matched": 0,
                           "exact_counts": 0, **{f: 0 for f in OTHER}, "mismatches": []}
    for k, theirs in bb.items():
        mine = ob.get(k, [])
        if len(mine) > 1:
            mine = sorted(mine, key=lambda r: r.get("ts") or 0)
        pairs = _pair(mine, theirs)
        for m, t in pairs:
            res["matched"] += 1
            if all(_val(m.get(f)) == _val(t.get(f)) for f in EXACT):
                res["exact_counts"] += 1
            else:
                res["mismatches"].append((k, "counts", [m.get(f) for f in EXACT], [t.get(f) for f in EXACT]))
            for f in OTHER:
                a, b = _val(m.get(f)), _val(t.get(f))
                if f == "history":
                    a, b = a or "", b or ""
                ok = (a is None and b is None) or (
                    a is not None and b is not None and (abs(a - b) <= 1e-6 if f == "duration" else a == b))
                if ok:
                    res[f] += 1
                else:
                    res["mismatches"].append((k, f, a, b))
    return res


def _pair(mine: list[dict], theirs: list[dict]) -> list[tuple[dict, dict]]:
    """Pair rows sharing a key: prefer identical per-direction counts, then the remaining in order."""
    left = list(mine)
    pairs = []
    rest = []
    for t in theirs:
        hit = next((m for m in left if all(_val(m.get(f)) == _val(t.get(f)) for f in EXACT)), None)
        if hit is not None:
            left.remove(hit)
            pairs.append((hit, t))
        else:
            rest.append(t)
    for t, m in zip(rest, left, strict=False):
        pairs.append((m, t))
    return pairs


def format_score(name: str, s: dict) -> str:
    """One table line for a score dict (used by the conformance test and benchmarks)."""
    b = max(s["baseline_rows"], 1)
    return (f"{name:55s} {s['baseline_rows']:5d} {s['our_rows']:5d} {s['matched']:5d} "
            f"{100 * s['exact_counts'] / b:6.1f} {100 * s['conn_state'] / b:6.1f} "
            f"{100 * s['history'] / b:6.1f} {100 * s['orig_bytes'] / b:6.1f} {100 * s['missed_bytes'] / b:6.1f} "
            f"{100 * s['duration'] / b:6.1f}")


SCORE_HEADER = (f"{'pair':55s} {'base':>5s} {'ours':>5s} {'match':>5s} {'cnt%':>6s} {'state%':>6s} "
                f"{'hist%':>6s} {'obyt%':>6s} {'miss%':>6s} {'dur%':>6s}")
