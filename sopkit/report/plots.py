"""Figures for the traffic report: what a section head would rather look at than read.

Each function takes a table made by :mod:`sopkit.traffic.summary` and returns a matplotlib figure
sized for an A4 report, with labels in the report's language and times in the office's zone.
"""

from __future__ import annotations

import pandas as pd

from sopkit.report.i18n import number, t
from sopkit.timezones import resolve_zone

BLUE, ORANGE, GREY = "#0b5394", "#e69138", "#999999"


def _human_bytes(value: float, lang: str = "en") -> str:
    """An axis label for a byte count: three significant digits, ``2.5 MB`` (en) or ``2,5 MB`` (id)."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(value) < 1000 or unit == "TB":
            break
        value /= 1000
    if abs(value) >= 1000:  # thousands of TB
        return f"{number(round(value), lang)} {unit}"
    text = f"{value:.0f} {unit}" if unit == "B" else f"{value:.3g} {unit}"
    return text.replace(".", ",") if lang == "id" else text  # below 1000: no thousands separator


def _bytes_axis(lang: str):
    """A matplotlib tick formatter writing byte counts in the report's language."""
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda value, _pos: _human_bytes(value, lang))


def bandwidth_figure(series: pd.Series, zone: str, lang: str = "id"):
    """Bytes per interval over the day, as an area in the office's local time."""
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    abbrev, info = resolve_zone(zone)
    fig, ax = plt.subplots(figsize=(10, 3.2), dpi=100)
    if len(series):
        local = series.copy()
        local.index = pd.DatetimeIndex(local.index).tz_convert(info)
        ax.fill_between(local.index, local.to_numpy(), step="post", color=BLUE, alpha=0.85)
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M", tz=info))
    ax.yaxis.set_major_formatter(_bytes_axis(lang))
    ax.set_title(t("bandwidth_title", lang))
    ax.set_xlabel(f"{t('time_local', lang)} ({abbrev})")
    ax.set_ylabel(t("bytes_per_interval", lang))
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


def top_talkers_figure(talkers: pd.DataFrame, lang: str = "id"):
    """Horizontal bars of bytes sent and received per host, local hosts in blue, external in orange."""
    import matplotlib.pyplot as plt

    data = talkers.iloc[::-1]
    fig, ax = plt.subplots(figsize=(10, 0.35 * max(len(data), 3) + 1.2), dpi=100)
    colors = [BLUE if bool(v) else ORANGE for v in data["local"]]
    ax.barh(data["host"], data["bytes_sent"], color=colors, label=t("bytes_sent", lang))
    ax.barh(data["host"], data["bytes_received"], left=data["bytes_sent"], color=colors, alpha=0.45,
            label=t("bytes_received", lang))
    ax.xaxis.set_major_formatter(_bytes_axis(lang))
    ax.set_title(t("top_talkers", lang))
    from matplotlib.patches import Patch

    ax.legend(handles=[Patch(color=BLUE, label=t("local_host", lang)), Patch(color=ORANGE, label=t("external_host", lang)),
                       Patch(color=GREY, label=t("bytes_sent", lang)),
                       Patch(color=GREY, alpha=0.45, label=t("bytes_received", lang))],
              loc="lower right", fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def service_mix_figure(mix: pd.DataFrame, lang: str = "id"):
    """Bytes per (protocol, port), the port mix, as horizontal bars."""
    import matplotlib.pyplot as plt

    data = mix.iloc[::-1]
    labels = [f"{p}/{port}" for p, port in zip(data["proto"], data["port"], strict=True)]
    fig, ax = plt.subplots(figsize=(10, 0.32 * max(len(data), 3) + 1.2), dpi=100)
    ax.barh(labels, data["bytes"], color=BLUE)
    ax.xaxis.set_major_formatter(_bytes_axis(lang))
    ax.set_title(t("service_mix", lang))
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def direction_figure(mix: pd.DataFrame, lang: str = "id"):
    """Bytes and connections per direction (internal, outbound, inbound, external) side by side."""
    import matplotlib.pyplot as plt

    labels = [t(f"dir_{d}", lang) for d in mix["direction"]]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 2.8), dpi=100)
    left.bar(labels, mix["bytes"], color=[BLUE, ORANGE, "#6aa84f", GREY])
    left.yaxis.set_major_formatter(_bytes_axis(lang))
    left.set_title(t("bytes", lang))
    right.bar(labels, mix["flows"], color=[BLUE, ORANGE, "#6aa84f", GREY])
    right.set_title(t("connections", lang))
    for ax in (left, right):
        ax.grid(axis="y", alpha=0.3)
        ax.tick_params(axis="x", labelsize=8)
    fig.suptitle(t("direction_mix", lang))
    fig.tight_layout()
    return fig


def events_over_time_figure(events: pd.DataFrame, zone: str, lang: str = "id", freq: str = "1h"):
    """Events per interval, stacked by log source: a source that goes quiet shows as a gap."""
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    abbrev, info = resolve_zone(zone)
    fig, ax = plt.subplots(figsize=(10, 3.2), dpi=100)
    data = events.dropna(subset=["ts"])
    if len(data):
        counts = (data.assign(bin=data["ts"].dt.floor(freq)).groupby(["bin", "source"]).size()
                  .unstack(fill_value=0).sort_index())
        counts.index = pd.DatetimeIndex(counts.index).tz_convert(info)
        width = pd.Timedelta(freq) * 0.9
        bottom = None
        for i, source in enumerate(counts.columns):
            values = counts[source].to_numpy()
            ax.bar(counts.index, values, width=width, align="edge", bottom=bottom, label=str(source),
                   color=(BLUE, ORANGE, "#6aa84f", GREY, "#8e7cc3", "#c27ba0")[i % 6])
            bottom = values if bottom is None else bottom + values
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M", tz=info))
        ax.legend(fontsize=8, loc="upper left")
    ax.set_title(t("events_over_time", lang))
    ax.set_xlabel(f"{t('time_local', lang)} ({abbrev})")
    ax.set_ylabel(t("events", lang))
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig
