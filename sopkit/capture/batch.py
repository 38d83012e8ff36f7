"""Columnar packet batches: the contract between the vectorized decoder and the compiled flow engine.

The per-packet path (:class:`~sopkit.capture.packet.Packet` objects) is exact but costs a Python
object per packet. The fast path instead decodes a block of frames into one :class:`PacketBatch`:
a numpy array per field (the fields below), so that header decoding is numpy gathers and the flow
state machine a compiled loop. Packets the vectorized decoder does not cover (fragments, tunnels,
rare link types) are decoded by :class:`~sopkit.capture.decode.Decoder` and converted with
:func:`packets_to_batch`, so both kinds meet in the same layout.

Addresses are two unsigned 64-bit halves (big-endian order: comparing ``(hi, lo)`` pairs orders
addresses as comparing their packed bytes does); IPv4 has ``hi == 0`` and the address in the low
32 bits of ``lo``, told apart from IPv6 by ``ip_version``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from sopkit.capture.packet import Packet, TunnelKey

#: Bits of the ``flags`` field.
F_BAD_CHECKSUM = 0x01  #: a checksum (IP, TCP, UDP, ICMP) was verified and wrong
F_BAD_IP_CHECKSUM = 0x02  #: the IPv4 header checksum itself was wrong (Zeek drops the packet)
F_NO_CONN = 0x04  #: the packet must not create or update a connection (tunnel outer, no-next-header)
F_TRUNCATED = 0x08  #: captured bytes end before the headers/payload say they should

#: field name → numpy dtype, in a fixed order.
FIELDS: dict[str, np.dtype] = {
    name: np.dtype(kind)
    for name, kind in (
        ("ts_ns", "i8"),
        ("src_hi", "u8"), ("src_lo", "u8"), ("dst_hi", "u8"), ("dst_lo", "u8"),
        ("ip_version", "u1"), ("proto", "u1"), ("tcp_flags", "u1"), ("flags", "u1"),
        ("sport", "u2"), ("dport", "u2"), ("window", "u2"),
        ("ip_len", "u4"), ("payload_len", "i4"), ("captured_len", "i4"),
        ("seq", "u4"), ("ack", "u4"),
        ("vlan", "i4"), ("inner_vlan", "i4"),  # -1: none
        ("tunnel", "i4"),  # index into PacketBatch.tunnels, -1: not tunnelled
        ("frame_index", "i8"),
    )
}


@dataclass
class PacketBatch:
    """A block of decoded packets as parallel arrays (one per name in :data:`FIELDS`)."""

    columns: dict[str, np.ndarray]
    tunnels: list[TunnelKey] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.columns["ts_ns"])

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    @classmethod
    def empty(cls, n: int = 0) -> PacketBatch:
        """A batch of ``n`` zeroed packets (vlan/inner_vlan/tunnel set to -1)."""
        cols = {name: np.zeros(n, dtype) for name, dtype in FIELDS.items()}
        for name in ("vlan", "inner_vlan", "tunnel"):
            cols[name][:] = -1
        return cls(cols)


def split_address(addr: bytes) -> tuple[int, int]:
    """``(hi, lo)`` 64-bit halves of a packed IPv4 (4 bytes) or IPv6 (16 bytes) address."""
    if len(addr) == 4:
        return 0, int.from_bytes(addr, "big")
    value = int.from_bytes(addr, "big")
    return value >> 64, value & 0xFFFF_FFFF_FFFF_FFFF


def join_address(hi: int, lo: int, ip_version: int) -> bytes:
    """Inverse of :func:`split_address`."""
    if ip_version == 4:
        return int(lo).to_bytes(4, "big")
    return ((int(hi) << 64) | int(lo)).to_bytes(16, "big")


def packets_to_batch(packets: Iterable[Packet]) -> PacketBatch:
    """Convert per-packet records into a batch (the slow path's bridge to the compiled engine)."""
    packets = list(packets)
    batch = PacketBatch.empty(len(packets))
    c = batch.columns
    tunnel_index: dict[TunnelKey, int] = {}
    for i, p in enumerate(packets):
        c["ts_ns"][i] = p.ts_ns
        c["src_hi"][i], c["src_lo"][i] = split_address(p.src)
        c["dst_hi"][i], c["dst_lo"][i] = split_address(p.dst)
        c["ip_version"][i] = p.ip_version
        c["proto"][i] = p.proto
        c["tcp_flags"][i] = p.tcp_flags
        flags = 0
        if p.bad_checksum:
            flags |= F_BAD_CHECKSUM
        if p.extra.get("bad_ip_checksum"):
            flags |= F_BAD_IP_CHECKSUM
        if p.extra.get("no_conn"):
            flags |= F_NO_CONN
        if p.truncated:
            flags |= F_TRUNCATED
        c["flags"][i] = flags
        c["sport"][i], c["dport"][i], c["window"][i] = p.sport, p.dport, p.window
        c["ip_len"][i], c["payload_len"][i] = p.ip_len, p.payload_len
        c["captured_len"][i] = min(len(p.payload), max(p.payload_len, 0))
        c["seq"][i], c["ack"][i] = p.seq & 0xFFFFFFFF, p.ack & 0xFFFFFFFF
        c["vlan"][i] = -1 if p.vlan is None else p.vlan
        c["inner_vlan"][i] = -1 if p.inner_vlan is None else p.inner_vlan
        if p.tunnel is not None:
            c["tunnel"][i] = tunnel_index.setdefault(p.tunnel, len(tunnel_index))
        c["frame_index"][i] = p.frame_index
    batch.tunnels = list(tunnel_index)
    return batch
