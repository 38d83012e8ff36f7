"""Link-layer decoding: from a frame's bytes to (network protocol, offset, layer-2 details).

Hand-written ``struct.unpack_from`` parsing (no dpkt object per frame) because this runs once per
packet: dpkt's per-packet object decode manages ~39k packets/s here, far below what sopkit needs.

Every function takes ``(data, off)`` and returns either ``(ethertype, offset, l2)`` where
``ethertype`` is 0x0800 (IPv4) or 0x86DD (IPv6) and ``l2`` is ``(l2_src, l2_dst, vlan,
inner_vlan)`` or None, or a string naming why the frame cannot be decoded (counted by the decoder).
"""

from __future__ import annotations

import struct
from collections.abc import Callable

ETH_IP4 = 0x0800
ETH_IP6 = 0x86DD
VLAN_TYPES = frozenset((0x8100, 0x88A8, 0x9100, 0x9200))
MPLS_TYPES = frozenset((0x8847, 0x8848))
ETH_PPPOE_SESSION = 0x8864
ETH_FABRICPATH = 0x8903
PPP_TO_ETH = {0x0021: ETH_IP4, 0x0057: ETH_IP6}
#: BSD loopback address families: 2 = AF_INET; 24/28/30 = AF_INET6 on Net/Open, Free, Darwin BSD
NULL_AF = {2: ETH_IP4, 24: ETH_IP6, 28: ETH_IP6, 30: ETH_IP6, 10: ETH_IP6, 23: ETH_IP6}

L2 = tuple  # (l2_src, l2_dst, vlan, inner_vlan)
LinkResult = "tuple[int, int, L2 | None] | str"

_H = struct.Struct("!H").unpack_from
_I = struct.Struct("!I").unpack_from


def by_version(data: bytes, off: int) -> int | str:
    """Network protocol of a bare IP packet from its version nibble."""
    if off >= len(data):
        return "empty IP payload"
    v = data[off] >> 4
    if v == 4:
        return ETH_IP4
    if v == 6:
        return ETH_IP6
    return f"unknown IP version {v}"


def raw(data: bytes, off: int = 0):  # LinkResult
    """Raw IP (link types 101, 12, 14, 228, 229): IPv4 or IPv6 by the version nibble."""
    et = by_version(data, off)
    return et if isinstance(et, str) else (et, off, None)


def ethertype_payload(data: bytes, off: int, et: int, src: bytes | None, dst: bytes | None):  # LinkResult
    """Follow an ethertype chain (VLAN tags, MPLS labels, PPPoE, LLC/SNAP) to IPv4/IPv6."""
    n = len(data)
    vlan = inner = None
    while True:
        if et == ETH_IP4 or et == ETH_IP6:
            return et, off, (src, dst, vlan, inner)
        if et in VLAN_TYPES:
            if n - off < 4:
                return "truncated 802.1Q tag"
            tci, et = struct.unpack_from("!HH", data, off)
            if vlan is None:
                vlan = tci & 0xFFF
            elif inner is None:
                inner = tci & 0xFFF
            off += 4
        elif et in MPLS_TYPES:
            while True:  # label stack: 4 bytes each until the bottom-of-stack bit
                if n - off < 4:
                    return "truncated MPLS label stack"
                bottom = data[off + 2] & 1
                off += 4
                if bottom:
                    break
            et = by_version(data, off)  # MPLS carries no payload type: guess from the version
            if isinstance(et, str):
                return f"MPLS payload not IP ({et})"
        elif et == ETH_PPPOE_SESSION:
            if n - off < 8:
                return "truncated PPPoE header"
            ppp = _H(data, off + 6)[0]
            off += 8
            if ppp not in PPP_TO_ETH:
                return f"PPPoE non-IP protocol {ppp:#06x}"
            et = PPP_TO_ETH[ppp]
        elif et <= 1500:  # 802.3 length field: LLC follows
            if n - off < 3:
                return "truncated 802.2 LLC header"
            if data[off] == 0xAA and data[off + 1] == 0xAA and data[off + 2] == 3:
                if n - off < 8:
                    return "truncated SNAP header"
                et = _H(data, off + 6)[0]
                off += 8
            else:
                return f"802.3 LLC frame (DSAP {data[off]:#04x})"
        elif et == ETH_FABRICPATH:
            # Cisco FabricPath: 2-byte FTag/TTL, then the original Ethernet header (dst, src, type)
            if n - off < 16:
                return "truncated FabricPath header"
            dst, src = data[off + 2 : off + 8], data[off + 8 : off + 14]
            et = _H(data, off + 14)[0]
            off += 16
        else:
            return f"non-IP ethertype {et:#06x}"


def ethernet(data: bytes, off: int = 0):  # LinkResult
    """Ethernet II / 802.3 (link type 1), with 802.1Q/QinQ, MPLS, PPPoE, LLC/SNAP, FabricPath."""
    if len(data) - off < 14:
        return "truncated Ethernet header"
    return ethertype_payload(data, off + 14, _H(data, off + 12)[0], data[off + 6 : off + 12], data[off : off + 6])


def linux_sll(data: bytes, off: int = 0):  # LinkResult
    """Linux "cooked" capture v1 (link type 113): 16-byte header, protocol in the last 2 bytes."""
    if len(data) - off < 16:
        return "truncated Linux SLL header"
    hatype, alen = struct.unpack_from("!HH", data, off + 2)
    proto = _H(data, off + 14)[0]
    src = data[off + 6 : off + 6 + alen] if alen == 6 else None
    return _sll_proto(data, off + 16, proto, hatype, src)


def linux_sll2(data: bytes, off: int = 0):  # LinkResult
    """Linux "cooked" capture v2 (link type 276): 20-byte header, protocol first."""
    if len(data) - off < 20:
        return "truncated Linux SLL2 header"
    proto = _H(data, off)[0]
    hatype = _H(data, off + 8)[0]
    alen = data[off + 11]
    src = data[off + 12 : off + 12 + alen] if alen == 6 else None
    return _sll_proto(data, off + 20, proto, hatype, src)


def _sll_proto(data: bytes, off: int, proto: int, hatype: int, src: bytes | None):  # LinkResult
    if hatype in (778, 824):  # ARPHRD_IPGRE / ARPHRD_NETLINK: protocol is not an ethertype
        return f"Linux SLL ARPHRD type {hatype}"
    if proto == 0x0004:  # 802.2 LLC frame follows
        return ethertype_payload(data, off, 0, src, None)
    return ethertype_payload(data, off, proto, src, None)


def null(data: bytes, off: int = 0):  # LinkResult
    """BSD loopback (link types 0 and 108): 4-byte address family in either byte order."""
    if len(data) - off < 4:
        return "truncated loopback header"
    af = struct.unpack_from("<I", data, off)[0]
    if af > 0xFFFF:
        af = _I(data, off)[0]
    et = NULL_AF.get(af)
    if et is None:
        return f"loopback address family {af}"
    return et, off + 4, None


def fddi(data: bytes, off: int = 0):  # LinkResult
    """FDDI (link type 10): frame control, DA, SA (13 bytes), then 802.2 LLC/SNAP.

    MAC addresses are not reported (``l2`` None): Zeek logs layer-2 addresses for Ethernet only.
    """
    if len(data) - off < 13:
        return "truncated FDDI header"
    r = ethertype_payload(data, off + 13, 0, None, None)
    return r


def ppp(data: bytes, off: int = 0):  # LinkResult
    """PPP (9) and PPP in HDLC framing (50), with or without ``ff 03``; Cisco HDLC (104)."""
    n = len(data)
    if n - off < 2:
        return "truncated PPP header"
    b0 = data[off]
    if b0 == 0xFF and data[off + 1] == 0x03:
        off += 2
    elif b0 in (0x0F, 0x8F) and data[off + 1] == 0:  # Cisco HDLC: address, control, ethertype
        if n - off < 4:
            return "truncated Cisco HDLC header"
        return ethertype_payload(data, off + 4, _H(data, off + 2)[0], None, None)
    if n - off < 1:
        return "truncated PPP header"
    if data[off] & 1:  # protocol field compressed to one byte
        proto = data[off]
        off += 1
    else:
        if n - off < 2:
            return "truncated PPP header"
        proto = _H(data, off)[0]
        off += 2
    et = PPP_TO_ETH.get(proto)
    if et is None:
        return f"PPP non-IP protocol {proto:#06x}"
    return et, off, None


def ieee80211(data: bytes, off: int = 0):  # LinkResult
    """802.11 (link type 105): data frames only, LLC/SNAP to IP; other frames are counted."""
    n = len(data)
    if n - off < 24:
        return "truncated 802.11 header"
    fc0, fc1 = data[off], data[off + 1]
    ftype = (fc0 >> 2) & 3
    if ftype != 2:
        return "802.11 management/control frame"
    subtype = fc0 >> 4
    if subtype & 0x4:
        return "802.11 data frame without payload"
    if fc1 & 0x40:
        return "802.11 protected (encrypted) frame"
    to_ds, from_ds = fc1 & 1, fc1 & 2
    a1, a2, a3 = data[off + 4 : off + 10], data[off + 10 : off + 16], data[off + 16 : off + 22]
    hlen = 24
    if to_ds and from_ds:
        hlen = 30
        dst, src = a3, data[off + 24 : off + 30]
    elif to_ds:
        dst, src = a3, a2
    elif from_ds:
        dst, src = a1, a3
    else:
        dst, src = a1, a2
    if subtype & 0x8:  # QoS data: 2-byte QoS control, plus 4-byte HT control when Order is set
        hlen += 2
        if fc1 & 0x80:
            hlen += 4
    off += hlen
    if n - off < 8:
        return "truncated 802.11 LLC header"
    if not (data[off] == 0xAA and data[off + 1] == 0xAA and data[off + 2] == 3):
        return f"802.11 non-SNAP LLC (DSAP {data[off]:#04x})"
    return ethertype_payload(data, off + 8, _H(data, off + 6)[0], src, dst)


def radiotap(data: bytes, off: int = 0):  # LinkResult
    """802.11 with a radiotap header (link type 127): skip ``it_len`` bytes, then 802.11."""
    if len(data) - off < 4:
        return "truncated radiotap header"
    rlen = struct.unpack_from("<H", data, off + 2)[0]
    if rlen < 8 or len(data) - off < rlen:
        return "truncated radiotap header"
    return ieee80211(data, off + rlen)


def nflog(data: bytes, off: int = 0):  # LinkResult
    """Linux NFLOG (link type 239): TLVs (host-order lengths, 4-byte aligned); type 9 is the packet."""
    n = len(data)
    if n - off < 4:
        return "truncated NFLOG header"
    family = data[off]
    off += 4
    while n - off >= 4:
        tlen, ttype = struct.unpack_from("<HH", data, off)
        if tlen < 4:
            return "bad NFLOG TLV length"
        if ttype == 9:
            et = ETH_IP4 if family == 2 else ETH_IP6 if family == 10 else by_version(data, off + 4)
            return et if isinstance(et, str) else (et, off + 4, None)
        off += (tlen + 3) & ~3
    return "NFLOG without packet payload"


#: link type -> decoder
LINKTYPES: dict[int, Callable] = {
    0: null,
    1: ethernet,
    9: ppp,
    10: fddi,
    12: raw,
    14: raw,
    50: ppp,
    101: raw,
    104: ppp,
    105: ieee80211,
    108: null,
    113: linux_sll,
    127: radiotap,
    228: raw,
    229: raw,
    239: nflog,
    276: linux_sll2,
}
