"""Payload builders: BER/Kerberos/LDAP/SMB structure, TLS hellos per profile, DNS messages."""

from __future__ import annotations

import struct

import dpkt
import numpy as np
import pytest

from sopkit.demo import appproto, winproto


def _walk(buf: bytes) -> list[tuple[int, bytes]]:
    """Decode consecutive BER TLVs covering ``buf`` exactly (raises on any length inconsistency)."""
    out, i = [], 0
    while i < len(buf):
        tag, n = buf[i], buf[i + 1]
        i += 2
        if n & 0x80:
            k = n & 0x7F
            n = int.from_bytes(buf[i:i + k], "big")
            i += k
        assert i + n <= len(buf), "TLV overruns its container"
        out.append((tag, buf[i:i + n]))
        if tag & 0x20:  # constructed: its content must itself be whole TLVs
            _walk(buf[i:i + n])
        i += n
    return out


def test_kerberos_messages_are_whole_ber_with_the_right_application_tags():
    rng = np.random.default_rng(1)
    req, rep = winproto.kerberos_as(rng, "pegawai01", "CONTOHKAB.LOCAL", "20370913024805Z")
    treq, trep = winproto.kerberos_tgs(rng, "pegawai01", "CONTOHKAB.LOCAL", ("cifs", "fs01"), "20370913024805Z")
    for msg, app in ((req, 0x6A), (rep, 0x6B), (treq, 0x6C), (trep, 0x6D)):
        (length,) = struct.unpack("!I", msg[:4])
        assert length == len(msg) - 4
        [(tag, _)] = _walk(msg[4:])
        assert tag == app
    assert b"pegawai01" in req and b"krbtgt" in rep and b"cifs" in treq


def test_ldap_rootdse_search_and_response():
    req, resp = winproto.ldap_rootdse(3, ["dnsHostName", "defaultNamingContext"])
    [(tag, body)] = _walk(req)
    assert tag == 0x30 and _walk(body)[0] == (0x02, b"\x03") and _walk(body)[1][0] == 0x63
    msgs = _walk(resp)
    assert [m[0] for m in msgs] == [0x30, 0x30]
    assert [_walk(m[1])[1][0] for m in msgs] == [0x64, 0x65]  # searchResEntry, searchResDone
    assert b"dc01.contohkab.local" in resp


def test_smb_messages_have_netbios_length_and_smb2_headers():
    rng = np.random.default_rng(2)
    msgs = [*winproto.smb_negotiate(rng), *winproto.smb_session_setup(1, 77), winproto.smb_encrypted(rng, 900, 77)]
    for m in msgs:
        assert struct.unpack("!I", m[:4])[0] == len(m) - 4
    assert all(m[4:8] == b"\xfeSMB" and struct.unpack("<H", m[8:10])[0] == 64 for m in msgs[:4])
    assert struct.unpack("<H", msgs[0][16:18])[0] == 0 and struct.unpack("<H", msgs[2][16:18])[0] == 1
    assert msgs[4][4:8] == b"\xfdSMB" and struct.unpack("<I", msgs[4][40:44])[0] == 900


@pytest.mark.parametrize("profile", sorted(appproto.TLS_PROFILES))
def test_client_hello_parses_and_ja3_matches(profile):
    rng = np.random.default_rng(3)
    rec, ja3 = appproto.client_hello(rng, "sirup.lkpp.go.id", profile)
    ch = dpkt.ssl.TLSHandshake(dpkt.ssl.TLSRecord(rec).data).data
    assert isinstance(ch, dpkt.ssl.TLSClientHello)
    grease = set(appproto.GREASE)
    ext = [(t, d) for t, d in ch.extensions if t not in grease]
    assert dict(ext)[0][5:] == b"sirup.lkpp.go.id"
    groups = [int.from_bytes(dict(ext)[10][i:i + 2], "big") for i in range(2, len(dict(ext)[10]), 2)]
    parsed = "{},{},{},{},0".format(ch.version, "-".join(str(c.code) for c in ch.ciphersuites if c.code not in grease),
                                    "-".join(str(t) for t, _ in ext), "-".join(str(g) for g in groups if g not in grease))
    assert parsed == ja3 and len(appproto.ja3_hash(ja3)) == 32
    sh, ja3s, version = appproto.server_hello(rng, profile)
    first = dpkt.ssl.TLSRecord(sh)
    assert first.type == 22 and dpkt.ssl.TLSHandshake(first.data).type == 2
    assert version == ("TLS 1.3" if appproto.TLS_PROFILES[profile][3] else "TLS 1.2")


def test_dns_txt_response_round_trips_through_dpkt():
    raw = appproto.dns_response(4242, "abc.t.cdn-sync-update.xyz", "TXT", [[b"aGVsbG8="]], ttl=0)
    msg = dpkt.dns.DNS(raw)
    assert msg.id == 4242 and msg.qr == dpkt.dns.DNS_R and msg.an[0].text == ["aGVsbG8="]
    assert msg.an[0].rdata == b"\x08aGVsbG8=" and msg.qd[0].type == dpkt.dns.DNS_TXT
