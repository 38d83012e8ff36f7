"""``generate_day``: orchestrates background, attacks and the writers into one dataset folder.

Generators append ``(ts_ns, frame)`` pairs in causal order per conversation; the whole list is
sorted once by timestamp (a stable sort, so ties keep their causal order and output stays
byte-identical for a seed) and written with :class:`dpkt.pcap.Writer`. All randomness comes from
``numpy.random.default_rng`` seeded with ``seed`` (one stream per step — background, network
attacks, web attacks — so attack times and sizes do not depend on ``scale``).
"""

from __future__ import annotations

import datetime as dt
import math
import os
import tempfile
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
from dpkt import pcap
from tqdm.auto import tqdm

from sopkit.demo import attacks, background, labels, logs, webattacks
from sopkit.demo.network import Day
from sopkit.demo.sessions import Ctx
from sopkit.errors import ParameterError


@dataclass(frozen=True)
class DemoDataset:
    """Paths of one generated demo day and the parameters that produced it."""

    root: Path
    capture: Path
    auth_log: Path
    access_log: Path
    eve_json: Path
    labels: Path
    date: dt.date
    tz: str
    seed: int


def _write_pcap(path: Path, frames: list[tuple[int, bytes]]) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            writer = pcap.Writer(fh, snaplen=65535, linktype=pcap.DLT_EN10MB)
            write = writer.writepkt_time
            for ts, frame in frames:
                write(frame, ts / 1e9)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _check(date: dt.date, seed: int, scale: float, tz: str) -> None:
    if not isinstance(date, dt.date) or isinstance(date, dt.datetime):
        raise ParameterError(f"generate_day: date must be a datetime.date, got {date!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ParameterError(f"generate_day: seed must be a non-negative int, got {seed!r}")
    if not isinstance(scale, (int, float)) or not math.isfinite(scale) or scale <= 0 or scale > 100:
        raise ParameterError(f"generate_day: scale must be a number in (0, 100], got {scale!r}")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise ParameterError(f"generate_day: unknown time zone {tz!r}") from exc


def generate_day(out_dir: Path, *, date: dt.date = dt.date(2026, 11, 24), seed: int = 7, scale: float = 1.0,
                 tz: str = "Asia/Jakarta", progress: bool = False) -> DemoDataset:
    """Generate one office day into ``out_dir`` (created if needed) and return its paths.

    ``scale`` multiplies the benign background volume (the planted attacks stay the same size);
    the same ``seed`` (and other arguments) gives byte-identical files.
    """
    _check(date, seed, scale, tz)
    root = Path(out_dir)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ParameterError(f"generate_day: cannot create output folder {root}: {exc}") from exc
    day = Day(date, tz)
    ctx = Ctx(day=day, rng=np.random.default_rng(seed))
    steps = [("background", lambda: background.generate(ctx, float(scale))),
             ("network attacks", lambda: attacks.generate(ctx)),
             ("web attacks", lambda: webattacks.generate(ctx))]
    found: list[dict] = []
    bar = tqdm(total=len(steps) + 2, desc="demo day", disable=not progress)
    for k, (name, step) in enumerate(steps):
        # one independent stream per step: the planted attacks do not move when ``scale`` changes
        ctx.rng = np.random.default_rng([seed, k])
        bar.set_postfix_str(name)
        out = step()
        if out:
            found.extend(out)
        bar.update()
    bar.set_postfix_str("sorting")
    frames = ctx.sink.frames
    frames.sort(key=itemgetter(0))
    if frames and (frames[0][0] < day.start_ns or frames[-1][0] >= day.end_ns):
        raise RuntimeError(f"demo generator bug: frames outside the day {date} ({tz})")
    bar.update()
    bar.set_postfix_str("writing")
    ds = DemoDataset(root=root, capture=root / "traffic.pcap", auth_log=root / "auth.log",
                     access_log=root / "access.log", eve_json=root / "eve.json", labels=root / "labels.json",
                     date=date, tz=tz, seed=seed)
    _write_pcap(ds.capture, frames)
    logs.atomic_write_lines(ds.auth_log, logs.syslog_lines(day, ctx.auth))
    logs.atomic_write_lines(ds.access_log, logs.access_lines(day, ctx.access))
    logs.atomic_write_lines(ds.eve_json, logs.eve_lines(day, ctx.eve))
    labels.write(ds.labels, labels.build(date, tz, seed, float(scale), found))
    bar.update()
    bar.close()
    return ds
