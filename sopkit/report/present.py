"""Presentation helpers for notebooks: localized headings, tables and plots that are safe to render.

Notebooks stay thin by calling these. Tables go out as pandas HTML, which escapes every cell, so
attacker-controlled strings (URLs, user agents, DNS names) appear as text and never as markup;
headings built from data are escaped here too. Times are shown in the office's zone.
"""

from __future__ import annotations

import html
from collections.abc import Mapping

import pandas as pd

from sopkit.report.i18n import t
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


class Table:
    """A report table: always HTML-escaped, never truncated mid-cell (pandas cuts cells at 50 characters
    by default, which would hide the interesting end of an attack URL)."""

    def __init__(self, df: pd.DataFrame) -> None:
        self.df = df

    def _repr_html_(self) -> str:
        with pd.option_context("display.max_colwidth", None):
            return self.df.to_html(escape=True, border=0, classes="dataframe", na_rep="-")

    def __repr__(self) -> str:
        return self.df.to_string(max_colwidth=120)


def table(df: pd.DataFrame, columns: Mapping[str, str], lang: str = "id", *, zone: str = "WIB",
          times: tuple[str, ...] = (), max_rows: int = 50) -> Table:
    """Select ``columns`` (name → message id), localize times and headers, cap the rows shown.

    Returns a :class:`Table` whose ``display()`` renders an escaped HTML table; an empty input yields
    a one-row table saying so, so a report never shows a silent gap.
    """
    out = df.loc[:, list(columns)].head(max_rows).copy()
    for col in times:
        if col in out:
            out[col] = local_times(out[col], zone)
    out.columns = [t(key, lang) for key in columns.values()]
    if out.empty:
        out = pd.DataFrame([[t("none", lang)] + [""] * (len(out.columns) - 1)], columns=out.columns)
    return Table(out.reset_index(drop=True).rename(index=lambda i: i + 1))


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
