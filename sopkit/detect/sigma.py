"""Evaluate Sigma rules over sopkit's normalized events with pySigma's SQLite backend.

What: :func:`load_rules` reads rule files or folders; :func:`evaluate` converts every rule with
``pysigma-backend-sqlite`` through sopkit's own pipeline (:mod:`sopkit.detect.sigma_mapping`: which
events a logsource means, Sigma field names → our columns), loads the events of each logsource a rule
needs into one in-memory SQLite table (``sqlite3`` stdlib, case-insensitive text columns, indexed on
``EventID``), runs each rule's SQL and returns a Hayabusa-like alerts table plus a per-rule account:
every rule is *loaded*, then *skipped* with a reason (invalid rule, correlation rule, unsupported
logsource, conversion error, SQL error) or *evaluated*, and evaluated rules that matched *fired*.

Why this design: SQL over one table per logsource lets SQLite do the scanning (one pass per rule,
the EventID index for the many rules that pin event ids) — no per-event Python loop. A field a rule
names but no event carries is added as an all-NULL column, so the rule evaluates (and cannot match)
instead of failing; such fields are listed in the rule's account.
"""

from __future__ import annotations

import functools
import re
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from sopkit.detect.sigma_mapping import Logsource, Part, find_logsource, pipeline_for
from sopkit.findings import Finding
from sopkit.report.i18n import number

ROW = "sopkit_row"
TEXT = "sopkit_text"
ALERT_COLUMNS = ["timestamp", "rule_title", "level", "host", "channel", "event_id", "record_id", "details",
                 "rule_id", "tags", "rule_file", "file", "line"]
LEVEL_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3, "informational": 4}


@dataclass
class RuleStatus:
    """What happened to one rule."""

    file: str
    rule_id: str
    title: str
    status: str  #: evaluated, skipped
    reason: str = ""
    logsource: str = ""
    matches: int = 0
    missing_fields: list[str] = field(default_factory=list)


@dataclass
class SigmaRun:
    """Alerts and the account of every rule."""

    alerts: pd.DataFrame
    rules: list[RuleStatus]

    @property
    def summary(self) -> dict[str, int]:
        """Counts: loaded, skipped, evaluated, fired, alerts."""
        ev = [r for r in self.rules if r.status == "evaluated"]
        return {"loaded": len(self.rules), "skipped": len(self.rules) - len(ev), "evaluated": len(ev),
                "fired": sum(1 for r in ev if r.matches), "alerts": len(self.alerts)}

    def skipped_reasons(self) -> dict[str, int]:
        """Skipped rules counted by reason class (text before the first ':')."""
        out: dict[str, int] = {}
        for r in self.rules:
            if r.status == "skipped":
                key = r.reason.split(":", 1)[0]
                out[key] = out.get(key, 0) + 1
        return out

    def rules_frame(self) -> pd.DataFrame:
        """The per-rule account as a table."""
        return pd.DataFrame([r.__dict__ for r in self.rules])


@dataclass
class LoadedRule:
    """A parsed rule or the reason it could not be used."""

    file: str
    rule: object | None  #: sigma.rule.SigmaRule, SigmaCorrelationRule or SigmaFilter
    error: str = ""


def load_rules(paths: Iterable[str | Path]) -> list[LoadedRule]:
    """Parse every ``*.yml``/``*.yaml`` rule under ``paths`` (files or folders, recursive).

    A file that is not valid Sigma is returned with its error, not raised: one bad rule must not stop
    a rule set of thousands. A path that does not exist raises :class:`~sopkit.errors.SopkitError`.
    """
    from sigma.collection import SigmaCollection
    from sigma.exceptions import SigmaError, SigmaRuleLocation

    from sopkit.errors import SopkitError

    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files += sorted(q for q in p.rglob("*") if q.suffix in (".yml", ".yaml") and q.is_file())
        elif p.is_file():
            files.append(p)
        else:
            raise SopkitError(f"{p}: Sigma rule file or folder not found")
    out: list[LoadedRule] = []
    for f in files:
        try:
            coll = SigmaCollection.from_yaml(f.read_text(encoding="utf-8"), collect_errors=True,
                                             source=SigmaRuleLocation(f))
        except (SigmaError, yaml.YAMLError, UnicodeDecodeError, OSError) as exc:
            out.append(LoadedRule(str(f), None, f"invalid rule: {exc}"))
            continue
        for err in coll.errors:
            out.append(LoadedRule(str(f), None, f"invalid rule: {err}"))
        for rule in coll.rules:
            errors = getattr(rule, "errors", None)
            out.append(LoadedRule(str(f), rule, f"invalid rule: {errors[0]}" if errors else ""))
    return out


@functools.lru_cache(maxsize=4096)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _regexp(pattern: str, value: object) -> bool:
    return value is not None and _regex(pattern).search(str(value)) is not None


class _Tables:
    """The in-memory SQLite database, one table per logsource, built on first use."""

    def __init__(self, events: pd.DataFrame) -> None:
        self.events = events
        self.db = sqlite3.connect(":memory:")
        self.db.create_function("REGEXP", 2, _regexp, deterministic=True)
        self.columns: dict[str, set[str]] = {}
        self.rows: dict[str, int] = {}

    def ensure(self, ls: Logsource) -> str:
        if ls.name not in self.columns:
            self._build(ls)
        return ls.name

    def _select(self, part: Part) -> pd.DataFrame:
        ev = self.events
        mask = ev["source"].isin(part.sources).fillna(False)
        if part.channels and "win.Channel" in ev:
            mask &= ev["win.Channel"].str.lower().isin([c.lower() for c in part.channels]).fillna(False)
        elif part.channels:
            mask &= False
        if part.event_ids:
            mask &= ev["event_id"].isin([str(i) for i in part.event_ids]).fillna(False)
        if part.programs:
            mask &= ev["program"].str.lower().isin([p.lower() for p in part.programs]).fillna(False)
        if part.zeek_paths:
            mask &= (ev["zeek.path"].isin(part.zeek_paths).fillna(False) if "zeek.path" in ev else False)
        return ev[mask.astype(bool)]

    def _build(self, ls: Logsource) -> None:
        frames = []
        for part in ls.parts:
            sub = self._select(part)
            if ls.prefix:
                cols = [c for c in sub.columns if c.startswith(ls.prefix) and sub[c].notna().any()]
                t = sub[cols].rename(columns=lambda c: c[len(ls.prefix):])
                text = sub[cols].astype("string").fillna("").agg(" ".join, axis=1) if cols else sub["raw"]
            else:
                cols = [c for c in sub.columns if c not in ("raw",) and sub[c].notna().any()]
                t = sub[cols].copy()
                if "ts" in t:
                    t["ts"] = t["ts"].astype("string")
                text = sub["raw"]
            for new, old in part.renames.items():
                if old in t and new not in t:
                    t[new] = t[old]
            t = _dedupe_nocase(t)
            t[TEXT] = text.fillna("")
            t[ROW] = sub.index.to_numpy()
            frames.append(t)
        table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame({TEXT: [], ROW: []})
        table = _dedupe_nocase(table)
        cols = list(table.columns)
        q = [_quote(c) for c in cols]
        decl = ", ".join(f"{c} INTEGER" if c == ROW else f"{c} TEXT COLLATE NOCASE" for c in q)
        self.db.execute(f"CREATE TABLE {ls.name} ({decl})")
        data = table.astype(object).where(table.notna(), None)
        data = data.map(lambda v: v if v is None or isinstance(v, (int, str)) else str(v))
        self.db.executemany(f"INSERT INTO {ls.name} VALUES ({', '.join('?' * len(cols))})",
                            data.itertuples(index=False, name=None))
        for idx in ("EventID", "event_id"):
            if idx.lower() in {c.lower() for c in cols}:
                self.db.execute(f"CREATE INDEX {ls.name}_{idx} ON {ls.name} ({idx})")
        self.columns[ls.name] = {c.lower() for c in cols}
        self.rows[ls.name] = len(table)

    def add_column(self, table: str, name: str) -> None:
        self.db.execute(f"ALTER TABLE {table} ADD COLUMN {_quote(name)} TEXT COLLATE NOCASE")
        self.columns[table].add(name.lower())


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _dedupe_nocase(t: pd.DataFrame) -> pd.DataFrame:
    """Merge columns whose names differ only in case (SQLite would refuse them); first non-null wins."""
    seen: dict[str, str] = {}
    drop = []
    for c in t.columns:
        k = str(c).lower()
        if k in seen:
            t[seen[k]] = t[seen[k]].astype(object).where(t[seen[k]].notna(), t[c].astype(object))
            drop.append(c)
        else:
            seen[k] = c
    return t.drop(columns=drop) if drop else t


_MISSING = re.compile(r"no such column: (.+)$")


def evaluate(rules: list[LoadedRule], events: pd.DataFrame) -> SigmaRun:
    """Run every usable rule over ``events`` (a normalized event table); see the module docstring."""
    from sigma.backends.sqlite import sqliteBackend
    from sigma.correlations import SigmaCorrelationRule
    from sigma.exceptions import SigmaError
    from sigma.rule import SigmaRule

    events = events.reset_index(drop=True)
    tables = _Tables(events)
    backends: dict[str, object] = {}
    statuses: list[RuleStatus] = []
    hits: list[tuple[LoadedRule, list[int], list[str]]] = []
    for lr in rules:
        rule = lr.rule
        st = RuleStatus(lr.file, str(getattr(rule, "id", "") or ""), str(getattr(rule, "title", "") or ""), "skipped")
        statuses.append(st)
        if lr.error or rule is None:
            st.reason = lr.error or "invalid rule"
            continue
        if isinstance(rule, SigmaCorrelationRule):
            st.reason = "correlation rule: not supported (single-event rules only)"
            continue
        if not isinstance(rule, SigmaRule):
            st.reason = f"{type(rule).__name__}: not a detection rule"
            continue
        src = rule.logsource
        st.logsource = "/".join(str(x) for x in (src.product, src.category, src.service) if x)
        ls = find_logsource(src.product, src.category, src.service)
        if ls is None:
            st.reason = f"unsupported logsource: {st.logsource or '(none)'}"
            continue
        backend = backends.get(ls.name)
        if backend is None:
            backend = backends[ls.name] = sqliteBackend(pipeline_for(ls), fulltext_field=TEXT)
        try:
            queries = backend.convert_rule(rule)
        except SigmaError as exc:
            st.reason = f"conversion error: {exc}"
            continue
        if not queries:
            st.reason = "no query: rule only feeds a correlation rule (generate: false)"
            continue
        table = tables.ensure(ls)
        rows: set[int] = set()
        try:
            for q in queries:
                rows |= _run(tables, table, q, st)
        except sqlite3.Error as exc:
            st.reason = f"SQL error: {exc}"
            continue
        st.status, st.reason, st.matches = "evaluated", "", len(rows)
        if rows:
            hits.append((lr, sorted(rows), backend.required_fields(rule)))
    return SigmaRun(_alerts(hits, events), statuses)


def _run(tables: _Tables, table: str, query: str, st: RuleStatus) -> set[int]:
    head = f"SELECT * FROM {table} WHERE "
    if not query.startswith(head):
        raise sqlite3.OperationalError(f"unexpected query shape: {query[:80]}")
    sql = f"SELECT {ROW} FROM {table} WHERE {query[len(head):]}"
    for _ in range(64):  # add each absent field as an all-NULL column, then retry
        try:
            return {int(r[0]) for r in tables.db.execute(sql)}
        except sqlite3.OperationalError as exc:
            m = _MISSING.match(str(exc))
            if not m:
                raise
            name = m.group(1)
            tables.add_column(table, name)
            st.missing_fields.append(name)
    raise sqlite3.OperationalError("too many absent fields")


def _alerts(hits: list[tuple[LoadedRule, list[int], list[str]]], events: pd.DataFrame) -> pd.DataFrame:
    out = []
    for lr, rows, fields in hits:
        rule = lr.rule
        tags = ",".join(f"{t.namespace}.{t.name}" for t in (rule.tags or []) if t.namespace == "attack")
        level = rule.level.name.lower() if rule.level else ""
        for i in rows:
            ev = events.loc[i]
            out.append({
                "timestamp": ev["ts"], "rule_title": rule.title, "level": level, "host": ev["host"],
                "channel": _get(ev, "win.Channel") or ev["source"], "event_id": ev["event_id"],
                "record_id": _get(ev, "win.EventRecordID"), "details": _details(ev, fields),
                "rule_id": str(rule.id or ""), "tags": tags, "rule_file": lr.file,
                "file": ev["file"], "line": ev["line"],
            })
    df = pd.DataFrame(out, columns=ALERT_COLUMNS)
    if len(df):
        df["_lv"] = df["level"].map(LEVEL_ORDER).fillna(9)
        df = df.sort_values(["timestamp", "_lv", "rule_title"], kind="stable").drop(columns="_lv")
    return df.reset_index(drop=True)


def _get(ev: pd.Series, col: str) -> object:
    v = ev.get(col)
    return None if v is None or pd.isna(v) else v


def _details(ev: pd.Series, fields: list[str]) -> str:
    """``Field: value ¦ …`` for the fields the rule tests, else the event's message."""
    parts = []
    for f in fields:
        if f == TEXT:
            continue
        v = _get(ev, "win." + f) if _get(ev, "win." + f) is not None else _get(ev, f)
        if v is None and "zeek." + f in ev:
            v = _get(ev, "zeek." + f)
        if v is not None:
            parts.append(f"{f}: {str(v)[:300]}")
    if not parts:
        msg = _get(ev, "message") or _get(ev, "raw") or ""
        return str(msg)[:500]
    return " ¦ ".join(parts)


def shipped_rules() -> Path:
    """Folder of sopkit's own rules (Linux auth and web access), so a demo works without SigmaHQ."""
    return Path(__file__).resolve().parent.parent / "data" / "sigma"


#: Sigma level → sopkit severity.
SEVERITY_OF_LEVEL = {"critical": "critical", "high": "high", "medium": "medium", "low": "low", "informational": "info"}


def sigma_findings(run: SigmaRun, min_level: str = "high") -> list[Finding]:
    """One finding per fired rule and host at ``min_level`` or above, its alerts as evidence.

    Lower levels stay in the alerts table: a scanner user agent firing a thousand times is context,
    not a thousand anomalies to triage.
    """
    alerts = run.alerts
    if alerts.empty:
        return []
    worst = LEVEL_ORDER[min_level]
    keep = alerts[alerts["level"].map(LEVEL_ORDER).fillna(99) <= worst]
    found: list[Finding] = []
    where_col = keep["host"].astype("string").fillna(keep["file"].astype("string").map(
        lambda f: Path(f).name if isinstance(f, str) else "-", na_action="ignore")).fillna("-")
    keep = keep.assign(_where=where_col)
    for (rule_id, title, level, where), rows in keep.groupby(["rule_id", "rule_title", "level", "_where"], sort=True):
        tags = ",".join(sorted({t for tag in rows["tags"].dropna() for t in str(tag).split(",") if t}))
        attack = ",".join(sorted({t.split(".", 1)[1].upper() for t in tags.split(",")
                                  if t.startswith("attack.t")}))
        found.append(Finding(
            detector=f"sigma.{rule_id}", title_id=f"Sigma: {title} di {where} ({number(len(rows))} peristiwa)",
            title_en=f"Sigma: {title} on {where} ({len(rows)} events)",
            severity=SEVERITY_OF_LEVEL.get(str(level), "info"), first_seen=rows["timestamp"].min(),
            last_seen=rows["timestamp"].max(), attack=attack,
            score=min(1.0, 0.5 + len(rows) / 200), entities={"host": [where], "rule": [str(title)]},
            counts={"events": len(rows)},
            explanation_id=f"Aturan Sigma \u201c{title}\u201d (tingkat {level}) cocok dengan "
                           f"{number(len(rows))} peristiwa di {where}.",
            explanation_en=f"Sigma rule \u201c{title}\u201d (level {level}) matched {len(rows)} events on {where}.",
            recommendation_id="Periksa peristiwa yang cocok dan tentukan apakah perlu pemeriksaan lanjutan.",
            recommendation_en="Review the matching events and decide whether they need a deeper examination.",
            evidence=rows.drop(columns="_where").rename(columns={"timestamp": "ts"}).head(200).reset_index(drop=True),
            evidence_ref=f"sigma alerts: rule {rule_id}, host {where}, {len(rows)} rows"))
    return found
