"""Well-formed Windows-domain payloads: Kerberos AS/TGS exchanges, LDAP rootDSE reads, SMB 3.

Why hand-built: dpkt has no encoders for Kerberos/LDAP (ASN.1 BER) or SMB2, and the demo capture
must dissect cleanly in Wireshark/Zeek rather than show random bytes as malformed packets. The
messages follow RFC 4120 (Kerberos), RFC 4511 (LDAP) and MS-SMB2; secrets (ticket and
authenticator ciphertexts, SMB 3 encrypted messages) are random bytes of realistic length, as
they would look on the wire.
"""

from __future__ import annotations

import struct

import numpy as np


# --- BER ------------------------------------------------------------------------------------------
def tlv(tag: int, content: bytes) -> bytes:
    """One BER TLV with definite (short or long form) length."""
    n = len(content)
    if n < 0x80:
        return bytes([tag, n]) + content
    ln = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(ln)]) + ln + content


def ber_int(v: int, tag: int = 0x02) -> bytes:
    return tlv(tag, v.to_bytes(max(1, (v.bit_length() + 8) // 8), "big", signed=True))


def seq(*parts: bytes) -> bytes:
    return tlv(0x30, b"".join(parts))


def ctx(n: int, content: bytes) -> bytes:
    """Context-specific constructed tag ``[n]``."""
    return tlv(0xA0 + n, content)


def kstr(text: str) -> bytes:
    return tlv(0x1B, text.encode())


# --- Kerberos (RFC 4120), carried over TCP with a 4-byte length prefix ----------------------------
def _principal(name_type: int, *names: str) -> bytes:
    return seq(ctx(0, ber_int(name_type)), ctx(1, seq(*(kstr(n) for n in names))))


def _enc_data(rng: np.random.Generator, n: int, etype: int = 18, kvno: int | None = None) -> bytes:
    parts = [ctx(0, ber_int(etype))]
    if kvno is not None:
        parts.append(ctx(1, ber_int(kvno)))
    parts.append(ctx(2, tlv(0x04, rng.bytes(n))))
    return seq(*parts)


def _ticket(rng: np.random.Generator, realm: str, sname: tuple[str, ...], n: int) -> bytes:
    return tlv(0x61, seq(ctx(0, ber_int(5)), ctx(1, kstr(realm)), ctx(2, _principal(2, *sname)),
                         ctx(3, _enc_data(rng, n, kvno=2))))


def _kdc_req(rng: np.random.Generator, msg_type: int, padata: bytes, cname: str | None, realm: str,
             sname: tuple[str, ...], till: str) -> bytes:
    body = [ctx(0, tlv(0x03, b"\x00\x40\x81\x00\x10"))]
    if cname:
        body.append(ctx(1, _principal(1, cname)))
    body += [ctx(2, kstr(realm)), ctx(3, _principal(2, *sname)), ctx(5, tlv(0x18, till.encode())),
             ctx(7, ber_int(int(rng.integers(1, 2**31)))), ctx(8, seq(*(ber_int(e) for e in (18, 17, 23, 24, -135))))]
    req = seq(ctx(1, ber_int(5)), ctx(2, ber_int(msg_type)), ctx(3, seq(padata)), ctx(4, seq(*body)))
    return tlv(0x60 + msg_type, req)


def _kdc_rep(rng: np.random.Generator, msg_type: int, user: str, realm: str, sname: tuple[str, ...],
             ticket_len: int) -> bytes:
    rep = seq(ctx(0, ber_int(5)), ctx(1, ber_int(msg_type)), ctx(3, kstr(realm)), ctx(4, _principal(1, user)),
              ctx(5, _ticket(rng, realm, sname, ticket_len)), ctx(6, _enc_data(rng, 300, kvno=3)))
    return tlv(0x60 + msg_type, rep)


def _framed(msg: bytes) -> bytes:
    return struct.pack("!I", len(msg)) + msg


def kerberos_as(rng: np.random.Generator, user: str, realm: str, till: str) -> tuple[bytes, bytes]:
    """AS-REQ with PA-ENC-TIMESTAMP for ``user`` and the KDC's AS-REP carrying a TGT (TCP framing)."""
    pa = seq(ctx(1, ber_int(2)), ctx(2, tlv(0x04, _enc_data(rng, 56))))
    sname = ("krbtgt", realm)
    return (_framed(_kdc_req(rng, 10, pa, user, realm, sname, till)),
            _framed(_kdc_rep(rng, 11, user, realm, sname, int(rng.integers(1000, 1300)))))


def kerberos_tgs(rng: np.random.Generator, user: str, realm: str, service: tuple[str, ...], till: str) -> tuple[bytes, bytes]:
    """TGS-REQ (AP-REQ with the TGT in PA-TGS-REQ) for ``service`` and the TGS-REP (TCP framing)."""
    ap_req = tlv(0x6E, seq(ctx(0, ber_int(5)), ctx(1, ber_int(14)), ctx(2, tlv(0x03, b"\x00\x00\x00\x00\x00")),
                           ctx(3, _ticket(rng, realm, ("krbtgt", realm), 1100)), ctx(4, _enc_data(rng, 180))))
    pa = seq(ctx(1, ber_int(1)), ctx(2, tlv(0x04, ap_req)))
    return (_framed(_kdc_req(rng, 12, pa, None, realm, service, till)),
            _framed(_kdc_rep(rng, 13, user, realm, service, int(rng.integers(1100, 1500)))))


# --- LDAP (RFC 4511) ------------------------------------------------------------------------------
ROOTDSE_ATTRS = {
    "dnsHostName": ["dc01.contohkab.local"], "defaultNamingContext": ["DC=contohkab,DC=local"],
    "supportedLDAPVersion": ["3", "2"], "domainFunctionality": ["7"], "forestFunctionality": ["7"],
    "supportedSASLMechanisms": ["GSSAPI", "GSS-SPNEGO", "EXTERNAL", "DIGEST-MD5"],
    "ldapServiceName": ["contohkab.local:dc01$@CONTOHKAB.LOCAL"], "isSynchronized": ["TRUE"],
}


def ldap_rootdse(msg_id: int, attrs: list[str]) -> tuple[bytes, bytes]:
    """A base-scope ``(objectClass=*)`` search of the rootDSE and the entry + done responses."""
    req = tlv(0x63, tlv(0x04, b"") + ber_int(0, 0x0A) + ber_int(0, 0x0A) + ber_int(0) + ber_int(0)
              + tlv(0x01, b"\x00") + tlv(0x87, b"objectClass") + seq(*(tlv(0x04, a.encode()) for a in attrs)))
    entry_attrs = seq(*(seq(tlv(0x04, a.encode()), tlv(0x31, b"".join(tlv(0x04, v.encode()) for v in ROOTDSE_ATTRS[a])))
                        for a in attrs if a in ROOTDSE_ATTRS))
    entry = seq(ber_int(msg_id), tlv(0x64, tlv(0x04, b"") + entry_attrs))
    done = seq(ber_int(msg_id), tlv(0x65, ber_int(0, 0x0A) + tlv(0x04, b"") + tlv(0x04, b"")))
    return seq(ber_int(msg_id), req), entry + done


def ldap_unbind(msg_id: int) -> bytes:
    return seq(ber_int(msg_id), b"\x42\x00")


# --- SMB 2/3 (MS-SMB2) over NetBIOS session service framing ---------------------------------------
_SMB2_HDR = struct.Struct("<4sHHIHHIIQIIQ16s")


def _smb2(command: int, body: bytes, msg_id: int, session: int, response: bool, tree: int = 0) -> bytes:
    hdr = _SMB2_HDR.pack(b"\xfeSMB", 64, 1, 0, command, 1 if not response else 31, 1 if response else 0, 0,
                         msg_id, 0xFEFF, tree, session, b"\x00" * 16)
    msg = hdr + body
    return struct.pack("!I", len(msg)) + msg


def smb_negotiate(rng: np.random.Generator) -> tuple[bytes, bytes]:
    """NEGOTIATE request (dialects 2.0.2–3.1.1 minus contexts) and a response choosing SMB 3.0.2."""
    dialects = (0x0202, 0x0210, 0x0300, 0x0302)
    req = struct.pack("<HHHHI16sIHH", 36, len(dialects), 1, 0, 0x7F, rng.bytes(16), 0, 0, 0)
    req += b"".join(struct.pack("<H", d) for d in dialects)
    resp = struct.pack("<HHHH16sIIIIQQHHI", 65, 1, 0x0302, 0, rng.bytes(16), 0x6F, 8_388_608, 8_388_608,
                       8_388_608, 0, 0, 128, 0, 0)
    return _smb2(0, req, 0, 0, False), _smb2(0, resp, 0, 0, True)


def smb_session_setup(msg_id: int, session: int) -> tuple[bytes, bytes]:
    """SESSION_SETUP request/response (the Kerberos blob is elided: zero-length security buffer)."""
    req = struct.pack("<HBBIIHHQ", 25, 0, 1, 1, 0, 88, 0, 0)
    resp = struct.pack("<HHHH", 9, 0, 72, 0)
    return _smb2(1, req, msg_id, 0, False), _smb2(1, resp, msg_id, session, True)


def smb_encrypted(rng: np.random.Generator, n: int, session: int) -> bytes:
    """An SMB 3 TRANSFORM_HEADER message (AES-128-CCM) wrapping ``n`` bytes of ciphertext."""
    msg = b"\xfdSMB" + rng.bytes(16) + rng.bytes(11) + b"\x00" * 5 + struct.pack("<IHHQ", n, 0, 1, session)
    msg += rng.bytes(n)
    return struct.pack("!I", len(msg)) + msg
