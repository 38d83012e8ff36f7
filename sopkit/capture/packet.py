"""The decoded-packet record: the contract between capture decoding and the flow/metadata builders.

A capture reader yields :class:`Frame` objects (raw link-layer bytes with their timestamp); the
decoder turns each frame into zero or more :class:`Packet` records (more than one when a frame
carries a tunnel: the outer packet first, then the inner one whose ``tunnel`` names its parent);
the flow table, the DNS/HTTP/TLS tables and the detectors consume :class:`Packet` only, never dpkt
objects, so a faster decoding path can replace the per-packet one without touching them.

Timestamps are integer nanoseconds since the Unix epoch (UTC): pcapng keeps nanosecond precision
and float seconds would lose it. Addresses are packed bytes (4 for IPv4, 16 for IPv6) and are
turned into text only at output time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

#: IP protocol numbers used throughout sopkit.
PROTO_ICMP = 1
PROTO_TCP = 6
PROTO_UDP = 17
PROTO_GRE = 47
PROTO_ICMP6 = 58
PROTO_SCTP = 132

#: TCP flag bits (as in the TCP header's flags byte).
TH_FIN = 0x01
TH_SYN = 0x02
TH_RST = 0x04
TH_PUSH = 0x08
TH_ACK = 0x10
TH_URG = 0x20
TH_ECE = 0x40
TH_CWR = 0x80


class Frame(NamedTuple):
    """One record from a capture file, before any decoding."""

    ts_ns: int  #: capture time, ns since epoch (UTC)
    linktype: int  #: DLT/LINKTYPE value of the interface it was captured on
    data: bytes  #: the captured bytes (``caplen`` of them)
    wirelen: int  #: original length on the wire (>= len(data) when snaplen truncated it)
    source: str = ""  #: file it came from (for messages and multi-file streams)
    index: int = 0  #: 0-based record number in that file


class TunnelKey(NamedTuple):
    """Identifies the outer connection that carried a tunnelled packet (Zeek's ``tunnel_parents``)."""

    kind: str  #: "gre", "teredo", "vxlan", "geneve", "gtp", "ip-in-ip", "ayiya" …
    proto: int  #: outer transport protocol (17 for UDP-based tunnels, 47 GRE, 4/41 ip-in-ip)
    src: bytes
    sport: int
    dst: bytes
    dport: int


@dataclass(slots=True)
class Packet:
    """One IP packet after link-layer decoding and IP fragment reassembly.

    ``sport``/``dport`` hold ICMP type/code for ICMP and ICMPv6 (the flow table maps them to Zeek's
    type/counterpart-type ports) and 0 for transports without ports.
    """

    ts_ns: int
    src: bytes
    dst: bytes
    proto: int  #: transport protocol number after IPv6 extension headers
    sport: int = 0
    dport: int = 0
    ip_len: int = 0  #: IP total length from the header (IPv6: 40 + payload length); reassembled size for fragments
    payload_len: int = 0  #: transport payload length implied by the headers (not by what was captured)
    tcp_flags: int = 0
    seq: int = 0
    ack: int = 0
    window: int = 0
    payload: bytes = b""  #: captured transport payload; may be shorter than ``payload_len``
    ip_version: int = 4
    ttl: int = 0
    vlan: int | None = None  #: outer 802.1Q VLAN id
    inner_vlan: int | None = None  #: inner VLAN id (QinQ)
    l2_src: bytes | None = None  #: source MAC where the link layer has one
    l2_dst: bytes | None = None
    tunnel: TunnelKey | None = None  #: set on the inner packet of a tunnel
    bad_checksum: bool = False  #: IP/TCP/UDP checksum verified and wrong (Zeek drops these without -C)
    truncated: bool = False  #: captured bytes end before the headers/payload say they should
    frame_index: int = 0
    source: str = ""
    extra: dict = field(default_factory=dict)  #: decoder notes (e.g. ICMP inner header) for analyzers
