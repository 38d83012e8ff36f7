"""Byte-level helpers shared by the compiled log scanners (:mod:`sopkit.logs.fastaccess`,
:mod:`sopkit.logs.fastsyslog`): RE2's ``\\s`` and digit classes, line splitting, digit runs,
month names and days-from-civil for UTC times, and :func:`build`, which copies field spans into
Arrow string buffers.

Why our own: these are the inner steps of numba kernels (inlined into them), where no library
function can be called; written once here so both scanners classify bytes the same way.
"""

from __future__ import annotations

import numpy as np
from numba import njit

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
#: each month name as a 24-bit key (three ASCII bytes), the way the kernels compare them
MONTH_KEYS = np.array([(ord(m[0]) << 16) | (ord(m[1]) << 8) | ord(m[2]) for m in MONTHS], dtype=np.int64)


@njit(cache=True, inline="always")
def ws(c):
    """RE2's ``\\s``: ``[\\t\\n\\f\\r ]`` (ASCII only; ``\\v`` is not in it)."""
    return c == 32 or c == 9 or c == 10 or c == 13 or c == 12


@njit(cache=True, inline="always")
def digit(c):
    return 48 <= c <= 57


@njit(cache=True)
def _split(buf, nl):
    """Line starts and ends from the newline positions ``nl``; trailing ``\r`` s are not part of a line."""
    n = len(buf)
    if n and buf[n - 1] == 10:
        n -= 1
        nl = nl[:-1]
    count = len(nl) + 1
    starts = np.empty(count, np.int64)
    ends = np.empty(count, np.int64)
    s = 0
    for k in range(count):
        e = nl[k] if k < count - 1 else n
        starts[k] = s
        while e > s and buf[e - 1] == 13:
            e -= 1
        ends[k] = e
        s = (nl[k] if k < count - 1 else n) + 1
    return starts, ends


def split_lines(buf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (``\r`` stripped) of every line of a block; a final ``\n`` ends the last line."""
    return _split(buf, np.flatnonzero(buf == 10))


@njit(cache=True, inline="always")
def num(buf, p, n):
    v = 0
    for j in range(p, p + n):
        v = v * 10 + (buf[j] - 48)
    return v


@njit(cache=True, inline="always")
def days_from_civil(y, m, d):
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


@njit(cache=True, inline="always")
def dig(buf, p, n):
    """The value of the ``n`` ASCII digits at ``p``, or -1 when one of them is not a digit."""
    v = 0
    for j in range(p, p + n):
        d = np.int64(buf[j]) - 48
        if d < 0 or d > 9:
            return -1
        v = v * 10 + d
    return v


@njit(cache=True)
def build(buf, fs, fe, rows, spec):
    """String columns of ``rows``: one data buffer, per column offsets (relative), data start and length, validity.

    Offsets are int64 (Arrow ``large_string``), the type pandas keeps its string columns in, so
    no cast copies them again.

    ``spec[c]`` is (slot, unescape, nullable): nullable columns are null when empty or ``-``, others
    when the slot's start is -1; ``unescape`` undoes Apache's ``\\"`` and ``\\\\`` left to right, as
    ``access._columns`` does.
    """
    n = len(rows)
    ncol = len(spec)
    offsets = np.empty((ncol, n + 1), np.int64)
    valid = np.empty((ncol, n), np.bool_)
    base = np.zeros(ncol + 1, np.int64)
    for c in range(ncol):
        slot = spec[c, 0]
        total = 0
        offsets[c, 0] = 0
        for k in range(n):
            s = fs[slot, rows[k]]
            ok = s >= 0
            if ok:
                ln = fe[slot, rows[k]] - s
                if spec[c, 2] and (ln == 0 or (ln == 1 and buf[s] == 45)):
                    ok = False
                total += ln
            valid[c, k] = ok
            offsets[c, k + 1] = total
        base[c + 1] = base[c] + total
    data = np.empty(base[ncol], np.uint8)
    length = base[1:] - base[:-1]
    for c in range(ncol):
        slot = spec[c, 0]
        pos = base[c]
        for k in range(n):
            s = fs[slot, rows[k]]
            if s >= 0:
                ln = fe[slot, rows[k]] - s
                if ln <= 16:  # a byte loop beats a slice copy's set-up for short fields
                    for j in range(ln):
                        data[pos + j] = buf[s + j]
                else:
                    data[pos:pos + ln] = buf[s:s + ln]
                pos += ln
        if not spec[c, 1]:
            continue
        escaped = False
        for j in range(base[c], pos):
            if data[j] == 92:
                escaped = True
                break
        if not escaped:
            continue
        out = base[c]
        for k in range(n):
            a = base[c] + offsets[c, k]
            b = base[c] + offsets[c, k + 1]
            offsets[c, k] = out - base[c]
            j = a
            while j < b:
                ch = data[j]
                if ch == 92 and j + 1 < b and (data[j + 1] == 34 or data[j + 1] == 92):
                    ch = data[j + 1]
                    j += 1
                data[out] = ch
                out += 1
                j += 1
        offsets[c, n] = out - base[c]
        length[c] = out - base[c]
    return data, offsets, base, length, valid
