"""Zeek TSV text from Arrow columns, vectorised: :func:`tsv_lines` formats a whole table at once.

What: the body of a Zeek ASCII log (``conn.log``) for the rows of an Arrow table, one column at a
time with numpy and ``pyarrow.compute``, then joined with tabs and newlines in Arrow — no Python
loop per row or per field. The text is byte for byte what the per-value formatter of
:mod:`sopkit.capture.zeek` writes for the same rows from a DataFrame:

==================  =============================================================================
Zeek type           text
==================  =============================================================================
``time/interval``   ``f"{float(v):.6f}"``; missing or NaN → ``-``
``count/int/port``  decimal integer; missing → ``-``
``bool``            ``T`` / ``F``; missing → ``-``
``string/addr/...`` as given; ``""`` → ``(empty)``; missing → ``-``
``set[...]``        the already joined text; ``""`` → ``(empty)``; missing → ``-``
==================  =============================================================================

Why our own code: pyarrow formats integers and joins strings, but its float → string cast writes
the shortest round-trip form, not six fixed decimals, and numpy formats one element at a time.
:func:`fixed6` therefore rounds ``v * 10**6`` to an integer itself, *exactly*: the product is
split into ``p + e`` with Dekker's error-free multiplication (``p`` the rounded float product,
``e`` its exact rounding error), so the distance of the true product to the nearest integer is
known to about 1e-16. Python's formatting rounds that true product half-to-even; where the
distance to a half is too small to decide (exact ties such as ``0.0078125``), the value is too
large for the float arithmetic (|v| ≥ 9e9) or not finite, that value alone is formatted by Python.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sopkit.errors import SopkitError

_SCALE = 1e6  # six decimals; 1e6 = 2**6 * 15625 has 14 significant bits, so it needs no split
_SPLIT = 134217729.0  # 2**27 + 1: Veltkamp's constant, splits a float64 into two 26-bit halves
_FAST_MAX = 9e9  # below this, |v| * 1e6 < 2**53: the rounded product and its integer are exact
_TIE_MARGIN = 2.0**-40  # |distance - 1/2| below this is decided by Python (computed error ~1e-16)
_INT_TYPES = ("count", "int", "port")
_TEXT = pa.large_string()


# pyarrow imports pandas (a third of a second) the first time ``pa.array``, ``pa.scalar`` or
# ``Array.to_numpy`` is called; ``sopkit flows`` should not pay that, so arrays go in and out
# through their buffers.

def _text_scalar(s: str) -> pa.Scalar:
    """A ``large_string`` scalar."""
    return _texts([s])[0]


def _texts(items: list[str]) -> pa.Array:
    """A ``large_string`` array of Python strings (no nulls)."""
    raw = [t.encode() for t in items]
    offsets = np.zeros(len(raw) + 1, np.int64)
    np.cumsum(np.fromiter(map(len, raw), np.int64, len(raw)), out=offsets[1:])
    return pa.Array.from_buffers(_TEXT, len(raw), [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(raw))])


def _int64s(values: np.ndarray) -> pa.Array:
    """An ``int64`` array over numpy integers (no nulls)."""
    return pa.Array.from_buffers(pa.int64(), len(values), [None, pa.py_buffer(np.ascontiguousarray(values, np.int64))])


def _flags(values: np.ndarray) -> pa.Array:
    """A ``bool_`` array of a numpy bool mask (no nulls)."""
    return pa.Array.from_buffers(pa.bool_(), len(values), [None, pa.py_buffer(np.packbits(values, bitorder="little"))])


def _float64s(col: pa.Array) -> np.ndarray:
    """The float64 values of a numeric Arrow array, NaN where null (a copy only when needed)."""
    if col.type != pa.float64():
        col = col.cast(pa.float64(), safe=False)  # float(v) of an int rounds to nearest, as this does
    if col.null_count:
        nan = pa.Array.from_buffers(pa.float64(), 1, [None, pa.py_buffer(np.array([np.nan]))])[0]
        col = pc.fill_null(col, nan)
    return np.frombuffer(col.buffers()[1], np.float64, len(col), col.offset * 8)


def _scaled_integers(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``round_half_even(x * 10**6)`` of the exact product for finite ``0 <= x < 9e9``, as int64,
    and a mask of the values too close to a tie to decide (their integer is then meaningless)."""
    p = x * _SCALE
    t = x * _SPLIT  # Veltkamp split x = hi + lo, each exact in 26 bits
    hi = t - (t - x)
    lo = x - hi
    e = (hi * _SCALE - p) + lo * _SCALE  # Dekker: p + e == x * 1e6 exactly
    r = np.rint(p)
    d = (p - r) + e  # true product minus r, to ~1e-16 (p - r is exact: |p| < 2**53)
    r += (d > 0.5).astype(np.float64) - (d < -0.5)
    undecided = np.abs(np.abs(d) - 0.5) < _TIE_MARGIN
    return r.astype(np.int64), undecided


def fixed6(values: np.ndarray) -> pa.Array:
    """``f"{v:.6f}"`` of every float64 in ``values`` as an Arrow ``large_string`` array, NaN → null.

    Equal to Python's correctly rounded formatting for every input (see the module docstring for
    how); values it cannot decide in numpy are formatted by Python one by one.
    """
    v = np.ascontiguousarray(values, dtype=np.float64)
    x = np.abs(v)
    nan = np.isnan(v)
    fast = x < _FAST_MAX  # False for NaN and inf
    r = np.zeros(len(v), np.int64)
    undecided = np.zeros(len(v), bool)
    r[fast], undecided[fast] = _scaled_integers(x[fast])
    slow = np.flatnonzero(~fast & ~nan | undecided)
    whole, frac = np.divmod(r, 1_000_000)
    # 1_000_000 + frac prints as "1dddddd": dropping the "1" gives the zero-padded six decimals
    digits = pc.utf8_slice_codeunits(pc.cast(_int64s(frac + 1_000_000), _TEXT), 1)
    text = pc.binary_join_element_wise(pc.cast(_int64s(whole), _TEXT), digits, _text_scalar("."))
    neg = np.signbit(v) & ~nan  # Python keeps the sign of -0.0 and of values rounding to zero
    if neg.any():
        minus = pc.binary_join_element_wise(_text_scalar("-"), text, _text_scalar(""))
        text = pc.if_else(_flags(neg), minus, text)
    if len(slow):
        mask = np.zeros(len(v), bool)
        mask[slow] = True
        text = pc.replace_with_mask(text, _flags(mask), _texts([f"{f:.6f}" for f in v[slow].tolist()]))
    if nan.any():
        text = pc.if_else(_flags(nan), pa.nulls(1, _TEXT)[0], text)
    return text


def _strings(col: pa.Array, name: str) -> pa.Array:
    if pa.types.is_dictionary(col.type):
        col = col.dictionary_decode()
    if pa.types.is_null(col.type):
        return pa.nulls(len(col), _TEXT)
    if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
        raise SopkitError(f"column {name!r}: Arrow type {col.type} where text is expected")
    col = col.cast(_TEXT)
    return pc.if_else(pc.equal(col, _text_scalar("")), _text_scalar("(empty)"), col)


def zeek_column(col: pa.Array, typ: str, name: str) -> pa.Array:
    """The Zeek text of one Arrow column of Zeek type ``typ`` (``large_string``, no nulls: ``-``).

    Raises :class:`SopkitError` naming the column when its Arrow type does not fit ``typ``.
    """
    t = col.type
    if pa.types.is_null(t):
        out = pa.nulls(len(col), _TEXT)
    elif typ in ("time", "interval", "double"):
        if not (pa.types.is_floating(t) or pa.types.is_integer(t)):
            raise SopkitError(f"column {name!r}: Arrow type {t} cannot be written as Zeek {typ}")
        out = fixed6(_float64s(col))
    elif typ in _INT_TYPES:
        if not pa.types.is_integer(t):
            raise SopkitError(f"column {name!r}: Arrow type {t} cannot be written as Zeek {typ}")
        out = col.cast(_TEXT)
    elif typ == "bool":
        if pa.types.is_integer(t):
            col = col.cast(pa.bool_())  # non-zero is true
        elif not pa.types.is_boolean(t):
            raise SopkitError(f"column {name!r}: Arrow type {t} cannot be written as Zeek bool")
        out = pc.if_else(col, _text_scalar("T"), _text_scalar("F"))
    else:  # string, addr, enum, set[...]: sets arrive already joined by the set separator
        out = _strings(col, name)
    return pc.fill_null(out, _text_scalar("-"))


def tsv_lines(columns: list[pa.Array | None], types: list[str], names: list[str]) -> pa.Buffer:
    """The UTF-8 text of the TSV lines (each ending in ``\\n``) whose fields are ``columns``.

    ``columns`` are Arrow arrays of equal length, one per field (None: the field is unset in every
    row); ``types`` their Zeek types and ``names`` their names (for error messages).
    """
    lengths = {len(c) for c in columns if c is not None}
    if len(lengths) > 1:
        raise SopkitError(f"columns of different lengths {sorted(lengths)}")
    n = lengths.pop() if lengths else 0
    if n == 0:
        return pa.py_buffer(b"")
    cols: list[Any] = [_text_scalar("-") if c is None else zeek_column(c, t, f)
                       for c, t, f in zip(columns, types, names, strict=True)]
    if isinstance(cols[-1], pa.Scalar):
        cols[-1] = _texts([cols[-1].as_py()] * n)
    # the newline goes on the last field (a few bytes a row) rather than on the joined lines
    cols[-1] = pc.binary_join_element_wise(cols[-1], _text_scalar("\n"), _text_scalar(""))
    lines = pc.binary_join_element_wise(*cols, _text_scalar("\t"))
    _, offsets, data = lines.buffers()
    ends = np.frombuffer(offsets, np.int64, n + 1, lines.offset * 8)
    return data.slice(int(ends[0]), int(ends[-1] - ends[0]))
