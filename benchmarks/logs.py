"""Benchmark of the log readers: access and auth lines/s, EVTX events/s, Sigma rule evaluation time.

Usage::

    .venv/bin/python benchmarks/logs.py [--lines 1000000] [--workdir /tmp/sopkit-bench-logs]
        [--shared ../shared] [--sigma-rules DIR] [--skip-baselines]

Inputs are made once in ``--workdir`` (never in the repository): the demo day's ``access.log`` and
``auth.log`` (``generate_day``, seed 7) repeated to ``--lines`` lines each. Every reader reads the
same file in this process, after a warm-up read of the small demo file (so numba's cached machine
code is loaded, and only reading is timed); *wall s* and *CPU s* (this process's user + system
time) are both shown, because the machine's cores are shared — lines/s divides by wall time.
sopkit's readers run ``--repeat`` times (default 3) and the fastest run is shown.

Peers: ``sopkit`` (default engine: the compiled scanners), ``sopkit regex`` (``engine="regex"``:
the RE2-over-chunks reader that was the default before, same table), a plain Python ``re`` loop
(one compiled pattern per line, ``int()``, ``datetime.strptime``, a list of tuples → DataFrame —
what a notebook would do), and ``apachelogs`` (access only; ``pip install apachelogs``, not a
sopkit dependency; skipped with the reason when absent).

Also: EVTX events/s (``read_winevt`` over the SigmaHQ regression ``.evtx`` files of
``--shared/conformance``, repeated until ≥ 2 s), and the time to evaluate sopkit's shipped Sigma
rules (``sopkit/data/sigma``) over 100k events of the generated logs; with ``--sigma-rules DIR``
(e.g. SigmaHQ's ``rules/windows/builtin/security``) those rules over 100k Windows events (the
regression ``.evtx`` events repeated).

Targets (from the issue): access ≥ 500,000 lines/s into the event table on one core; auth faster
than the plain ``re`` loop. Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from _util import load_average, machine_summary, markdown_table  # noqa: E402

from sopkit.logs.access import read_access  # noqa: E402
from sopkit.logs.auth import read_auth  # noqa: E402

ACCESS_TARGET = 500_000
COMBINED = re.compile(r'^(\S+) (\S+) (\S+) \[([^\]]+)\] "(.*?)" (\d{3}) (\d+|-)(?: "(.*?)" "(.*?)")?\s*$')
SYSLOG = re.compile(r"^(\w{3}) +(\d{1,2}) (\d\d:\d\d:\d\d) (\S+) ([^\s:\[]+)(?:\[(\d+)\])?: (.*)$")
AUTH = [(re.compile(p), action) for p, action in (
    (r"^Accepted (\S+) for (\S+) from (\S+) port (\d+)", "login"),
    (r"^Failed (\S+) for (?:invalid user )?(\S+) from (\S+) port (\d+)", "login_failed"),
    (r"^Invalid user (\S*) from (\S+)", "invalid_user"),
    (r"^pam_unix\((\S+)\): session (opened|closed) for user (\S+)", "session"),
    (r"^\s*(\S+) : .*USER=(\S+) ; COMMAND=(.*)$", "sudo"),
)]


def make_inputs(workdir: Path, lines: int) -> dict[str, Path]:
    """The demo day's access and auth logs, each repeated to ``lines`` lines (cached in ``workdir``)."""
    from sopkit.demo import generate_day

    workdir.mkdir(parents=True, exist_ok=True)
    demo = workdir / "demo"
    if not (demo / "auth.log").is_file() or not (demo / "access.log").is_file():
        generate_day(demo)
    out = {"demo_access": demo / "access.log", "demo_auth": demo / "auth.log"}
    for name in ("access", "auth"):
        path = workdir / f"{name}_{lines}.log"
        if not path.is_file():
            src = (demo / f"{name}.log").read_bytes().splitlines(keepends=True)
            reps = -(-lines // len(src))
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(b"".join((src * reps)[:lines]))
            tmp.rename(path)
        out[name] = path
    return out


def timed(fn: Callable[[], int]) -> tuple[int, float, float]:
    """``(rows, wall s, CPU s)`` of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    rows = fn()
    return rows, time.perf_counter() - wall, time.process_time() - cpu


def re_access(path: Path) -> int:
    """Plain Python baseline: one regex per line, ints and strptime, tuples → DataFrame."""
    rows, bad = [], 0
    with open(path, encoding="utf-8", errors="backslashreplace") as fh:
        for line in fh:
            m = COMBINED.match(line)
            if m is None:
                bad += 1
                continue
            h, ident, user, when, request, status, size, ref, ua = m.groups()
            ts = dt.datetime.strptime(when, "%d/%b/%Y:%H:%M:%S %z")
            method, _, rest = request.partition(" ")
            url = rest.rsplit(" ", 1)[0] if rest.endswith(("HTTP/1.0", "HTTP/1.1", "HTTP/2.0")) else rest
            rows.append((ts, h, None if user == "-" else user, method, url, int(status),
                         None if size == "-" else int(size), ref, ua))
    df = pd.DataFrame(rows, columns=["ts", "src_ip", "user", "method", "url", "status", "bytes", "referrer", "ua"])
    return len(df)


def re_auth(path: Path, year: int = 2026) -> int:
    """Plain Python baseline: syslog header regex, a few sshd/PAM/sudo patterns, strptime per line."""
    rows, bad = [], 0
    with open(path, encoding="utf-8", errors="backslashreplace") as fh:
        for line in fh:
            m = SYSLOG.match(line.rstrip("\n"))
            if m is None:
                bad += 1
                continue
            mon, day, hms, host, program, pid, msg = m.groups()
            ts = dt.datetime.strptime(f"{year} {mon} {day} {hms}", "%Y %b %d %H:%M:%S")
            action, fields = None, ()
            for pattern, name in AUTH:
                hit = pattern.match(msg)
                if hit:
                    action, fields = name, hit.groups()
                    break
            rows.append((ts, host, program, int(pid) if pid else None, msg, action, fields))
    df = pd.DataFrame(rows, columns=["ts", "host", "program", "pid", "message", "action", "fields"])
    return len(df)


def apachelogs_access(path: Path) -> int:
    """``apachelogs.LogParser(COMBINED)`` over every line, fields read into tuples → DataFrame."""
    from apachelogs import COMBINED as FORMAT
    from apachelogs import LogParser
    from apachelogs.errors import InvalidEntryError

    parser = LogParser(FORMAT)
    rows = []
    with open(path, encoding="utf-8", errors="backslashreplace") as fh:
        for line in fh:
            try:
                e = parser.parse(line)
            except InvalidEntryError:
                continue
            rows.append((e.request_time, e.remote_host, e.remote_user, e.request_line, e.final_status,
                         e.bytes_sent, e.headers_in["Referer"], e.headers_in["User-Agent"]))
    return len(pd.DataFrame(rows))


def reader_rows(inputs: dict[str, Path], skip_baselines: bool,
                repeat: int = 3) -> tuple[list[list[object]], dict[str, float]]:
    """Table rows (log, peer, lines, wall, CPU, lines/s, vs re loop) and lines/s by (log, peer).

    sopkit's readers run ``repeat`` times and the fastest run counts (the cores are shared, so a
    single run measures the neighbours too); the slow baselines run once.
    """
    read_access(inputs["demo_access"])  # warm-up: numba cache load, imports
    read_auth(inputs["demo_auth"], year=2026)
    peers: list[tuple[str, str, Callable[[], int]]] = [
        ("access", "sopkit", lambda: len(read_access(inputs["access"]).events)),
        ("access", "sopkit regex (before)", lambda: len(read_access(inputs["access"], engine="regex").events)),
        ("auth", "sopkit", lambda: len(read_auth(inputs["auth"], year=2026).events)),
        ("auth", "sopkit regex (before)", lambda: len(read_auth(inputs["auth"], year=2026, engine="regex").events)),
    ]
    if not skip_baselines:
        peers += [("access", "python re loop", lambda: re_access(inputs["access"])),
                  ("auth", "python re loop", lambda: re_auth(inputs["auth"]))]
        try:
            import apachelogs  # noqa: F401

            peers.append(("access", "apachelogs", lambda: apachelogs_access(inputs["access"])))
        except ImportError:
            print("apachelogs not installed (pip install apachelogs): skipped", file=sys.stderr)
    rate: dict[str, float] = {}
    raw: list[tuple[str, str, int, float, float]] = []
    for log, peer, fn in peers:
        print(f"{log}: {peer} …", file=sys.stderr)
        runs = [timed(fn) for _ in range(repeat if peer.startswith("sopkit") else 1)]
        rows, wall, cpu = min(runs, key=lambda r: r[1])
        rate[f"{log}/{peer}"] = rows / wall
        raw.append((log, peer, rows, wall, cpu))
    out = []
    for log, peer, rows, wall, cpu in sorted(raw, key=lambda r: (r[0], -r[2] / r[3])):
        base = rate.get(f"{log}/python re loop")
        out.append([log, peer, f"{rows:,}", f"{wall:.2f}", f"{cpu:.2f}", f"{rows / wall:,.0f}",
                    f"{rows / wall / base:.1f}×" if base else "–"])
    return out, rate


def evtx_row(shared: Path, min_seconds: float = 2.0) -> list[object] | None:
    """EVTX events/s over the SigmaHQ regression ``.evtx`` files, repeated until ``min_seconds``."""
    from sopkit.logs.winevt import read_winevt

    files = sorted((shared / "conformance/logs/sigmahq-regression").rglob("*.evtx"))
    if not files:
        print(f"no .evtx under {shared}/conformance: EVTX skipped", file=sys.stderr)
        return None
    read_winevt(files[0])
    events, rounds = 0, 0
    wall, cpu = time.perf_counter(), time.process_time()
    while time.perf_counter() - wall < min_seconds:
        events += sum(len(read_winevt(f).events) for f in files)
        rounds += 1
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return ["evtx", f"read_winevt ({len(files)} files × {rounds})", f"{events:,}", f"{wall:.2f}", f"{cpu:.2f}",
            f"{events / wall:,.0f}", "–"]


def sigma_rows(inputs: dict[str, Path], shared: Path, rules_dir: Path | None, n: int = 100_000) -> list[list[object]]:
    """Seconds to evaluate rule sets over ``n`` events: shipped rules on auth+access, ``rules_dir`` on Windows."""
    from sopkit.detect.sigma import evaluate, load_rules, shipped_rules

    half = n // 2
    auth = read_auth(inputs["auth"], year=2026).events.head(half)
    access = read_access(inputs["access"]).events.head(n - half)
    events = pd.concat([auth, access], ignore_index=True)
    rules = load_rules([shipped_rules()])
    rows = []
    wall, cpu = time.perf_counter(), time.process_time()
    run = evaluate(rules, events)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    rows.append(["sigma", f"shipped rules ({len(rules)}, {run.summary.get('evaluated', 0)} evaluated)",
                 f"{len(events):,}", f"{wall:.2f}", f"{cpu:.2f}", f"{len(events) / wall:,.0f}", "–"])
    if rules_dir is not None:
        from sopkit.logs.winevt import read_winevt

        files = sorted((shared / "conformance/logs/sigmahq-regression").rglob("*.evtx"))
        if not files:
            print("--sigma-rules: no Windows events (conformance .evtx absent): skipped", file=sys.stderr)
            return rows
        win = pd.concat([read_winevt(f).events for f in files], ignore_index=True)
        win = pd.concat([win] * (-(-n // len(win))), ignore_index=True).head(n)
        rules = load_rules([rules_dir])
        wall, cpu = time.perf_counter(), time.process_time()
        run = evaluate(rules, win)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        rows.append(["sigma", f"{rules_dir.name} ({len(rules)} rules, {run.summary.get('evaluated', 0)} evaluated)",
                     f"{len(win):,}", f"{wall:.2f}", f"{cpu:.2f}", f"{len(win) / wall:,.0f}", "–"])
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=1_000_000, help="lines per generated log (default 1,000,000)")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/sopkit-bench-logs"), help="inputs are built here")
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared", help="folder holding conformance/")
    ap.add_argument("--sigma-rules", type=Path, default=None, help="e.g. SigmaHQ rules/windows/builtin/security")
    ap.add_argument("--skip-baselines", action="store_true", help="sopkit only (no re loop, no apachelogs)")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each sopkit reader; the fastest counts")
    args = ap.parse_args(argv)
    if args.lines < 1:
        ap.error("--lines must be positive")
    if args.sigma_rules is not None and not args.sigma_rules.is_dir():
        ap.error(f"--sigma-rules {args.sigma_rules}: not a folder")
    if REPO in args.workdir.resolve().parents:
        ap.error("--workdir must be outside the repository")
    print(f"{machine_summary()}; {load_average()} before", file=sys.stderr)
    inputs = make_inputs(args.workdir, args.lines)
    rows, rate = reader_rows(inputs, args.skip_baselines, max(1, args.repeat))
    evtx = evtx_row(args.shared)
    if evtx is not None:
        rows.append(evtx)
    rows += sigma_rows(inputs, args.shared, args.sigma_rules)
    print(f"{machine_summary()}; {load_average()} after\n")
    print(markdown_table(["log", "peer", "lines/events", "wall s", "CPU s", "per s (wall)", "vs re loop"], rows))
    access, auth = rate["access/sopkit"], rate["auth/sopkit"]
    ok_access = access >= ACCESS_TARGET
    print(f"\n- target access ≥ {ACCESS_TARGET:,} lines/s: {access:,.0f} — {'PASS' if ok_access else 'FAIL'}")
    ok_auth = True
    if "auth/python re loop" in rate:
        ok_auth = auth > rate["auth/python re loop"]
        print(f"- target auth faster than the plain re loop: {auth:,.0f} vs {rate['auth/python re loop']:,.0f} "
              f"lines/s — {'PASS' if ok_auth else 'FAIL'}")
    print(f"- auth: {auth / rate['auth/sopkit regex (before)']:.1f}× the regex engine; access: "
          f"{access / rate['access/sopkit regex (before)']:.1f}×")
    return 0 if ok_access and ok_auth else 1


if __name__ == "__main__":
    sys.exit(main())
