"""Format detection by magic number, gzip, multi-file merge, time windows, rejected files."""

from __future__ import annotations

import gzip

import pytest
from capbuild import ng_epb, ng_idb, ng_shb, pcap_bytes, tcp4, udp4, write

from sopkit.capture.readers import FrameStream, iter_frames, open_capture, sniff
from sopkit.errors import CaptureError

T0 = 1_700_000_000 * 10**9


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("ns", [False, True])
def test_pcap_magics_and_byte_orders(tmp_path, order, ns):
    recs = [(T0 + 123_456_789, udp4()), (T0 + 2 * 10**9 + 5_000, tcp4())]
    f = write(tmp_path / "x.bin", pcap_bytes(recs, linktype=101, order=order, ns=ns))
    r = open_capture(f)
    frames = list(r)
    assert [fr.linktype for fr in frames] == [101, 101]
    want0 = T0 + 123_456_789 if ns else T0 + 123_456_000
    assert frames[0].ts_ns == want0
    assert frames[1].ts_ns == T0 + 2 * 10**9 + 5_000
    assert frames[0].data == udp4() and frames[1].index == 1
    assert r.stats.records == 2 and r.stats.bytes == len(udp4()) + len(tcp4())
    assert r.linktypes == {101}
    assert r.stats.format == ("pcap-ns" if ns else "pcap")


def test_gzip_pcap_and_pcapng(tmp_path):
    plain = pcap_bytes([(T0, udp4())], linktype=101)
    f = write(tmp_path / "a.pcap.whatever", gzip.compress(plain))
    r = open_capture(f)
    assert [fr.data for fr in r] == [udp4()]
    assert r.stats.format == "pcap+gzip"
    ng = ng_shb() + ng_idb(101) + ng_epb(0, T0 // 1000, udp4())
    g = write(tmp_path / "b", gzip.compress(ng))
    assert sniff(g) == "pcapng+gzip"
    frames = list(open_capture(g))
    assert frames[0].ts_ns == T0 and frames[0].linktype == 101


def test_not_a_capture_names_file_and_bytes(tmp_path):
    f = write(tmp_path / "notes.pcap", b"hello world")
    with pytest.raises(CaptureError, match=r"notes\.pcap.*68656c6c"):
        open_capture(f)
    e = write(tmp_path / "empty.pcap", b"")
    with pytest.raises(CaptureError, match="empty"):
        open_capture(e)
    gz = write(tmp_path / "text.gz", gzip.compress(b"just text"))
    with pytest.raises(CaptureError, match="gzip data"):
        open_capture(gz)


def test_iter_frames_merges_files_in_time_order_and_reports_others(tmp_path):
    d = tmp_path / "caps"
    (d / "sub").mkdir(parents=True)
    write(d / "one.pcap", pcap_bytes([(T0 + 1, udp4(ident=1)), (T0 + 30, udp4(ident=3))], linktype=101, ns=True))
    write(d / "sub" / "two.cap", pcap_bytes([(T0 + 20, udp4(ident=2)), (T0 + 40, udp4(ident=4))],
                                            linktype=101, ns=True))
    write(d / "readme.txt", b"not a capture")
    stream = iter_frames([d])
    ts = [f.ts_ns - T0 for f in stream]
    assert ts == [1, 20, 30, 40]
    assert any("readme.txt" in r for r in stream.rejected)
    assert stream.stats.records == 4
    window = list(iter_frames(d, start_ns=T0 + 20, end_ns=T0 + 40))
    assert [f.ts_ns - T0 for f in window] == [20, 30]


def test_progress_bar_runs(tmp_path, capsys):
    f = write(tmp_path / "p.pcap", pcap_bytes([(T0 + i, udp4()) for i in range(5)], linktype=101))
    s = FrameStream([f], progress=True)
    assert len(list(s)) == 5


def test_missing_path_is_rejected_not_fatal(tmp_path):
    s = FrameStream([tmp_path / "nope.pcap"])
    assert list(s) == []
    assert "no such file" in s.rejected[0]


def test_no_readable_capture_is_an_error_naming_the_paths(tmp_path):
    import pytest

    from sopkit.capture.readers import iter_frames
    from sopkit.errors import CaptureError

    (tmp_path / "notes.txt").write_text("not a capture")
    with pytest.raises(CaptureError, match=r"no readable capture among .*absent\.pcap.*no such file"):
        iter_frames([tmp_path / "absent.pcap"])
    with pytest.raises(CaptureError, match=r"notes\.txt: not a pcap/pcapng capture"):
        iter_frames(tmp_path)
