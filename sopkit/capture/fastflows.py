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

import hashlib
import ipaddress
import socket
import sys
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from sopkit.capture import flows as F
from sopkit.capture.batch import PacketBatch, split_address
from sopkit.capture.community_id import community_id

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

    ``add_batch(batch)`` processes a :class:`PacketBatch`, ``pop_rows()`` hands over the rows of
    connections removed so far (same tuples as ``FlowTable``), ``finish()`` flushes the rest;
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
        self.rows: list[tuple] = []
        self.st = self._alloc(max(int(capacity), 16))

    # -- state arrays --------------------------------------------------------------------------
    def _alloc(self, cap: int) -> Any:
        from numba import types
        from numba.typed import Dict

        K = self.K
        hcap = 1 << (2 * cap - 1).bit_length()
        G = np.zeros(K.NG, np.int64)
        G[K.G_NFREE] = cap
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
        args = [c[name] for name in _COLS]
        for k in (1, 2, 3, 4):  # addresses as int64 bit patterns
            args[k] = np.ascontiguousarray(args[k]).view(np.int64)
        tkeys = self._tunnel_keys(batch)
        i = 0
        while True:
            i = self.K.process(self.st, i, *args, tkeys, self.opt, self.tab)
            self._drain()
            if i >= n:
                return
            self._grow()

    def finish(self) -> list[tuple]:
        """Remove every live connection (end of input) and return all pending rows."""
        self._drain()
        self._grow()
        self.K.finish(self.st)
        self._drain()
        return self.pop_rows()

    def pop_rows(self) -> list[tuple]:
        """Rows of the connections removed since the last call (column order :data:`flows.COLUMNS`)."""
        rows, self.rows = self.rows, []
        return rows

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
        if not self.local_nets:
            return None
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
        """Turn the kernel's tunnel events and removed-connection rows into Python rows."""
        K, st = self.K, self.st
        G = st.G
        ntev = int(G[K.G_NTEV])
        if ntev:
            tunnels = {gid: uid for gid, uid in self.tunnels.values()}
            for ev in st.TEV[:ntev].tolist():
                code = ev[1]
                if code > 0:
                    uid = self._uid(code, ev[2], ev[3], ev[4], ev[5:11])
                else:
                    uid = tunnels[-code - 1]
                lst = self.parents.setdefault(ev[0], [])
                if uid not in lst:
                    lst.append(uid)
            G[K.G_NTEV] = 0
        nout = int(G[K.G_NOUT])
        if not nout:
            return
        out = st.OUT[:nout].tolist()
        hist = np.ascontiguousarray(st.OUT[:nout, K.R_HIST:]).view(np.uint8)
        append = self.rows.append
        states = K.STATES
        for r, row in enumerate(out):
            o, start, last, proto, ver = row[:5]
            oh_b = _addr_bytes(row[K.R_OHI], row[K.R_OLO], ver)
            rh_b = _addr_bytes(row[K.R_RHI], row[K.R_RLO], ver)
            op, rp = row[K.R_OP], row[K.R_RP]
            a, b = (oh_b, op), (rh_b, rp)
            key = (proto, a, b) if a <= b else (proto, b, a)
            uid = _hash_uid(f"{self.seed}|{o}|{start}|{key}")
            dur_ns = last - start
            if dur_ns > 0:
                ob, rb, duration = row[K.R_OB], row[K.R_RB], dur_ns / NS
            else:
                ob = rb = duration = None
            hl = row[K.R_HLEN]
            if hl <= K.HCAP:
                h = hist[r, :hl].tobytes().decode("ascii")
            else:
                h = st.HOVF.pop(o)[:hl].tobytes().decode("ascii")
            stats: list[Any] = []
            sizes: list[Any] = []
            for d in (0, 1):
                base = K.R_DIR + 9 * d
                pk, _ipb, n, isum, smin, smax, ssum, qhi, qlo = row[base:base + 9]
                if n:
                    mean = isum / n
                    sq = ((qhi & _M64) << 64) | (qlo & _M64)
                    var = max(sq / n - mean * mean, 0.0)
                    stats += [mean / NS, var ** 0.5 / NS]
                else:
                    stats += [None, None]
                if pk:
                    sizes += [smin, smax, ssum / pk]
                else:
                    sizes += [None, None, None]
            parents = self.parents.pop(o, None)
            vlan, ivlan = row[K.R_VLAN], row[K.R_IVLAN]
            append((
                start / NS, start, uid, self._text(oh_b), op, self._text(rh_b), rp,
                _PROTO_NAMES.get(proto, "unknown_transport"), proto, "-", duration, ob, rb,
                states[row[K.R_STATE]], self._local(oh_b), self._local(rh_b), row[K.R_MISSED], h,
                row[K.R_DIR], row[K.R_DIR + 1], row[K.R_DIR + 9], row[K.R_DIR + 10],
                ",".join(parents) if parents else None, None if vlan < 0 else vlan,
                None if ivlan < 0 else ivlan, community_id(proto, oh_b, rh_b, op, rp),
                *stats, *sizes,
            ))
        G[K.G_NOUT] = 0


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
    rows: list[tuple] = []
    for batch in batches:
        ft.add_batch(batch)
        rows.extend(ft.pop_rows())
        if bar is not None:
            bar.update(len(batch))
    rows.extend(ft.finish())
    if bar is not None:
        bar.close()
    return F.rows_to_frame(rows)
