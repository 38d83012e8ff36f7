"""Zeek TSV writer/reader and baseline scoring."""

from __future__ import annotations

import socket

import pandas as pd
import pytest

from sopkit.capture.flows import build_flows
from sopkit.capture.packet import TH_ACK, TH_SYN, Packet
from sopkit.capture.zeek import read_zeek_log, score_against_baseline, write_conn_log
from sopkit.errors import LogFormatError

A, B = socket.inet_aton("10.0.0.1"), socket.inet_aton("10.0.0.2")


def _flows():
    S = 1_000_000_000
    return build_flows([
        Packet(0, A, B, 6, 40000, 80, ip_len=60, tcp_flags=TH_SYN, seq=1, window=512),
        Packet(S // 2, B, A, 6, 80, 40000, ip_len=60, tcp_flags=TH_SYN | TH_ACK, seq=9, ack=2, window=512),
        Packet(S, A, B, 6, 40000, 80, ip_len=52, tcp_flags=TH_ACK, seq=2, ack=10, window=512),
        Packet(0, A, B, 17, 5353, 5353, ip_len=60, payload_len=32),
    ])


def test_roundtrip(tmp_path):
    df = _flows()
    path = write_conn_log(df, tmp_path / "out" / "conn.log")
    text = path.read_text()
    assert text.startswith("#separator \\x09\n") and text.rstrip().splitlines()[-1].startswith("#close")
    back = read_zeek_log(path)
    assert len(back) == 2
    tcp = back[back["proto"] == "tcp"].iloc[0]
    assert (tcp["history"], tcp["conn_state"], tcp["orig_pkts"], tcp["resp_ip_bytes"]) == ("ShA", "S1", 2, 60)
    udp = back[back["proto"] == "udp"].iloc[0]
    assert udp["duration"] != udp["duration"]  # single packet: unset
    assert udp["tunnel_parents"] is pd.NA and udp["history"] == "D"
    s = score_against_baseline(df, back)
    assert (s["matched"], s["exact_counts"], s["history"], s["duration"]) == (2, 2, 2, 2)


def test_masked_ts_and_empty_fields(tmp_path):
    p = tmp_path / "conn.log"
    p.write_text("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n"
                 "#fields\tts\tuid\tid.orig_h\tid.orig_p\ttunnel_parents\tduration\n"
                 "#types\ttime\tstring\taddr\tport\tset[string]\tinterval\n"
                 "XXXXXXXXXX.XXXXXX\tC1\t1.2.3.4\t5\t(empty)\t-\n")
    df = read_zeek_log(p)
    assert df["ts"].isna().all() and df["id.orig_p"].iloc[0] == 5 and df["tunnel_parents"].iloc[0] == ""
    assert df["duration"].isna().all()


def test_bad_logs_name_the_file(tmp_path):
    p = tmp_path / "x.log"
    p.write_text("hello\tworld\n")
    with pytest.raises(LogFormatError, match="x.log"):
        read_zeek_log(p)
    p.write_text("#fields\ta\tb\n1\t2\t3\n")
    with pytest.raises(LogFormatError, match=r"x.log:2"):
        read_zeek_log(p)


def test_score_counts_mismatches():
    df = _flows()
    other = df.copy()
    other.loc[other["proto"] == "tcp", "history"] = "S"
    s = score_against_baseline(df, other)
    assert s["history"] == 1 and any(m[1] == "history" for m in s["mismatches"])


def test_conn_log_writer_blocks_equal_one_write(tmp_path):
    import io

    from sopkit.capture.zeek import ConnLogWriter
    from sopkit.errors import SopkitError

    df = _flows()
    whole = write_conn_log(df, tmp_path / "whole.log").read_text()
    with ConnLogWriter(tmp_path / "blocks.log") as w:
        assert w.write(df.iloc[:1]) == 1 and w.write(df.iloc[:0]) == 0 and w.write(df.iloc[1:]) == 1
        assert not (tmp_path / "blocks.log").exists()  # only renamed into place at close
    assert w.rows == 2

    def body(text):  # the #open/#close stamps may differ by a second
        return [ln for ln in text.splitlines() if not ln.startswith(("#open", "#close"))]

    blocks = (tmp_path / "blocks.log").read_text()
    assert body(blocks) == body(whole) and blocks.rstrip().splitlines()[-1].startswith("#close")
    buf = io.StringIO()
    w = ConnLogWriter(stream=buf)
    w.write(df)
    assert w.close() is None and body(buf.getvalue()) == body(whole)
    # an error inside the block: the existing log is untouched, no temporary file remains
    with pytest.raises(SopkitError, match="lacks conn.log columns"):
        with ConnLogWriter(tmp_path / "whole.log") as w:
            w.write(df)
            w.write(df.drop(columns=["history"]))
    assert (tmp_path / "whole.log").read_text() == whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocks.log", "whole.log"]
    with pytest.raises(SopkitError, match="exactly one"):
        ConnLogWriter()
    (tmp_path / "plain").write_text("x")
    with pytest.raises(SopkitError, match="plain"):
        ConnLogWriter(tmp_path / "plain" / "conn.log")
