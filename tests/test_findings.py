from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from sopkit.findings import FINDING_COLUMNS, Finding, findings_frame

T0 = dt.datetime(2026, 11, 24, 1, 0, tzinfo=dt.timezone.utc)


def make(severity="high", score=0.5, src="203.0.113.9", start=T0, evidence=None):
    return Finding(detector="ssh_bruteforce", title="SSH brute force", severity=severity, first_seen=start,
                   last_seen=start + dt.timedelta(minutes=5), explanation_id="Percobaan login SSH berulang",
                   explanation_en="Repeated SSH login attempts", attack="T1110.001", score=score,
                   entities={"src_ip": [src], "dst_port": [22]}, counts={"failures": 412}, evidence=evidence)


def test_ids_are_stable_and_distinct():
    assert make().id == make().id
    assert make().id != make(src="198.51.100.1").id
    assert make().id.startswith("ssh_brutefor-")


def test_validation_and_utc():
    with pytest.raises(ValueError, match="severity must be one of"):
        make(severity="urgent")
    with pytest.raises(ValueError, match="score must be within"):
        make(score=1.5)
    local = make(start=pd.Timestamp("2026-11-24 08:00", tz="Asia/Jakarta"))
    assert local.first_seen == T0 and local.first_seen.tzinfo is not None
    assert make().explanation("en") == "Repeated SSH login attempts"


def test_frame_sorted_by_severity_then_score():
    evidence = pd.DataFrame({"line": [1, 2, 3]})
    df = findings_frame([make("medium", 0.9), make("critical", 0.1, src="a"), make("high", 0.7, src="b",
                         evidence=evidence), make("high", 0.8, src="c")])
    assert list(df.columns) == FINDING_COLUMNS
    assert list(df["severity"]) == ["critical", "high", "high", "medium"]
    assert list(df["score"]) == [0.1, 0.8, 0.7, 0.9]
    assert list(df["evidence_rows"]) == [0, 0, 3, 0]
    assert str(df["first_seen"].dt.tz) == "UTC"
    assert findings_frame([]).empty
