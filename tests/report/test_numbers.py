"""Numbers in the report language: the formatter, and report tables rendered in id and en."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from sopkit.errors import ParameterError
from sopkit.findings import Finding
from sopkit.report.findings import evidence_table, finding_markdown, severity_counts
from sopkit.report.i18n import number, size
from sopkit.report.present import Table, is_identifier, table


def test_integers_grouped_by_thousands():
    assert number(1234567, "id") == "1.234.567" and number(1234567, "en") == "1,234,567"
    assert number(999, "id") == "999" and number(0, "id") == "0"
    assert number(np.int64(98765), "id") == "98.765" and number(np.uint32(4_000_000_000), "en") == "4,000,000,000"
    assert number(-1234, "id") == "-1.234" and number(-1234, "en") == "-1,234"
    assert number(10**18, "id") == "1.000.000.000.000.000.000"


def test_floats_with_given_decimals():
    assert number(40.123, "id", 1) == "40,1" and number(40.123, "en", 1) == "40.1"
    assert number(1234567.891, "id", 2) == "1.234.567,89" and number(1234567.891, "en", 2) == "1,234,567.89"
    assert number(-0.25, "id", 2) == "-0,25" and number(-1500.5, "id", 1) == "-1.500,5"
    assert number(2.0, "id", 1) == "2,0"  # asked-for decimals are kept, trailing zero included
    assert number(7, "id", 2) == "7,00"  # an int with decimals asked for gets them
    assert number(np.float32(0.5), "id", 1) == "0,5"


def test_rounding():
    assert number(0.96, "id", 1) == "1,0" and number(1999.96, "id", 1) == "2.000,0"
    assert number(999.5, "id", 0) == "1.000" and number(1234.5678, "en", 2) == "1,234.57"
    assert number(-0.04, "id", 1) == "0,0"  # no "-0,0" for a value that rounds to zero
    assert number(-0.001, "en") == "0"


def test_default_decimals_for_floats():
    # whole floats (counts stored as float) read as integers; others get at most two decimals
    assert number(12.0, "id") == "12" and number(1500000.0, "id") == "1.500.000"
    assert number(2.5, "id") == "2,5" and number(2.5, "en") == "2.5"
    assert number(1234.567, "id") == "1.234,57" and number(0.333333, "en") == "0.33"
    assert number(2.999, "id") == "3"


def test_missing_and_odd_values():
    for missing in (None, float("nan"), np.nan, pd.NA, np.float64("nan")):
        assert number(missing, "id") == "-" and number(missing, "en", 1) == "-"
    assert number(float("inf"), "id") == "∞" and number(float("-inf"), "en") == "-∞"
    assert number("10.0.0.1", "id") == "10.0.0.1" and number(True, "id") == "True"


def test_unknown_language_is_a_clear_error():
    with pytest.raises(ParameterError, match="unknown report language 'fr'"):
        number(1, "fr")
    with pytest.raises(ParameterError, match="unknown report language"):
        size(1, "de")


def test_size_in_decimal_units():
    assert size(40_123_456, "id") == "40,1 MB" and size(40_123_456, "en") == "40.1 MB"
    assert size(512, "id") == "512 B" and size(0, "en") == "0 B"
    assert size(999_960, "id") == "1,0 MB"  # not "1.000,0 KB"
    assert size(3.2e12, "id") == "3,2 TB" and size(1234.0, "en", 2) == "1.23 KB"
    assert size(None, "id") == "-" and size(float("nan"), "en") == "-"


def test_identifier_columns():
    assert all(is_identifier(c) for c in ("port", "id.resp_p", "dest_port", "event_id", "status_code", "line"))
    assert not any(is_identifier(c) for c in ("count", "bytes_sent", "orig_bytes", "duration", "packets"))


def _cells(html: str) -> list[str]:
    return re.findall(r"<td>(.*?)</td>", html)


def test_table_numbers_in_report_language():
    df = pd.DataFrame({"host": ["10.0.0.5", "10.0.0.6"], "bytes_sent": [1234567, 999], "port": [8080, 443],
                       "share": [0.5, np.nan], "status": [404, 200]})
    cols = {"host": "host", "bytes_sent": "bytes_sent", "port": "port", "share": "share", "status": "status"}
    html_id = table(df, cols, "id")._repr_html_()
    html_en = table(df, cols, "en")._repr_html_()
    assert _cells(html_id) == ["10.0.0.5", "1.234.567", "8080", "0,5", "404", "10.0.0.6", "999", "443", "-", "200"]
    assert _cells(html_en) == ["10.0.0.5", "1,234,567", "8080", "0.5", "404", "10.0.0.6", "999", "443", "-", "200"]
    assert "<th>Byte dikirim</th>" in html_id and "<th>Bytes sent</th>" in html_en


def test_table_still_escapes_cells():
    df = pd.DataFrame({"url": ["/<script>alert(1)</script>"], "count": [12345]})
    html = table(df, {"url": "url", "count": "count"}, "id")._repr_html_()
    assert "&lt;script&gt;" in html and "<script>" not in html and "<td>12.345</td>" in html


def test_table_without_language_keeps_pandas_style():
    html = Table(pd.DataFrame({"n": [1234567]}))._repr_html_()
    assert "<td>1234567</td>" in html


def _finding() -> Finding:
    t0 = pd.Timestamp("2026-11-24 02:00", tz="UTC")
    ev = pd.DataFrame({"ts": [t0], "id.orig_h": ["10.0.0.200"], "id.resp_p": [8443], "orig_bytes": [61_234_567],
                       "duration": [12.75]})
    return Finding(detector="exfil", title_id="x", title_en="x", severity="high", first_seen=t0, last_seen=t0,
                   explanation_id="x", explanation_en="x", counts={"bytes_out": 61234567.0, "z_score": 12.3456},
                   evidence=ev)


def test_finding_figures_and_evidence_in_report_language():
    f = _finding()
    assert "bytes_out: 61.234.567; z_score: 12,35" in finding_markdown(1, f, "id")
    assert "bytes_out: 61,234,567; z_score: 12.35" in finding_markdown(1, f, "en")
    cells_id, cells_en = _cells(evidence_table(f, lang="id")._repr_html_()), _cells(evidence_table(f, lang="en")._repr_html_())
    assert cells_id == ["10.0.0.200", "8443", "61.234.567", "12,75"]
    assert cells_en == ["10.0.0.200", "8443", "61,234,567", "12.75"]


def test_severity_counts_localized():
    many = [_finding() for _ in range(1200)]
    assert "<td>1.200</td>" in severity_counts(many, "id")._repr_html_()
    assert "<td>1,200</td>" in severity_counts(many, "en")._repr_html_()
