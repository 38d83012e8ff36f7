"""Application payloads: DNS messages (dpkt), TLS handshake records and HTTP/1.1 messages.

DNS uses :mod:`dpkt.dns`. dpkt can parse but not conveniently build TLS handshakes, so the
ClientHello/ServerHello bytes are laid out here from RFC 8446/5246 field tables; each client
profile is a real-world shape (cipher list, extension order, groups) so a JA3 fingerprint computed
from the capture is meaningful, and the JA3/JA3S strings are returned for the Suricata log.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from email.utils import formatdate

import numpy as np
from dpkt import dns

# --- DNS ------------------------------------------------------------------------------------------
QTYPES = {"A": dns.DNS_A, "AAAA": dns.DNS_AAAA, "TXT": dns.DNS_TXT, "PTR": dns.DNS_PTR, "SRV": dns.DNS_SRV}


def dns_query(qid: int, name: str, qtype: str = "A") -> bytes:
    """A recursive (RD) standard query for ``name``."""
    msg = dns.DNS(id=qid, op=dns.DNS_RD, qd=[dns.DNS.Q(name=name, type=QTYPES[qtype], cls=dns.DNS_IN)])
    return bytes(msg)


def dns_response(qid: int, name: str, qtype: str, answers: list, ttl: int = 300, rcode: int = 0) -> bytes:
    """A response (QR, RD, RA) with ``answers``: IPv4 text for A, list of bytes strings for TXT."""
    rrs = []
    for a in answers:
        rr = dns.DNS.RR(name=name, type=QTYPES[qtype], cls=dns.DNS_IN, ttl=ttl)
        if qtype == "A":
            rr.ip = bytes(int(x) for x in a.split("."))
        elif qtype == "TXT":
            rr.text = a
        rrs.append(rr)
    msg = dns.DNS(id=qid, op=dns.DNS_QR | dns.DNS_RD | dns.DNS_RA, rcode=rcode,
                  qd=[dns.DNS.Q(name=name, type=QTYPES[qtype], cls=dns.DNS_IN)], an=rrs)
    return bytes(msg)


# --- TLS ------------------------------------------------------------------------------------------
GREASE = (0x0A0A, 0x1A1A, 0x2A2A, 0x3A3A, 0x4A4A, 0x5A5A, 0x6A6A, 0x7A7A, 0x8A8A, 0x9A9A)

#: profile → (ciphers, extension ids in order, groups, tls13?, alpn)
TLS_PROFILES: dict[str, tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], bool, tuple[bytes, ...]]] = {
    "chrome": ((0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8, 0xC013, 0xC014,
                0x009C, 0x009D, 0x002F, 0x0035),
               (0, 23, 65281, 10, 11, 35, 16, 5, 13, 18, 51, 45, 43, 27, 17513),
               (0x001D, 0x0017, 0x0018), True, (b"h2", b"http/1.1")),
    "firefox": ((0x1301, 0x1303, 0x1302, 0xC02B, 0xC02F, 0xCCA9, 0xCCA8, 0xC02C, 0xC030, 0xC00A, 0xC009,
                 0xC013, 0xC014, 0x009C, 0x009D, 0x002F, 0x0035),
                (0, 23, 65281, 10, 11, 35, 16, 5, 34, 51, 43, 13, 45, 28, 65037),
                (0x001D, 0x0017, 0x0018, 0x0019, 0x0100, 0x0101), True, (b"h2", b"http/1.1")),
    "schannel": ((0xC02C, 0xC02B, 0xC030, 0xC02F, 0xC024, 0xC023, 0xC028, 0xC027, 0xC00A, 0xC009, 0xC014,
                  0xC013, 0x009D, 0x009C, 0x003D, 0x003C, 0x0035, 0x002F, 0x000A),
                 (0, 5, 10, 11, 13, 35, 16, 23, 65281),
                 (0x001D, 0x0017, 0x0018), False, (b"http/1.1",)),
    # a Go net/http client: what commodity implants and exfiltration tools often are
    "goclient": ((0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8, 0xC009, 0xC013, 0xC00A, 0xC014, 0x009C,
                  0x009D, 0x002F, 0x0035, 0xC012, 0x000A, 0x1301, 0x1302, 0x1303),
                 (0, 5, 10, 11, 13, 65281, 18, 43, 51),
                 (0x001D, 0x0017, 0x0018, 0x0019), True, ()),
}


def _u8(b: bytes) -> bytes:
    return struct.pack("!B", len(b)) + b


def _u16(b: bytes) -> bytes:
    return struct.pack("!H", len(b)) + b


def _handshake(kind: int, body: bytes) -> bytes:
    return struct.pack("!B", kind) + len(body).to_bytes(3, "big") + body


def tls_record(ctype: int, body: bytes, version: int = 0x0303) -> bytes:
    """A TLSPlaintext/TLSCiphertext record header + ``body``."""
    return struct.pack("!BHH", ctype, version, len(body)) + body


def _extension(ext: int, sni: str, groups: tuple[int, ...], tls13: bool, alpn: tuple[bytes, ...],
               rng: np.random.Generator) -> bytes:
    if ext == 0:
        host = sni.encode()
        data = _u16(b"\x00" + _u16(host))
    elif ext == 10:
        data = _u16(b"".join(struct.pack("!H", g) for g in groups))
    elif ext == 11:
        data = _u8(b"\x00")
    elif ext == 13:
        algs = (0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601, 0x0201)
        data = _u16(b"".join(struct.pack("!H", a) for a in algs))
    elif ext == 16:
        if not alpn:
            return b""
        data = _u16(b"".join(_u8(p) for p in alpn))
    elif ext == 43:
        data = _u8(b"\x03\x04\x03\x03") if tls13 else _u8(b"\x03\x03")
    elif ext == 45:
        data = _u8(b"\x01")
    elif ext == 51:
        data = _u16(struct.pack("!HH", 0x001D, 32) + rng.bytes(32))
    elif ext == 65281:
        data = b"\x00"
    elif ext == 5:
        data = b"\x01\x00\x00\x00\x00"
    elif ext == 27:
        data = b"\x02\x00\x02"
    elif ext == 28:
        data = b"\x40\x01"
    elif ext == 34:
        data = _u16(b"\x04\x03\x05\x03\x06\x03\x02\x03")
    elif ext == 17513:
        data = b"\x00\x03\x02h2"
    else:  # 18 SCT, 23 EMS, 35 session ticket, 65037 ECH-less placeholder: empty body
        data = b""
    return struct.pack("!HH", ext, len(data)) + data


def client_hello(rng: np.random.Generator, sni: str, profile: str) -> tuple[bytes, str]:
    """ClientHello record for ``sni`` in the named profile; returns (record, JA3 string)."""
    ciphers, exts, groups, tls13, alpn = TLS_PROFILES[profile]
    grease = profile == "chrome"
    g = GREASE[int(rng.integers(0, len(GREASE)))]
    cipher_list = ((g,) if grease else ()) + ciphers
    ext_bytes = [struct.pack("!HH", g, 0)] if grease else []
    used_exts = []
    for e in exts:
        b = _extension(e, sni, ((g,) if grease and e == 10 else ()) + groups, tls13, alpn, rng)
        if b:
            ext_bytes.append(b)
            used_exts.append(e)
    body = (struct.pack("!H", 0x0303) + rng.bytes(32) + _u8(rng.bytes(32) if tls13 else b"")
            + _u16(b"".join(struct.pack("!H", c) for c in cipher_list)) + _u8(b"\x00")
            + _u16(b"".join(ext_bytes)))
    ja3 = "771,{},{},{},0".format("-".join(str(c) for c in ciphers), "-".join(str(e) for e in used_exts),
                                  "-".join(str(x) for x in groups))
    return tls_record(22, _handshake(1, body), 0x0301), ja3


def ja3_hash(ja3: str) -> str:
    """MD5 of a JA3/JA3S string, as Suricata logs it."""
    return hashlib.md5(ja3.encode()).hexdigest()


def server_hello(rng: np.random.Generator, profile: str, cert_len: int = 3200) -> tuple[bytes, str, str]:
    """Server's first flight; returns (bytes, JA3S string, negotiated version text).

    TLS 1.3: ServerHello + ChangeCipherSpec + encrypted records (EncryptedExtensions, Certificate,
    CertificateVerify, Finished). TLS 1.2: ServerHello + Certificate + ServerKeyExchange + Done.
    """
    ciphers, _, _, tls13, _ = TLS_PROFILES[profile]
    if tls13:
        cipher = 0x1301
        exts = struct.pack("!HH", 43, 2) + b"\x03\x04" + struct.pack("!HHHH", 51, 36, 0x001D, 32) + rng.bytes(32)
        body = struct.pack("!H", 0x0303) + rng.bytes(32) + _u8(rng.bytes(32)) + struct.pack("!HB", cipher, 0) + _u16(exts)
        out = (tls_record(22, _handshake(2, body)) + tls_record(20, b"\x01")
               + tls_record(23, rng.bytes(cert_len + 17 + 300)))
        ja3s = f"771,{cipher},43-51"
        return out, ja3s, "TLS 1.3"
    cipher = 0xC030 if 0xC030 in ciphers else ciphers[0]
    exts = struct.pack("!HH", 65281, 1) + b"\x00" + struct.pack("!HH", 23, 0)
    body = struct.pack("!H", 0x0303) + rng.bytes(32) + _u8(rng.bytes(32)) + struct.pack("!HB", cipher, 0) + _u16(exts)
    cert = rng.bytes(cert_len)
    certs = _handshake(11, (len(cert) + 3).to_bytes(3, "big") + len(cert).to_bytes(3, "big") + cert)
    ske = _handshake(12, b"\x03\x00\x1d" + _u8(rng.bytes(32)) + b"\x04\x01" + _u16(rng.bytes(256)))
    out = tls_record(22, _handshake(2, body) + certs + ske + _handshake(14, b""))
    return out, f"771,{cipher},65281-23", "TLS 1.2"


def client_finish(rng: np.random.Generator, profile: str) -> bytes:
    """Client's second flight (TLS 1.3: CCS + Finished; TLS 1.2: ClientKeyExchange + CCS + Finished)."""
    if TLS_PROFILES[profile][3]:
        return tls_record(20, b"\x01") + tls_record(23, rng.bytes(53))
    return tls_record(22, _handshake(16, _u8(rng.bytes(32)))) + tls_record(20, b"\x01") + tls_record(22, rng.bytes(40))


def app_data(rng: np.random.Generator, n: int) -> bytes:
    """``n`` bytes of application data as encrypted records (≤ 16 KiB each, AEAD overhead added)."""
    out = []
    while n > 0:
        k = min(n, 16384)
        out.append(tls_record(23, rng.bytes(k + 17)))
        n -= k
    return b"".join(out)


# --- HTTP -----------------------------------------------------------------------------------------
_FILLER = (b"Pemerintah Kabupaten Contoh melalui Dinas Komunikasi dan Informatika menyampaikan informasi "
           b"layanan publik, pengumuman, berita daerah dan dokumen PPID kepada masyarakat. ")


def http_request(method: str, host: str, target: str, ua: str, *, referer: str = "", body: bytes = b"",
                 content_type: str = "application/x-www-form-urlencoded") -> bytes:
    """An HTTP/1.1 request; ``target`` goes on the request line exactly as given."""
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}", f"User-Agent: {ua}",
             "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
             "Accept-Language: id-ID,id;q=0.9,en-US;q=0.8,en;q=0.7", "Accept-Encoding: gzip, deflate",
             "Connection: keep-alive"]
    if referer:
        lines.append(f"Referer: {referer}")
    if body:
        lines += [f"Content-Type: {content_type}", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


_REASONS = {200: "OK", 301: "Moved Permanently", 302: "Found", 304: "Not Modified", 400: "Bad Request",
            403: "Forbidden", 404: "Not Found", 500: "Internal Server Error"}


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack("!I", len(data)) + kind + data + struct.pack("!I", zlib.crc32(kind + data))


def binary_body(rng: np.random.Generator, content_type: str, size: int) -> bytes:
    """``size`` bytes shaped like the media type (PNG chunks with CRCs, JPEG markers, PDF header).

    The compressed/entropy-coded part is random — it is what a capture shows of real images — but
    the container structure is valid so dissectors do not report malformed bodies.
    """
    if content_type == "image/png" and size > 64:
        head = b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", struct.pack("!IIBBBBB", 320, 120, 8, 6, 0, 0, 0))
        tail = _png_chunk(b"IEND", b"")
        return head + _png_chunk(b"IDAT", rng.bytes(size - len(head) - len(tail) - 12)) + tail
    if content_type == "image/jpeg" and size > 64:
        head = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
        sos = b"\xff\xda\x00\x0c\x03\x01\x00\x02\x11\x03\x11\x00\x3f\x00"
        data = rng.bytes(size - len(head) - len(sos) - 2).replace(b"\xff", b"\xfe")  # no stray markers
        return head + sos + data + b"\xff\xd9"
    if content_type == "application/pdf" and size > 64:
        head, tail = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", b"\n%%EOF\n"
        return head + rng.bytes(size - len(head) - len(tail)) + tail
    return rng.bytes(size)


def http_response(rng: np.random.Generator, status: int, size: int, content_type: str = "text/html; charset=UTF-8",
                  server: str = "Apache/2.4.58 (Ubuntu)", when_ns: int = 0) -> bytes:
    """An HTTP/1.1 response with a ``size``-byte body (HTML-like text, or random bytes for binaries)."""
    if content_type.startswith("text") or content_type.startswith("application/javascript"):
        body = (_FILLER * (size // len(_FILLER) + 1))[:size]
    else:
        body = binary_body(rng, content_type, size)
    head = (f"HTTP/1.1 {status} {_REASONS.get(status, 'OK')}\r\nDate: {formatdate(when_ns / 1e9, usegmt=True)}\r\nServer: {server}\r\n"
            f"Content-Length: {size}\r\nKeep-Alive: timeout=5, max=100\r\nConnection: Keep-Alive\r\n"
            f"Content-Type: {content_type}\r\n\r\n")
    return head.encode("latin-1") + body
