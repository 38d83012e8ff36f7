"""The byte helpers the compiled log scanners share."""

from __future__ import annotations

import datetime as dt

import numpy as np
from numba import njit

from sopkit.logs import fastbytes as B


def _arr(b: bytes) -> np.ndarray:
    return np.frombuffer(b, np.uint8)


def test_split_lines_strips_carriage_returns_and_a_final_newline():
    buf = _arr(b"a b\r\n\r\nlast\r\r")
    starts, ends = B.split_lines(buf)
    assert [bytes(buf[s:e]) for s, e in zip(starts, ends, strict=True)] == [b"a b", b"", b"last"]
    starts, ends = B.split_lines(_arr(b"one\ntwo\n"))
    assert list(zip(starts.tolist(), ends.tolist(), strict=True)) == [(0, 3), (4, 7)]


@njit(cache=False)
def _civil_days(ys, ms, ds):
    out = np.empty(len(ys), np.int64)
    for i in range(len(ys)):
        out[i] = B.days_from_civil(ys[i], ms[i], ds[i])
    return out


@njit(cache=False)
def _digits(buf, p, n):
    return B.dig(buf, p, n), B.num(buf, p, n)


def test_days_from_civil_matches_the_calendar():
    days = [dt.date(1970, 1, 1), dt.date(2000, 2, 29), dt.date(1969, 12, 31), dt.date(2026, 11, 25),
            dt.date(2100, 3, 1), dt.date(1600, 1, 1)]
    got = _civil_days(np.array([d.year for d in days]), np.array([d.month for d in days]),
                      np.array([d.day for d in days]))
    assert got.tolist() == [(d - dt.date(1970, 1, 1)).days for d in days]


def test_digit_runs_and_character_classes():
    buf = _arr(b"2026x7")
    assert _digits(buf, 0, 4) == (2026, 2026)
    assert _digits(buf, 2, 3)[0] == -1  # 'x' is not a digit
    assert [bool(B.ws(c)) for c in b" \t\n\r\x0c\x0ba"] == [True] * 5 + [False, False]  # RE2 \s has no \v
    assert [bool(B.digit(c)) for c in b"09/:"] == [True, True, False, False]
    assert len(B.MONTH_KEYS) == 12 and B.MONTH_KEYS[0] == (ord("J") << 16) | (ord("a") << 8) | ord("n")
