"""Ethernet/IPv4/TCP/UDP frame builders and a TCP conversation writer with correct seq/ack.

Frames are packed here with :mod:`struct` rather than through dpkt objects: building a dpkt
Ethernet/IP/TCP object tree costs about 25 µs a frame, which alone would take most of the time
budget of a day of several hundred thousand frames; the tests re-pack sampled frames with dpkt
(checksums zeroed, so dpkt recomputes them) and require identical bytes. Frames are collected
as ``(ts_ns, bytes)`` pairs in a :class:`FrameSink`; the day orchestrator sorts them once and writes the pcap. :class:`TcpConversation` keeps both directions' sequence
numbers so every segment acknowledges exactly what the peer has sent, segments bulk data at the
MSS, acknowledges every second full segment (delayed ACK) and closes with FIN/ACK or RST — the
shape a Zeek-style flow builder classifies as ``SF`` / ``RSTO`` / ``S0`` / ``REJ``.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from sopkit.capture.packet import TH_ACK, TH_FIN, TH_PUSH, TH_RST, TH_SYN
from sopkit.demo.network import l2_mac

MSS = 1460
_IP_HDR = struct.Struct("!BBHHHBBH4s4s")
_TCP_HDR = struct.Struct("!HHIIBBHHH")
_UDP_HDR = struct.Struct("!HHHH")
_PSEUDO = struct.Struct("!xBH")


class FrameSink:
    """Collects generated frames as ``(ts_ns, frame_bytes)`` plus a running flow-id counter."""

    def __init__(self) -> None:
        self.frames: list[tuple[int, bytes]] = []
        self._ip_id: dict[str, int] = {}
        self._ports: dict[str, int] = {}

    def add(self, ts_ns: int, frame: bytes) -> None:
        """Queue ``frame`` at ``ts_ns``, truncated to the microsecond a classic pcap can store."""
        self.frames.append((int(ts_ns) // 1000 * 1000, frame))

    def port(self, host: str, rng: np.random.Generator, windows: bool = True) -> int:
        """Next TCP source port of ``host``: sequential in the OS's dynamic range (no 4-tuple reuse).

        Windows allocates 49152–65535 in order; Linux uses 32768–60999.
        """
        lo, hi = (49152, 65536) if windows else (32768, 61000)
        cur = self._ports.get(host)
        cur = int(rng.integers(lo, hi)) if cur is None else cur + 1 + int(rng.integers(0, 2))
        cur = lo + (cur - lo) % (hi - lo)
        self._ports[host] = cur
        return cur

    def next_ip_id(self, src: str) -> int:
        """Per-host incrementing IP identification (like most stacks)."""
        v = (self._ip_id.get(src, (sum(_aton(src)) * 2654435761) & 0xFFFF) + 1) & 0xFFFF
        self._ip_id[src] = v
        return v


_ETH_IP = b"\x08\x00"


@lru_cache(maxsize=1 << 16)
def _aton(addr: str) -> bytes:
    return socket.inet_aton(addr)


@lru_cache(maxsize=1 << 16)
def _mac(addr: str) -> bytes:
    return l2_mac(addr)


def checksum(data: bytes) -> int:
    """RFC 1071 Internet checksum of ``data``.

    The 16-bit one's-complement sum of big-endian words equals the integer value of ``data``
    modulo 0xFFFF (because 2**16 ≡ 1), except that a sum of 0xFFFF shows up as 0 — which for
    non-zero data is exactly the case whose checksum is 0.
    """
    if len(data) & 1:
        data += b"\x00"
    r = int.from_bytes(data, "big") % 0xFFFF
    return 0xFFFF - r if r else 0


def ipv4_frame(src: str, dst: str, proto: int, l4: bytes, ttl: int, ip_id: int) -> bytes:
    """Ethernet II + IPv4 header (DF set for TCP, header checksum filled) around transport bytes."""
    s, d = _aton(src), _aton(dst)
    hdr = _IP_HDR.pack(0x45, 0, 20 + len(l4), ip_id, 0x4000 if proto == 6 else 0, ttl, proto, 0, s, d)
    hdr = hdr[:10] + checksum(hdr).to_bytes(2, "big") + hdr[12:]
    return _mac(dst) + _mac(src) + _ETH_IP + hdr + l4


def tcp_segment(src: str, dst: str, sport: int, dport: int, seq: int, ack: int, flags: int, *,
                win: int = 64240, payload: bytes = b"", opts: bytes = b"", ttl: int = 64, ip_id: int = 0) -> bytes:
    """One TCP segment in an Ethernet frame with correct lengths and IP/TCP checksums."""
    hlen = 20 + len(opts)
    seg = _TCP_HDR.pack(sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, (hlen // 4) << 4, flags,
                        win & 0xFFFF, 0, 0) + opts + payload
    pseudo = _aton(src) + _aton(dst) + _PSEUDO.pack(6, len(seg))
    cs = checksum(pseudo + seg)
    return ipv4_frame(src, dst, 6, seg[:16] + cs.to_bytes(2, "big") + seg[18:], ttl, ip_id)


def udp_datagram(src: str, dst: str, sport: int, dport: int, payload: bytes, *, ttl: int = 64, ip_id: int = 0) -> bytes:
    """One UDP datagram in an Ethernet frame (length and checksum filled; 0 is sent as 0xFFFF)."""
    n = 8 + len(payload)
    pseudo = _aton(src) + _aton(dst) + _PSEUDO.pack(17, n)
    cs = checksum(pseudo + _UDP_HDR.pack(sport, dport, n, 0) + payload) or 0xFFFF
    return ipv4_frame(src, dst, 17, _UDP_HDR.pack(sport, dport, n, cs) + payload, ttl, ip_id)


def syn_options(mss: int = MSS, wscale: int = 8) -> bytes:
    """MSS, NOP, window scale, NOP, NOP, SACK-permitted — the common Windows/Linux SYN option set."""
    return bytes([2, 4, mss >> 8, mss & 0xFF, 1, 3, 3, wscale, 1, 1, 4, 2])


@dataclass
class FlowStats:
    """What Suricata's flow record needs: packet/byte counts per direction and the time span."""

    orig_pkts: int = 0
    resp_pkts: int = 0
    orig_bytes: int = 0
    resp_bytes: int = 0
    start_ns: int = 0
    end_ns: int = 0
    flags_orig: int = 0
    flags_resp: int = 0
    state: str = "new"
    extra: dict = field(default_factory=dict)


class TcpConversation:
    """A TCP connection between ``client`` and ``server`` whose segments are appended to a sink.

    ``t`` is the conversation clock (ns); every method advances it. ``rtt_ns`` is the round-trip
    time seen from the capture point; the capture sits at the office edge, so replies to the
    client arrive roughly one RTT after its request.
    """

    def __init__(self, sink: FrameSink, rng: np.random.Generator, client: str, sport: int, server: str,
                 dport: int, t_ns: int, *, rtt_ns: int = 20_000_000, client_ttl: int = 128,
                 server_ttl: int = 64, client_win: int = 64240, server_win: int = 65160) -> None:
        self.sink, self.rng = sink, rng
        self.c, self.s, self.sport, self.dport = client, server, sport, dport
        self.t = int(t_ns)
        self.rtt = int(rtt_ns)
        self.ttl = {client: client_ttl, server: server_ttl}
        self.win = {client: client_win, server: server_win}
        self.seq = {client: int(rng.integers(0, 2**32)), server: int(rng.integers(0, 2**32))}
        self.stats = FlowStats(start_ns=self.t, end_ns=self.t)

    # -- low level ---------------------------------------------------------------------------------
    def _emit(self, frm: str, flags: int, payload: bytes = b"", opts: bytes = b"", ack: int | None = None) -> None:
        to = self.s if frm == self.c else self.c
        sport, dport = (self.sport, self.dport) if frm == self.c else (self.dport, self.sport)
        a = self.seq[to] if ack is None else ack
        win = self.win[frm] if flags & TH_SYN else self.win[frm] >> (8 if frm == self.c else 7)
        frame = tcp_segment(frm, to, sport, dport, self.seq[frm], a if flags & TH_ACK else 0, flags,
                            win=win, payload=payload, opts=opts, ttl=self.ttl[frm],
                            ip_id=self.sink.next_ip_id(frm))
        self.sink.add(self.t, frame)
        st = self.stats
        if frm == self.c:
            st.orig_pkts += 1
            st.orig_bytes += len(frame) - 14
            st.flags_orig |= flags
        else:
            st.resp_pkts += 1
            st.resp_bytes += len(frame) - 14
            st.flags_resp |= flags
        st.end_ns = self.t
        self.seq[frm] = (self.seq[frm] + len(payload) + (1 if flags & (TH_SYN | TH_FIN) else 0)) & 0xFFFFFFFF

    def _tick(self, ns: float) -> None:
        self.t += max(1000, int(ns))

    def _jit(self, frac: float = 0.15) -> float:
        return self.rtt * (1.0 + frac * float(self.rng.standard_normal()))

    # -- phases ------------------------------------------------------------------------------------
    def handshake(self) -> None:
        """SYN, SYN-ACK (acks ISN+1), ACK."""
        self._emit(self.c, TH_SYN, opts=syn_options())
        self._tick(self._jit() * 0.95)
        self._emit(self.s, TH_SYN | TH_ACK, opts=syn_options(wscale=7))
        self._tick(self.rtt * 0.05 + 200_000)
        self._emit(self.c, TH_ACK)
        self.stats.state = "established"

    def send(self, frm: str, data: bytes, *, gap_ns: float = 60_000, think_ns: float = 0) -> None:
        """``frm`` sends ``data`` in MSS segments (PSH on the last); the peer ACKs every second one."""
        self._tick(think_ns)
        peer = self.s if frm == self.c else self.c
        n = len(data)
        unacked = 0
        for off in range(0, n, MSS):
            chunk = data[off:off + MSS]
            last = off + MSS >= n
            self._emit(frm, TH_ACK | (TH_PUSH if last else 0), chunk)
            unacked += 1
            if unacked == 2 and not last:
                self._tick(gap_ns * 0.3)
                self._emit(peer, TH_ACK)
                unacked = 0
            self._tick(gap_ns)
        # an odd last segment is acknowledged by the peer's next segment (piggy-backed ACK)

    def exchange(self, request: bytes, response: bytes, *, server_ns: float = 5_000_000, think_ns: float = 0,
                 gap_ns: float = 60_000) -> None:
        """Client request, server reply after a processing delay, then the client's ACK."""
        self.send(self.c, request, think_ns=think_ns, gap_ns=gap_ns)
        self._tick(self._jit() + server_ns)
        self.send(self.s, response, gap_ns=gap_ns)
        self._tick(self.rtt * 0.5)
        self._emit(self.c, TH_ACK)

    def close(self, initiator: str | None = None) -> FlowStats:
        """Orderly FIN/ACK close from ``initiator`` (client by default), ending in the final ACK."""
        a = initiator or self.c
        b = self.s if a == self.c else self.c
        self._tick(2_000_000 + float(self.rng.exponential(30_000_000)))
        self._emit(a, TH_FIN | TH_ACK)
        self._tick(self._jit())
        self._emit(b, TH_FIN | TH_ACK)
        self._tick(self.rtt * 0.05 + 150_000)
        self._emit(a, TH_ACK)
        self.stats.state = "closed"
        return self.stats

    def reset(self, frm: str | None = None) -> FlowStats:
        """Abortive close: ``frm`` (client by default) sends RST|ACK."""
        self._tick(1_000_000 + float(self.rng.exponential(10_000_000)))
        self._emit(frm or self.c, TH_RST | TH_ACK)
        self.stats.state = "closed"
        return self.stats


def ephemeral_port(rng: np.random.Generator, windows: bool = True) -> int:
    """A client source port from the Windows (49152–65535) or Linux (32768–60999) dynamic range."""
    return int(rng.integers(49152, 65536)) if windows else int(rng.integers(32768, 61000))
