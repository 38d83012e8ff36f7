"""Rows of the compiled flow engine → the flows DataFrame, vectorized: :func:`rows_frame`.

What: turns the integer output rows of :mod:`sopkit.capture.fastconn` (one per removed
connection) into exactly the DataFrame :func:`sopkit.capture.flows.rows_to_frame` builds from
``FlowTable`` rows — same columns, dtypes, values and order (by ``ts_ns``, then ``uid``).  All
columns are built per column with numpy and pyarrow rather than per row in Python: uids by
:mod:`sopkit.capture.flowuid`, community ids by :func:`~sopkit.capture.community_id.community_ids`,
IPv4 address text in numpy (IPv6 once per distinct address), string columns straight into Arrow buffers (the
``string`` dtype of pandas is Arrow-backed).

Float columns must equal Python's ``int / int``, which is correctly rounded even past 2**53
(epoch nanoseconds are): :func:`exact_div` divides in extended precision and falls back to Python
for the rare quotients too close to a rounding boundary to decide.  ``var ** 0.5`` stays Python's
``pow`` per row (numpy's ``** 0.5`` is ``sqrt``, which may differ from ``pow`` in the last bit).

Why our own code: this is the engine's output stage; it reuses numpy, pyarrow and pandas.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from sopkit.capture.community_id import community_ids
from sopkit.capture.connschema import COLUMNS, KINDS, arrow_schema
from sopkit.capture.flowuid import flow_uid_words, uid_chars

if TYPE_CHECKING:  # pandas is imported only when a DataFrame is asked for
    import pandas as pd

NS = 1_000_000_000
_M64 = 0xFFFF_FFFF_FFFF_FFFF
_EXACT = 1 << 53
_PROTO_CODE = np.full(256, 3, np.int64)
_PROTO_CODE[[6, 17, 1, 58]] = [0, 1, 2, 2]
_PROTO_TEXT = ("tcp", "udp", "icmp", "unknown_transport")
_LONG_DOUBLE_OK = np.finfo(np.longdouble).nmant >= 63  # int64 exact in np.longdouble


def exact_div(num: np.ndarray, den: np.ndarray | int) -> np.ndarray:
    """Python's ``int / int`` (correctly rounded) of int64 arrays, as float64."""
    num = np.asarray(num, np.int64)
    den = np.broadcast_to(np.asarray(den, np.int64), num.shape)
    res = num.astype(np.float64) / den.astype(np.float64)  # exact operands: IEEE rounds correctly
    hard = np.flatnonzero((np.abs(num) > _EXACT) | (np.abs(den) > _EXACT))
    if not len(hard):
        return res
    if _LONG_DOUBLE_OK:
        q = num[hard].astype(np.longdouble) / den[hard].astype(np.longdouble)
        y = q.astype(np.float64)
        yl = y.astype(np.longdouble)
        below = (yl + np.nextafter(y, -np.inf).astype(np.longdouble)) / 2
        above = (yl + np.nextafter(y, np.inf).astype(np.longdouble)) / 2
        margin = np.abs(np.spacing(q))
        safe = (q - below > margin) & (above - q > margin)
        res[hard[safe]] = y[safe]
        hard = hard[~safe]
    res[hard] = [a / b for a, b in zip(num[hard].tolist(), den[hard].tolist(), strict=True)]
    return res


def _strings(data: np.ndarray, lengths: np.ndarray) -> pa.Array:
    """Arrow strings from concatenated UTF-8 bytes and per-row byte lengths."""
    offsets = np.zeros(len(lengths) + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return pa.Array.from_buffers(pa.large_string(), len(lengths),
                                 [None, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(data))])


def _fixed_strings(chars: np.ndarray) -> pa.Array:
    """Arrow strings from an ``(n, width)`` uint8 array of ASCII."""
    n, w = chars.shape
    return _strings(chars.reshape(-1), np.full(n, w, np.int64))


def _texts(items: list[str | None]) -> pa.Array:
    """Arrow strings (None: null) from a Python list."""
    raw = [b"" if t is None else t.encode() for t in items]
    lengths = np.fromiter(map(len, raw), np.int64, len(raw))
    offsets = np.zeros(len(raw) + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    missing = np.fromiter((t is None for t in items), bool, len(items))
    return pa.Array.from_buffers(pa.large_string(), len(raw),
                                 [_validity(missing), pa.py_buffer(offsets), pa.py_buffer(b"".join(raw))])


def _validity(missing: np.ndarray | None) -> pa.Buffer | None:
    """Arrow validity bitmap (bit set = present) of a missing-value mask; None when nothing is missing."""
    if missing is None or not missing.any():
        return None
    return pa.py_buffer(np.packbits(~missing, bitorder="little"))


def _numbers(values: np.ndarray, typ: pa.DataType, missing: np.ndarray | None = None) -> pa.Array:
    """An Arrow int64/float64/bool array over numpy ``values`` (``missing``: null mask)."""
    if typ == pa.bool_():
        data = pa.py_buffer(np.packbits(values.astype(bool), bitorder="little"))
    else:
        data = pa.py_buffer(np.ascontiguousarray(values, typ.to_pandas_dtype()))
    return pa.Array.from_buffers(typ, len(values), [_validity(missing), data])


def _gather(data: np.ndarray, offsets: np.ndarray, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Strings ``index[i]`` of a string table (concatenated bytes ``data``, ``offsets`` into it):
    the picked strings' concatenated bytes and lengths, in numpy (no per-row Python)."""
    lengths = (offsets[1:] - offsets[:-1])[index]
    total = int(lengths.sum())
    starts = np.cumsum(lengths) - lengths
    pos = np.arange(total, dtype=np.int64) + np.repeat(offsets[:-1][index] - starts, lengths)
    return data[pos], lengths


def _table(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """A string table (concatenated UTF-8 bytes, offsets) for :func:`_gather`."""
    raw = [t.encode() for t in texts]
    offsets = np.zeros(len(raw) + 1, np.int64)
    np.cumsum([len(b) for b in raw], out=offsets[1:])
    return np.frombuffer(b"".join(raw), np.uint8), offsets


def _pick(choices: Sequence[str], index: np.ndarray) -> pa.Array:
    """``choices[index[i]]`` for each row, as Arrow strings."""
    return _strings(*_gather(*_table(choices), np.asarray(index, np.int64)))


def _sparse_texts(n: int, values: dict[int, str]) -> pa.Array:
    """``n`` Arrow strings, null except the rows in ``values``."""
    if not values:
        return pa.Array.from_buffers(pa.large_string(), n, [_validity(np.ones(n, bool)),
                                     pa.py_buffer(np.zeros(n + 1, np.int64)), pa.py_buffer(b"")])
    rows = np.array(sorted(values), np.int64)
    items: list[str | None] = [None] * n
    for r in rows.tolist():
        items[r] = values[r]
    return _texts(items)


def _history(words: np.ndarray, hlen: np.ndarray, long: dict[int, str]) -> pa.Array:
    """History strings: inline letters (8 per little-endian int64 word) or the spilled ones."""
    n, width = len(hlen), 8 * words.shape[1]
    mat = np.ascontiguousarray(words).astype("<i8").view(np.uint8).reshape(n, width)
    inline = np.minimum(hlen, width)
    rows = np.array(sorted(long), np.int64)
    inline[rows] = 0
    lengths = inline.copy()
    spill = [long[r].encode("ascii") for r in rows.tolist()]
    lengths[rows] = [len(b) for b in spill]
    mask = np.arange(width)[None, :] < inline[:, None]
    if not len(rows):
        return _strings(mat[mask], lengths)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    data = np.empty(offsets[-1], np.uint8)
    within = np.nonzero(mask)
    data[offsets[within[0]] + within[1]] = mat[mask]
    for r, b in zip(rows.tolist(), spill, strict=True):
        data[offsets[r]:offsets[r + 1]] = np.frombuffer(b, np.uint8)
    return _strings(data, lengths)


_OCTETS = np.zeros((256, 4), np.uint8)  # decimal text of each byte value, then "."
_OCTET_LEN = np.array([len(str(i)) for i in range(256)], np.int64)
for _i in range(256):
    _OCTETS[_i, :_OCTET_LEN[_i] + 1] = np.frombuffer(f"{_i}.".encode(), np.uint8)


def _ipv4_text(value: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dotted-quad text of IPv4 addresses (low 32 bits of ``value``): concatenated bytes, lengths."""
    octets = np.stack([(value >> s) & 0xFF for s in (24, 16, 8, 0)], axis=1)
    mat = _OCTETS[octets]  # (n, 4 octets, 4 chars)
    keep = _OCTET_LEN[octets] + 1
    keep[:, 3] -= 1  # no dot after the last octet
    mask = np.arange(4)[None, None, :] < keep[:, :, None]
    return mat[mask], keep.sum(axis=1)


def _addresses(hi: np.ndarray, lo: np.ndarray, ver: np.ndarray) -> pa.Array:
    """Address text per row: IPv4 built in numpy, IPv6 by ``inet_ntop`` once per distinct address."""
    v6 = np.flatnonzero(ver != 4)
    if not len(v6):
        return _strings(*_ipv4_text(lo & 0xFFFFFFFF))
    pair = np.empty((len(v6), 2), ">u8")
    pair[:, 0], pair[:, 1] = hi[v6].view(np.uint64), lo[v6].view(np.uint64)
    uniq, inv = np.unique(pair.view("V16").ravel(), return_inverse=True)
    raw = uniq.tobytes()
    text6 = [socket.inet_ntop(socket.AF_INET6, raw[i:i + 16]) for i in range(0, len(raw), 16)]
    v4 = np.flatnonzero(ver == 4)
    data4, len4 = _ipv4_text(lo[v4] & 0xFFFFFFFF)
    data6, off6 = _table(text6)
    offsets = np.concatenate([np.cumsum(np.concatenate([[0], len4])), off6[1:] + len4.sum()])
    idx = np.empty(len(ver), np.int64)
    idx[v4] = np.arange(len(v4))
    idx[v6] = len(v4) + inv.ravel()
    return _strings(*_gather(np.concatenate([data4, data6]), offsets, idx))


def _local(hi: np.ndarray, lo: np.ndarray, ver: np.ndarray, local_nets: list) -> np.ndarray:
    """Whether each address lies in one of ``local_nets`` (ipaddress networks), vectorized."""
    uh, ul = hi.view(np.uint64), lo.view(np.uint64)
    inside = np.zeros(len(hi), bool)
    for net in local_nets:
        value, mask = int(net.network_address), int(net.netmask)
        if net.version == 4:
            inside |= (ver == 4) & ((ul & np.uint64(0xFFFFFFFF) & np.uint64(mask)) == np.uint64(value))
        else:
            inside |= (ver == 6) & ((uh & np.uint64(mask >> 64)) == np.uint64(value >> 64)) & (
                (ul & np.uint64(mask & _M64)) == np.uint64(value & _M64))
    return inside


def _iat(n: np.ndarray, total: np.ndarray, qhi: np.ndarray, qlo: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """FlowTable's inter-arrival mean and standard deviation (seconds), NaN where no gap."""
    some = np.flatnonzero(n > 0)
    k = n[some]
    mean = exact_div(total[some], k)
    small = (qhi[some] == 0) & (qlo[some] >= 0)
    sq = np.empty(len(some))
    sq[small] = exact_div(qlo[some][small], k[small])
    big = np.flatnonzero(~small)
    sq[big] = [(((h & _M64) << 64) | (lo & _M64)) / c for h, lo, c in
               zip(qhi[some][big].tolist(), qlo[some][big].tolist(), k[big].tolist(), strict=True)]
    var = sq - mean * mean
    var = np.where(0.0 > var, 0.0, var)  # Python's max(var, 0.0)
    std = np.array([v ** 0.5 for v in var.tolist()], np.float64)
    m_out, s_out = np.full(len(n), np.nan), np.full(len(n), np.nan)
    m_out[some] = mean / NS
    s_out[some] = std / NS
    return m_out, s_out


def _order(start: np.ndarray, w1: np.ndarray, w2: np.ndarray) -> np.ndarray:
    """Row order by ``start``, then ``(w1, w2)`` (the uid): a stable sort of ``start`` (mostly
    sorted already), then the few runs of equal start times sorted by uid."""
    order = np.argsort(start, kind="stable")
    s = start[order]
    tie = np.zeros(len(s), bool)
    eq = s[1:] == s[:-1]
    tie[1:] |= eq
    tie[:-1] |= eq
    pos = np.flatnonzero(tie)
    if len(pos):
        sub = order[pos]  # runs of equal start stay in place: sort them by (start, w1, w2)
        order[pos] = sub[np.lexsort((w2[sub], w1[sub], start[sub]))]
    return order


def _take(parts: list[np.ndarray] | np.ndarray, axis: int) -> np.ndarray:
    """One array from a list of parts joined along ``axis``, emptying the list (frees them early)."""
    if isinstance(parts, np.ndarray):
        return parts
    whole = np.concatenate(parts, axis=axis) if len(parts) > 1 else parts[0]
    parts.clear()
    return whole


def rows_columns(K: Any, fields: list[np.ndarray] | np.ndarray, long_hist: dict[int, str],
                 parents: dict[int, str], seed: int, local_nets: list,
                 cid: list[np.ndarray] | np.ndarray | None = None, *, sort: bool = True) -> dict[str, Any]:
    """The columns of the removed connections, sorted by ``ts_ns`` then ``uid`` (``sort=False``: in
    the order given, which for the engine is the order connections were removed), before they
    become a DataFrame or an Arrow table: by kind (:data:`~sopkit.capture.connschema.KINDS`),
    ``float``/``int`` a numpy array, ``Int64``/``boolean`` a ``(values, missing)`` pair (missing may
    be None), ``string`` an Arrow array.

    ``fields``: their output rows column-major, ``fields[K.R_*, row]``, as one array or a list of
    parts (concatenated, and the list emptied so the parts can be freed); ``long_hist`` and
    ``parents``: spilled histories and tunnel parents of some rows (by row index); ``seed``: the
    table's uid seed; ``cid``: the rows' :func:`community_ids` (``(n, 30)`` uint8; a list of parts
    like ``fields``) when already computed.
    """
    fields = _take(fields, 1)
    n = fields.shape[1]
    names = ("ord", "start", "last", "proto", "ver", "ohi", "olo", "op", "rhi", "rlo", "rp", "ob", "rb", "state",
             "missed", "hlen", "vlan", "ivlan")
    c = dict(zip(names, fields, strict=False))
    ou, ol, ru, rl = (c[x].view(np.uint64) for x in ("ohi", "olo", "rhi", "rlo"))
    swap = (ou > ru) | ((ou == ru) & ((ol > rl) | ((ol == rl) & (c["op"] > c["rp"]))))
    a = [np.where(swap, c[r], c[o]) for o, r in (("ohi", "rhi"), ("olo", "rlo"), ("op", "rp"))]
    b = [np.where(swap, c[o], c[r]) for o, r in (("ohi", "rhi"), ("olo", "rlo"), ("op", "rp"))]
    w1, w2 = flow_uid_words(seed, c["ord"], c["start"], c["proto"], c["ver"], *a, *b)
    del a, b, swap
    if sort:  # rows_to_frame's order: by ts_ns, then uid (fixed-width base 62 in ASCII order: numeric order)
        order = _order(c["start"], w1, w2)
        c = {}
        fields = np.take(fields, order, axis=1)
        rank = np.empty(n, np.int64)
        rank[order] = np.arange(n)
        long_hist = {int(rank[r]): v for r, v in long_hist.items()}
        parents = {int(rank[r]): v for r, v in parents.items()}
        w1, w2 = w1[order], w2[order]
        c = dict(zip(names, fields, strict=False))
    proto = c["proto"]
    local_o = _local(c["ohi"], c["olo"], c["ver"], local_nets) if local_nets else None
    local_r = _local(c["rhi"], c["rlo"], c["ver"], local_nets) if local_nets else None
    if cid is None:
        cid = community_ids(proto, c["ver"], c["ohi"], c["olo"], c["op"], c["rhi"], c["rlo"], c["rp"])
    else:
        cid = _take(cid, 0)
        cid = cid[order] if sort else cid
    dur = c["last"] - c["start"]
    no_dur = dur <= 0
    unknown = np.ones(n, bool)  # local_* without --local-net: unknown
    d: dict[str, Any] = {
        "ts": exact_div(c["start"], NS), "ts_ns": c["start"], "uid": _fixed_strings(uid_chars(w1, w2)),
        "id.orig_h": _addresses(c["ohi"], c["olo"], c["ver"]), "id.orig_p": c["op"],
        "id.resp_h": _addresses(c["rhi"], c["rlo"], c["ver"]), "id.resp_p": c["rp"],
        "proto": _pick(_PROTO_TEXT, _PROTO_CODE[proto & 0xFF]), "ip_proto": proto,
        "service": _pick(("-",), np.zeros(n, np.int64)),
        "duration": np.where(no_dur, np.nan, exact_div(dur, NS)),
        "orig_bytes": (c["ob"], no_dur), "resp_bytes": (c["rb"], no_dur),
        "conn_state": _pick(K.STATES, c["state"]),
        "local_orig": (~unknown, unknown) if local_o is None else (local_o, None),
        "local_resp": (~unknown, unknown) if local_r is None else (local_r, None),
        "missed_bytes": (c["missed"], None),
        "history": _history(fields[K.R_HIST:].T, c["hlen"], long_hist),
        "orig_pkts": (fields[K.R_DIR], None), "orig_ip_bytes": (fields[K.R_DIR + 1], None),
        "resp_pkts": (fields[K.R_DIR + 9], None), "resp_ip_bytes": (fields[K.R_DIR + 10], None),
        "tunnel_parents": _sparse_texts(n, parents),
        "vlan": (c["vlan"], c["vlan"] < 0), "inner_vlan": (c["ivlan"], c["ivlan"] < 0),
        "community_id": _fixed_strings(cid),
    }
    for side, r in (("orig", 0), ("resp", 9)):
        base = K.R_DIR + r
        d[f"{side}_iat_mean"], d[f"{side}_iat_std"] = _iat(fields[base + 2], fields[base + 3], fields[base + 7],
                                                           fields[base + 8])
    for side, r in (("orig", 0), ("resp", 9)):
        base = K.R_DIR + r
        pk = fields[base]
        none = pk == 0
        d[f"{side}_size_min"] = (fields[base + 4], none)
        d[f"{side}_size_max"] = (fields[base + 5], none)
        d[f"{side}_size_mean"] = np.where(none, np.nan, exact_div(fields[base + 6], np.where(none, 1, pk)))
    return d


def rows_table(K: Any, fields: list[np.ndarray] | np.ndarray, long_hist: dict[int, str], parents: dict[int, str],
               seed: int, local_nets: list, cid: list[np.ndarray] | np.ndarray | None = None, *,
               sort: bool = True) -> pa.Table:
    """The removed connections as an Arrow table of schema :func:`~sopkit.capture.connschema.arrow_schema`
    (arguments as :func:`rows_columns`): what ``sopkit flows`` writes, without pandas."""
    d = rows_columns(K, fields, long_hist, parents, seed, local_nets, cid, sort=sort)
    schema = arrow_schema()
    arrays = []
    for name, field in zip(COLUMNS, schema, strict=True):
        v, kind = d[name], KINDS[name]
        if kind == "string":
            arrays.append(v)
        elif kind == "float":  # missing is NaN, written as null (as pyarrow does from pandas)
            arrays.append(_numbers(v, field.type, np.isnan(v)))
        elif kind == "int":
            arrays.append(_numbers(v, field.type))
        else:
            arrays.append(_numbers(v[0], field.type, v[1]))
    return pa.Table.from_arrays(arrays, schema=schema)


def rows_frame(K: Any, fields: list[np.ndarray] | np.ndarray, long_hist: dict[int, str], parents: dict[int, str],
               seed: int, local_nets: list, cid: list[np.ndarray] | np.ndarray | None = None, *,
               sort: bool = True) -> pd.DataFrame:
    """The flows DataFrame of removed connections (arguments as :func:`rows_columns`): exactly what
    :func:`sopkit.capture.flows.rows_to_frame` builds from ``FlowTable`` rows."""
    import pandas as pd

    fields = _take(fields, 1)
    if not fields.shape[1]:
        from sopkit.capture.flows import rows_to_frame

        return rows_to_frame([])  # pandas infers object columns for an empty table
    d = rows_columns(K, fields, long_hist, parents, seed, local_nets, cid, sort=sort)
    out: dict[str, Any] = {}
    for name in COLUMNS:
        v, kind = d[name], KINDS[name]
        if kind == "string":
            out[name] = pd.arrays.ArrowStringArray(v)
        elif kind == "float":  # as pandas infers floats and Nones: NaN, or all None
            out[name] = np.full(len(v), None, object) if np.isnan(v).all() else v
        elif kind == "int":
            out[name] = v
        else:
            values, missing = v
            missing = np.zeros(len(values), bool) if missing is None else missing
            cls = pd.arrays.IntegerArray if kind == "Int64" else pd.arrays.BooleanArray
            out[name] = cls(np.where(missing, 0, values).astype(values.dtype if kind == "Int64" else bool),
                            missing.astype(bool))
    return pd.DataFrame(out)
