"""``python -m sopkit.demo OUT_DIR [--date YYYY-MM-DD] [--seed N] [--scale X]``: write a demo day.

The command behind ``make demo``; prints the files written and exits 2 with the message on a
:class:`~sopkit.errors.SopkitError` (bad date, seed, scale, time zone or output folder).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from sopkit.demo.day import generate_day
from sopkit.errors import SopkitError


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, generate the day, print where it went."""
    ap = argparse.ArgumentParser(prog="python -m sopkit.demo", description="Generate a demo monitoring day.")
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--date", type=dt.date.fromisoformat, default=dt.date(2026, 11, 24))
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--tz", default="Asia/Jakarta")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    args = ap.parse_args(argv)
    try:
        ds = generate_day(args.out_dir, date=args.date, seed=args.seed, scale=args.scale, tz=args.tz,
                          progress=not args.quiet)
    except SopkitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for name in ("capture", "auth_log", "access_log", "eve_json", "labels"):
        path = getattr(ds, name)
        print(f"{name:<10} {path}  ({path.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
