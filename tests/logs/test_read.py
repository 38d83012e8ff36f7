from __future__ import annotations

import gzip

import pandas as pd
import pytest

from sopkit.errors import LogFormatError
from sopkit.logs import read as read_mod
from sopkit.logs.read import read_logs, sniff_format

SAMPLES = {
    "auth.txt": "Nov 24 02:13:46 web01 sshd[101]: Failed password for root from 203.0.113.9 port 4242 ssh2\n"
                "Nov 24 02:13:47 web01 sudo:     budi : TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=/bin/ls\n"
                "Nov 24 02:13:48 web01 systemd[1]: Started Session 4 of User budi.\n",
    "messages": "Nov 24 02:13:46 web01 systemd[1]: Started Daily apt.\n"
                "Nov 24 02:13:47 web01 kernel: [ 5.1] usb 1-1: new device\n",
    "rfc5424": "<34>1 2026-11-24T02:13:45Z web01 app 1 - - hello\n",
    "weblog": '203.0.113.9 - - [24/Nov/2026:08:00:01 +0700] "GET / HTTP/1.1" 200 5 "-" "x"\n'
              '203.0.113.9 - - [24/Nov/2026:08:00:02 +0700] "GET /a HTTP/1.1" 404 -\n',
    "fw.log": 'date=2026-11-24 time=10:21:33 devname="FGT" logid="0000000013" type="traffic" srcip=10.1.2.3 '
              'dstip=203.0.113.5 action="accept"\n',
    "kern.log": "Nov 24 10:21:33 gw kernel: [UFW BLOCK] IN=eth0 OUT= SRC=203.0.113.9 DST=10.0.0.5 PROTO=TCP SPT=1 DPT=22\n"
                "Nov 24 10:21:34 gw kernel: [UFW BLOCK] IN=eth0 OUT= SRC=203.0.113.9 DST=10.0.0.5 PROTO=TCP SPT=2 DPT=23\n",
}
EXPECTED = {"auth.txt": "auth", "messages": "syslog", "rfc5424": "syslog", "weblog": "access", "fw.log": "fortigate",
            "kern.log": "iptables"}


@pytest.fixture
def folder(tmp_path):
    for name, text in SAMPLES.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def test_sniff_by_content_not_name(folder, tmp_path):
    assert {name: sniff_format(folder / name) for name in SAMPLES} == EXPECTED
    (tmp_path / "access.log.gz").write_bytes(gzip.compress(SAMPLES["auth.txt"].encode()))
    assert sniff_format(tmp_path / "access.log.gz") == "auth"
    (tmp_path / "eve.json").write_text('{"timestamp":"2026-11-24T10:21:33.123456+0700","event_type":"alert",'
                                       '"src_ip":"1.2.3.4","alert":{"signature_id":1}}\n')
    assert sniff_format(tmp_path / "eve.json") == "suricata"
    (tmp_path / "x.evtx").write_bytes(b"ElfFile\x00" + bytes(120))
    assert sniff_format(tmp_path / "x.evtx") == "winevt"


def test_unknown_format_names_file_and_bytes(tmp_path):
    (tmp_path / "blob.bin").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(40))
    with pytest.raises(LogFormatError, match=r"blob.bin: unknown log format; it starts with b'\\x89PNG"):
        sniff_format(tmp_path / "blob.bin")
    with pytest.raises(LogFormatError, match="unknown log format 'csv'"):
        read_logs(tmp_path, format="csv")


def test_missing_reader_module_is_named(tmp_path, monkeypatch):
    monkeypatch.setitem(read_mod.OTHER_READERS, "winevt", ("sopkit.logs.no_such_module", "read_winevt"))
    (tmp_path / "x.evtx").write_bytes(b"ElfFile\x00" + bytes(120))
    with pytest.raises(LogFormatError, match="looks like winevt, but its reader sopkit.logs.no_such_module.read_winevt"):
        read_logs(tmp_path / "x.evtx")


def test_read_folder_merges_sorted_with_assumptions(folder):
    result = read_logs(folder, year=2026, tz="WIB")
    assert {k.split("/")[-1]: v for k, v in result.formats.items()} == EXPECTED
    ev = result.events
    assert ev["ts"].is_monotonic_increasing and len(ev) == 11 and result.rejections == []
    assert result.assumptions == {"tz": "WIB", "year": 2026, "year_from": "argument"}
    assert ev.groupby("source").size().to_dict() == {"access": 2, "auth": 3, "fortigate": 1, "iptables": 2, "syslog": 3}
    assert ev.loc[ev["source"] == "access", "ts"].iloc[0] == pd.Timestamp("2026-11-24 01:00:01", tz="UTC")
    forced = read_logs(folder / "messages", format="auth", year=2026)
    assert set(forced.events["source"]) == {"auth"} and forced.formats == {str(folder / "messages"): "auth"}
