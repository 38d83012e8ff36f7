from __future__ import annotations

import numpy as np

from sopkit.capture.batch import (
    F_BAD_IP_CHECKSUM,
    F_NO_CONN,
    FIELDS,
    join_address,
    packets_to_batch,
    split_address,
)
from sopkit.capture.packet import Packet, TunnelKey


def test_address_halves_order_like_bytes():
    addrs = [bytes([10, 0, 0, 2]), bytes([10, 0, 0, 10]), bytes([192, 168, 1, 1])]
    v6 = [bytes.fromhex("20010db8000000000000000000000001"), bytes.fromhex("fe800000000000000000000000000002")]
    for group, version in ((addrs, 4), (v6, 6)):
        halves = [split_address(a) for a in group]
        assert sorted(halves) == [split_address(a) for a in sorted(group)]
        assert [join_address(h, lo, version) for h, lo in halves] == group


def test_packets_to_batch_fields():
    tunnel = TunnelKey("vxlan", 17, b"\x01\x02\x03\x04", 1234, b"\x05\x06\x07\x08", 4789)
    p1 = Packet(1_700_000_000_123_456_789, b"\x0a\x00\x00\x01", b"\x0a\x00\x00\x02", 6, 40000, 443, ip_len=60,
                payload_len=20, tcp_flags=0x18, seq=2**32 - 1, ack=7, window=512, payload=b"x" * 12,
                vlan=100, tunnel=tunnel, frame_index=3)
    p1.extra["bad_ip_checksum"] = True
    p2 = Packet(1_700_000_001_000_000_000, bytes(15) + b"\x01", bytes(15) + b"\x02", 17, 53, 5353, ip_len=48,
                payload_len=0, ip_version=6, tunnel=tunnel)
    p2.extra["no_conn"] = True
    b = packets_to_batch([p1, p2])
    assert len(b) == 2 and set(b.columns) == set(FIELDS)
    assert all(b[name].dtype == dtype for name, dtype in FIELDS.items())
    assert b["ts_ns"][0] == 1_700_000_000_123_456_789
    assert (b["src_hi"][0], b["src_lo"][0]) == (0, 0x0A000001)
    assert (b["src_hi"][1], b["src_lo"][1]) == (0, 1) and b["ip_version"][1] == 6
    assert b["seq"][0] == 2**32 - 1 and b["captured_len"][0] == 12 and b["window"][0] == 512
    assert list(b["vlan"]) == [100, -1] and list(b["inner_vlan"]) == [-1, -1]
    assert list(b["tunnel"]) == [0, 0] and b.tunnels == [tunnel]
    assert b["flags"][0] & F_BAD_IP_CHECKSUM and b["flags"][1] & F_NO_CONN
    assert np.array_equal(b["frame_index"], [3, 0])
