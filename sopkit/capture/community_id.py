"""Community ID v1 flow hash (corelight community-id-spec), as Zeek and Suricata log it.

What: :func:`community_id` returns ``"1:" + base64(sha1(seed, ordered addresses, proto, ports))``.
Why our own code: it is a dozen lines over :mod:`hashlib`; the reference Python package
(``communityid``) would be an extra dependency for no gain.  ICMP/ICMPv6 use the spec's port
equivalents (type and counterpart type for request/reply pairs; type and code for one-way messages,
which are hashed in the given direction).
"""

from __future__ import annotations

import base64
import hashlib
import struct

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
