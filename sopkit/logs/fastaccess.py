"""Compiled scanner for access logs: a block of bytes → field offsets, integers and UTC times.

:class:`FastScanner` turns the :attr:`~sopkit.logs.access.LogFormat.elements` of one or more
formats into a small op table (literal, time, quoted field, ``\\S+``/``\\d+``… field, end), and a
numba kernel walks a block of whole lines once per line: it records where each field starts and
ends in the block, parses status/size/port digits and the ``[10/Oct/2026:13:55:36 +0700]`` time
(days-from-civil arithmetic and the line's own UTC offset), and splits ``%r`` into method, URL and
protocol. String columns are then gathered from those offsets in one compiled copy and wrapped as
Arrow ``large_string`` arrays, so no Python object is made per line.

Why our own scanner: one :func:`pyarrow.compute.extract_regex` pass costs ~3 s per million lines and
a Python ``re`` loop more; the SOP's volumes need ≥ 500k lines/s on one core.

The kernel only *accepts* a line when the strict RE2 pattern of :mod:`sopkit.logs.access` would
take it with the same groups; everything else is flagged and goes through that module's exact
per-line path, so results are identical by construction, not by approximation. Flagged are: lines
with a backslash (Apache's ``\\"``/``\\xNN`` escapes), empty lines, lines that match no format,
times the strict path would reject (month name, day 31 of a 30-day month …), integers longer than 18
digits, and ambiguous field ends — a ``\\S+`` field followed by a literal that can occur inside it
(``%v:%p``) is taken only when that literal's first character occurs once in the field's span.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from numba import njit

from sopkit.logs.fastbytes import MONTH_KEYS as _MONTH_KEYS
from sopkit.logs.fastbytes import build, split_lines
from sopkit.logs.fastbytes import days_from_civil as _days_from_civil
from sopkit.logs.fastbytes import dig as _dig
from sopkit.logs.fastbytes import digit as _digit
from sopkit.logs.fastbytes import num as _num
from sopkit.logs.fastbytes import ws as _ws

LIT, TIME, QUOTED, NONSPACE, NONSPACE0, DIGITS, DIGITS3, DIGITS_DASH, END = range(9)
#: value pattern (see ``access.DIRECTIVES``) → op code
KINDS = {"quoted": QUOTED, r"\S+": NONSPACE, r"\S*": NONSPACE0, r"\d+": DIGITS, r"\d{3}": DIGITS3,
         r"\d+|-": DIGITS_DASH}
MATCH, NOMATCH, UNSURE = 0, 1, 2


class Unsupported(ValueError):
    """A format the scanner cannot decide exactly (e.g. two fields with no literal between them)."""


@njit(cache=True, inline="always")
def _time(buf, p, e, months, out, i):
    """``[dd/Mon/yyyy:HH:MM:SS +zzzz]`` at ``p``: (new position, status); UTC ns into ``out[i]``."""
    if p + 2 >= e or buf[p] != 91:
        return p, NOMATCH
    day = _dig(buf, p + 1, 2)
    q = p + 3
    if day < 0:
        day = _dig(buf, p + 1, 1)
        q = p + 2
        if day < 0:
            return p, NOMATCH
    p = q
    if e - p < 25:  # "/Mon/yyyy:HH:MM:SS +zzzz]"
        return p, NOMATCH
    b = buf
    if not (b[p] == 47 and 65 <= b[p + 1] <= 90 and 97 <= b[p + 2] <= 122 and 97 <= b[p + 3] <= 122
            and b[p + 4] == 47 and b[p + 9] == 58 and b[p + 12] == 58 and b[p + 15] == 58 and b[p + 18] == 32
            and (b[p + 19] == 43 or b[p + 19] == 45) and b[p + 24] == 93):
        return p, NOMATCH
    year = _dig(b, p + 5, 4)
    hh = _dig(b, p + 10, 2)
    mi = _dig(b, p + 13, 2)
    ss = _dig(b, p + 16, 2)
    zh = _dig(b, p + 20, 2)
    zm = _dig(b, p + 22, 2)
    if year < 0 or hh < 0 or mi < 0 or ss < 0 or zh < 0 or zm < 0:
        return p, NOMATCH
    key = (np.int64(b[p + 1]) << 16) | (np.int64(b[p + 2]) << 8) | np.int64(b[p + 3])
    month = 0
    for k in range(12):
        if months[k] == key:
            month = k + 1
    end = p + 25
    if month == 0 or hh >= 24 or mi >= 60 or ss > 60 or day < 1 or year < 1678 or year > 2261:
        return end, UNSURE
    dim = 31
    if month == 2:
        dim = 29 if (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)) else 28
    elif month == 4 or month == 6 or month == 9 or month == 11:
        dim = 30
    if day > dim:
        return end, UNSURE
    off = zh * 3600 + zm * 60
    if b[p + 19] == 45:
        off = -off
    secs = _days_from_civil(year, month, day) * 86400 + hh * 3600 + mi * 60 + ss - off
    out[i] = secs * 1_000_000_000
    return end, MATCH


@njit(cache=True, inline="always")
def _match(buf, s, e, ops, a, b, lits, months, i, fs, fe, ints, inull, utc):
    p = s
    for k in range(a, b):
        kind = ops[k, 0]
        if kind == LIT:
            off = ops[k, 1]
            ln = ops[k, 2]
            if e - p < ln:
                return NOMATCH
            for j in range(ln):
                if buf[p + j] != lits[off + j]:
                    return NOMATCH
            p += ln
        elif kind == TIME:
            p, st = _time(buf, p, e, months, utc, i)
            if st != MATCH:
                return st
        elif kind == END:
            while p < e and _ws(buf[p]):
                p += 1
            if p != e:
                return NOMATCH
        else:
            slot = ops[k, 1]
            delim = ops[k, 2]
            q = p
            if kind == QUOTED:  # (?:[^"\\]|\\.)*: a quote after an odd run of backslashes is escaped
                while True:
                    while q < e and buf[q] != 34:
                        q += 1
                    if q >= e:
                        return NOMATCH
                    r = q
                    while r > p and buf[r - 1] == 92:
                        r -= 1
                    if (q - r) % 2 == 0:
                        break
                    q += 1
            elif kind == NONSPACE or kind == NONSPACE0:
                while q < e and not _ws(buf[q]):
                    q += 1
                if delim >= 0 and not _ws(delim):  # the literal's first byte can occur in the field
                    low = p + (1 if kind == NONSPACE else 0)
                    hit = -1
                    for j in range(low, q):
                        if buf[j] == delim:
                            if hit >= 0:
                                return UNSURE
                            hit = j
                    if hit < 0:
                        return NOMATCH
                    q = hit
                if kind == NONSPACE and q == p:
                    return NOMATCH
            elif kind == DIGITS_DASH and p < e and buf[p] == 45:
                q = p + 1
            else:
                while q < e and _digit(buf[q]):
                    q += 1
                if q == p or (kind == DIGITS3 and q - p != 3):
                    return NOMATCH
            fs[slot, i] = p
            fe[slot, i] = q
            if ops[k, 3]:  # integer column: "" or "-" is null, else 1..18 digits
                n = q - p
                if n == 0 or (n == 1 and buf[p] == 45):
                    inull[slot, i] = True
                else:
                    if n > 18:
                        return UNSURE
                    for j in range(p, q):
                        if not _digit(buf[j]):
                            return UNSURE
                    inull[slot, i] = False
                    ints[slot, i] = _num(buf, p, n)
            p = q
    return MATCH


@njit(cache=True, inline="always")
def _request(buf, s, e, fs, fe, i, m):
    """Split ``%r`` like ``access.REQUEST`` into slots m (method), m+1 (url), m+2 (protocol); -1: null."""
    fs[m, i] = -1
    fs[m + 2, i] = -1
    fs[m + 1, i] = s
    fe[m + 1, i] = e
    if e - s < 2 or not (65 <= buf[s] <= 90):
        return
    q = s + 1
    while q < e and (65 <= buf[q] <= 90 or _digit(buf[q]) or buf[q] == 95 or buf[q] == 45):
        q += 1
    if q >= e or buf[q] != 32:
        return
    u = q + 1
    cut = e
    if e - 9 >= u and _proto(buf, e - 9, e, 2):
        cut = e - 9
    elif e - 7 >= u and _proto(buf, e - 7, e, 0):
        cut = e - 7
    fs[m, i] = s
    fe[m, i] = q
    fs[m + 1, i] = u
    fe[m + 1, i] = cut
    if cut < e:
        fs[m + 2, i] = cut + 1
        fe[m + 2, i] = e


@njit(cache=True, inline="always")
def _proto(buf, p, e, extra):
    """`` HTTP/d`` (extra 0) or `` HTTP/d.d`` (extra 2) exactly from ``p`` to ``e``."""
    if not (buf[p] == 32 and buf[p + 1] == 72 and buf[p + 2] == 84 and buf[p + 3] == 84 and buf[p + 4] == 80
            and buf[p + 5] == 47 and _digit(buf[p + 6])):
        return False
    return extra == 0 or (buf[p + 7] == 46 and _digit(buf[p + 8]))


@njit(cache=True)
def scan(buf, starts, ends, force, ops, bounds, lits, months, req, fmt, fs, fe, ints, inull, utc):
    """Match every line against the formats in order: ``fmt[i]`` is the format index or -1 (exact path).

    The output arrays (``fs``/``fe``/``ints``/``inull``: slot × line; ``utc``, ``fmt``: per line) are
    the caller's scratch, reused from block to block: fresh pages for every block cost more than
    the scan itself. Only the first ``len(starts)`` lines are written.
    """
    n = len(starts)
    nslots = fs.shape[0]
    for i in range(n):
        fmt[i] = -1
        fs[nslots - 4, i] = starts[i]  # the whole line: the raw column
        fe[nslots - 4, i] = ends[i]
    nfmt = len(bounds) - 1
    for i in range(n):
        s = starts[i]
        e = ends[i]
        if force[i] or s == e:
            continue
        for f in range(nfmt):
            st = _match(buf, s, e, ops, bounds[f], bounds[f + 1], lits, months, i, fs, fe, ints, inull, utc)
            if st == MATCH:
                if req[f] >= 0:
                    _request(buf, fs[req[f], i], fe[req[f], i], fs, fe, i, nslots - 3)
                fmt[i] = f
                break
            if st == UNSURE:
                break


class FastScanner:
    """The formats of one reader compiled for :func:`scan` (raises :class:`Unsupported`)."""

    def __init__(self, formats: list, int_columns: set[str], nullable: tuple[str, ...],
                 escaped: tuple[str, ...]) -> None:
        self.formats, self.int_columns, self.nullable, self.escaped = formats, int_columns, nullable, escaped
        ops: list[tuple[int, int, int, int]] = []
        lits = bytearray()
        bounds, req = [0], []
        self.nslots = max(len(f.columns) for f in formats) + 4
        for fmt in formats:
            elements = self._merged(fmt.elements)
            slots = {group: k for k, group in enumerate(fmt.columns)}
            for k, (name, value) in enumerate(elements):
                if name == "lit":
                    ops.append((LIT, len(lits), len(value.encode()), 0))
                    lits += value.encode()
                    continue
                if name == "time":
                    ops.append((TIME, 0, 0, 0))
                    continue
                code = KINDS.get(value)
                nxt = elements[k + 1] if k + 1 < len(elements) else None
                if code is None or (nxt is not None and nxt[0] != "lit"):
                    raise Unsupported(f"field pattern {value!r} of {fmt.spec!r}")
                delim = nxt[1].encode()[0] if nxt is not None else -1
                if code in (DIGITS, DIGITS3, DIGITS_DASH) and (chr(delim).isdigit() if delim >= 0 else False) \
                        or (code == DIGITS_DASH and delim == ord("-")) or (code == QUOTED and delim != ord('"')):
                    raise Unsupported(f"field {value!r} of {fmt.spec!r} runs into its delimiter")
                ops.append((code, slots[name], delim, int(fmt.columns[name] in int_columns)))
            ops.append((END, 0, 0, 0))
            bounds.append(len(ops))
            req.append(next((slots[g] for g, c in fmt.columns.items() if c == "request"), -1))
        self.ops = np.asarray(ops, dtype=np.int64).reshape(-1, 4)
        self.lits = np.frombuffer(bytes(lits) or b"\0", dtype=np.uint8)
        self.bounds = np.asarray(bounds, dtype=np.int64)
        self.req = np.asarray(req, dtype=np.int64)
        self.plans = [self._plan(fmt) for fmt in formats]
        self._scratch: tuple[np.ndarray, ...] | None = None  #: scan outputs, reused block to block

    @staticmethod
    def _merged(elements: list[tuple[str, str]]) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        for name, value in elements:
            if name == "lit":
                if not value:
                    continue
                if out and out[-1][0] == "lit":
                    out[-1] = ("lit", out[-1][1] + value)
                    continue
            out.append((name, value))
        return out

    def scan_block(self, block: bytes, first: int, force: np.ndarray | None = None
                   ) -> tuple[list[pa.Table], np.ndarray, np.ndarray, np.ndarray]:
        """``(one table per matched format, indices of the lines left to the exact path, line starts, ends)``.

        ``first`` is the block's first line number; ``force`` marks lines that must go the exact way.
        """
        buf = np.frombuffer(block, dtype=np.uint8)
        starts, ends = split_lines(buf)
        if force is None:
            force = np.zeros(len(starts), dtype=np.bool_)
        n = len(starts)
        if self._scratch is None or self._scratch[0].shape[0] < n:
            size = max(n, 1024)
            self._scratch = (np.empty(size, np.int64), np.empty((self.nslots, size), np.int64),
                             np.empty((self.nslots, size), np.int64), np.empty((self.nslots, size), np.int64),
                             np.empty((self.nslots, size), np.bool_), np.empty(size, np.int64))
        fmt, fs, fe, ints, inull, utc = self._scratch
        scan(buf, starts, ends, force, self.ops, self.bounds, self.lits, _MONTH_KEYS, self.req, fmt, fs, fe, ints,
             inull, utc)
        fmt = fmt[:n]
        tables = []
        for f, (plan, spec) in enumerate(self.plans):
            rows = np.flatnonzero(fmt == f)
            if not len(rows):
                continue
            data, offsets, base, length, valid = build(buf, fs, fe, rows, spec)
            cols: dict[str, pa.Array] = {"line": pa.array(rows + first)}
            for column, (is_int, slot, c) in plan.items():
                if is_int:
                    cols[column] = pa.array(ints[slot][rows], mask=inull[slot][rows])
                    continue
                nulls = len(rows) - int(np.count_nonzero(valid[c]))
                bitmap = pa.py_buffer(np.packbits(valid[c], bitorder="little")) if nulls else None
                cols[column] = pa.LargeStringArray.from_buffers(
                    len(rows), pa.py_buffer(offsets[c]), pa.py_buffer(data[base[c]:base[c] + length[c]]), bitmap, nulls)
            cols["_utc"] = pa.array(utc[rows])
            tables.append(pa.table(cols))
        return tables, np.flatnonzero(fmt < 0), starts, ends

    def _plan(self, fmt) -> tuple[dict[str, tuple[bool, int, int]], np.ndarray]:
        """Output columns of one format in ``access._columns`` order: (is int, slot, string column index)."""
        plan: dict[str, tuple[bool, int, int]] = {}
        spec: list[tuple[int, int, int]] = []

        def string(column: str, slot: int, unescape: bool, nullable: bool) -> None:
            plan[column] = (False, slot, len(spec))
            spec.append((slot, int(unescape), int(nullable)))

        for slot, column in enumerate(fmt.columns.values()):
            if column in self.int_columns:
                plan[column] = (True, slot, -1)
            else:
                string(column, slot, column in self.escaped and column != "request", column in self.nullable)
        if "request" in plan:  # split on the raw span: escapes cannot touch the method or the protocol
            del plan["request"]
            m = self.nslots - 3
            string("http_method", m, False, False)
            string("url", m + 1, True, False)
            string("access.protocol", m + 2, False, False)
        string("raw", self.nslots - 4, False, False)
        return plan, np.asarray(spec, dtype=np.int64).reshape(-1, 3)
