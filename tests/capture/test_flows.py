"""FlowTable on synthetic Packets: Zeek's conn_state, history, originator, timers and sizes."""

from __future__ import annotations

import socket

import pytest

from sopkit.capture.flows import build_flows
from sopkit.capture.packet import TH_ACK, TH_FIN, TH_RST, TH_SYN, Packet, TunnelKey

A = socket.inet_aton("10.0.0.1")
B = socket.inet_aton("10.0.0.2")
S = 1_000_000_000


def tcp(t, src, dst, sport, dport, flags, seq, ack=0, plen=0, win=8192, **kw):
    return Packet(int(t * S), src, dst, 6, sport, dport, ip_len=40 + plen, payload_len=plen,
                  tcp_flags=flags, seq=seq, ack=ack, window=win, payload=b"x" * plen, **kw)


def udp(t, src, dst, sport, dport, plen, **kw):
    return Packet(int(t * S), src, dst, 17, sport, dport, ip_len=28 + plen, payload_len=plen, **kw)


def handshake(t0=0.0, c=(A, 40000), s=(B, 8081), iss=1000, irs=5000):
    return [
        tcp(t0, c[0], s[0], c[1], s[1], TH_SYN, iss),
        tcp(t0 + 0.1, s[0], c[0], s[1], c[1], TH_SYN | TH_ACK, irs, iss + 1),
        tcp(t0 + 0.2, c[0], s[0], c[1], s[1], TH_ACK, iss + 1, irs + 1),
    ]


def full_session():
    return handshake() + [
        tcp(0.3, A, B, 40000, 8081, TH_ACK, 1001, 5001, plen=100),
        tcp(0.4, B, A, 8081, 40000, TH_ACK, 5001, 1101, plen=300),
        tcp(0.5, A, B, 40000, 8081, TH_ACK | TH_FIN, 1101, 5301),
        tcp(0.6, B, A, 8081, 40000, TH_ACK | TH_FIN, 5301, 1102),
        tcp(0.7, A, B, 40000, 8081, TH_ACK, 1102, 5302),  # trailing ACK after both FINs
    ]


def one(df):
    assert len(df) == 1
    return df.iloc[0]


def test_sf_history_bytes_and_duration_ends_at_last_productive_packet():
    r = one(build_flows(full_session()))
    assert (r["id.orig_h"], r["id.orig_p"], r["id.resp_p"]) == ("10.0.0.1", 40000, 8081)
    assert r["conn_state"] == "SF"
    assert r["history"] == "ShADdFf"
    assert (r["orig_bytes"], r["resp_bytes"]) == (100, 300)
    assert (r["orig_pkts"], r["resp_pkts"]) == (5, 3)
    assert (r["orig_ip_bytes"], r["resp_ip_bytes"]) == (5 * 40 + 100, 3 * 40 + 300)
    assert r["duration"] == pytest.approx(0.6)
    assert r["missed_bytes"] == 0
    assert r["uid"].startswith("C") and r["community_id"].startswith("1:")
    assert r["orig_iat_mean"] == pytest.approx(0.7 / 4)
    assert (r["orig_size_min"], r["orig_size_max"]) == (40, 140)


def test_uids_are_reproducible():
    assert build_flows(full_session())["uid"].tolist() == build_flows(full_session())["uid"].tolist()


def test_rej_and_rsto_and_rstr():
    rej = one(build_flows([tcp(0, A, B, 40000, 8081, TH_SYN, 1),
                           tcp(0.1, B, A, 8081, 40000, TH_RST | TH_ACK, 0, 2)]))
    assert (rej["conn_state"], rej["history"]) == ("REJ", "Sr")
    rsto = one(build_flows(handshake() + [tcp(0.3, A, B, 40000, 8081, TH_RST | TH_ACK, 1001, 5001)]))
    assert (rsto["conn_state"], rsto["history"]) == ("RSTO", "ShAR")
    rstr = one(build_flows(handshake() + [tcp(0.3, B, A, 8081, 40000, TH_RST | TH_ACK, 5001, 1001)]))
    assert (rstr["conn_state"], rstr["history"]) == ("RSTR", "ShAr")


def test_s0_s1_sh_shr_oth():
    s0 = one(build_flows([tcp(0, A, B, 40000, 8081, TH_SYN, 1), tcp(1, A, B, 40000, 8081, TH_SYN, 1)]))
    assert (s0["conn_state"], s0["history"], s0["orig_pkts"]) == ("S0", "S", 2)
    s1 = one(build_flows(handshake()))
    assert (s1["conn_state"], s1["history"]) == ("S1", "ShA")
    sh = one(build_flows([tcp(0, A, B, 40000, 8081, TH_SYN, 1), tcp(1, A, B, 40000, 8081, TH_FIN | TH_ACK, 2, 9)]))
    assert sh["conn_state"] == "SH"
    shr = one(build_flows([tcp(0, B, A, 80, 40000, TH_FIN | TH_ACK, 7, 3), tcp(0.1, A, B, 40000, 80, TH_ACK, 3, 8)]))
    # first packet from a likely server port without SYN: flipped, hence '^'
    assert (shr["conn_state"], shr["history"], shr["id.resp_p"]) == ("SHR", "^fA", 80)
    oth = one(build_flows([tcp(0, A, B, 40000, 8081, TH_RST, 5)]))
    assert (oth["conn_state"], oth["history"]) == ("OTH", "R")


def test_synack_seen_first_flips_roles():
    pk = [tcp(0, B, A, 8081, 40000, TH_SYN | TH_ACK, 5000, 1001), tcp(0.01, A, B, 40000, 8081, TH_SYN, 1000),
          tcp(0.2, A, B, 40000, 8081, TH_ACK, 1001, 5001)]
    r = one(build_flows(pk))
    assert r["history"].startswith("H") and "^" in r["history"]
    assert (r["id.orig_h"], r["id.orig_p"]) == ("10.0.0.1", 40000)


def test_unanswered_syn_is_removed_by_the_attempt_timer():
    pk = [tcp(0, A, B, 40000, 8081, TH_SYN, 1), tcp(1, A, B, 40000, 8081, TH_ACK, 2, 9, plen=10),
          tcp(7, A, B, 40000, 8081, TH_ACK, 12, 9, plen=10)]
    df = build_flows(pk)
    assert df["conn_state"].tolist() == ["S0", "OTH"]
    assert df["history"].tolist() == ["SD", "D"]


def test_port_reuse_after_close_starts_new_connection():
    pk = full_session() + [tcp(0.8, A, B, 40000, 8081, TH_SYN, 90000),
                           tcp(0.9, B, A, 8081, 40000, TH_RST | TH_ACK, 0, 90001)]
    df = build_flows(pk)
    assert df["conn_state"].tolist() == ["SF", "REJ"]
    assert df["uid"].nunique() == 2


def test_retransmission_zero_window_and_repeat_scaling():
    pk = handshake() + [tcp(0.3 + i / 100, A, B, 40000, 8081, TH_ACK, 1001, 5001, plen=50) for i in range(11)]
    pk.append(tcp(0.5, B, A, 8081, 40000, TH_ACK, 5001, 1051, win=0))
    r = one(build_flows(pk))
    # 10 retransmissions: 'T' at the 1st and the 10th (Zeek's exponential repeat counting)
    assert r["history"] == "ShADTTaw"
    assert r["orig_bytes"] == 50


def test_missed_bytes_from_acked_hole():
    pk = handshake() + [
        tcp(0.3, A, B, 40000, 8081, TH_ACK, 1001, 5001, plen=100),
        tcp(0.4, A, B, 40000, 8081, TH_ACK, 1201, 5001, plen=100),  # 1101..1200 never captured
        tcp(0.5, B, A, 8081, 40000, TH_ACK, 5001, 1301),
    ]
    r = one(build_flows(pk))
    assert r["missed_bytes"] == 100
    assert r["orig_bytes"] == 300  # sizes come from sequence numbers, missing data included
    assert "g" not in r["history"] and "G" in r["history"]


def test_udp_states_flip_and_timeout():
    df = build_flows([udp(0, A, B, 5555, 9999, 10), udp(0.5, B, A, 9999, 5555, 20),
                      udp(100, A, B, 5555, 9999, 10)])
    assert df["conn_state"].tolist() == ["SF", "S0"]
    assert df["history"].tolist() == ["Dd", "D"]
    assert (df["orig_bytes"][0], df["resp_bytes"][0]) == (10, 20)
    assert pd_isna(df["duration"][1])
    shr = one(build_flows([udp(0, B, A, 123, 40000, 48)]))
    assert (shr["conn_state"], shr["history"], shr["id.resp_p"]) == ("SHR", "^d", 123)
    longer = build_flows([udp(0, A, B, 5555, 9999, 10), udp(100, A, B, 5555, 9999, 10)], udp_inactivity=200)
    assert len(longer) == 1


def test_icmp_ports_and_single_packet_unset_fields():
    req = Packet(0, A, B, 1, 8, 0, ip_len=84, payload_len=56)
    rep = Packet(S // 10, B, A, 1, 0, 0, ip_len=84, payload_len=56)
    unreach = Packet(2 * S, B, A, 1, 3, 3, ip_len=56, payload_len=28)
    df = build_flows([req, rep, unreach])
    echo = df[df["id.orig_p"] == 8].iloc[0]
    assert (echo["id.resp_p"], echo["conn_state"], echo["orig_bytes"], echo["resp_bytes"]) == (0, "OTH", 56, 56)
    u = df[df["id.orig_p"] == 3].iloc[0]
    assert u["id.resp_p"] == 3 and pd_isna(u["duration"]) and pd_isna(u["orig_bytes"])


def test_checksums_unknown_protocols_no_conn_and_tunnels():
    bad = [tcp(0, A, B, 40000, 8081, TH_SYN, 1, bad_checksum=True)]
    r = one(build_flows(bad))
    assert (r["orig_pkts"], r["history"]) == (0, "C")
    assert one(build_flows(bad, ignore_checksums=True))["history"] == "S"
    sctp = one(build_flows([Packet(0, A, B, 132, ip_len=100), Packet(S, B, A, 132, ip_len=60)]))
    assert (sctp["proto"], sctp["ip_proto"], sctp["id.orig_p"], sctp["conn_state"]) == ("unknown_transport", 132, 0, "OTH")
    assert len(build_flows([Packet(0, A, B, 47, ip_len=100, extra={"no_conn": True})])) == 0
    outer = udp(0, A, B, 40000, 3544, 60)
    key = TunnelKey("teredo", 17, A, 40000, B, 3544)
    inner = udp(0, socket.inet_aton("1.1.1.1"), socket.inet_aton("2.2.2.2"), 1, 2, 10, tunnel=key)
    df = build_flows([outer, inner])
    parent = df[df["id.resp_p"] == 3544]["uid"].iloc[0]
    assert df[df["id.resp_p"] == 2]["tunnel_parents"].iloc[0] == parent


def test_local_nets():
    r = one(build_flows(full_session(), local_nets=["10.0.0.2/32"]))
    assert (bool(r["local_orig"]), bool(r["local_resp"])) == (False, True)


def pd_isna(v) -> bool:
    import pandas as pd

    return bool(pd.isna(v))
