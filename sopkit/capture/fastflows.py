"""Compiled flow table over :class:`~sopkit.capture.batch.PacketBatch`: :class:`FastFlowTable`,
:func:`build_flows_fast`.

What: the same connections, row values, uids and DataFrame as :func:`sopkit.capture.flows.build_flows`
(Zeek conn.log semantics, see :mod:`sopkit.capture.flows`), but the per-packet work runs in the
numba kernels of :mod:`sopkit.capture.fastconn` over columnar batches, with connection state in
numpy arrays indexed by a slot, a key → slot open-addressing hash table and a timer heap in arrays.
State persists across batches (streaming): memory is bounded by the live connections, removed
connections are emitted as rows and their slots reused.  Only row finalization (uid,
community_id, address text, floats) runs in Python, once per connection.

Why numba: the state machine is branchy scalar code (no numpy vectorization applies) and must run
at millions of packets per second.  numba is imported only when a :class:`FastFlowTable` is made,
so ``import sopkit`` and the CLI's help stay fast.  The first use compiles the kernels (cached on
disk by ``cache=True`` afterwards).
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import operator
import socket
import sys
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from sopkit.capture import flows as F
from sopkit.capture.batch import FIELDS, PacketBatch, split_address
from sopkit.errors import CaptureError

NS = 1_000_000_000
_PROTO_NAMES = {6: "tcp", 17: "udp", 1: "icmp", 58: "icmp"}
_COLS = ("ts_ns", "src_hi", "src_lo", "dst_hi", "dst_lo", "ip_version", "proto", "tcp_flags", "flags",
         "sport", "dport", "window", "ip_len", "payload_len", "captured_len", "seq", "ack", "vlan",
         "inner_vlan", "tunnel")
_M64 = 0xFFFF_FFFF_FFFF_FFFF


def _signed(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v


def _addr_bytes(hi: int, lo: int, ver: int) -> bytes:
    if ver == 4:
        return (lo & 0xFFFFFFFF).to_bytes(4, "big")
    return (((hi & _M64) << 64) | (lo & _M64)).to_bytes(16, "big")


def _hash_uid(text: str) -> str:
    h = hashlib.blake2b(text.encode(), digest_size=12)
    return "C" + F._b62(int.from_bytes(h.digest(), "big"))


class FastFlowTable:
    """Compiled equivalent of :class:`~sopkit.capture.flows.FlowTable`, fed whole batches.

    ``add_batch(batch)`` processes a :class:`PacketBatch`, ``pop_frame()`` hands over the rows of
    connections removed so far as a DataFrame (``pop_rows()`` as ``FlowTable``'s tuples),
    ``finish()`` flushes the rest;
    ``stats`` counts what was not turned into a connection, with the same keys as ``FlowTable``.
    """

    def __init__(self, *, tcp_inactivity: float = 300.0, udp_inactivity: float = 60.0,
                 icmp_inactivity: float = 60.0, ignore_checksums: bool = False,
                 local_nets: Sequence[str] | None = None, report_gaps_for_partial: bool = False,
                 dns_session_timeout: float = 10.0, uid_seed: int = 0, capacity: int = 1024) -> None:
        from sopkit.capture import fastconn as K

        self.K = K
        dns = float(dns_session_timeout)
        self.opt = np.array([int(float(tcp_inactivity) * NS), int(float(udp_inactivity) * NS),
                             int(float(icmp_inactivity) * NS), int(dns * NS), int((dns - 1.0) * NS),
                             int(bool(ignore_checksums)), int(bool(report_gaps_for_partial))], np.int64)
        if dns <= 0:
            self.opt[K.OPT_DNS] = 0
        tab = np.zeros((5, 65536), np.int64)
        tab[K.T_LIKELY_TCP, list(F.LIKELY_TCP)] = 1
        tab[K.T_LIKELY_UDP, list(F.LIKELY_UDP)] = 1
        tab[K.T_DNS, list(F.DNS_PORTS)] = 1
        tab[K.T_ICMP4:, :] = -1
        for row, pairs in ((K.T_ICMP4, F.ICMP4_PAIRS), (K.T_ICMP6, F.ICMP6_PAIRS)):
            for a, b in pairs.items():
                tab[row, a] = b
        self.tab = tab
        self.seed = uid_seed
        self.local_nets = [ipaddress.ip_network(n, strict=False) for n in (local_nets or [])]
        self._local_cache: dict[bytes, bool | None] = {}
        self._addr_cache: dict[bytes, str] = {}
        self.tunnels: dict[tuple, tuple[int, str]] = {}  # canonical tunnel key -> (gid, uid)
        self.parents: dict[int, list[str]] = {}  # ordinal -> tunnel parent uids (live connections)
        self._chunks: list[tuple[np.ndarray, dict, dict]] = []
        self.st = self._alloc(max(int(capacity), 16))

    # -- state arrays --------------------------------------------------------------------------
    def _alloc(self, cap: int) -> Any:
        from numba import types
        from numba.typed import Dict

        K = self.K
        hcap = 1 << (2 * cap - 1).bit_length()
        G = np.zeros(K.NG, np.int64)
        G[K.G_NFREE] = cap
        G[K.G_MAXTS] = np.iinfo(np.int64).min
        return K.State(
            S=np.zeros((cap, K.NCOL), np.int64), HT=np.zeros(hcap, np.int64),
            FREE=np.arange(cap - 1, -1, -1, dtype=np.int64), TH=np.zeros((4 * cap, 6), np.int64),
            OUT=np.zeros((cap + 64, K.NRF), np.int64), TEV=np.zeros((4096, 11), np.int64), G=G,
            HOVF=Dict.empty(types.int64, types.uint8[::1]),
            BOVFD=Dict.empty(types.int64, types.int64[::1]),
        )

    def _grow(self) -> None:
        """Double whatever may run out before the next packet (after a drain)."""
        K, st = self.K, self.st
        G = st.G
        if G[K.G_NFREE] < 1:
            cap = len(st.S)
            new = 2 * cap

            def ext(a: np.ndarray) -> np.ndarray:
                out = np.zeros((new,) + a.shape[1:], a.dtype)
                out[:cap] = a
                return out

            free = np.concatenate([np.arange(new - 1, cap - 1, -1, dtype=np.int64), st.FREE[: G[K.G_NFREE]]])
            free = np.concatenate([free, np.zeros(new - len(free), np.int64)])
            G[K.G_NFREE] = new - cap + G[K.G_NFREE]
            st = st._replace(S=ext(st.S), HT=np.zeros(1 << (2 * new - 1).bit_length(), np.int64), FREE=free)
            K.ht_rebuild(st.S, st.HT)
        if G[K.G_NOUT] + G[K.G_NLIVE] + 2 > len(st.OUT):
            n = len(st.S) + G[K.G_NLIVE] + 64
            st = st._replace(OUT=np.zeros((n, K.NRF), np.int64))
        if G[K.G_NHEAP] + 8 > len(st.TH):
            th = np.zeros((2 * len(st.TH), 6), np.int64)
            th[: len(st.TH)] = st.TH
            st = st._replace(TH=th)
        self.st = st

    # -- input ---------------------------------------------------------------------------------
    def _tunnel_keys(self, batch: PacketBatch) -> np.ndarray:
        """Per batch tunnel: the outer connection's key fields, global tunnel id and key hash."""
        out = np.zeros((max(len(batch.tunnels), 1), 9), np.int64)
        for i, t in enumerate(batch.tunnels):
            a, b = (t.src, t.sport), (t.dst, t.dport)
            key = (t.proto, a, b) if a <= b else (t.proto, b, a)
            got = self.tunnels.get(key)
            if got is None:
                got = self.tunnels[key] = (len(self.tunnels), _hash_uid(f"{self.seed}|tunnel|{key}"))
            (ah, al), (bh, bl) = split_address(key[1][0]), split_address(key[2][0])
            kp = t.proto | ((4 if len(t.src) == 4 else 6) << 8)
            f = [kp, _signed(ah), _signed(al), key[1][1], _signed(bh), _signed(bl), key[2][1]]
            out[i, :7] = f
            out[i, 7] = got[0]
            out[i, 8] = self.K.key_hash(*f)
        return out

    def add_batch(self, batch: PacketBatch) -> None:
        """Account every packet of ``batch`` (in order), continuing the state of earlier batches."""
        n = len(batch)
        if not n:
            return
        c = batch.columns
        for name in _COLS:
            col = c.get(name)
            if col is None or col.dtype != FIELDS[name] or col.shape != (n,):
                got = "missing" if col is None else f"{col.dtype} {col.shape}"
                raise CaptureError(f"packet batch column {name!r}: expected {FIELDS[name]} ({n},), got {got}")
        if len(batch.tunnels) <= int(c["tunnel"].max()):
            raise CaptureError(f"packet batch names tunnel {int(c['tunnel'].max())} but lists "
                               f"{len(batch.tunnels)} tunnels")
        # contiguous arrays (one compiled specialization); addresses as int64 bit patterns
        args = [np.ascontiguousarray(c[name]) for name in _COLS]
        for k in (1, 2, 3, 4):
            args[k] = args[k].view(np.int64)
        tkeys = self._tunnel_keys(batch)
        i = 0
        while True:
            i = self.K.process(self.st, i, *args, tkeys, self.opt, self.tab)
            self._drain()
            if i >= n:
                return
            self._grow()

    def finish(self) -> pd.DataFrame:
        """Remove every live connection (end of input); the frame of all rows not popped yet."""
        self._drain()
        self._grow()
        self.K.finish(self.st)
        self._drain()
        return self.pop_frame()

    @property
    def stats(self) -> dict[str, int]:
        K, G = self.K, self.st.G
        return {"packets": int(G[K.G_PACKETS]), "bad_checksum_dropped": int(G[K.G_BADCK]),
                "bad_ip_checksum_dropped": int(G[K.G_BADIP]), "no_conn": int(G[K.G_NOCONN]),
                "tunnel_outer": int(G[K.G_TUNOUT]), "removed_reuse": int(G[K.G_REUSE])}

    @property
    def live(self) -> int:
        """Connections currently held."""
        return int(self.st.G[self.K.G_NLIVE])

    # -- output --------------------------------------------------------------------------------
    def _text(self, addr: bytes) -> str:
        t = self._addr_cache.get(addr)
        if t is None:
            if len(self._addr_cache) > 100_000:
                self._addr_cache.clear()
            t = self._addr_cache[addr] = socket.inet_ntop(
                socket.AF_INET if len(addr) == 4 else socket.AF_INET6, addr)
        return t

    def _local(self, addr: bytes) -> bool | None:
        got = self._local_cache.get(addr)
        if got is None:
            if len(self._local_cache) > 100_000:
                self._local_cache.clear()
            ip = ipaddress.ip_address(addr)
            got = self._local_cache[addr] = any(ip in n for n in self.local_nets)
        return got

    def _uid(self, o: int, start: int, proto: int, ver: int, f: Sequence[int]) -> str:
        a = (_addr_bytes(f[0], f[1], ver), int(f[2]))
        b = (_addr_bytes(f[3], f[4], ver), int(f[5]))
        key = (proto, a, b) if a <= b else (proto, b, a)
        return _hash_uid(f"{self.seed}|{o}|{start}|{key}")

    def _drain(self) -> None:
        """Collect the kernel's tunnel events and removed-connection rows (raw integers)."""
        K, st = self.K, self.st
        G = st.G
        ntev = int(G[K.G_NTEV])
        if ntev:
            tunnels = {gid: uid for gid, uid in self.tunnels.values()}
            for ev in st.TEV[:ntev].tolist():
                code = ev[1]
                uid = self._uid(code, ev[2], ev[3], ev[4], ev[5:11]) if code > 0 else tunnels[-code - 1]
                lst = self.parents.setdefault(ev[0], [])
                if uid not in lst:
                    lst.append(uid)
            G[K.G_NTEV] = 0
        nout = int(G[K.G_NOUT])
        if not nout:
            return
        out = st.OUT[:nout].copy()
        G[K.G_NOUT] = 0
        extra: dict[int, Any] = {}  # row -> tunnel parents / long history
        if self.parents:
            for r, o in enumerate(out[:, K.R_ORD].tolist()):
                got = self.parents.pop(o, None)
                if got:
                    extra[r] = ",".join(got)
        long_h = {}
        for r in np.flatnonzero(out[:, K.R_HLEN] > K.HCAP).tolist():
            o, n = int(out[r, K.R_ORD]), int(out[r, K.R_HLEN])
            long_h[r] = st.HOVF.pop(o)[:n].tobytes().decode("ascii")
        self._chunks.append((out, extra, long_h))

    def pop_frame(self) -> pd.DataFrame:
        """The connections removed since the last call as the flows DataFrame (like
        :func:`sopkit.capture.flows.rows_to_frame`: same columns, dtypes, values, sorted by ts)."""
        K = self.K
        chunks, self._chunks = self._chunks, []
        out = np.concatenate([c[0] for c in chunks]) if chunks else np.zeros((0, K.NRF), np.int64)
        parents: list[str | None] = [None] * len(out)
        hist = np.ascontiguousarray(out[:, K.R_HIST:]).view(f"S{K.HCAP}").ravel().astype(str).tolist()
        base = 0
        for c in chunks:
            for r, v in c[1].items():
                parents[base + r] = v
            for r, v in c[2].items():
                hist[base + r] = v
            base += len(c[0])
        return self._frame(out, hist, parents)

    def _frame(self, out: np.ndarray, hist: list[str], parents: list[str | None]) -> pd.DataFrame:
        K, n = self.K, len(out)
        if not n:
            return F.rows_to_frame([])  # pandas infers object columns for an empty table
        col = {name: out[:, i] for i, name in enumerate(
            ("ord", "start", "last", "proto", "ver", "ohi", "olo", "op", "rhi", "rlo", "rp", "ob", "rb",
             "state", "missed", "hlen", "vlan", "ivlan"))}
        start_l, proto_l = col["start"].tolist(), col["proto"].tolist()
        op_l, rp_l = col["op"].tolist(), col["rp"].tolist()
        oh_b = _addresses(col["ohi"], col["olo"], col["ver"])
        rh_b = _addresses(col["rhi"], col["rlo"], col["ver"])
        swap = _greater(col["ohi"], col["olo"], col["op"], col["rhi"], col["rlo"], col["rp"]).tolist()
        reprs: dict[bytes, str] = {}
        ra = [reprs.get(a) or reprs.setdefault(a, repr(a)) for a in oh_b]
        rb = [reprs.get(b) or reprs.setdefault(b, repr(b)) for b in rh_b]
        seed = self.seed
        # f"{seed}|{n}|{ts}|{key}" with key = FlowTable's (proto, (addr, port), (addr, port)) tuple
        texts = [f"{seed}|{o}|{t}|({p}, ({b}, {bp}), ({a}, {ap}))" if sw else
                 f"{seed}|{o}|{t}|({p}, ({a}, {ap}), ({b}, {bp}))"
                 for o, t, p, a, ap, b, bp, sw in zip(col["ord"].tolist(), start_l, proto_l, ra, op_l, rb, rp_l,
                                                      swap, strict=True)]
        uid = _b62_uids(texts)
        cid = _community_ids(col["proto"], col["ver"], oh_b, rh_b, col["ohi"], col["olo"], col["op"],
                             col["rhi"], col["rlo"], col["rp"])
        dur = (col["last"] - col["start"]).tolist()
        has_dur = col["last"] > col["start"]
        text = self._text
        d: dict[str, Any] = {
            "ts": np.array([x / NS for x in start_l], np.float64), "ts_ns": col["start"].copy(), "uid": uid,
            "id.orig_h": [text(a) for a in oh_b], "id.orig_p": col["op"].copy(),
            "id.resp_h": [text(b) for b in rh_b], "id.resp_p": col["rp"].copy(),
            "proto": [_PROTO_NAMES.get(p, "unknown_transport") for p in proto_l], "ip_proto": col["proto"].copy(),
            "service": ["-"] * n, "duration": [x / NS if x > 0 else None for x in dur],
            "orig_bytes": _int_na(col["ob"], ~has_dur), "resp_bytes": _int_na(col["rb"], ~has_dur),
            "conn_state": np.array(K.STATES, dtype=object)[col["state"]].tolist(),
        }
        if self.local_nets:
            d["local_orig"] = [self._local(a) for a in oh_b]
            d["local_resp"] = [self._local(b) for b in rh_b]
        else:
            d["local_orig"] = d["local_resp"] = [None] * n
        z = np.zeros(n, bool)
        d.update({
            "missed_bytes": _int_na(col["missed"], z), "history": hist,
            "orig_pkts": _int_na(out[:, K.R_DIR], z), "orig_ip_bytes": _int_na(out[:, K.R_DIR + 1], z),
            "resp_pkts": _int_na(out[:, K.R_DIR + 9], z), "resp_ip_bytes": _int_na(out[:, K.R_DIR + 10], z),
            "tunnel_parents": parents, "vlan": _int_na(col["vlan"], col["vlan"] < 0),
            "inner_vlan": _int_na(col["ivlan"], col["ivlan"] < 0), "community_id": cid,
        })
        for side, r in (("orig", 0), ("resp", 9)):
            b = K.R_DIR + r
            iat_n, iat_sum = out[:, b + 2].tolist(), out[:, b + 3].tolist()
            qhi, qlo = out[:, b + 7].tolist(), out[:, b + 8].tolist()
            means, stds = [], []
            for k, sm, h, lo in zip(iat_n, iat_sum, qhi, qlo, strict=True):
                if k:
                    mean = sm / k
                    var = max((((h & _M64) << 64) | (lo & _M64)) / k - mean * mean, 0.0)
                    means.append(mean / NS)
                    stds.append(var ** 0.5 / NS)
                else:
                    means.append(None)
                    stds.append(None)
            d[f"{side}_iat_mean"], d[f"{side}_iat_std"] = means, stds
        for side, r in (("orig", 0), ("resp", 9)):
            b = K.R_DIR + r
            pk = out[:, b]
            none = pk == 0
            d[f"{side}_size_min"] = _int_na(out[:, b + 4], none)
            d[f"{side}_size_max"] = _int_na(out[:, b + 5], none)
            mean = out[:, b + 6] / np.where(none, 1, pk)  # exact: byte sums stay far below 2**53
            d[f"{side}_size_mean"] = [None if m else v for v, m in zip(mean.tolist(), none.tolist(), strict=True)]
        # rows_to_frame's order: by ts_ns, then uid (unique, so no ties remain)
        order = np.lexsort((np.array(uid), col["start"]))
        pick = operator.itemgetter(*order.tolist()) if n > 1 else (lambda seq: tuple(seq))
        cols = {}
        for c in F.COLUMNS:
            v = d[c]
            cols[c] = v[order] if isinstance(v, np.ndarray | pd.arrays.IntegerArray) else list(pick(v))
        df = pd.DataFrame(cols)
        # the conversions of flows.rows_to_frame (kept identical; the equivalence tests compare frames)
        for c in ("local_orig", "local_resp"):
            df[c] = df[c].astype("boolean")
        for c in ("uid", "id.orig_h", "id.resp_h", "proto", "service", "conn_state", "history",
                  "tunnel_parents", "community_id"):
            df[c] = df[c].astype("string")
        return df

    def pop_rows(self) -> list[tuple]:
        """Rows removed since the last call as tuples (column order :data:`flows.COLUMNS`), for
        code written against ``FlowTable.pop_rows``; :meth:`pop_frame` is the fast way."""
        df = self.pop_frame().astype(object)
        return [tuple(None if v is pd.NA else v for v in row) for row in df.itertuples(index=False)]


def _int_na(values: np.ndarray, missing: np.ndarray) -> pd.arrays.IntegerArray:
    return pd.arrays.IntegerArray(np.where(missing, 0, values).astype(np.int64), missing.astype(bool))


def _addresses(hi: np.ndarray, lo: np.ndarray, ver: np.ndarray) -> list[bytes]:
    """Packed address bytes per row (IPv4: 4 bytes, IPv6: 16)."""
    buf = np.empty((len(hi), 2), ">u8")
    buf[:, 0] = hi.view(np.uint64)
    buf[:, 1] = lo.view(np.uint64)
    raw = buf.view(np.uint8).reshape(-1, 16)
    v4 = raw[:, 12:].tobytes()
    v6 = raw.tobytes()
    return [v4[4 * i:4 * i + 4] if v == 4 else v6[16 * i:16 * i + 16] for i, v in enumerate(ver.tolist())]


def _greater(ahi: np.ndarray, alo: np.ndarray, ap: np.ndarray, bhi: np.ndarray, blo: np.ndarray,
             bp: np.ndarray) -> np.ndarray:
    """Row-wise ``(a_addr, a_port) > (b_addr, b_port)`` as packed bytes compare (unsigned halves)."""
    ahi, alo, bhi, blo = (x.view(np.uint64) for x in (ahi, alo, bhi, blo))
    return (ahi > bhi) | ((ahi == bhi) & ((alo > blo) | ((alo == blo) & (ap > bp))))


def _community_ids(proto: np.ndarray, ver: np.ndarray, oh_b: list[bytes], rh_b: list[bytes], ohi: np.ndarray,
                   olo: np.ndarray, op: np.ndarray, rhi: np.ndarray, rlo: np.ndarray,
                   rp: np.ndarray) -> list[str]:
    """:func:`sopkit.capture.community_id.community_id` (seed 0) of every row, the ordering and
    packing vectorized and the base64 of all digests done at once (SHA-1 stays per row)."""
    n = len(proto)
    sp, dp = op.copy(), rp.copy()
    one_way = np.zeros(n, bool)
    for num, pairs in ((1, F.ICMP4_PAIRS), (58, F.ICMP6_PAIRS)):
        icmp = proto == num
        if icmp.any():
            table = np.full(65536, -1, np.int64)
            table[list(pairs)] = list(pairs.values())
            mapped = table[sp & 0xFFFF]
            dp = np.where(icmp & (mapped >= 0), mapped, dp)
            one_way |= icmp & (mapped < 0)
    swap = ~one_way & _greater(ohi, olo, sp, rhi, rlo, dp)
    ported = np.isin(proto, (6, 17, 132, 1, 58))
    digests = []
    order = []
    for v, alen in ((4, 4), (6, 16)):
        for with_ports in (True, False):
            rows = np.flatnonzero((ver == v) & (ported == with_ports))
            if not len(rows):
                continue
            width = 4 + 2 * alen + (4 if with_ports else 0)
            buf = np.zeros((len(rows), width), np.uint8)
            sw = swap[rows]
            src = [rh_b[r] if w else oh_b[r] for r, w in zip(rows.tolist(), sw.tolist(), strict=True)]
            dst = [oh_b[r] if w else rh_b[r] for r, w in zip(rows.tolist(), sw.tolist(), strict=True)]
            buf[:, 2:2 + alen] = np.frombuffer(b"".join(src), np.uint8).reshape(-1, alen)
            buf[:, 2 + alen:2 + 2 * alen] = np.frombuffer(b"".join(dst), np.uint8).reshape(-1, alen)
            buf[:, 2 + 2 * alen] = proto[rows]
            if with_ports:
                s_, d_ = np.where(sw, dp[rows], sp[rows]), np.where(sw, sp[rows], dp[rows])
                ports = np.empty((len(rows), 2), ">u2")
                ports[:, 0], ports[:, 1] = s_ & 0xFFFF, d_ & 0xFFFF
                buf[:, 4 + 2 * alen:] = ports.view(np.uint8).reshape(-1, 4)
            raw = buf.tobytes()
            sha1 = hashlib.sha1
            digests += [sha1(raw[i:i + width]).digest() + b"\0" for i in range(0, len(raw), width)]
            order.append(rows)
    if not n:
        return []
    # base64 of 21 bytes (digest + one zero byte) is the digest's 27 characters plus one: the
    # concatenation encodes in one call
    enc = np.frombuffer(base64.b64encode(b"".join(digests)), "S28")
    out = np.empty(n, object)
    out[np.concatenate(order)] = ["1:" + e[:27].decode("ascii") + "=" for e in enc.tolist()]
    return out.tolist()


_B62 = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", np.uint8)


def _b62_uids(texts: list[str]) -> list[str]:
    """``"C" + base62(blake2b-96(text))`` for each text, the base-62 conversion vectorized
    (what ``flows._hash_uid`` computes one at a time)."""
    n = len(texts)
    if not n:
        return []
    dig = np.frombuffer(b"".join(hashlib.blake2b(t.encode(), digest_size=12).digest() for t in texts),
                        ">u4").reshape(n, 3).astype(np.uint64)
    digits = np.zeros((n, 17), np.uint8)
    for pos in range(16, -1, -1):  # long division of the 3 32-bit limbs by 62
        rem = np.zeros(n, np.uint64)
        for limb in range(3):
            cur = (rem << np.uint64(32)) | dig[:, limb]
            dig[:, limb] = cur // np.uint64(62)
            rem = cur % np.uint64(62)
        digits[:, pos] = rem
    chars = _B62[digits].view("S17").ravel().astype(str).tolist()
    return ["C" + (c.lstrip("0") or "0") for c in chars]


def build_flows_fast(batches: Iterable[PacketBatch], *, tcp_inactivity: float = 300.0,
                     udp_inactivity: float = 60.0, icmp_inactivity: float = 60.0,
                     local_nets: Sequence[str] | None = None, progress: bool = False,
                     ignore_checksums: bool = False, report_gaps_for_partial: bool = False,
                     table: FastFlowTable | None = None) -> pd.DataFrame:
    """The flows DataFrame of :func:`sopkit.capture.flows.build_flows`, from packet batches.

    Same keywords, columns, dtypes, values and row order (sorted by ``ts_ns`` then ``uid``) as
    ``build_flows`` on the same packets; pass ``table`` to inspect its ``stats`` afterwards.
    """
    ft = table or FastFlowTable(tcp_inactivity=tcp_inactivity, udp_inactivity=udp_inactivity,
                                icmp_inactivity=icmp_inactivity, ignore_checksums=ignore_checksums,
                                local_nets=local_nets, report_gaps_for_partial=report_gaps_for_partial)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(unit="pkt", file=sys.stderr)
    for batch in batches:
        ft.add_batch(batch)
        if bar is not None:
            bar.update(len(batch))
    df = ft.finish()
    if bar is not None:
        bar.close()
    return df
