"""Compiled flow table over :class:`~sopkit.capture.batch.PacketBatch`: :class:`FastFlowTable`,
:func:`build_flows_fast`.

What: the same connections, row values, uids and DataFrame as :func:`sopkit.capture.flows.build_flows`
(Zeek conn.log semantics, see :mod:`sopkit.capture.flows`), but the per-packet work runs in the
numba kernels of :mod:`sopkit.capture.fastconn` (and its sibling modules) over columnar batches,
with connection state in numpy arrays indexed by a slot, a key → slot open-addressing hash table
and a timer heap in arrays.  State persists across batches (streaming): memory is bounded by the
live connections, removed connections are emitted as integer rows and their slots reused.
Community ids are computed per drained chunk (compiled SHA-1 without the GIL, so it overlaps the
decoding of the next block in the read-ahead thread of :mod:`sopkit.capture.pipeline`).  Removed
rows leave as :class:`RemovedRows`, which become the DataFrame (:func:`~sopkit.capture.fastrows.rows_frame`)
or an Arrow table (:func:`~sopkit.capture.fastrows.rows_table`, no pandas) column by column — no
per-row Python — in whichever thread converts them.

Why numba: the state machine is branchy scalar code (no numpy vectorization applies) and must run
at millions of packets per second.  numba is imported only when a :class:`FastFlowTable` is made,
so ``import sopkit`` and the CLI's help stay fast.  The first use compiles the kernels (cached on
disk by ``cache=True`` afterwards).
"""

from __future__ import annotations

import ipaddress
import sys
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from sopkit.capture import conn as F
from sopkit.capture.batch import FIELDS, PacketBatch, split_address
from sopkit.capture.community_id import community_ids
from sopkit.capture.fastrows import rows_frame, rows_table
from sopkit.capture.flowuid import flow_uid
from sopkit.capture.pipeline import prefetch
from sopkit.errors import CaptureError

if TYPE_CHECKING:  # pandas is imported when a DataFrame is asked for
    import pandas as pd
    import pyarrow as pa

NS = 1_000_000_000
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
        from sopkit.capture import fasttable
        from sopkit.capture.fastsha1 import sha1_rows

        self.K = K
        self.T = fasttable
        self._sha1 = sha1_rows
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
        self.tunnels: dict[tuple, tuple[int, str]] = {}  # canonical tunnel key -> (gid, uid)
        self.parents: dict[int, list[str]] = {}  # ordinal -> tunnel parent uids (live connections)
        self._chunks: list[tuple[np.ndarray, dict, dict, np.ndarray]] = []
        self.st = self._alloc(max(int(capacity), 16))

    # -- state arrays --------------------------------------------------------------------------
    def _alloc(self, cap: int) -> Any:
        K = self.K
        hcap = 1 << (2 * cap - 1).bit_length()
        hovf, bovfd = K.new_dicts()
        G = np.zeros(K.NG, np.int64)
        G[K.G_NFREE] = cap
        G[K.G_MAXTS] = np.iinfo(np.int64).min
        return K.State(
            S=np.zeros((cap, K.NCOL), np.int64), HT=np.zeros(hcap, np.int64),
            FREE=np.arange(cap - 1, -1, -1, dtype=np.int64), TH=np.zeros((4 * cap, 6), np.int64),
            OUT=np.zeros((cap + 64, K.NRF), np.int64), TEV=np.zeros((4096, 11), np.int64), G=G,
            HOVF=hovf, BOVFD=bovfd,
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
                got = self.tunnels[key] = (len(self.tunnels), flow_uid(self.seed, 0, 0, *key))
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
            i = self.T.process(self.st, i, *args, tkeys, self.opt, self.tab)
            self._drain()
            if i >= n:
                return
            self._grow()

    def end(self) -> None:
        """Remove every live connection (end of input); their rows wait for the next pop."""
        self._drain()
        self._grow()
        self.T.finish(self.st)
        self._drain()

    def finish(self) -> pd.DataFrame:
        """Remove every live connection (end of input); the frame of all rows not popped yet."""
        self.end()
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
    def _uid(self, o: int, start: int, proto: int, ver: int, f: Sequence[int]) -> str:
        a = (_addr_bytes(f[0], f[1], ver), int(f[2]))
        b = (_addr_bytes(f[3], f[4], ver), int(f[5]))
        return flow_uid(self.seed, o, start, proto, a, b)

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
        out = st.OUT[:nout].T.copy()  # column-major: out[K.R_*] is one field (a copy, never a view)
        G[K.G_NOUT] = 0
        extra: dict[int, Any] = {}  # row -> tunnel parents / long history
        if self.parents:
            for r, o in enumerate(out[K.R_ORD].tolist()):
                got = self.parents.pop(o, None)
                if got:
                    extra[r] = ",".join(got)
        long_h = {}
        for r in np.flatnonzero(out[K.R_HLEN] > K.HCAP).tolist():
            o, n = int(out[K.R_ORD, r]), int(out[K.R_HLEN, r])
            long_h[r] = K.hist_pop(st.HOVF, o, n).tobytes().decode("ascii")
        # Community ids now, with the GIL released in SHA-1, while the next block is decoded
        cid = community_ids(*(out[i] for i in (K.R_PROTO, K.R_VER, K.R_OHI, K.R_OLO, K.R_OP, K.R_RHI, K.R_RLO,
                                               K.R_RP)), digest_rows=self._sha1)
        self._chunks.append((out, extra, long_h, cid))

    def pop_removed(self) -> RemovedRows:
        """The connections removed since the last call, not yet converted (cheap: the conversion,
        :meth:`RemovedRows.frame` or :meth:`RemovedRows.table`, may then run in another thread)."""
        chunks, self._chunks = self._chunks, []
        return RemovedRows(self.K, chunks, self.seed, self.local_nets)

    def pop_frame(self) -> pd.DataFrame:
        """The connections removed since the last call as the flows DataFrame (like
        :func:`sopkit.capture.flows.rows_to_frame`: same columns, dtypes, values, sorted by ts)."""
        return self.pop_removed().frame()

    def pop_table(self) -> pa.Table:
        """The connections removed since the last call as an Arrow table (sorted by ts, then uid;
        schema :func:`sopkit.capture.connschema.arrow_schema`), without going through pandas."""
        return self.pop_removed().table()

    def pop_rows(self) -> list[tuple]:
        """Rows removed since the last call as tuples (column order :data:`flows.COLUMNS`), for
        code written against ``FlowTable.pop_rows``; :meth:`pop_frame` is the fast way."""
        import pandas as pd

        df = self.pop_frame().astype(object)
        return [tuple(None if v is pd.NA else v for v in row) for row in df.itertuples(index=False)]


class RemovedRows:
    """Rows of removed connections as the kernel wrote them (integers), with what they need to
    become a table: spilled histories, tunnel parents, community ids (see :meth:`FastFlowTable.pop_removed`).
    Converted once, by :meth:`frame` or :meth:`table`; :meth:`join` puts several together first."""

    def __init__(self, K: Any, chunks: list[tuple[np.ndarray, dict, dict, np.ndarray]], seed: int,
                 local_nets: list) -> None:
        self.K, self.chunks, self.seed, self.local_nets = K, chunks, seed, local_nets

    def __len__(self) -> int:
        return sum(c[0].shape[1] for c in self.chunks)

    @staticmethod
    def join(parts: Sequence[RemovedRows]) -> RemovedRows:
        """One :class:`RemovedRows` holding the rows of ``parts`` (of one table), in order."""
        if not parts:
            raise ValueError("RemovedRows.join needs at least one part")
        first = parts[0]
        return RemovedRows(first.K, [c for p in parts for c in p.chunks], first.seed, first.local_nets)

    def _args(self) -> tuple:
        chunks, self.chunks = self.chunks, []  # converted once; the parts are freed as they are joined
        parents: dict[int, str] = {}
        hist: dict[int, str] = {}
        base = 0
        for c in chunks:
            parents.update((base + r, v) for r, v in c[1].items())
            hist.update((base + r, v) for r, v in c[2].items())
            base += c[0].shape[1]
        fields = [c[0] for c in chunks] or [np.zeros((self.K.NRF, 0), np.int64)]
        cid = [c[3] for c in chunks] or [np.zeros((0, 30), np.uint8)]
        return self.K, fields, hist, parents, self.seed, self.local_nets, cid

    def frame(self, *, sort: bool = True) -> pd.DataFrame:
        """The flows DataFrame (:func:`~sopkit.capture.fastrows.rows_frame`); ``sort`` as in :meth:`table`."""
        return rows_frame(*self._args(), sort=sort)

    def table(self, *, sort: bool = True) -> pa.Table:
        """The Arrow table (:func:`~sopkit.capture.fastrows.rows_table`); ``sort=False`` keeps the
        order in which the connections were removed (Zeek's conn.log order)."""
        return rows_table(*self._args(), sort=sort)


def build_flows_fast(batches: Iterable[PacketBatch], *, tcp_inactivity: float = 300.0,
                     udp_inactivity: float = 60.0, icmp_inactivity: float = 60.0,
                     local_nets: Sequence[str] | None = None, progress: bool = False,
                     ignore_checksums: bool = False, report_gaps_for_partial: bool = False,
                     table: FastFlowTable | None = None, threads: bool = True) -> pd.DataFrame:
    """The flows DataFrame of :func:`sopkit.capture.flows.build_flows`, from packet batches.

    Same keywords, columns, dtypes, values and row order (sorted by ``ts_ns`` then ``uid``) as
    ``build_flows`` on the same packets; pass ``table`` to inspect its ``stats`` afterwards.
    With ``threads`` (the default) the batches are produced (decoded) in a background thread
    while the flow kernel, which releases the GIL, runs on the previous ones.
    """
    ft = table or FastFlowTable(tcp_inactivity=tcp_inactivity, udp_inactivity=udp_inactivity,
                                icmp_inactivity=icmp_inactivity, ignore_checksums=ignore_checksums,
                                local_nets=local_nets, report_gaps_for_partial=report_gaps_for_partial)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(unit="pkt", file=sys.stderr)
    for batch in prefetch(batches) if threads else batches:
        ft.add_batch(batch)
        if bar is not None:
            bar.update(len(batch))
    df = ft.finish()
    if bar is not None:
        bar.close()
    return df
