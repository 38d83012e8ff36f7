"""Community ID v1 flow hash (corelight community-id-spec), as Zeek and Suricata log it.

What: :func:`community_id` returns ``"1:" + base64(sha1(seed, ordered addresses, proto, ports))``.
:func:`community_ids` computes many at once (numpy) for the compiled flow engine.
Why our own code: it is a dozen lines over :mod:`hashlib`; the reference Python package
(``communityid``) would be an extra dependency for no gain.  ICMP/ICMPv6 use the spec's port
equivalents (type and counterpart type for request/reply pairs; type and code for one-way messages,
which are hashed in the given direction).
"""

from __future__ import annotations

import base64
import hashlib
import struct
from collections.abc import Callable

import numpy as np

_ICMP4 = {8: 0, 0: 8, 13: 14, 14: 13, 15: 16, 16: 15, 17: 18, 18: 17, 10: 9, 9: 10}
_ICMP6 = {128: 129, 129: 128, 133: 134, 134: 133, 135: 136, 136: 135, 130: 131, 131: 130,
          139: 140, 140: 139}
_PORTED = (6, 17, 132, 1, 58)


def community_id(proto: int, saddr: bytes, daddr: bytes, sport: int = 0, dport: int = 0,
                 seed: int = 0) -> str:
    """Community ID v1 of a flow; addresses are packed bytes (4 or 16), ports host integers.

    For ICMP (1) and ICMPv6 (58) pass the type as ``sport`` and the code as ``dport``.
    """
    one_way = False
    if proto in (1, 58):
        pairs = _ICMP4 if proto == 1 else _ICMP6
        if sport in pairs:
            dport = pairs[sport]
        else:
            one_way = True
    if not one_way and (saddr, sport) > (daddr, dport):
        saddr, daddr, sport, dport = daddr, saddr, dport, sport
    data = struct.pack("!H", seed & 0xFFFF) + saddr + daddr + struct.pack("!BB", proto, 0)
    if proto in _PORTED:
        data += struct.pack("!HH", sport & 0xFFFF, dport & 0xFFFF)
    return "1:" + base64.b64encode(hashlib.sha1(data).digest()).decode("ascii")


def _pairs_table(pairs: dict[int, int]) -> np.ndarray:
    table = np.full(65536, -1, np.int64)
    table[list(pairs)] = list(pairs.values())
    return table


def community_ids(proto: np.ndarray, ver: np.ndarray, shi: np.ndarray, slo: np.ndarray, sport: np.ndarray,
                  dhi: np.ndarray, dlo: np.ndarray, dport: np.ndarray, seed: int = 0,
                  digest_rows: Callable[[np.ndarray], np.ndarray] | None = None) -> np.ndarray:
    """:func:`community_id` of many flows at once, as an ``(n, 30)`` uint8 array of ASCII text.

    Addresses are given as 64-bit halves (``hi``, ``lo`` bit patterns, IPv4 in the low 32 bits of
    ``lo``) with ``ver`` 4 or 6 per row.  Ordering, ICMP port equivalents and byte layout are
    vectorized, the base64 is one call over all digests.  SHA-1 is one :mod:`hashlib` call per
    row, or ``digest_rows`` (an ``(m, width)`` uint8 array → its ``(m, 20)`` digests) when given:
    the compiled engine passes :func:`sopkit.capture.fastsha1.sha1_rows`.
    """
    n = len(proto)
    proto = np.asarray(proto, np.int64)
    sp = np.asarray(sport, np.int64).copy()
    dp = np.asarray(dport, np.int64).copy()
    one_way = np.zeros(n, bool)
    for num, pairs in ((1, _ICMP4), (58, _ICMP6)):
        icmp = proto == num
        if icmp.any():
            mapped = _pairs_table(pairs)[sp & 0xFFFF]
            dp = np.where(icmp & (mapped >= 0), mapped, dp)
            one_way |= icmp & (mapped < 0)
    uh, ul = (np.ascontiguousarray(x).view(np.uint64) for x in (shi, slo))
    vh, vl = (np.ascontiguousarray(x).view(np.uint64) for x in (dhi, dlo))
    greater = (uh > vh) | ((uh == vh) & ((ul > vl) | ((ul == vl) & (sp > dp))))
    swap = ~one_way & greater
    addr = np.empty((n, 2, 2), ">u8")  # [row, side, half] big-endian: 16 packed address bytes per side
    addr[:, 0, 0], addr[:, 0, 1] = np.where(swap, vh, uh), np.where(swap, vl, ul)
    addr[:, 1, 0], addr[:, 1, 1] = np.where(swap, uh, vh), np.where(swap, ul, vl)
    raw = addr.view(np.uint8).reshape(n, 2, 16)
    ports = np.empty((n, 2), ">u2")
    ports[:, 0] = np.where(swap, dp, sp) & 0xFFFF
    ports[:, 1] = np.where(swap, sp, dp) & 0xFFFF
    ported = np.isin(proto, _PORTED)
    digests = np.empty((n, 21), np.uint8)
    digests[:, 20] = 0
    v6 = np.asarray(ver) == 6
    sha1 = hashlib.sha1
    for is6, alen in ((False, 4), (True, 16)):
        for with_ports in (True, False):
            rows = np.flatnonzero((v6 == is6) & (ported == with_ports))
            if not len(rows):
                continue
            width = 4 + 2 * alen + (4 if with_ports else 0)
            buf = np.zeros((len(rows), width), np.uint8)
            buf[:, :2] = np.frombuffer(struct.pack("!H", seed & 0xFFFF), np.uint8)
            buf[:, 2:2 + 2 * alen] = raw[rows, :, 16 - alen:].reshape(len(rows), 2 * alen)
            buf[:, 2 + 2 * alen] = proto[rows]
            if with_ports:
                buf[:, 4 + 2 * alen:] = ports[rows].view(np.uint8).reshape(-1, 4)
            if digest_rows is not None:
                digests[rows, :20] = digest_rows(buf)
                continue
            mv = memoryview(buf.tobytes())
            got = b"".join([sha1(mv[i:i + width]).digest() for i in range(0, len(mv), width)])
            digests[rows, :20] = np.frombuffer(got, np.uint8).reshape(-1, 20)
    # base64 of digest + one zero byte is the digest's 27 characters and one more: all at once
    out = np.empty((n, 30), np.uint8)
    out[:, :2] = np.frombuffer(b"1:", np.uint8)
    out[:, 2:29] = np.frombuffer(base64.b64encode(digests.tobytes()), np.uint8).reshape(n, 28)[:, :27]
    out[:, 29] = ord("=")
    return out
