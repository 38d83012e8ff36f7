"""Presentation helpers for notebooks: localized headings, tables and plots that are safe to render.

Notebooks stay thin by calling these. Tables go out as pandas HTML, which escapes every cell, so
attacker-controlled strings (URLs, user agents, DNS names) appear as text and never as markup;
headings built from data are escaped here too. Times are shown in the office's zone. Numeric cells
are written in the report language's style (``1.234.567`` / ``0,52`` in Bahasa Indonesia) except in
columns that hold identifiers rather than quantities (ports, status codes, event ids, line numbers),
which are shown as they are: port ``8080`` must never read ``8.080``.
"""

from __future__ import annotations

import html
from collections.abc import Mapping

import pandas as pd

from sopkit.report.i18n import check_language, number, t
from sopkit.timezones import resolve_zone


def heading(key_or_text: str, lang: str = "id", level: int = 2) -> object:
    """A Markdown heading from a message id (or literal text), HTML-escaped."""
    from IPython.display import Markdown

    try:
        text = t(key_or_text, lang)
    except KeyError:
        text = key_or_text
    return Markdown(f"{'#' * level} {html.escape(text)}")


def local_times(values: pd.Series, zone: str) -> pd.Series:
    """UTC timestamps as office-local text such as ``24-11-2026 08:15:02 WIB``."""
    abbrev, info = resolve_zone(zone)
    ts = pd.to_datetime(values, utc=True)
    return ts.dt.tz_convert(info).dt.strftime("%d-%m-%Y %H:%M:%S").where(ts.notna(), "-") + f" {abbrev}"


#: columns (source names or message ids) whose numbers are identifiers, never grouped by thousands
IDENTIFIER_COLUMNS = frozenset({
    "port", "status", "line", "number", "event_id", "record_id", "http_status", "status_code", "pid", "ppid",
    "trans_id", "qtype", "rcode", "icmp_type", "icmp_code", "vlan", "ip_proto", "year", "window_days",
})
#: name endings that mark identifier columns (``id.orig_p``, ``dest_port``, ``rule_id``, ``reply_code``)
IDENTIFIER_SUFFIXES = ("_p", "_port", "_id", "_code")


def is_identifier(column: object) -> bool:
    """Whether ``column`` (a source column name or message id) holds identifiers rather than quantities."""
    name = str(column).lower()
    return name in IDENTIFIER_COLUMNS or name.endswith(IDENTIFIER_SUFFIXES)


class Table:
    """A report table: always HTML-escaped, never truncated mid-cell (pandas cuts cells at 50 characters
    by default, which would hide the interesting end of an attack URL).

    With ``lang`` set, numeric columns are written in that language's number style by
    :func:`sopkit.report.i18n.number`, except identifier columns (:func:`is_identifier` on the column
    name, plus the display names in ``verbatim``); without it pandas' own formatting is kept.
    """

    def __init__(self, df: pd.DataFrame, lang: str | None = None, verbatim: tuple[str, ...] = ()) -> None:
        self.df = df
        self.lang = None if lang is None else check_language(lang)
        self.verbatim = frozenset(verbatim)

    def formatters(self) -> dict[object, object]:
        """Per-column cell formatters for ``DataFrame.to_html``: the localized number columns."""
        if self.lang is None:
            return {}
        lang = self.lang
        return {col: (lambda v: number(v, lang)) for col, dtype in self.df.dtypes.items()
                if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
                and col not in self.verbatim and not is_identifier(col)}

    def _repr_html_(self) -> str:
        with pd.option_context("display.max_colwidth", None):
            return self.df.to_html(escape=True, border=0, classes="dataframe", na_rep="-",
                                   formatters=self.formatters() or None)

    def __repr__(self) -> str:
        return self.df.to_string(max_colwidth=120)


def table(df: pd.DataFrame, columns: Mapping[str, str], lang: str = "id", *, zone: str = "WIB",
          times: tuple[str, ...] = (), max_rows: int = 50) -> Table:
    """Select ``columns`` (name → message id), localize times and headers, cap the rows shown.

    Returns a :class:`Table` whose ``display()`` renders an escaped HTML table with numbers in the style
    of ``lang`` (identifier columns such as ports and status codes as they are); an empty input yields
    a one-row table saying so, so a report never shows a silent gap.
    """
    out = df.loc[:, list(columns)].head(max_rows).copy()
    for col in times:
        if col in out:
            out[col] = local_times(out[col], zone)
    verbatim = tuple(t(key, lang) for col, key in columns.items() if is_identifier(col) or is_identifier(key))
    out.columns = [t(key, lang) for key in columns.values()]
    if out.empty:
        out = pd.DataFrame([[t("none", lang)] + [""] * (len(out.columns) - 1)], columns=out.columns)
    return Table(out.reset_index(drop=True).rename(index=lambda i: i + 1), lang, verbatim)


def bar_over_time(counts: pd.Series, zone: str, *, title: str, ylabel: str, xlabel: str):
    """A bar chart of counts per interval (UTC index) drawn in the office's local time."""
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    abbrev, info = resolve_zone(zone)
    local = counts.copy()
    local.index = pd.DatetimeIndex(local.index).tz_convert(info)
    fig, ax = plt.subplots(figsize=(10, 3.2), dpi=100)
    width = (local.index[1] - local.index[0]) if len(local) > 1 else pd.Timedelta(minutes=10)
    ax.bar(local.index, local.values, width=width * 0.9, align="edge", color="#0b5394")
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M", tz=info))
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.set_xlabel(f"{xlabel} ({abbrev})")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig
