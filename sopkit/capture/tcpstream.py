"""In-order TCP payload reassembly for the HTTP and TLS tables.

Why our own: dpkt parses single segments only, and the metadata tables need each direction's
byte stream in order, with retransmissions and overlaps trimmed and holes reported rather than
papered over. Only what the tables need is implemented: no window tracking, no urgent data.

Per connection direction a :class:`_Direction` keeps the next expected sequence number and a
bounded set of out-of-order segments. Bytes are delivered to the caller as :class:`Chunk` records
as soon as they are in order. When buffered out-of-order data exceeds ``max_buffer`` bytes, or at
:meth:`TcpReassembler.flush`, the hole is skipped and reported as ``Chunk.gap`` (bytes missing
before ``Chunk.data``), so a consumer can resynchronise and the loss is counted, never silent.

Connections are keyed by the originator's 4-tuple (the sender of a bare SYN, else the first
packet's sender); a new SYN with another initial sequence number on a known tuple starts a new
connection (port reuse), told apart by ``ConnKey.gen``.
"""

from __future__ import annotations

import socket
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import NamedTuple

from sopkit.capture.packet import PROTO_TCP, TH_ACK, TH_FIN, TH_RST, TH_SYN, Packet

_MOD = 1 << 32


def _signed(a: int, b: int) -> int:
    """Signed distance from ``b`` to ``a`` in 32-bit sequence space."""
    d = (a - b) % _MOD
    return d - _MOD if d >= (1 << 31) else d


def _seq_lt(a: int, b: int) -> bool:
    """``a`` precedes ``b`` in 32-bit sequence space (RFC 1982 style)."""
    return a != b and ((b - a) % _MOD) < (1 << 31)


def ip_text(addr: bytes) -> str:
    """Packed IPv4/IPv6 address → text (the tables render addresses only at output time)."""
    return socket.inet_ntop(socket.AF_INET6 if len(addr) == 16 else socket.AF_INET, addr)


class ConnKey(NamedTuple):
    """A TCP connection, oriented originator → responder; ``gen`` counts reuses of the tuple."""

    orig_h: bytes
    orig_p: int
    resp_h: bytes
    resp_p: int
    gen: int = 0


class Chunk(NamedTuple):
    """In-order bytes of one direction (``from_orig``), after ``gap`` missing bytes."""

    conn: ConnKey
    from_orig: bool
    data: bytes
    ts_ns: int
    gap: int = 0


@dataclass
class ReassemblyStats:
    """What the reassembler skipped, so callers can report it."""

    connections: int = 0
    segments: int = 0
    retransmitted_bytes: int = 0  #: bytes already delivered that arrived again (trimmed)
    gaps: int = 0  #: holes skipped
    gap_bytes: int = 0
    evicted_connections: int = 0  #: dropped because ``max_connections`` was reached

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class _Direction:
    next_seq: int | None = None
    isn: int | None = None
    pending: dict[int, tuple[bytes, int, int]] = field(default_factory=dict)  # seq -> (data, ts, extra)
    pending_bytes: int = 0
    closed: bool = False


@dataclass
class _Conn:
    key: ConnKey
    orig: _Direction = field(default_factory=_Direction)
    resp: _Direction = field(default_factory=_Direction)
    ignored: bool = False


class TcpReassembler:
    """Feed :class:`Packet` objects in capture order; get in-order :class:`Chunk` lists back."""

    def __init__(self, *, max_buffer: int = 1 << 20, max_connections: int = 100_000) -> None:
        self.max_buffer = max_buffer
        self.max_connections = max_connections
        self.stats = ReassemblyStats()
        self._conns: OrderedDict[tuple, _Conn] = OrderedDict()
        self._gens: dict[tuple, int] = {}

    def _lookup(self, pkt: Packet) -> tuple[_Conn, bool]:
        fwd = (pkt.src, pkt.sport, pkt.dst, pkt.dport)
        rev = (pkt.dst, pkt.dport, pkt.src, pkt.sport)
        syn_only = (pkt.tcp_flags & (TH_SYN | TH_ACK)) == TH_SYN
        for tup, from_orig in ((fwd, True), (rev, False)):
            conn = self._conns.get(tup)
            if conn is None:
                continue
            d = conn.orig if from_orig else conn.resp
            if syn_only and from_orig and d.isn is not None and d.isn != pkt.seq:
                del self._conns[tup]  # port reuse: a fresh SYN starts a new connection
                break
            self._conns.move_to_end(tup)
            return conn, from_orig
        # New connection: originator is the SYN sender, else this packet's sender (SYN-ACK → reverse).
        if (pkt.tcp_flags & (TH_SYN | TH_ACK)) == (TH_SYN | TH_ACK):
            tup, from_orig = rev, False
        else:
            tup, from_orig = fwd, True
        gen = self._gens.get(tup, -1) + 1
        self._gens[tup] = gen
        conn = _Conn(ConnKey(*tup, gen))
        self._conns[tup] = conn
        self.stats.connections += 1
        if len(self._conns) > self.max_connections:
            self._conns.popitem(last=False)
            self.stats.evicted_connections += 1
        return conn, from_orig

    def feed(self, pkt: Packet) -> list[Chunk]:
        """Account one packet; return the chunks it made deliverable (usually zero or one)."""
        if pkt.proto != PROTO_TCP:
            return []
        conn, from_orig = self._lookup(pkt)
        if conn.ignored:
            return []
        d = conn.orig if from_orig else conn.resp
        flags = pkt.tcp_flags
        if flags & TH_SYN:
            d.isn = pkt.seq
            d.next_seq = (pkt.seq + 1) % _MOD
            seq = (pkt.seq + 1) % _MOD
        else:
            seq = pkt.seq
        data = pkt.payload
        missing = max(0, pkt.payload_len - len(data))  # snaplen cut the segment short
        if not data and not missing:
            if flags & (TH_FIN | TH_RST):
                d.closed = True
            return []
        self.stats.segments += 1
        if d.next_seq is None:
            d.next_seq = seq  # no SYN seen: the stream starts with the first data we see
        out: list[Chunk] = []
        self._insert(conn, from_orig, d, seq, data, pkt.ts_ns, missing, out)
        if out:
            self._drain(conn, from_orig, d, out)
        return out

    def _insert(self, conn: _Conn, from_orig: bool, d: _Direction, seq: int, data: bytes,
                ts: int, missing: int, out: list[Chunk]) -> None:
        assert d.next_seq is not None
        end = (seq + len(data) + missing) % _MOD
        if not _seq_lt(d.next_seq, end):  # entirely old: a retransmission
            self.stats.retransmitted_bytes += len(data)
            return
        if _seq_lt(seq, d.next_seq):  # partly old: trim the overlap
            cut = (d.next_seq - seq) % _MOD
            self.stats.retransmitted_bytes += min(cut, len(data))
            if cut >= len(data):
                missing -= cut - len(data)
                data = b""
            else:
                data = data[cut:]
            seq = d.next_seq
        if seq != d.next_seq:
            prev = d.pending.get(seq)
            if prev is None or len(prev[0]) + prev[2] < len(data) + missing:
                d.pending_bytes += len(data) - (len(prev[0]) if prev else 0)
                d.pending[seq] = (data, ts, missing)
            if d.pending_bytes > self.max_buffer:
                self._skip_hole(conn, from_orig, d, out)
            return
        self._deliver(conn, from_orig, d, data, ts, missing, 0, out)

    def _deliver(self, conn: _Conn, from_orig: bool, d: _Direction, data: bytes, ts: int,
                 missing: int, gap: int, out: list[Chunk]) -> None:
        out.append(Chunk(conn.key, from_orig, data, ts, gap))
        d.next_seq = (d.next_seq + len(data) + missing) % _MOD  # type: ignore[operator]
        if missing:
            self.stats.gaps += 1
            self.stats.gap_bytes += missing
            out.append(Chunk(conn.key, from_orig, b"", ts, missing))

    def _drain(self, conn: _Conn, from_orig: bool, d: _Direction, out: list[Chunk], *,
               force: bool = False) -> None:
        """Deliver buffered segments that have become in order (trimming any overlap).

        With ``force`` (end of input) holes before buffered segments are skipped and reported.
        One sort per call: a filled hole releases the whole chain behind it in a single pass.
        """
        if not d.pending:
            return
        base = d.next_seq
        for seq in sorted(d.pending, key=lambda s: _signed(s, base)):  # type: ignore[arg-type]
            if _signed(seq, d.next_seq) > 0:  # type: ignore[arg-type]
                if not force:
                    return
                self._gap(conn, from_orig, d, seq, out)
            data, ts, missing = d.pending.pop(seq)
            d.pending_bytes -= len(data)
            self._insert(conn, from_orig, d, seq, data, ts, missing, out)

    def _gap(self, conn: _Conn, from_orig: bool, d: _Direction, seq: int, out: list[Chunk]) -> None:
        hole = (seq - d.next_seq) % _MOD  # type: ignore[operator]
        self.stats.gaps += 1
        self.stats.gap_bytes += hole
        d.next_seq = seq
        out.append(Chunk(conn.key, from_orig, b"", d.pending[seq][1], hole))

    def _skip_hole(self, conn: _Conn, from_orig: bool, d: _Direction, out: list[Chunk]) -> None:
        """Give up on the hole before the earliest buffered segment; report it as a gap."""
        first = min(d.pending, key=lambda s: _signed(s, d.next_seq))  # type: ignore[arg-type]
        self._gap(conn, from_orig, d, first, out)
        self._drain(conn, from_orig, d, out)

    def ignore(self, key: ConnKey) -> None:
        """Stop reassembling a connection the caller has no further use for (frees its buffers)."""
        conn = self._conns.get(key[:4])
        if conn is not None and conn.key == key:
            conn.ignored = True
            for d in (conn.orig, conn.resp):
                d.pending.clear()
                d.pending_bytes = 0

    def flush(self) -> list[Chunk]:
        """At end of input: deliver what is still buffered, reporting the holes before it."""
        out: list[Chunk] = []
        for conn in self._conns.values():
            for from_orig, d in ((True, conn.orig), (False, conn.resp)):
                self._drain(conn, from_orig, d, out, force=True)
        return out
