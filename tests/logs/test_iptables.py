from __future__ import annotations

import pandas as pd

from sopkit.logs.iptables import read_iptables

LINES = [
    "Nov 24 10:21:33 gw kernel: [12345.678901] [UFW BLOCK] IN=eth0 OUT= MAC=00:11:22:33:44:55:66:77:88:99:aa:bb:08:00 "
    "SRC=203.0.113.9 DST=10.0.0.5 LEN=60 TOS=0x00 PREC=0x00 TTL=52 ID=4321 DF PROTO=TCP SPT=51234 DPT=22 "
    "WINDOW=64240 RES=0x00 SYN URGP=0",
    "Nov 24 10:21:34 gw kernel: DROP-IN: IN=eth1 OUT= SRC=198.51.100.1 DST=10.0.0.5 LEN=84 TTL=64 PROTO=ICMP TYPE=8 CODE=0",
    "Nov 24 10:21:35 gw kernel: [UFW ALLOW] IN= OUT=eth0 SRC=10.0.0.5 DST=192.0.2.53 LEN=70 PROTO=UDP SPT=5353 DPT=53 LEN=50",
    "Nov 24 10:21:36 gw kernel: [12346.0] eth0: link up",
    "[12346.5] [UFW BLOCK] IN=eth0 OUT= SRC=1.2.3.4 DST=10.0.0.5 PROTO=TCP SPT=1 DPT=2",
]


def test_netfilter_fields(tmp_path):
    path = tmp_path / "ufw.log"
    path.write_text("\n".join(LINES) + "\n")
    result = read_iptables(path, year=2026, tz="WIB")
    ev = result.events
    assert list(ev["action"].fillna("-")) == ["block", "block", "allow", "-"]
    assert list(ev["iptables.prefix"].fillna("-")) == ["UFW BLOCK", "DROP-IN", "UFW ALLOW", "-"]
    assert (ev.loc[0, "src_ip"], ev.loc[0, "dst_ip"], ev.loc[0, "src_port"], ev.loc[0, "dst_port"]) == (
        "203.0.113.9", "10.0.0.5", 51234, 22)
    assert ev.loc[0, "iptables.proto"] == "TCP" and ev.loc[0, "iptables.flags"] == "SYN" and ev.loc[0, "bytes"] == 60
    assert ev.loc[1, "iptables.icmp_type"] == 8 and pd.isna(ev.loc[1, "src_port"]) and ev.loc[1, "outcome"] == "failure"
    assert pd.isna(ev.loc[2, "iptables.in"]) and ev.loc[2, "iptables.out"] == "eth0" and ev.loc[2, "bytes"] == 70
    assert ev.loc[0, "ts"] == pd.Timestamp("2026-11-24 03:21:33", tz="UTC") and set(ev["source"]) == {"iptables"}
    assert [(r.line, r.reason.split(" (")[0]) for r in result.rejections] == [(5, "not a syslog line")]
