"""The Findings record: what every detector in sopkit (traffic and logs) hands to the analyst.

One shape for all detectors, so the reports, the history, the triage list of SOP 2 and later the
case state machine can treat a port scan seen in a capture and an SSH brute force seen in auth.log
alike. A finding says what was seen (title and explanation, in Bahasa Indonesia and English), how bad
(severity, score), who was involved (entities), when (first/last seen, UTC), how much (counts),
where the proof is (evidence rows, or a reference to them) and which ATT&CK technique it maps to.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

#: Severities in increasing order; reports sort and colour by them.
SEVERITIES = ("info", "low", "medium", "high", "critical")

#: Columns of :func:`findings_frame`, in order.
FINDING_COLUMNS = [
    "id", "detector", "title_id", "title_en", "severity", "score", "attack", "first_seen", "last_seen",
    "entities", "counts", "explanation_id", "explanation_en", "recommendation_id", "recommendation_en",
    "evidence_ref", "evidence_rows",
]


@dataclass(kw_only=True)
class Finding:
    """One thing a detector wants an analyst to look at (keyword arguments only).

    ``title_id``/``title_en`` name it in one line (Bahasa Indonesia, the reports' default, and
    English; both are required); ``entities`` maps a role to values, e.g. ``{"src_ip": ["203.0.113.9"],
    "dst_port": [22], "user": ["root"]}``; ``counts`` holds the numbers behind the verdict
    (``{"failures": 412}``); ``evidence`` is a small DataFrame of the rows that prove it (flows, log
    lines), and ``evidence_ref`` says where the full set lives (a file and a query) when it is too big
    to carry. Findings stored by runs from before titles were bilingual are read with
    :func:`stored_findings`.
    """

    detector: str
    title_id: str = ""
    title_en: str = ""
    severity: str
    first_seen: dt.datetime
    last_seen: dt.datetime
    explanation_id: str
    explanation_en: str
    attack: str = ""  #: ATT&CK technique id(s), comma-separated, e.g. "T1110.001"
    score: float = 0.0  #: detector-specific strength in [0, 1]; orders findings of equal severity
    entities: dict[str, list[Any]] = field(default_factory=dict)
    counts: dict[str, float] = field(default_factory=dict)
    recommendation_id: str = ""
    recommendation_en: str = ""
    evidence: pd.DataFrame | None = None
    evidence_ref: str = ""
    id: str = ""

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, got {self.severity!r}")
        if not 0.0 <= self.score <= 1.0:
            raise ValueError(f"score must be within [0, 1], got {self.score}")
        if not (self.title_id and self.title_en):
            raise ValueError(f"{self.detector}: a finding needs a title in both languages (title_id, title_en)")
        self.first_seen = _utc(self.first_seen)
        self.last_seen = _utc(self.last_seen)
        if not self.id:
            self.id = finding_id(self.detector, self.entities, self.first_seen)

    def title(self, lang: str = "id") -> str:
        """The title in the report's language."""
        return self.title_id if lang == "id" else self.title_en

    def explanation(self, lang: str = "id") -> str:
        """The explanation in the report's language."""
        return self.explanation_id if lang == "id" else self.explanation_en

    def recommendation(self, lang: str = "id") -> str:
        """The recommended action in the report's language."""
        return self.recommendation_id if lang == "id" else self.recommendation_en


def _utc(value: Any) -> dt.datetime:
    ts = pd.Timestamp(value)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts.floor("us").to_pydatetime()  # datetime holds microseconds; flooring keeps first <= last


def finding_id(detector: str, entities: Mapping[str, Iterable[Any]], first_seen: dt.datetime) -> str:
    """A stable id: the same detector, entities and start give the same id across runs (for history)."""
    canon = json.dumps({"d": detector, "e": {k: sorted(map(str, v)) for k, v in entities.items()},
                        "t": first_seen.isoformat()}, sort_keys=True)
    return detector.split(".")[0][:12] + "-" + hashlib.sha256(canon.encode()).hexdigest()[:12]


def findings_frame(findings: Iterable[Finding]) -> pd.DataFrame:
    """Findings as a table (most severe first), evidence rows as counts; for reports and history."""
    rows = []
    for f in findings:
        row = {name: getattr(f, name) for name in f.__dataclass_fields__ if name != "evidence"}
        row["evidence_rows"] = 0 if f.evidence is None else len(f.evidence)
        rows.append(row)
    df = pd.DataFrame(rows, columns=FINDING_COLUMNS)
    if df.empty:
        return df
    df["severity"] = pd.Categorical(df["severity"], categories=SEVERITIES, ordered=True)
    df["first_seen"] = pd.to_datetime(df["first_seen"], utc=True)
    df["last_seen"] = pd.to_datetime(df["last_seen"], utc=True)
    return df.sort_values(["severity", "score", "first_seen"], ascending=[False, False, True],
                          kind="stable").reset_index(drop=True)



def stored_findings(table: pd.DataFrame) -> pd.DataFrame:
    """A findings table read back from history (e.g. ``HistoryStore.load(..., "findings")``) in today's columns.

    Runs from before titles were bilingual stored one English ``title``; it becomes ``title_en`` and,
    being the only wording recorded, ``title_id`` as well. Rows of newer runs keep their own titles, so
    a history mixing both loads as one table. Columns beyond :data:`FINDING_COLUMNS` (``run_id``,
    ``day``) are kept after them.
    """
    if "title" not in table.columns:
        return table
    out = table.copy()
    for col in ("title_en", "title_id"):
        out[col] = out[col].fillna(out["title"]) if col in out.columns else out["title"]
    out = out.drop(columns="title")
    known = [c for c in FINDING_COLUMNS if c in out.columns]
    return out[known + [c for c in out.columns if c not in known]]
