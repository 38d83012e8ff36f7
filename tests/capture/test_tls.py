"""TLS hello parsing and JA3/JA3S/JA4 on hand-built handshakes (split across segments, GREASE)."""

from __future__ import annotations

import hashlib
import struct

from sopkit.capture.packet import PROTO_TCP, TH_ACK, TH_PUSH, TH_SYN, Packet
from sopkit.capture.tls import is_grease, tls_table

C, S = bytes([192, 168, 1, 2]), bytes([93, 184, 216, 34])


def ext(etype: int, body: bytes) -> bytes:
    return struct.pack(">HH", etype, len(body)) + body


def u16s(vals: list[int], lenbytes: int = 2) -> bytes:
    raw = b"".join(struct.pack(">H", v) for v in vals)
    return len(raw).to_bytes(lenbytes, "big") + raw


def client_hello(ciphers: list[int], exts: list[bytes], version: int = 0x0303) -> bytes:
    body = struct.pack(">H", version) + bytes(32) + b"\x00" + u16s(ciphers) + b"\x01\x00"
    extb = b"".join(exts)
    body += struct.pack(">H", len(extb)) + extb
    hs = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + struct.pack(">H", len(hs)) + hs


def server_hello(cipher: int, exts: list[bytes]) -> bytes:
    extb = b"".join(exts)
    body = b"\x03\x03" + bytes(32) + b"\x00" + struct.pack(">HB", cipher, 0) + struct.pack(">H", len(extb)) + extb
    hs = b"\x02" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x03" + struct.pack(">H", len(hs)) + hs


def sni(name: str) -> bytes:
    n = name.encode()
    entry = b"\x00" + struct.pack(">H", len(n)) + n
    return ext(0, struct.pack(">H", len(entry)) + entry)


def alpn(*protos: str) -> bytes:
    lst = b"".join(bytes([len(p)]) + p.encode() for p in protos)
    return ext(16, struct.pack(">H", len(lst)) + lst)


CH = client_hello(
    [0x0A0A, 0x1301, 0x1302, 0xC02B, 0x002F],
    [ext(0x1A1A, b""), sni("example.org"), ext(10, u16s([0x2A2A, 29, 23])), ext(11, b"\x01\x00"),
     ext(13, u16s([0x0403, 0x0804])), alpn("h2", "http/1.1"), ext(43, b"\x06\x3a\x3a\x03\x04\x03\x03"),
     ext(0xFF01, b"\x00")])
SH = server_hello(0x1301, [ext(43, b"\x03\x04"), ext(51, b"\x00\x1d\x00\x00")])


def pkt(seq: int, data: bytes = b"", flags: int = TH_ACK | TH_PUSH, rev: bool = False, ts: int = 1) -> Packet:
    src, dst, sp, dp = (S, C, 443, 51000) if rev else (C, S, 51000, 443)
    return Packet(ts_ns=ts, src=src, dst=dst, proto=PROTO_TCP, sport=sp, dport=dp, tcp_flags=flags,
                  seq=seq, payload=data, payload_len=len(data))


def test_grease_values() -> None:
    assert all(is_grease(v) for v in (0x0A0A, 0x1A1A, 0xFAFA))
    assert not any(is_grease(v) for v in (0x0A1A, 0x1301, 0x0000))


def test_client_hello_split_over_two_segments_out_of_order() -> None:
    cut = 60
    pkts = [pkt(0, flags=TH_SYN), pkt(1 + cut, CH[cut:], ts=3), pkt(1, CH[:cut], ts=2),
            pkt(1000, SH, rev=True, ts=4)]
    df = tls_table(pkts)
    assert len(df) == 1
    r = df.iloc[0]
    assert (r["id.orig_h"], r["id.orig_p"], r["id.resp_h"], r["id.resp_p"]) == ("192.168.1.2", 51000, "93.184.216.34", 443)
    assert r["server_name"] == "example.org"
    assert r["alpn"] == ["h2", "http/1.1"]
    assert r["client_supported_versions"] == ["TLSv13", "TLSv12"]
    assert r["cipher_suites"] == [0x1301, 0x1302, 0xC02B, 0x002F]
    # JA3: legacy version, GREASE dropped from ciphers, extensions and groups
    js = "771,4865-4866-49195-47,0-10-11-13-16-43-65281,29-23,0"
    assert r["ja3_string"] == js
    assert r["ja3"] == hashlib.md5(js.encode()).hexdigest()
    # JA4: version from supported_versions, 4 ciphers, 7 extensions, ALPN h2
    b = hashlib.sha256(b"002f,1301,1302,c02b").hexdigest()[:12]
    c = hashlib.sha256(b"000a,000b,000d,002b,ff01_0403,0804").hexdigest()[:12]
    assert r["ja4"] == f"t13d0407h2_{b}_{c}"
    assert r["version"] == "TLSv13" and r["cipher"] == 0x1301
    assert r["ja3s_string"] == "771,4865,43-51"
    assert r["ja3s"] == hashlib.md5(b"771,4865,43-51").hexdigest()
    assert df.attrs["rejections"] == {}


def test_hello_spanning_two_records() -> None:
    hs = CH[5:]
    two = b"\x16\x03\x01" + struct.pack(">H", 40) + hs[:40] + b"\x16\x03\x01" + struct.pack(">H", len(hs) - 40) + hs[40:]
    df = tls_table([pkt(0, flags=TH_SYN), pkt(1, two)])
    assert df.iloc[0]["server_name"] == "example.org"
    assert df.iloc[0]["ja3_string"].startswith("771,4865-4866-49195-47,")


def test_no_sni_no_alpn_gives_i_and_00() -> None:
    ch = client_hello([0x002F], [ext(13, u16s([0x0401]))], version=0x0301)
    r = tls_table([pkt(0, flags=TH_SYN), pkt(1, ch)]).iloc[0]
    assert r["server_name"] is None
    assert r["ja4"].startswith("t10i010100_")
    assert r["ja4"].endswith("_" + hashlib.sha256(b"000d_0401").hexdigest()[:12])
    assert r["ja3_string"] == "769,47,13,,"


def test_starttls_after_plaintext_is_found() -> None:
    plain = b"a001 STARTTLS\r\n"
    df = tls_table([pkt(0, flags=TH_SYN), pkt(1, plain), pkt(1 + len(plain), CH)])
    assert df.iloc[0]["server_name"] == "example.org"


def test_junk_is_counted_not_raised() -> None:
    bad = bytearray(CH)
    bad[5 + 4 + 2 + 32 + 1 + 1] = 0xFF  # cipher-suites length now overruns the message
    df = tls_table([pkt(0, flags=TH_SYN), pkt(1, bytes(bad)), pkt(5000, b"\x16\x03\x01\x00\x05\x02zzzz", rev=True)])
    assert len(df) == 0
    assert sum(df.attrs["rejections"].values()) == 1
    assert any("ClientHello" in k for k in df.attrs["rejections"])


def test_not_tls_is_ignored() -> None:
    df = tls_table([pkt(0, flags=TH_SYN), pkt(1, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")])
    assert len(df) == 0 and df.attrs["rejections"] == {}
