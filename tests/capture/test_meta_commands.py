"""``sopkit dns|http|tls``: formats, atomic output, formula neutralisation, clear errors."""

from __future__ import annotations

import csv

import dpkt
import pandas as pd
import pytest

from sopkit.capture.meta_commands import neutralise_formulas, write_table
from sopkit.cli import main
from sopkit.errors import SopkitError


def _capture(path, frames: list[bytes]) -> None:
    with open(path, "wb") as f:
        w = dpkt.pcap.Writer(f)
        for i, fr in enumerate(frames):
            w.writepkt(fr, ts=1_700_000_000 + i)


def _udp_frame(payload: bytes, sport: int, dport: int) -> bytes:
    udp = dpkt.udp.UDP(sport=sport, dport=dport, data=payload)
    udp.ulen = len(udp)
    ip = dpkt.ip.IP(src=bytes([10, 0, 0, 1]), dst=bytes([10, 0, 0, 2]), p=17, data=udp)
    ip.len = len(ip)
    return bytes(dpkt.ethernet.Ethernet(src=b"\x02" * 6, dst=b"\x04" * 6, type=0x0800, data=ip))


def test_neutralise_formulas_only_touches_text() -> None:
    df = pd.DataFrame({"q": ["=HYPERLINK(1)", "+1", "-x", "@a", "\tz", "ok", None], "n": [-1, 2, 3, 4, 5, 6, 7],
                       "l": [["=a", "b"], [], ["c"], ["d"], ["e"], ["f"], ["g"]]})
    out = neutralise_formulas(df)
    assert list(out["q"][:6]) == ["'=HYPERLINK(1)", "'+1", "'-x", "'@a", "'\tz", "ok"]
    assert list(out["n"]) == [-1, 2, 3, 4, 5, 6, 7]
    assert out["l"][0] == "'=a,b" and out["l"][2] == "c"


def test_dns_command_csv_is_safe_and_atomic(tmp_path, capsys) -> None:
    q = bytes(dpkt.dns.DNS(id=1, qd=[dpkt.dns.DNS.Q(name="=cmd.example", type=1)]))
    cap = tmp_path / "c.pcap"
    _capture(cap, [_udp_frame(q, 40000, 53)])
    out = tmp_path / "dns.csv"
    assert main(["dns", str(cap), "-o", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 1 and rows[0]["query"] == "'=cmd.example"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    assert "1 rows" in capsys.readouterr().err


def test_parquet_keeps_lists_and_needs_output(tmp_path) -> None:
    df = pd.DataFrame({"answers": [["1.2.3.4", "h.example"]], "rcode": pd.array([0], dtype="Int64")})
    target = tmp_path / "t.parquet"
    write_table(df, str(target), "parquet")
    back = pd.read_parquet(target)
    assert list(back["answers"][0]) == ["1.2.3.4", "h.example"]
    with pytest.raises(SopkitError, match="parquet output needs -o"):
        write_table(df, None, "parquet")


def test_bad_inputs_give_clear_errors(tmp_path, capsys) -> None:
    assert main(["tls", str(tmp_path / "missing.pcap")]) == 2
    assert "missing.pcap: no such file or folder" in capsys.readouterr().err
    junk = tmp_path / "junk.pcap"
    junk.write_bytes(b"this is not a capture")
    assert main(["http", str(junk)]) == 2
    assert "junk.pcap" in capsys.readouterr().err
    with pytest.raises(SopkitError, match="does not exist"):
        write_table(pd.DataFrame({"a": [1]}), str(tmp_path / "no" / "x.csv"), "csv")
