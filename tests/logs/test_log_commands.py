"""``sopkit logs`` / ``sopkit sigma`` CLI: tables written atomically, CSV formula-safe, summary printed."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import types

import pandas as pd
import pytest

from sopkit.logs import commands


@pytest.fixture(autouse=True)
def dispatcher(monkeypatch):
    """Until ``sopkit.logs.read`` lands, dispatch our own formats by their sniffers."""
    try:
        importlib.import_module("sopkit.logs.read")
        return
    except ModuleNotFoundError:
        pass
    from sopkit.logs import suricata, winevt, zeek
    from sopkit.logs.schema import LogResult, conform

    def read_logs(paths, format="auto", **kw):
        results = []
        for p in paths:
            head = p.read_bytes()[:65536]
            mod = next(m for m in (winevt, suricata, zeek) if m.sniff(head))
            reader = {"winevt": mod.__dict__.get("read_winevt"), "suricata": mod.__dict__.get("read_eve"),
                      "zeek": mod.__dict__.get("read_zeek")}[mod.__name__.rsplit(".", 1)[1]]
            results.append(reader(p, **kw))
        return LogResult(conform(pd.concat([r.events for r in results], ignore_index=True)),
                         [x for r in results for x in r.rejections], {},
                         {k: v for r in results for k, v in r.formats.items()})

    monkeypatch.setitem(sys.modules, "sopkit.logs.read", types.SimpleNamespace(read_logs=read_logs))


def _parse(argv):
    parser = argparse.ArgumentParser()
    commands.register(parser.add_subparsers())
    return parser.parse_args(argv)


def _eve(tmp_path):
    p = tmp_path / "eve.json"
    rec = {"timestamp": "2026-03-02T01:00:00Z", "event_type": "http", "src_ip": "10.0.0.7", "dest_ip": "10.0.0.5",
           "http": {"url": "/q?id=1 union select password from users", "http_user_agent": "=HYPERLINK(\"x\")"}}
    p.write_text(json.dumps(rec) + "\n")
    return p


def test_logs_to_csv_and_parquet(tmp_path, capsys):
    eve = _eve(tmp_path)
    out = tmp_path / "events.csv"
    assert _parse(["logs", str(eve), "-o", str(out)]).func(_parse(["logs", str(eve), "-o", str(out)])) == 0
    df = pd.read_csv(out)
    assert df.loc[0, "user_agent"] == "'=HYPERLINK(\"x\")" and df.loc[0, "source"] == "suricata"
    assert "events: 1; rejected lines: 0" in capsys.readouterr().err
    pq = tmp_path / "events.parquet"
    args = _parse(["logs", str(eve), "-o", str(pq)])
    args.func(args)
    assert pd.read_parquet(pq).loc[0, "url"].startswith("/q?id=1 union")
    assert not [f for f in tmp_path.iterdir() if f.name.endswith(".tmp")]


def test_sigma_summary_and_alerts(tmp_path, capsys):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "r.yml").write_text(
        "title: Suricata union select\nid: 11111111-2222-3333-4444-555555555559\nlevel: high\n"
        "logsource:\n  product: windows\n  service: security\ndetection:\n  sel:\n    EventID: 4625\n  condition: sel\n")
    (rules / "z.yml").write_text(
        "title: zeek dns evil\nid: 11111111-2222-3333-4444-55555555555a\nlevel: medium\ntags: [attack.t1071.004]\n"
        "logsource:\n  product: zeek\n  service: dns\ndetection:\n  sel:\n    query|endswith: .evil.example\n  condition: sel\n")
    dns = tmp_path / "dns.log"
    dns.write_text(json.dumps({"ts": 1588205199.5, "id.orig_h": "10.0.0.9", "id.resp_h": "10.0.0.1",
                               "query": "c2.EVIL.example", "_path": "dns"}) + "\n")
    out = tmp_path / "alerts.csv"
    args = _parse(["sigma", "--rules", str(rules), str(dns), str(_eve(tmp_path)), "-o", str(out)])
    assert args.func(args) == 0
    err = capsys.readouterr().err
    assert "rules loaded 2, skipped 0, evaluated 2, fired 1; alerts 1" in err
    alerts = pd.read_csv(out)
    assert list(alerts["rule_title"]) == ["zeek dns evil"] and alerts.loc[0, "tags"] == "attack.t1071.004"
    assert alerts.loc[0, "details"] == "query: c2.EVIL.example"


def test_bad_output_suffix(tmp_path):
    from sopkit.errors import SopkitError

    args = _parse(["logs", str(_eve(tmp_path)), "-o", str(tmp_path / "x.xlsx")])
    with pytest.raises(SopkitError, match="x.xlsx"):
        args.func(args)
