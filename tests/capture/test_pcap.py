"""libpcap reader: truncation at every boundary, snaplen-cut records, bogus caplen."""

from __future__ import annotations

import struct

import pytest
from capbuild import pcap_bytes, tcp4, udp4, write

from sopkit.capture.decode import Decoder
from sopkit.capture.readers import open_capture
from sopkit.errors import CaptureError

T0 = 1_600_000_000 * 10**9
RECS = [(T0 + i * 1000, udp4(ident=i)) for i in range(3)]
FILE = pcap_bytes(RECS, linktype=101)
REC_LEN = 16 + len(udp4())


def read(tmp_path, data: bytes):
    f = write(tmp_path / "cut.pcap", data)
    r = open_capture(f)
    return list(r), r.stats


def test_cut_inside_file_header_is_an_error(tmp_path):
    for n in (4, 10, 23):
        with pytest.raises(CaptureError, match=f"header cut at {n} of 24"):
            read(tmp_path, FILE[:n])


def test_header_only_file_has_no_records_and_no_warning(tmp_path):
    frames, st = read(tmp_path, FILE[:24])
    assert frames == [] and st.warnings == [] and st.linktypes == {101}


@pytest.mark.parametrize("cut", range(1, REC_LEN))
def test_cut_inside_second_record_keeps_the_first(tmp_path, cut):
    frames, st = read(tmp_path, FILE[: 24 + REC_LEN + cut])
    assert len(frames) == 1 and frames[0].data == udp4(ident=0)
    assert len(st.warnings) == 1
    assert f"at byte {24 + REC_LEN}" in st.warnings[0]
    where = "record header" if cut < 16 else "record data"
    assert where in st.warnings[0]


def test_bogus_caplen_stops_with_warning(tmp_path):
    bad = bytearray(FILE)
    struct.pack_into("<I", bad, 24 + REC_LEN + 8, 0x7FFFFFF0)  # second record's caplen
    frames, st = read(tmp_path, bytes(bad))
    assert len(frames) == 1
    assert "implausible caplen 2147483632" in st.warnings[0] and f"byte {24 + REC_LEN}" in st.warnings[0]


def test_snaplen_truncated_records_counted_and_decoded_as_far_as_they_go(tmp_path):
    full = tcp4(payload=b"z" * 200)
    f = write(tmp_path / "snap.pcap", pcap_bytes([(T0, full[:54], len(full))], linktype=101, snaplen=54))
    r = open_capture(f)
    frames = list(r)
    assert r.stats.truncated_records == 1 and frames[0].wirelen == len(full)
    (p,) = Decoder().decode(frames[0])
    assert p.truncated and p.ip_len == len(full) and p.payload_len == 200 and len(p.payload) == 14


def test_big_endian_ns_timestamps_exact(tmp_path):
    f = write(tmp_path / "be.pcap", pcap_bytes([(T0 + 999_999_999, udp4())], linktype=101, order=">", ns=True))
    (fr,) = list(open_capture(f))
    assert fr.ts_ns == T0 + 999_999_999
