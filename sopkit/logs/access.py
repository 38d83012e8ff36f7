"""Apache/Nginx access logs (combined and common format) into a table of requests.

Attacker-controlled fields (URL, user agent, referrer) are kept verbatim as text: escaping is the
report's job, and detectors need the raw string. Quotes inside a quoted field are common in attack
traffic (``"GET /?q=" OR 1=1 HTTP/1.1"``), so the request field is matched up to the last ``" `` that
is followed by a status code, not to the first quote.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from sopkit.logs.source import ReadReport, iter_lines

#: host ident user [time] "request" status size ["referrer" "user agent"]
COMBINED = re.compile(
    r'^(?P<src_ip>\S+) (?P<ident>\S+) (?P<user>\S+) \[(?P<time>[^\]]+)\] '
    r'"(?P<request>.*)" (?P<status>\d{3}) (?P<size>\d+|-)'
    r'(?: "(?P<referrer>(?:[^"\\]|\\.)*)" "(?P<user_agent>.*)")?\s*$'
)
REQUEST = re.compile(r"^(?P<method>[A-Z][A-Z0-9_-]*) (?P<url>.*?)(?: (?P<protocol>HTTP/\d(?:\.\d)?))?$")
TIME_FORMAT = "%d/%b/%Y:%H:%M:%S %z"

COLUMNS = ["ts", "line", "src_ip", "user", "method", "url", "protocol", "status", "bytes", "referrer",
           "user_agent", "raw"]


def read_access_log(path: Path) -> tuple[pd.DataFrame, ReadReport]:
    """Read an access log into ``(requests, report)``; unparsable lines are in ``report.rejects``.

    ``ts`` is UTC (the log's own offset is applied); ``bytes`` is 0 where the log says ``-``.
    """
    report = ReadReport(str(path))
    rows = []
    for number, text in iter_lines(Path(path), report):
        if not text.strip():
            report.reject(number, "empty line", text)
            continue
        m = COMBINED.match(text)
        if m is None:
            report.reject(number, "not in combined/common log format", text)
            continue
        req = REQUEST.match(m["request"])
        method, url, protocol = (req["method"], req["url"], req["protocol"]) if req else (None, m["request"], None)
        rows.append((m["time"], number, m["src_ip"], None if m["user"] == "-" else m["user"], method, url,
                     protocol, int(m["status"]), 0 if m["size"] == "-" else int(m["size"]),
                     m["referrer"], m["user_agent"], text))
    df = pd.DataFrame(rows, columns=["time", *COLUMNS[1:]])
    ts = pd.to_datetime(df["time"], format=TIME_FORMAT, errors="coerce", utc=True)
    for idx in df.index[ts.isna()]:
        report.reject(int(df.at[idx, "line"]), f"unreadable time {df.at[idx, 'time']!r}", df.at[idx, "raw"])
    df = df.assign(ts=ts).loc[ts.notna(), COLUMNS].reset_index(drop=True)
    df["status"] = df["status"].astype("int16")
    df["bytes"] = df["bytes"].astype("int64")
    return df, report
