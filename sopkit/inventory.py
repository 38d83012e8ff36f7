"""The data-sources section of every report: what was analysed, how much of it, and its fingerprint.

An auditor must be able to tell which files a report was made from (SHA-256), which time span they
cover, and how much of them could not be read. Captures are counted with the capture readers; web
access logs with the access-log reader; anything else is listed with its hash only.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from sopkit.params import sha256_file

SOURCE_COLUMNS = ["file", "kind", "size_bytes", "sha256", "records", "first_utc", "last_utc", "rejected", "notes"]


def _utc(ns: int | None) -> pd.Timestamp | None:
    return pd.Timestamp(ns, unit="ns", tz="UTC") if ns is not None else None


def describe_capture(path: Path) -> dict:
    """Counts, time span and damage of one capture file."""
    from sopkit.capture.readers import open_capture

    first = last = None
    with open_capture(path) as reader:
        for frame in reader:
            if first is None or frame.ts_ns < first:
                first = frame.ts_ns
            if last is None or frame.ts_ns > last:
                last = frame.ts_ns
        stats = reader.stats
    notes = "; ".join(stats.warnings[:3])
    return {"kind": stats.format, "records": stats.records, "first_utc": _utc(first), "last_utc": _utc(last),
            "rejected": len(stats.warnings) + sum(stats.skipped.values()), "notes": notes}


def describe_access_log(path: Path) -> dict:
    """Counts, time span and rejected lines of one web access log."""
    from sopkit.logs.access import read_access_log

    df, report = read_access_log(path)
    notes = f"{report.invalid_utf8} lines with invalid UTF-8 kept escaped" if report.invalid_utf8 else ""
    return {"kind": "access log", "records": len(df),
            "first_utc": df["ts"].min() if len(df) else None, "last_utc": df["ts"].max() if len(df) else None,
            "rejected": len(report.rejects), "notes": notes}


def describe_sources(captures: Iterable[Path] = (), access_logs: Iterable[Path] = (),
                     others: Iterable[Path] = ()) -> pd.DataFrame:
    """One row per input file: kind, size, SHA-256, record count, time span (UTC) and rejections."""
    rows = []
    for describe, paths in ((describe_capture, captures), (describe_access_log, access_logs), (None, others)):
        for path in map(Path, paths):
            row = {"file": path.name, "size_bytes": path.stat().st_size, "sha256": sha256_file(path)}
            row.update(describe(path) if describe else {"kind": "other", "records": None})
            rows.append(row)
    return pd.DataFrame(rows, columns=SOURCE_COLUMNS)


def packets_per_interval(captures: Iterable[Path], freq: str = "10min") -> pd.Series:
    """Packet counts per ``freq`` interval over the merged captures, indexed by UTC interval start."""
    from sopkit.capture.readers import iter_frames

    stamps = [frame.ts_ns for frame in iter_frames(list(map(Path, captures)))]
    if not stamps:
        return pd.Series(dtype="int64", name="packets")
    index = pd.to_datetime(pd.Series(stamps, dtype="int64"), unit="ns", utc=True)
    return index.dt.floor(freq).value_counts().sort_index().rename("packets")

