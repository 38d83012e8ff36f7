"""DNS transactions on dpkt-built messages: several RR types, matching, TCP, malformed input."""

from __future__ import annotations

import struct

import dpkt
import pandas as pd
import pytest

from sopkit.capture.dns import dns_table, parse_message, read_name
from sopkit.capture.packet import PROTO_TCP, PROTO_UDP, TH_ACK, TH_PUSH, TH_SYN, Packet

D = dpkt.dns
CLIENT, SERVER = bytes([10, 1, 1, 5]), bytes([10, 1, 1, 53])
SEC = 1_000_000_000


def udp(payload: bytes, ts: int, *, reply: bool = False, cport: int = 40000, sport: int = 53) -> Packet:
    src, dst, sp, dp = (SERVER, CLIENT, sport, cport) if reply else (CLIENT, SERVER, cport, sport)
    return Packet(ts_ns=ts, src=src, dst=dst, proto=PROTO_UDP, sport=sp, dport=dp, payload=payload,
                  payload_len=len(payload))


def query(tid: int, name: str, qtype: int = D.DNS_A) -> bytes:
    return bytes(D.DNS(id=tid, op=D.DNS_RD, qd=[D.DNS.Q(name=name, type=qtype)]))


def answer(tid: int, name: str, qtype: int, rrs: list, rcode: int = 0) -> bytes:
    return bytes(D.DNS(id=tid, op=D.DNS_QR | D.DNS_RD | D.DNS_RA | D.DNS_AA, rcode=rcode,
                       qd=[D.DNS.Q(name=name, type=qtype)], an=rrs))


def test_query_answer_types_and_matching() -> None:
    rrs = [D.DNS.RR(name="www.Example.com", type=D.DNS_CNAME, cname="edge.example.net", ttl=300),
           D.DNS.RR(name="edge.example.net", type=D.DNS_A, ip=bytes([93, 184, 216, 34]), ttl=60),
           D.DNS.RR(name="edge.example.net", type=D.DNS_AAAA, ip6=bytes.fromhex("20010db8" + "00" * 11 + "01"), ttl=60),
           D.DNS.RR(name="edge.example.net", type=D.DNS_TXT, text=[b"v=spf1 -all", b"x"], ttl=5),
           D.DNS.RR(name="example.net", type=D.DNS_MX, mxname="mail.example.net", preference=10, ttl=7),
           D.DNS.RR(name="example.net", type=D.DNS_HINFO, text=[b"cpu", b"os"], ttl=1)]
    pkts = [udp(query(4660, "www.Example.com"), 1 * SEC),
            udp(answer(4660, "www.Example.com", D.DNS_A, rrs), 1 * SEC + 25_000_000, reply=True)]
    df = dns_table(pkts)
    assert len(df) == 1
    r = df.iloc[0]
    assert (r["id.orig_h"], r["id.orig_p"], r["id.resp_h"], r["id.resp_p"], r["proto"]) == \
        ("10.1.1.5", 40000, "10.1.1.53", 53, "udp")
    assert r["trans_id"] == 4660 and r["rtt"] == pytest.approx(0.025)
    assert r["query"] == "www.example.com"  # lower-cased like Zeek
    assert (r["qtype_name"], r["qclass_name"], r["rcode_name"]) == ("A", "C_INTERNET", "NOERROR")
    assert r["answers"] == ["edge.example.net", "93.184.216.34", "2001:db8::1", "TXT 11 v=spf1 -all TXT 1 x",
                            "mail.example.net", "<unknown type=13>"]
    assert r["TTLs"] == [300.0, 60.0, 60.0, 5.0, 7.0, 1.0]
    assert bool(r["AA"]) and bool(r["RD"]) and bool(r["RA"]) and not bool(r["TC"])
    assert not r["rejected"]
    assert (r["query_len"], r["labels"], r["max_label_len"]) == (15, 3, 7)
    assert df.attrs["rejections"] == {}


def test_unanswered_retransmission_and_orphan_reply() -> None:
    q = query(9, "a.example")
    pkts = [udp(q, 0), udp(q, 5 * SEC), udp(answer(9, "a.example", 1, [], rcode=3), 6 * SEC, reply=True),
            udp(answer(77, "b.example", 1, [], rcode=5), 7 * SEC, reply=True)]
    df = dns_table(pkts)
    assert list(df["trans_id"]) == [9, 9, 77]
    first, second, orphan = df.iloc[0], df.iloc[1], df.iloc[2]
    assert first["rtt"] == pytest.approx(6.0) and first["rcode_name"] == "NXDOMAIN" and first["rejected"]
    assert pd.isna(second["rcode"]) and pd.isna(second["rtt"])  # never answered
    assert orphan["query"] == "b.example" and orphan["rcode_name"] == "REFUSED"


def test_reply_after_timeout_is_not_matched() -> None:
    pkts = [udp(query(1, "x.test"), 0), udp(answer(1, "x.test", 1, []), 120 * SEC, reply=True)]
    df = dns_table(pkts, timeout=60)
    assert len(df) == 2


def test_dns_over_tcp_with_length_prefix_split() -> None:
    q = query(5, "tcp.example", D.DNS_TXT)
    a = answer(5, "tcp.example", D.DNS_TXT, [D.DNS.RR(name="tcp.example", type=D.DNS_TXT, text=[b"hi"], ttl=9)])
    cstream = struct.pack(">H", len(q)) + q
    sstream = struct.pack(">H", len(a)) + a

    def seg(seq: int, data: bytes, rev: bool = False, flags: int = TH_ACK | TH_PUSH, ts: int = 0) -> Packet:
        src, dst, sp, dp = (SERVER, CLIENT, 53, 41000) if rev else (CLIENT, SERVER, 41000, 53)
        return Packet(ts_ns=ts, src=src, dst=dst, proto=PROTO_TCP, sport=sp, dport=dp, tcp_flags=flags,
                      seq=seq, payload=data, payload_len=len(data))
    pkts = [seg(0, b"", flags=TH_SYN), seg(100, b"", rev=True, flags=TH_SYN | TH_ACK),
            seg(1, cstream[:5], ts=1), seg(6, cstream[5:], ts=2), seg(101, sstream, rev=True, ts=3)]
    df = dns_table(pkts)
    assert len(df) == 1
    r = df.iloc[0]
    assert r["proto"] == "tcp" and r["answers"] == ["TXT 2 hi"] and r["qtype_name"] == "TXT"
    assert (r["id.orig_p"], r["id.resp_p"]) == (41000, 53)


def test_mdns_and_llmnr_are_flagged() -> None:
    df = dns_table([udp(query(0, "printer.local"), 0, cport=5353, sport=5353),
                    udp(query(3, "wpad"), 1, sport=5355)])
    assert list(df["service"]) == ["mdns", "llmnr"]


def test_malformed_messages_are_counted_not_raised() -> None:
    good = answer(2, "ok.example", 1, [D.DNS.RR(name="ok.example", type=1, ip=bytes(4), ttl=1)])
    loop = bytearray(query(3, "x.example"))
    loop[12:14] = b"\xc0\x0c"  # the question name points at itself
    pkts = [udp(b"\x00\x01\x02", 0),  # shorter than a header
            udp(bytes(loop), 1),
            udp(good[:-3], 2, reply=True),  # A record cut short
            udp(query(4, "y.example")[:-2], 3)]  # question without class
    df = dns_table(pkts)
    rej = df.attrs["rejections"]
    assert rej["shorter than the 12-byte header"] == 1
    assert rej["forward or looping compression pointer"] == 1
    assert rej["truncated question"] == 1
    assert rej["answer section: rdata runs past end of message"] == 1
    assert len(df) == 1 and df.iloc[0]["parse_error"].startswith("answer section")


def test_unknown_type_and_binary_labels() -> None:
    msg = answer(8, "t.example", 65, [D.DNS.RR(name="t.example", type=D.DNS_NULL, rdata=b"\x01\x02", ttl=3)])
    m, err = parse_message(msg)
    assert err is None and m["answers"] == ["<unknown type=10>"]
    raw = b"\x03a\xffb\x07example\x00"
    labels, end = read_name(raw, 0)
    assert labels == [b"a\xffb", b"example"] and end == len(raw)
    q = bytes(D.DNS(id=1))[:4] + struct.pack(">HHHH", 1, 0, 0, 0) + raw + b"\x00\x10\x00\x01"
    df = dns_table([udp(q, 0)])
    assert df.iloc[0]["query"] == "a\\xffb.example" and df.iloc[0]["max_label_len"] == 7
