"""Writers for the demo day's text logs, each atomic (temp file in the target dir + ``os.replace``).

* ``auth.log`` — RFC 3164 syslog as rsyslog writes it on Ubuntu: ``Nov 24 02:13:45 web01
  sshd[23456]: message`` in local office time, no year, day of month space-padded;
* ``access.log`` — Apache ``combined``: ``%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i"``
  with ``[24/Nov/2026:10:21:33 +0700]``; like Apache, ``"`` and ``\\`` inside quoted fields are
  backslash-escaped and everything else (including ``<script>``) is written as received;
* ``eve.json`` — Suricata NDJSON, ``timestamp`` first in ``2026-11-24T10:21:33.123456+0700`` form.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from sopkit.demo.network import Day
from sopkit.demo.sessions import WebRequest

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def atomic_write_lines(path: Path, lines: Iterable[str]) -> None:
    """Write ``lines`` (each without newline) to ``path`` via a temp file and ``os.replace``."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            for line in lines:
                fh.write(line)
                fh.write("\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def syslog_lines(day: Day, records: list[tuple[int, str, str, int, str]]) -> Iterator[str]:
    """``auth.log`` lines from ``(ts_ns, host, program, pid, message)`` records (pid 0: none), in time order."""
    for ts, host, prog, pid, msg in sorted(records, key=lambda r: r[0]):
        lt = day.to_local(ts)
        tag = f"{prog}[{pid}]" if pid else prog  # sudo logs its command lines without a pid
        yield f"{_MONTHS[lt.month - 1]} {lt.day:>2} {lt:%H:%M:%S} {host} {tag}: {msg}"


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def access_lines(day: Day, records: list[tuple[int, str, WebRequest]]) -> Iterator[str]:
    """Apache combined-format lines from ``(ts_ns, client_ip, request)`` records, in time order."""
    for ts, ip, req in sorted(records, key=lambda r: r[0]):
        lt = day.to_local(ts)
        when = f"{lt.day:02d}/{_MONTHS[lt.month - 1]}/{lt.year}:{lt:%H:%M:%S} {lt:%z}"
        size = str(req.size) if req.size else "-"
        yield (f'{ip} - - [{when}] "{_quote(f"{req.method} {req.target} HTTP/1.1")}" {req.status} {size} '
               f'"{_quote(req.referer or "-")}" "{_quote(req.ua)}"')


def _strip_none(obj):
    if isinstance(obj, dict):
        return {k: _strip_none(v) for k, v in obj.items() if v is not None}
    return obj


def eve_lines(day: Day, events: list[tuple[int, dict]]) -> Iterator[str]:
    """Suricata eve.json lines from ``(ts_ns, event)`` records, in time order."""
    for ts, ev in sorted(events, key=lambda r: r[0]):
        yield json.dumps({"timestamp": day.suricata_time(ts), **_strip_none(ev)}, separators=(",", ":"))
