"""Zeek logs: TSV header variants, unset/empty, bad lines, JSON naming variants, the sample corpora."""

from __future__ import annotations

import json

from sopkit.logs.zeek import read_zeek, sniff

HEADER = ("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\t{path}\n"
          "#fields\t{fields}\n#types\t{types}\n")


def test_tsv_conn_with_unset_empty_escape_and_bad_line(tmp_path):
    p = tmp_path / "conn.log"
    p.write_text(HEADER.format(path="conn", fields="ts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\torig_bytes\tresp_bytes\ttunnel_parents",
                               types="time\tstring\taddr\tport\taddr\tport\tcount\tcount\tset[string]")
                 + "1379288667.706265\tC1\t10.0.0.1\t1032\t10.0.0.2\t80\t601\t-\t(empty)\n"
                 + "1379288668.000001\tC2\t10.0.0\\x2e3\t1033\n"
                 + "#close\t2014-04-03-10-08-28\n")
    assert sniff(p.read_bytes())
    r = read_zeek(p)
    row = r.events.iloc[0]
    assert str(row["ts"]) == "2013-09-15 23:44:27.706265+00:00"
    assert (row["src_ip"], row["dst_port"], row["bytes"], row["action"], row["zeek.path"]) == ("10.0.0.1", 80, 601, "connection", "conn")
    assert "zeek.resp_bytes" not in r.events and row["zeek.tunnel_parents"] == ""  # unset vs empty set
    assert [(x.line, x.reason) for x in r.rejections] == [(9, "4 values for 9 #fields")]


def test_json_envelope_and_underscore_names(tmp_path):
    p = tmp_path / "export_dns.log"
    recs = [{"@stream": "dns", "@system": "sensor1", "ts": 1588205199.832602, "id_orig_h": "10.0.1.6", "id_orig_p": 5353,
             "id_resp_h": "10.0.0.4", "id_resp_p": 53, "query": "evil.example"},
            {"ts": "2020-04-30T00:10:00.5Z", "id.orig_h": "10.0.1.7", "id.resp_h": "10.0.0.4", "query": "ok.example"}]
    p.write_text("\n".join(json.dumps(r) for r in recs) + "\n")
    r = read_zeek(p)
    e = r.events
    assert list(e["message"]) == ["evil.example", "ok.example"] and list(e["zeek.path"]) == ["dns", "dns"]
    assert (e.iloc[0]["host"], e.iloc[0]["zeek.id.orig_h"], str(e.iloc[0]["ts"])) == (
        "sensor1", "10.0.1.6", "2020-04-30 00:06:39.832602+00:00")
    assert str(e.iloc[1]["ts"]) == "2020-04-30 00:10:00.500000+00:00"


def test_corpora_read_without_rejects(conformance):
    expected = {"zeek-zat/conn.log": 360, "zeek-zat/conn_date_issue.log": 3, "zeek-zat/dns.log": 54,
                "zeek-zat/http.log": 150, "zeek-zat/http_empty.log": 0, "zeek-zat/weird.log": 12,
                "zeek-zat/json_conn.log": 50, "zeek-zat/json_dns.log": 50, "zeek-zat/json_http.log": 28,
                "security-datasets/apt29_day1_zeek_NASHUA_kerberos.log": 13,
                "security-datasets/apt29_day1_zeek_NASHUA_smb_files.log": 6,
                "security-datasets/apt29_day1_zeek_SCRANTON_dns.log": 32,
                "security-datasets/apt29_day1_zeek_SCRANTON_http.log": 62}
    for name, count in expected.items():
        p = conformance / "logs" / name
        r = read_zeek(p)
        assert (name, len(r.events), len(r.rejections)) == (name, count, 0)
        if count:
            kind = name.rsplit("_", 1)[-1].split(".")[0].replace("files", "smb_files")
            assert set(r.events["zeek.path"]) == {kind if kind in {"kerberos", "smb_files", "dns", "http", "conn", "weird"}
                                                  else r.events["zeek.path"].iloc[0]}
