"""Zeek logs (TSV and JSON) into the normalized event table.

What: :func:`read_zeek` reads Zeek's ASCII logs (``#separator``/``#fields``/``#types`` header, ``-``
unset, ``(empty)`` empty set, ``\\xNN`` escapes, a header written as ``#separator \\x09`` with a space
or a tab, header-only files, several headers in one file) and its JSON logs (NDJSON), with either
``id.orig_h`` or ``id_orig_h`` naming and the ``@stream``/``@system`` envelope of the
Security-Datasets exports. The log type (``conn``, ``dns``, ``http``, ``ssl``, ``kerberos``,
``smb_files``, ``weird`` …) comes from ``#path``, ``_path``, ``@stream`` or else the file name. The
documented columns are filled per log type (:data:`ACTIONS`, :func:`_columns`); every Zeek field is
kept as ``zeek.<field>`` (dotted names: ``zeek.id.orig_h``) with ``zeek.path`` naming the log type.

Why our own TSV reader rather than :func:`sopkit.capture.zeek.read_zeek_log`: that one returns a
typed table for flow scoring and raises on a bad line; here a bad line must become a counted
rejection and the header may change mid-file.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd

from sopkit.errors import LogFormatError
from sopkit.logs.jsonrecords import iter_json_records, load_head
from sopkit.logs.schema import LogResult, Rejection, conform, empty_events
from sopkit.logs.source import ReadReport, iter_lines

PREFIX = "zeek."
LOG_TYPES = ("conn", "dns", "http", "ssl", "x509", "kerberos", "smb_files", "smb_mapping", "dce_rpc", "ntlm",
             "rdp", "files", "weird", "notice", "ssh", "ftp", "smtp", "dhcp", "snmp", "sip", "tunnel", "software",
             "known_hosts", "known_services", "pe", "radius", "mysql", "irc", "modbus", "dnp3", "syslog")
ACTIONS = {"conn": "connection", "dns": "dns_query", "http": "request", "ssl": "tls_handshake",
           "kerberos": "kerberos_request", "smb_files": "file_access", "smb_mapping": "share_access",
           "files": "file_transfer", "weird": "weird", "notice": "notice", "ssh": "ssh_handshake",
           "ntlm": "ntlm_auth", "rdp": "rdp_connection", "dce_rpc": "rpc_call", "x509": "certificate"}
#: log type → field holding the human-readable summary
MESSAGE_FIELD = {"dns": "query", "ssl": "server_name", "weird": "name", "notice": "msg", "kerberos": "service",
                 "smb_files": "name", "smb_mapping": "path", "http": "host", "files": "filename",
                 "conn": "conn_state", "ntlm": "username", "dce_rpc": "operation", "x509": "certificate.subject"}
USER_FIELD = ("client", "username", "user", "cookie")
ID_RENAMES = {"id_orig_h": "id.orig_h", "id_orig_p": "id.orig_p", "id_resp_h": "id.resp_h", "id_resp_p": "id.resp_p"}
_EPOCH = re.compile(r"^(\d+)(?:\.(\d*))?$")
_ESC = re.compile(r"\\x([0-9a-fA-F]{2})")


def _unescape(s: str) -> str:
    return _ESC.sub(lambda m: chr(int(m.group(1), 16)), s)


def sniff(head: bytes) -> bool:
    """True for a Zeek TSV log (``#separator`` first) or a Zeek JSON record (``uid``/``id.orig_h``/``@stream``)."""
    if head.lstrip().startswith(b"#separator"):
        return True
    rec = load_head(head)
    return isinstance(rec, dict) and "ts" in rec and (
        "@stream" in rec or "id.orig_h" in rec or "id_orig_h" in rec or ("uid" in rec and "_path" in rec))


def _type_from_name(path: Path) -> str | None:
    stem = path.name.lower().split(".")[0]
    found = [t for t in LOG_TYPES if stem == t or stem.endswith("_" + t) or stem.startswith(t + "_")]
    return max(found, key=len) if found else None


def read_zeek(path: str | Path, **_: Any) -> LogResult:
    """Read one Zeek log (TSV or JSON, gzip or plain) into a :class:`LogResult`."""
    path = Path(path)
    from sopkit.logs.source import open_binary

    with open_binary(path) as fh:
        head = fh.read(65536)
    if head.lstrip().startswith(b"#"):
        rows, rejections, fmt = *_read_tsv(path), "zeek-tsv"
    elif load_head(head) is not None or not head.strip():
        rows, rejections, fmt = *_read_json(path), "zeek-json"
    else:
        raise LogFormatError(f"{path}: not a Zeek log (neither a #separator header nor JSON records)")
    if not rows:
        return LogResult(empty_events(), rejections, {}, {str(path): fmt})
    df = pd.DataFrame.from_records(rows).assign(file=str(path))
    ts = df["ts"]
    numeric = pd.Series([_epoch_ns(v) for v in ts], index=df.index, dtype="Int64")
    parsed = pd.to_datetime(numeric, unit="ns", utc=True)
    text = numeric.isna() & ts.notna()
    if text.any():
        parsed = parsed.where(~text, pd.to_datetime(ts.where(text), utc=True, errors="coerce", format="ISO8601"))
    bad = parsed.isna()
    for i in df.index[bad]:
        rejections.append(Rejection(str(path), int(df.at[i, "line"]), f"unreadable ts {df.at[i, 'ts']!r}",
                                    str(df.at[i, "raw"])[:2000]))
    df = df.assign(ts=parsed)[~bad]
    for col in df.columns:
        if col.startswith(PREFIX):
            df[col] = df[col].astype("string")
    return LogResult(conform(df.reset_index(drop=True)), rejections, {}, {str(path): fmt})


def _epoch_ns(v: Any) -> int | None:
    """Epoch seconds (``1379288667.706265``) as exact nanoseconds (no float rounding), else None."""
    if isinstance(v, bool) or v is None:
        return None
    m = _EPOCH.match(repr(v) if isinstance(v, float) else str(v))
    if not m:
        return None
    return int(m.group(1)) * 1_000_000_000 + int((m.group(2) or "").ljust(9, "0")[:9])


def _read_tsv(path: Path) -> tuple[list[dict[str, Any]], list[Rejection]]:
    report = ReadReport(str(path))
    rows: list[dict[str, Any]] = []
    sep, fields, unset, empty = "\t", None, "-", "(empty)"
    log_type = _type_from_name(path)
    for number, line in iter_lines(path, report):
        if line.startswith("#"):
            key, _, value = line[1:].partition(sep if not line.startswith("#separator") else " ")
            if line.startswith("#separator"):
                sep = _unescape(line[len("#separator"):].strip()) or "\t"
            elif key == "fields":
                fields = value.split(sep)
            elif key == "unset_field":
                unset = value
            elif key == "empty_field":
                empty = value
            elif key == "path":
                log_type = value
            continue
        if not line.strip():
            continue
        if fields is None:
            report.reject(number, "data line before any #fields header", line)
            continue
        values = line.split(sep)
        if len(values) != len(fields):
            report.reject(number, f"{len(values)} values for {len(fields)} #fields", line)
            continue
        rec = {f: (None if v == unset else "" if v == empty else _unescape(v)) for f, v in zip(fields, values, strict=True)}
        rows.append(_row(rec, log_type, None, number, line))
    rejections = [Rejection(str(path), n, reason, raw) for n, reason, raw in report.rejects]
    return rows, rejections


def _read_json(path: Path) -> tuple[list[dict[str, Any]], list[Rejection]]:
    rows: list[dict[str, Any]] = []
    rejections: list[Rejection] = []
    by_name = _type_from_name(path)
    for number, rec, raw, error in iter_json_records(path):
        if error:
            rejections.append(Rejection(str(path), number, error, raw[:2000]))
            continue
        if not isinstance(rec, dict) or "ts" not in rec:
            rejections.append(Rejection(str(path), number, "not a Zeek record (no ts)", raw[:2000]))
            continue
        rec = {ID_RENAMES.get(k, k): v for k, v in rec.items()}
        log_type = rec.pop("_path", None) or rec.get("@stream") or by_name
        rows.append(_row(rec, log_type, rec.get("@system"), number, raw))
    return rows, rejections


def _int(v: Any) -> int | None:
    try:
        return None if v in (None, "") or isinstance(v, bool) else int(float(v))
    except (TypeError, ValueError):
        return None


def _columns(rec: dict[str, Any], log_type: str | None) -> dict[str, Any]:
    """Documented columns from one Zeek record of ``log_type``."""
    out: dict[str, Any] = {
        "src_ip": rec.get("id.orig_h"), "src_port": _int(rec.get("id.orig_p")),
        "dst_ip": rec.get("id.resp_h"), "dst_port": _int(rec.get("id.resp_p")),
        "action": ACTIONS.get(log_type or "", log_type), "message": rec.get(MESSAGE_FIELD.get(log_type or "", "")),
        "user": next((rec[f] for f in USER_FIELD if rec.get(f) not in (None, "", "-")), None),
    }
    if log_type == "http":
        out.update(url=rec.get("uri"), http_method=rec.get("method"), http_status=_int(rec.get("status_code")),
                   user_agent=rec.get("user_agent"), bytes=_int(rec.get("response_body_len")))
    elif log_type == "conn":
        ob, rb = _int(rec.get("orig_bytes")), _int(rec.get("resp_bytes"))
        out["bytes"] = None if ob is None and rb is None else (ob or 0) + (rb or 0)
    elif log_type == "kerberos" and rec.get("success") is not None:
        out["outcome"] = "success" if str(rec["success"]).lower() in ("t", "true") else "failure"
    elif log_type == "weird":
        out["event_id"] = rec.get("name")
    elif log_type == "notice":
        out["event_id"] = rec.get("note")
    return out


def _row(rec: dict[str, Any], log_type: str | None, host: Any, number: int, raw: str) -> dict[str, Any]:
    row = {"ts": rec.get("ts"), "source": "zeek", "program": "zeek", "host": host, "file": None, "line": number,
           "raw": raw, **_columns(rec, log_type)}
    for key, value in rec.items():
        if value is not None:
            row[PREFIX + key] = value if isinstance(value, str) else str(value)
    if log_type:
        row[PREFIX + "path"] = log_type
    return row
