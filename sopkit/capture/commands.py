"""``sopkit flows``: captures → Zeek-compatible connection table (conn.log TSV, CSV or Parquet).

What the command skipped is printed to stderr (files that are not captures, frames the decoder could
not use and why, packets the flow table dropped), so nothing is lost silently.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone

from sopkit.errors import CaptureError, ParameterError


def _time_ns(text: str, what: str) -> int:
    """Epoch seconds or an ISO-8601 time (UTC when no offset is given) as ns since the epoch."""
    try:
        return int(round(float(text) * 1e9))
    except ValueError:
        pass
    try:
        dt = datetime.fromisoformat(text)
    except ValueError as e:
        raise ParameterError(f"{what}: {text!r} is neither epoch seconds nor an ISO-8601 time") from e
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return int(dt.timestamp()) * 1_000_000_000 + dt.microsecond * 1000


def _cmd_flows(args: argparse.Namespace) -> int:
    from sopkit.capture.decode import Decoder
    from sopkit.capture.flows import FlowTable, build_flows
    from sopkit.capture.readers import iter_frames
    from sopkit.capture.zeek import write_conn_log

    start = _time_ns(args.start, "--start") if args.start else None
    end = _time_ns(args.end, "--end") if args.end else None
    for net in args.local_net or []:
        import ipaddress

        try:
            ipaddress.ip_network(net, strict=False)
        except ValueError as e:
            raise ParameterError(f"--local-net: {net!r} is not a CIDR network") from e
    flow_kw = dict(tcp_inactivity=args.tcp_timeout, udp_inactivity=args.udp_timeout,
                   icmp_inactivity=args.udp_timeout, ignore_checksums=args.ignore_checksums,
                   local_nets=args.local_net)
    if args.engine == "exact":
        frames = iter_frames(args.captures, start_ns=start, end_ns=end, progress=args.progress)
        for msg in frames.rejected:
            print(f"skipped: {msg}", file=sys.stderr)
        dec = Decoder()
        table = FlowTable(**flow_kw)

        def packets():
            for f in frames:
                yield from dec.decode(f)

        df = build_flows(packets(), table=table)
        decode_stats = dec.stats
    else:
        from sopkit.capture.fastdecode import iter_batches
        from sopkit.capture.fastflows import FastFlowTable, build_flows_fast

        stream = iter_batches(args.captures, start_ns=start, end_ns=end, progress=args.progress)
        for msg in stream.rejected:
            print(f"skipped: {msg}", file=sys.stderr)
        if not stream.readers:
            raise CaptureError(f"no readable capture among {', '.join(map(str, args.captures))}")
        table = FastFlowTable(**flow_kw)
        df = build_flows_fast(stream, table=table)
        decode_stats = stream.decode_stats
    for reason, n in sorted(decode_stats.items()):
        print(f"decoder: {n} {reason}", file=sys.stderr)
    for reason, n in table.stats.items():
        if n and reason != "packets":
            print(f"flows: {n} packets {reason.replace('_', ' ')}", file=sys.stderr)
    print(f"flows: {table.stats['packets']} packets -> {len(df)} connections", file=sys.stderr)
    fmt = args.format
    out = args.output
    if fmt == "zeek":
        if out is None or out == "-":
            import tempfile
            from pathlib import Path

            with tempfile.TemporaryDirectory() as tmp:
                p = write_conn_log(df, Path(tmp) / "conn.log")
                sys.stdout.write(p.read_text(encoding="utf-8"))
        else:
            write_conn_log(df, out)
    elif fmt == "csv":
        df.to_csv(sys.stdout if out in (None, "-") else out, index=False)
    else:
        if out in (None, "-"):
            raise ParameterError("--format parquet needs -o FILE")
        df.to_parquet(out, index=False)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``sopkit flows`` to the top-level parser."""
    p = subparsers.add_parser("flows", help="connection table (Zeek conn.log semantics) from captures",
                              description="Build a Zeek-compatible connection table from pcap/pcapng files.")
    p.add_argument("captures", nargs="+", help="capture files or directories")
    p.add_argument("--format", choices=("zeek", "csv", "parquet"), default="zeek")
    p.add_argument("-o", "--output", help="output file (default: stdout; required for parquet)")
    p.add_argument("--ignore-checksums", action="store_true", help="keep packets with bad checksums (Zeek -C)")
    p.add_argument("--tcp-timeout", type=float, default=300.0, metavar="S", help="TCP inactivity timeout")
    p.add_argument("--udp-timeout", type=float, default=60.0, metavar="S",
                   help="UDP/ICMP/other inactivity timeout")
    p.add_argument("--local-net", action="append", metavar="CIDR", help="local network (repeatable)")
    p.add_argument("--start", help="keep packets at or after this time (epoch s or ISO-8601)")
    p.add_argument("--end", help="keep packets before this time (epoch s or ISO-8601)")
    p.add_argument("--progress", action="store_true", help="show a progress bar")
    p.add_argument("--engine", choices=("fast", "exact"), default="fast",
                   help="fast: compiled decoder and flow engine (default); exact: the per-packet reference "
                        "path (same output, slower)")
    p.set_defaults(func=_cmd_flows)
