"""``sopkit flows``: captures → Zeek-compatible connection table (conn.log TSV, CSV or Parquet).

What the command skipped is printed to stderr (files that are not captures, frames the decoder could
not use and why, packets the flow table dropped), so nothing is lost silently.

Output is streamed by default: the compiled engine hands over each connection when it is removed
(closed, timed out, reused, or at the end of the input — Zeek's own conn.log order), and rows are
written in blocks of ``--chunk-rows`` as they come, so memory stays bounded by the connections that
are live at once rather than growing with the capture. Decoding, the flow kernel and the
conversion/writing of blocks run in three threads (:mod:`sopkit.capture.pipeline`); Parquet is
written straight from Arrow arrays, so ``--format parquet`` never imports pandas. ``--sort`` (and ``--engine exact``) build the
whole table first and write it sorted by start time and uid, as the library's ``build_flows`` returns
it. Files are written to a temporary name in the target folder and renamed at the end: an error
leaves no half-written output and an existing file untouched.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from sopkit.errors import CaptureError, ParameterError, SopkitError

if TYPE_CHECKING:  # pandas is imported when a command runs, not when the CLI parser is built
    import pandas as pd

#: rows gathered before a block is written when streaming (``--chunk-rows``)
CHUNK_ROWS = 20_000
#: packets decoded ahead of the flow kernel at most (≈ 90 bytes of columns each, so ≈ 90 MB): enough
#: for the decoder to keep working through the start-up (loading the flow kernel, Parquet support)
READ_AHEAD = 1_000_000


def _time_ns(text: str, what: str) -> int:
    """Epoch seconds or an ISO-8601 time (UTC when no offset is given) as ns since the epoch."""
    try:
        return int(round(float(text) * 1e9))
    except ValueError:
        pass
    try:
        dt = datetime.fromisoformat(text)
    except ValueError as e:
        raise ParameterError(f"{what}: {text!r} is neither epoch seconds nor an ISO-8601 time") from e
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return int(dt.timestamp()) * 1_000_000_000 + dt.microsecond * 1000


class _AtomicFile:
    """A temporary file next to ``path``, renamed to ``path`` by :meth:`commit`, removed by :meth:`abort`."""

    def __init__(self, path: str, mode: str) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, self.tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent or ".")
        except OSError as e:
            raise ParameterError(f"--output {path}: cannot create a file there ({e.strerror or e})") from e
        self.fh: IO = os.fdopen(fd, mode, **({"encoding": "utf-8", "newline": ""} if "b" not in mode else {}))

    def commit(self) -> None:
        try:
            self.fh.close()
            os.replace(self.tmp, self.path)
        except OSError as e:
            self.abort()
            raise SopkitError(f"{self.path}: cannot write the output ({e.strerror or e})") from e

    def abort(self) -> None:
        self.fh.close()
        Path(self.tmp).unlink(missing_ok=True)


class _Sink:
    """Where ``sopkit flows`` writes rows: ``write(df)`` any number of times, then ``close()`` (or ``abort()``)."""

    def __init__(self, fmt: str, out: str | None) -> None:
        self.fmt, self.rows = fmt, 0
        self.file: _AtomicFile | None = None
        self.arrow = fmt in ("parquet", "zeek")  #: takes Arrow tables (write_table) as well as DataFrames
        self._started = False
        self._pq: Any = None
        self._schema: Any = None
        to_stdout = out in (None, "-")
        if fmt == "parquet" and to_stdout:
            raise ParameterError("--format parquet needs -o FILE")
        if fmt == "zeek":
            from sopkit.capture.zeek import ConnLogWriter

            self._log = ConnLogWriter(stream=sys.stdout) if to_stdout else ConnLogWriter(out)
        elif not to_stdout:
            self.file = _AtomicFile(out, "wb" if fmt == "parquet" else "w")  # type: ignore[arg-type]

    def write(self, df: pd.DataFrame) -> None:
        """Append the rows of ``df``; the first call fixes the columns (Parquet: the schema)."""
        if self.fmt == "zeek":
            self._log.write(df)
        elif self.fmt == "csv":
            df.to_csv(sys.stdout if self.file is None else self.file.fh, header=not self._started, index=False)
        else:
            self._write_parquet(df)
        self._started = True
        self.rows += len(df)

    def write_table(self, table: Any) -> None:
        """Append the rows of an Arrow table (Parquet, Zeek); the first call fixes the Parquet schema."""
        if self.fmt == "zeek":
            self._log.write_table(table)
        elif self.fmt == "parquet":
            self._write_arrow(table)
        else:
            raise SopkitError(f"--format {self.fmt} is written from DataFrames, not Arrow tables")
        self._started = True
        self.rows += table.num_rows

    def _write_parquet(self, df: pd.DataFrame) -> None:
        import pyarrow as pa

        self._write_arrow(pa.Table.from_pandas(df, preserve_index=False))

    def _write_arrow(self, table: Any) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self._pq is None:
            schema = table.schema
            for i, field in enumerate(schema):  # an all-missing object column has no type yet: strings
                if pa.types.is_null(field.type):
                    schema = schema.set(i, field.with_type(pa.large_string()))
            self._schema = schema
            from sopkit.capture.connschema import DICTIONARY_COLUMNS

            dictionary = [c for c in schema.names if c in DICTIONARY_COLUMNS] if "uid" in schema.names else True
            self._pq = pq.ParquetWriter(self.file.fh, schema, use_dictionary=dictionary)  # type: ignore[union-attr]
        if table.schema.names != self._schema.names:
            raise SopkitError(f"{self.file.path}: row block has columns {table.schema.names}, "  # type: ignore[union-attr]
                              f"the file {self._schema.names}")
        if not table.schema.equals(self._schema, check_metadata=False):
            table = table.cast(self._schema)
        self._pq.write_table(table)

    def close(self) -> None:
        if self.fmt == "zeek":
            self._log.close()
            return
        if self._pq is not None:
            self._pq.close()
        if self.file is not None:
            self.file.commit()
        else:
            sys.stdout.flush()

    def abort(self) -> None:
        if self.fmt == "zeek":
            self._log.abort()
            return
        if self._pq is not None:
            try:
                self._pq.close()
            except Exception:  # noqa: BLE001 - the file is discarded anyway
                pass
        if self.file is not None:
            self.file.abort()


def stream_flows(batches: Iterable, table: Any, sink: Any, *, chunk_rows: int = CHUNK_ROWS,
                 threads: bool = True) -> int:
    """Feed ``batches`` to a :class:`~sopkit.capture.fastflows.FastFlowTable` and write the removed
    connections to ``sink`` in blocks of at least ``chunk_rows`` rows (the last block may be
    smaller), rows in the order their connections were removed (Zeek's conn.log order: closed,
    timed out, reused, or at the end of the input); returns the number of rows written.

    ``sink`` has ``write(df)`` (a flows DataFrame); a sink with a true ``arrow`` attribute gets
    ``write_table(table)`` (an Arrow table) instead, and then pandas is never needed.
    The table is asked for its removed rows after every ``chunk_rows`` packets, so memory is bounded
    by the live connections plus a few blocks, whatever the length of the capture.
    With ``threads``, batches are decoded ahead in a background thread (pass a started
    :class:`~sopkit.capture.pipeline.Prefetch` to begin earlier) and blocks are converted and
    written in another, while the flow kernel runs in this one.
    """
    from sopkit.capture.fastflows import RemovedRows
    from sopkit.capture.pipeline import Prefetch, WriteBehind

    if chunk_rows < 1:
        raise ParameterError(f"--chunk-rows must be at least 1, not {chunk_rows}")
    arrow = bool(getattr(sink, "arrow", False))

    def emit(rows: RemovedRows) -> None:
        if arrow:
            sink.write_table(rows.table(sort=False))
        else:
            sink.write(rows.frame(sort=False))

    writer = WriteBehind(emit, depth=2) if threads else None
    pending: list[RemovedRows] = []
    held = queued = 0
    fed = 0  # packets given to the table since the last pop

    def flush(final: bool) -> None:
        nonlocal pending, held, queued
        if not pending:
            return
        rows = RemovedRows.join(pending)
        pending, held = [], 0
        if len(rows) or final:
            queued += len(rows)
            (writer.put if writer is not None else emit)(rows)

    feed = batches if not threads or isinstance(batches, Prefetch) else Prefetch(batches, depth=2)
    try:
        for batch in feed:
            table.add_batch(batch)
            fed += len(batch)
            # rows removed since the last pop are at most the packets fed since: popping every
            # chunk_rows packets keeps both the pops few and the rows held small
            if fed < chunk_rows:
                continue
            fed = 0
            got = table.pop_removed()
            if len(got):
                pending.append(got)
                held += len(got)
            if held >= chunk_rows:
                flush(False)
        table.end()
        last = table.pop_removed()
        if len(last) or not queued:  # an empty table still gets its header / schema
            pending.append(last)
        flush(True)
        if writer is not None:
            writer.close()
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    finally:
        if isinstance(feed, Prefetch):
            feed.close()
    return queued


def _cmd_flows(args: argparse.Namespace) -> int:
    # nothing here uses BLAS: one OpenBLAS thread makes importing numpy ~50 ms faster (it must be
    # set before numpy is first imported; a caller's own setting wins)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    start = _time_ns(args.start, "--start") if args.start else None
    end = _time_ns(args.end, "--end") if args.end else None
    for net in args.local_net or []:
        import ipaddress

        try:
            ipaddress.ip_network(net, strict=False)
        except ValueError as e:
            raise ParameterError(f"--local-net: {net!r} is not a CIDR network") from e
    if args.chunk_rows < 1:
        raise ParameterError(f"--chunk-rows must be at least 1, not {args.chunk_rows}")
    if args.format == "parquet" and args.output in (None, "-"):
        raise ParameterError("--format parquet needs -o FILE")
    flow_kw = dict(tcp_inactivity=args.tcp_timeout, udp_inactivity=args.udp_timeout,
                   icmp_inactivity=args.udp_timeout, ignore_checksums=args.ignore_checksums,
                   local_nets=args.local_net)
    feed = None
    if args.engine == "exact":
        from sopkit.capture.decode import Decoder
        from sopkit.capture.flows import FlowTable, build_flows
        from sopkit.capture.readers import iter_frames

        frames = iter_frames(args.captures, start_ns=start, end_ns=end, progress=args.progress)
        for msg in frames.rejected:
            print(f"skipped: {msg}", file=sys.stderr)
        dec = Decoder()
        table = FlowTable(**flow_kw)

        def packets():
            for f in frames:
                yield from dec.decode(f)

        df: pd.DataFrame | None = build_flows(packets(), table=table)
        decode_stats = dec.stats
    else:
        from sopkit.capture.fastdecode import iter_batches

        stream = iter_batches(args.captures, start_ns=start, end_ns=end, progress=args.progress)
        for msg in stream.rejected:
            print(f"skipped: {msg}", file=sys.stderr)
        if not stream.readers:
            raise CaptureError(f"no readable capture among {', '.join(map(str, args.captures))}")
        if not args.sort:  # decoding starts now, while the flow kernel and the output are set up
            from sopkit.capture.pipeline import Prefetch

            feed = Prefetch(stream, depth=1024, name="sopkit-decode", weigh=len, budget=READ_AHEAD)
        try:
            from sopkit.capture.fastflows import FastFlowTable, build_flows_fast

            table = FastFlowTable(**flow_kw)
            df = build_flows_fast(stream, table=table) if args.sort else None
        except BaseException:
            if feed is not None:
                feed.close()
            raise
    try:
        sink = _Sink(args.format, args.output)
    except BaseException:
        if feed is not None:
            feed.close()
        raise
    try:
        if df is None:
            rows = stream_flows(feed, table, sink, chunk_rows=args.chunk_rows)
        else:
            sink.write(df)
            rows = len(df)
        sink.close()
    except BaseException:
        sink.abort()
        raise
    if args.engine != "exact":
        decode_stats = stream.decode_stats
    for reason, n in sorted(decode_stats.items()):
        print(f"decoder: {n} {reason}", file=sys.stderr)
    for reason, n in table.stats.items():
        if n and reason != "packets":
            print(f"flows: {n} packets {reason.replace('_', ' ')}", file=sys.stderr)
    print(f"flows: {table.stats['packets']} packets -> {rows} connections", file=sys.stderr)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``sopkit flows`` to the top-level parser."""
    p = subparsers.add_parser(
        "flows", help="connection table (Zeek conn.log semantics) from captures",
        description="Build a Zeek-compatible connection table from pcap/pcapng files. By default rows are "
                    "written as connections end (Zeek's conn.log order: by removal, not by start time), in "
                    "blocks of --chunk-rows, so memory does not grow with the capture; --sort writes the whole "
                    "table sorted by start time instead (memory then grows with the number of connections). "
                    "Files are written under a temporary name and renamed when complete.")
    p.add_argument("captures", nargs="+", help="capture files or directories")
    p.add_argument("--format", choices=("zeek", "csv", "parquet"), default="zeek")
    p.add_argument("-o", "--output", help="output file (default: stdout; required for parquet)")
    p.add_argument("--ignore-checksums", action="store_true", help="keep packets with bad checksums (Zeek -C)")
    p.add_argument("--tcp-timeout", type=float, default=300.0, metavar="S", help="TCP inactivity timeout")
    p.add_argument("--udp-timeout", type=float, default=60.0, metavar="S",
                   help="UDP/ICMP/other inactivity timeout")
    p.add_argument("--local-net", action="append", metavar="CIDR", help="local network (repeatable)")
    p.add_argument("--start", help="keep packets at or after this time (epoch s or ISO-8601)")
    p.add_argument("--end", help="keep packets before this time (epoch s or ISO-8601)")
    p.add_argument("--progress", action="store_true", help="show a progress bar")
    p.add_argument("--engine", choices=("fast", "exact"), default="fast",
                   help="fast: compiled decoder and flow engine (default); exact: the per-packet reference "
                        "path (same rows, always written sorted; slower)")
    p.add_argument("--sort", action="store_true",
                   help="hold every connection and write the table sorted by start time (ts, uid), as the "
                        "library returns it; memory grows with the number of connections (default: stream "
                        "rows in the order connections end; always sorted with --engine exact)")
    p.add_argument("--chunk-rows", type=int, default=CHUNK_ROWS, metavar="N",
                   help=f"when streaming, rows gathered before each write (default {CHUNK_ROWS:,}; one "
                        "Parquet row group each)")
    p.set_defaults(func=_cmd_flows)
