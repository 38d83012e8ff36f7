"""Report tables of the security log analysis: coverage, pivots, Sigma levels, triage list, period bounds.

Inputs are small log files written here (read with the real readers) or event tables built row by row.
"""

from __future__ import annotations

import pandas as pd
import pytest

from sopkit.errors import ParameterError
from sopkit.findings import Finding
from sopkit.logs.read import read_logs
from sopkit.report import logs as rl

AUTH = """\
Nov 24 08:00:01 srv1 sshd[101]: Failed password for root from 203.0.113.5 port 40001 ssh2
Nov 24 08:00:03 srv1 sshd[101]: Failed password for root from 203.0.113.5 port 40002 ssh2
Nov 24 08:00:05 srv1 sshd[101]: Failed password for admin from 203.0.113.5 port 40003 ssh2
Nov 24 08:10:00 srv1 sshd[102]: Accepted publickey for budi from 10.0.0.5 port 50000 ssh2
"""
ACCESS = """\
192.0.2.10 - - [24/Nov/2026:08:05:00 +0700] "GET / HTTP/1.1" 200 512 "-" "Mozilla/5.0"
192.0.2.10 - - [24/Nov/2026:08:05:01 +0700] "GET /admin HTTP/1.1" 404 10 "-" "Mozilla/5.0"
this is not an access log line
"""


@pytest.fixture
def result(tmp_path):
    (tmp_path / "auth.log").write_text(AUTH)
    (tmp_path / "access.log").write_text(ACCESS)
    (tmp_path / "empty.log").write_text("")
    result = read_logs([tmp_path / "auth.log", tmp_path / "access.log"], year=2026)
    result.formats.update(read_logs(tmp_path / "empty.log", "auth", year=2026).formats)  # no sniffing an empty file
    return result


def test_coverage_lists_every_file_with_events_and_rejections(result):
    cov = rl.coverage(result).set_index(rl.coverage(result)["file"].str.rsplit("/", n=1).str[-1])
    assert cov.loc["auth.log", "events"] == 4 and cov.loc["auth.log", "rejected"] == 0
    assert cov.loc["access.log", "events"] == 2 and cov.loc["access.log", "rejected"] == 1
    assert cov.loc["empty.log", "events"] == 0 and pd.isna(cov.loc["empty.log", "first"])
    assert cov["events"].sum() == len(result.events)
    assert cov.loc["auth.log", "first"] == pd.Timestamp("2026-11-24 01:00:01", tz="UTC")  # 08:00:01 WIB
    assert cov.loc["auth.log", "last"] == pd.Timestamp("2026-11-24 01:10:00", tz="UTC")
    assert str(cov["first"].dt.tz) == "UTC"


def test_pivot_counts_events_and_failures(result):
    by_ip = rl.pivot(result.events, "src_ip").set_index("value")
    assert list(by_ip.index) == ["203.0.113.5", "192.0.2.10", "10.0.0.5"]  # most events first
    assert by_ip.loc["203.0.113.5", ["events", "failures"]].tolist() == [3, 3]
    assert by_ip.loc["192.0.2.10", ["events", "failures"]].tolist() == [2, 1]  # the 404
    assert by_ip.loc["10.0.0.5", ["events", "failures"]].tolist() == [1, 0]
    assert rl.pivot(result.events, "src_ip", n=1)["value"].tolist() == ["203.0.113.5"]
    users = rl.pivot(result.events, "user").set_index("value")["events"].to_dict()
    assert users == {"root": 2, "admin": 1, "budi": 1}
    empty = rl.pivot(result.events, "no_such_column")
    assert empty.empty and list(empty.columns) == ["value", "events", "failures", "first", "last"]


def test_sigma_levels_most_severe_first():
    alerts = pd.DataFrame({"level": ["medium", "high", "medium", "critical", "medium", "high"],
                           "rule_title": ["B", "H", "A", "C", "A", "H"]})
    out = rl.sigma_levels(alerts)
    assert out.values.tolist() == [["critical", "C", 1], ["high", "H", 2], ["medium", "A", 2], ["medium", "B", 1]]
    assert rl.sigma_levels(alerts.iloc[0:0]).empty


def _finding(severity: str, score: float, src: str) -> Finding:
    t0 = pd.Timestamp("2026-11-24 01:00", tz="UTC")
    return Finding(detector="logs.bruteforce", title_id=f"Percobaan brute force SSH dari {src}",
                   title_en=f"SSH brute force from {src}", severity=severity, first_seen=t0,
                   last_seen=t0 + pd.Timedelta(minutes=5), explanation_id="x", explanation_en="x", score=score,
                   entities={"src_ip": [src], "user": ["root", "admin"]})


def test_triage_filters_orders_and_speaks_the_report_language():
    found = [_finding("low", 1.0, "192.0.2.1"), _finding("high", 0.6, "192.0.2.2"),
             _finding("critical", 0.5, "192.0.2.3"), _finding("high", 0.9, "192.0.2.4")]
    out = rl.triage(found)
    assert out["severity"].tolist() == ["critical", "high", "high"]
    assert out["title"].tolist() == [f"Percobaan brute force SSH dari 192.0.2.{i}" for i in (3, 4, 2)]
    assert out.loc[0, "entities"] == "src_ip: 192.0.2.3; user: root, admin"
    assert out.loc[0, "id"] == found[2].id and str(out["first"].dt.tz) == "UTC"
    en = rl.triage(found, "low", "en")
    assert en["title"].tolist()[-1] == "SSH brute force from 192.0.2.1" and en["severity"].tolist()[-1] == "low"
    assert rl.triage(found, "high", "id")["severity"].tolist() == ["kritis", "tinggi", "tinggi"]
    assert rl.triage([]).empty
    with pytest.raises(ParameterError, match="urgent"):
        rl.triage(found, "urgent")
    with pytest.raises(ParameterError, match="'fr'"):
        rl.triage(found, "medium", "fr")


def test_period_bound():
    assert rl.period_bound("24-11-2026 24:00", "WIB") == pd.Timestamp("2026-11-24 17:00", tz="UTC")
    assert rl.period_bound("24-11-2026 00:00", "WITA") == pd.Timestamp("2026-11-23 16:00", tz="UTC")
    assert rl.period_bound("", "WIB") is None
    with pytest.raises(ParameterError, match="tomorrow noon"):
        rl.period_bound("tomorrow noon", "WIB")


def test_system_roles_sign_in_order():
    assert [r.key for r in rl.SYSTEM_ROLES] == ["analis", "koordinator_tim", "ketua_tim"]
