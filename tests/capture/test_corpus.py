"""Robustness over the conformance corpus: every capture reads and decodes without an exception.

Per-file packet counts and undecodable reasons are printed (``pytest -s`` shows them). The
assertions are only what is robustly true: no exception, known files yield packets, known damaged
files produce counted rejections, and for the 34 Zeek ``conn.log`` pairs the packets this decoder
yields add up, per connection 5-tuple, to Zeek's packet and IP-byte totals.
"""

from __future__ import annotations

import collections
import csv
import ipaddress
import time
from pathlib import Path

import pytest

from sopkit.capture.decode import Decoder
from sopkit.capture.readers import open_capture, sniff

pytestmark = pytest.mark.conformance
ROOTS = ("zeek/traces", "ndpi/pcap", "stopddos")


def decode_file(path: Path) -> tuple[Decoder, list, object]:
    d = Decoder()
    r = open_capture(path)
    pkts = [p for fr in r for p in d.decode(fr)]
    d.finish()
    return d, pkts, r.stats


@pytest.fixture(scope="module")
def corpus(conformance):
    """Decode every capture once: {relative path: (frames, packets, decoder stats, reader stats)}."""
    results = {}
    t0 = time.perf_counter()
    frames = 0
    for root in ROOTS:
        for f in sorted((conformance / root).rglob("*")):
            if not f.is_file():
                continue
            assert sniff(f), f"{f} is not recognised as a capture"
            d, pkts, st = decode_file(f)
            rel = str(f.relative_to(conformance))
            results[rel] = (d.frames, len(pkts), d.stats, st)
            frames += d.frames
    dt = time.perf_counter() - t0
    reasons = collections.Counter()
    for rel, (nf, npk, stats, _st) in results.items():
        reasons.update(stats)
        print(f"{rel}: {nf} frames, {npk} packets, {dict(stats.most_common(3))}")
    print(f"corpus: {len(results)} files, {frames} frames in {dt:.1f} s ({frames / dt:.0f} frames/s)")
    print("reasons:", dict(reasons.most_common()))
    return results


def test_every_capture_decodes(corpus):
    assert sum(1 for k in corpus if k.startswith("zeek/")) == 805
    assert len(corpus) >= 805 + 200


@pytest.mark.parametrize("rel, min_packets", [
    ("zeek/traces/wikipedia.pcap", 100),
    ("zeek/traces/ssh/ssh.pcap", 1000),
    ("zeek/traces/tunnels/Teredo.pcap", 100),
    ("zeek/traces/pcapng-multi-interface.pcapng", 5),
    ("zeek/traces/echo-connections.pcap.gz", 1),
    ("ndpi/pcap/synscan.pcap", 1000),
])
def test_known_files_yield_packets(corpus, rel, min_packets):
    assert corpus[rel][1] >= min_packets


@pytest.mark.parametrize("rel, reason", [
    ("zeek/traces/trunc/ip4-trunc.pcap", "truncated IPv4 header"),
    ("zeek/traces/trunc/ip6-trunc.pcap", "truncated IPv6 header"),
    ("zeek/traces/trunc/ip6-ext-trunc.pcap", "truncated IPv6 extension header"),
    ("zeek/traces/trunc/trunc-hdr.pcap", "truncated Ethernet header"),
    ("zeek/traces/ipv4/fragmented-3.pcap", "IPv4 fragment with DF set"),
    ("zeek/traces/ipv4/fragmented-4.pcap", "overlapping fragment with different data"),
])
def test_known_bad_files_are_counted(corpus, rel, reason):
    assert corpus[rel][2][reason] >= 1
    assert corpus[rel][3].truncated_records >= 0


def test_cut_real_capture_keeps_complete_records(conformance, tmp_path):
    src = (conformance / "zeek/traces/wikipedia.pcap").read_bytes()
    full = list(open_capture(conformance / "zeek/traces/wikipedia.pcap"))
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(src[: len(src) // 2])
    r = open_capture(cut)
    part = list(r)
    assert 0 < len(part) < len(full)
    assert [f[:4] for f in part] == [f[:4] for f in full[: len(part)]]
    assert len(r.stats.warnings) == 1 and "file ends inside the record" in r.stats.warnings[0]


def _ip(b: bytes) -> str:
    return str(ipaddress.ip_address(b))


def test_zeek_pairs_per_tuple_packet_and_byte_totals(conformance):
    """Packets that Zeek would count (no ``no_conn``; bad checksums dropped without ``-C``) sum,
    per unordered 5-tuple, to the baseline conn.log's orig+resp packets and IP bytes."""
    pairs = [r for r in csv.DictReader(open(conformance / "zeek/pairs.tsv"), delimiter="\t")
             if r["kind"] == "conn.log"]
    assert len(pairs) == 34
    for row in pairs:
        keep_bad = "-C" in row["zeek_command"]
        got_p, got_b = collections.Counter(), collections.Counter()
        _d, pkts, _st = decode_file(conformance / "zeek" / row["capture"])
        for p in pkts:
            if p.extra.get("no_conn") or (p.bad_checksum and not keep_bad):
                continue
            ports = p.proto in (6, 17)
            k = (p.proto, *sorted([(_ip(p.src), p.sport if ports else 0), (_ip(p.dst), p.dport if ports else 0)]))
            got_p[k] += 1
            got_b[k] += p.ip_len
        exp_p, exp_b = collections.Counter(), collections.Counter()
        fields: list[str] = []
        for line in open(conformance / "zeek" / row["expected"]):
            if line.startswith("#fields"):
                fields = line.rstrip("\n").split("\t")[1:]
            if line.startswith("#"):
                continue
            v = dict(zip(fields, line.rstrip("\n").split("\t"), strict=True))
            six = ":" in v["id.orig_h"]
            proto = {"tcp": 6, "udp": 17, "icmp": 58 if six else 1}.get(v["proto"]) or int(v.get("ip_proto", 0))
            ports = proto in (6, 17)
            k = (proto, *sorted([(v["id.orig_h"], int(v["id.orig_p"]) if ports else 0),
                                 (v["id.resp_h"], int(v["id.resp_p"]) if ports else 0)]))
            exp_p[k] += int(v["orig_pkts"]) + int(v["resp_pkts"])
            exp_b[k] += int(v["orig_ip_bytes"]) + int(v["resp_ip_bytes"])
        assert (got_p, got_b) == (exp_p, exp_b), row["capture"]
