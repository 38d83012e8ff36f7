"""The connection table's columns, declared once: names, kinds, the Arrow schema, pandas metadata.

What: :data:`COLUMNS` is the column order of every flows table (``build_flows``, the compiled
engine, ``sopkit flows``); :data:`KINDS` says what each column holds. From that one table come
:func:`arrow_schema` (the Parquet schema of ``sopkit flows --format parquet``) and
:func:`pandas_metadata`, the ``b"pandas"`` schema metadata that makes ``pandas.read_parquet`` give
back exactly the DataFrame dtypes of :func:`sopkit.capture.flows.rows_to_frame` (``Int64`` with
missing values, ``boolean``, ``string``).

Why here and without pandas: the compiled engine writes Parquet straight from Arrow arrays, and
``sopkit flows`` should not pay for importing pandas (a third of its start-up) to do so. The
metadata follows the layout pyarrow itself writes (documented in pandas' and Arrow's
"pandas metadata" specification); a test compares it with pyarrow's own for the same frame.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

#: column kind -> (Arrow type name, pandas_type, numpy_type) as the pandas metadata records them
_KIND_SPEC = {
    "float": ("float64", "float64", "float64"),  # NaN where missing
    "int": ("int64", "int64", "int64"),  # never missing
    "Int64": ("int64", "int64", "Int64"),  # pandas nullable integer
    "boolean": ("bool_", "bool", "boolean"),  # pandas nullable boolean
    "string": ("large_string", "object", "string"),  # pandas string dtype (Arrow-backed)
}

#: every column of the flows table, in order, with its kind
KINDS: dict[str, str] = {
    "ts": "float", "ts_ns": "int", "uid": "string",
    "id.orig_h": "string", "id.orig_p": "int", "id.resp_h": "string", "id.resp_p": "int",
    "proto": "string", "ip_proto": "int", "service": "string", "duration": "float",
    "orig_bytes": "Int64", "resp_bytes": "Int64", "conn_state": "string",
    "local_orig": "boolean", "local_resp": "boolean", "missed_bytes": "Int64", "history": "string",
    "orig_pkts": "Int64", "orig_ip_bytes": "Int64", "resp_pkts": "Int64", "resp_ip_bytes": "Int64",
    "tunnel_parents": "string", "vlan": "Int64", "inner_vlan": "Int64", "community_id": "string",
    "orig_iat_mean": "float", "orig_iat_std": "float", "resp_iat_mean": "float", "resp_iat_std": "float",
    "orig_size_min": "Int64", "orig_size_max": "Int64", "orig_size_mean": "float",
    "resp_size_min": "Int64", "resp_size_max": "Int64", "resp_size_mean": "float",
}
COLUMNS: list[str] = list(KINDS)
#: string columns with few distinct values, worth Parquet's dictionary encoding (uids and community
#: ids are unique per row: encoding them costs time and saves nothing)
DICTIONARY_COLUMNS: list[str] = ["id.orig_h", "id.resp_h", "proto", "service", "conn_state", "history",
                                 "tunnel_parents"]


def columns_of(kind: str) -> list[str]:
    """The columns of one kind (``"Int64"``, ``"string"`` …), in table order."""
    if kind not in _KIND_SPEC:
        raise ValueError(f"unknown column kind {kind!r}; known: {', '.join(_KIND_SPEC)}")
    return [c for c, k in KINDS.items() if k == kind]


def pandas_metadata() -> dict[str, Any]:
    """The ``pandas`` schema metadata pyarrow would write for a flows DataFrame (no index)."""
    try:  # the version of the pandas installed, without importing it
        from importlib.metadata import version

        pandas_version = version("pandas")
    except Exception:  # noqa: BLE001 - pandas absent: readers then ignore the field
        pandas_version = None
    import pyarrow

    return {
        "index_columns": [], "column_indexes": [], "attributes": {},
        "columns": [{"name": c, "field_name": c, "pandas_type": _KIND_SPEC[k][1], "numpy_type": _KIND_SPEC[k][2],
                     "metadata": None} for c, k in KINDS.items()],
        "creator": {"library": "pyarrow", "version": pyarrow.__version__},
        "pandas_version": pandas_version,
    }


@cache
def arrow_schema() -> Any:
    """The ``pyarrow.Schema`` of the flows table, with :func:`pandas_metadata` attached."""
    import pyarrow as pa

    fields = [pa.field(c, getattr(pa, _KIND_SPEC[k][0])()) for c, k in KINDS.items()]
    return pa.schema(fields, metadata={b"pandas": json.dumps(pandas_metadata()).encode()})
