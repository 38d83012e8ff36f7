"""``sopkit dns|http|tls CAPTURE…``: write a protocol metadata table as CSV, TSV or Parquet.

Each command decodes the captures (files or folders) with :mod:`sopkit.capture.decode`, builds
its table and writes it to ``-o OUT`` atomically (a temporary file in the same folder, then
``os.replace``), or to standard output for CSV/TSV without ``-o``. A summary (rows, files that were
not captures, rejected messages by reason) goes to standard error.

CSV and TSV cells hold attacker-controlled text (URIs, user agents, DNS names), so any text cell
starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return gets a leading ``'`` (the OWASP
advice against spreadsheet formula injection). List cells are joined with ``,`` in CSV/TSV and kept
as lists in Parquet.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from sopkit.errors import SopkitError

if TYPE_CHECKING:
    import pandas as pd

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
FORMATS = ("csv", "tsv", "parquet")


def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """Copy of ``df`` whose text cells cannot start a spreadsheet formula; lists joined by ``,``."""
    import pandas as pd

    out = df.copy()
    for col in out.columns:
        if out[col].dtype != object and not pd.api.types.is_string_dtype(out[col].dtype):
            continue
        out[col] = out[col].map(_safe_cell).astype(object)
    return out


def _safe_cell(v: object) -> object:
    if isinstance(v, (list, tuple)):
        v = ",".join(str(x) for x in v)
    if isinstance(v, str) and v.startswith(FORMULA_PREFIXES):
        return "'" + v
    return v


def write_table(df: pd.DataFrame, out: str | None, fmt: str) -> None:
    """Write ``df`` in ``fmt`` to ``out`` atomically, or to stdout when ``out`` is None (not Parquet)."""
    if fmt == "parquet":
        if out is None:
            raise SopkitError("parquet output needs -o OUT (it cannot go to standard output)")
        _atomic(out, lambda p: df.to_parquet(p, index=False))
        return
    safe = neutralise_formulas(df)
    sep = "\t" if fmt == "tsv" else ","
    if out is None:
        safe.to_csv(sys.stdout, sep=sep, index=False)
    else:
        _atomic(out, lambda p: safe.to_csv(p, sep=sep, index=False))


def _atomic(out: str, write: Callable[[str], None]) -> None:
    target = Path(out)
    if not target.parent.is_dir():
        raise SopkitError(f"{out}: output folder {target.parent} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, target)
    except OSError as exc:
        raise SopkitError(f"{out}: cannot write: {exc}") from exc
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _packets(args: argparse.Namespace, stats: dict) -> Iterator:
    from sopkit.capture.decode import Decoder
    from sopkit.capture.readers import iter_frames

    for p in args.captures:
        if not os.path.exists(p):
            raise SopkitError(f"{p}: no such file or folder")
    frames = iter_frames(args.captures, progress=args.progress)
    dec = Decoder()
    stats["frames"] = frames
    stats["decoder"] = dec
    for frame in frames:
        yield from dec.decode(frame)


def _run(target: str, name: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        module, func = target.split(":")
        builder = getattr(importlib.import_module(module), func)
        fmt = args.format or ("parquet" if args.output and args.output.endswith(".parquet")
                              else "tsv" if args.output and args.output.endswith(".tsv") else "csv")
        stats: dict = {}
        df = builder(_packets(args, stats))
        frames = stats.get("frames")
        rejected = list(getattr(frames, "rejected", []) or [])
        if rejected and len(rejected) >= len(args.captures) and len(df) == 0:
            raise SopkitError("no readable capture among: " + "; ".join(map(str, rejected)))
        write_table(df, args.output, fmt)
        print(f"sopkit {name}: {len(df)} rows" + (f" -> {args.output}" if args.output else ""), file=sys.stderr)
        for item in rejected:
            print(f"sopkit {name}: skipped {item}", file=sys.stderr)
        for reason, n in sorted(df.attrs.get("rejections", {}).items()):
            print(f"sopkit {name}: rejected {n} × {reason}", file=sys.stderr)
        return 0
    return run


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``dns``, ``http`` and ``tls`` subcommands (table modules load only when one runs)."""
    specs = (("dns", "sopkit.capture.dns:dns_table", "DNS transactions (Zeek dns.log-like), UDP/TCP 53, mDNS, LLMNR"),
             ("http", "sopkit.capture.http:http_table", "HTTP/1.x requests and responses (Zeek http.log-like), any TCP port"),
             ("tls", "sopkit.capture.tls:tls_table", "TLS hellos per connection: SNI, versions, ciphers, ALPN, JA3/JA3S/JA4"))
    for name, builder, help_ in specs:
        p = subparsers.add_parser(name, help=help_, description=help_)
        p.add_argument("captures", nargs="+", metavar="CAPTURE", help="pcap/pcapng files or folders")
        p.add_argument("--format", choices=FORMATS, default=None,
                       help="output format (default: from the -o suffix, else csv)")
        p.add_argument("-o", "--output", default=None, help="output file (default: standard output)")
        p.add_argument("--progress", action="store_true", help="show a progress bar on standard error")
        p.set_defaults(func=_run(builder, name))
