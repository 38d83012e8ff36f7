"""Silent log sources: missing data is itself a finding (SOP *Monitoring Sistem Elektronik*, log analysis).

A monitoring SOP must notice when a source stops talking — logs lost on the way, a service down, or
logging switched off by an attacker (ATT&CK T1562.002). Three cases, per file and host:

* a gap longer than ``silent_gap_hours`` inside the period (low);
* the last event more than ``silent_end_hours`` before the end of the period (medium);
* a file that gave no event at all — empty, or every line rejected (medium).

:func:`sopkit.detect.logs.detect_log_all` runs them with the other log detectors.
"""

from __future__ import annotations

import pandas as pd

from sopkit.detect.common import strength
from sopkit.detect.logs import _col, _target
from sopkit.detect.logthresholds import LogThresholds
from sopkit.findings import Finding
from sopkit.logs.schema import LogResult
from sopkit.report.i18n import number

DETECTOR = "logs.silent_source"
ATTACK = "T1562.002"
_REC = ("Periksa pengiriman log dan layanan pada host ini.", "Check log shipping and the services on this host.")


def detect_silent_sources(events: pd.DataFrame, th: LogThresholds, *, start: pd.Timestamp | None = None,
                          end: pd.Timestamp | None = None) -> list[Finding]:
    """Files/hosts that went quiet for hours inside the period, or stopped logging before its end.

    ``start``/``end`` bound the period (default: the first and last event of the table).
    """
    if events.empty:
        return []
    start = events["ts"].min() if start is None else pd.Timestamp(start)
    end = events["ts"].max() if end is None else pd.Timestamp(end)
    ev = events.assign(target=_target(events), file=_col(events, "file").fillna("?"))
    found: list[Finding] = []
    for (file, host), rows in ev.groupby(["file", "target"]):
        ts = pd.concat([pd.Series([start]), rows["ts"].sort_values(), pd.Series([end])]).reset_index(drop=True)
        gaps = ts.diff().dt.total_seconds() / 3600
        last = len(ts) - 1  # the gap up to the end of the period is judged below, against silent_end_hours
        for i in gaps.index[(gaps > th.silent_gap_hours) & (gaps.index != last)]:
            hours = float(gaps[i])
            found.append(Finding(
                detector=DETECTOR, severity="low", first_seen=ts[i - 1], last_seen=ts[i], attack=ATTACK,
                title_id=f"Tidak ada peristiwa dari {host} ({file}) selama {number(hours, decimals=1)} jam",
                title_en=f"No events from {host} ({file}) for {hours:.1f} h",
                score=strength(hours, th.silent_gap_hours), entities={"host": [host], "file": [file]},
                counts={"hours": round(hours, 2), "events": len(rows)},
                explanation_id=(f"{host} ({file}) tidak mencatat peristiwa selama {number(hours, decimals=1)} "
                                f"jam: log hilang, "
                                "layanan mati, atau pencatatan dimatikan penyerang."),
                explanation_en=(f"{host} ({file}) logged nothing for {hours:.1f} h: missing logs, a stopped "
                                "service, or logging disabled by an attacker."),
                recommendation_id=_REC[0], recommendation_en=_REC[1]))
        hours = (end - rows["ts"].max()).total_seconds() / 3600
        if hours > th.silent_end_hours:
            found.append(Finding(
                detector=DETECTOR, severity="medium", first_seen=rows["ts"].max(), last_seen=end, attack=ATTACK,
                title_id=f"{host} ({file}) tidak mencatat apa pun pada {number(hours, decimals=1)} jam terakhir "
                         f"periode",
                title_en=f"{host} ({file}) silent for the last {hours:.1f} h",
                score=strength(hours, th.silent_end_hours), entities={"host": [host], "file": [file]},
                counts={"hours": round(hours, 2), "events": len(rows)},
                explanation_id=f"Peristiwa terakhir dari {host} ({file}) {number(hours, decimals=1)} jam "
                               f"sebelum akhir periode.",
                explanation_en=f"The last event from {host} ({file}) is {hours:.1f} h before the end of the period.",
                recommendation_id=_REC[0], recommendation_en=_REC[1]))
    return found


def detect_files_without_events(result: LogResult, end: pd.Timestamp | None = None) -> list[Finding]:
    """Input files that gave no event at all (empty, or every line rejected), dated at the period's end."""
    ev = result.events
    empty = set(result.formats) - set(ev["file"].dropna().astype(str)) if "file" in ev else set()
    when = end if end is not None else (ev["ts"].max() if len(ev) else pd.Timestamp.now(tz="UTC"))
    return [Finding(
        detector=DETECTOR, severity="medium", first_seen=when, last_seen=when, score=1.0, attack=ATTACK,
        title_id=f"Tidak ada peristiwa yang terbaca dari {file}", title_en=f"No events read from {file}",
        entities={"file": [file]}, counts={"events": 0},
        explanation_id=f"Berkas {file} tidak menghasilkan satu peristiwa pun (kosong atau semua baris ditolak).",
        explanation_en=f"File {file} gave no events at all (empty, or every line was rejected).",
        recommendation_id="Periksa berkas dan pengiriman log-nya.",
        recommendation_en="Check the file and its log shipping.") for file in sorted(empty)]
