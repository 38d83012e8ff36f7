"""JSON log records whatever their layout: NDJSON, one JSON array, or concatenated pretty objects.

Windows-event exports, Suricata ``eve.json`` and Zeek JSON logs all come in these three layouts
(``jq`` and SIEM exports pretty-print; the producers write one object a line). This module yields
each record with the line it starts on, so readers can reject a bad record by its line and keep the
rest. Gzip is undone by magic number (:func:`sopkit.logs.source.open_binary`).

Why our own scanner: ``json.load`` is all-or-nothing; a truncated export would lose every record.
:meth:`json.JSONDecoder.raw_decode` decodes one value at a time, so a damaged tail costs only itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sopkit.logs.source import open_binary

_DECODER = json.JSONDecoder()
_WS = " \t\r\n,"


def _text(data: bytes) -> str:
    return data.decode("utf-8-sig", errors="backslashreplace")


def load_head(head: bytes) -> Any | None:
    """The first JSON record in ``head`` (start of a file), or None when it does not start with one."""
    text = _text(head).lstrip()
    if text.startswith("["):
        text = text[1:].lstrip()
    if not text.startswith("{"):
        return None
    first_line = text.split("\n", 1)[0]
    for candidate in (first_line, text):
        try:
            return _DECODER.raw_decode(candidate)[0]
        except ValueError:
            continue
    return None


def iter_json_records(path: Path) -> Iterator[tuple[int, Any, str, str | None]]:
    """Yield ``(line, record, raw, error)`` per record of ``path``; ``error`` is set for a bad record.

    NDJSON is decoded line by line (a bad line is one rejection). A file starting with ``[`` or
    whose first line is not a whole JSON value is scanned value by value; a value that does not
    decode ends the scan with one rejection naming the line where it starts.
    """
    with open_binary(Path(path)) as fh:
        text = _text(fh.read())
    stripped = text.lstrip()
    if not stripped:
        return
    first_line = stripped.split("\n", 1)[0].strip()
    ndjson = not stripped.startswith("[")
    if ndjson:
        try:
            json.loads(first_line)
        except ValueError:
            ndjson = False
    if ndjson:
        for number, line in enumerate(text.split("\n"), start=1):
            line = line.strip()
            if not line:
                continue
            try:
                rec = json.loads(line)
            except ValueError as exc:
                yield number, None, line, f"invalid JSON: {exc.msg} (column {exc.colno})"
                continue
            yield number, rec, line, None
        return
    yield from _scan(text)


def _scan(text: str) -> Iterator[tuple[int, Any, str, str | None]]:
    pos = len(text) - len(text.lstrip())
    line = 1 + text.count("\n", 0, pos)
    in_array = text.startswith("[", pos)
    if in_array:
        pos += 1
    end = len(text)
    while True:
        start = pos
        while pos < end and text[pos] in _WS:
            pos += 1
        line += text.count("\n", start, pos)
        if pos >= end:
            if in_array:
                yield line, None, "", "JSON array is not closed (file truncated?)"
            return
        if in_array and text[pos] == "]":
            return
        try:
            rec, stop = _DECODER.raw_decode(text, pos)
        except ValueError as exc:
            yield line, None, text[pos:pos + 2000], f"invalid JSON: {exc.msg}; rest of file not read"
            return
        raw = text[pos:stop]
        yield line, rec, raw, None
        line += raw.count("\n")
        pos = stop
