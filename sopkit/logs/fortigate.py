"""FortiGate logs (``key=value`` records: types traffic, utm, event) into the event table.

A record is a run of ``key=value`` pairs, values optionally double-quoted (quoted values may hold
spaces and ``\\"``); it may arrive with a syslog ``<PRI>`` or a relay's syslog header in front,
which is skipped up to the first ``date=``. Time is ``date=`` + ``time=`` in the device's zone:
``tz="+0700"`` when the record carries it, else the ``tz=`` argument (recorded as assumed).

Mapping: ``devname`` → host, ``logid`` → event_id, ``srcip/srcport/dstip/dstport``, ``user`` (or
``unauthuser``), ``msg`` (or ``logdesc``) → message, ``url``/``hostname``, ``agent`` → user_agent,
``httpmethod``, ``sentbyte + rcvdbyte`` → bytes. ``action``: traffic records are ``connection``,
utm records ``alert``, event records keep FortiOS's own verb (``login``, ``logout`` …); ``outcome`` is
failure for deny/block/blocked/dropped/failed and success for accept/pass/close/success… Every pair
is also kept as a ``forti.<key>`` column. Parsing is per line with one ``re.findall``: FortiGate
records vary in keys by type, so a per-line dict is the natural shape (no speed target is set here).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from sopkit.logs.schema import LogResult, conform
from sopkit.logs.source import CHUNK_LINES, ReadReport, iter_chunks, localize

PAIR = re.compile(r'([A-Za-z_][\w-]*)=("(?:[^"\\]|\\.)*"|[^\s]*)')
START = re.compile(r'(?:^|[\s>])(date=)')
FAILURE = {"deny", "block", "blocked", "dropped", "drop", "failed", "failure", "reset", "server-rst", "client-rst"}
SUCCESS = {"accept", "pass", "passthrough", "close", "timeout", "allow", "start", "success", "permit"}
COLUMNS = {"devname": "host", "logid": "event_id", "srcip": "src_ip", "srcport": "src_port", "dstip": "dst_ip",
           "dstport": "dst_port", "agent": "user_agent", "httpmethod": "http_method"}
ZONE = re.compile(r"^([+-])(\d\d):?(\d\d)$")


def parse_record(text: str) -> dict[str, str] | None:
    """``key=value`` pairs of one record (quotes removed, ``\\"`` undone), or None if it has no ``date=``."""
    m = START.search(text)
    if m is None:
        return None
    return {k: (v[1:-1].replace('\\"', '"') if len(v) >= 2 and v[0] == '"' and v[-1] == '"' else v)
            for k, v in PAIR.findall(text, m.start(1))}


def _outcome(rec: dict[str, str]) -> str | None:
    for key in ("action", "status", "result"):
        word = rec.get(key, "").lower()
        if word in FAILURE:
            return "failure"
        if word in SUCCESS:
            return "success"
    return None


def _event(rec: dict[str, str]) -> dict[str, object]:
    kind = rec.get("type", "")
    row: dict[str, object] = {col: rec.get(key) for key, col in COLUMNS.items()}
    row["user"] = rec.get("user") or rec.get("unauthuser") or None
    row["message"] = rec.get("msg") or rec.get("logdesc")
    row["program"] = kind or None
    row["action"] = {"traffic": "connection", "utm": "alert"}.get(kind, rec.get("action") or kind or None)
    row["outcome"] = _outcome(rec)
    url = rec.get("url")
    row["url"] = url
    if "sentbyte" in rec or "rcvdbyte" in rec:
        row["bytes"] = sum(int(rec[k]) for k in ("sentbyte", "rcvdbyte") if rec.get(k, "").isdigit())
    for key in ("srcport", "dstport"):
        if row[COLUMNS[key]] is not None and not str(row[COLUMNS[key]]).isdigit():
            row[COLUMNS[key]] = None
    row.update({f"forti.{k}": v for k, v in rec.items()})
    return row


def read_fortigate(path: Path, *, tz: str = "Asia/Jakarta", progress: bool = False,
                   chunk_lines: int = CHUNK_LINES, **_: object) -> LogResult:
    """Read a FortiGate log export or syslog capture (plain or gzip) into the event table."""
    path = Path(path)
    report = ReadReport(str(path))
    rows: list[dict[str, object]] = []
    for chunk in iter_chunks(path, report, chunk_lines, progress):
        for number, text in zip(chunk.numbers.tolist(), chunk.lines, strict=True):
            if not text.strip():
                report.reject(number, "empty line", text)
                continue
            rec = parse_record(text)
            if rec is None or "time" not in rec:
                report.reject(number, "not a FortiGate record (no date=/time= fields)", text)
                continue
            rows.append({"line": number, "raw": text, "_date": rec["date"], "_time": rec["time"],
                         "_tz": rec.get("tz", ""), **_event(rec)})
    assumptions: dict[str, object] = {}
    if not rows:
        return LogResult(conform(pd.DataFrame()), report.rejections(), {}, {str(path): "fortigate"})
    df = pd.DataFrame(rows)
    naive = pd.to_datetime(df["_date"] + " " + df["_time"], format="%Y-%m-%d %H:%M:%S", errors="coerce")
    zone = df["_tz"].str.extract(ZONE)
    has_zone = zone[0].notna().to_numpy()
    offset = (zone[1].astype(float) * 3600 + zone[2].astype(float) * 60) * zone[0].map({"+": 1, "-": -1})
    ns = naive.to_numpy().astype("datetime64[ns]").astype(np.int64)
    utc = np.full(len(df), np.iinfo(np.int64).min, dtype=np.int64)
    good = naive.notna().to_numpy()
    sel = good & has_zone
    utc[sel] = ns[sel] - (offset.to_numpy()[sel] * 1e9).astype(np.int64)
    sel = good & ~has_zone
    if sel.any():
        utc[sel] = localize(ns[sel], tz)
        assumptions["tz"] = tz
    bad = utc == np.iinfo(np.int64).min
    for line, raw in zip(df.loc[bad, "line"], df.loc[bad, "raw"], strict=True):
        report.reject(int(line), "invalid date=/time= values", raw)
    df = df.loc[~bad].drop(columns=["_date", "_time", "_tz"])
    df["ts"] = pd.to_datetime(utc[~bad], unit="ns", utc=True)
    df["source"] = "fortigate"
    df["file"] = str(path)
    report.rejects.sort(key=lambda r: r[0])
    return LogResult(conform(df.reset_index(drop=True)), report.rejections(), assumptions, {str(path): "fortigate"})
