"""Windows events: the three JSON export shapes, NDJSON/array, mapping to columns, rejections, .evtx."""

from __future__ import annotations

import json

import pytest

from sopkit.logs.winevt import read_winevt, sniff

EVTX_JSON = {"Event": {"System": {
    "Provider": {"#attributes": {"Name": "Microsoft-Windows-Security-Auditing"}},
    "EventID": 4625, "EventRecordID": 77, "Channel": "Security", "Computer": "PC-01.pemda.local",
    "TimeCreated": {"#attributes": {"SystemTime": "2026-03-02T01:02:03.5Z"}},
    "Execution": {"#attributes": {"ProcessID": 640, "ThreadID": 1}}},
    "EventData": {"TargetUserName": "admin", "LogonType": 3, "IpAddress": "203.0.113.9", "IpPort": "50123",
                  "Status": "0xc000006d"}}}
WINLOGBEAT = {"@timestamp": "2026-03-02T01:05:00.000Z", "message": "A member was added",
              "winlog": {"event_id": 4732, "channel": "Security", "provider_name": "Microsoft-Windows-Security-Auditing",
                         "computer_name": "DC-01", "record_id": 9,
                         "event_data": {"MemberName": "CN=eve,DC=pemda", "TargetUserName": "Administrators"}}}
NXLOG = {"EventTime": "2026-03-02 08:10:00", "Hostname": "PC-02", "SourceName": "Microsoft-Windows-Sysmon",
         "Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1, "RecordNumber": 5,
         "Image": "C:\\Windows\\System32\\cmd.exe", "CommandLine": "cmd /c whoami", "User": "PEMDA\\budi"}


def test_three_shapes_as_ndjson_with_a_bad_line(tmp_path):
    p = tmp_path / "mixed.json"
    p.write_text("\n".join([json.dumps(EVTX_JSON), json.dumps(WINLOGBEAT), "{broken", json.dumps(NXLOG),
                            json.dumps({"EventID": "x", "Channel": "Security", "TimeCreated": "2026-03-02"})]) + "\n")
    assert sniff(p.read_bytes()[:65536])
    r = read_winevt(p, tz="Asia/Jakarta")
    e = r.events
    assert list(e["event_id"]) == ["4625", "4732", "1"]
    assert [(x.line, x.reason.split(":")[0]) for x in r.rejections] == [(3, "invalid JSON"), (5, "no usable EventID ('x')")]
    first = e.iloc[0]
    assert (first["host"], first["user"], first["src_ip"], first["src_port"], first["action"], first["outcome"],
            first["pid"], first["win.LogonType"], first["win.EventRecordID"]) == (
        "PC-01.pemda.local", "admin", "203.0.113.9", 50123, "login", "failure", 640, "3", "77")
    assert str(first["ts"]) == "2026-03-02 01:02:03.500000+00:00"
    assert (e.iloc[1]["user"], e.iloc[1]["action"], e.iloc[1]["host"]) == ("CN=eve,DC=pemda", "group_add", "DC-01")
    nx = e.iloc[2]
    assert (nx["process"], nx["win.CommandLine"], nx["program"], nx["win.Computer"]) == (
        "C:\\Windows\\System32\\cmd.exe", "cmd /c whoami", "Microsoft-Windows-Sysmon", "PC-02")
    assert str(nx["ts"]) == "2026-03-02 01:10:00+00:00" and r.assumptions == {"tz": "Asia/Jakarta"}


def test_pretty_array_and_truncated_tail(tmp_path):
    p = tmp_path / "export.json"
    p.write_text(json.dumps([EVTX_JSON, NXLOG], indent=2)[:-1])  # closing bracket lost
    r = read_winevt(p)
    assert len(r.events) == 2 and len(r.rejections) == 1 and "not closed" in r.rejections[0].reason


def test_not_windows(tmp_path):
    p = tmp_path / "x.json"
    p.write_text('{"hello": 1}\n')
    assert not sniff(p.read_bytes())
    r = read_winevt(p)
    assert len(r.events) == 0 and r.rejections[0].reason.startswith("not a Windows event record")


def test_evtx_and_json_copies_agree(conformance):
    base = conformance / "logs/sigmahq-regression/regression_data/rules/windows/builtin/security"
    evtx = next(base.glob("win_security_explicit_credential_local_logon/*.evtx"))
    a, b = read_winevt(evtx), read_winevt(evtx.with_suffix(".json"))
    assert sniff(evtx.read_bytes()[:65536]) and a.formats[str(evtx)] == "evtx"
    cols = ["ts", "host", "event_id", "program", "user", "action", "outcome", "process"]
    assert a.events[cols].equals(b.events[cols])
    assert a.events.iloc[0][cols[2:]].tolist() == ["4648", "Microsoft-Windows-Security-Auditing", "testuser",
                                                   "explicit_credential_login", "success",
                                                   "C:\\Users\\xodih\\OneDrive\\Desktop\\LegacyHive.exe"]


def test_security_datasets_flat_export(conformance):
    p = conformance / "logs/security-datasets/cmd_sam_copy_esentutl_2020-10-1900290001.json"
    r = read_winevt(p)
    assert (len(r.events), len(r.rejections)) == (915, 0)
    counts = r.events["event_id"].value_counts()
    assert (counts["10"], counts["13"], counts["4799"]) == (245, 208, 186)


def test_garbage_evtx_is_a_clear_error(tmp_path):
    from sopkit.errors import LogFormatError

    p = tmp_path / "bad.evtx"
    p.write_bytes(b"ElfFile\x00" + b"\x00" * 100)
    with pytest.raises(LogFormatError, match="bad.evtx"):
        read_winevt(p)
