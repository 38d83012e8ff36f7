"""Peer workers that :mod:`capture` runs as child processes (so each one's peak RSS is its own).

``python benchmarks/_peers.py dpkt CAPTURE [-o OUT.parquet]``
    The plain-Python baseline: ``dpkt.pcap.Reader`` → ``dpkt.ethernet.Ethernet`` objects → a dict
    keyed by the canonical 5-tuple accumulating first/last time and packets/bytes per direction,
    then a DataFrame (written as Parquet when ``-o`` is given).  No inactivity timeouts, no TCP
    state: the honest "simple Python" way people write this, and an upper bound on what it costs.
``python benchmarks/_peers.py sopkit-fast CAPTURE -o OUT.parquet``
    sopkit's compiled path called as a library (``fastdecode.iter_batches`` →
    ``fastflows.build_flows_fast`` → Parquet), for as long as ``sopkit flows`` has no engine option.
``python benchmarks/_peers.py nfstream CAPTURE``
    nfstream's ``NFStreamer`` over the file with nDPI dissection off (``n_dissections=0``) and
    statistics off, so it builds flows only, like the others; flows are counted, not kept.

Every worker ends with ``flows: P packets -> C connections`` on stderr, the line ``sopkit flows``
prints, so the driver parses all of them the same way.
"""

from __future__ import annotations

import argparse
import sys


def dpkt_flows(path: str) -> tuple[int, list[tuple]]:
    """(packets read, flow rows) of the plain dpkt + dict builder over one pcap file.

    A row is (first_ts, last_ts, proto, addr_a, port_a, addr_b, port_b, pkts a→b, bytes a→b,
    pkts b→a, bytes b→a) with (addr_a, port_a) the endpoint of the first packet seen.
    """
    import dpkt

    flows: dict[tuple, list] = {}
    packets = 0
    ip_types = (dpkt.ip.IP, dpkt.ip6.IP6)
    l4_types = (dpkt.tcp.TCP, dpkt.udp.UDP)
    with open(path, "rb") as fh:
        for ts, buf in dpkt.pcap.Reader(fh):
            packets += 1
            try:
                eth = dpkt.ethernet.Ethernet(buf)
            except (dpkt.UnpackError, IndexError):
                continue
            ip = eth.data
            if not isinstance(ip, ip_types):
                continue
            l4 = ip.data
            if isinstance(l4, l4_types):
                sport, dport = l4.sport, l4.dport
            else:
                sport = dport = 0
            proto = ip.p if isinstance(ip, dpkt.ip.IP) else ip.nxt
            a, b = (ip.src, sport), (ip.dst, dport)
            fwd = a <= b
            key = (proto, a, b) if fwd else (proto, b, a)
            rec = flows.get(key)
            if rec is None:
                rec = flows[key] = [ts, ts, fwd, 0, 0, 0, 0]
            rec[1] = ts
            if fwd == rec[2]:
                rec[3] += 1
                rec[4] += len(buf)
            else:
                rec[5] += 1
                rec[6] += len(buf)
    rows = []
    for (proto, lo, hi), (first, last, first_fwd, p1, b1, p2, b2) in flows.items():
        a, b = (lo, hi) if first_fwd else (hi, lo)
        rows.append((first, last, proto, a[0], a[1], b[0], b[1], p1, b1, p2, b2))
    return packets, rows


def _dpkt(args: argparse.Namespace) -> int:
    import socket

    import pandas as pd

    packets, rows = dpkt_flows(args.capture)
    if args.output:
        def text(addr: bytes) -> str:
            return socket.inet_ntop(socket.AF_INET if len(addr) == 4 else socket.AF_INET6, addr)

        df = pd.DataFrame([(r[0], r[1] - r[0], r[2], text(r[3]), r[4], text(r[5]), r[6], *r[7:]) for r in rows],
                          columns=["ts", "duration", "proto", "orig_h", "orig_p", "resp_h", "resp_p",
                                   "orig_pkts", "orig_bytes", "resp_pkts", "resp_bytes"])
        df.to_parquet(args.output, index=False)
    print(f"flows: {packets} packets -> {len(rows)} connections", file=sys.stderr)
    return 0


def _sopkit_fast(args: argparse.Namespace) -> int:
    from sopkit.capture.fastdecode import iter_batches
    from sopkit.capture.fastflows import FastFlowTable, build_flows_fast

    stream = iter_batches([args.capture])
    table = FastFlowTable()
    df = build_flows_fast(stream, table=table)
    df.to_parquet(args.output, index=False)
    print(f"flows: {table.stats['packets']} packets -> {len(df)} connections", file=sys.stderr)
    return 0


def _nfstream(args: argparse.Namespace) -> int:
    from nfstream import NFStreamer

    streamer = NFStreamer(source=args.capture, n_dissections=0, statistical_analysis=False)
    flows = packets = 0
    for flow in streamer:
        flows += 1
        packets += flow.bidirectional_packets
    print(f"flows: {packets} packets -> {flows} connections", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Command line of the workers (see the module docstring)."""
    p = argparse.ArgumentParser(description="benchmark peer workers (run by benchmarks/capture.py)")
    sub = p.add_subparsers(dest="peer", required=True)
    for name, func, needs_out in (("dpkt", _dpkt, False), ("sopkit-fast", _sopkit_fast, True),
                                  ("nfstream", _nfstream, False)):
        s = sub.add_parser(name)
        s.add_argument("capture")
        s.add_argument("-o", "--output", required=needs_out)
        s.set_defaults(func=func)
    args = p.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
