"""IPv4 and IPv6 fragment reassembly with bounded memory.

Fragments are keyed by (IP version, src, dst, protocol, identification). A datagram is complete
once the last fragment (MF clear) fixed its size and the pieces cover ``[0, size)`` without holes.
Overlaps keep the bytes that arrived first (Zeek keeps existing data too) and are counted, with a
separate count when the overlapping bytes differ. Memory is bounded three ways: incomplete
datagrams expire ``timeout_ns`` after their first fragment (measured in capture time), at most
``max_datagrams`` are pending (the oldest is dropped), and at most ``max_bytes`` are buffered.
Every drop is counted in the shared ``stats`` Counter, never silent.

Written here rather than taken from a library: dpkt has no reassembler and scapy's
``defragment`` needs whole packet lists in memory and scapy objects per packet.
"""

from __future__ import annotations

from collections import Counter, OrderedDict

MAX_DATAGRAM = 65535 + 40  # IPv6 payload after the unfragmentable part can reach 65535 bytes


class _Datagram:
    __slots__ = ("first_ts", "size", "buf", "have", "bad")

    def __init__(self, ts: int) -> None:
        self.first_ts = ts
        self.size: int | None = None  #: known once the last fragment arrived
        self.buf = bytearray()
        self.have: list[list[int]] = []  #: sorted, merged [start, end) intervals received
        self.bad = False


class Reassembler:
    """Collect fragments; :meth:`add` returns the reassembled payload when a datagram completes."""

    def __init__(
        self,
        stats: Counter | None = None,
        *,
        timeout_ns: int = 60 * 1_000_000_000,
        max_datagrams: int = 10_000,
        max_bytes: int = 64 << 20,
    ) -> None:
        self.stats: Counter = stats if stats is not None else Counter()
        self.timeout_ns = timeout_ns
        self.max_datagrams = max_datagrams
        self.max_bytes = max_bytes
        self.pending: OrderedDict[tuple, _Datagram] = OrderedDict()
        self.held = 0
        self.completed = 0

    def _drop(self, key: tuple, reason: str) -> None:
        d = self.pending.pop(key)
        self.held -= len(d.buf)
        self.stats[reason] += 1

    def add(self, key: tuple, offset: int, more: bool, payload: bytes, ts: int, bad: bool = False) -> bytes | None:
        """Add one fragment (``offset`` in bytes); returns the whole payload when complete, else None.

        ``bad`` marks a fragment whose checksum failed; the result then is reported via
        :attr:`last_bad` so the caller can flag the reassembled packet.
        """
        pending = self.pending
        while pending:  # expire by capture time, oldest first
            k, d = next(iter(pending.items()))
            if ts - d.first_ts <= self.timeout_ns:
                break
            self._drop(k, "fragment reassembly timeout")
        end = offset + len(payload)
        d = pending.get(key)
        if d is None:
            if len(pending) >= self.max_datagrams:
                self._drop(next(iter(pending)), "fragment table full (oldest dropped)")
            d = pending[key] = _Datagram(ts)
        if end > MAX_DATAGRAM:
            self._drop(key, "fragment beyond maximum datagram size")
            return None
        if more and len(payload) % 8:
            self.stats["fragment length not a multiple of 8"] += 1
        if not more:
            if d.size is not None and d.size != end:
                self.stats["conflicting last fragments"] += 1
            d.size = end
        elif d.size is not None and end > d.size:
            self.stats["fragment beyond the last fragment"] += 1
            self._drop(key, "garbage fragments")
            return None
        d.bad |= bad
        if len(d.buf) < end:
            self.held += end - len(d.buf)
            d.buf.extend(bytes(end - len(d.buf)))
        self._insert(d, offset, end, payload)
        if self.held > self.max_bytes:
            while self.held > self.max_bytes and pending:
                k = next(iter(pending))
                self._drop(k, "fragment memory cap (oldest dropped)")
                if k == key:
                    return None
        if d.size is not None and len(d.have) == 1 and d.have[0][0] == 0 and d.have[0][1] >= d.size:
            del pending[key]
            self.held -= len(d.buf)
            self.completed += 1
            self.last_bad = d.bad
            return bytes(d.buf[: d.size])
        return None

    def flush(self) -> None:
        """Drop every incomplete datagram, counting them (call at the end of the input)."""
        for key in list(self.pending):
            self._drop(key, "incomplete fragmented datagram at end of input")

    def _insert(self, d: _Datagram, start: int, end: int, payload: bytes) -> None:
        """Copy the parts of [start, end) not yet received (first arrival wins), merge intervals."""
        cur = start
        overlap = False
        for a, b in d.have:
            if b <= cur or a >= end:
                continue
            overlap = True
            if a > cur:
                d.buf[cur:a] = payload[cur - start : a - start]
            if bytes(d.buf[max(a, start) : min(b, end)]) != payload[max(a, start) - start : min(b, end) - start]:
                self.stats["overlapping fragment with different data"] += 1
            cur = max(cur, b)
            if cur >= end:
                break
        if cur < end:
            d.buf[cur:end] = payload[cur - start :]
        if overlap:
            self.stats["overlapping fragment"] += 1
        merged: list[list[int]] = []
        for a, b in sorted([*d.have, [start, end]]):
            if merged and a <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        d.have = merged

    last_bad = False
