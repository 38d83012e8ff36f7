"""DNS transactions table (Zeek dns.log-like) from decoded packets: UDP and TCP port 53, mDNS, LLMNR.

Why our own message walker instead of ``dpkt.dns.DNS``: dpkt aborts the whole message on any
resource-record type it does not know (HTTPS, RRSIG, DNSKEY, CAA …), decodes names and TXT strings
as strict UTF-8 (so a tunnelling query with binary labels raises), and cannot say how far it got.
Here a declarative table maps RR types to renderers; names are walked with loop-safe compression
pointers and non-printable bytes rendered as ``\\xNN`` (as Zeek does); a message that breaks off in
its record sections still yields its row (``parse_error`` says where) and the reason is counted.

Rows: one per query transaction. A query is matched to the first unanswered query with the same
(client ip, client port, server ip, trans_id, proto) seen less than ``timeout`` seconds earlier; a
response without a query gives a row of its own (no ``rtt``), as Zeek logs it. Names are lower-cased
like Zeek's. ``df.attrs["rejections"]`` maps reason → count of messages that yielded no row or only
part of one. The extra columns ``query_len``, ``labels`` and ``max_label_len`` feed the DNS
tunnelling detectors; ``service`` is ``dns``, ``mdns`` (5353) or ``llmnr`` (5355).
"""

from __future__ import annotations

import socket
import struct
from collections import Counter, defaultdict, deque
from collections.abc import Iterable

import pandas as pd

from sopkit.capture.packet import PROTO_TCP, PROTO_UDP, Packet
from sopkit.capture.tcpstream import TcpReassembler, ip_text

PORT_SERVICE = {53: "dns", 5353: "mdns", 5355: "llmnr"}

QTYPE_NAMES = {1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 10: "NULL", 12: "PTR", 13: "HINFO", 15: "MX",
               16: "TXT", 17: "RP", 18: "AFSDB", 24: "SIG", 25: "KEY", 28: "AAAA", 29: "LOC", 33: "SRV",
               35: "NAPTR", 39: "DNAME", 41: "OPT", 43: "DS", 44: "SSHFP", 46: "RRSIG", 47: "NSEC",
               48: "DNSKEY", 50: "NSEC3", 51: "NSEC3PARAM", 52: "TLSA", 64: "SVCB", 65: "HTTPS",
               99: "SPF", 249: "TKEY", 250: "TSIG", 251: "IXFR", 252: "AXFR", 255: "*", 256: "URI",
               257: "CAA", 32769: "DLV"}
QCLASS_NAMES = {1: "C_INTERNET", 2: "C_CSNET", 3: "C_CHAOS", 4: "C_HESIOD", 254: "C_NONE", 255: "C_ANY"}
RCODE_NAMES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED",
               6: "YXDOMAIN", 7: "YXRRSET", 8: "NXRRSET", 9: "NOTAUTH", 10: "NOTZONE", 16: "BADVERS",
               17: "BADKEY", 18: "BADTIME", 19: "BADMODE", 20: "BADNAME", 21: "BADALG", 22: "BADTRUNC"}
OPCODE_NAMES = {0: "query", 1: "iquery", 2: "status", 4: "notify", 5: "update"}

COLUMNS = ["ts", "ts_ns", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service",
           "trans_id", "rtt", "query", "qclass", "qclass_name", "qtype", "qtype_name", "rcode",
           "rcode_name", "AA", "TC", "RD", "RA", "Z", "answers", "TTLs", "rejected", "opcode",
           "opcode_name", "query_len", "labels", "max_label_len", "parse_error"]


class DnsParseError(ValueError):
    """The message is inconsistent; the text is the reason that gets counted."""


def _escape(label: bytes) -> str:
    if all(0x21 <= b < 0x7F for b in label):
        return label.decode("ascii").lower()
    return "".join(chr(b).lower() if 0x21 <= b < 0x7F else f"\\x{b:02x}" for b in label)


def read_name(buf: bytes, off: int) -> tuple[list[bytes], int]:
    """Labels of the (possibly compressed) name at ``off`` and the offset just after it."""
    labels: list[bytes] = []
    end = None
    limit = off  # compression pointers must point strictly backwards: no loops
    total = 0
    while True:
        if off >= len(buf):
            raise DnsParseError("name runs past end of message")
        n = buf[off]
        if n == 0:
            off += 1
            break
        if n & 0xC0 == 0xC0:
            if off + 2 > len(buf):
                raise DnsParseError("truncated compression pointer")
            ptr = struct.unpack_from(">H", buf, off)[0] & 0x3FFF
            if ptr >= limit:
                raise DnsParseError("forward or looping compression pointer")
            if end is None:
                end = off + 2
            off = limit = ptr
            continue
        if n & 0xC0:
            raise DnsParseError(f"bad label type 0x{n:02x}")
        if off + 1 + n > len(buf):
            raise DnsParseError("label runs past end of message")
        labels.append(buf[off + 1:off + 1 + n])
        total += n + 1
        if total > 255:
            raise DnsParseError("name longer than 255 bytes")
        off += 1 + n
    return labels, (off if end is None else end)


def _name(buf: bytes, off: int, end: int = 0) -> str:
    return ".".join(_escape(lb) for lb in read_name(buf, off)[0])


def _txt(buf: bytes, off: int, end: int) -> str:
    parts, i = [], off
    while i < end:
        n = buf[i]
        s = buf[i + 1:i + 1 + n]
        parts.append(f"TXT {len(s)} " + s.decode("utf-8", "backslashreplace"))
        i += 1 + n
    return " ".join(parts)


#: rdata renderers by RR type: (message, rdata offset, rdata end) → answer text, as Zeek logs them.
RDATA = {
    1: lambda b, o, e: socket.inet_ntop(socket.AF_INET, b[o:e]) if e - o == 4 else "<bad A>",
    28: lambda b, o, e: socket.inet_ntop(socket.AF_INET6, b[o:e]) if e - o == 16 else "<bad AAAA>",
    2: _name, 5: _name, 12: _name, 39: _name,
    6: _name,  # SOA: the primary name server (mname)
    15: lambda b, o, e: _name(b, o + 2),  # MX: the exchange
    33: lambda b, o, e: _name(b, o + 6),  # SRV: the target
    16: _txt, 99: _txt,
}


def parse_message(buf: bytes) -> tuple[dict, str | None]:
    """Header, first question and answer-section records of one DNS message.

    Raises :class:`DnsParseError` when not even the header and question can be read; otherwise
    returns the fields and, if the record sections broke off, the reason (answers kept so far).
    """
    if len(buf) < 12:
        raise DnsParseError("shorter than the 12-byte header")
    tid, flags, qd, an, ns, ar = struct.unpack_from(">HHHHHH", buf)
    m: dict = {"trans_id": tid, "qr": bool(flags & 0x8000), "opcode": (flags >> 11) & 0xF,
               "AA": bool(flags & 0x0400), "TC": bool(flags & 0x0200), "RD": bool(flags & 0x0100),
               "RA": bool(flags & 0x0080), "Z": (flags >> 4) & 0x7, "rcode": flags & 0xF,
               "counts": (qd, an, ns, ar), "answers": [], "TTLs": [], "labels": None}
    off = 12
    if qd:
        labels, off = read_name(buf, off)
        if off + 4 > len(buf):
            raise DnsParseError("truncated question")
        m["labels"] = labels
        m["qtype"], m["qclass"] = struct.unpack_from(">HH", buf, off)
        off += 4
    try:
        for _ in range(qd - 1):
            off = read_name(buf, off)[1] + 4
        for _ in range(an):
            _, off = read_name(buf, off)
            if off + 10 > len(buf):
                raise DnsParseError("truncated resource record")
            rtype, _cls, ttl, rdlen = struct.unpack_from(">HHIH", buf, off)
            off += 10
            if off + rdlen > len(buf):
                raise DnsParseError("rdata runs past end of message")
            render = RDATA.get(rtype)
            m["answers"].append(render(buf, off, off + rdlen) if render else f"<unknown type={rtype}>")
            m["TTLs"].append(float(ttl))
            off += rdlen
    except DnsParseError as e:
        return m, f"answer section: {e}"
    except (IndexError, ValueError, struct.error):
        return m, "answer section: rdata too short for its type"
    return m, None


def _tcp_messages(stream: bytearray) -> Iterable[bytes]:
    """Pop complete length-prefixed DNS messages off a TCP byte stream buffer."""
    while len(stream) >= 2:
        n = struct.unpack_from(">H", stream)[0]
        if len(stream) < 2 + n:
            return
        msg = bytes(stream[2:2 + n])
        del stream[:2 + n]
        yield msg


class DnsTableBuilder:
    """Incremental form of :func:`dns_table`: ``add(packet)`` in capture order, then ``finish()``.

    State is bounded: unanswered queries older than ``timeout`` are dropped from the matching
    queues (their rows stay, without reply), and TCP stream buffers are freed once drained.
    """

    def __init__(self, *, timeout: float = 60.0) -> None:
        self.rejections: Counter[str] = Counter()
        self.pending: dict[tuple, deque] = defaultdict(deque)
        self.rows: list[dict] = []
        self.rasm = TcpReassembler(max_buffer=1 << 16)
        self.streams: dict[tuple, bytearray] = {}
        self.timeout_ns = int(timeout * 1e9)
        self._next_prune = 0

    def _message(self, buf: bytes, ts: int, src: bytes, sport: int, dst: bytes, dport: int, proto: str) -> None:
        try:
            m, partial = parse_message(buf)
        except DnsParseError as e:
            self.rejections[str(e)] += 1
            return
        if partial:
            self.rejections[partial] += 1
        m["parse_error"] = partial
        if m["qr"]:
            client, cport, server, sport_ = dst, dport, src, sport
        else:
            client, cport, server, sport_ = src, sport, dst, dport
        key = (client, cport, server, sport_, m["trans_id"], proto)
        if not m["qr"]:
            self.rows.append(_row(m, None, ts, key))
            self.pending[key].append(self.rows[-1])
            return
        q = self.pending.get(key)
        while q and ts - q[0]["ts_ns"] > self.timeout_ns:
            q.popleft()
        if q:
            _add_reply(q.popleft(), m, ts)
            if not q:
                del self.pending[key]
        else:
            self.rows.append(_row(None, m, ts, key))

    def _prune(self, now: int) -> None:
        """Forget queries that can no longer be answered (older than the timeout)."""
        limit = now - self.timeout_ns
        for key in [k for k, q in self.pending.items() if not q or q[-1]["ts_ns"] < limit]:
            del self.pending[key]
        self._next_prune = now + self.timeout_ns

    def add(self, p: Packet) -> None:
        """Account one decoded packet (non-DNS packets are ignored cheaply)."""
        if p.proto == PROTO_UDP:
            if (p.sport in PORT_SERVICE or p.dport in PORT_SERVICE) and p.payload:
                if len(p.payload) < p.payload_len:
                    self.rejections["payload truncated by capture"] += 1
                    return
                if p.ts_ns >= self._next_prune:
                    self._prune(p.ts_ns)
                self._message(p.payload, p.ts_ns, p.src, p.sport, p.dst, p.dport, "udp")
        elif p.proto == PROTO_TCP and (p.sport in PORT_SERVICE or p.dport in PORT_SERVICE):
            self._chunks(self.rasm.feed(p))

    def _chunks(self, chunks: Iterable) -> None:
        for ch in chunks:
            k = ch.conn + (ch.from_orig,)
            stream = self.streams.setdefault(k, bytearray())
            if ch.gap:
                self.rejections["tcp stream gap"] += 1
                stream.clear()
            stream += ch.data
            c = ch.conn
            src, sp, dst, dp = ((c.orig_h, c.orig_p, c.resp_h, c.resp_p) if ch.from_orig
                                else (c.resp_h, c.resp_p, c.orig_h, c.orig_p))
            for msg in _tcp_messages(stream):
                self._message(msg, ch.ts_ns, src, sp, dst, dp, "tcp")
            if not stream:
                del self.streams[k]

    def finish(self) -> pd.DataFrame:
        """The table of every transaction seen; rejections in ``df.attrs["rejections"]``."""
        self._chunks(self.rasm.flush())
        leftover = sum(1 for s in self.streams.values() if s)
        if leftover:
            self.rejections["incomplete tcp message at end"] += leftover
        df = pd.DataFrame(self.rows, columns=COLUMNS).sort_values("ts_ns", kind="stable", ignore_index=True)
        for col in ("rcode", "qclass", "qtype", "query_len", "labels", "max_label_len"):
            df[col] = df[col].astype("Int64")
        df.attrs["rejections"] = dict(self.rejections)
        return df


def dns_table(packets: Iterable[Packet], *, progress: bool = False, timeout: float = 60.0) -> pd.DataFrame:
    """One row per DNS query transaction (see module docstring); rejections in ``df.attrs``."""
    builder = DnsTableBuilder(timeout=timeout)
    it = packets
    if progress:
        from tqdm.auto import tqdm
        it = tqdm(packets, unit="pkt", desc="dns")
    for p in it:
        builder.add(p)
    return builder.finish()


def _row(q: dict | None, r: dict | None, ts: int, key: tuple) -> dict:
    client, cport, server, sport, tid, proto = key
    m = q if q is not None else r
    assert m is not None
    labels = m["labels"]
    qname = ".".join(_escape(lb) for lb in labels) if labels is not None else None
    row = {"ts": ts / 1e9, "ts_ns": ts, "id.orig_h": ip_text(client), "id.orig_p": cport,
           "id.resp_h": ip_text(server), "id.resp_p": sport, "proto": proto,
           "service": PORT_SERVICE.get(sport, PORT_SERVICE.get(cport)), "trans_id": tid, "rtt": None,
           "query": qname, "qclass": m.get("qclass"), "qtype": m.get("qtype"),
           "qclass_name": _class_name(m.get("qclass")), "qtype_name": _type_name(m.get("qtype")),
           "rcode": None, "rcode_name": None, "AA": False, "TC": False, "RD": m["RD"], "RA": False,
           "Z": m["Z"], "answers": None, "TTLs": None, "rejected": False, "opcode": m["opcode"],
           "opcode_name": OPCODE_NAMES.get(m["opcode"], f"opcode-{m['opcode']}"),
           "query_len": len(qname) if qname is not None else None,
           "labels": len(labels) if labels is not None else None,
           "max_label_len": max((len(lb) for lb in labels), default=0) if labels is not None else None,
           "parse_error": m["parse_error"]}
    if r is not None:
        _add_reply(row, r, ts)
        row["rtt"] = None
    return row


def _add_reply(row: dict, r: dict, ts: int) -> None:
    row["rtt"] = (ts - row["ts_ns"]) / 1e9
    row.update(rcode=r["rcode"], rcode_name=RCODE_NAMES.get(r["rcode"], f"rcode-{r['rcode']}"),
               AA=r["AA"], TC=r["TC"], RA=r["RA"], Z=r["Z"],
               answers=r["answers"] or None, TTLs=r["TTLs"] or None,
               rejected=not any(r["counts"][1:]))
    row["parse_error"] = row["parse_error"] or r["parse_error"]


def _class_name(c: int | None) -> str | None:
    if c is None:
        return None
    return QCLASS_NAMES.get(c) or QCLASS_NAMES.get(c & 0x7FFF, f"C_{c}")  # mDNS sets the QU bit


def _type_name(t: int | None) -> str | None:
    return None if t is None else QTYPE_NAMES.get(t, f"query-{t}")
