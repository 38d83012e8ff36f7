"""Suricata ``eve.json`` into the normalized event table.

What: :func:`read_eve` reads EVE records (NDJSON as Suricata writes it, or one JSON array /
pretty-printed objects as exports and sample sets have it, see :mod:`sopkit.logs.jsonrecords`) of
every ``event_type``. Addresses and ports map to the documented columns; alerts give ``event_id`` =
``signature_id`` and ``message`` = signature; HTTP, DNS, TLS and flow records fill url/method/status,
the query name, the SNI and byte counts. Every other field is kept as a ``suricata.<path>`` extra
column (``suricata.alert.severity``, ``suricata.alert.category``, ``suricata.http.hostname`` …).

A record that is not an object, or lacks ``event_type`` or a readable ``timestamp``, is a rejection
with its line number. Timestamps without an offset are read in ``tz`` (default UTC; recorded as an
assumption when used).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from sopkit.logs.jsonrecords import iter_json_records, load_head
from sopkit.logs.schema import LogResult, Rejection, conform, empty_events

PREFIX = "suricata."
OFFSET = r"(?:Z|[+-]\d\d:?\d\d)$"  #: a timestamp that says its own offset
#: event_type → normalized action
ACTIONS = {"alert": "alert", "anomaly": "anomaly", "dns": "dns_query", "http": "request", "tls": "tls_handshake",
           "flow": "connection", "netflow": "connection", "fileinfo": "file_transfer", "ssh": "ssh_handshake",
           "smb": "smb", "krb5": "kerberos_request", "drop": "drop", "stats": "stats"}


def sniff(head: bytes) -> bool:
    """True when ``head`` starts with an EVE record (an object with ``event_type`` and ``timestamp``)."""
    rec = load_head(head)
    return isinstance(rec, dict) and "event_type" in rec and "timestamp" in rec


def _flatten(obj: dict[str, Any], prefix: str, out: dict[str, Any]) -> None:
    for key, value in obj.items():
        name = prefix + key
        if isinstance(value, dict):
            _flatten(value, name + ".", out)
        elif isinstance(value, list):
            out[name] = json.dumps(value, ensure_ascii=False)
        elif value is not None:
            out[name] = str(value)


def _int(v: Any) -> int | None:
    try:
        return None if v is None or isinstance(v, bool) else int(v)
    except (TypeError, ValueError):
        return None


def _event(rec: dict[str, Any]) -> dict[str, Any]:
    etype = rec["event_type"]
    sec = rec.get(etype) if isinstance(rec.get(etype), dict) else {}
    row: dict[str, Any] = {
        "source": "suricata", "program": "suricata", "host": rec.get("host"), "action": ACTIONS.get(etype, etype),
        "src_ip": rec.get("src_ip"), "src_port": _int(rec.get("src_port")),
        "dst_ip": rec.get("dest_ip"), "dst_port": _int(rec.get("dest_port")),
    }
    if etype == "alert":
        row["event_id"] = str(sec.get("signature_id")) if sec.get("signature_id") is not None else None
        row["message"] = sec.get("signature")
        row["outcome"] = "failure" if sec.get("action") == "blocked" else None
    elif etype == "http":
        row.update(url=sec.get("url"), http_method=sec.get("http_method"), http_status=_int(sec.get("status")),
                   user_agent=sec.get("http_user_agent"), bytes=_int(sec.get("length")),
                   message=sec.get("hostname"))
    elif etype == "dns":
        row["message"] = sec.get("rrname") or next(
            (q.get("rrname") for q in sec.get("queries") or [] if isinstance(q, dict)), None)
    elif etype == "tls":
        row["message"] = sec.get("sni") or sec.get("subject")
    elif etype in ("flow", "netflow"):
        total = (_int(sec.get("bytes_toserver")) or 0) + (_int(sec.get("bytes_toclient")) or 0)
        row["bytes"] = total if ("bytes_toserver" in sec or "bytes_toclient" in sec) else _int(sec.get("bytes"))
        row["message"] = sec.get("state")
    elif etype == "fileinfo":
        row["message"] = sec.get("filename")
        row["bytes"] = _int(sec.get("size"))
    extras: dict[str, Any] = {}
    _flatten(rec, PREFIX, extras)
    row.update(extras)
    return row


def read_eve(path: str | Path, *, tz: str = "UTC", **_: Any) -> LogResult:
    """Read one Suricata EVE file into a :class:`LogResult` (see the module docstring)."""
    path = Path(path)
    rows: list[dict[str, Any]] = []
    rejections: list[Rejection] = []
    for number, rec, raw, error in iter_json_records(path):
        if error:
            rejections.append(Rejection(str(path), number, error, raw[:2000]))
            continue
        if not isinstance(rec, dict) or "event_type" not in rec:
            rejections.append(Rejection(str(path), number, "not an EVE record (no event_type)", raw[:2000]))
            continue
        row = _event(rec)
        row.update(file=str(path), line=number, raw=raw, ts=rec.get("timestamp"))
        rows.append(row)
    if not rows:
        return LogResult(empty_events(), rejections, {}, {str(path): "suricata"})
    df = pd.DataFrame.from_records(rows)
    text = df["ts"].astype("string")
    naive = ~text.str.contains(OFFSET, regex=True).fillna(True)
    ts = pd.to_datetime(text, errors="coerce", utc=True, format="ISO8601")
    if naive.any() and tz != "UTC":
        local = pd.to_datetime(text[naive], errors="coerce", format="ISO8601")
        ts[naive] = local.dt.tz_localize(tz).dt.tz_convert("UTC")
    bad = ts.isna()
    for i in df.index[bad]:
        rejections.append(Rejection(str(path), int(df.at[i, "line"]),
                                    f"unreadable timestamp {df.at[i, 'ts']!r}", str(df.at[i, "raw"])[:2000]))
    df = df.assign(ts=ts)[~bad]
    for col in df.columns:
        if col.startswith(PREFIX):
            df[col] = df[col].astype("string")
    assumptions: dict[str, object] = {"tz": tz} if naive.any() else {}
    return LogResult(conform(df.reset_index(drop=True)), rejections, assumptions, {str(path): "suricata"})
