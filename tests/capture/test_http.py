"""HTTP/1.x table: split and reordered segments, pipelining, chunked bodies, Basic auth, junk, gaps."""

from __future__ import annotations

import base64

import pandas as pd

from sopkit.capture.http import http_table
from sopkit.capture.packet import PROTO_TCP, TH_ACK, TH_PUSH, TH_SYN, Packet

C, S = bytes([172, 16, 0, 9]), bytes([203, 0, 113, 80])


class Conn:
    """Builds the packets of one TCP connection, tracking sequence numbers per direction."""

    def __init__(self, sport: int = 50500, dport: int = 8081) -> None:
        self.sport, self.dport = sport, dport
        self.seq = {True: 1000, False: 9000}
        self.ts = 0

    def pkt(self, client: bool, data: bytes = b"", flags: int = TH_ACK | TH_PUSH, seq: int | None = None) -> Packet:
        self.ts += 1000
        src, dst, sp, dp = (C, S, self.sport, self.dport) if client else (S, C, self.dport, self.sport)
        s = self.seq[client] if seq is None else seq
        if seq is None:
            self.seq[client] += len(data) + (1 if flags & TH_SYN else 0)
        return Packet(ts_ns=self.ts, src=src, dst=dst, proto=PROTO_TCP, sport=sp, dport=dp, tcp_flags=flags,
                      seq=s, payload=data, payload_len=len(data))

    def handshake(self) -> list[Packet]:
        return [self.pkt(True, flags=TH_SYN), self.pkt(False, flags=TH_SYN | TH_ACK)]


REQ1 = (b"GET /index.html?q=1 HTTP/1.1\r\nHost: www.example.org\r\nUser-Agent: curl/8.0\r\n"
        b"Referer: http://a.example/\r\n\r\n")
RESP1 = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 11\r\n\r\nhello world"


def test_request_split_across_segments_and_out_of_order_on_odd_port() -> None:
    c = Conn()
    pkts = c.handshake()
    a = c.pkt(True, REQ1[:20])
    b = c.pkt(True, REQ1[20:50])
    d = c.pkt(True, REQ1[50:])
    pkts += [d, a, b, c.pkt(False, RESP1)]
    df = http_table(pkts)
    assert len(df) == 1
    r = df.iloc[0]
    assert (r["id.orig_h"], r["id.orig_p"], r["id.resp_h"], r["id.resp_p"]) == ("172.16.0.9", 50500, "203.0.113.80", 8081)
    assert (r["method"], r["host"], r["uri"], r["version"]) == ("GET", "www.example.org", "/index.html?q=1", "1.1")
    assert r["user_agent"] == "curl/8.0" and r["referrer"] == "http://a.example/"
    assert (r["status_code"], r["status_msg"], r["response_body_len"]) == (200, "OK", 11)
    assert r["response_content_type"] == "text/html"
    assert r["request_line"] == "GET /index.html?q=1 HTTP/1.1"
    assert df.attrs["rejections"] == {}


def test_pipelined_requests_match_responses_in_order_with_bodies() -> None:
    c = Conn(dport=80)
    post = b"POST /api HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}"
    chunked = (b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"4\r\nabcd\r\n6;ext=1\r\nefghij\r\n0\r\nX-Trailer: 1\r\n\r\n")
    head = b"HEAD /h HTTP/1.1\r\nHost: h\r\n\r\n"
    head_resp = b"HTTP/1.1 200 OK\r\nContent-Length: 999\r\n\r\n"
    pkts = c.handshake() + [c.pkt(True, REQ1 + post + head),
                            c.pkt(False, RESP1 + b"HTTP/1.1 100 Continue\r\n\r\n" + chunked[:30]),
                            c.pkt(False, chunked[30:] + head_resp)]
    df = http_table(pkts)
    assert list(df["trans_depth"]) == [1, 2, 3]
    assert list(df["method"]) == ["GET", "POST", "HEAD"]
    assert list(df["status_code"]) == [200, 201, 200]
    assert list(df["request_body_len"]) == [0, 7, 0]
    assert list(df["response_body_len"]) == [11, 10, 0]
    assert df.iloc[1]["info_code"] == 100 and df.iloc[1]["request_content_type"] == "application/json"


def test_basic_auth_keeps_user_never_password() -> None:
    c = Conn()
    cred = base64.b64encode(b"alice:s3cret!").decode()
    req = f"GET /admin HTTP/1.0\r\nHost: intranet\r\nAuthorization: Basic {cred}\r\n\r\n".encode()
    df = http_table(c.handshake() + [c.pkt(True, req)])
    r = df.iloc[0]
    assert r["username"] == "alice" and bool(r["password_present"])
    assert "s3cret" not in df.to_csv() and cred not in df.to_csv()
    assert "password" not in df.columns


def test_response_only_when_request_not_captured() -> None:
    c = Conn()
    df = http_table([c.pkt(False, RESP1)])
    r = df.iloc[0]
    assert r["status_code"] == 200 and r["method"] is None
    # roles follow the content: the sender of the response is the server
    assert (r["id.orig_h"], r["id.resp_h"], r["id.resp_p"]) == ("172.16.0.9", "203.0.113.80", 8081)


def test_non_http_connection_is_ignored() -> None:
    c = Conn(dport=80)
    df = http_table(c.handshake() + [c.pkt(True, b"\x16\x03\x01\x00\x05hello"), c.pkt(True, REQ1)])
    assert len(df) == 0


def test_malformed_line_and_gap_resynchronise() -> None:
    c = Conn()
    pkts = c.handshake() + [c.pkt(True, REQ1), c.pkt(True, b"GET /x HTTX/1.1\r\n\r\n")]
    lost = c.pkt(True, b"GET /lost HTTP/1.1\r\nHost: x\r\n")  # never delivered: a capture hole
    pkts += [c.pkt(True, b"\r\n" + REQ1.replace(b"/index.html?q=1", b"/after"))]
    df = http_table(pkts)
    assert lost.seq > 0
    assert list(df["uri"]) == ["/index.html?q=1", "/after"]
    rej = df.attrs["rejections"]
    assert rej["malformed request line"] == 1 and rej["capture gap: resynchronising"] == 1
    assert df.attrs["reassembly"]["gap_bytes"] == len(lost.payload)


def test_oversized_line_is_counted_and_parsing_recovers() -> None:
    c = Conn()
    pkts = c.handshake() + [c.pkt(True, b"GET /" + b"a" * 9000), c.pkt(True, b" HTTP/1.1\r\n\r\n" + REQ1)]
    df = http_table(pkts)
    assert df.attrs["rejections"]["line too long"] == 1
    assert list(df["uri"]) == ["/index.html?q=1"]


def test_uri_with_spaces_as_in_command_injection() -> None:
    c = Conn()
    req = b"GET /cgi-bin/x;cat /etc/passwd|?a=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    r = http_table(c.handshake() + [c.pkt(True, req)]).iloc[0]
    assert r["uri"] == "/cgi-bin/x;cat /etc/passwd|?a=1" and r["version"] == "1.1"


def test_detection_needs_a_whole_request_line_and_status_is_case_insensitive() -> None:
    c = Conn(dport=5900)
    vnc = c.handshake() + [c.pkt(False, b"RFB 003.008\n"), c.pkt(True, b"RFB 003.008\n")]
    assert len(http_table(vnc)) == 0
    c = Conn()
    df = http_table(c.handshake() + [c.pkt(True, b"OPTIONS HTTP/1.1\r\n\r\n"),
                                      c.pkt(False, b"http/1.1 204 no content\r\n\r\n")])
    r = df.iloc[0]
    assert r["method"] == "OPTIONS" and r["uri"] is None and r["status_code"] == 204


def test_response_stream_joined_mid_body_is_skipped_until_a_status_line() -> None:
    c = Conn()
    pkts = c.handshake() + [c.pkt(True, REQ1 + REQ1), c.pkt(False, b"\x89PNG\r\n\x1a\nbinary tail of a body\r\n" + RESP1)]
    df = http_table(pkts)
    assert df.attrs["rejections"] == {"data where a message should start": 1}
    assert df["status_code"].iloc[0] == 200 and pd.isna(df["status_code"].iloc[1])
