"""HTTP/1.x transactions table (Zeek http.log-like) from decoded packets, on any TCP port.

Why our own parser: dpkt.http.Request/Response parse one complete message from a buffer and raise
on partial ones, so they cannot follow a stream that arrives in segments, with pipelined requests,
chunked bodies we only need to count, or holes. Here each direction of each TCP connection (in
order, from :mod:`sopkit.capture.tcpstream`) runs a small state machine: start line → headers →
body (Content-Length, chunked, or until close) → next message. Bodies are counted, never stored.

A connection is HTTP when its client's first bytes look like a request line (``METHOD SP target
SP HTTP/x.y``) or its server's first bytes start ``HTTP/1.``, whatever the port. Responses are
matched to requests in order (pipelining); ``1xx`` interim responses fill ``info_code`` and do not
consume a request; ``101`` and a successful ``CONNECT`` end HTTP parsing of that connection.

Basic credentials yield ``username`` and ``password_present``; the password itself is never kept.
Counters in ``df.attrs["rejections"]`` (reason → count): malformed start lines or headers, oversized
lines, and resynchronisations after capture gaps; ``df.attrs["reassembly"]`` has the TCP counters.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections import Counter, deque
from collections.abc import Iterable

import pandas as pd

from sopkit.capture.packet import PROTO_TCP, Packet
from sopkit.capture.tcpstream import ConnKey, TcpReassembler, ip_text

MAX_LINE = 8192  #: longest start line or header line accepted
MAX_HEADER_BLOCK = 65536  #: longest header block accepted
MAX_REQUEST_LINE_KEPT = 1024  #: ``request_line`` is truncated to this many characters

_REQUEST = re.compile(rb"([A-Z][A-Z_-]{1,19})(?: +(\S.{0,8000}?))? +HTTP/(\d\.\d)\Z")  # attack URIs hold spaces
_REQUEST_START = re.compile(rb"[A-Z][A-Z_-]{1,19} ")
_STATUS_START = re.compile(rb"HTTP/1\.", re.I)
_STATUS = re.compile(rb"HTTP/(\d\.\d) (\d{3})(?: (.*))?\Z", re.I)

COLUMNS = ["ts", "ts_ns", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "trans_depth", "method",
           "host", "uri", "referrer", "version", "user_agent", "origin", "request_body_len",
           "response_body_len", "status_code", "status_msg", "info_code", "info_msg", "username",
           "password_present", "request_content_type", "response_content_type", "request_line",
           "missed_bytes"]


def _looks_like_request(data: bytes) -> bool:
    """A request line start, and a whole valid request line when the first line is complete."""
    if not _REQUEST_START.match(data):
        return False
    end = data.find(b"\n", 0, MAX_LINE)
    return end < 0 or _REQUEST.match(data[:end].rstrip(b"\r")) is not None


def _text(b: bytes) -> str:
    return b.decode("utf-8", "backslashreplace")


def _basic_user(value: str) -> tuple[str | None, bool]:
    """Username and whether a password was present in a Basic ``Authorization`` value."""
    scheme, _, cred = value.strip().partition(" ")
    if scheme.lower() != "basic":
        return None, False
    try:
        raw = base64.b64decode(cred.strip(), validate=False)
    except (binascii.Error, ValueError):
        return None, False
    user, sep, pw = _text(raw).partition(":")
    return user, bool(sep and pw)


class _Side:
    """One direction's parser state."""

    def __init__(self, client: bool) -> None:
        self.client = client
        self.buf = bytearray()
        self.state = "start"  # start, headers, body, chunk_size, chunk_data, chunk_end, trailers, close, lost
        self.remaining = 0
        self.headers: list[tuple[str, str]] = []
        self.start: bytes = b""
        self.row: dict | None = None
        self.head_bytes = 0


class _Conn:
    def __init__(self, key: ConnKey) -> None:
        self.key = key
        self.client = _Side(True)
        self.server = _Side(False)
        self.pending: deque[dict] = deque()
        self.depth = 0
        self.is_http: bool | None = None
        self.client_is_orig = True  # decided by content: a capture may miss the handshake
        self.done = False

    def endpoints(self) -> dict:
        k = self.key
        c, s = ((k.orig_h, k.orig_p), (k.resp_h, k.resp_p))
        if not self.client_is_orig:
            c, s = s, c
        return {"id.orig_h": ip_text(c[0]), "id.orig_p": c[1], "id.resp_h": ip_text(s[0]), "id.resp_p": s[1]}


class HttpParser:
    """Feeds reassembled chunks into per-connection state machines and collects rows."""

    def __init__(self) -> None:
        self.rows: list[dict] = []
        self.rejections: Counter[str] = Counter()
        self.conns: dict[ConnKey, _Conn] = {}

    def chunk(self, key: ConnKey, from_orig: bool, data: bytes, ts: int, gap: int) -> bool:
        """Process one chunk; returns False when the connection is of no further interest."""
        c = self.conns.get(key)
        if c is None:
            c = self.conns[key] = _Conn(key)
        if c.done or c.is_http is False:
            return False
        if c.is_http is None:
            if not data:
                return True
            if _looks_like_request(data):
                c.is_http, c.client_is_orig = True, from_orig
            elif _STATUS_START.match(data):
                c.is_http, c.client_is_orig = True, not from_orig
            else:
                del self.conns[key]  # not HTTP: keep no state (the reassembler stops delivering it)
                return False
        side = c.client if from_orig == c.client_is_orig else c.server
        if gap:
            self._gap(side, gap)
        side.buf += data
        while True:
            self._run(c, side, ts)
            if side.state != "lost" or c.done:
                break
            self._resync(side)
            if side.state == "lost":
                break
        return not c.done

    def _gap(self, side: _Side, gap: int) -> None:
        if side.state in ("body", "chunk_data") and gap <= side.remaining and side.row is not None:
            side.remaining -= gap
            side.row["missed_bytes"] += gap
            side.row["request_body_len" if side.client else "response_body_len"] += gap
            return
        if side.state == "close" and side.row is not None:
            side.row["missed_bytes"] += gap
            return
        if side.row is not None:
            side.row["missed_bytes"] += gap
        self.rejections["capture gap: resynchronising"] += 1
        side.buf.clear()
        side.state = "lost"

    def _resync(self, side: _Side) -> None:
        """Drop bytes until a line that starts a new message."""
        pat = _REQUEST_START if side.client else _STATUS_START
        buf = side.buf
        i = 0
        while True:
            if pat.match(buf, i):
                del buf[:i]
                side.state = "start"
                return
            j = buf.find(b"\n", i)
            if j < 0:
                del buf[:max(0, len(buf) - MAX_LINE)]
                return
            i = j + 1

    def _line(self, side: _Side) -> bytes | None:
        j = side.buf.find(b"\n")
        if j < 0:
            if len(side.buf) > MAX_LINE:
                self.rejections["line too long"] += 1
                side.state = "lost"
                side.buf.clear()  # drop the partial line so resynchronisation makes progress
            return None
        line = bytes(side.buf[:j]).rstrip(b"\r")
        del side.buf[:j + 1]
        side.head_bytes += j + 1
        if side.state == "headers" and side.head_bytes > MAX_HEADER_BLOCK:
            self.rejections["header block too long"] += 1
            side.state = "lost"
            return None
        return line

    def _run(self, c: _Conn, side: _Side, ts: int) -> None:
        while side.buf and side.state != "lost" and not c.done:
            st = side.state
            if st == "start":
                while side.buf[:1] in (b"\r", b"\n"):
                    del side.buf[:1]  # tolerate stray CRLF between messages
                if (len(side.buf) >= 32 or b"\n" in side.buf) and not (
                        _REQUEST_START if side.client else _STATUS_START).match(side.buf):
                    self.rejections["data where a message should start"] += 1
                    side.state = "lost"
                    return
                line = self._line(side)
                if line is None:
                    return
                if not line:
                    continue  # tolerate stray CRLF between messages
                side.start, side.headers, side.head_bytes = line, [], 0
                side.state = "headers"
            elif st == "headers":
                line = self._line(side)
                if line is None:
                    return
                if line:
                    if line[:1] in (b" ", b"\t") and side.headers:
                        name, val = side.headers[-1]
                        side.headers[-1] = (name, val + " " + _text(line.strip()))
                    else:
                        name, sep, val = line.partition(b":")
                        if not sep:
                            self.rejections["header line without colon"] += 1
                            continue
                        side.headers.append((_text(name.strip()).lower(), _text(val.strip())))
                    continue
                (self._request if side.client else self._response)(c, side, ts)
            elif st in ("body", "chunk_data", "close"):
                n = len(side.buf) if st == "close" else min(side.remaining, len(side.buf))
                del side.buf[:n]
                side.remaining -= n
                if side.row is not None:
                    side.row["request_body_len" if side.client else "response_body_len"] += n
                if st != "close" and side.remaining == 0:
                    side.state = "chunk_end" if st == "chunk_data" else "start"
            elif st == "chunk_size":
                line = self._line(side)
                if line is None:
                    return
                try:
                    size = int(line.split(b";")[0].strip() or b"x", 16)
                except ValueError:
                    self.rejections["bad chunk size"] += 1
                    side.state = "lost"
                    return
                side.remaining = size
                side.state = "chunk_data" if size else "trailers"
            elif st == "chunk_end":
                line = self._line(side)
                if line is None:
                    return
                side.state = "chunk_size"
            elif st == "trailers":
                line = self._line(side)
                if line is None:
                    return
                if not line:
                    side.state = "start"

    def _body_state(self, side: _Side, hdr: dict[str, str], allow_close: bool) -> None:
        if "chunked" in hdr.get("transfer-encoding", "").lower():
            side.state = "chunk_size"
            return
        try:
            n = int(hdr.get("content-length", "").split(",")[0].strip())
        except ValueError:
            n = -1
        if n > 0:
            side.state, side.remaining = "body", n
        elif n < 0 and allow_close:
            side.state = "close"
        else:
            side.state = "start"

    def _request(self, c: _Conn, side: _Side, ts: int) -> None:
        m = _REQUEST.match(side.start)
        hdr = dict(side.headers)
        if m is None:
            self.rejections["malformed request line"] += 1
            side.state = "lost"
            side.row = None
            return
        c.depth += 1
        user, pw = _basic_user(hdr.get("authorization", ""))
        row = {"ts": ts / 1e9, "ts_ns": ts, **c.endpoints(), "trans_depth": c.depth,
               "method": _text(m.group(1)), "host": hdr.get("host"),
               "uri": _text(m.group(2)) if m.group(2) is not None else None,
               "referrer": hdr.get("referer"), "version": _text(m.group(3)),
               "user_agent": hdr.get("user-agent"), "origin": hdr.get("origin"), "request_body_len": 0,
               "response_body_len": 0, "status_code": None, "status_msg": None, "info_code": None,
               "info_msg": None, "username": user, "password_present": pw,
               "request_content_type": hdr.get("content-type"), "response_content_type": None,
               "request_line": _text(side.start)[:MAX_REQUEST_LINE_KEPT], "missed_bytes": 0}
        self.rows.append(row)
        c.pending.append(row)
        side.row = row
        self._body_state(side, hdr, allow_close=False)

    def _response(self, c: _Conn, side: _Side, ts: int) -> None:
        m = _STATUS.match(side.start)
        hdr = dict(side.headers)
        if m is None:
            self.rejections["malformed status line"] += 1
            side.state = "lost"
            side.row = None
            return
        code, msg = int(m.group(2)), _text(m.group(3) or b"")
        if 100 <= code < 200:
            if c.pending:
                c.pending[0]["info_code"], c.pending[0]["info_msg"] = code, msg
            if code == 101:
                c.done = True  # protocol switch (WebSocket, h2c): no longer HTTP/1
            side.state = "start"
            return
        if c.pending:
            row = c.pending.popleft()
        else:
            c.depth += 1
            row = {col: None for col in COLUMNS}
            row.update({"ts": ts / 1e9, "ts_ns": ts, **c.endpoints(), "trans_depth": c.depth,
                        "version": _text(m.group(1)), "request_body_len": 0, "password_present": False,
                        "missed_bytes": 0})
            self.rows.append(row)
        row.update(status_code=code, status_msg=msg, response_content_type=hdr.get("content-type"),
                   response_body_len=0)
        side.row = row
        if row["method"] == "CONNECT" and 200 <= code < 300:
            c.done = True  # a tunnel: what follows is not HTTP
            return
        if row["method"] == "HEAD" or code in (204, 304):
            side.state = "start"
        else:
            self._body_state(side, hdr, allow_close=True)


def http_table(packets: Iterable[Packet], *, max_buffer: int = 1 << 20) -> pd.DataFrame:
    """One row per HTTP request (or unmatched response); see the module docstring."""
    rasm = TcpReassembler(max_buffer=max_buffer)
    parser = HttpParser()
    for p in packets:
        if p.proto != PROTO_TCP:
            continue
        for ch in rasm.feed(p):
            if not parser.chunk(ch.conn, ch.from_orig, ch.data, ch.ts_ns, ch.gap):
                rasm.ignore(ch.conn)
    for ch in rasm.flush():
        parser.chunk(ch.conn, ch.from_orig, ch.data, ch.ts_ns, ch.gap)
    df = pd.DataFrame(parser.rows, columns=COLUMNS)
    for col in ("status_code", "info_code", "trans_depth", "request_body_len", "response_body_len"):
        df[col] = df[col].astype("Int64")
    df.attrs["rejections"] = dict(parser.rejections)
    df.attrs["reassembly"] = rasm.stats.as_dict()
    return df
