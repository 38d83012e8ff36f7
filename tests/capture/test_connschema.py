"""The declared flows columns agree with the engines and with what pyarrow writes for pandas."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest
from test_fastflows import A, B, C, batches, session, udp

from sopkit.capture import connschema
from sopkit.capture.fastflows import build_flows_fast


def test_columns_and_kinds_match_the_library_frame():
    df = build_flows_fast(batches(session(0, A, B, 40000, 80) + [udp(1, A, C, 5000, 53, 20)], 4))
    assert list(df.columns) == connschema.COLUMNS
    want = {"float": "float64", "int": "int64", "Int64": "Int64", "boolean": "boolean", "string": "string"}
    for col, kind in connschema.KINDS.items():
        assert str(df[col].dtype) == want[kind], col
    assert set(connschema.DICTIONARY_COLUMNS) <= set(connschema.columns_of("string"))
    with pytest.raises(ValueError, match="unknown column kind"):
        connschema.columns_of("decimal")


def test_pandas_metadata_is_what_pyarrow_writes():
    df = build_flows_fast(batches(session(0, A, B, 40000, 80), 3))
    theirs = pa.Table.from_pandas(df, preserve_index=False).schema
    ours = connschema.arrow_schema()
    assert ours.equals(theirs, check_metadata=False)
    assert json.loads(ours.metadata[b"pandas"]) == json.loads(theirs.metadata[b"pandas"])
