from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from sopkit.findings import FINDING_COLUMNS, Finding, findings_frame, stored_findings
from sopkit.history import HistoryStore

T0 = dt.datetime(2026, 11, 24, 1, 0, tzinfo=dt.timezone.utc)


def make(severity="high", score=0.5, src="203.0.113.9", start=T0, evidence=None):
    return Finding(detector="ssh_bruteforce", title_id=f"Percobaan brute force SSH dari {src}",
                   title_en=f"SSH brute force from {src}", severity=severity, first_seen=start,
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


def test_titles_in_both_languages():
    f = make()
    assert f.title() == f.title("id") == "Percobaan brute force SSH dari 203.0.113.9"
    assert f.title("en") == "SSH brute force from 203.0.113.9"
    with pytest.raises(ValueError, match="ssh_bruteforce: a finding needs a title in both languages"):
        Finding(detector="ssh_bruteforce", title_en="SSH brute force", severity="high", first_seen=T0, last_seen=T0,
                explanation_id="x", explanation_en="x")
    with pytest.raises(TypeError, match="title"):  # no one-language shortcut
        Finding(detector="scan.vertical", title="Port scan", severity="low", first_seen=T0, last_seen=T0,
                explanation_id="x", explanation_en="x")
    df = findings_frame([f])
    assert df.loc[0, "title_id"] == f.title_id and df.loc[0, "title_en"] == f.title_en


def test_history_from_before_bilingual_titles_still_loads(tmp_path):
    """A findings table stored by an older run (one English ``title``) and a new one load as one table."""
    store = HistoryStore(tmp_path)
    old = findings_frame([make()]).drop(columns=["title_id", "title_en"]).assign(title="SSH brute force")
    old = old[["id", "detector", "title"] + [c for c in old.columns if c not in ("id", "detector", "title")]]
    for col in ("entities", "counts"):
        old[col] = old[col].map(str)
    new = findings_frame([make(src="198.51.100.1")])
    for col in ("entities", "counts"):
        new[col] = new[col].map(str)
    store.record("traffic", "findings", dt.date(2026, 11, 23), "old-run", old.astype({"severity": "string"}))
    store.record("traffic", "findings", dt.date(2026, 11, 24), "new-run", new.astype({"severity": "string"}))
    loaded = stored_findings(store.load("traffic", "findings"))
    assert "title" not in loaded.columns and list(loaded.columns[:4]) == ["id", "detector", "title_id", "title_en"]
    assert loaded["title_en"].tolist() == ["SSH brute force", "SSH brute force from 198.51.100.1"]
    assert loaded["title_id"].tolist() == ["SSH brute force", "Percobaan brute force SSH dari 198.51.100.1"]
    assert loaded["day"].tolist() == [dt.date(2026, 11, 23), dt.date(2026, 11, 24)]
    assert stored_findings(new) is new  # a table in today's columns is returned as is
