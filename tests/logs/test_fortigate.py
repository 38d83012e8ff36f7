from __future__ import annotations

import pandas as pd

from sopkit.logs.fortigate import parse_record, read_fortigate

TRAFFIC = ('date=2026-11-24 time=10:21:33 devname="FGT-Kantor" devid="FG100F" logid="0000000013" type="traffic" '
           'subtype="forward" level="notice" tz="+0700" srcip=10.1.2.3 srcport=51515 dstip=203.0.113.5 dstport=443 '
           'action="deny" policyid=3 sentbyte=100 rcvdbyte=20 msg="Denied by forward policy check"')
UTM = ('Nov 24 10:22:00 10.0.0.1 date=2026-11-24 time=10:22:00 devname="FGT-Kantor" logid="0316013056" type="utm" '
       'subtype="webfilter" srcip=10.1.2.4 dstip=198.51.100.8 hostname="bad.example" url="/a b?q=\\"x\\"" '
       'action="blocked" msg="URL belongs to a denied category"')
EVENT = ('<189>date=2026-11-24 time=23:30:00 devname="FGT-Kantor" logid="0100032002" type="event" subtype="system" '
         'logdesc="Admin login failed" user="admin" action="login" status="failed"')


def test_parse_record_quotes():
    rec = parse_record(UTM)
    assert rec["url"] == '/a b?q="x"' and rec["hostname"] == "bad.example" and "Nov" not in rec


def test_read_types_zones_and_rejects(tmp_path):
    path = tmp_path / "forti.log"
    path.write_text("\n".join([TRAFFIC, UTM, EVENT, "date=2026-11-24 devname=x", "date=2026-13-01 time=10:00:00"]))
    result = read_fortigate(path, tz="WITA")
    ev = result.events
    assert list(ev["ts"]) == [pd.Timestamp("2026-11-24 03:21:33", tz="UTC"), pd.Timestamp("2026-11-24 02:22:00", tz="UTC"),
                              pd.Timestamp("2026-11-24 15:30:00", tz="UTC")]
    assert result.assumptions == {"tz": "WITA"}
    assert list(ev["action"]) == ["connection", "alert", "login"]
    assert list(ev["outcome"]) == ["failure", "failure", "failure"]
    assert (ev.loc[0, "src_ip"], ev.loc[0, "src_port"], ev.loc[0, "dst_port"], ev.loc[0, "bytes"]) == ("10.1.2.3", 51515, 443, 120)
    assert ev.loc[0, "event_id"] == "0000000013" and ev.loc[0, "host"] == "FGT-Kantor"
    assert ev.loc[1, "url"] == '/a b?q="x"' and ev.loc[1, "forti.subtype"] == "webfilter"
    assert ev.loc[2, "user"] == "admin" and ev.loc[2, "message"] == "Admin login failed"
    assert [(r.line, r.reason) for r in result.rejections] == [
        (4, "not a FortiGate record (no date=/time= fields)"), (5, "invalid date=/time= values")]
