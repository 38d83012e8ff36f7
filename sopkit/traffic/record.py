"""What a traffic-monitoring run keeps for the next one, and how a run compares itself with the past.

Four tables per run and day go into the :class:`~sopkit.history.HistoryStore` under ``traffic``:
``summary`` (one row of totals), ``hosts`` (per local host: bytes uploaded outward, bytes, flows),
``destinations`` (local host → external address pairs with bytes and flows) and ``findings`` (the
findings table without evidence rows). The next run reads the last 7 and 30 days of them to tell
new hosts, new destinations and volume changes, and hands them to the detectors that use history
(large uploads against a host's own past, new external destinations).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence

import pandas as pd

from sopkit.findings import SEVERITIES, findings_frame
from sopkit.history import HistoryStore, new_items, volume_change
from sopkit.traffic.summary import with_direction

KIND = "traffic"


def history_tables(flows: pd.DataFrame, findings: list, local_nets: Sequence[str]) -> dict[str, pd.DataFrame]:
    """The tables a run records (see module docstring), from its flows and findings."""
    f = with_direction(flows, local_nets)
    out = f[f["direction"] == "outbound"]
    hosts = (f[f["orig_local"]].groupby("id.orig_h")
             .agg(flows=("bytes", "size"), bytes=("bytes", "sum")).rename_axis("host"))
    hosts["bytes_out"] = out.groupby("id.orig_h")["orig_bytes"].sum().reindex(hosts.index).fillna(0).astype("int64")
    destinations = (out.groupby(["id.orig_h", "id.resp_h"]).agg(flows=("bytes", "size"), bytes=("bytes", "sum"))
                    .reset_index().rename(columns={"id.orig_h": "host", "id.resp_h": "destination"}))
    ff = findings_frame(findings)
    severity_counts = ff["severity"].value_counts().reindex(SEVERITIES, fill_value=0) if len(ff) else \
        pd.Series(0, index=list(SEVERITIES))
    summary = pd.DataFrame([{
        "flows": len(f), "bytes": int(f["bytes"].sum()), "packets": int(f["packets"].sum()),
        "local_hosts": int(hosts.shape[0]), "external_destinations": int(destinations["destination"].nunique()),
        "first_ns": int(f["ts_ns"].min()) if len(f) else 0, "last_ns": int(f["ts_ns"].max()) if len(f) else 0,
        **{f"findings_{sev}": int(n) for sev, n in severity_counts.items()},
    }])
    stored = ff.copy()
    for col in ("entities", "counts"):
        stored[col] = stored[col].map(lambda v: json.dumps(v, default=str, sort_keys=True))
    stored["severity"] = stored["severity"].astype("string")
    return {"summary": summary, "hosts": hosts.reset_index(), "destinations": destinations, "findings": stored}


def save_run(store: HistoryStore, day: dt.date, run_id: str, tables: dict[str, pd.DataFrame]) -> None:
    """Record this run's tables for ``day`` (a re-run of the same day replaces the earlier one)."""
    for name, frame in tables.items():
        store.record(KIND, name, day, run_id, frame)


def detector_history(store: HistoryStore, day: dt.date, days: int = 30) -> pd.DataFrame | None:
    """Past (host, destination) pairs and daily per-host uploads, as the detectors take them; None if no past."""
    dests = store.load(KIND, "destinations", before=day, days=days)
    hosts = store.load(KIND, "hosts", before=day, days=days)
    if dests.empty and hosts.empty:
        return None
    return pd.concat([dests[["host", "destination", "day"]] if len(dests) else None,
                      hosts[["host", "bytes_out", "day"]] if len(hosts) else None], ignore_index=True)


def compare(store: HistoryStore, day: dt.date, tables: dict[str, pd.DataFrame]) -> dict[str, object]:
    """This run against the last 7 and 30 days: days on record, new hosts, new destinations, volume changes."""
    result: dict[str, object] = {}
    for window in (7, 30):
        past_hosts = store.load(KIND, "hosts", before=day, days=window)
        past_dests = store.load(KIND, "destinations", before=day, days=window)
        result[f"days_{window}"] = int(past_hosts["day"].nunique()) if len(past_hosts) else 0
        result[f"new_hosts_{window}"] = new_items(tables["hosts"], past_hosts, ["host"]) if len(past_hosts) else None
        result[f"new_destinations_{window}"] = (new_items(tables["destinations"], past_dests, ["host", "destination"])
                                                if len(past_dests) else None)
        result[f"volume_{window}"] = (volume_change(tables["hosts"], past_hosts, "host", "bytes")
                                      if len(past_hosts) else None)
    return result


def monitoring_day(flows: pd.DataFrame, zone: str, period_start: str = "") -> dt.date:
    """The office-local day a run reports on: ``period_start`` when it is a date (``dd-mm-yyyy`` or ISO),
    else the local date of the median connection start."""
    from sopkit.timezones import resolve_zone

    text = (period_start or "").strip().split(" ")[0]
    for fmt in ("%d-%m-%Y", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            pass
    if flows.empty:
        return dt.datetime.now(dt.timezone.utc).astimezone(resolve_zone(zone)[1]).date()
    median = pd.Timestamp(int(flows["ts_ns"].median()), unit="ns", tz="UTC")
    return median.tz_convert(resolve_zone(zone)[1]).date()
