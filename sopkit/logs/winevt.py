"""Windows event logs (``.evtx`` and JSON exports) into the normalized event table.

What: :func:`read_winevt` reads a binary ``.evtx`` file with the ``evtx`` package (a Rust parser,
``PyEvtxParser.records_json()``) or a JSON export in any of the three shapes offices meet:

* evtx_dump / ``evtx`` JSON: ``{"Event": {"System": …, "EventData": …}}`` (or ``UserData``);
* Winlogbeat / Elastic: ``winlog.event_id``, ``winlog.channel``, ``winlog.event_data`` …;
* flat NXLog style: ``EventID``, ``Channel``, ``Hostname``, ``SourceName`` and the event data fields
  at top level;

as NDJSON (one record a line), a JSON array, or one pretty-printed record. Every record is flattened
into its Windows field names (``EventID``, ``Channel``, ``Computer``, ``Provider_Name``,
``EventRecordID`` and every EventData/UserData field), kept as ``win.<Name>`` extra columns so Sigma
rules find the fields under the names they use, and mapped onto the documented columns (time, host,
user, addresses, process, action/outcome from :data:`ACTIONS`).

Why our own flattening: the three export shapes disagree on where the same field lives; the mapping
tables below say it once. A record that cannot be read (bad JSON, no EventID, bad time) becomes a
:class:`~sopkit.logs.schema.Rejection` naming its record number.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from sopkit.errors import LogFormatError
from sopkit.logs.jsonrecords import iter_json_records, load_head
from sopkit.logs.schema import LogResult, Rejection, conform, empty_events

EVTX_MAGIC = b"ElfFile\x00"
PREFIX = "win."
SECURITY = "Microsoft-Windows-Security-Auditing"
SYSMON = "Microsoft-Windows-Sysmon"

#: (provider, EventID) → (action, outcome). Outcome None: decided by the Status field or unknown.
ACTIONS: dict[tuple[str, int], tuple[str, str | None]] = {
    (SECURITY, 4624): ("login", "success"),
    (SECURITY, 4625): ("login", "failure"),
    (SECURITY, 4634): ("logout", "success"),
    (SECURITY, 4647): ("logout", "success"),
    (SECURITY, 4648): ("explicit_credential_login", "success"),
    (SECURITY, 4672): ("privileged_login", "success"),
    (SECURITY, 4688): ("process_start", "success"),
    (SECURITY, 4689): ("process_end", "success"),
    (SECURITY, 4698): ("task_create", "success"),
    (SECURITY, 4699): ("task_delete", "success"),
    (SECURITY, 4700): ("task_enable", "success"),
    (SECURITY, 4701): ("task_disable", "success"),
    (SECURITY, 4702): ("task_update", "success"),
    (SECURITY, 4719): ("audit_policy_change", "success"),
    (SECURITY, 4720): ("user_add", "success"),
    (SECURITY, 4722): ("user_enable", "success"),
    (SECURITY, 4723): ("password_change", None),
    (SECURITY, 4724): ("password_reset", None),
    (SECURITY, 4725): ("user_disable", "success"),
    (SECURITY, 4726): ("user_delete", "success"),
    (SECURITY, 4728): ("group_add", "success"),
    (SECURITY, 4732): ("group_add", "success"),
    (SECURITY, 4756): ("group_add", "success"),
    (SECURITY, 4729): ("group_remove", "success"),
    (SECURITY, 4733): ("group_remove", "success"),
    (SECURITY, 4757): ("group_remove", "success"),
    (SECURITY, 4740): ("account_lockout", "success"),
    (SECURITY, 4767): ("account_unlock", "success"),
    (SECURITY, 4768): ("kerberos_tgt", None),
    (SECURITY, 4769): ("kerberos_service_ticket", None),
    (SECURITY, 4771): ("kerberos_preauth", "failure"),
    (SECURITY, 4776): ("credential_validation", None),
    (SECURITY, 5140): ("share_access", "success"),
    (SECURITY, 5156): ("connection", "success"),
    (SECURITY, 5157): ("connection", "failure"),
    ("Microsoft-Windows-Eventlog", 1102): ("log_clear", "success"),
    ("Microsoft-Windows-Eventlog", 104): ("log_clear", "success"),
    ("Service Control Manager", 7045): ("service_install", "success"),
    (SYSMON, 1): ("process_start", "success"),
    (SYSMON, 3): ("connection", "success"),
    (SYSMON, 5): ("process_end", "success"),
    (SYSMON, 11): ("file_create", "success"),
    (SYSMON, 12): ("registry_change", "success"),
    (SYSMON, 13): ("registry_change", "success"),
    (SYSMON, 14): ("registry_change", "success"),
    (SYSMON, 22): ("dns_query", "success"),
    (SYSMON, 23): ("file_delete", "success"),
}
STATUS_EVENTS = {4768, 4769, 4776, 4723, 4724}  #: outcome from Status/Result code (0x0 = success)

#: normalized column → Windows field names to take it from, first non-empty wins
COLUMN_FIELDS: dict[str, tuple[str, ...]] = {
    "user": ("TargetUserName", "User", "SubjectUserName", "AccountName", "UserName"),
    "src_ip": ("IpAddress", "SourceIp", "SourceAddress", "ClientAddress", "SourceNetworkAddress"),
    "src_port": ("IpPort", "SourcePort"),
    "dst_ip": ("DestinationIp", "DestAddress", "DestinationAddress"),
    "dst_port": ("DestinationPort", "DestPort"),
    "process": ("NewProcessName", "Image", "Application", "ProcessName", "ImagePath"),
}
#: group membership events are about the member, not the group (TargetUserName is the group there)
MEMBER_EVENTS = {4728, 4729, 4732, 4733, 4756, 4757}
NOT_AN_ADDRESS = {"-", "", "::1", "127.0.0.1", "0.0.0.0", "::"}

#: NXLog / flat export names → the names evtx uses
FLAT_RENAMES = {
    "Hostname": "Computer", "SourceName": "Provider_Name", "ProviderName": "Provider_Name",
    "ProviderGuid": "Provider_Guid", "RecordNumber": "EventRecordID", "RecordId": "EventRecordID",
    "ThreadID": "Execution_ThreadID",
}
FLAT_TIME_KEYS = ("TimeCreated", "EventTime", "@timestamp", "timestamp")
#: Winlogbeat ``winlog`` keys → evtx names
WINLOG_RENAMES = {
    "event_id": "EventID", "channel": "Channel", "provider_name": "Provider_Name",
    "provider_guid": "Provider_Guid", "computer_name": "Computer", "record_id": "EventRecordID",
    "task": "Task", "opcode": "Opcode", "version": "Version", "keywords": "Keywords",
}


def sniff(head: bytes) -> bool:
    """True when ``head`` (first bytes of a file) is an .evtx file or a Windows-event JSON export."""
    if head.startswith(EVTX_MAGIC):
        return True
    first = load_head(head)
    return first is not None and _shape(first) is not None


def _shape(rec: Any) -> str | None:
    if not isinstance(rec, dict):
        return None
    if isinstance(rec.get("Event"), dict) and "System" in rec["Event"]:
        return "evtx_json"
    if isinstance(rec.get("winlog"), dict) or "winlog.event_id" in rec:
        return "winlogbeat"
    if "EventID" in rec and any(k in rec for k in ("Channel", "SourceName", "ProviderName", "Hostname")):
        return "flat"
    return None


def read_winevt(path: str | Path, *, tz: str = "UTC", **_: Any) -> LogResult:
    """Read one .evtx file or Windows-event JSON export into a :class:`LogResult`.

    ``tz`` is applied only to times written without an offset (NXLog's ``EventTime``); it is
    recorded in ``assumptions`` when used. Raises :class:`LogFormatError` for a file that is
    neither .evtx nor Windows-event JSON.
    """
    path = Path(path)
    rows: list[dict[str, Any]] = []
    rejections: list[Rejection] = []
    naive_times = False
    try:
        with open(path, "rb") as fh:
            magic = fh.read(8)
    except OSError as exc:
        raise LogFormatError(f"{path}: cannot open: {exc}") from exc
    fmt = "evtx" if magic == EVTX_MAGIC else "winevt-json"
    records = _evtx_records(path, rejections) if fmt == "evtx" else _json_records(path, rejections)
    for number, rec, raw in records:
        shape = _shape(rec)
        if shape is None:
            rejections.append(Rejection(str(path), number, "not a Windows event record (no Event/System, "
                                        "winlog or EventID+Channel)", raw[:2000]))
            continue
        fields, when = FLATTEN[shape](rec)
        try:
            row, naive = _normalize(fields, when, tz)
        except ValueError as exc:
            rejections.append(Rejection(str(path), number, str(exc), raw[:2000]))
            continue
        naive_times |= naive
        row.update(file=str(path), line=number, raw=raw)
        rows.append(row)
    if fmt == "winevt-json" and not rows and not rejections:
        pass  # an empty export is legitimately empty
    events = _frame(rows)
    assumptions: dict[str, object] = {"tz": tz} if naive_times else {}
    return LogResult(events=events, rejections=rejections, assumptions=assumptions, formats={str(path): fmt})


def _evtx_records(path: Path, rejections: list[Rejection]) -> Iterator[tuple[int, Any, str]]:
    from evtx import PyEvtxParser

    try:
        parser = PyEvtxParser(str(path))
    except (OSError, RuntimeError) as exc:
        raise LogFormatError(f"{path}: not a readable .evtx file: {exc}") from exc
    it = iter(parser.records_json())
    index = 0
    while True:
        index += 1
        try:
            rec = next(it)
        except StopIteration:
            return
        except (RuntimeError, OSError) as exc:  # the parser reports a damaged record and goes on
            rejections.append(Rejection(str(path), index, f"unreadable evtx record: {exc}", ""))
            continue
        number = int(rec.get("event_record_id") or index)
        try:
            yield number, json.loads(rec["data"]), rec["data"]
        except (ValueError, KeyError) as exc:
            rejections.append(Rejection(str(path), number, f"evtx record is not JSON: {exc}", str(rec)[:2000]))


def _json_records(path: Path, rejections: list[Rejection]) -> Iterator[tuple[int, Any, str]]:
    for number, rec, raw, error in iter_json_records(path):
        if error:
            rejections.append(Rejection(str(path), number, error, raw[:2000]))
        else:
            yield number, rec, raw


def _attr(node: Any, name: str) -> Any:
    if isinstance(node, dict):
        return (node.get("#attributes") or {}).get(name)
    return None


def _scalar(v: Any) -> Any:
    if isinstance(v, dict) and "#text" in v:
        v = v["#text"]
    if isinstance(v, (list, dict)):
        return json.dumps(v, ensure_ascii=False)
    return v


def _data_fields(node: Any, out: dict[str, Any], prefix: str = "") -> None:
    """Flatten EventData/UserData children into ``out`` under their own names."""
    if not isinstance(node, dict):
        if node not in (None, ""):
            out[prefix or "Data"] = _scalar(node)
        return
    for key, value in node.items():
        if key == "#attributes":
            continue
        name = f"{prefix}_{key}" if prefix else key
        if isinstance(value, dict) and "#text" not in value:
            _data_fields(value, out, name if prefix else "")
        elif key == "Data" and isinstance(value, list):  # unnamed <Data> elements
            for i, item in enumerate(value):
                out[name if i == 0 else f"{name}{i}"] = _scalar(item)
        else:
            out[name] = _scalar(value)


def _flatten_evtx(rec: dict) -> tuple[dict[str, Any], Any]:
    event = rec["Event"]
    system = event.get("System") or {}
    f: dict[str, Any] = {}
    for key, value in system.items():
        if key == "Provider":
            f["Provider_Name"] = _attr(value, "Name") or _attr(value, "EventSourceName")
            f["Provider_Guid"] = _attr(value, "Guid")
        elif key == "TimeCreated":
            continue
        elif key in ("Execution", "Security", "Correlation"):
            for attr, v in ((value or {}).get("#attributes") or {}).items() if isinstance(value, dict) else ():
                f[f"{key}_{attr}"] = v
        else:
            f[key] = _scalar(value)
    for part in ("EventData", "UserData"):
        data = event.get(part)
        if isinstance(data, dict) and part == "UserData" and len([k for k in data if k != "#attributes"]) == 1:
            data = next(v for k, v in data.items() if k != "#attributes")  # the one child element
        _data_fields(data, f)
    if "RenderingInfo" in event and isinstance(event["RenderingInfo"], dict):
        f.setdefault("Message", event["RenderingInfo"].get("Message"))
    return f, _attr(system.get("TimeCreated"), "SystemTime")


def _flatten_winlogbeat(rec: dict) -> tuple[dict[str, Any], Any]:
    winlog = rec.get("winlog")
    if not isinstance(winlog, dict):  # dotted keys
        winlog = {k[len("winlog."):]: v for k, v in rec.items() if k.startswith("winlog.")}
    f: dict[str, Any] = {}
    for key, name in WINLOG_RENAMES.items():
        if winlog.get(key) is not None:
            f[name] = _scalar(winlog[key])
    proc = winlog.get("process") or {}
    if isinstance(proc, dict) and proc.get("pid") is not None:
        f["Execution_ProcessID"] = proc["pid"]
    for part in ("event_data", "user_data"):
        _data_fields(winlog.get(part) or rec.get(f"winlog.{part}"), f)
    if rec.get("message"):
        f.setdefault("Message", rec["message"])
    return f, rec.get("@timestamp") or (rec.get("event") or {}).get("created")


def _flatten_flat(rec: dict) -> tuple[dict[str, Any], Any]:
    f: dict[str, Any] = {}
    when = None
    for key, value in rec.items():
        if key in FLAT_TIME_KEYS and when is None:
            when = value
            continue
        f[FLAT_RENAMES.get(key, key)] = _scalar(value)
    return f, when


FLATTEN = {"evtx_json": _flatten_evtx, "winlogbeat": _flatten_winlogbeat, "flat": _flatten_flat}


def _first(f: dict[str, Any], names: tuple[str, ...], skip: set[str] = frozenset({"-", ""})) -> Any:
    for name in names:
        v = f.get(name)
        if v is not None and str(v) not in skip:
            return v
    return None


def _int(v: Any) -> int | None:
    try:
        return int(str(v), 0) if isinstance(v, str) and v.lower().startswith("0x") else int(v)
    except (TypeError, ValueError):
        return None


def _normalize(f: dict[str, Any], when: Any, tz: str) -> tuple[dict[str, Any], bool]:
    """Documented columns plus ``win.*`` extras for one flattened record."""
    eid = _int(f.get("EventID"))
    if eid is None:
        raise ValueError(f"no usable EventID ({f.get('EventID')!r})")
    if when is None:
        raise ValueError("no event time (TimeCreated/SystemTime/@timestamp)")
    ts = pd.Timestamp(str(when).replace(" UTC", "")) if not isinstance(when, (int, float)) else None
    if ts is None or pd.isna(ts):
        raise ValueError(f"unreadable event time {when!r}")
    naive = ts.tzinfo is None
    ts = ts.tz_localize(tz) if naive else ts
    provider = str(f.get("Provider_Name") or "")
    action, outcome = ACTIONS.get((provider, eid), (None, None))
    if action and outcome is None and eid in STATUS_EVENTS:
        status = _first(f, ("Status", "ResultCode", "Result"))
        outcome = None if status is None else ("success" if _int(status) == 0 else "failure")
    row: dict[str, Any] = {
        "ts": ts.tz_convert("UTC"), "source": "winevt", "host": f.get("Computer"), "program": provider or None,
        "pid": _int(f.get("Execution_ProcessID")), "event_id": str(eid), "action": action, "outcome": outcome,
        "message": f.get("Message"),
    }
    for column, names in COLUMN_FIELDS.items():
        v = _first(f, names, NOT_AN_ADDRESS if column == "src_ip" else {"-", ""})
        row[column] = _int(v) if column.endswith("port") else v
    if eid in MEMBER_EVENTS:
        row["user"] = _first(f, ("MemberName", "MemberSid")) or row["user"]
    for key, value in f.items():
        if value is not None:
            row[PREFIX + key] = value if isinstance(value, str) else str(value)
    return row, naive


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    if not rows:
        return empty_events()
    df = pd.DataFrame.from_records(rows)
    for col in df.columns:
        if col.startswith(PREFIX):
            df[col] = df[col].astype("string")
    return conform(df)
