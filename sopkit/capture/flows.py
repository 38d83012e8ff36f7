"""Streaming flow table with Zeek conn.log semantics: :class:`FlowTable`, :func:`build_flows`,
:func:`flows_from_captures`.

What: packets (:class:`sopkit.capture.packet.Packet`) go in one at a time in capture order;
connections are keyed like Zeek (protocol + unordered address/port pair), created with Zeek's
originator rules, updated by :mod:`sopkit.capture.conn`, and removed — emitted as a row and
forgotten — when Zeek would remove them: inactivity (TCP 300 s, UDP/ICMP/other 60 s by default),
the TCP attempt/expire/close timers, or reuse of the 5-tuple by a new SYN.  Memory therefore stays
bounded by the number of live connections.

Why our own code: see :mod:`sopkit.capture.conn`.  Row values are scalars computed from the state
there; only the output DataFrame uses pandas.
"""

from __future__ import annotations

import heapq
import ipaddress
import socket
import sys
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from sopkit.capture import conn as C
from sopkit.capture import conntcp as T
from sopkit.capture.community_id import community_id
from sopkit.capture.conn import DNS_PORTS, ICMP4_PAIRS, ICMP6_PAIRS, LIKELY_TCP, LIKELY_UDP, TUNNEL_PROTOS
from sopkit.capture.connschema import COLUMNS, columns_of
from sopkit.capture.flowuid import flow_uid
from sopkit.capture.packet import Packet
from sopkit.errors import CaptureError

NS = 1_000_000_000
_INT_COLS = columns_of("Int64")


def _addr(b: bytes) -> str:
    return socket.inet_ntop(socket.AF_INET if len(b) == 4 else socket.AF_INET6, b)


class FlowTable:
    """Zeek-compatible connection table fed one packet at a time.

    ``add(packet)`` updates it (expiring idle connections first), ``pop_rows()`` hands over the
    rows of connections removed so far, ``finish()`` flushes the rest.  ``stats`` counts what was
    not turned into a connection and why.
    """

    def __init__(self, *, tcp_inactivity: float = 300.0, udp_inactivity: float = 60.0,
                 icmp_inactivity: float = 60.0, ignore_checksums: bool = False,
                 local_nets: Sequence[str] | None = None, report_gaps_for_partial: bool = False,
                 dns_session_timeout: float = 10.0, uid_seed: int = 0) -> None:
        self.tcp_to = float(tcp_inactivity)
        self.udp_to = float(udp_inactivity)
        self.icmp_to = float(icmp_inactivity)
        self.ignore_checksums = ignore_checksums
        self.report_partial = report_gaps_for_partial
        self.dns_to = float(dns_session_timeout)
        self.local_nets = [ipaddress.ip_network(n, strict=False) for n in (local_nets or [])]
        self.seed = uid_seed
        self.conns: dict[tuple, C.Conn] = {}
        self.timers: list[tuple[int, int, int, C.Conn, int]] = []
        self.rows: list[tuple] = []
        self.tunnel_uids: dict[tuple, str] = {}
        self.n_conns = 0
        self._tick = 0
        self.stats = {"packets": 0, "bad_checksum_dropped": 0, "bad_ip_checksum_dropped": 0,
                      "no_conn": 0, "tunnel_outer": 0, "removed_reuse": 0}

    # -- timers ------------------------------------------------------------------------------
    def _timer(self, when_ns: int, kind: int, c: C.Conn) -> None:
        self._tick += 1
        heapq.heappush(self.timers, (when_ns, self._tick, kind, c, c.seq_no))

    def advance(self, now_ns: int) -> None:
        """Fire every timer due at or before ``now_ns`` (Zeek expires timers before a packet)."""
        timers = self.timers
        while timers and timers[0][0] <= now_ns:
            when, _, kind, c, gen = heapq.heappop(timers)
            if c.removed:
                continue
            if kind == 0:  # inactivity
                due = c.last_ns + int(c.timeout * NS)
                if due <= when:
                    self._remove(c)
                else:
                    self._timer(due, 0, c)
            elif kind == 3:  # delete after close
                self._remove(c)
            elif kind == 4:  # DNS analyzer's session expiry (UDP)
                if when - c.last_ns >= int((self.dns_to - 1.0) * NS):
                    self._remove(c)
                else:
                    self._timer(when + int(self.dns_to * NS), 4, c)
            elif gen != c.seq_no or not c.is_active:
                continue  # analyzer timer cancelled, or connection already finished
            elif kind == 1:  # attempt
                o, r = c.ep
                if o.state in (C.SYN_SENT, C.SYN_ACK_SENT) and r.state == C.INACTIVE:
                    c.is_active = False
                    self._remove(c)
            elif kind == 2:  # expire
                o, r = c.ep
                if c.last_ns + C.LINGER * NS < when:
                    if (o.did_close or r.did_close) and (
                        (o.did_close and r.did_close) or C.RESET in (o.state, r.state)
                        or C.INACTIVE in (o.state, r.state)
                    ):
                        c.is_active = False
                        self._remove(c)
                        continue
                    if o.state == C.INACTIVE and r.state == C.INACTIVE:
                        self._remove(c)
                        continue
                self._timer(when + int(C.SESSION_TIMER * NS), 2, c)

    def _remove(self, c: C.Conn) -> None:
        c.removed = True
        if self.conns.get(c.key) is c:
            del self.conns[c.key]
        self.rows.append(self._row(c))

    # -- packets -----------------------------------------------------------------------------
    def add(self, p: Packet) -> None:
        """Account one decoded packet."""
        self.stats["packets"] += 1
        if p.extra and p.extra.get("no_conn"):
            self.stats["no_conn"] += 1
            return
        ts = p.ts_ns
        if self.timers and self.timers[0][0] <= ts:
            self.advance(ts)
        if p.bad_checksum and not self.ignore_checksums and p.extra.get("bad_ip_checksum"):
            self.stats["bad_ip_checksum_dropped"] += 1
            return
        proto = p.proto
        src, dst = p.src, p.dst
        if proto == 6 or proto == 17:
            sport, dport = p.sport, p.dport
        elif proto == 1 or proto == 58:
            pairs = ICMP4_PAIRS if proto == 1 else ICMP6_PAIRS
            sport = p.sport
            dport = pairs.get(sport, p.dport)
        elif proto in TUNNEL_PROTOS:
            self.stats["tunnel_outer"] += 1
            return
        else:
            sport = dport = 0
        a, b = (src, sport), (dst, dport)
        key = (proto, a, b) if a <= b else (proto, b, a)
        c = self.conns.get(key)
        if c is not None and proto == 6 and p.tcp_flags & C.SYN and self._is_reuse(c, p):
            self.stats["removed_reuse"] += 1
            self._remove(c)
            c = None
        if c is None:
            c = self._new_conn(key, p, sport, dport)
        is_orig = src == c.orig_h and sport == c.orig_p
        if proto == 6:
            bad = p.bad_checksum and not self.ignore_checksums
            if bad:
                d = 0 if is_orig else 1
                C.scaled(c, c.ep[d], "C", "chk", "chk_th")
                self.stats["bad_checksum_dropped"] += 1
            else:
                captured = min(len(p.payload), p.payload_len)
                act = T.tcp_packet(c, is_orig, ts, p.tcp_flags, p.seq, p.ack, p.payload_len, captured,
                                   p.window, p.ip_len, self.tcp_to, self.report_partial)
                if act:
                    if act & T.ACT_ATTEMPT:
                        self._timer(ts + int(C.ATTEMPT_DELAY * NS), 1, c)
                    if act & T.ACT_DELETE:
                        c.seq_no += 1  # cancel attempt/expire timers
                        self._timer(c.last_ns + int(C.CLOSE_DELAY * NS), 3, c)
                    if act & T.ACT_EXPIRE:
                        self._timer(c.last_ns + int(C.SESSION_TIMER * NS), 2, c)
        else:
            d = 0 if is_orig else 1
            c.count(d, ts, p.ip_len)
            if p.bad_checksum and not self.ignore_checksums and proto != 17:
                self.stats["bad_checksum_dropped"] += 1
            elif p.bad_checksum and not self.ignore_checksums:
                c.check_history(C.H_CORRUPT, "C", is_orig)
                self.stats["bad_checksum_dropped"] += 1
            else:
                c.last_ns = ts
                if proto == 17:
                    c.check_history(C.H_DATA, "D", is_orig)
                if proto in (1, 17, 58):
                    n = max(p.payload_len, 0)
                    c.udp_len[d] = n if c.udp_len[d] < 0 else c.udp_len[d] + n
        if p.tunnel is not None:
            uid = self._tunnel_uid(p.tunnel)
            if uid not in c.tunnel_parents:
                c.tunnel_parents.append(uid)

    def _is_reuse(self, c: C.Conn, p: Packet) -> bool:
        """Zeek's ``IsReuse``: does this SYN start a new connection on a known 5-tuple?"""
        o, r = c.ep
        conn_orig = o
        if p.tcp_flags & C.ACK:
            if o.state != C.INACTIVE:
                return False
            conn_orig = r
        if not (o.did_close or r.did_close):
            if p.seq == conn_orig.start & C.M32:
                return False
            if (not p.tcp_flags & C.ACK and conn_orig.state == C.SYN_ACK_SENT and r.state == C.INACTIVE
                    and p.seq == r.start & C.M32):
                return False
        return True

    def _new_conn(self, key: tuple, p: Packet, sport: int, dport: int) -> C.Conn:
        proto = p.proto
        name = {6: "tcp", 17: "udp", 1: "icmp", 58: "icmp"}.get(proto, "unknown_transport")
        c = C.Conn(key, name, proto, p.src, sport, p.dst, dport, p.ts_ns)
        self.n_conns += 1
        c.uid = flow_uid(self.seed, self.n_conns, p.ts_ns, proto, key[1], key[2])
        c.vlan, c.inner_vlan = p.vlan, p.inner_vlan
        flip = False
        if proto == 6:
            c.timeout = self.udp_to  # Zeek: TCP starts on the UDP timeout until the handshake ends
            fl = p.tcp_flags
            if not fl & C.SYN or fl & C.ACK:
                if sport in LIKELY_TCP:
                    flip = (not fl & C.SYN and sport < dport) if dport in LIKELY_TCP else True
            self._timer(p.ts_ns + int(C.SYN_TIMEOUT * NS), 2, c)
        elif proto == 17:
            c.timeout = self.udp_to
            flip = sport in LIKELY_UDP and dport not in LIKELY_UDP
            if self.dns_to > 0 and (dport if not flip else sport) in DNS_PORTS:
                self._timer(p.ts_ns + int(self.dns_to * NS), 4, c)
        elif proto in (1, 58):
            c.timeout = self.icmp_to
        else:
            c.timeout = self.udp_to
        if flip and p.dst != b"\xff\xff\xff\xff":
            c.flip()
        self.conns[key] = c
        self._timer(p.ts_ns + int(c.timeout * NS), 0, c)
        return c

    def _tunnel_uid(self, t: Any) -> str:
        a, b = (t.src, t.sport), (t.dst, t.dport)
        key = (t.proto, a, b) if a <= b else (t.proto, b, a)
        outer = self.conns.get(key)
        if outer is not None:
            return outer.uid
        uid = self.tunnel_uids.get(key)
        if uid is None:
            uid = self.tunnel_uids[key] = flow_uid(self.seed, 0, 0, key[0], key[1], key[2])
        return uid

    # -- output ------------------------------------------------------------------------------
    def _local(self, addr: bytes) -> bool | None:
        if not self.local_nets:
            return None
        ip = ipaddress.ip_address(addr)
        return any(ip in n for n in self.local_nets)

    def _row(self, c: C.Conn) -> tuple:
        dur_ns = c.last_ns - c.start_ns
        if dur_ns > 0:
            ob, rb = c.sizes()
            duration = dur_ns / NS
        else:
            ob = rb = duration = None
        if c.proto in ("tcp", "udp"):
            hist = "".join(c.history)
        else:
            hist = "".join(c.history) or None
        stats = []
        for d in (0, 1):
            n = c.iat_n[d]
            if n:
                mean = c.iat_sum[d] / n
                var = max(c.iat_sq[d] / n - mean * mean, 0.0)
                stats += [mean / NS, var ** 0.5 / NS]
            else:
                stats += [None, None]
        sizes = []
        for d in (0, 1):
            if c.pkts[d]:
                sizes += [c.sz_min[d], c.sz_max[d], c.sz_sum[d] / c.pkts[d]]
            else:
                sizes += [None, None, None]
        oh, rh = _addr(c.orig_h), _addr(c.resp_h)
        cid = community_id(c.ip_proto, c.orig_h, c.resp_h, c.orig_p, c.resp_p)
        return (
            c.start_ns / NS, c.start_ns, c.uid, oh, c.orig_p, rh, c.resp_p, c.proto, c.ip_proto, "-",
            duration, ob, rb, C.conn_state(c), self._local(c.orig_h), self._local(c.resp_h), c.missed,
            hist or "", c.pkts[0], c.ip_bytes[0], c.pkts[1], c.ip_bytes[1],
            ",".join(c.tunnel_parents) or None, c.vlan, c.inner_vlan, cid,
            stats[0], stats[1], stats[2], stats[3], *sizes[:3], *sizes[3:],
        )

    def pop_rows(self) -> list[tuple]:
        """Rows of the connections removed since the last call (column order :data:`COLUMNS`)."""
        rows, self.rows = self.rows, []
        return rows

    def finish(self) -> list[tuple]:
        """Remove every live connection (end of input) and return all pending rows."""
        for c in list(self.conns.values()):
            self._remove(c)
        self.timers.clear()
        return self.pop_rows()


def rows_to_frame(rows: list[tuple]) -> pd.DataFrame:
    """Turn :class:`FlowTable` rows into the flows DataFrame with explicit dtypes, sorted by ts."""
    df = pd.DataFrame.from_records(rows, columns=COLUMNS)
    for col in _INT_COLS:
        df[col] = df[col].astype("Int64")
    for col in ("id.orig_p", "id.resp_p", "ip_proto"):
        df[col] = df[col].astype("int64")
    df["ts_ns"] = df["ts_ns"].astype("int64")
    for col in ("local_orig", "local_resp"):
        df[col] = df[col].astype("boolean")
    for col in ("uid", "id.orig_h", "id.resp_h", "proto", "service", "conn_state", "history",
                "tunnel_parents", "community_id"):
        df[col] = df[col].astype("string")
    df = df.sort_values(["ts_ns", "uid"], kind="stable").reset_index(drop=True)
    return df


def build_flows(packets: Iterable[Packet], *, tcp_inactivity: float = 300.0, udp_inactivity: float = 60.0,
                icmp_inactivity: float = 60.0, local_nets: Sequence[str] | None = None,
                progress: bool = False, ignore_checksums: bool = False,
                report_gaps_for_partial: bool = False, table: FlowTable | None = None) -> pd.DataFrame:
    """Build the Zeek-style connection table from decoded packets (in capture order).

    One row per connection with the conn.log fields plus ``ts_ns``, ``ip_proto``, VLANs,
    ``community_id`` and per-direction inter-arrival/size statistics.  Pass ``table`` to inspect
    its ``stats`` afterwards.
    """
    ft = table or FlowTable(tcp_inactivity=tcp_inactivity, udp_inactivity=udp_inactivity,
                            icmp_inactivity=icmp_inactivity, ignore_checksums=ignore_checksums,
                            local_nets=local_nets, report_gaps_for_partial=report_gaps_for_partial)
    it: Iterable[Packet] = packets
    if progress:
        from tqdm import tqdm

        it = tqdm(packets, unit="pkt", file=sys.stderr)
    rows: list[tuple] = []
    add = ft.add
    for n, p in enumerate(it):
        add(p)
        if not n & 0xFFFF and ft.rows:
            rows.extend(ft.pop_rows())
    rows.extend(ft.finish())
    return rows_to_frame(rows)


def flows_from_captures(paths: Sequence[str] | str, *, engine: str = "fast", decoder_stats: dict | None = None,
                        **kw: Any) -> pd.DataFrame:
    """Read capture files and build their flow table (see :func:`build_flows`).

    ``engine="fast"`` (the default) uses the compiled decoder and flow engine
    (:mod:`sopkit.capture.fastdecode`, :mod:`sopkit.capture.fastflows`), ``"exact"`` the per-packet
    reference path; both give the same table. Keyword arguments not understood by
    :func:`build_flows` go to the reader (``start_ns``, ``end_ns``); pass ``decoder_stats={}`` to
    receive the decoder's skip counts.
    """
    from sopkit.capture import decode

    names = ("tcp_inactivity", "udp_inactivity", "icmp_inactivity", "local_nets", "progress",
             "ignore_checksums", "report_gaps_for_partial", "table")
    flow_kw = {k: kw.pop(k) for k in list(kw) if k in names}
    if isinstance(paths, str):
        paths = [paths]
    if engine == "fast":
        from sopkit.capture.fastdecode import iter_batches
        from sopkit.capture.fastflows import build_flows_fast

        stream = iter_batches(list(paths), **kw)
        if not stream.readers:
            why = "; ".join(stream.rejected) or "nothing given"
            raise CaptureError(f"no readable capture among {', '.join(map(str, paths))}: {why}")
        df = build_flows_fast(stream, **flow_kw)
        if decoder_stats is not None:
            decoder_stats.update(stream.decode_stats)
        return df
    if engine != "exact":
        raise ValueError(f"engine must be 'fast' or 'exact', not {engine!r}")
    dec = decode.Decoder()
    df = build_flows(decode.iter_packets(list(paths), decoder=dec, **kw), **flow_kw)
    if decoder_stats is not None:
        decoder_stats.update(dec.stats)
    return df
