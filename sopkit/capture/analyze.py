"""One pass over captures feeding every table the traffic detectors read: :func:`analyze_captures`.

Reading and decoding dominate the cost of the per-packet path (~50k packets/s), so the flow table
(:mod:`sopkit.capture.flows`), the DNS, HTTP and TLS builders and two small collectors that only
the detectors need are all fed from the same decoded packet, instead of decoding each file four
times. Every builder keeps bounded state (live connections, unanswered queries, hello buffers);
only the output rows grow.

The two collectors written here (no library offers either on our Packet records):

* ICMP echo summary — per (source, destination, type) of echo request/reply: packets, payload
  bytes, largest payload, distinct payloads (capped) and mean Shannon entropy of the first
  payloads; what an ICMP-tunnel detector needs without keeping every packet.
* Cleartext logins — per-segment look at FTP/POP3 ``USER``/``PASS``, IMAP ``LOGIN``, SMTP
  ``AUTH PLAIN/LOGIN`` and Telnet sessions. Only the user name and the fact that a password was
  sent are kept; the password itself never leaves this module.

What was skipped and why (unreadable files, reader damage, undecodable frames, packets the flow
table ignored, DNS/HTTP/TLS rejections) is returned in :attr:`TrafficTables.stats`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import ipaddress
import math
import os
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from sopkit.capture.decode import Decoder
from sopkit.capture.dns import DnsTableBuilder
from sopkit.capture.flows import FlowTable, rows_to_frame
from sopkit.capture.http import COLUMNS as HTTP_COLUMNS
from sopkit.capture.http import HttpParser
from sopkit.capture.packet import PROTO_ICMP, PROTO_ICMP6, PROTO_TCP, Packet
from sopkit.capture.readers import iter_frames
from sopkit.capture.tcpstream import TcpReassembler, ip_text
from sopkit.capture.tls import TlsTableBuilder
from sopkit.errors import ParameterError

DEFAULT_LOCAL_NETS = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")

ICMP_COLUMNS = ["ts", "ts_ns", "last_ts", "src", "dst", "ip_version", "icmp_type", "packets", "payload_bytes",
                "max_payload", "distinct_payloads", "mean_entropy"]
CLEARTEXT_COLUMNS = ["ts", "ts_ns", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "protocol", "command",
                     "username", "password_present"]

ECHO_TYPES = {(PROTO_ICMP, 8), (PROTO_ICMP, 0), (PROTO_ICMP6, 128), (PROTO_ICMP6, 129)}
MAX_DISTINCT = 4096  #: distinct payload digests remembered per ICMP key (the count saturates there)
ENTROPY_SAMPLE = 256  #: payloads per ICMP key whose entropy is measured
MAX_PENDING = 50_000  #: FTP/POP3 connections waiting for PASS after USER; the oldest are dropped beyond


def shannon_entropy(data: bytes) -> float:
    """Shannon entropy of a byte string in bits per byte (0 for empty input)."""
    n = len(data)
    if not n:
        return 0.0
    return -sum(c / n * math.log2(c / n) for c in Counter(data).values())


class IcmpEchoSummary:
    """Aggregates ICMP/ICMPv6 echo request and reply packets per (source, destination, type)."""

    def __init__(self) -> None:
        self.keys: dict[tuple, list[Any]] = {}

    def add(self, p: Packet) -> None:
        """Account one packet (non-echo packets are ignored)."""
        if (p.proto, p.sport) not in ECHO_TYPES:
            return
        key = (p.src, p.dst, p.proto, p.sport)
        st = self.keys.get(key)
        if st is None:
            # first ts, last ts, packets, bytes, max, digests, entropy sum, entropy n
            st = self.keys[key] = [p.ts_ns, p.ts_ns, 0, 0, 0, set(), 0.0, 0]
        payload = p.payload
        body = payload[16:] if len(payload) > 16 else payload  # ping tools put a changing timestamp first
        st[1] = p.ts_ns
        st[2] += 1
        n = max(p.payload_len, 0)
        st[3] += n
        st[4] = max(st[4], n)
        if len(st[5]) < MAX_DISTINCT:
            st[5].add(hashlib.blake2b(body, digest_size=8).digest())
        if st[7] < ENTROPY_SAMPLE and payload:
            st[6] += shannon_entropy(payload)
            st[7] += 1

    def finish(self) -> pd.DataFrame:
        """One row per (src, dst, type); ``mean_entropy`` over the first payloads (bits/byte)."""
        rows = [(f / 1e9, f, last / 1e9, ip_text(src), ip_text(dst), 4 if proto == PROTO_ICMP else 6, itype,
                 pk, nb, mx, len(dig), es / en if en else 0.0)
                for (src, dst, proto, itype), (f, last, pk, nb, mx, dig, es, en) in self.keys.items()]
        return pd.DataFrame(rows, columns=ICMP_COLUMNS)


_IMAP_LOGIN = re.compile(rb"^\S+ LOGIN (\S+) (\S+)", re.I)
CLEARTEXT_PORTS = {21: "ftp", 23: "telnet", 25: "smtp", 110: "pop3", 143: "imap", 587: "smtp"}


class CleartextLogins:
    """Finds logins sent in clear text (see module docstring); one row per login command or Telnet session."""

    def __init__(self) -> None:
        self.rows: list[tuple] = []
        self.users: dict[tuple, str] = {}
        self.telnet: dict[tuple, None] = {}

    def add(self, p: Packet) -> None:
        """Look at one client→server TCP segment on a cleartext-login port."""
        if p.proto != PROTO_TCP or not p.payload:
            return
        proto = CLEARTEXT_PORTS.get(p.dport)
        if proto is None:
            return
        conn = (p.src, p.sport, p.dst, p.dport)
        if proto == "telnet":
            if conn not in self.telnet:
                self.telnet[conn] = None
                self._row(p, proto, "session", None, False)
                if len(self.telnet) > MAX_PENDING:
                    del self.telnet[next(iter(self.telnet))]
            return
        line = p.payload.split(b"\n", 1)[0].rstrip(b"\r")
        verb = line[:5].upper()
        if proto in ("ftp", "pop3"):
            if verb == b"USER ":
                self.users[conn] = _text(line[5:].strip())
                if len(self.users) > MAX_PENDING:
                    del self.users[next(iter(self.users))]
            elif verb == b"PASS ":
                self._row(p, proto, "PASS", self.users.pop(conn, None), bool(line[5:].strip()))
        elif proto == "imap":
            m = _IMAP_LOGIN.match(line)
            if m:
                self._row(p, proto, "LOGIN", _text(m.group(1)).strip('"'), True)
        elif line[:10].upper() == b"AUTH PLAIN" and len(line) > 11:
            try:
                parts = base64.b64decode(line[11:].strip(), validate=False).split(b"\0")
            except (binascii.Error, ValueError):
                parts = []
            user = _text(parts[1]) if len(parts) == 3 else None
            self._row(p, proto, "AUTH PLAIN", user, len(parts) == 3 and bool(parts[2]))
        elif line[:10].upper() == b"AUTH LOGIN":
            self._row(p, proto, "AUTH LOGIN", None, False)

    def _row(self, p: Packet, proto: str, command: str, user: str | None, pw: bool) -> None:
        self.rows.append((p.ts_ns / 1e9, p.ts_ns, ip_text(p.src), p.sport, ip_text(p.dst), p.dport, proto,
                          command, user, pw))

    def finish(self) -> pd.DataFrame:
        """The login rows (never any password)."""
        return pd.DataFrame(self.rows, columns=CLEARTEXT_COLUMNS)


def _text(b: bytes) -> str:
    return b.decode("utf-8", "backslashreplace")


@dataclass
class TrafficTables:
    """Everything one pass over captures produced; the input of every traffic detector."""

    flows: pd.DataFrame
    dns: pd.DataFrame
    http: pd.DataFrame
    tls: pd.DataFrame
    icmp: pd.DataFrame
    cleartext: pd.DataFrame
    local_nets: tuple[str, ...] = DEFAULT_LOCAL_NETS
    stats: dict[str, Any] = field(default_factory=dict)  #: what was read, skipped and why, per stage

    def is_local(self, addresses: pd.Series) -> pd.Series:
        """Boolean Series: is each address inside one of :attr:`local_nets`."""
        return local_mask(addresses, self.local_nets)


def local_mask(addresses: pd.Series, nets: Sequence[str]) -> pd.Series:
    """Boolean Series: is each address (text) inside one of ``nets``; unparsable addresses are not local."""
    parsed = [ipaddress.ip_network(n, strict=False) for n in nets]
    cache: dict[str, bool] = {}

    def one(a: object) -> bool:
        if a not in cache:
            try:
                ip = ipaddress.ip_address(str(a))
                cache[a] = any(ip.version == n.version and ip in n for n in parsed)  # type: ignore[index]
            except ValueError:
                cache[a] = False  # type: ignore[index]
        return cache[a]  # type: ignore[index]

    return addresses.map(one).astype(bool)


def external_mask(addresses: pd.Series, nets: Sequence[str]) -> pd.Series:
    """Boolean Series: is each address a routable host outside ``nets`` (not multicast, broadcast,
    link-local, loopback, unspecified or reserved)."""
    local = local_mask(addresses, nets)
    cache: dict[str, bool] = {}

    def special(a: object) -> bool:
        if a not in cache:
            try:
                ip = ipaddress.ip_address(str(a))
                cache[a] = (ip.is_multicast or ip.is_link_local or ip.is_loopback or ip.is_unspecified  # type: ignore[index]
                            or ip.is_reserved or str(ip) == "255.255.255.255")
            except ValueError:
                cache[a] = True  # type: ignore[index]
        return cache[a]  # type: ignore[index]

    return ~local & ~addresses.map(special).astype(bool)


def analyze_captures(paths: Iterable[str | os.PathLike] | str | os.PathLike, *,
                     local_nets: Sequence[str] = DEFAULT_LOCAL_NETS, start_ns: int | None = None,
                     end_ns: int | None = None, progress: bool = False, engine: str = "fast") -> TrafficTables:
    """Read captures and build flows, DNS, HTTP, TLS, ICMP-echo and cleartext-login tables.

    ``local_nets`` decide ``local_orig``/``local_resp`` in the flow table and which side is inside
    for the detectors; ``start_ns``/``end_ns`` keep packets in ``[start_ns, end_ns)``. With
    ``engine="fast"`` the flow table comes from the compiled engine in a first pass (the same table,
    several times faster) and the per-packet pass builds only the protocol tables; ``"exact"`` does
    everything in one per-packet pass.
    """
    if engine not in ("fast", "exact"):
        raise ValueError(f"engine must be 'fast' or 'exact', not {engine!r}")
    for net in local_nets:
        try:
            ipaddress.ip_network(net, strict=False)  # a bad network fails here, before any reading
        except ValueError as exc:
            raise ParameterError(f"analyze_captures: local_nets: {exc}") from exc
    frames = iter_frames(paths, start_ns=start_ns, end_ns=end_ns, progress=progress)
    decoder = Decoder()
    flows = FlowTable(local_nets=list(local_nets))
    fast_flows = None
    if engine == "fast":
        from sopkit.capture.fastdecode import iter_batches
        from sopkit.capture.fastflows import FastFlowTable, build_flows_fast

        fast_table = FastFlowTable(local_nets=list(local_nets))
        fast_flows = build_flows_fast(iter_batches(paths, start_ns=start_ns, end_ns=end_ns), table=fast_table)
    track = flows.add if fast_flows is None else None
    dns = DnsTableBuilder()
    http_rasm, http = TcpReassembler(), HttpParser()
    tls = TlsTableBuilder()
    icmp, clear = IcmpEchoSummary(), CleartextLogins()
    flow_rows: list[tuple] = []
    decode = decoder.decode
    n = 0
    for frame in frames:
        for p in decode(frame):
            n += 1
            if track is not None:
                track(p)
            if p.proto == PROTO_TCP:
                for ch in http_rasm.feed(p):
                    if not http.chunk(ch.conn, ch.from_orig, ch.data, ch.ts_ns, ch.gap):
                        http_rasm.ignore(ch.conn)
                tls.add(p)
                if p.payload and p.dport in CLEARTEXT_PORTS:
                    clear.add(p)
                if p.sport in (53, 5353, 5355) or p.dport in (53, 5353, 5355):
                    dns.add(p)
            elif p.proto == PROTO_ICMP or p.proto == PROTO_ICMP6:
                icmp.add(p)
            else:
                dns.add(p)
        if not n & 0xFFFF and flows.rows:
            flow_rows.extend(flows.pop_rows())
    decoder.finish()
    for ch in http_rasm.flush():
        http.chunk(ch.conn, ch.from_orig, ch.data, ch.ts_ns, ch.gap)
    flow_rows.extend(flows.finish())
    http_df = pd.DataFrame(http.rows, columns=HTTP_COLUMNS)
    for col in ("status_code", "info_code", "trans_depth", "request_body_len", "response_body_len"):
        http_df[col] = http_df[col].astype("Int64")
    dns_df, tls_df = dns.finish(), tls.finish()
    reader = frames.stats
    stats = {
        "files": len(frames.readers), "rejected_files": list(frames.rejected), "frames": reader.records,
        "bytes": reader.bytes, "reader_skipped": dict(reader.skipped), "reader_warnings": list(reader.warnings),
        "packets": n, "decoder_skipped": dict(decoder.stats),
        "flow_skipped": dict(flows.stats if fast_flows is None else fast_table.stats),
        "dns_rejections": dns_df.attrs.get("rejections", {}), "http_rejections": dict(http.rejections),
        "tls_rejections": tls_df.attrs.get("rejections", {}),
    }
    flows_df = rows_to_frame(flow_rows) if fast_flows is None else fast_flows
    return TrafficTables(flows=flows_df, dns=dns_df, http=http_df, tls=tls_df,
                         icmp=icmp.finish(), cleartext=clear.finish(), local_nets=tuple(local_nets), stats=stats)
