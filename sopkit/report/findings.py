"""Findings in a report: the overview table, and each finding with its evidence and recommendation.

Everything that comes from traffic or logs (hosts, URLs, DNS names, user agents) is attacker-chosen:
it reaches the page only through escaped tables and escaped Markdown, never as markup.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import pandas as pd

from sopkit.findings import SEVERITIES, Finding
from sopkit.report import i18n
from sopkit.report.i18n import t
from sopkit.report.present import Table, local_times

#: Evidence columns left out of the printed report (identifiers for machines, not readers).
EVIDENCE_HIDDEN = ("uid", "community_id", "ts", "ip_proto", "service", "local_orig", "local_resp", "raw")
SEVERITY_WORDS = {"id": ("info", "rendah", "sedang", "tinggi", "kritis"),
                  "en": ("info", "low", "medium", "high", "critical")}


def severity_word(severity: str, lang: str = "id") -> str:
    """The severity as a word of the report's language."""
    return SEVERITY_WORDS[lang][SEVERITIES.index(severity)]


def ordered(findings: Sequence[Finding]) -> list[Finding]:
    """Most severe first, then strongest, then earliest."""
    return sorted(findings, key=lambda f: (-SEVERITIES.index(f.severity), -f.score, f.first_seen))


def severity_counts(findings: Sequence[Finding], lang: str = "id") -> Table:
    """How many findings per severity (all severities listed, zeros included)."""
    counts = pd.Series([f.severity for f in findings], dtype="object").value_counts()
    rows = [(severity_word(s, lang), int(counts.get(s, 0))) for s in reversed(SEVERITIES)]
    return Table(pd.DataFrame(rows, columns=[t("severity", lang), t("count", lang)]).rename(index=lambda i: i + 1), lang)


def findings_overview(findings: Sequence[Finding], lang: str = "id", zone: str = "WIB") -> Table:
    """One row per finding: number, severity, title (report language), time span (office zone), ATT&CK, detector."""
    items = ordered(findings)
    df = pd.DataFrame({
        t("number", lang): range(1, len(items) + 1),
        t("severity", lang): [severity_word(f.severity, lang) for f in items],
        t("finding", lang): [f.title(lang) for f in items],
        t("first_seen", lang): local_times(pd.Series([f.first_seen for f in items], dtype="datetime64[ns, UTC]"), zone),
        t("last_seen", lang): local_times(pd.Series([f.last_seen for f in items], dtype="datetime64[ns, UTC]"), zone),
        "ATT&CK": [f.attack for f in items],
        t("detector", lang): [f.detector for f in items],
    })
    if df.empty:
        df = pd.DataFrame([[t("none", lang)] + [""] * (len(df.columns) - 1)], columns=df.columns)
    return Table(df.set_index(df.columns[0]), lang)


def finding_markdown(number: int, f: Finding, lang: str = "id") -> str:
    """Heading, explanation, recommendation and the numbers behind a finding, as escaped Markdown.

    The figures are written in the style of ``lang`` (``1.234,5`` in Bahasa Indonesia): the lists that
    separate them use ``;`` so a decimal comma can never be mistaken for the next item.
    """
    esc = html.escape
    counts = "; ".join(f"{esc(str(k))}: {esc(i18n.number(v, lang))}" for k, v in f.counts.items())
    entities = "; ".join(f"{esc(str(k))}: {esc(', '.join(map(str, v[:10])))}" for k, v in f.entities.items())
    return "\n\n".join(p for p in (
        f"### {number}. [{esc(severity_word(f.severity, lang))}] {esc(f.title(lang))}",
        f"**{esc(t('explanation', lang))}:** {esc(f.explanation(lang))}",
        f"**{esc(t('recommendation', lang))}:** {esc(f.recommendation(lang))}" if f.recommendation(lang) else "",
        f"**{esc(t('entities', lang))}:** {entities}" if entities else "",
        f"**{esc(t('figures', lang))}:** {counts}" if counts else "",
        f"**{esc(t('evidence', lang))}:** {esc(f.evidence_ref)}" if f.evidence_ref else "",
    ) if p)


def evidence_table(f: Finding, zone: str = "WIB", max_rows: int = 10, lang: str | None = None) -> Table | None:
    """The first evidence rows of a finding (times converted to the office zone), or None.

    With ``lang``, quantities (bytes, packets, durations) are written in that language's number style;
    ports, status codes and event ids stay as they are (see :func:`sopkit.report.present.is_identifier`).
    Without it, pandas' own formatting is kept, as before.
    """
    if f.evidence is None or f.evidence.empty:
        return None
    ev = f.evidence.head(max_rows).copy()
    ev = ev.drop(columns=[c for c in EVIDENCE_HIDDEN if c in ev.columns])
    ev = ev.loc[:, ev.notna().any()]  # columns with nothing in them only take space on paper
    for col in ev.columns:
        if pd.api.types.is_datetime64_any_dtype(ev[col]):
            ev[col] = local_times(ev[col], zone)
        elif col in ("ts_ns",):
            ev[col] = local_times(pd.to_datetime(ev[col], unit="ns", utc=True), zone)
    return Table(ev.reset_index(drop=True).rename(index=lambda i: i + 1), lang)
