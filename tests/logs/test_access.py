from __future__ import annotations

import gzip

import pandas as pd

from sopkit.logs.access import read_access_log

LINES = [
    '203.0.113.9 - - [24/Nov/2026:08:00:01 +0700] "GET /berita?id=1 HTTP/1.1" 200 5120 "-" "Mozilla/5.0 (X11)"',
    '198.51.100.7 - admin [24/Nov/2026:08:00:02 +0700] "GET /q?s=\' OR "1"="1 HTTP/1.1" 500 0 "http://x/" "sqlmap/1.7"',
    '198.51.100.7 - - [24/Nov/2026:08:00:03 +0700] "GET /<script>alert(1)</script> HTTP/1.1" 404 - "-" "Nikto"',
    "10.0.0.1 - - [24/Nov/2026:01:00:04 +0000] \"POST /login HTTP/1.0\" 302 12",
    "this is not an access log line",
    "",
]


def test_combined_common_quotes_and_rejects(tmp_path):
    path = tmp_path / "access.log"
    path.write_bytes(("\r\n".join(LINES) + "\r\n").encode() + b"\xff\xfe broken utf8\n")
    df, report = read_access_log(path)
    assert list(df["line"]) == [1, 2, 3, 4]
    assert df.loc[0, "ts"] == pd.Timestamp("2026-11-24 01:00:01", tz="UTC")
    assert df.loc[3, "ts"] == pd.Timestamp("2026-11-24 01:00:04", tz="UTC")
    assert df.loc[1, "url"] == "/q?s=' OR \"1\"=\"1" and df.loc[1, "user"] == "admin"
    assert df.loc[1, "user_agent"] == "sqlmap/1.7" and df.loc[1, "status"] == 500
    assert df.loc[2, "url"] == "/<script>alert(1)</script>" and df.loc[2, "bytes"] == 0
    assert df.loc[3, "method"] == "POST" and pd.isna(df.loc[3, "user_agent"])
    assert [(n, why) for n, why, _ in report.rejects] == [
        (5, "not in combined/common log format"), (6, "empty line"), (7, "not in combined/common log format")]
    assert report.invalid_utf8 == 1 and report.lines == 7


def test_gzip_by_magic_and_cut_stream(tmp_path):
    data = gzip.compress(("\n".join(LINES[:3]) + "\n").encode())
    (tmp_path / "access.log.1").write_bytes(data)
    df, report = read_access_log(tmp_path / "access.log.1")
    assert len(df) == 3 and report.rejects == []
    (tmp_path / "cut.gz").write_bytes(data[: len(data) - 12])
    df, report = read_access_log(tmp_path / "cut.gz")
    assert len(report.rejects) == 1 and "unreadable from here" in report.rejects[0][1]


def test_event_table_formats_and_escapes(tmp_path):
    from sopkit.logs.access import read_access

    path = tmp_path / "vhost.log"
    path.write_text('www.contoh.go.id:443 203.0.113.9 - - [24/Nov/2026:08:00:01 +0700] "GET /a\\"b HTTP/1.1" 200 10 '
                    '"-" "curl/8 \\"x\\""\n')
    ev = read_access(path).events
    assert (ev.loc[0, "host"], ev.loc[0, "dst_port"], ev.loc[0, "url"]) == ("www.contoh.go.id", 443, '/a"b')
    assert ev.loc[0, "user_agent"] == 'curl/8 "x"' and pd.isna(ev.loc[0, "access.referrer"])
    custom = tmp_path / "custom.log"
    custom.write_text('10.0.0.1 [24/Nov/2026:08:00:01 -0300] "POST /x HTTP/1.0" 201 1234us\n'
                      '10.0.0.2 [24/Nov/2026:08:00:01 -0300] "POST /y HTTP/1.0" 201 12\n')
    result = read_access(custom, log_format='%h %t \\"%r\\" %>s %Dus')
    ev = result.events
    assert len(ev) == 1 and ev.loc[0, "ts"] == pd.Timestamp("2026-11-24 11:00:01", tz="UTC")
    assert ev.loc[0, "access.duration_us"] == 1234 and ev.loc[0, "http_method"] == "POST"
    assert [(r.line, r.reason) for r in result.rejections] == [(2, "not in LogFormat '%h %t \\\\\"%r\\\\\" %>s %Dus' log format")]


def test_demo_day_access_log_reads_without_rejects(tmp_path):
    from sopkit.demo import generate_day
    from sopkit.logs.access import read_access

    day = generate_day(tmp_path, scale=0.05)
    result = read_access(day.access_log)
    lines = day.access_log.read_text().splitlines()
    assert result.rejections == [] and len(result.events) == len(lines)
    ev = result.events
    assert ev["ts"].dt.tz_convert(day.tz).dt.date.eq(day.date).all()
    assert ev["url"].str.contains("<script>alert(1)</script>", regex=False).any()
    assert ev["http_method"].notna().all() and ev["http_status"].between(100, 599).all()
