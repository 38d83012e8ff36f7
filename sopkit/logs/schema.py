"""The normalized event table every log reader produces, documented once.

Readers of very different formats (auth.log, syslog, access logs, Windows events, FortiGate,
iptables, Suricata, Zeek) meet in these columns, so detectors and Sigma rules can work across them.
A reader fills what its format has and leaves the rest null; format-specific fields go in extra
columns prefixed by the format (``win.*``, ``forti.*``, ``zeek.*`` …) or in ``fields`` (a dict).

| column      | meaning                                                                      |
|-------------|------------------------------------------------------------------------------|
| ts          | event time, UTC (pandas datetime64[ns, UTC])                                  |
| source      | format name: auth, syslog, access, winevt, fortigate, iptables, suricata, zeek |
| file        | the file the line came from                                                  |
| line        | 1-based line (or record) number in that file                                 |
| host        | host that logged the event (syslog hostname, Computer, devname …)            |
| program     | emitting program/service (sshd, sudo, httpd, Microsoft-Windows-Security-Auditing) |
| pid         | process id of that program, when logged                                      |
| event_id    | format's event id (Windows EventID, FortiGate logid, Suricata signature_id)  |
| src_ip      | source / client address                                                      |
| src_port    | source port                                                                  |
| dst_ip      | destination / server address                                                 |
| dst_port    | destination port                                                             |
| user        | account the event is about (target user)                                     |
| action      | what happened, normalized verb: login, logout, sudo, su, user_add, group_add, request, connection, alert … |
| outcome     | success, failure, or null when the format does not say                       |
| process     | process image / command line where logged                                   |
| url         | requested URL (path and query)                                               |
| http_method | HTTP method                                                                  |
| http_status | HTTP status code                                                             |
| user_agent  | HTTP user agent                                                              |
| bytes       | bytes transferred (response size, session bytes)                             |
| message     | the human-readable message part                                              |
| raw         | the whole original line (or JSON record), verbatim                           |
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

EVENT_DTYPES: dict[str, str] = {
    "ts": "datetime64[ns, UTC]",
    "source": "string",
    "file": "string",
    "line": "Int64",
    "host": "string",
    "program": "string",
    "pid": "Int64",
    "event_id": "string",
    "src_ip": "string",
    "src_port": "Int64",
    "dst_ip": "string",
    "dst_port": "Int64",
    "user": "string",
    "action": "string",
    "outcome": "string",
    "process": "string",
    "url": "string",
    "http_method": "string",
    "http_status": "Int64",
    "user_agent": "string",
    "bytes": "Int64",
    "message": "string",
    "raw": "string",
}
EVENT_COLUMNS = list(EVENT_DTYPES)
OUTCOMES = ("success", "failure")


@dataclass
class Rejection:
    """A line a reader could not turn into an event: where and why."""

    file: str
    line: int
    reason: str
    raw: str


@dataclass
class LogResult:
    """What reading one or more log files gave: events, rejections, and what had to be assumed.

    ``assumptions`` records defaults applied where the data was silent, e.g. ``{"year": 2026,
    "tz": "Asia/Jakarta"}`` for syslog lines that carry neither, so a report can say so.
    """

    events: pd.DataFrame
    rejections: list[Rejection] = field(default_factory=list)
    assumptions: dict[str, object] = field(default_factory=dict)
    formats: dict[str, str] = field(default_factory=dict)  #: file → detected format

    def rejections_frame(self) -> pd.DataFrame:
        """Rejected lines as a table (file, line, reason, raw)."""
        return pd.DataFrame([r.__dict__ for r in self.rejections], columns=["file", "line", "reason", "raw"])


def empty_events() -> pd.DataFrame:
    """An event table with no rows and the documented columns and dtypes."""
    return conform(pd.DataFrame(columns=EVENT_COLUMNS))


def conform(df: pd.DataFrame) -> pd.DataFrame:
    """Add any missing documented column (null), cast to the documented dtypes, put them first."""
    out = df.copy()
    for name, dtype in EVENT_DTYPES.items():
        if name not in out:
            out[name] = pd.Series(pd.NA, index=out.index, dtype=dtype if dtype != "datetime64[ns, UTC]" else None)
        if name == "ts":
            out[name] = pd.to_datetime(out[name], utc=True).astype("datetime64[ns, UTC]")
        else:
            out[name] = out[name].astype(dtype)
    extra = [c for c in out.columns if c not in EVENT_DTYPES]
    return out[EVENT_COLUMNS + extra]
