"""The compiled flow engine equals FlowTable: same DataFrame (pandas.testing.assert_frame_equal) on
the Zeek conformance pairs, a sample of nDPI captures, a generated capture and synthetic packets
that reach the timers, port reuse, ICMP, tunnels, long histories and many data holes — whatever
the batch boundaries are."""

from __future__ import annotations

import csv
import socket
import subprocess
import sys

import dpkt
import pandas as pd
import pytest
from capbuild import pcap_bytes, write

from sopkit.capture.batch import packets_to_batch
from sopkit.capture.connschema import arrow_schema
from sopkit.capture.decode import iter_packets
from sopkit.capture.fastflows import FastFlowTable, build_flows_fast
from sopkit.capture.flows import FlowTable, build_flows
from sopkit.capture.packet import TH_ACK, TH_FIN, TH_RST, TH_SYN, Packet, TunnelKey

A = socket.inet_aton("10.0.0.1")
B = socket.inet_aton("10.0.0.2")
C = socket.inet_aton("192.168.1.9")
A6 = bytes.fromhex("20010db8000000000000000000000001")
B6 = bytes.fromhex("fe800000000000000000000000000002")
S = 1_000_000_000
T0 = 1_700_000_000 * S  # an epoch-sized clock, where float rounding of timer sums matters


def tcp(t, src, dst, sport, dport, flags, seq, ack=0, plen=0, win=8192, **kw):
    return Packet(T0 + int(t * S), src, dst, 6, sport, dport, ip_len=40 + plen, payload_len=plen,
                  tcp_flags=flags, seq=seq & 0xFFFFFFFF, ack=ack & 0xFFFFFFFF, window=win, payload=b"x" * plen,
                  ip_version=4 if len(src) == 4 else 6, **kw)


def udp(t, src, dst, sport, dport, plen, **kw):
    return Packet(T0 + int(t * S), src, dst, 17, sport, dport, ip_len=28 + plen, payload_len=plen,
                  ip_version=4 if len(src) == 4 else 6, **kw)


def batches(packets, size):
    return [packets_to_batch(packets[i:i + size]) for i in range(0, len(packets), size)]


def as_read_back(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` as it reads back from Parquet: a float column that is all missing (object Nones in
    a DataFrame, since pandas cannot infer its type) is float64 there."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object and out[col].isna().all():
            out[col] = out[col].astype("float64")
    return out


def check(packets, sizes=(10**9, 1, 7), **kw) -> pd.DataFrame:
    """build_flows_fast equals build_flows for every batch size; FlowTable's stats agree too; the
    Arrow table of the same rows (what ``sopkit flows`` writes to Parquet) reads back as that frame."""
    table = FlowTable(**kw)
    ref = build_flows(packets, table=table)
    for size in sizes:
        fast = FastFlowTable(capacity=16, **kw)
        got = build_flows_fast(batches(packets, size), table=fast)
        pd.testing.assert_frame_equal(got, ref)
        assert fast.stats == table.stats and fast.live == 0
    fast = FastFlowTable(capacity=16, **kw)
    for b in batches(packets, sizes[-1]):
        fast.add_batch(b)
    fast.end()
    arrow = fast.pop_table()
    assert arrow.schema.equals(arrow_schema(), check_metadata=True)
    pd.testing.assert_frame_equal(arrow.to_pandas(), as_read_back(ref))
    return ref


def session(t0, c, s, cp, sp, iss=1000, irs=5000, data=100):
    return [
        tcp(t0, c, s, cp, sp, TH_SYN, iss),
        tcp(t0 + 0.1, s, c, sp, cp, TH_SYN | TH_ACK, irs, iss + 1),
        tcp(t0 + 0.2, c, s, cp, sp, TH_ACK, iss + 1, irs + 1),
        tcp(t0 + 0.3, c, s, cp, sp, TH_ACK, iss + 1, irs + 1, plen=data),
        tcp(t0 + 0.4, s, c, sp, cp, TH_ACK, irs + 1, iss + 1 + data, plen=3 * data),
        tcp(t0 + 0.5, c, s, cp, sp, TH_ACK | TH_FIN, iss + 1 + data, irs + 1 + 3 * data),
        tcp(t0 + 0.6, s, c, sp, cp, TH_ACK | TH_FIN, irs + 1 + 3 * data, iss + 2 + data),
        tcp(t0 + 0.7, c, s, cp, sp, TH_ACK, iss + 2 + data, irs + 2 + 3 * data),
    ]


def test_tcp_states_port_reuse_and_timers_across_batches():
    pk = session(0, A, B, 40000, 8081)
    pk += session(2, A, B, 40000, 8081, iss=90000)  # same 5-tuple reused right after the close
    pk += [tcp(3, A, B, 40001, 8081, TH_SYN, 7)]  # unanswered: the attempt timer removes it
    pk += [tcp(4, B, A, 443, 40002, TH_SYN | TH_ACK, 1, 2)]  # SYN-ACK first: flipped roles
    pk += [tcp(4.1, A, B, 40003, 22, TH_SYN, 10), tcp(4.2, B, A, 22, 40003, TH_RST | TH_ACK, 0, 11)]  # REJ
    pk += session(5, A, B, 40004, 80, iss=2**32 - 50)  # sequence numbers wrap
    pk += [tcp(5.5, A, B, 40005, 80, TH_ACK, 500, 600, plen=10)]  # midstream: partial
    pk += [tcp(12, A, B, 40005, 80, TH_ACK, 510, 600, plen=10, win=0)]  # idle gap: expire chain ran
    pk += [tcp(400, A, B, 40005, 80, TH_ACK, 520, 600, plen=10)]  # after the 300 s inactivity
    pk += [tcp(401 + i, A, B, 50000 + i, 80, TH_SYN, i) for i in range(40)]  # > capacity: slots grow
    df = check(pk, sizes=(10**9, 1, 7, 10000))
    assert {"SF", "S0", "REJ", "OTH"} <= set(df["conn_state"])
    assert (df["id.orig_p"] == 40000).sum() == 2


def test_udp_dns_expiry_icmp_and_other_protocols():
    pk = [udp(0, A, B, 40000, 53, 30), udp(0.01, B, A, 53, 40000, 90), udp(30, A, B, 40000, 53, 30)]
    pk += [udp(1, B, A, 123, 40001, 48)]  # from a likely server port: flipped
    pk += [udp(2, A, socket.inet_aton("255.255.255.255"), 67, 68, 300)]  # broadcast is never flipped
    pk += [Packet(T0 + 3 * S, A, B, 1, 8, 0, ip_len=84, payload_len=56),
           Packet(T0 + 3 * S + 10, B, A, 1, 0, 0, ip_len=84, payload_len=56),
           Packet(T0 + 4 * S, B, A, 1, 3, 3, ip_len=56, payload_len=28),
           Packet(T0 + 5 * S, A6, B6, 58, 128, 0, ip_len=104, payload_len=64, ip_version=6),
           Packet(T0 + 5 * S + 7, B6, A6, 58, 129, 0, ip_len=104, payload_len=64, ip_version=6)]
    pk += [Packet(T0 + 6 * S, A, B, 132, ip_len=100), Packet(T0 + 7 * S, B, A, 132, ip_len=60)]
    pk += [udp(200 + i, A, B, 41000, 9999, i) for i in range(3)]  # > 60 s later: new connections
    check(pk, sizes=(10**9, 1, 3))


def test_checksums_no_conn_vlans_ipv6_and_local_nets():
    bad = tcp(1, A, B, 40000, 80, TH_ACK, 1, 1, plen=5, bad_checksum=True)
    bad_ip = udp(2, A, B, 1, 2, 3, bad_checksum=True, extra={"bad_ip_checksum": True})
    pk = session(0, A, B, 40000, 80) + [bad, bad_ip, udp(3, A, B, 5, 6, 7, bad_checksum=True),
                                        Packet(T0 + 4 * S, A, B, 47, ip_len=100, extra={"no_conn": True}),
                                        Packet(T0 + 4 * S, A, B, 4, ip_len=100)]
    pk += [udp(5, A, C, 7000, 7001, 10, vlan=100, inner_vlan=7)]
    pk += session(6, A6, B6, 40000, 443)
    for ignore in (False, True):
        check(pk, ignore_checksums=ignore)
    check(pk, local_nets=["10.0.0.0/8", "2001:db8::/32"])


def test_tunnel_parents_live_and_gone():
    outer = TunnelKey("vxlan", 17, C, 50000, A, 4789)
    inner = session(0.05, B, B6[:4], 1000, 2000)
    pk = [udp(0, C, A, 50000, 4789, 100)]
    for p in inner:
        p.tunnel = outer
    pk += inner[:4]
    gone = TunnelKey("teredo", 17, A, 3544, C, 3544)  # no outer connection seen: a hashed uid
    pk += [udp(0.5, B, C, 5, 6, 7, tunnel=gone)] + inner[4:]
    df = check(pk, sizes=(10**9, 1, 2))
    parents = df["tunnel_parents"].dropna().tolist()
    assert len(parents) == 2 and any("," in p for p in parents) is False


def test_long_history_and_many_holes_spill_out_of_the_inline_storage():
    pk = session(0, A, B, 40000, 80)[:3]
    # data with six holes (more blocks than kept inline), then one ACK over everything: missed_bytes
    pk += [tcp(1 + i / 100, A, B, 40000, 80, TH_ACK, 1001 + 200 * i + 100, 5001, plen=50) for i in range(6)]
    pk += [tcp(2, B, A, 80, 40000, TH_ACK, 5001, 1001 + 1300)]
    # 40 FINs at different sequence numbers each add an "F": history longer than 32 letters
    pk += [tcp(3 + i / 100, A, B, 40000, 80, TH_ACK | TH_FIN, 3000 + i, 5001) for i in range(40)]
    pk += [tcp(4, B, A, 80, 40000, TH_RST, 5001)]
    df = check(pk, sizes=(10**9, 1, 5))
    r = df.iloc[0]
    assert len(r["history"]) > 40 and r["missed_bytes"] > 0


def test_generated_capture_file(tmp_path):
    recs = []
    for i in range(30):
        cp = 30000 + i
        for j, (flags, seq, payload) in enumerate(((dpkt.tcp.TH_SYN, 100, b""), (dpkt.tcp.TH_ACK, 101, b"GET /"),
                                                   (dpkt.tcp.TH_FIN | dpkt.tcp.TH_ACK, 106, b""))):
            seg = dpkt.tcp.TCP(sport=cp, dport=80, seq=seq, flags=flags, data=payload)
            ip = dpkt.ip.IP(src=A, dst=B, p=6, data=seg)
            ip.len = 20 + len(bytes(seg))
            recs.append((T0 + i * 7 * S + j * 1000, bytes(dpkt.ethernet.Ethernet(src=b"\x02" * 6, dst=b"\x04" * 6,
                                                                               data=ip))))
    path = write(tmp_path / "gen.pcap", pcap_bytes(recs))
    ref = check(list(iter_packets([path])), sizes=(10**9, 4))
    assert len(ref) == 30
    # straight from the vectorized decoder's batches
    from sopkit.capture.fastdecode import iter_batches

    pd.testing.assert_frame_equal(build_flows_fast(iter_batches([path], batch_size=16)), ref)


def _conformance_jobs(conformance):
    z = conformance / "zeek"
    with open(z / "pairs.tsv", newline="") as fh:
        pairs = [r for r in csv.DictReader(fh, delimiter="\t") if r["kind"] == "conn.log"]
    return [(z / r["capture"], {"ignore_checksums": " -C " in r["zeek_command"],
                                "report_gaps_for_partial": "report_gaps_for_partial=T" in r["zeek_command"]})
            for r in pairs]


@pytest.mark.conformance
def test_zeek_conformance_pairs_identical(conformance):
    jobs = _conformance_jobs(conformance)
    assert len(jobs) == 34
    rows = 0
    for path, kw in jobs:
        rows += len(check(list(iter_packets([path])), sizes=(10**9, 7), **kw))
    assert rows >= 1603


@pytest.mark.conformance
def test_ndpi_sample_identical(conformance):
    captures = sorted((conformance / "ndpi" / "pcap").iterdir())
    sample = captures[::8]
    assert len(sample) >= 30
    for path in sample:
        check(list(iter_packets([path])), sizes=(10**9, 10000))


def test_numba_stays_out_of_plain_imports():
    code = ("import sys, sopkit, sopkit.capture.flows, sopkit.capture.fastflows; "
            "assert 'numba' not in sys.modules, 'numba imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_linger_check_rounds_like_flowtable_floats():
    """FlowTable tests ``last_ns + 5e9 < when`` in floats (256 ns steps at today's epoch): a SYN
    whose time rounds down is removed by the expire timer at +5 s, one that rounds up is not."""
    rows = []
    for off in (1, 255):
        syn = tcp(0, A, B, 40000, 80, TH_SYN, 1, bad_checksum=True)
        later = tcp(8, A, B, 40000, 80, TH_ACK, 2, 1, bad_checksum=True)
        syn.ts_ns += off
        later.ts_ns += off
        rows.append(len(check([syn, later], sizes=(10**9, 1))))
    assert rows == [2, 1]


def test_malformed_batch_is_a_clear_error():
    from sopkit.errors import CaptureError

    b = packets_to_batch(session(0, A, B, 40000, 80))
    b.columns["seq"] = b.columns["seq"].astype("i8")
    with pytest.raises(CaptureError, match="'seq'"):
        FastFlowTable().add_batch(b)
    b = packets_to_batch(session(0, A, B, 40000, 80))
    b.columns["tunnel"][0] = 3
    with pytest.raises(CaptureError, match="tunnel 3"):
        FastFlowTable().add_batch(b)


def test_timestamps_going_backwards():
    """Out-of-order capture times: timers already fired stay fired, as in FlowTable."""
    pk = session(0, A, B, 40000, 80)[:4]  # established, then idle: its expire chain is parked
    pk += [udp(20, A, C, 1, 2, 3)]  # fires timers up to t=20
    pk += [tcp(10, A, B, 40000, 80, TH_ACK | TH_FIN, 1101, 5001)]  # earlier than t=20
    pk += [tcp(9, B, A, 80, 40000, TH_ACK | TH_FIN, 5001, 1102)]
    pk += [udp(21 + i * 3, A, C, 1, 2, 3) for i in range(8)]
    check(pk, sizes=(10**9, 1, 2))


def test_threads_on_and_off_give_the_same_frame():
    pk = []
    for i in range(40):
        pk += session(i * 0.5, A, B, 40000 + i, 80)
    got = [build_flows_fast(batches(pk, 13), threads=t) for t in (True, False)]
    pd.testing.assert_frame_equal(got[0], got[1])
    pd.testing.assert_frame_equal(got[0], build_flows(pk))


def test_rows_frame_computes_community_ids_when_not_given():
    from sopkit.capture.fastrows import rows_frame

    pk = session(0, A, B, 40000, 80) + session(1, A6, B6, 40001, 443) + [udp(2, A, C, 53000, 53, 30)]
    ft = FastFlowTable()
    for b in batches(pk, 5):
        ft.add_batch(b)
    ft._drain()
    ft._grow()
    ft.T.finish(ft.st)
    ft._drain()
    fields = [c[0] for c in ft._chunks]
    cid = [c[3] for c in ft._chunks]
    given = rows_frame(ft.K, list(fields), {}, {}, 0, [], list(cid))
    computed = rows_frame(ft.K, list(fields), {}, {}, 0, [])
    pd.testing.assert_frame_equal(given, computed)
    pd.testing.assert_frame_equal(computed, build_flows(pk))


def test_unsorted_rows_are_the_removal_order_of_the_same_rows():
    """sort=False (what ``sopkit flows`` streams) keeps the kernel's removal order: the same rows,
    and sorting them by (ts, uid) gives exactly the sorted table/frame."""
    pk = []
    for i in range(30):
        pk += session(i * 0.3, A, B, 40000 + i, 80)[: 3 + i % 6]  # some close, some stay open
        pk.append(udp(i * 0.3 + 0.05, A, C, 50000 + i, 53, 30))
    pk.sort(key=lambda p: p.ts_ns)
    got = {}
    for sort in (True, False):
        ft = FastFlowTable(udp_inactivity=1)
        for b in batches(pk, 9):
            ft.add_batch(b)
        ft.end()
        removed = ft.pop_removed()
        got[sort] = removed.table(sort=sort)
    unsorted = got[False].to_pandas()
    assert not unsorted["ts_ns"].is_monotonic_increasing  # removal order is not start order here
    resorted = unsorted.sort_values(["ts_ns", "uid"], kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(resorted, got[True].to_pandas())
    pd.testing.assert_frame_equal(resorted, as_read_back(build_flows(pk, udp_inactivity=1)))
