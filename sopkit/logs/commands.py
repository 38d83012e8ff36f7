"""``sopkit logs FILE… -o events.parquet|csv`` and ``sopkit sigma --rules DIR FILE… -o alerts.csv``.

``logs`` reads log files (format sniffed, or forced with ``--format``) through
:func:`sopkit.logs.read.read_logs` into the normalized event table; ``sigma`` reads them the same way
and evaluates Sigma rules (:mod:`sopkit.detect.sigma`), printing how many rules were loaded,
skipped (by reason), evaluated and fired. Outputs are written atomically and CSV cells are
neutralised against spreadsheet formula injection, with the helpers of
:mod:`sopkit.capture.meta_commands`. Summaries go to standard error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sopkit.errors import SopkitError


def _format_of(out: str) -> str:
    suffix = Path(out).suffix.lower().lstrip(".")
    if suffix not in ("csv", "tsv", "parquet"):
        raise SopkitError(f"{out}: output must end in .csv, .tsv or .parquet")
    return suffix


def _read(args: argparse.Namespace):
    from sopkit.logs.read import read_logs

    kw = {"format": args.format}
    if args.year is not None:
        kw["year"] = args.year
    if args.tz:
        kw["tz"] = args.tz
    return read_logs([Path(p) for p in args.files], **kw)


def _report_read(result) -> None:
    print(f"events: {len(result.events)}; rejected lines: {len(result.rejections)}", file=sys.stderr)
    for file, fmt in result.formats.items():
        print(f"  {file}: {fmt}", file=sys.stderr)
    if result.rejections:
        counts = result.rejections_frame().groupby("reason").size().sort_values(ascending=False)
        for reason, n in counts.head(10).items():
            print(f"  rejected {n}: {reason}", file=sys.stderr)
    for key, value in result.assumptions.items():
        print(f"  assumed {key} = {value}", file=sys.stderr)


def _cmd_logs(args: argparse.Namespace) -> int:
    from sopkit.capture.meta_commands import write_table

    result = _read(args)
    _report_read(result)
    events = result.events.copy()
    if "ts" in events:
        events["ts"] = events["ts"].astype("string") if _format_of(args.output) != "parquet" else events["ts"]
    write_table(events, args.output, _format_of(args.output))
    return 0


def _cmd_sigma(args: argparse.Namespace) -> int:
    from sopkit.capture.meta_commands import write_table
    from sopkit.detect.sigma import evaluate, load_rules, shipped_rules

    rules = load_rules(args.rules or [shipped_rules()])
    result = _read(args)
    _report_read(result)
    run = evaluate(rules, result.events)
    s = run.summary
    print(f"rules loaded {s['loaded']}, skipped {s['skipped']}, evaluated {s['evaluated']}, fired {s['fired']}; "
          f"alerts {s['alerts']}", file=sys.stderr)
    for reason, n in sorted(run.skipped_reasons().items(), key=lambda kv: -kv[1]):
        print(f"  skipped {n}: {reason}", file=sys.stderr)
    alerts = run.alerts.assign(timestamp=run.alerts["timestamp"].astype("string"))
    write_table(alerts, args.output, _format_of(args.output) if args.output else "csv")
    if args.rule_report:
        write_table(run.rules_frame().assign(missing_fields=lambda d: d["missing_fields"].map(",".join)),
                    args.rule_report, _format_of(args.rule_report))
    return 0


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", metavar="FILE", help="log files (plain or gzip)")
    p.add_argument("--format", default="auto", help="log format (default: auto, sniffed per file)")
    p.add_argument("--year", type=int, help="year for syslog lines that carry none (default: from the file)")
    p.add_argument("--tz", help="zone of times written without one: WIB, WITA, WIT or an IANA name")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``logs`` and ``sigma`` subcommands."""
    logs = subparsers.add_parser("logs", help="read log files into the normalized event table",
                                 description="Read log files (auth, syslog, access, Windows events, FortiGate, "
                                             "iptables, Suricata, Zeek) into one event table.")
    _common(logs)
    logs.add_argument("-o", "--output", required=True, metavar="EVENTS.parquet|csv", help="output table")
    logs.set_defaults(func=_cmd_logs)

    sigma = subparsers.add_parser("sigma", help="evaluate Sigma rules over log files",
                                  description="Evaluate Sigma rules (files or folders; default: sopkit's own "
                                              "Linux/web rules) over log files and write the alerts.")
    sigma.add_argument("--rules", action="append", metavar="DIR|FILE", help="Sigma rules (repeatable)")
    _common(sigma)
    sigma.add_argument("-o", "--output", metavar="ALERTS.csv", help="alerts table (default: CSV on stdout)")
    sigma.add_argument("--rule-report", metavar="RULES.csv", help="also write the per-rule account")
    sigma.set_defaults(func=_cmd_sigma)
