from __future__ import annotations

import datetime as dt
import json

import pandas as pd

from sopkit.findings import Finding
from sopkit.history import HistoryStore
from sopkit.report.findings import evidence_table, finding_markdown, findings_overview, severity_counts
from sopkit.traffic.record import compare, detector_history, history_tables, monitoring_day, save_run

NETS = ["10.20.0.0/16"]
DAY = dt.date(2026, 11, 24)


def flows(day: dt.date, dests):
    t0 = pd.Timestamp(day, tz="Asia/Jakarta").tz_convert("UTC").value + 9 * 3600 * 10**9
    rows = [("10.20.10.5", d, 443, 1000 * (i + 1)) for i, d in enumerate(dests)] + [("198.51.100.9", "10.20.1.80", 80, 50)]
    return pd.DataFrame({"id.orig_h": [r[0] for r in rows], "id.resp_h": [r[1] for r in rows],
                         "id.resp_p": [r[2] for r in rows], "orig_bytes": [r[3] for r in rows],
                         "orig_ip_bytes": [r[3] + 40 for r in rows], "resp_ip_bytes": [100] * len(rows),
                         "orig_pkts": [5] * len(rows), "resp_pkts": [4] * len(rows), "proto": ["tcp"] * len(rows),
                         "ts_ns": [t0 + i * 10**9 for i in range(len(rows))], "duration": [1.0] * len(rows)})


def finding(title="<b>scan</b> from 203.0.113.9", severity="high"):  # one text for both title languages
    ev = pd.DataFrame({"uid": ["C1"], "id.orig_h": ["203.0.113.9"], "ts_ns": [1795500000 * 10**9], "empty": [None]})
    return Finding(detector="scan.vertical", title_id=title, title_en=title, severity=severity,
                   first_seen=pd.Timestamp("2026-11-24 02:00", tz="UTC"), last_seen=pd.Timestamp("2026-11-24 02:05", tz="UTC"),
                   explanation_id="Pemindaian <port>", explanation_en="Scan of <ports>", recommendation_id="Blokir",
                   recommendation_en="Block", entities={"src_ip": ["203.0.113.9"]}, counts={"ports": 1038},
                   evidence=ev, score=0.9)


def test_history_tables_and_comparison(tmp_path):
    store = HistoryStore(tmp_path)
    yesterday = history_tables(flows(DAY - dt.timedelta(days=1), ["203.0.113.1"]), [finding()], NETS)
    assert yesterday["hosts"].set_index("host").loc["10.20.10.5", "bytes_out"] == 1000
    assert yesterday["destinations"][["host", "destination"]].values.tolist() == [["10.20.10.5", "203.0.113.1"]]
    assert yesterday["summary"].loc[0, "findings_high"] == 1 and yesterday["summary"].loc[0, "flows"] == 2
    assert json.loads(yesterday["findings"].loc[0, "counts"]) == {"ports": 1038}
    save_run(store, DAY - dt.timedelta(days=1), "run-a", yesterday)
    today = history_tables(flows(DAY, ["203.0.113.1", "203.0.113.2"]), [], NETS)
    result = compare(store, DAY, today)
    assert result["days_7"] == 1 and result["days_30"] == 1
    assert result["new_destinations_7"]["destination"].tolist() == ["203.0.113.2"]
    assert result["new_hosts_7"].empty
    past = detector_history(store, DAY)
    assert set(past.columns) >= {"host", "destination", "bytes_out", "day"}
    assert detector_history(store, DAY - dt.timedelta(days=1)) is None


def test_monitoring_day():
    f = flows(DAY, ["203.0.113.1"])
    assert monitoring_day(f, "WIB") == DAY
    assert monitoring_day(f, "WIB", "25-11-2026 00:00") == dt.date(2026, 11, 25)
    assert monitoring_day(f, "WIB", "2026-11-23") == dt.date(2026, 11, 23)


def test_findings_presentation_escapes_and_localizes():
    f = finding()
    md = finding_markdown(1, f, "id")
    assert "### 1. [tinggi] &lt;b&gt;scan&lt;/b&gt; from 203.0.113.9" in md and "Pemindaian &lt;port&gt;" in md
    assert "ports: 1.038" in md and "Blokir" in md  # Indonesian thousands separator
    assert "Scan of &lt;ports&gt;" in finding_markdown(1, f, "en") and "ports: 1,038" in finding_markdown(1, f, "en")
    overview = findings_overview([finding(severity="low"), f], "en", "WIB")._repr_html_()
    assert overview.index("high") < overview.index("low") and "&lt;b&gt;scan" in overview
    assert "24-11-2026 09:00:00 WIB" in overview
    counts = severity_counts([f], "id").df
    assert counts.set_index("Tingkat").loc["tinggi", "Jumlah"] == 1
    ev = evidence_table(f, "WIB").df
    assert list(ev.columns) == ["id.orig_h", "ts_ns"] and ev.loc[1, "ts_ns"].endswith("WIB")
