"""``sopkit flows`` end to end on a capture generated here with dpkt."""

from __future__ import annotations

import argparse
import struct

import dpkt
import pandas as pd
import pytest

from sopkit.capture import commands
from sopkit.capture.zeek import read_zeek_log
from sopkit.errors import CaptureError, ParameterError

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
