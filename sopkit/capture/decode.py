"""Frames to :class:`~sopkit.capture.packet.Packet` records: link layer, IP, fragments, tunnels.

:class:`Decoder` is the per-packet hot path, built on the hand-written parsers of
:mod:`sopkit.capture.link`, :mod:`sopkit.capture.ip`, :mod:`sopkit.capture.frag` and
:mod:`sopkit.capture.tunnels` (``struct.unpack_from`` on the frame bytes, no dpkt object per
packet: dpkt's object decode runs at ~39k packets/s here, far too slow for sopkit's captures).

Nothing undecodable is dropped silently: every frame that yields no packet, and every anomaly on
a packet that is still yielded (bad checksum, snaplen truncation, overlapping fragments …), is
counted by reason in ``Decoder.stats``. A tunnelled frame yields the outer packet first, then the
inner one(s) with ``tunnel`` set. Packets that Zeek never logs as a connection carry
``extra["no_conn"] = True``: the outer packets of IP-in-IP and GRE tunnels (decodable or not) and
IPv6 packets with no next header (protocol 59, e.g. Teredo bubbles).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Iterator

from sopkit.capture import tunnels
from sopkit.capture.frag import Reassembler
from sopkit.capture.ip import ipv4_header, ipv6_header, transport
from sopkit.capture.link import ETH_IP4, ETH_IP6, LINKTYPES
from sopkit.capture.packet import Frame, Packet, TunnelKey
from sopkit.capture.readers import iter_frames

MAX_TUNNEL_DEPTH = 4


class Decoder:
    """Decode frames into packets; counts what it could not decode in :attr:`stats`.

    ``verify_checksums`` (default on) sets ``Packet.bad_checksum``; ``reassemble`` (default on)
    joins IP fragments (a fragment yields nothing until its datagram completes); ``tunnels``
    (default on) decodes the inner packets of tunnels.
    """

    def __init__(self, *, verify_checksums: bool = True, reassemble: bool = True, tunnels: bool = True) -> None:
        self.stats: Counter = Counter()
        self.frames = 0  #: frames seen
        self.packets = 0  #: packets yielded (outer and inner)
        self.verify = verify_checksums
        self.reassembler = Reassembler(self.stats) if reassemble else None
        self.tunnels = tunnels

    def decode(self, frame: Frame) -> list[Packet]:
        """Decode one frame into its packets (outer first); [] when undecodable (reason counted)."""
        self.frames += 1
        fn = LINKTYPES.get(frame.linktype)
        if fn is None:
            self.stats[f"unknown linktype {frame.linktype}"] += 1
            return []
        r = fn(frame.data, 0)
        if r.__class__ is str:
            self.stats[r] += 1
            return []
        et, off, l2 = r
        out: list[Packet] = []
        self._ip(et, frame.data, off, frame, l2, None, out, 0)
        self.packets += len(out)
        return out

    def _ip(self, et: int, data: bytes, off: int, frame: Frame, l2: tuple | None,
            tunnel: TunnelKey | None, out: list[Packet], depth: int) -> None:
        stats = self.stats
        if et == ETH_IP4:
            h = ipv4_header(data, off)
            if h.__class__ is str:
                stats[h] += 1
                return
            hl, tot, ident, fragf, ttl, proto, src, dst, bad = h
            p = Packet(frame.ts_ns, src, dst, proto, ip_len=tot, ttl=ttl, ip_version=4,
                       frame_index=frame.index, source=frame.source, tunnel=tunnel)
            if bad and self.verify:
                p.bad_checksum = True
                p.extra["bad_ip_checksum"] = True  # Zeek drops the whole packet, not just the segment
                stats["bad IPv4 checksum"] += 1
            seg_len = tot - hl
            seg, soff = data, off + hl
            if fragf & 0x3FFF:
                if fragf & 0x4000:
                    stats["IPv4 fragment with DF set"] += 1
                got = self._fragment((4, src, dst, proto, ident), (fragf & 0x1FFF) << 3, fragf & 0x2000,
                                     data, soff, seg_len, frame, p.bad_checksum)
                if got is None:
                    return
                seg, soff, seg_len = got, 0, len(got)
                p.ip_len = hl + seg_len
                p.bad_checksum = self.reassembler.last_bad  # type: ignore[union-attr]
            psum = int.from_bytes(src + dst, "big") if self.verify else None
        elif et == ETH_IP6:
            h = ipv6_header(data, off)
            if h.__class__ is str:
                stats[h] += 1
                return
            hl, plen, proto, hlim, src, dst, frag = h
            bad = False
            p = Packet(frame.ts_ns, src, dst, proto, ip_len=40 + plen, ttl=hlim, ip_version=6,
                       frame_index=frame.index, source=frame.source, tunnel=tunnel)
            seg_len = 40 + plen - hl
            seg, soff = data, off + hl
            if seg_len < 0:
                stats["IPv6 extension headers exceed the payload length"] += 1
                return
            if frag is not None:
                ident, foff, more = frag
                got = self._fragment((6, src, dst, ident), foff, more, data, soff, seg_len, frame, False)
                if got is None:
                    return
                seg, soff, seg_len = got, 0, len(got)
                p.ip_len = hl - 8 + seg_len  # the fragment header is gone after reassembly
            psum = int.from_bytes(src + dst, "big") if self.verify else None
        else:
            stats[f"non-IP ethertype {et:#06x}"] += 1
            return
        if len(seg) - soff < seg_len:
            p.truncated = True
            stats["packet truncated by snaplen"] += 1
        if l2 is not None:
            p.l2_src, p.l2_dst, p.vlan, p.inner_vlan = l2
        reason = transport(p, proto, seg, soff, seg_len, psum)
        if reason is not None:
            stats[reason] += 1
            return
        if p.bad_checksum and not (et == ETH_IP4 and bad):
            stats["bad transport checksum"] += 1
        if proto in tunnels.NO_CONN_PROTOS:
            p.extra["no_conn"] = True
        out.append(p)
        if self.tunnels and (p.proto in tunnels.IPIP or p.proto == 47 or p.proto == 17):
            self._tunnel(p, seg, soff, seg_len, frame, out, depth)

    def finish(self) -> None:
        """End of input: count datagrams still waiting for fragments (they yield nothing)."""
        if self.reassembler is not None:
            self.reassembler.flush()

    def _fragment(self, key: tuple, foff: int, more: int, data: bytes, soff: int, seg_len: int,
                  frame: Frame, bad: bool) -> bytes | None:
        """Feed one fragment to the reassembler; the whole datagram's payload when complete."""
        if self.reassembler is None:
            self.stats["IP fragment (reassembly off)"] += 1
            return None
        if len(data) - soff < seg_len:
            self.stats["truncated IP fragment (cannot reassemble)"] += 1
            return None
        self.stats["IP fragments seen"] += 1
        return self.reassembler.add(key, foff, bool(more), data[soff : soff + seg_len], frame.ts_ns, bad)

    def _tunnel(self, p: Packet, seg: bytes, soff: int, seg_len: int, frame: Frame,
                out: list[Packet], depth: int) -> None:
        found = tunnels.inner(p, seg, soff, seg_len)
        if found is None:
            return
        if found.__class__ is str:
            self.stats[found] += 1
            return
        kind, how, ioff = found
        if depth >= MAX_TUNNEL_DEPTH:
            self.stats["tunnels nested too deep"] += 1
            return
        # the inner packet ends where the outer segment ends (drop Ethernet padding/trailers)
        inner = seg[: soff + seg_len] if len(seg) > soff + seg_len else seg
        key = TunnelKey(kind, p.proto, p.src, p.sport, p.dst, p.dport)
        if how.__class__ is int:
            self._ip(how, inner, ioff, frame, None, key, out, depth + 1)
            return
        r = how(inner, ioff)
        if r.__class__ is str:
            self.stats[f"{kind} inner: {r}"] += 1
            return
        et, off, l2 = r
        self._ip(et, inner, off, frame, l2, key, out, depth + 1)


def iter_packets(
    paths: Iterable[str | os.PathLike] | str | os.PathLike,
    *,
    decoder: Decoder | None = None,
    **kw: object,
) -> Iterator[Packet]:
    """Read captures (files/directories, see :func:`~sopkit.capture.readers.iter_frames`) and decode them.

    Pass your own ``decoder`` to inspect its ``stats`` afterwards; other keywords go to
    :func:`~sopkit.capture.readers.iter_frames` (``start_ns``, ``end_ns``, ``progress``).
    """
    dec = decoder if decoder is not None else Decoder()
    decode = dec.decode
    for frame in iter_frames(paths, **kw):  # type: ignore[arg-type]
        yield from decode(frame)
    dec.finish()
