"""Measure one command's wall time and peak memory from a small process (stdlib only).

``python benchmarks/_launch.py RESULT.json -- CMD [ARG…]`` runs CMD (stdin, stdout and stderr
inherited), waits for it with ``os.wait4`` and writes ``{"seconds", "cpu_seconds", "returncode",
"maxrss_kb", "anon_kb", "file_kb"}`` to RESULT.json (``cpu_seconds``: user + system time of CMD and
the children it waited for — unlike wall time, hardly affected by other load on the machine).

Why a separate launcher: on Linux ``ru_maxrss`` survives ``exec`` — a child started from a big
process (Python's subprocess uses vfork, sharing the parent's memory until exec) reports at least
the parent's peak RSS.  The benchmark driver holds hundreds of MB after building the inputs, so it
starts this launcher instead; the launcher is a few MB, and the command it starts is measured
cleanly.  A sampler thread also reads RssAnon/RssFile of the command from /proc every 20 ms, to
tell heap from file-backed pages (a memory-mapped capture counts in RSS without being heap).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time


def _sample(pid: int, peaks: dict, stop: threading.Event, interval: float) -> None:
    path = f"/proc/{pid}/status"
    while not stop.is_set():
        try:
            with open(path) as fh:
                for line in fh:
                    if line.startswith(("RssAnon:", "RssFile:")):
                        key, kb = line.split()[:2]
                        peaks[key] = max(peaks.get(key, 0), int(kb))
        except (OSError, ValueError):
            return
        stop.wait(interval)


def measure(cmd: list[str], interval: float = 0.02) -> dict:
    """Run ``cmd`` to completion; its wall seconds, exit code and memory peaks (KiB)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd)
    peaks: dict = {}
    stop = threading.Event()
    sampler = threading.Thread(target=_sample, args=(proc.pid, peaks, stop, interval), daemon=True)
    sampler.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    finally:
        stop.set()
    seconds = time.perf_counter() - start
    sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {"seconds": seconds, "cpu_seconds": usage.ru_utime + usage.ru_stime, "returncode": proc.returncode,
            "maxrss_kb": usage.ru_maxrss,
            "anon_kb": peaks.get("RssAnon:"), "file_kb": peaks.get("RssFile:")}


def main(argv: list[str]) -> int:
    """``RESULT.json -- CMD…``: measure CMD, write the result, exit with CMD's status (or 2)."""
    if len(argv) < 3 or argv[1] != "--":
        print("usage: _launch.py RESULT.json -- CMD [ARG...]", file=sys.stderr)
        return 2
    try:
        result = measure(argv[2:])
    except OSError as exc:
        print(f"_launch.py: cannot run {argv[2]!r}: {exc}", file=sys.stderr)
        return 2
    with open(argv[0], "w") as fh:
        json.dump(result, fh)
    code = result["returncode"]
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
