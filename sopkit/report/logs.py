"""Tables of the security log analysis report (SOP *Monitoring Sistem Elektronik*, log analysis).

The detectors (:mod:`sopkit.detect.logs`, :mod:`sopkit.detect.sigma`) decide what is suspicious;
this module only shapes what they and the readers produced into the tables the notebook lays out:
which files were read and how well (:func:`coverage`), the busiest IPs/accounts/hosts
(:func:`pivot`), Sigma alerts per level and rule (:func:`sigma_levels`), the anomaly list handed to
triage (:func:`triage`), the report period typed by the analyst (:func:`period_bound`) and who signs
the report (:data:`SYSTEM_ROLES`).
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from sopkit.approvals.block import Role
from sopkit.errors import ParameterError
from sopkit.findings import SEVERITIES, Finding
from sopkit.logs.schema import LogResult
from sopkit.report.findings import ordered, severity_word
from sopkit.report.i18n import check_language
from sopkit.timezones import resolve_zone

#: Roles of the SOP 2 report (log analysis), in signing order.
SYSTEM_ROLES: tuple[Role, ...] = (
    Role("analis", "Analis / Pelaksana", "Analyst / Executor", "prepared"),
    Role("koordinator_tim", "Koordinator Tim", "Team Coordinator", "paraf"),
    Role("ketua_tim", "Ketua Tim / Kepala Kantor", "Team Leader / Head of Office", "tanda_tangan"),
)
#: Sigma levels, most severe first (the order of :func:`sigma_levels`).
SIGMA_LEVEL_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3, "informational": 4}


def coverage(result: LogResult) -> pd.DataFrame:
    """Per input file: detected format, first/last event (UTC), events and rejected lines.

    A file that gave no events still has its row (events 0), so a silent source shows in the report.
    """
    ev = result.events
    rej = pd.Series([r.file for r in result.rejections], dtype="object").value_counts()
    rows = []
    for file, fmt in result.formats.items():
        mine = ev[ev["file"] == file] if "file" in ev else ev.iloc[0:0]
        rows.append({"file": file, "format": fmt, "first": mine["ts"].min() if len(mine) else pd.NaT,
                     "last": mine["ts"].max() if len(mine) else pd.NaT, "events": len(mine),
                     "rejected": int(rej.get(file, 0))})
    out = pd.DataFrame(rows, columns=["file", "format", "first", "last", "events", "rejected"])
    for col in ("first", "last"):
        out[col] = pd.to_datetime(out[col], utc=True)
    return out


def _col(ev: pd.DataFrame, name: str) -> pd.Series:
    return ev[name] if name in ev.columns else pd.Series(pd.NA, index=ev.index, dtype="string")


def pivot(events: pd.DataFrame, column: str, n: int = 10) -> pd.DataFrame:
    """Top ``n`` values of ``column`` (src_ip, user, host) by events: events, failures, first, last.

    A failure is an event with ``outcome == "failure"`` or an HTTP status of 400 and above.
    """
    ev = events[_col(events, column).notna()]
    if ev.empty:
        return pd.DataFrame(columns=["value", "events", "failures", "first", "last"])
    failed = _col(ev, "outcome").eq("failure").fillna(False) | _col(ev, "http_status").ge(400).fillna(False)
    g = ev.assign(failed=failed).groupby(column).agg(events=("ts", "size"), failures=("failed", "sum"),
                                                     first=("ts", "min"), last=("ts", "max"))
    g = g.sort_values(["events", "failures"], ascending=False, kind="stable").head(n)
    return g.reset_index().rename(columns={column: "value"})


def triage(findings: Iterable[Finding], minimum: str = "medium", lang: str | None = None) -> pd.DataFrame:
    """Findings of ``minimum`` severity and above, most severe first: the anomaly list handed to triage.

    With ``lang`` the title and severity are in the report language (``kritis``…); without it the
    severity is the stable English id and the title the Indonesian one (the reports' default).
    """
    if minimum not in SEVERITIES:
        raise ParameterError(f"triage minimum severity must be one of {SEVERITIES}, got {minimum!r}")
    title_lang = check_language(lang) if lang else "id"
    keep = ordered([f for f in findings if SEVERITIES.index(f.severity) >= SEVERITIES.index(minimum)])
    rows = [{"id": f.id, "title": f.title(title_lang),
             "severity": severity_word(f.severity, lang) if lang else f.severity,
             "first": f.first_seen, "last": f.last_seen,
             "entities": "; ".join(f"{k}: {', '.join(map(str, v[:5]))}" for k, v in f.entities.items())}
            for f in keep]
    out = pd.DataFrame(rows, columns=["id", "title", "severity", "first", "last", "entities"])
    for col in ("first", "last"):
        out[col] = pd.to_datetime(out[col], utc=True)
    return out


def sigma_levels(alerts: pd.DataFrame) -> pd.DataFrame:
    """Sigma alerts counted per level (critical first) and rule (most alerts first within a level)."""
    if alerts.empty:
        return pd.DataFrame(columns=["level", "rule_title", "count"])
    g = alerts.groupby(["level", "rule_title"]).size().rename("count").reset_index()
    return g.sort_values(["level", "count"], key=lambda s: s.map(SIGMA_LEVEL_ORDER) if s.name == "level" else -s,
                         kind="stable").reset_index(drop=True)


def period_bound(text: str, zone: str = "WIB") -> pd.Timestamp | None:
    """A report period bound such as ``24-11-2026 00:00`` (or ``… 24:00``) in the office zone, as UTC.

    ``24:00`` is the end of that day (the SOP forms write periods that way). An empty text is no bound.
    """
    if not text:
        return None
    day, _, clock = text.strip().partition(" ")
    extra = pd.Timedelta(days=1) if clock.startswith("24:") else pd.Timedelta(0)
    try:
        ts = pd.to_datetime(f"{day} {'00:' + clock[3:] if extra else clock}".strip(), dayfirst=True) + extra
    except (ValueError, TypeError) as exc:
        raise ParameterError(f"period bound {text!r}: expected DD-MM-YYYY HH:MM ({exc})") from exc
    return ts.tz_localize(resolve_zone(zone)[1]).tz_convert("UTC")
