"""Findings in a report speak its language: titles, severities, explanations (lang "id" or "en")."""

from __future__ import annotations

import pandas as pd

from sopkit.findings import Finding
from sopkit.report.findings import finding_markdown, findings_overview

T0 = pd.Timestamp("2026-11-24 02:00", tz="UTC")


def scan() -> Finding:
    return Finding(detector="scan.vertical", title_id="Pemindaian port dari 203.0.113.9 <ke> 10.20.1.5",
                   title_en="Port scan from 203.0.113.9 <to> 10.20.1.5", severity="high", first_seen=T0,
                   last_seen=T0 + pd.Timedelta(minutes=5), explanation_id="Pemindaian 1038 port",
                   explanation_en="Scan of 1038 ports", entities={"src_ip": ["203.0.113.9"]}, score=0.9)


def test_markdown_title_in_report_language():
    md_id, md_en = finding_markdown(1, scan(), "id"), finding_markdown(1, scan(), "en")
    assert md_id.startswith("### 1. [tinggi] Pemindaian port dari 203.0.113.9 &lt;ke&gt; 10.20.1.5\n")
    assert md_en.startswith("### 1. [high] Port scan from 203.0.113.9 &lt;to&gt; 10.20.1.5\n")
    assert "Port scan" not in md_id and "Pemindaian" not in md_en


def test_overview_title_in_report_language():
    df_id = findings_overview([scan()], "id").df
    df_en = findings_overview([scan()], "en").df
    assert df_id["Temuan"].tolist() == ["Pemindaian port dari 203.0.113.9 <ke> 10.20.1.5"]
    assert df_en["Finding"].tolist() == ["Port scan from 203.0.113.9 <to> 10.20.1.5"]
    assert "&lt;ke&gt;" in findings_overview([scan()], "id")._repr_html_()  # escaped on the page
