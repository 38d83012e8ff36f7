"""TLS handshake metadata (one row per TCP connection): SNI, versions, ciphers, ALPN, JA3/JA3S/JA4.

Why our own parser: dpkt.ssl needs a whole record and raises on the many real ClientHellos it
does not know (GREASE, ECH, post-quantum key shares); the fingerprints need the exact order of
the raw extension ids, so we walk the handshake bytes ourselves with a small table of the
extensions we read. Fingerprints:

* JA3 (Salesforce): ``version,ciphers,extensions,groups,point_formats`` in decimal, values
  joined by ``-``, GREASE values (RFC 8701) removed, md5 of that string. JA3S: ``version,cipher,
  extensions`` of the ServerHello, md5.
* JA4 (FoxIO, TCP only): ``t`` + version (highest non-GREASE supported_versions entry, else the
  legacy version) + ``d``/``i`` (SNI present or not) + 2-digit cipher and extension counts
  (GREASE excluded, capped at 99) + first and last character of the first ALPN value (``00``
  without ALPN); ``_`` + first 12 hex digits of sha256 over the sorted 4-hex cipher list; ``_`` +
  the same over the sorted extension list without SNI and ALPN, followed by ``_`` and the
  signature algorithms in their original order when there are any.

A ClientHello may span several TCP segments and several TLS records: the client direction is
reassembled with :mod:`sopkit.capture.tcpstream` and handshake fragments are joined. The hello may
also follow plaintext (STARTTLS): a chunk that starts with a handshake record is tried. Junk is
counted in ``df.attrs["rejections"]`` (reason → count), never raised.
"""

from __future__ import annotations

import hashlib
import struct
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd

from sopkit.capture.packet import PROTO_TCP, Packet
from sopkit.capture.tcpstream import ConnKey, TcpReassembler, ip_text

#: Extension ids this module decodes (others are only listed by id).
EXT_SERVER_NAME = 0x0000
EXT_SUPPORTED_GROUPS = 0x000A
EXT_EC_POINT_FORMATS = 0x000B
EXT_SIGNATURE_ALGORITHMS = 0x000D
EXT_ALPN = 0x0010
EXT_SUPPORTED_VERSIONS = 0x002B

VERSION_NAMES = {0x0300: "SSLv3", 0x0301: "TLSv10", 0x0302: "TLSv11", 0x0303: "TLSv12",
                 0x0304: "TLSv13", 0xFEFF: "DTLSv10", 0xFEFD: "DTLSv12", 0xFEFC: "DTLSv13"}
_JA4_VERSION = {0x0304: "13", 0x0303: "12", 0x0302: "11", 0x0301: "10", 0x0300: "s3",
                0x0002: "s2", 0xFEFF: "d1", 0xFEFD: "d2", 0xFEFC: "d3"}
MAX_HELLO_BYTES = 1 << 17  #: largest hello accepted (post-quantum key shares make them grow)
#: give up on a direction whose first chunks / bytes held no handshake (room for STARTTLS dialogues)
MAX_PLAINTEXT_CHUNKS = 12
MAX_PLAINTEXT_BYTES = 1 << 15

COLUMNS = ["ts", "ts_ns", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "server_name",
           "client_version", "client_supported_versions", "cipher_suites", "extensions",
           "supported_groups", "ec_point_formats", "signature_algorithms", "alpn", "ja3", "ja3_string",
           "ja4", "version", "cipher", "server_extensions", "ja3s", "ja3s_string", "established_hello"]


def is_grease(v: int) -> bool:
    """RFC 8701 GREASE value (0x0a0a, 0x1a1a, … 0xfafa)."""
    return (v & 0x0F0F) == 0x0A0A and (v >> 8) == (v & 0xFF)


class TlsParseError(ValueError):
    """A handshake message is inconsistent (lengths overrun); the reason is the message."""


class _Reader:
    """Bounds-checked big-endian cursor over a bytes object."""

    __slots__ = ("b", "i", "end")

    def __init__(self, b: bytes, i: int = 0, end: int | None = None) -> None:
        self.b, self.i, self.end = b, i, len(b) if end is None else end

    def take(self, n: int, what: str) -> bytes:
        if self.i + n > self.end:
            raise TlsParseError(f"truncated {what}")
        v = self.b[self.i:self.i + n]
        self.i += n
        return v

    def u8(self, what: str) -> int:
        return self.take(1, what)[0]

    def u16(self, what: str) -> int:
        return struct.unpack(">H", self.take(2, what))[0]

    def vec(self, lenbytes: int, what: str) -> _Reader:
        n = int.from_bytes(self.take(lenbytes, what + " length"), "big")
        start = self.i
        self.take(n, what)
        return _Reader(self.b, start, start + n)

    def u16_list(self, what: str) -> list[int]:
        raw = self.take(self.end - self.i, what)
        return [v for (v,) in struct.iter_unpack(">H", raw[: len(raw) // 2 * 2])]


@dataclass
class Hello:
    """The fields of a ClientHello or ServerHello that the table and fingerprints use."""

    version: int = 0
    ciphers: list[int] = field(default_factory=list)
    extensions: list[int] = field(default_factory=list)
    sni: str | None = None
    groups: list[int] = field(default_factory=list)
    point_formats: list[int] = field(default_factory=list)
    sig_algs: list[int] = field(default_factory=list)
    alpn: list[str] = field(default_factory=list)
    supported_versions: list[int] = field(default_factory=list)


def _parse_extensions(r: _Reader, h: Hello, client: bool) -> None:
    if r.i >= r.end:
        return
    exts = r.vec(2, "extensions")
    while exts.i < exts.end:
        etype = exts.u16("extension type")
        body = exts.vec(2, f"extension {etype}")
        h.extensions.append(etype)
        if etype == EXT_SERVER_NAME and client and body.end > body.i:
            names = body.vec(2, "server_name list")
            while names.i < names.end:
                kind = names.u8("name type")
                name = names.vec(2, "host name")
                if kind == 0 and h.sni is None:
                    h.sni = name.b[name.i:name.end].decode("utf-8", "replace")
        elif etype == EXT_SUPPORTED_GROUPS and client:
            h.groups = body.vec(2, "supported_groups").u16_list("groups")
        elif etype == EXT_EC_POINT_FORMATS:
            pf = body.vec(1, "ec_point_formats")
            h.point_formats = list(pf.b[pf.i:pf.end])
        elif etype == EXT_SIGNATURE_ALGORITHMS and client:
            h.sig_algs = body.vec(2, "signature_algorithms").u16_list("sig algs")
        elif etype == EXT_ALPN and body.end > body.i:
            lst = body.vec(2, "alpn")
            while lst.i < lst.end:
                p = lst.vec(1, "alpn protocol")
                h.alpn.append(p.b[p.i:p.end].decode("latin-1"))
        elif etype == EXT_SUPPORTED_VERSIONS:
            if client:
                h.supported_versions = body.vec(1, "supported_versions").u16_list("versions")
            elif body.end - body.i >= 2:
                h.supported_versions = [body.u16("selected version")]


def parse_hello(body: bytes, client: bool) -> Hello:
    """Parse a ClientHello (``client``) or ServerHello handshake body (after the 4-byte header)."""
    r = _Reader(body)
    h = Hello(version=r.u16("version"))
    r.take(32, "random")
    r.vec(1, "session id")
    if client:
        h.ciphers = r.vec(2, "cipher suites").u16_list("ciphers")
        r.vec(1, "compression methods")
    else:
        h.ciphers = [r.u16("cipher")]
        r.u8("compression method")
    _parse_extensions(r, h, client)
    return h


def ja3_string(h: Hello) -> str:
    """The JA3 input string of a ClientHello (GREASE removed)."""
    def j(vals: list[int]) -> str:
        return "-".join(str(v) for v in vals if not is_grease(v))
    return f"{h.version},{j(h.ciphers)},{j(h.extensions)},{j(h.groups)},{j(h.point_formats)}"


def ja3s_string(h: Hello) -> str:
    """The JA3S input string of a ServerHello."""
    exts = "-".join(str(v) for v in h.extensions if not is_grease(v))
    return f"{h.version},{h.ciphers[0] if h.ciphers else ''},{exts}"


def _sha12(s: str) -> str:
    return hashlib.sha256(s.encode()).hexdigest()[:12] if s else "000000000000"


def ja4(h: Hello, transport: str = "t") -> str:
    """The JA4 fingerprint of a ClientHello (FoxIO spec)."""
    versions = [v for v in h.supported_versions if not is_grease(v)]
    ver = _JA4_VERSION.get(max(versions) if versions else h.version, "00")
    ciphers = [c for c in h.ciphers if not is_grease(c)]
    exts = [e for e in h.extensions if not is_grease(e)]
    alpn = "00"
    if h.alpn and h.alpn[0]:
        a = h.alpn[0]
        alpn = a[0] + a[-1]
        if not (alpn.isascii() and alpn.isalnum()):
            hx = a.encode("latin-1").hex()
            alpn = hx[0] + hx[-1]
    a_part = (f"{transport}{ver}{'d' if h.sni is not None else 'i'}"
              f"{min(len(ciphers), 99):02d}{min(len(exts), 99):02d}{alpn}")
    b_part = _sha12(",".join(f"{c:04x}" for c in sorted(ciphers)))
    ext_str = ",".join(f"{e:04x}" for e in sorted(exts) if e not in (EXT_SERVER_NAME, EXT_ALPN))
    sigs = ",".join(f"{s:04x}" for s in h.sig_algs)
    c_part = _sha12(f"{ext_str}_{sigs}" if sigs and ext_str else ext_str)
    return f"{a_part}_{b_part}_{c_part}"


def _md5(s: str) -> str:
    return hashlib.md5(s.encode(), usedforsecurity=False).hexdigest()


class _HelloBuffer:
    """Collects one direction's handshake bytes until a hello of ``want`` type is complete."""

    def __init__(self, want: int) -> None:
        self.want = want
        self.records = b""  # unconsumed record-layer bytes
        self.hs = b""  # handshake-layer bytes joined across records
        self.active = False
        self.done = False
        self.seen = 0
        self.chunks = 0

    def feed(self, data: bytes, gap: int) -> bytes | None | str:
        """Returns the hello body when complete, a rejection reason, or None (need more)."""
        if self.done:
            return None
        self.seen += len(data)
        if gap and self.active:
            self.done = True
            return "gap inside handshake"
        if not self.active:
            if not _looks_like_handshake(data, self.want):
                self.chunks += 1 if data else 0
                if self.seen > MAX_PLAINTEXT_BYTES or self.chunks > MAX_PLAINTEXT_CHUNKS:
                    self.done = True
                return None
            self.active = True
        self.records += data
        while len(self.records) >= 5:
            ctype, length = self.records[0], struct.unpack(">H", self.records[3:5])[0]
            if ctype != 22:
                self.done = True
                return f"record type {ctype} before hello complete"
            if len(self.records) < 5 + length:
                break
            self.hs += self.records[5:5 + length]
            self.records = self.records[5 + length:]
            if len(self.hs) >= 4:
                mtype = self.hs[0]
                mlen = int.from_bytes(self.hs[1:4], "big")
                if mtype != self.want:
                    self.done = True
                    return f"handshake type {mtype} where {self.want} expected"
                if len(self.hs) >= 4 + mlen:
                    self.done = True
                    return self.hs[4:4 + mlen]
        if len(self.records) + len(self.hs) > MAX_HELLO_BYTES:
            self.done = True
            return "hello larger than buffer limit"
        return None


def _looks_like_handshake(data: bytes, want: int) -> bool:
    """Record header for a handshake (type 22, version 3.x) whose first message is ``want``."""
    return (len(data) >= 6 and data[0] == 22 and data[1] == 3 and data[2] <= 4
            and data[5] == want)


@dataclass
class _TlsConn:
    key: ConnKey
    ts_ns: int
    client: _HelloBuffer = field(default_factory=lambda: _HelloBuffer(1))
    server: _HelloBuffer = field(default_factory=lambda: _HelloBuffer(2))
    ch: Hello | None = None
    sh: Hello | None = None


def _row(c: _TlsConn) -> dict:
    ch, sh = c.ch, c.sh
    row: dict = {"ts": c.ts_ns / 1e9, "ts_ns": c.ts_ns, "id.orig_h": ip_text(c.key.orig_h),
                 "id.orig_p": c.key.orig_p, "id.resp_h": ip_text(c.key.resp_h), "id.resp_p": c.key.resp_p}
    if ch is not None:
        js = ja3_string(ch)
        row.update(server_name=ch.sni, client_version=VERSION_NAMES.get(ch.version, hex(ch.version)),
                   client_supported_versions=[VERSION_NAMES.get(v, hex(v)) for v in ch.supported_versions
                                              if not is_grease(v)],
                   cipher_suites=[c for c in ch.ciphers if not is_grease(c)],
                   extensions=[e for e in ch.extensions if not is_grease(e)],
                   supported_groups=[g for g in ch.groups if not is_grease(g)],
                   ec_point_formats=ch.point_formats, signature_algorithms=ch.sig_algs,
                   alpn=ch.alpn, ja3=_md5(js), ja3_string=js, ja4=ja4(ch))
    if sh is not None:
        ver = sh.supported_versions[0] if sh.supported_versions else sh.version
        js = ja3s_string(sh)
        row.update(version=VERSION_NAMES.get(ver, hex(ver)), cipher=sh.ciphers[0],
                   server_extensions=sh.extensions, ja3s=_md5(js), ja3s_string=js)
    row["established_hello"] = ch is not None and sh is not None
    return row


class TlsTableBuilder:
    """Incremental form of :func:`tls_table`: ``add(packet)`` in capture order, then ``finish()``.

    State is bounded: a connection is forgotten as soon as both hello buffers are done (its row,
    if it had a hello, is kept), and the reassembler stops delivering it.
    """

    def __init__(self, *, max_buffer: int = 1 << 20) -> None:
        self.rasm = TcpReassembler(max_buffer=max_buffer)
        self.conns: dict[ConnKey, _TlsConn] = {}
        self.rows: list[dict] = []
        self.rejections: Counter[str] = Counter()

    def add(self, pkt: Packet) -> None:
        """Account one decoded packet (only TCP is looked at)."""
        if pkt.proto == PROTO_TCP:
            self._handle(self.rasm.feed(pkt))

    def _handle(self, chunks: Iterable) -> None:
        conns, rejections = self.conns, self.rejections
        for ch in chunks:
            c = conns.get(ch.conn)
            if c is None:
                c = conns[ch.conn] = _TlsConn(ch.conn, ch.ts_ns)
            buf = c.client if ch.from_orig else c.server
            if buf.done:
                continue
            res = buf.feed(ch.data, ch.gap)
            if isinstance(res, str):
                rejections[res] += 1
            elif isinstance(res, bytes):
                try:
                    hello = parse_hello(res, ch.from_orig)
                except TlsParseError as e:
                    rejections[f"{'ClientHello' if ch.from_orig else 'ServerHello'}: {e}"] += 1
                    continue
                if ch.from_orig:
                    c.ch, c.ts_ns = hello, ch.ts_ns
                else:
                    c.sh = hello
            if c.client.done and c.ch is None:
                c.server.done = True  # no ClientHello: a ServerHello alone is not worth waiting for
            if c.client.done and c.server.done:
                self.rasm.ignore(ch.conn)
                del conns[ch.conn]
                if c.ch is not None or c.sh is not None:
                    self.rows.append(_row(c))

    def finish(self) -> pd.DataFrame:
        """The table of every connection with a hello (in order of first hello)."""
        self._handle(self.rasm.flush())
        rows = self.rows + [_row(c) for c in self.conns.values() if c.ch is not None or c.sh is not None]
        self.conns.clear()
        df = pd.DataFrame(rows, columns=COLUMNS)
        if len(df):
            df = df.sort_values("ts_ns", kind="stable", ignore_index=True)
        df.attrs["rejections"] = dict(self.rejections)
        df.attrs["reassembly"] = self.rasm.stats.as_dict()
        return df


def tls_table(packets: Iterable[Packet], *, max_buffer: int = 1 << 20) -> pd.DataFrame:
    """One row per TCP connection that sent a ClientHello or ServerHello (see module docstring).

    ``df.attrs["rejections"]`` maps reason → count for hellos that could not be parsed and
    ``df.attrs["reassembly"]`` holds the TCP reassembly counters.
    """
    builder = TlsTableBuilder(max_buffer=max_buffer)
    for pkt in packets:
        builder.add(pkt)
    return builder.finish()
