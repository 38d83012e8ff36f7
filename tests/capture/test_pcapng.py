"""pcapng reader: interfaces with their own link type and resolution, sections, damage."""

from __future__ import annotations

import pytest
from capbuild import eth, ng_block, ng_epb, ng_idb, ng_pb, ng_shb, ng_spb, udp4, write

from sopkit.capture.pcapng import ts_to_ns
from sopkit.capture.readers import open_capture
from sopkit.errors import CaptureError

T_S = 1_700_000_000  # seconds


def read(tmp_path, data: bytes):
    r = open_capture(write(tmp_path / "x.pcapng", data))
    return list(r), r.stats


def test_ts_to_ns_decimal_and_binary_resolutions():
    assert ts_to_ns(1_500, 3) == 1_500_000_000
    assert ts_to_ns(7, 9) == 7
    assert ts_to_ns(12_345, 12) == 12  # picoseconds round down
    assert ts_to_ns(3 << 20, 0x80 | 20) == 3_000_000_000  # 2^-20 s units
    assert ts_to_ns(1, 0x80 | 1) == 500_000_000


def test_multi_interface_resolutions_linktypes_and_offset(tmp_path):
    data = (
        ng_shb()
        + ng_idb(1)  # default µs
        + ng_idb(101, tsresol=9)  # ns
        + ng_idb(101, tsresol=0x80 | 24, tsoffset=100)  # 2^-24 s, +100 s
        + ng_epb(0, T_S * 10**6 + 1, eth(udp4()))
        + ng_epb(1, T_S * 10**9 + 123_456_789, udp4())
        + ng_epb(2, (T_S << 24) + (1 << 23), udp4())
        + ng_block(5, b"\0" * 12)  # interface statistics: skipped, counted
    )
    frames, st = read(tmp_path, data)
    assert [f.linktype for f in frames] == [1, 101, 101]
    assert frames[0].ts_ns == T_S * 10**9 + 1000
    assert frames[1].ts_ns == T_S * 10**9 + 123_456_789
    assert frames[2].ts_ns == (T_S + 100) * 10**9 + 500_000_000
    assert st.linktypes == {1, 101} and st.records == 3
    assert st.skipped["interface statistics block 0x5"] == 1


def test_sections_restart_interfaces_and_may_change_byte_order(tmp_path):
    data = (ng_shb("<") + ng_idb(1) + ng_epb(0, 10**6, eth(udp4()))
            + ng_shb(">") + ng_idb(101, tsresol=9, order=">") + ng_epb(0, 5, udp4(), order=">")
            + ng_epb(1, 5, udp4(), order=">"))
    frames, st = read(tmp_path, data)
    assert [(f.linktype, f.ts_ns) for f in frames] == [(1, 10**9), (101, 5)]
    assert st.skipped["undeclared interface"] == 1 and "undeclared interface 1" in st.warnings[0]


def test_simple_and_obsolete_packet_blocks(tmp_path):
    pkt = eth(udp4())
    data = ng_shb() + ng_idb(1, snaplen=40) + ng_spb(pkt) + ng_pb(0, 2 * 10**6, pkt)
    frames, st = read(tmp_path, data)
    assert frames[0].data == pkt[:40] and frames[0].wirelen == len(pkt)  # SPB cut to the snaplen
    assert frames[1].ts_ns == 2 * 10**9 and frames[1].data == pkt
    assert st.truncated_records == 1


FULL = ng_shb() + ng_idb(101) + ng_epb(0, 1, udp4(ident=1)) + ng_epb(0, 2, udp4(ident=2))
SECOND = len(FULL) - len(ng_epb(0, 2, udp4(ident=2)))


@pytest.mark.parametrize("cut", [1, 4, 8, 11, 12, 30, len(ng_epb(0, 2, udp4())) - 1])
def test_cut_inside_last_block_keeps_the_rest(tmp_path, cut):
    frames, st = read(tmp_path, FULL[: SECOND + cut])
    assert [f.data for f in frames] == [udp4(ident=1)]
    assert len(st.warnings) == 1 and f"block at byte {SECOND}" in st.warnings[0]
    assert "file ends inside a block" in st.warnings[0]


def test_cut_inside_interface_block(tmp_path):
    shb = ng_shb()
    frames, st = read(tmp_path, FULL[: len(shb) + 6])
    assert frames == [] and f"byte {len(shb)}" in st.warnings[0]


def test_bogus_block_length_stops(tmp_path):
    bad = bytearray(FULL)
    bad[SECOND + 4 : SECOND + 8] = (0x7FFFFFF0).to_bytes(4, "little")
    frames, st = read(tmp_path, bytes(bad))
    assert len(frames) == 1 and "implausible block length" in st.warnings[0]


def test_cut_section_header_is_an_error(tmp_path):
    with pytest.raises(CaptureError, match="section header cut"):
        read(tmp_path, FULL[:9])
