from __future__ import annotations

import datetime as dt
import math
import time

import pandas as pd
import pytest

from sopkit.history import HistoryStore, new_items, volume_change

D = dt.date(2026, 11, 24)


def hosts(values):
    return pd.DataFrame({"host": list(values), "bytes_sent": list(values.values())})


def test_record_and_load_newest_run_per_day(tmp_path):
    store = HistoryStore(tmp_path)
    for back, volume in ((3, 100), (2, 120), (1, 110)):
        store.record("traffic", "hosts", D - dt.timedelta(days=back), f"run{back}", hosts({"10.0.0.1": volume}))
    store.record("traffic", "hosts", D - dt.timedelta(days=1), "rerun", hosts({"10.0.0.1": 999}))  # same day again
    time.sleep(0.01)
    store.record("traffic", "hosts", D, "today", hosts({"10.0.0.1": 5000}))
    past = store.load("traffic", "hosts", before=D)
    assert sorted(past["bytes_sent"]) == [100, 120, 999], "a re-run replaces its day, today is excluded"
    assert set(past["run_id"]) == {"run3", "run2", "rerun"}
    assert len(store.load("traffic", "hosts", before=D, days=2)) == 2
    assert store.days("traffic", "hosts") == [D - dt.timedelta(days=n) for n in (3, 2, 1, 0)]
    assert store.load("traffic", "nothing").empty
    assert not list(tmp_path.rglob("*.tmp")), "no temporary files left behind"
    with pytest.raises(ValueError, match="simple words"):
        store.record("../etc", "hosts", D, "x", hosts({"a": 1}))


def test_new_items_and_volume_change(tmp_path):
    past = pd.DataFrame({"host": ["a", "a", "b"], "dst": ["x", "y", "x"], "bytes_sent": [10, 30, 5],
                         "day": [D - dt.timedelta(days=2), D - dt.timedelta(days=1), D - dt.timedelta(days=1)]})
    current = pd.DataFrame({"host": ["a", "a", "c"], "dst": ["x", "z", "x"], "bytes_sent": [400, 0, 7]})
    assert new_items(current, past, ["host", "dst"]).to_dict("list") == {
        "host": ["a", "c"], "dst": ["z", "x"], "bytes_sent": [0, 7]}
    assert len(new_items(current, pd.DataFrame(), ["host"])) == 3
    change = volume_change(current, past, "host", "bytes_sent").set_index("host")
    assert change.loc["a", "bytes_sent"] == 400 and change.loc["a", "past_median"] == 20
    assert change.loc["a", "ratio"] == 20 and change.loc["a", "past_days"] == 2
    assert change.loc["c", "past_days"] == 0 and math.isnan(change.loc["c", "ratio"])
