"""analyze_captures: one pass gives the same tables as the separate builders, plus ICMP and cleartext logins."""

from __future__ import annotations

import base64

import dpkt
import pandas as pd
import pytest
from capbuild import DST4, SRC4, eth, pcap_bytes, tcp4, udp4, write

from sopkit.capture.analyze import analyze_captures, external_mask, local_mask, shannon_entropy
from sopkit.capture.decode import iter_packets
from sopkit.capture.dns import dns_table
from sopkit.capture.flows import flows_from_captures
from sopkit.capture.http import http_table
from sopkit.errors import ParameterError

S, A, P, F = dpkt.tcp.TH_SYN, dpkt.tcp.TH_ACK, dpkt.tcp.TH_PUSH, dpkt.tcp.TH_FIN
NS = 1_000_000_000


def _session(t0: int, sport: int, dport: int, client: list[bytes], server: list[bytes]) -> list[tuple[int, bytes]]:
    """A TCP session: handshake, then client/server payloads alternating, then FIN both ways."""
    out, cs, ss, t = [], 1000, 5000, t0
    def add(pkt: bytes) -> None:
        nonlocal t
        out.append((t, eth(pkt)))
        t += 1_000_000
    add(tcp4(sport, dport, S, seq=cs))
    add(tcp4(dport, sport, S | A, src=DST4, dst=SRC4, seq=ss, ack=cs + 1))
    cs, ss = cs + 1, ss + 1
    add(tcp4(sport, dport, A, seq=cs, ack=ss))
    for c, r in zip(client, server, strict=True):
        add(tcp4(sport, dport, A | P, c, seq=cs, ack=ss))
        cs += len(c)
        if r:
            add(tcp4(dport, sport, A | P, r, src=DST4, dst=SRC4, seq=ss, ack=cs))
            ss += len(r)
    add(tcp4(sport, dport, F | A, seq=cs, ack=ss))
    add(tcp4(dport, sport, F | A, src=DST4, dst=SRC4, seq=ss, ack=cs + 1))
    add(tcp4(sport, dport, A, seq=cs + 1, ack=ss + 1))
    return out


def _dns(qid: int, name: str, response: bool) -> bytes:
    d = dpkt.dns.DNS(id=qid, qd=[dpkt.dns.DNS.Q(name=name, type=dpkt.dns.DNS_A)])
    if response:
        d.op = dpkt.dns.DNS_RA | 0x8000
        d.an = [dpkt.dns.DNS.RR(name=name, type=dpkt.dns.DNS_A, ttl=60, ip=bytes([192, 0, 2, 1]))]
    return bytes(d)


@pytest.fixture
def capture(tmp_path):
    t = 1_700_000_000 * NS
    auth = base64.b64encode(b"bob:hunter2").decode()
    recs = _session(t, 40000, 80, [f"GET /a HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {auth}\r\n\r\n".encode()],
                    [b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"])
    recs += _session(t + 5 * NS, 40001, 21, [b"USER alice\r\n", b"PASS S3cretPw\r\n"], [b"331 ok\r\n", b"230 in\r\n"])
    recs += [(t + 8 * NS, eth(udp4(5555, 53, _dns(9, "example.org", False)))),
             (t + 8 * NS + 1000, eth(udp4(53, 5555, _dns(9, "example.org", True), src=DST4, dst=SRC4)))]
    for i in range(30):  # echo requests with changing payloads after a constant 16-byte prefix
        icmp = dpkt.icmp.ICMP(type=8, data=dpkt.icmp.ICMP.Echo(id=1, seq=i, data=b"T" * 16 + bytes([i]) * 200))
        ip = dpkt.ip.IP(src=SRC4, dst=DST4, p=1, data=icmp)
        ip.len = 20 + len(bytes(icmp))
        recs.append((t + 10 * NS + i * NS, eth(bytes(ip))))
    recs.append((t + 50 * NS, eth(b"\0" * 28, ethertype=0x0806)))  # ARP: skipped and counted
    recs.sort(key=lambda r: r[0])
    return write(tmp_path / "mix.pcap", pcap_bytes(recs))


def test_tables_match_the_separate_builders(capture):
    tt = analyze_captures([capture])
    pd.testing.assert_frame_equal(tt.flows, flows_from_captures([str(capture)],
                                                                local_nets=list(tt.local_nets)))
    pd.testing.assert_frame_equal(tt.dns, dns_table(iter_packets([capture])))
    pd.testing.assert_frame_equal(tt.http, http_table(iter_packets([capture])))
    assert tt.tls.empty
    assert len(tt.flows) == 4 and set(tt.flows["proto"]) == {"tcp", "udp", "icmp"}
    assert tt.dns["query"].tolist() == ["example.org"] and tt.dns["rtt"].notna().all()
    assert tt.http["username"].tolist() == ["bob"] and bool(tt.http["password_present"].iloc[0])
    exact = analyze_captures([capture], engine="exact")
    for name in ("flows", "dns", "http", "tls", "icmp", "cleartext"):
        pd.testing.assert_frame_equal(getattr(tt, name), getattr(exact, name))
    assert tt.stats["flow_skipped"] == exact.stats["flow_skipped"]


def test_cleartext_logins_never_keep_the_password(capture):
    tt = analyze_captures([capture])
    c = tt.cleartext
    assert c[["protocol", "command", "username", "password_present", "id.resp_p"]].values.tolist() == [
        ["ftp", "PASS", "alice", True, 21]]
    for table in (tt.flows, tt.dns, tt.http, tt.cleartext):
        assert "S3cretPw" not in table.to_string() and "hunter2" not in table.to_string()


def test_icmp_echo_summary(capture):
    icmp = analyze_captures([capture]).icmp
    assert len(icmp) == 1
    row = icmp.iloc[0]
    assert (row["src"], row["dst"], row["icmp_type"], row["packets"]) == ("10.0.0.1", "10.0.0.2", 8, 30)
    assert row["payload_bytes"] == 30 * 216 and row["max_payload"] == 216
    assert row["distinct_payloads"] == 30  # compared after the 16-byte prefix
    assert row["mean_entropy"] == pytest.approx(shannon_entropy(b"T" * 16 + b"\x01" * 200))


def test_stats_and_time_window(capture):
    tt = analyze_captures([capture])
    assert tt.stats["frames"] == tt.stats["packets"] + 1
    assert tt.stats["decoder_skipped"] == {"non-IP ethertype 0x0806": 1}
    early = analyze_captures([capture], end_ns=1_700_000_000 * NS + 8 * NS)
    assert set(early.flows["proto"]) == {"tcp"} and early.dns.empty and early.icmp.empty


def test_rejects_bad_local_nets_and_reports_non_captures(capture, tmp_path):
    with pytest.raises(ParameterError, match="local_nets"):
        analyze_captures([capture], local_nets=("10.0.0.0/33",))
    junk = write(tmp_path / "notes.pcap", b"this is not a capture")
    tt = analyze_captures([capture, junk])
    assert tt.stats["files"] == 1 and len(tt.stats["rejected_files"]) == 1


def test_address_masks():
    s = pd.Series(["10.1.2.3", "8.8.8.8", "255.255.255.255", "224.0.0.251", "fe80::1", "bogus"])
    assert local_mask(s, ["10.0.0.0/8"]).tolist() == [True, False, False, False, False, False]
    assert external_mask(s, ["10.0.0.0/8"]).tolist() == [False, True, False, False, False, False]
