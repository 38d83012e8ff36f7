"""``sopkit flows`` end to end on a capture generated here with dpkt."""

from __future__ import annotations

import argparse
import struct

import dpkt
import pandas as pd
import pytest

from sopkit.capture import commands
from sopkit.capture.zeek import read_zeek_log
from sopkit.errors import CaptureError, ParameterError, SopkitError

A, B = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])


def _frame(src, dst, sport, dport, flags, seq, ack=0, data=b""):
    t = dpkt.tcp.TCP(sport=sport, dport=dport, flags=flags, seq=seq, ack=ack, win=1024, data=data)
    ip = dpkt.ip.IP(src=src, dst=dst, p=6, data=t, ttl=64)
    ip.len = 20 + len(bytes(t))
    eth = dpkt.ethernet.Ethernet(src=b"\x02" * 6, dst=b"\x04" * 6, type=0x0800, data=ip)
    return bytes(eth)


def _pcap(path):
    S, SA, AK, FA = dpkt.tcp.TH_SYN, dpkt.tcp.TH_SYN | dpkt.tcp.TH_ACK, dpkt.tcp.TH_ACK, dpkt.tcp.TH_FIN | dpkt.tcp.TH_ACK
    frames = [
        _frame(A, B, 40000, 80, S, 100),
        _frame(B, A, 80, 40000, SA, 900, 101),
        _frame(A, B, 40000, 80, AK, 101, 901, b"GET / HTTP/1.0\r\n\r\n"),
        _frame(B, A, 80, 40000, FA, 901, 119),
        _frame(A, B, 40000, 80, FA, 119, 902),
    ]
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for i, f in enumerate(frames):
        out.append(struct.pack("<IIII", 1_700_000_000, i * 1000, len(f), len(f)) + f)
    path.write_bytes(b"".join(out))
    return path


def _parser():
    p = argparse.ArgumentParser()
    commands.register(p.add_subparsers())
    return p


def test_flows_zeek_and_csv(tmp_path, capsys):
    cap = _pcap(tmp_path / "a.pcap")
    args = _parser().parse_args(["flows", str(cap), "-o", str(tmp_path / "conn.log"), "--local-net", "10.0.0.0/8"])
    assert args.func(args) == 0
    log = read_zeek_log(tmp_path / "conn.log")
    r = log.iloc[0]
    assert (r["conn_state"], r["history"], r["orig_bytes"], r["local_orig"]) == ("SF", "ShDfF", 18, True)
    assert "5 packets -> 1 connections" in capsys.readouterr().err
    args = _parser().parse_args(["flows", str(cap), "--format", "csv", "-o", str(tmp_path / "f.csv")])
    assert args.func(args) == 0
    df = pd.read_csv(tmp_path / "f.csv")
    assert df["orig_pkts"].tolist() == [3] and df["resp_pkts"].tolist() == [2]


def test_time_window_and_errors(tmp_path):
    cap = _pcap(tmp_path / "a.pcap")
    args = _parser().parse_args(["flows", str(cap), "--format", "csv", "-o", str(tmp_path / "f.csv"),
                                 "--start", "1700000000.0025"])
    assert args.func(args) == 0
    assert pd.read_csv(tmp_path / "f.csv")["orig_pkts"].tolist() == [1]
    junk = tmp_path / "junk.pcap"
    junk.write_bytes(b"not a capture at all")
    args = _parser().parse_args(["flows", str(junk)])
    with pytest.raises(CaptureError):
        args.func(args)
    args = _parser().parse_args(["flows", str(cap), "--start", "yesterday"])
    with pytest.raises(ParameterError, match="--start"):
        args.func(args)
    args = _parser().parse_args(["flows", str(cap), "--format", "parquet"])
    with pytest.raises(ParameterError, match="parquet"):
        args.func(args)


def test_engines_agree_and_library_entry_point(tmp_path):
    from sopkit.capture.flows import flows_from_captures

    cap = _pcap(tmp_path / "a.pcap")
    outputs = {}
    for engine in ("fast", "exact"):
        out = tmp_path / f"{engine}.parquet"
        args = _parser().parse_args(["flows", str(cap), "--engine", engine, "--format", "parquet", "-o", str(out)])
        assert args.func(args) == 0
        outputs[engine] = pd.read_parquet(out)
    pd.testing.assert_frame_equal(outputs["fast"], outputs["exact"])
    stats: dict = {}
    lib = flows_from_captures(str(cap), engine="exact", decoder_stats=stats)
    pd.testing.assert_frame_equal(lib, flows_from_captures(str(cap)))
    assert lib["history"].tolist() == ["ShDfF"]
    with pytest.raises(CaptureError, match="no readable capture"):
        flows_from_captures(str(tmp_path / "absent.pcap"))
    with pytest.raises(ValueError, match="engine must be"):
        flows_from_captures(str(cap), engine="turbo")


def _udp_frame(src, dst, sport, dport, data):
    u = dpkt.udp.UDP(sport=sport, dport=dport, data=data)
    u.ulen = 8 + len(data)
    ip = dpkt.ip.IP(src=src, dst=dst, p=17, data=u, ttl=64)
    ip.len = 20 + len(bytes(u))
    return bytes(dpkt.ethernet.Ethernet(src=b"\x02" * 6, dst=b"\x04" * 6, type=0x0800, data=ip))


def _many_pcap(path, n=240):
    """``n`` TCP connections (closed, reset or left open), UDP exchanges that time out and lone UDP
    packets, 2 s apart."""
    S, SA, AK = dpkt.tcp.TH_SYN, dpkt.tcp.TH_SYN | dpkt.tcp.TH_ACK, dpkt.tcp.TH_ACK
    FA, R = dpkt.tcp.TH_FIN | dpkt.tcp.TH_ACK, dpkt.tcp.TH_RST
    recs = []
    for i in range(n):
        t = 1_700_000_000 * 10**9 + i * 2 * 10**9
        c = bytes([10, 0, i // 250, 1 + i % 250])
        srv = bytes([192, 0, 2, 1 + i % 7])
        sp = 20000 + i
        frames = [_frame(c, srv, sp, 80, S, 100), _frame(srv, c, 80, sp, SA, 900, 101)]
        if i % 3 == 0:
            frames += [_frame(c, srv, sp, 80, AK, 101, 901, b"x" * (i % 50)), _frame(srv, c, 80, sp, FA, 901, 101 + i % 50),
                       _frame(c, srv, sp, 80, FA, 101 + i % 50, 902)]
        elif i % 3 == 1:
            frames += [_frame(c, srv, sp, 80, R, 101)]
        if i % 4 == 0:
            frames += [_udp_frame(c, srv, 30000 + i, 53, b"q" * 20), _udp_frame(srv, c, 53, 30000 + i, b"a" * 40)]
        if i % 10 == 5:  # one packet: no duration
            frames += [_udp_frame(c, srv, 40000 + i, 5000, b"z" * 10)]
        recs += [(t + k * 1000, f) for k, f in enumerate(frames)]
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for ts, f in recs:
        out.append(struct.pack("<IIII", ts // 10**9, ts % 10**9 // 1000, len(f), len(f)) + f)
    path.write_bytes(b"".join(out))
    return path


def _sorted(df):
    return df.sort_values(["ts", "uid"], kind="stable").reset_index(drop=True)


def _want(cap):
    from sopkit.capture.flows import flows_from_captures

    return flows_from_captures(str(cap), local_nets=["10.0.0.0/8"])


def test_streamed_outputs_equal_the_sorted_table(tmp_path, capsys):
    from sopkit.capture.zeek import CONN_FIELDS

    cap = _many_pcap(tmp_path / "many.pcap")
    base = ["flows", str(cap), "--local-net", "10.0.0.0/8", "--chunk-rows", "7", "--udp-timeout", "5"]
    want = flows_from(cap, udp=5)
    assert len(want) == 240 + 60 + 24 and want["local_orig"].all() and want["duration"].isna().sum() == 24
    # Parquet: several row groups, removal order (not sorted), same rows and dtypes
    out = tmp_path / "s.parquet"
    args = _parser().parse_args([*base, "--format", "parquet", "-o", str(out)])
    assert args.func(args) == 0
    got = pd.read_parquet(out)
    assert not got["ts_ns"].is_monotonic_increasing
    pd.testing.assert_frame_equal(_sorted(got), want)
    assert f"-> {len(want)} connections" in capsys.readouterr().err
    # --sort: the old behaviour, exactly the library's table
    args = _parser().parse_args([*base, "--sort", "--format", "parquet", "-o", str(tmp_path / "o.parquet")])
    assert args.func(args) == 0
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "o.parquet"), want)
    # Zeek TSV, to a file and to stdout
    from sopkit.capture.zeek import write_conn_log

    write_conn_log(want, tmp_path / "want.log")
    want_log = read_zeek_log(tmp_path / "want.log")
    args = _parser().parse_args([*base, "-o", str(tmp_path / "conn.log")])
    assert args.func(args) == 0
    text = (tmp_path / "conn.log").read_text()
    assert text.count("#fields") == 1 and text.rstrip().splitlines()[-1].startswith("#close")
    log = read_zeek_log(tmp_path / "conn.log")
    assert list(log.columns) == CONN_FIELDS
    pd.testing.assert_frame_equal(_sorted(log), _sorted(want_log))
    capsys.readouterr()
    args = _parser().parse_args(base)
    assert args.func(args) == 0
    (tmp_path / "stdout.log").write_text(capsys.readouterr().out)
    pd.testing.assert_frame_equal(_sorted(read_zeek_log(tmp_path / "stdout.log")), _sorted(want_log))
    # CSV: one header, rows equal after the same CSV round trip
    want.to_csv(tmp_path / "want.csv", index=False)
    args = _parser().parse_args([*base, "--format", "csv", "-o", str(tmp_path / "s.csv")])
    assert args.func(args) == 0
    assert (tmp_path / "s.csv").read_text().count("ts,ts_ns,uid") == 1
    pd.testing.assert_frame_equal(_sorted(pd.read_csv(tmp_path / "s.csv")), pd.read_csv(tmp_path / "want.csv"))
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary files left


def flows_from(cap, udp):
    from sopkit.capture.flows import flows_from_captures

    return flows_from_captures(str(cap), local_nets=["10.0.0.0/8"], udp_inactivity=udp, icmp_inactivity=udp)


def test_stream_flows_blocks_and_parquet_schema(tmp_path):
    """Small batches: many blocks of at least chunk_rows rows; each becomes one Parquet row group."""
    import pyarrow.parquet as pq

    from sopkit.capture.fastdecode import iter_batches
    from sopkit.capture.fastflows import FastFlowTable

    cap = _many_pcap(tmp_path / "many.pcap")
    want = flows_from(cap, udp=5)

    class Blocks:
        def __init__(self):
            self.sizes = []
            self.frames = []

        def write(self, df):
            self.sizes.append(len(df))
            self.frames.append(df)

    sink = Blocks()
    table = FastFlowTable(local_nets=["10.0.0.0/8"], udp_inactivity=5, icmp_inactivity=5)
    n = commands.stream_flows(iter_batches(cap, batch_size=50), table, sink, chunk_rows=20, threads=False)
    assert n == len(want) == sum(sink.sizes) and len(sink.sizes) >= 5
    assert all(s >= 20 for s in sink.sizes[:-1])
    pd.testing.assert_frame_equal(_sorted(pd.concat(sink.frames, ignore_index=True)), want)
    out = tmp_path / "s.parquet"
    psink = commands._Sink("parquet", str(out))
    table = FastFlowTable(local_nets=["10.0.0.0/8"], udp_inactivity=5, icmp_inactivity=5)
    commands.stream_flows(iter_batches(cap, batch_size=50), table, psink, chunk_rows=20)
    psink.close()
    assert pq.ParquetFile(out).num_row_groups == len(sink.sizes)
    pd.testing.assert_frame_equal(_sorted(pd.read_parquet(out)), want)


def test_parquet_all_missing_object_column_then_values(tmp_path):
    """A first block whose object column is all missing (no Arrow type yet) fixes it as strings."""
    out = tmp_path / "x.parquet"
    sink = commands._Sink("parquet", str(out))
    sink.write(pd.DataFrame({"a": [1, 2], "note": [None, None]}))
    sink.write(pd.DataFrame({"a": [3], "note": ["seen"]}))
    sink.close()
    got = pd.read_parquet(out)
    assert got["a"].tolist() == [1, 2, 3] and got["note"].tolist()[2] == "seen" and got["note"].isna().sum() == 2
    sink = commands._Sink("parquet", str(tmp_path / "y.parquet"))
    sink.write(pd.DataFrame({"a": [1]}))
    with pytest.raises(SopkitError, match="columns"):
        sink.write(pd.DataFrame({"b": [1]}))
    sink.abort()
    assert not (tmp_path / "y.parquet").exists() and sorted(p.name for p in tmp_path.iterdir()) == ["x.parquet"]


def test_empty_capture_still_gets_header_and_schema(tmp_path):
    cap = tmp_path / "empty.pcap"
    cap.write_bytes(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    for fmt, name in (("zeek", "e.log"), ("csv", "e.csv"), ("parquet", "e.parquet")):
        args = _parser().parse_args(["flows", str(cap), "--format", fmt, "-o", str(tmp_path / name)])
        assert args.func(args) == 0
    assert len(read_zeek_log(tmp_path / "e.log")) == 0
    assert list(pd.read_csv(tmp_path / "e.csv").columns) == list(_want(_pcap(tmp_path / "a.pcap")).columns)
    assert len(pd.read_parquet(tmp_path / "e.parquet")) == 0


def test_stream_error_paths(tmp_path, monkeypatch):
    from sopkit.capture import fastflows

    cap = _many_pcap(tmp_path / "many.pcap", n=30)
    for bad, match in ((["--chunk-rows", "0"], "chunk-rows"), (["--format", "parquet"], "parquet")):
        args = _parser().parse_args(["flows", str(cap), *bad])
        with pytest.raises(ParameterError, match=match):
            args.func(args)
    (tmp_path / "afile").write_text("x")
    args = _parser().parse_args(["flows", str(cap), "--format", "csv", "-o", str(tmp_path / "afile" / "f.csv")])
    with pytest.raises(ParameterError, match="afile"):
        args.func(args)
    # a failure after blocks were written: the existing output stays as it was, no temporary file
    for name in ("conn.log", "f.csv", "f.parquet"):
        (tmp_path / name).write_text("old")

    def broken_end(self):
        raise CaptureError("flow table broke at the end")

    monkeypatch.setattr(fastflows.FastFlowTable, "end", broken_end)
    for fmt, name in (("zeek", "conn.log"), ("csv", "f.csv"), ("parquet", "f.parquet")):
        args = _parser().parse_args(["flows", str(cap), "--format", fmt, "-o", str(tmp_path / name),
                                     "--chunk-rows", "1"])
        with pytest.raises(CaptureError, match="broke"):
            args.func(args)
        assert (tmp_path / name).read_text() == "old"
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    monkeypatch.undo()

    # a failure in the writer thread (after some blocks) reaches the command the same way
    calls = []

    def broken_write(self, table):
        calls.append(table.num_rows)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real_write(self, table)

    real_write = commands._Sink._write_arrow
    monkeypatch.setattr(commands._Sink, "_write_arrow", broken_write)
    args = _parser().parse_args(["flows", str(cap), "--format", "parquet", "-o", str(tmp_path / "f.parquet"),
                                 "--chunk-rows", "1"])
    with pytest.raises(OSError, match="No space"):
        args.func(args)
    assert len(calls) == 2 and (tmp_path / "f.parquet").read_text() == "old"
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
