"""Tunnel encapsulations: find the inner packet that an outer IP/UDP packet carries.

Handled: IP-in-IP (4in4, 6in4, 4in6, 6in6), GRE (IPv4/IPv6 payload, transparent Ethernet
bridging 0x6558, PPP over enhanced GRE v1, ERSPAN types I/II/III), and the UDP tunnels Zeek
decodes: VXLAN (port 4789), Geneve (6081), GTP-U (2152), AYIYA (5072) by port, and Teredo
(3544) by content on any port, as Zeek's Teredo protocol detection does.

:func:`inner` is pure: it returns where the inner packet starts and how to decode it, and the
decoder recurses. As in Zeek, the outer packets of IP-in-IP and GRE tunnels form no connection
(the decoder marks them ``extra["no_conn"] = True``), while the outer UDP flows of Teredo, VXLAN,
Geneve, GTP-U and AYIYA are connections of their own (Zeek logs them with service "teredo",
"vxlan" …). Parsing is hand-written like the rest of the hot path (see :mod:`sopkit.capture.ip`).
"""

from __future__ import annotations

import struct

from sopkit.capture import link
from sopkit.capture.packet import PROTO_GRE, PROTO_UDP, Packet

_H = struct.Struct("!H").unpack_from
ETH_TEB = 0x6558
ETH_ERSPAN2 = 0x88BE
ETH_ERSPAN3 = 0x22EB
ETH_PPP = 0x880B
PORT_TEREDO = 3544
PORT_VXLAN = 4789
PORT_GENEVE = 6081
PORT_GTPU = 2152
PORT_AYIYA = 5072
IPIP = {4: link.ETH_IP4, 41: link.ETH_IP6}
#: IP protocols whose packets Zeek never turns into a connection: IP-in-IP and GRE outer packets
#: (the tunnel analyzers consume them) and IPv6 "no next header" (Teredo bubbles among others)
NO_CONN_PROTOS = frozenset((4, 41, PROTO_GRE, 59))

#: result: (kind, linkfn or ethertype, offset) — linkfn is called on (data, offset) for Ethernet/PPP
Inner = tuple


def inner(p: Packet, data: bytes, off: int, seg_len: int) -> Inner | str | None:
    """Where ``p`` (decoded, transport at ``data[off:]``) carries an inner packet.

    Returns None when ``p`` is not a tunnel, a reason string when it looks like one but the
    encapsulation is damaged, else ``(kind, ethertype_or_link_function, inner_offset)``.
    """
    proto = p.proto
    if proto in IPIP:
        return "ip-in-ip", IPIP[proto], off
    if proto == PROTO_GRE:
        return gre(data, off, min(len(data), off + seg_len))
    if proto != PROTO_UDP or not p.payload:
        return None
    sport, dport = p.sport, p.dport
    pay = off + 8
    end = min(len(data), off + seg_len)
    if dport == PORT_VXLAN:
        if end - pay < 8 or not data[pay] & 0x08:
            return "bad VXLAN header"
        return "vxlan", link.ethernet, pay + 8
    if dport == PORT_GENEVE:
        return geneve(data, pay, end)
    if sport == PORT_GTPU or dport == PORT_GTPU:
        return gtpu(data, pay, end)
    if sport == PORT_AYIYA and dport == PORT_AYIYA:
        return ayiya(data, pay, end)
    # Teredo on any port, by content, as Zeek's protocol detection does (servers answer from
    # arbitrary ports, e.g. relay traffic); the exact IPv6 length match keeps false positives rare.
    b0 = data[pay] if pay < len(data) else 0xFF
    if b0 >> 4 == 6 or b0 == 0:
        return teredo(data, pay, off + seg_len)
    return None


def gre(data: bytes, off: int, end: int) -> Inner | str:
    """GRE (RFC 2784/2890) and enhanced GRE v1 (RFC 2637): skip optional fields, map the protocol."""
    if end - off < 4:
        return "truncated GRE header"
    flags, proto = struct.unpack_from("!HH", data, off)
    version = flags & 7
    hlen = 4
    if version == 0:
        if flags & 0x8000 or flags & 0x4000:  # checksum (and reserved1) present with C or R
            hlen += 4
        if flags & 0x2000:
            hlen += 4
        if flags & 0x1000:
            hlen += 4
        if flags & 0x4000:
            return "GRE source routing not supported"
    elif version == 1:
        hlen += 4  # key (payload length + call id) is mandatory
        if flags & 0x1000:
            hlen += 4
        if flags & 0x0080:
            hlen += 4
    else:
        return f"GRE version {version}"
    off += hlen
    if end - off < 0:
        return "truncated GRE header"
    if proto in (link.ETH_IP4, link.ETH_IP6):
        return "gre", proto, off
    if 0x8200 <= proto <= 0x82FF:  # Aruba access points tunnel 802.11 frames (as Zeek decodes them)
        return "gre", link.ieee80211, off
    if proto == ETH_TEB:
        return "gre", link.ethernet, off
    if proto == ETH_PPP:
        return "gre", link.ppp, off
    if proto == ETH_ERSPAN2:
        if not flags & 0x1000:  # ERSPAN type I: no sequence number, no ERSPAN header
            return "gre", link.ethernet, off
        return "gre", link.ethernet, off + 8
    if proto == ETH_ERSPAN3:
        if end - off < 12:
            return "truncated ERSPAN III header"
        return "gre", link.ethernet, off + 12 + (8 if data[off + 11] & 1 else 0)
    return f"GRE protocol {proto:#06x}"


def geneve(data: bytes, off: int, end: int) -> Inner | str:
    """Geneve (RFC 8926): 8-byte header plus options, then Ethernet or IP."""
    if end - off < 8:
        return "truncated Geneve header"
    if data[off] >> 6:
        return f"Geneve version {data[off] >> 6}"
    optlen = (data[off] & 0x3F) << 2
    proto = _H(data, off + 2)[0]
    off += 8 + optlen
    if proto == ETH_TEB:
        return "geneve", link.ethernet, off
    if proto in (link.ETH_IP4, link.ETH_IP6):
        return "geneve", proto, off
    return f"Geneve protocol {proto:#06x}"


def gtpu(data: bytes, off: int, end: int) -> Inner | str | None:
    """GTPv1-U: T-PDU messages (type 0xFF) carry IP; other messages are signalling (no inner)."""
    if end - off < 8:
        return "truncated GTP-U header"
    flags, mtype = data[off], data[off + 1]
    if flags >> 5 != 1 or not flags & 0x10:
        return None if flags >> 5 == 2 else "bad GTP-U version"
    if mtype != 0xFF:
        return None
    hlen = 8
    if flags & 0x07:
        hlen = 12
        if flags & 0x04:  # extension header chain: length in 4-byte units, next type in last byte
            nxt = data[off + 11] if end - off >= 12 else 0
            while nxt:
                if end - off < hlen + 1:
                    return "truncated GTP-U extension header"
                elen = data[off + hlen] << 2
                if not elen or end - off < hlen + elen:
                    return "bad GTP-U extension header"
                nxt = data[off + hlen + elen - 1]
                hlen += elen
    off += hlen
    if off >= end:
        return None
    et = link.by_version(data, off)
    if isinstance(et, str):
        return f"GTP-U payload not IP ({et})"
    return "gtpv1", et, off


def teredo(data: bytes, off: int, end: int) -> Inner | None:
    """Teredo (RFC 4380): optional authentication/origin indication headers, then IPv6.

    ``end`` is where the UDP payload ends per the headers (not per the captured bytes), so a
    snaplen-truncated Teredo packet is still recognised.
    """
    end_cap = min(end, len(data))
    if end_cap - off >= 4 and data[off] == 0 and data[off + 1] == 1:  # authentication header
        idlen, aulen = data[off + 2], data[off + 3]
        off += 4 + idlen + aulen + 9
    if end_cap - off >= 8 and data[off] == 0 and data[off + 1] == 0:  # origin indication
        off += 8
    if end - off < 40 or len(data) - off < 40 or data[off] >> 4 != 6:
        return None  # not Teredo-encapsulated IPv6: plain UDP on the port
    if 40 + _H(data, off + 4)[0] != end - off:
        return None  # IPv6 payload length must fill the UDP payload exactly (Zeek's check)
    return "teredo", link.ETH_IP6, off


def ayiya(data: bytes, off: int, end: int) -> Inner | str | None:
    """AYIYA (anything in anything): identity and signature lengths in the header, then IP."""
    if end - off < 8:
        return "truncated AYIYA header"
    idlen = 1 << (data[off] >> 4)
    siglen = (data[off + 1] >> 4) << 2
    opcode = data[off + 2] & 0x0F
    nxt = data[off + 3]
    if opcode != 1 or nxt not in IPIP:
        return None
    return "ayiya", IPIP[nxt], off + 8 + idlen + siglen
