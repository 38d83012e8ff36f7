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
