"""Helpers shared by the traffic detectors: scores, severities, evidence trimming, time stamps.

Every detector turns a measured value and its threshold into a score in [0, 1] the same way
(:func:`strength`: 0.5 at the threshold, +0.25 per doubling, 1.0 from 4× on), so findings of
different detectors sort sensibly against each other.
"""

from __future__ import annotations

import math
from collections import Counter

import pandas as pd

from sopkit.findings import Finding

MAX_EVIDENCE = 200  #: rows of evidence carried in a finding; the rest are referenced by count

#: the flow columns shown as evidence
FLOW_EVIDENCE = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "conn_state",
                 "history", "duration", "orig_bytes", "resp_bytes", "orig_pkts", "resp_pkts", "community_id"]


def strength(value: float, threshold: float) -> float:
    """Score in [0, 1]: 0.5 when ``value`` equals ``threshold``, +0.25 per doubling, capped at 1."""
    if threshold <= 0:
        return 1.0
    if value <= 0:
        return 0.0
    return max(0.0, min(1.0, 0.5 + 0.25 * math.log2(value / threshold)))


def severity_for(score: float, *, low: float = 0.0, high: float = 0.85, base: str = "medium") -> str:
    """``high`` from ``high`` on, ``base`` from ``low`` on, else ``low``."""
    if score >= high:
        return "high"
    return base if score >= low else "low"


def evidence(rows: pd.DataFrame, columns: list[str] | None = None, sort: str = "ts") -> pd.DataFrame:
    """At most :data:`MAX_EVIDENCE` rows (the first by ``sort``), only ``columns`` that exist."""
    if columns is not None:
        rows = rows[[c for c in columns if c in rows.columns]]
    if sort in rows.columns:
        rows = rows.sort_values(sort, kind="stable")
    return rows.head(MAX_EVIDENCE).reset_index(drop=True)


def evidence_ref(table: str, n: int, query: str) -> str:
    """Where the full evidence lives when it is longer than what the finding carries."""
    return f"{table}: {n} rows where {query}" if n > MAX_EVIDENCE else ""


def when(ts: pd.Series) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last time of a Series of epoch seconds, as UTC timestamps."""
    first = pd.Timestamp(float(ts.min()), unit="s", tz="UTC").floor("us")
    return first, pd.Timestamp(float(ts.max()), unit="s", tz="UTC").floor("us")


def text_entropy(s: str) -> float:
    """Shannon entropy of the characters of ``s`` (bits per character)."""
    n = len(s)
    if not n:
        return 0.0
    return -sum(c / n * math.log2(c / n) for c in Counter(s).values())


def finding(detector: str, title: tuple[str, str], score: float, rows: pd.DataFrame, *, severity: str, attack: str,
            entities: dict, counts: dict, explanation: tuple[str, str], recommendation: tuple[str, str],
            columns: list[str] | None = None, table: str = "flows", query: str = "") -> Finding:
    """Build a :class:`Finding` whose time span and evidence come from ``rows`` (with a ``ts`` column).

    ``title``, ``explanation`` and ``recommendation`` are (Bahasa Indonesia, English) pairs.
    """
    first, last = when(rows["ts"])
    return Finding(detector=detector, title_id=title[0], title_en=title[1], severity=severity, first_seen=first, last_seen=last,
                   explanation_id=explanation[0], explanation_en=explanation[1], attack=attack,
                   score=round(float(score), 3), entities=entities,
                   counts={k: float(v) for k, v in counts.items()},
                   recommendation_id=recommendation[0], recommendation_en=recommendation[1],
                   evidence=evidence(rows, columns), evidence_ref=evidence_ref(table, len(rows), query))

