"""Suricata EVE: NDJSON and pretty arrays, each event type's columns, rejections, the sample sets."""

from __future__ import annotations

import json

from sopkit.logs.suricata import read_eve, sniff

ALERT = {"timestamp": "2026-03-02T08:00:01.000001+0700", "event_type": "alert", "src_ip": "203.0.113.9",
         "src_port": 4444, "dest_ip": "10.0.0.5", "dest_port": 80, "proto": "TCP",
         "alert": {"action": "allowed", "signature_id": 2010935, "signature": "ET SCAN Nmap", "category": "Attempted Recon",
                   "severity": 2}}
HTTP = {"timestamp": "2026-03-02T01:00:02Z", "event_type": "http", "src_ip": "10.0.0.7", "src_port": 5000,
        "dest_ip": "10.0.0.5", "dest_port": 80,
        "http": {"hostname": "portal.pemda.go.id", "url": "/login?x=1", "http_method": "POST", "status": 302,
                 "http_user_agent": "curl/8", "length": 15}}
FLOW = {"timestamp": "2026-03-02T01:00:03Z", "event_type": "flow", "src_ip": "10.0.0.7", "dest_ip": "8.8.8.8",
        "flow": {"bytes_toserver": 100, "bytes_toclient": 250, "state": "closed"}}


def test_ndjson_event_types_and_rejects(tmp_path):
    p = tmp_path / "eve.json"
    p.write_text("\n".join([json.dumps(ALERT), json.dumps(HTTP), '{"event_type": 1', json.dumps(FLOW),
                            json.dumps({"timestamp": "yesterday", "event_type": "dns"}), '{"no": "type"}']) + "\n")
    assert sniff(p.read_bytes())
    r = read_eve(p)
    e = r.events
    assert list(e["action"]) == ["alert", "request", "connection"]
    a = e.iloc[0]
    assert (str(a["ts"]), a["event_id"], a["message"], a["suricata.alert.severity"], a["dst_port"]) == (
        "2026-03-02 01:00:01.000001+00:00", "2010935", "ET SCAN Nmap", "2", 80)
    h = e.iloc[1]
    assert (h["url"], h["http_method"], h["http_status"], h["user_agent"], h["bytes"]) == (
        "/login?x=1", "POST", 302, "curl/8", 15)
    assert e.iloc[2]["bytes"] == 350
    assert sorted((x.line, x.reason.split(" ")[0]) for x in r.rejections) == [(3, "invalid"), (5, "unreadable"), (6, "not")]


def test_sample_sets_read_without_rejects(conformance):
    for name, count in (("wrccdc-2018_alerts-only.json", 207), ("honeypot-2018_alerts-only.json", 44)):
        p = conformance / "logs/suricata-sample-data" / name
        assert sniff(p.read_bytes()[:65536])
        r = read_eve(p)
        assert (len(r.events), len(r.rejections)) == (count, 0)
        assert r.events["event_id"].notna().all() and (r.events["action"] == "alert").all()
    first = read_eve(conformance / "logs/suricata-sample-data/honeypot-2018_alerts-only.json").events.iloc[0]
    assert (first["message"], first["event_id"], first["line"]) == ("ET SCAN Potential SSH Scan", "2001219", 2)
