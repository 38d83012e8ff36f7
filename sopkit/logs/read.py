"""One entry point for every log format: sniff each file's format from its first lines, read, combine.

Sniffing looks at content, never at the file name: binary magic (``ElfFile\\0`` for .evtx), then the
other readers' own sniffers (Windows JSON exports, Suricata eve, Zeek), then a vote over the first
non-empty text lines: access log, FortiGate ``key=value``, syslog. A syslog file is ``auth`` when
auth programs (sshd, sudo, su, useradd …, PAM) write at least half of its lines, ``iptables`` when
netfilter records (``IN=… SRC=…``) do, else ``syslog``.
"""

from __future__ import annotations

import glob
import importlib
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from sopkit.errors import LogFormatError
from sopkit.logs.access import AUTO, LogFormat, read_access
from sopkit.logs.auth import ACCOUNTS, SSHD, read_auth
from sopkit.logs.fortigate import START, read_fortigate
from sopkit.logs.iptables import read_iptables
from sopkit.logs.schema import LogResult, conform, empty_events
from sopkit.logs.source import CHUNK_LINES, read_head
from sopkit.logs.syslog import RFC3164, RFC3339, RFC5424, read_syslog

#: format → (module, function) of the readers another module owns
OTHER_READERS = {"winevt": ("sopkit.logs.winevt", "read_winevt"), "suricata": ("sopkit.logs.suricata", "read_eve"),
                 "zeek": ("sopkit.logs.zeek", "read_zeek")}
OWN_READERS = {"auth": read_auth, "syslog": read_syslog, "iptables": read_iptables, "access": read_access,
               "fortigate": read_fortigate}
FORMATS = (*OWN_READERS, *OTHER_READERS)
AUTH_PROGRAMS = {*SSHD, *ACCOUNTS, "sudo", "su", "login", "cron", "systemd-logind", "polkitd", "pkexec",
                 "gdm-password", "unix_chkpwd", "sshd-session"}
SAMPLE_LINES = 50
_SYSLOG = [re.compile(p) for p in (RFC3164, RFC3339, RFC5424)]


def _sniff_other(head: bytes) -> str | None:
    for name, (module, _) in OTHER_READERS.items():
        try:
            sniff = importlib.import_module(module).sniff
        except (ImportError, AttributeError):
            continue
        try:
            if sniff(head):
                return name
        except Exception:  # a sniffer that cannot judge these bytes does not claim them
            continue
    if head.startswith(b"ElfFile\x00"):
        return "winevt"
    return None


def _line_kind(text: str, access: list[LogFormat]) -> str | None:
    if any(f.lenient.match(text) for f in access):
        return "access"
    if START.search(text) and " time=" in text and ("logid=" in text or "devname=" in text or "type=" in text):
        return "fortigate"
    for pattern in _SYSLOG:
        m = pattern.match(text)
        if m is not None:
            program = re.sub(r"\(.*$", "", (m["program"] or "").strip()).lower()
            message = m["message"] or ""
            if " SRC=" in message and "IN=" in message and " DST=" in message:
                return "iptables"
            if program in AUTH_PROGRAMS or message.startswith("pam_") or program.endswith("(pam_unix)"):
                return "auth"
            return "syslog"
    return None


def sniff_format(path: Path) -> str:
    """The format name of ``path`` (one of :data:`FORMATS`), judged from its first bytes and lines."""
    path = Path(path)
    head = read_head(path)
    other = _sniff_other(head)
    if other is not None:
        return other
    text = head.decode("utf-8", errors="replace")
    lines = [ln.rstrip("\r") for ln in text.split("\n")[:-1] or text.split("\n")]
    lines = [ln for ln in lines if ln.strip()][:SAMPLE_LINES]
    access = [LogFormat(name) for name in AUTO]
    votes = Counter(k for k in (_line_kind(ln, access) for ln in lines) if k is not None)
    if votes:
        syslog = votes["auth"] + votes["iptables"] + votes["syslog"]
        best, count = votes.most_common(1)[0]
        if best in ("auth", "iptables", "syslog") or syslog >= count:
            if votes["auth"] * 2 >= syslog:
                return "auth"
            if votes["iptables"] * 2 >= syslog:
                return "iptables"
            if syslog * 2 >= len(lines):
                return "syslog"
        elif count * 2 >= len(lines):
            return best
    raise LogFormatError(f"{path}: unknown log format; it starts with {head[:80]!r}")


def _expand(paths: str | Path | Iterable[str | Path]) -> list[Path]:
    items = [paths] if isinstance(paths, (str, Path)) else list(paths)
    out: list[Path] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            out += sorted(f for f in p.rglob("*") if f.is_file() and not f.name.startswith("."))
        elif not p.exists() and any(c in str(item) for c in "*?["):
            out += sorted(Path(f) for f in glob.glob(str(item), recursive=True) if Path(f).is_file())
        else:
            out.append(p)
    return out


def read_one(path: Path, fmt: str, *, year: int | None, tz: str, progress: bool, chunk_lines: int,
             log_format: str | None = None) -> LogResult:
    """Read one file in ``fmt`` (a name from :data:`FORMATS`)."""
    if fmt in OTHER_READERS:
        module, func = OTHER_READERS[fmt]
        try:
            reader = getattr(importlib.import_module(module), func)
        except (ImportError, AttributeError) as exc:
            raise LogFormatError(f"{path}: looks like {fmt}, but its reader {module}.{func} is not available "
                                 f"({exc})") from exc
        return reader(path, tz=tz, progress=progress)
    if fmt == "access":
        return read_access(path, log_format=log_format or "auto", progress=progress, chunk_lines=chunk_lines)
    if fmt == "fortigate":
        return read_fortigate(path, tz=tz, progress=progress, chunk_lines=chunk_lines)
    return OWN_READERS[fmt](path, year=year, tz=tz, progress=progress, chunk_lines=chunk_lines)


def read_logs(paths: str | Path | Iterable[str | Path], format: str = "auto", *, year: int | None = None,
              tz: str = "Asia/Jakarta", progress: bool = False, chunk_lines: int = CHUNK_LINES,
              log_format: str | None = None) -> LogResult:
    """Read log files (paths, folders or globs) into one event table sorted by time.

    ``format`` is ``auto`` (sniffed per file) or one of :data:`FORMATS`; ``log_format`` is an Apache
    ``LogFormat`` string or name for access logs. ``year``/``tz`` apply to lines that lack them; what was
    assumed per file is in ``assumptions`` (one value when every file agrees, else a dict by file).
    """
    if format != "auto" and format not in FORMATS:
        raise LogFormatError(f"unknown log format {format!r}: use auto or one of {', '.join(FORMATS)}")
    files = _expand(paths)
    if not files:
        raise LogFormatError(f"no log files found in {paths!r}")
    results = []
    for path in files:
        fmt = sniff_format(path) if format == "auto" else format
        results.append(read_one(path, fmt, year=year, tz=tz, progress=progress, chunk_lines=chunk_lines,
                                log_format=log_format))
    frames = [r.events for r in results if len(r.events)]
    events = conform(pd.concat(frames, ignore_index=True)) if frames else empty_events()
    if len(frames) > 1:
        events = events.sort_values(["ts", "file", "line"], kind="stable").reset_index(drop=True)
    assumptions: dict[str, object] = {}
    for key in sorted({k for r in results for k in r.assumptions}):
        per_file = {f: r.assumptions[key] for r in results for f in r.formats if key in r.assumptions}
        values = set(map(str, per_file.values()))
        assumptions[key] = next(iter(per_file.values())) if len(values) == 1 else per_file
    return LogResult(events, [x for r in results for x in r.rejections], assumptions,
                     {f: v for r in results for f, v in r.formats.items()})
