from __future__ import annotations

import gzip
import os

import pandas as pd

from sopkit.logs.syslog import YearTracker, read_syslog

LINES = [
    "Dec 31 23:59:58 web01 sshd[100]: first",
    "Dec 31 23:59:59 web01 CRON[7]: pam_unix(cron:session): session closed for user root",
    "Jan  1 00:00:01 web01 kernel: [  5.1] usb 1-1: new device",
    "Dec 31 23:59:57 web01 sshd[100]: late line from the old year",
    "Jan  1 06:00:00 web01 last message repeated 2 times",
    "<38>Jan  1 07:00:00 web01 syslogd 1.4.1: restart.",
    "2027-01-01T08:00:00.250+00:00 web02 app[9]: iso with zone",
    "2027-01-01T08:00:00 web02 app: iso without zone",
    '<34>1 2027-01-01T09:00:00Z web03 sshd 77 ID1 [ex@1 a="x \\"]\\" y"] rfc5424 message',
    "<13>1 - web03 app - - - no time",
    "Feb 30 10:00:00 web01 app: no such day",
    "not syslog at all",
    "",
]


def test_year_rollover_zone_and_layouts(tmp_path):
    path = tmp_path / "messages"
    path.write_bytes(("\r\n".join(LINES) + "\r\n").encode())
    result = read_syslog(path, year=2026, tz="WIB")
    ev = result.events.set_index("line")
    assert result.assumptions == {"year": 2026, "year_from": "argument", "year_last": 2027, "tz": "WIB"}
    assert ev.loc[1, "ts"] == pd.Timestamp("2026-12-31 16:59:58", tz="UTC")
    assert ev.loc[3, "ts"] == pd.Timestamp("2026-12-31 17:00:01", tz="UTC")  # Jan 1 → 2027 local
    assert ev.loc[4, "ts"] == pd.Timestamp("2026-12-31 16:59:57", tz="UTC")  # late Dec line stays 2026
    assert (ev.loc[2, "program"], ev.loc[2, "pid"], ev.loc[3, "program"]) == ("CRON", 7, "kernel")
    assert pd.isna(ev.loc[5, "program"]) and ev.loc[5, "message"] == "last message repeated 2 times"
    assert ev.loc[6, "program"] == "syslogd 1.4.1" and ev.loc[6, "syslog.severity"] == 6
    assert ev.loc[7, "ts"] == pd.Timestamp("2027-01-01 08:00:00.250", tz="UTC")
    assert ev.loc[8, "ts"] == pd.Timestamp("2027-01-01 01:00:00", tz="UTC")  # no zone: WIB
    assert ev.loc[9, "program"] == "sshd" and ev.loc[9, "pid"] == 77 and ev.loc[9, "message"] == "rfc5424 message"
    assert ev.loc[9, "syslog.sd"] == '[ex@1 a="x \\"]\\" y"]' and ev.loc[9, "syslog.msgid"] == "ID1"
    assert [(r.line, r.reason.split(" (")[0]) for r in result.rejections] == [
        (10, "RFC 5424 line without a timestamp"), (11, "invalid date or time"), (12, "not a syslog line"), (13, "empty line")]
    assert set(result.events["source"]) == {"syslog"} and result.events["raw"].iloc[0] == LINES[0]


def test_year_from_mtime_counts_back_rollovers(tmp_path):
    path = tmp_path / "auth.log.1.gz"
    path.write_bytes(gzip.compress("\n".join(LINES[:3]).encode() + b"\n\x00\x01junk\n\xffbad utf8\n"))
    os.utime(path, (1_800_000_000, 1_800_000_000))  # 2027-01-15
    result = read_syslog(path, tz="Asia/Makassar")
    assert result.assumptions["year"] == 2026 and result.assumptions["year_from"] == "file modification time"
    assert result.events["ts"].iloc[2] == pd.Timestamp("2026-12-31 16:00:01", tz="UTC")
    assert [(r.line, r.reason) for r in result.rejections][0] == (4, "binary data (NUL bytes)")
    assert result.rejections[1].line == 5 and result.rejections[1].raw == "\\xffbad utf8"


def test_tracker_state_carries_across_chunks(tmp_path):
    tracker = YearTracker()
    assert list(tracker.offsets(pd.Series([11, 12, 12]).to_numpy())) == [0, 0, 0]
    assert list(tracker.offsets(pd.Series([1, 12, 2, 1]).to_numpy())) == [1, 0, 1, 1]
    path = tmp_path / "big.log"
    path.write_text("".join(f"Dec 31 23:59:{i % 60:02d} h p: {i}\n" for i in range(50)) + "Jan  1 00:00:00 h p: x\n")
    result = read_syslog(path, year=2030, tz="UTC", chunk_lines=7)
    assert len(result.events) == 51 and result.events["ts"].iloc[-1] == pd.Timestamp("2031-01-01", tz="UTC")
    assert list(result.events["line"]) == list(range(1, 52))
