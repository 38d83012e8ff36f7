"""Run history: what each monitoring run saw, kept as Parquet so the next run can compare.

Layout (a Parquet dataset that pandas, pyarrow and Dask read as is)::

    <root>/<kind>/<table>/day=YYYY-MM-DD/<run_id>.parquet

``kind`` is the SOP (``traffic``, ``logs``), ``table`` what was recorded (``summary``, ``hosts``,
``destinations``, ``findings``). Each file is written atomically and never modified; a day analysed
again (another run, another language) adds a file, and loading keeps only the newest run of each
day, so re-runs never count twice. Comparisons look at days before the one being analysed.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

_SAFE = re.compile(r"^[A-Za-z0-9_.-]+$")


class HistoryStore:
    """The history folder of one installation (by default ``outputs/history``)."""

    def __init__(self, root: Path | str = Path("outputs") / "history") -> None:
        self.root = Path(root)

    def _dir(self, kind: str, table: str, day: dt.date) -> Path:
        for name in (kind, table):
            if not _SAFE.match(name):
                raise ValueError(f"history names must be simple words, got {name!r}")
        return self.root / kind / table / f"day={day.isoformat()}"

    def record(self, kind: str, table: str, day: dt.date, run_id: str, frame: pd.DataFrame) -> Path:
        """Store ``frame`` as what run ``run_id`` saw for ``day`` (atomic: temp file + rename)."""
        if not _SAFE.match(run_id):
            raise ValueError(f"run id must be a simple word, got {run_id!r}")
        folder = self._dir(kind, table, day)
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{run_id}.parquet"
        fd, tmp = tempfile.mkstemp(prefix=f".{run_id}.", suffix=".tmp", dir=folder)
        os.close(fd)
        try:
            frame.assign(run_id=run_id).to_parquet(tmp, index=False)
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return target

    def load(self, kind: str, table: str, *, before: dt.date | None = None, days: int | None = None) -> pd.DataFrame:
        """Rows recorded for the days before ``before`` (all days if None), at most ``days`` back.

        Adds a ``day`` column (date). Only the newest run of each day counts.
        """
        base = self.root / kind / table
        frames = []
        for folder in sorted(base.glob("day=*")) if base.is_dir() else []:
            day = dt.date.fromisoformat(folder.name[4:])
            if before is not None and (day >= before or (days is not None and day < before - dt.timedelta(days=days))):
                continue
            files = sorted(folder.glob("*.parquet"), key=lambda p: p.stat().st_mtime_ns)
            if files:
                frames.append(pd.read_parquet(files[-1]).assign(day=day))
        if not frames:
            return pd.DataFrame()
        return pd.concat(frames, ignore_index=True)

    def days(self, kind: str, table: str) -> list[dt.date]:
        """The days that have a record, oldest first."""
        base = self.root / kind / table
        return sorted(dt.date.fromisoformat(p.name[4:]) for p in base.glob("day=*")) if base.is_dir() else []


def new_items(current: pd.DataFrame, past: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """Rows of ``current`` whose ``keys`` never occur in ``past`` (e.g. new hosts, new destinations)."""
    if past.empty:
        return current.iloc[0:0] if current.empty else current.copy()
    seen = pd.MultiIndex.from_frame(past[list(keys)].astype("string"))
    mine = pd.MultiIndex.from_frame(current[list(keys)].astype("string"))
    return current.loc[~mine.isin(seen)].reset_index(drop=True)


def volume_change(current: pd.DataFrame, past: pd.DataFrame, key: str, value: str) -> pd.DataFrame:
    """``value`` per ``key`` today against the median and maximum of the past days that had it.

    Columns: key, value (today), past_median, past_max, past_days, ratio (today / median; NaN when the
    key has no history). Keys absent today but present before are not listed (see :func:`new_items`).
    """
    today = current.groupby(key)[value].sum()
    if past.empty:
        stats = pd.DataFrame(index=today.index, columns=["past_median", "past_max", "past_days"], dtype="float64")
    else:
        per_day = past.groupby([key, "day"])[value].sum().groupby(level=0)
        stats = pd.DataFrame({"past_median": per_day.median(), "past_max": per_day.max(), "past_days": per_day.size()})
    out = stats.reindex(today.index).assign(**{value: today})
    out["past_days"] = out["past_days"].fillna(0).astype("int64")
    out["ratio"] = out[value] / out["past_median"].where(out["past_median"] > 0)
    return out.reset_index()[[key, value, "past_median", "past_max", "past_days", "ratio"]]
