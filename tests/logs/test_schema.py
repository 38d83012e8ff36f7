from __future__ import annotations

import pandas as pd

from sopkit.logs.schema import EVENT_COLUMNS, EVENT_DTYPES, LogResult, Rejection, conform, empty_events


def test_empty_and_conform_dtypes():
    empty = empty_events()
    assert list(empty.columns) == EVENT_COLUMNS and len(empty) == 0
    assert {c: str(t) for c, t in empty.dtypes.items()} == {c: str(pd.Series(dtype=d).dtype) if d != "datetime64[ns, UTC]"
                                                            else "datetime64[ns, UTC]" for c, d in EVENT_DTYPES.items()}
    df = conform(pd.DataFrame({"ts": ["2026-11-24T08:00:00+07:00"], "src_port": [22], "win.EventID": [4625]}))
    assert df.loc[0, "ts"] == pd.Timestamp("2026-11-24 01:00", tz="UTC")
    assert df.loc[0, "src_port"] == 22 and pd.isna(df.loc[0, "user"])
    assert list(df.columns) == [*EVENT_COLUMNS, "win.EventID"]


def test_rejections_frame():
    result = LogResult(empty_events(), [Rejection("auth.log", 7, "not syslog", "garbage")])
    assert result.rejections_frame().to_dict("records") == [
        {"file": "auth.log", "line": 7, "reason": "not syslog", "raw": "garbage"}]
