"""The compiled access-log scanner gives exactly the regex reader's table and rejections."""

from __future__ import annotations

import gzip
import random

import numpy as np
import pandas as pd
import pytest
from test_access import LINES as ACCESS_TEST_LINES

from sopkit.errors import ParameterError
from sopkit.logs import source
from sopkit.logs.access import AUTO, ESCAPED_COLUMNS, INT_COLUMNS, NULLABLE_COLUMNS, LogFormat, read_access
from sopkit.logs.fastaccess import FastScanner, Unsupported
from sopkit.logs.schema import LogResult

T = "[24/Nov/2026:08:00:01 +0700]"
UA = '"Mozilla/5.0 (X11; Linux x86_64)"'
EDGE = [
    f'203.0.113.9 - - {T} "GET /a HTTP/1.1" 200 5120 "-" {UA}',
    f'203.0.113.9 - alice {T} "GET /a\\"b HTTP/1.1" 200 10 "http://r/\\\\x" "curl/8 \\"x\\""',
    f'203.0.113.9 - - {T} "GET /\\x16\\x03\\x01 HTTP/1.1" 400 - "-" "-"',
    f'203.0.113.9 - - {T} "\\x16\\x03\\x01\\x00" 400 226 "-" "-"',
    f'203.0.113.9 - - {T} "GET /end\\\\" 200 1 "-" "ua\\\\"',
    f'203.0.113.9 - - {T} "GET /odd\\\\\\" HTTP/1.1" 200 1 "-" "-"',
    f'198.51.100.7 - - {T} "GET /q?s=\' OR "1"="1 HTTP/1.1" 500 0 "http://x/" "sqlmap/1.7"',
    f'10.0.0.1 - - {T} "-" 408 - "-" "-"',
    f'10.0.0.1 - - {T} "" 400 0 "" ""',
    f'10.0.0.1 - - {T} "GET" 400 0 "-" "-"',
    f'10.0.0.1 - - {T} "GET  HTTP/1.1" 400 0 "-" "-"',
    f'10.0.0.1 - - {T} "get / HTTP/1.1" 400 0 "-" "-"',
    f'10.0.0.1 - - {T} "GET /x HTTP/2" 200 0 "-" "-"',
    f'10.0.0.1 - - {T} "GET /x HTTP/2.0" 200 0 "-" "-"',
    f'10.0.0.1 - - {T} "GET /a b c HTTP/1.1" 200 0 "-" "-"',
    f'10.0.0.1 - - {T} "M-SEARCH * HTTP/1.1" 200 0 "-" "-"',
    f'10.0.0.1 - - {T} "GET /x HTTP/1.1x" 200 0 "-" "-"',
    f'10.0.0.1 - - {T} "GET /ü?q=日本 HTTP/1.1" 200 12 "-" "Mözilla ☃"',
    f'10.0.0.1 ident user {T} "GET / HTTP/1.1" 200 0 "-" "-"   \t',
    f'10.0.0.1 - - {T} "GET / HTTP/1.1" 200 0 "-" "-" trailing',
    f'10.0.0.1 - - {T} "GET / HTTP/1.1" 200 0',
    f'10.0.0.1 - - {T} "GET / HTTP/1.1" 200 -',
    f'10.0.0.1 - - {T} "GET / HTTP/1.1" 2000 0',
    f'10.0.0.1 - - {T} "GET / HTTP/1.1" 20 0',
    f'10.0.0.1\t- - {T} "GET / HTTP/1.1" 200 0',
    f'10.0.0.1\x0b- - {T} "GET / HTTP/1.1" 200 0',
    '10.0.0.1 - - [31/Apr/2026:08:00:01 +0700] "GET / HTTP/1.1" 200 0',
    '10.0.0.1 - - [29/Feb/2025:08:00:01 +0700] "GET / HTTP/1.1" 200 0',
    '10.0.0.1 - - [29/Feb/2024:23:59:60 -0330] "GET / HTTP/1.1" 200 0',
    '10.0.0.1 - - [1/Jan/2026:00:00:00 +1400] "GET / HTTP/1.1" 200 0',
    '10.0.0.1 - - [01/Foo/2026:00:00:00 +0000] "GET / HTTP/1.1" 200 0',
    '10.0.0.1 - - [01/Jan/2026:24:00:00 +0000] "GET / HTTP/1.1" 200 0',
    '10.0.0.1 - - [01/Jan/1600:00:00:00 -0000] "GET / HTTP/1.1" 200 0',
    '10.0.0.1 - - [001/Jan/2026:00:00:00 +0000] "GET / HTTP/1.1" 200 0',
    '10.0.0.1 - - [01/Jan/2026:00:00:00+0000] "GET / HTTP/1.1" 200 0',
    f'www.contoh.go.id:443 203.0.113.9 - - {T} "GET / HTTP/1.1" 200 10 "-" "-"',
    f'a:b:443 203.0.113.9 - - {T} "GET / HTTP/1.1" 200 10 "-" "-"',
    f'[::1]:80 203.0.113.9 - - {T} "GET / HTTP/1.1" 200 10 "-" "-"',
    f'host:x 203.0.113.9 - - {T} "GET / HTTP/1.1" 200 10 "-" "-"',
    "",
    "   ",
    "this is not an access log line",
]


def _same(path, **kwargs) -> LogResult:
    fast = read_access(path, engine="compiled", **kwargs)
    slow = read_access(path, engine="regex", **kwargs)
    pd.testing.assert_frame_equal(fast.events, slow.events)
    assert [r.__dict__ for r in fast.rejections] == [r.__dict__ for r in slow.rejections]
    return fast


def _scanner(formats=AUTO) -> FastScanner:
    return FastScanner([LogFormat(f) for f in formats], INT_COLUMNS, NULLABLE_COLUMNS, ESCAPED_COLUMNS)


def test_edge_lines_same_table_and_rejections(tmp_path):
    path = tmp_path / "edge.log"
    path.write_bytes(("\r\n".join(EDGE) + "\n").encode() + b"\xff\xfe broken utf8\n" + b"10.0.0.1 - \x00 x\n")
    result = _same(path)
    ev = result.events.set_index("line")
    assert ev.loc[2, "url"] == '/a"b' and ev.loc[2, "user_agent"] == 'curl/8 "x"' and ev.loc[2, "user"] == "alice"
    assert ev.loc[2, "access.referrer"] == "http://r/\\x"
    assert ev.loc[3, "url"] == "/\\x16\\x03\\x01" and pd.isna(ev.loc[3, "bytes"])
    assert pd.isna(ev.loc[4, "http_method"]) and ev.loc[4, "url"] == "\\x16\\x03\\x01\\x00"
    assert ev.loc[5, "url"] == "/end\\" and ev.loc[5, "user_agent"] == "ua\\"
    assert ev.loc[11, "url"] == "" and ev.loc[11, "access.protocol"] == "HTTP/1.1"
    assert ev.loc[30, "ts"] == pd.Timestamp("2025-12-31 10:00:00", tz="UTC")
    assert ev.loc[36, "host"] == "www.contoh.go.id" and ev.loc[37, "host"] == "a:b" and ev.loc[37, "dst_port"] == 443
    reasons = {r.line: r.reason for r in result.rejections}
    assert reasons[27].startswith("unreadable time") and reasons[40] == "empty line"
    assert reasons[44] == "binary data (NUL bytes)" and reasons[43] == "not in combined/common log format"
    assert ev.loc[38, "host"] == "[::1]" and ev.loc[29, "ts"] == pd.Timestamp("2024-03-01 03:30:00", tz="UTC")


def test_scanner_takes_the_plain_and_escaped_lines_itself():
    block = ("\n".join(EDGE) + "\n").encode()
    tables, slow, _, _ = _scanner().scan_block(block, 1)
    taken = set(np.concatenate([t.column("line").to_numpy() for t in tables]).tolist())
    assert taken == {1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 21, 22, 29, 30, 36}
    # unescaped quote, bad times, ambiguous vhost ("a:b:443"), \v or \t around a field, empty lines → exact path
    assert set((slow + 1).tolist()) == set(range(1, len(EDGE) + 1)) - taken


def test_demo_day_and_existing_inputs_equal(tmp_path, monkeypatch):
    from sopkit.demo import generate_day

    day = generate_day(tmp_path / "demo", scale=0.05)
    result = _same(day.access_log)
    assert len(result.events) == len(day.access_log.read_text().splitlines()) and not result.rejections
    _, slow, _, _ = _scanner().scan_block(day.access_log.read_bytes(), 1)
    assert len(slow) == 0
    old = tmp_path / "test_access.log"
    old.write_bytes(("\r\n".join(ACCESS_TEST_LINES) + "\r\n").encode() + b"\xff\xfe broken utf8\n")
    _same(old)
    # demo lines and edge lines shuffled, read in tiny blocks (many block boundaries, fast and exact rows mixed)
    lines = day.access_log.read_text().splitlines() + EDGE * 3
    random.Random(5).shuffle(lines)
    mixed = tmp_path / "mixed.log"
    mixed.write_text("\n".join(lines))  # no final newline
    whole = _same(mixed)
    monkeypatch.setattr(source, "BLOCK_BYTES", 3000)
    monkeypatch.setattr(source, "READ_BYTES", 1000)
    pd.testing.assert_frame_equal(_same(mixed).events, whole.events)
    packed = tmp_path / "mixed.gz"
    packed.write_bytes(gzip.compress(mixed.read_bytes())[:-40])
    _same(packed)


def test_custom_formats_and_engines(tmp_path):
    path = tmp_path / "custom.log"
    path.write_text('10.0.0.1 [24/Nov/2026:08:00:01 -0300] "POST /x HTTP/1.0" 201 1234us\n'
                    '10.0.0.2 [24/Nov/2026:08:00:01 -0300] "POST /y HTTP/1.0" 201 12\n'
                    '10.0.0.3 [24/Nov/2026:08:00:01 -0300] "POST /y HTTP/1.0" 201 99999us\n')
    result = _same(path, log_format='%h %t \\"%r\\" %>s %Dus')
    assert list(result.events["access.duration_us"]) == [1234, 99999]
    vhost = tmp_path / "vhost.log"
    vhost.write_text("\n".join(EDGE[35:39]) + "\n")
    assert list(_same(vhost, log_format="vhost_combined").events["host"]) == ["www.contoh.go.id", "a:b", "[::1]"]
    with pytest.raises(Unsupported):
        _scanner(["%h%l %t"])
    with pytest.raises(ParameterError, match="compiled"):
        read_access(path, log_format="%h%l %t", engine="compiled")
    glued = tmp_path / "glued.log"
    glued.write_text("10.0.0.1- [24/Nov/2026:08:00:01 +0000]\n")
    assert len(read_access(glued, log_format="%h%l %t").events) == 1
    with pytest.raises(ParameterError, match="engine"):
        read_access(path, engine="turbo")


def test_numbers_beyond_int64_are_rejected_not_fatal(tmp_path):
    path = tmp_path / "numbers.log"
    path.write_text(f'10.0.0.1 - - {T} "GET / HTTP/1.1" 200 99999999999999999999 "-" "-"\n'
                    f'10.0.0.1 - - {T} "GET / HTTP/1.1" 200 999999999999999999 "-" "-"\n')
    result = _same(path)
    assert list(result.events["bytes"]) == [999_999_999_999_999_999]
    assert [(r.line, r.reason) for r in result.rejections] == [(1, "bytes is not a number up to 18 digits")]
    quoted = tmp_path / "quoted.log"
    quoted.write_text(f'10.0.0.1 {T} "200"\n10.0.0.1 {T} "OK"\n10.0.0.1 {T} ""\n')
    result = _same(quoted, log_format='%h %t \\"%>s\\"')
    assert list(result.events["http_status"].astype(object).where(result.events["http_status"].notna(), None)) == [
        200, None]
    assert [(r.line, r.reason) for r in result.rejections] == [(2, "http_status is not a number up to 18 digits")]


def _mutants(lines: list[str], n: int, seed: int) -> list[str]:
    """``n`` lines, each a sample line with 1–3 random edits drawn from the characters that matter."""
    rng = random.Random(seed)
    alphabet = ['"', "\\", " ", "\t", "-", ":", "[", "]", "/", "0", "9", "A", "é", "\x0b", "\r", "+"]
    out = []
    for _ in range(n):
        line = list(rng.choice(lines))
        for _ in range(rng.randint(1, 3)):
            pos = rng.randrange(len(line) + 1)
            op = rng.random()
            if op < 0.4:
                line.insert(pos, rng.choice(alphabet))
            elif op < 0.7 and pos < len(line):
                del line[pos]
            elif pos < len(line):
                line[pos] = rng.choice(alphabet)
        out.append("".join(line))
    return out


def test_random_edits_same_table(tmp_path):
    path = tmp_path / "mutants.log"
    samples = EDGE[:22] + EDGE[28:30] + EDGE[35:38]
    path.write_text("\n".join(_mutants(samples, 3000, 11)) + "\n")
    result = _same(path)
    assert len(result.events) > 500 and len(result.rejections) > 500
    tables, _, _, _ = _scanner().scan_block(path.read_bytes(), 1)
    assert sum(t.num_rows for t in tables) > 400  # most events came through the compiled scanner
    vhost = _same(path, log_format="vhost_combined")
    assert len(vhost.events) > 0


def test_lenient_time_outside_pandas_range_is_rejected(tmp_path):
    path = tmp_path / "years.log"
    path.write_text('10.0.0.1 - - [24/Nov/9999:08:00:01 +0700] "GET /?q=" OR 1 HTTP/1.1" 200 1 "-" "-"\n'
                    '10.0.0.1 - - [24/Nov/2026:08:00:01 +0700] "GET /?q=" OR 1 HTTP/1.1" 200 1 "-" "-"\n')
    result = _same(path)
    assert list(result.events["line"]) == [2] and result.events.loc[0, "url"] == '/?q=" OR 1'
    assert [(r.line, r.reason) for r in result.rejections] == [(1, "unreadable time '24/Nov/9999:08:00:01 +0700'")]
