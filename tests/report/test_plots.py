from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402

from sopkit.report.plots import (  # noqa: E402
    _human_bytes,
    bandwidth_figure,
    direction_figure,
    service_mix_figure,
    top_talkers_figure,
)


def test_human_bytes():
    assert [_human_bytes(v) for v in (0, 999, 1000, 2_500_000, 3e12)] == ["0 B", "999 B", "1 KB", "2.5 MB", "3 TB"]
    assert [_human_bytes(v, "id") for v in (999, 2_500_000, 123_400_000, 3.5e15)] == ["999 B", "2,5 MB", "123 MB",
                                                                                      "3.500 TB"]
    assert _human_bytes(3.5e15) == "3,500 TB"


def test_figures_have_data_and_localized_titles():
    idx = pd.date_range("2026-11-24 00:00", periods=6, freq="10min", tz="UTC")
    bw = bandwidth_figure(pd.Series([1, 5, 3, 0, 2, 9], index=idx, dtype="float64"), "WITA", "en")
    assert bw.axes[0].get_title() == "Traffic volume over the day" and "WITA" in bw.axes[0].get_xlabel()
    talkers = pd.DataFrame({"host": ["10.0.0.1", "203.0.113.5"], "local": [True, False],
                            "bytes_sent": [500, 20], "bytes_received": [10, 400]})
    tt = top_talkers_figure(talkers, "id")
    assert tt.axes[0].get_title() == "Host dengan traffic terbesar"
    assert len(tt.axes[0].patches) == 4 and [x.get_text() for x in tt.axes[0].get_yticklabels()] == [
        "203.0.113.5", "10.0.0.1"]
    mix = pd.DataFrame({"proto": ["tcp", "udp"], "port": [443, 53], "bytes": [1000, 10]})
    assert [x.get_text() for x in service_mix_figure(mix).axes[0].get_yticklabels()] == ["udp/53", "tcp/443"]
    dirs = pd.DataFrame({"direction": ["internal", "outbound", "inbound", "external"], "bytes": [1, 2, 3, 0],
                         "flows": [4, 5, 6, 0]})
    fig = direction_figure(dirs, "en")
    assert [x.get_text() for x in fig.axes[0].get_xticklabels()] == ["Internal", "Outbound", "Inbound", "External"]


def test_events_over_time_stacks_sources():
    from sopkit.report.plots import events_over_time_figure

    ts = pd.to_datetime(["2026-11-24 01:10", "2026-11-24 01:20", "2026-11-24 03:05", "2026-11-24 01:30"], utc=True)
    events = pd.DataFrame({"ts": ts, "source": ["auth", "auth", "auth", "access"]})
    fig = events_over_time_figure(events, "WIB", "en")
    ax = fig.axes[0]
    assert ax.get_title() == "Log events per hour by source"
    heights = sorted(round(p.get_height()) for p in ax.patches)
    assert heights == [0, 1, 1, 2]  # access: 1 at 08:00 WIB, 0 at 10:00; auth: 2 and 1
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["access", "auth"]
