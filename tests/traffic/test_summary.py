from __future__ import annotations

import pandas as pd
import pytest

from sopkit.traffic.summary import bandwidth, direction_mix, host_summary, is_local, service_mix, top_talkers

NETS = ["10.20.0.0/16"]
T0 = pd.Timestamp("2026-11-24 01:00", tz="UTC").value


def flows():
    rows = [  # orig, resp, port, proto, start offset s, duration s, orig bytes, resp bytes, pkts each way
        ("10.20.10.5", "203.0.113.7", 443, "tcp", 0, 1200, 60_000_000, 100_000, 40_000),
        ("10.20.10.5", "10.20.1.53", 53, "udp", 10, 0.01, 70, 150, 1),
        ("10.20.10.6", "10.20.1.53", 53, "udp", 20, 0.01, 70, 150, 1),
        ("198.51.100.9", "10.20.1.80", 80, "tcp", 30, 2, 500, 20_000, 10),
        ("10.20.10.6", "10.20.1.10", 445, "tcp", 40, 5, 3000, 9000, 20),
    ]
    return pd.DataFrame({
        "id.orig_h": [r[0] for r in rows], "id.resp_h": [r[1] for r in rows], "id.resp_p": [r[2] for r in rows],
        "proto": [r[3] for r in rows], "ts_ns": [T0 + int(r[4] * 1e9) for r in rows],
        "duration": [r[5] for r in rows], "orig_ip_bytes": [r[6] for r in rows],
        "resp_ip_bytes": [r[7] for r in rows], "orig_pkts": [r[8] for r in rows], "resp_pkts": [r[8] for r in rows],
    })


def test_is_local():
    s = pd.Series(["10.20.1.1", "10.21.0.1", "fe80::1", "garbage", None])
    assert list(is_local(s, NETS)) == [True, False, False, False, False]
    assert list(is_local(s, ["10.0.0.0/8", "fe80::/10"])) == [True, True, True, False, False]


def test_top_talkers_counts_both_roles():
    top = top_talkers(flows(), by="bytes", n=3, local_nets=NETS)
    assert list(top["host"]) == ["10.20.10.5", "203.0.113.7", "198.51.100.9"]
    row = top.iloc[0]
    assert (row["bytes_sent"], row["bytes_received"], row["flows"], row["peers"]) == (60_000_070, 100_150, 2, 2)
    assert bool(row["local"]) and not bool(top.iloc[1]["local"])
    by_flows = top_talkers(flows(), by="flows", n=3, local_nets=NETS)
    assert sorted(by_flows["host"]) == ["10.20.1.53", "10.20.10.5", "10.20.10.6"]
    assert list(by_flows["flows"]) == [2, 2, 2]
    with pytest.raises(ValueError, match="by must be"):
        top_talkers(flows(), by="colour")


def test_service_and_direction_mix():
    mix = service_mix(flows())
    assert list(zip(mix["proto"], mix["port"], mix["flows"], strict=True))[:2] == [("tcp", 443, 1), ("tcp", 80, 1)]
    assert mix["share"].sum() == pytest.approx(1.0)
    d = direction_mix(flows(), NETS).set_index("direction")
    assert d.loc["outbound", "flows"] == 1 and d.loc["internal", "flows"] == 3 and d.loc["inbound", "flows"] == 1
    assert d.loc["external", "bytes"] == 0


def test_bandwidth_spreads_long_flows():
    bw = bandwidth(flows(), freq="10min")
    assert bw.sum() == pytest.approx(flows()[["orig_ip_bytes", "resp_ip_bytes"]].sum().sum())
    # the 20-minute upload covers two 10-minute bins equally
    assert bw.iloc[0] == pytest.approx(60_100_000 / 2 + 70 + 150 + 70 + 150 + 20_500 + 12_000)
    assert bw.iloc[1] == pytest.approx(60_100_000 / 2)
    assert str(bw.index.tz) == "UTC"


def test_host_summary_local_hosts_only():
    hs = host_summary(flows(), NETS).set_index("host")
    assert set(hs.index) == {"10.20.10.5", "10.20.10.6", "10.20.1.53", "10.20.1.80", "10.20.1.10"}
    assert hs.loc["10.20.10.5", "flows_opened"] == 2 and hs.loc["10.20.10.5", "external_peers"] == 1
    assert hs.loc["10.20.1.80", "flows_received"] == 1 and hs.loc["10.20.1.80", "bytes_sent"] == 20_000
    assert hs.loc["10.20.10.6", "dst_ports"] == 2
    assert hs.index[0] == "10.20.10.5"
