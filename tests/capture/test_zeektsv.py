"""Zeek conn.log text straight from Arrow tables (ConnLogWriter.write_table, sopkit.capture.zeektsv)
must equal, byte for byte, the per-value text of ConnLogWriter.write on the same rows as a DataFrame."""

from __future__ import annotations

import csv
import io
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pytest

from sopkit.capture.connschema import arrow_schema
from sopkit.capture.zeek import CONN_FIELDS, ConnLogWriter, read_zeek_log
from sopkit.capture.zeektsv import fixed6
from sopkit.errors import SopkitError


def _body(write, data) -> str:
    """The log text written by ``write`` (``"write"`` or ``"write_table"``) for ``data``, without
    the #open/#close lines (their time stamps may differ by a second)."""
    buf = io.StringIO()
    w = ConnLogWriter(stream=buf)
    assert getattr(w, write)(data) == len(data)
    w.close()
    return "".join(ln for ln in buf.getvalue().splitlines(keepends=True) if not ln.startswith(("#open", "#close")))


def _assert_same(table: pa.Table) -> str:
    df = table.to_pandas()
    ours, theirs = _body("write_table", table), _body("write", df)
    assert ours == theirs
    return ours


# -- fixed six decimals ------------------------------------------------------------------------------

def _floats(n: int) -> np.ndarray:
    rng = np.random.default_rng(20251125)
    return np.concatenate([
        rng.uniform(1.6e9, 1.8e9, n),  # epoch seconds
        np.round(rng.uniform(1.6e9, 1.8e9, n), 6),  # microsecond captures: products near integers
        rng.integers(0, 2**40, n) / 1e9,  # nanosecond durations, as ts_ns / 1e9
        rng.integers(0, 2**36, n) / 128.0,  # exact binary ties (odd multiples of 1/128 end in ...5)
        (rng.integers(0, 10**15, n) + 0.5) / 1e6,  # decimal x.xxxxxx5: near ties on either side
        rng.exponential(1.0, n) * rng.choice([-1.0, 1.0], n),
        10.0 ** rng.uniform(-320, 25, n),  # subnormal to huge (Python fallback above 9e9)
        rng.uniform(0, 9e9, n).view(np.int64).__add__(rng.integers(-2, 3, n)).view(np.float64),
        [0.0, -0.0, -1e-9, 5e-7, -5e-7, 4.999999999e-7, 0.0078125, 0.0234375, 1.5e-6, 2.5e-6,
         8.999999999e9, 9e9, 2.0**52, 2.0**53, 1e300, 5e-324, np.inf, -np.inf, np.nan],
    ])


def test_fixed6_equals_python_formatting():
    v = _floats(20_000)
    got = fixed6(v).to_pylist()
    want = [None if x != x else f"{x:.6f}" for x in v.tolist()]
    bad = [(x, a, b) for x, a, b in zip(v.tolist(), got, want, strict=True) if a != b]
    assert not bad, bad[:5]
    assert got[-19:-16] == ["0.000000", "-0.000000", "-0.000000"]
    assert got[-13:-11] == ["0.007812", "0.023438"]  # half-to-even on exact ties
    assert got[-3:] == ["inf", "-inf", None]


# -- synthetic tables that hit every formatting rule ------------------------------------------------

def _synthetic(n: int = 4000) -> pa.Table:
    rng = np.random.default_rng(5)
    schema = arrow_schema()
    v = _floats(n // 8)[:n]
    cols = {}
    for field in schema:
        t, name = field.type, field.name
        if pa.types.is_floating(t):
            vals = v[rng.permutation(n)]
            cols[name] = pa.array(vals, t, mask=rng.random(n) < 0.1)
        elif pa.types.is_boolean(t):
            cols[name] = pa.array(rng.random(n) < 0.5, mask=rng.random(n) < 0.3)
        elif pa.types.is_integer(t):
            vals = rng.integers(-(2**62), 2**62, n) if name == "ts_ns" else rng.integers(0, 70000, n)
            vals[:3] = [0, 2**63 - 1, -(2**63)] if name not in ("id.orig_p", "id.resp_p") else [0, 65535, 1]
            nullable = name not in ("ts_ns", "id.orig_p", "id.resp_p", "ip_proto")
            mask = (rng.random(n) < 0.2) & (np.arange(n) >= 3)  # the extremes stay present
            cols[name] = pa.array(vals, t, mask=mask if nullable else None)
        else:
            words = ["", "tcp", "ShADadFf", "2001:db8::1", "fe80::1%eth0", "10.0.0.1", "Cxyz,Cabc",
                     "dns,http", "ünïcode", "-", "(empty)"]
            vals = [None if rng.random() < 0.15 else words[rng.integers(len(words))] for _ in range(n)]
            cols[name] = pa.array(vals, t)
    return pa.table(cols, schema=schema)


def test_synthetic_table_equals_dataframe_writer():
    table = _synthetic()
    text = _assert_same(table)
    lines = [ln for ln in text.splitlines() if not ln.startswith("#")]
    assert len(lines) == table.num_rows
    cells = [ln.split("\t") for ln in lines]
    assert all(len(c) == len(CONN_FIELDS) for c in cells)
    tp = CONN_FIELDS.index("tunnel_parents")
    assert {"-", "(empty)", "Cxyz,Cabc"} <= {c[tp] for c in cells}
    lo = CONN_FIELDS.index("local_orig")
    assert {c[lo] for c in cells} == {"T", "F", "-"}
    ob = CONN_FIELDS.index("orig_bytes")
    assert {"-", "9223372036854775807", "-9223372036854775808"} <= {c[ob] for c in cells}


def test_chunked_tables_without_service_and_record_batches():
    table = _synthetic(3000)
    chunked = pa.concat_tables([table.slice(0, 1000), table.slice(1000, 1), table.slice(1001)])
    assert chunked.column("ts").num_chunks == 3
    assert _body("write_table", chunked) == _body("write_table", table)
    no_service = table.drop_columns(["service"])
    text = _assert_same(no_service)  # the DataFrame writer writes "-" for an absent service column
    assert {ln.split("\t")[CONN_FIELDS.index("service")] for ln in text.splitlines()[7:]} == {"-"}
    assert _body("write_table", table.to_batches()[0]) == _body("write_table", table)
    assert _body("write_table", table.slice(0, 0)) == _body("write", table.slice(0, 0).to_pandas())


def test_dictionary_and_null_columns():
    table = _synthetic(500)
    i = table.schema.get_field_index("history")
    enc = table.set_column(i, "history", table.column("history").dictionary_encode())
    assert _body("write_table", enc) == _body("write_table", table)
    j = table.schema.get_field_index("service")
    nulls = table.set_column(j, "service", pa.nulls(len(table)))
    assert _assert_same(nulls) == _body("write_table", table.drop_columns(["service"]))


def test_integer_times_and_flags():
    """Integer columns where Zeek wants a time (``float(v)``) or a bool (non-zero is ``T``)."""
    table = _synthetic(300)
    rng = np.random.default_rng(3)
    ts = rng.integers(-(2**62), 2**62, 300)
    ts[:4] = [0, 2**53 + 1, 1_700_000_000, -7]  # 2**53 + 1 rounds to an even float
    flags = rng.integers(-2, 3, 300)
    df = table.to_pandas()  # built by hand: pandas would turn the integer flags into booleans
    df["ts"], df["local_orig"] = ts, flags
    for name, col in (("ts", ts), ("local_orig", flags)):
        table = table.set_column(table.schema.get_field_index(name), name, pa.array(col))
    text = _body("write_table", table)
    assert text == _body("write", df)
    rows = [ln.split("\t") for ln in text.splitlines()[7:]]
    assert [r[0] for r in rows[:4]] == ["0.000000", "9007199254740992.000000", "1700000000.000000", "-7.000000"]
    lo = CONN_FIELDS.index("local_orig")
    assert [r[lo] for r in rows] == ["F" if f == 0 else "T" for f in flags]


def test_bad_tables_name_the_log(tmp_path):
    table = _synthetic(10)
    out = tmp_path / "conn.log"
    with pytest.raises(SopkitError, match=r"conn.log: flow table lacks conn.log columns \['history'\]"):
        with ConnLogWriter(out) as w:
            w.write_table(table.drop_columns(["history"]))
    i = table.schema.get_field_index("orig_bytes")
    with pytest.raises(SopkitError, match=r"conn.log: column 'orig_bytes': Arrow type double"):
        with ConnLogWriter(out) as w:
            w.write_table(table.set_column(i, "orig_bytes", pa.array(np.ones(10))))
    assert not out.exists() and list(tmp_path.iterdir()) == []  # aborted: no log, no temporary file


def test_file_and_byte_streams_get_the_same_text(tmp_path):
    table = _synthetic(2000)
    with ConnLogWriter(tmp_path / "conn.log") as w:
        w.write_table(table.slice(0, 700))
        w.write(table.slice(700, 100).to_pandas())  # DataFrames and tables mix in one log
        w.write_table(table.slice(800))
    assert w.rows == 2000
    raw = io.BytesIO()
    text = io.TextIOWrapper(raw, encoding="utf-8", newline="\n")  # bytes go to its buffer
    w = ConnLogWriter(stream=text)
    w.write_table(table)
    w.close()
    text.flush()

    def body(s: str) -> list[str]:
        return [ln for ln in s.splitlines() if not ln.startswith(("#open", "#close"))]

    from_file = (tmp_path / "conn.log").read_text(encoding="utf-8")
    assert body(from_file) == body(raw.getvalue().decode("utf-8")) == body(_body("write", table.to_pandas()))
    assert raw.getvalue().decode("utf-8").endswith("\n") and "#close" in raw.getvalue().decode("utf-8")


def test_zeek_writer_from_arrow_imports_no_pandas(tmp_path):
    """``sopkit flows --format zeek`` need not import pandas (a third of a second): the table is read
    from an Arrow IPC file in a fresh interpreter, written, and must give the DataFrame writer's text."""
    import pyarrow.ipc

    table = _synthetic(1000)
    with pyarrow.ipc.new_file(tmp_path / "t.arrow", table.schema) as f:
        f.write_table(table)
    code = ("import sys, pyarrow.ipc\n"
            "from sopkit.capture.zeek import ConnLogWriter\n"
            f"t = pyarrow.ipc.open_file({str(tmp_path / 't.arrow')!r}).read_all()\n"
            f"with ConnLogWriter({str(tmp_path / 'conn.log')!r}) as w:\n"
            "    w.write_table(t)\n"
            "assert 'pandas' not in sys.modules, 'pandas imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True)
    text = (tmp_path / "conn.log").read_text(encoding="utf-8")
    assert "".join(ln for ln in text.splitlines(keepends=True) if not ln.startswith(("#open", "#close"))) == \
        _body("write", table.to_pandas())


# -- real flows: the demo day and the conformance captures -----------------------------------------

def _fast_table(captures, **kw) -> pa.Table:
    from sopkit.capture.fastdecode import iter_batches
    from sopkit.capture.fastflows import FastFlowTable

    ft = FastFlowTable(**kw)
    parts = []
    for batch in iter_batches(captures):
        ft.add_batch(batch)
        parts.append(ft.pop_table())
    ft.end()
    parts.append(ft.pop_table())
    return pa.concat_tables(parts)


def test_demo_day_flows(tmp_path):
    from sopkit.demo import generate_day

    day = generate_day(tmp_path / "day", scale=0.01, seed=7)
    table = _fast_table([day.capture], local_nets=["10.0.0.0/8", "192.168.0.0/16"])
    assert table.num_rows > 10_000
    _assert_same(table)
    with ConnLogWriter(tmp_path / "conn.log") as w:
        w.write_table(table)
    back = read_zeek_log(tmp_path / "conn.log")
    df = table.to_pandas()
    assert len(back) == len(df)
    for f in CONN_FIELDS:
        a, b = back[f], df[f]
        if f == "service":  # the engine's "-" (no service detected) reads back as unset
            b = b.where(b != "-")
        if f in ("ts", "duration"):  # six decimals: within half a microsecond
            assert (a.isna() == b.isna()).all(), f
            assert ((a - b).abs() <= 5e-7 + 1e-9)[b.notna()].all(), f
        else:
            assert a.astype(object).where(a.notna(), None).tolist() == \
                b.astype(object).where(b.notna(), None).tolist(), f


def test_conformance_captures(conformance):
    z = conformance / "zeek"
    with open(z / "pairs.tsv", newline="") as fh:
        pairs = [r for r in csv.DictReader(fh, delimiter="\t") if r["kind"] == "conn.log"]
    assert len(pairs) == 34
    rows = 0
    for r in pairs:
        cmd = r["zeek_command"]
        table = _fast_table([z / r["capture"]], ignore_checksums=" -C " in cmd,
                            report_gaps_for_partial="report_gaps_for_partial=T" in cmd)
        _assert_same(table)
        rows += table.num_rows
    assert rows >= 1603
