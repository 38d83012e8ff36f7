"""Finding texts write numbers the way their language does: ``1.500`` / ``1.234,6`` in Bahasa Indonesia,
``1500`` / ``1234.6`` in the (unchanged) English texts. The detectors run on generated data."""

from __future__ import annotations

import re

import pandas as pd
from trafficgen import T0, flow, tables

from sopkit.detect import logs as dl
from sopkit.detect.exfil import detect_large_outbound
from sopkit.detect.logsilence import detect_silent_sources
from sopkit.detect.logthresholds import LogThresholds
from sopkit.detect.thresholds import Thresholds
from sopkit.logs.schema import conform
from sopkit.report.i18n import number

LT0 = pd.Timestamp("2026-11-24 01:00", tz="UTC")


def _events(rows: list[dict]) -> pd.DataFrame:
    out = [dict(r, ts=LT0 + pd.Timedelta(seconds=r.pop("s")), file="/var/log/auth.log", line=i + 1)
           for i, r in enumerate(dict(r) for r in rows)]
    return conform(pd.DataFrame(out))


def test_exfil_megabytes_with_decimal_comma_and_thousands_point():
    rows = [flow(T0 + i, f"10.0.0.{i}", 40000, "198.51.100.1", 443, ob=2_000_000) for i in range(1, 30)]
    rows.append(flow(T0, "10.0.0.200", 40000, "198.51.100.200", 443, ob=1_234_567_890))
    (f,) = detect_large_outbound(tables(rows), Thresholds())
    mb = f.counts["bytes_out"] / 1e6
    assert f"({number(mb, 'id', 1)} MB keluar)" in f.title_id and "(1.234,6 MB keluar)" in f.title_id
    assert f"({mb:.1f} MB out)" in f.title_en and "(1234.6 MB out)" in f.title_en
    for text in (f.title_id, f.explanation_id):  # every MB figure in Indonesian: point groups, comma decimals
        assert all(re.fullmatch(r"\d{1,3}(\.\d{3})*,\d", m) for m in re.findall(r"([\d.,]+) MB", text))
    assert re.search(r"skor-z \d{1,3}(\.\d{3})*,\d ", f.explanation_id)
    assert re.search(r"z-score \d+\.\d ", f.explanation_en) and "byte: unggahan" in f.explanation_id


def test_log_bruteforce_counts_grouped_in_indonesian_only():
    rows = [{"s": i * 0.5, "source": "auth", "host": "srv1", "program": "sshd", "src_ip": "203.0.113.5",
             "user": "root", "action": "login", "outcome": "failure"} for i in range(1500)]
    (f,) = dl.detect_bruteforce(_events(rows), LogThresholds())
    n = int(f.counts["failures"])
    assert n == 1500
    assert f"({number(n, 'id')} kali gagal)" in f.title_id and "(1.500 kali gagal)" in f.title_id
    assert f"{n} failures)" in f.title_en and "1,500" not in f.title_en
    assert "gagal login 1.500 kali" in f.explanation_id and "failed to log in 1500 times" in f.explanation_en


def test_silent_source_hours_with_decimal_comma():
    rows = [{"s": h * 3600, "source": "auth", "host": "srv1", "action": "login"} for h in range(24)]
    rows += [{"s": s, "source": "auth", "host": "srv2", "action": "login"} for s in (0, 3600, 7200, 37800, 41400)]
    found = detect_silent_sources(_events(rows), LogThresholds())
    gap, end = (next(f for f in found if f.severity == s) for s in ("low", "medium"))
    assert (gap.counts["hours"], end.counts["hours"]) == (8.5, 11.5)
    assert f"selama {number(gap.counts['hours'], 'id', 1)} jam" in gap.title_id and "selama 8,5 jam" in gap.title_id
    assert "for 8.5 h" in gap.title_en and "8,5" not in gap.title_en
    assert "pada 11,5 jam terakhir" in end.title_id and "11,5 jam sebelum" in end.explanation_id
    assert "last 11.5 h" in end.title_en and "is 11.5 h before" in end.explanation_en
