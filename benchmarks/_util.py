"""Shared building blocks of the benchmarks: input captures, measured child processes, tables.

* :func:`pcap_layout` / :func:`multiply_pcap` / :func:`head_pcap` — read the record layout of a
  classic pcap and write N time-consecutive copies of it (or its first records).  Each copy is
  shifted in time (past every flow timeout, so no connection spans two copies) and in IPv4
  address (so a peer without timeouts, e.g. a plain dict keyed by 5-tuple, does not merge the
  copies either).  The address shift adds ``k`` to the first 16-bit word of each address and
  subtracts ``k`` from the second one, which leaves the ones'-complement sum of the address — and
  so the IPv4 header and TCP/UDP pseudo-header checksums — unchanged: the copies stay valid
  packets that a checksum-verifying reader keeps.  Written here (not with dpkt) because it edits
  a few bytes of every record in place with numpy, ~20× faster than re-encoding packets, which
  matters for a 2 GB input.
* :func:`run_measured` — run one command as a child process and measure its wall time and peak
  resident set size (through ``_launch.py``: ``wait4`` rusage of the command, plus a /proc sampler
  that splits anonymous from file-backed memory — a memory-mapped capture counts in RSS but is not
  heap).
* :func:`markdown_table`, :func:`machine_summary` — printing.
"""

from __future__ import annotations

import os
import platform
import shutil
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sopkit.errors import CaptureError

#: classic pcap magics → (byte order, True for nanosecond timestamps)
_MAGICS = {
    0xA1B2C3D4: ("<", False), 0xD4C3B2A1: (">", False),
    0xA1B23C4D: ("<", True), 0x4D3CB2A1: (">", True),
}
_HEADER = 24
_RECORD = 16
ETH_IPV4, ETH_VLAN, ETH_QINQ = 0x0800, 0x8100, 0x88A8


@dataclass(frozen=True)
class PcapLayout:
    """Where the records of a classic pcap file are: ``offsets[i]`` is record i's header offset."""

    path: Path
    order: str  # "<" or ">"
    linktype: int
    offsets: np.ndarray  # int64, record header offsets
    caplens: np.ndarray  # int64, captured lengths

    @property
    def records(self) -> int:
        return len(self.offsets)


def pcap_layout(path: str | os.PathLike) -> PcapLayout:
    """Read the record layout of a classic pcap (not pcapng), checking that every record fits."""
    path = Path(path)
    data = np.memmap(path, dtype=np.uint8, mode="r") if path.stat().st_size else np.zeros(0, np.uint8)
    if len(data) < _HEADER:
        raise CaptureError(f"{path}: {len(data)} bytes, too short for a pcap file header")
    magic = int.from_bytes(bytes(data[:4]), "little")
    if magic not in _MAGICS:
        raise CaptureError(f"{path}: magic {magic:#010x} is not classic pcap (pcapng is not supported here)")
    order, _ = _MAGICS[magic]
    linktype = struct.unpack_from(order + "I", bytes(data[20:24]))[0] & 0x0FFFFFFF
    raw = memoryview(data)
    offsets: list[int] = []
    caplens: list[int] = []
    unpack = struct.Struct(order + "8xI4x").unpack_from
    pos, end = _HEADER, len(data)
    while pos < end:
        if pos + _RECORD > end:
            raise CaptureError(f"{path}: record {len(offsets)} at byte {pos}: truncated record header")
        (caplen,) = unpack(raw, pos)
        if pos + _RECORD + caplen > end:
            raise CaptureError(f"{path}: record {len(offsets)} at byte {pos}: caplen {caplen} runs past the end")
        offsets.append(pos)
        caplens.append(caplen)
        pos += _RECORD + caplen
    return PcapLayout(path, order, linktype, np.asarray(offsets, np.int64), np.asarray(caplens, np.int64))


def _ipv4_address_offsets(data: np.ndarray, layout: PcapLayout) -> np.ndarray:
    """Byte offsets (into ``data``) of the source and destination address of every IPv4 packet
    in an Ethernet capture (untagged or one VLAN tag); empty for other link types."""
    if layout.linktype != 1 or not layout.records:
        return np.zeros(0, np.int64)
    frame = layout.offsets + _RECORD
    ok = layout.caplens >= 14
    fr, cl = frame[ok], layout.caplens[ok]
    etype = data[fr + 12].astype(np.int64) << 8 | data[fr + 13]
    tagged = ((etype == ETH_VLAN) | (etype == ETH_QINQ)) & (cl >= 18)
    ip = np.where(tagged, fr + 18, fr + 14)
    etype = np.where(tagged, data[np.minimum(fr + 16, len(data) - 2)].astype(np.int64) << 8
                     | data[np.minimum(fr + 17, len(data) - 1)], etype)
    room = cl - (ip - fr)
    keep = (etype == ETH_IPV4) & (room >= 20)
    ip = ip[keep]
    keep = (data[ip] >> 4) == 4
    ip = ip[keep]
    return np.concatenate([ip + 12, ip + 16])


def _shift_addresses(body: np.ndarray, addr: np.ndarray, k: int) -> None:
    """Add ``k`` to word 0 and subtract it from word 1 of each IPv4 address (mod 0xFFFF: the
    ones'-complement sum, hence every checksum over it, is unchanged).  Multicast, broadcast,
    loopback and 0.0.0.0/8 addresses are left alone so they keep their meaning."""
    first = body[addr]
    movable = (first > 0) & (first != 127) & (first < 224)
    addr = addr[movable]
    w0 = body[addr].astype(np.int64) << 8 | body[addr + 1]
    w1 = body[addr + 2].astype(np.int64) << 8 | body[addr + 3]
    w0 = (w0 + k) % 0xFFFF
    w1 = (w1 - k) % 0xFFFF
    body[addr], body[addr + 1] = (w0 >> 8).astype(np.uint8), (w0 & 0xFF).astype(np.uint8)
    body[addr + 2], body[addr + 3] = (w1 >> 8).astype(np.uint8), (w1 & 0xFF).astype(np.uint8)


def _shift_seconds(body: np.ndarray, ts: np.ndarray, order: str, seconds: int) -> None:
    """Add ``seconds`` to the 32-bit timestamp-seconds field at each offset in ``ts``."""
    shifts = (0, 8, 16, 24) if order == "<" else (24, 16, 8, 0)
    value = np.zeros(len(ts), np.int64)
    for i, s in enumerate(shifts):
        value |= body[ts + i].astype(np.int64) << s
    value += seconds
    if len(value) and int(value.max()) > 0xFFFFFFFF:
        raise CaptureError(f"time shift of {seconds} s overflows the 32-bit pcap timestamp")
    for i, s in enumerate(shifts):
        body[ts + i] = ((value >> s) & 0xFF).astype(np.uint8)


def capture_span_seconds(layout: PcapLayout) -> int:
    """Whole seconds from the first to the last record (rounded up)."""
    if not layout.records:
        return 0
    with open(layout.path, "rb") as fh:
        fh.seek(int(layout.offsets[0]))
        first = struct.unpack(layout.order + "I", fh.read(4))[0]
        fh.seek(int(layout.offsets[-1]))
        last = struct.unpack(layout.order + "I", fh.read(4))[0]
    return last - first + 1


def multiply_pcap(src: str | os.PathLike, dst: str | os.PathLike, copies: int, *,
                  gap_seconds: int = 3600, progress: bool = False) -> Path:
    """Write ``copies`` consecutive copies of pcap ``src`` into ``dst`` (copy 0 unchanged).

    Copy k is shifted by ``k * (span + gap_seconds)`` seconds — the gap exceeds every flow
    timeout, so connections end within their copy — and its IPv4 addresses by ``k`` (see the
    module docstring).  Returns ``dst``; written via a temporary file so a failed run leaves none.
    """
    if copies < 1:
        raise CaptureError(f"multiply_pcap: copies must be >= 1, got {copies}")
    layout = pcap_layout(src)
    data = np.fromfile(layout.path, dtype=np.uint8)
    addr = _ipv4_address_offsets(data, layout) - _HEADER
    ts = layout.offsets - _HEADER
    step = capture_span_seconds(layout) + gap_seconds
    dst = Path(dst)
    import tempfile

    from tqdm import tqdm

    fd, name = tempfile.mkstemp(prefix=f".{dst.name}.", suffix=".tmp", dir=dst.parent)
    os.close(fd)
    tmp = Path(name)

    try:
        with open(tmp, "wb") as out:
            out.write(data[:_HEADER].tobytes())
            for k in tqdm(range(copies), desc=f"building {dst.name}", unit="copy", disable=not progress):
                body = data[_HEADER:].copy()
                if k:
                    _shift_seconds(body, ts, layout.order, k * step)
                    _shift_addresses(body, addr, k)
                body.tofile(out)
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)
    return dst


def head_pcap(src: str | os.PathLike, dst: str | os.PathLike, records: int) -> Path:
    """Write the first ``records`` records of pcap ``src`` to ``dst`` (a small warm-up input)."""
    layout = pcap_layout(src)
    n = min(records, layout.records)
    end = int(layout.offsets[n]) if n < layout.records else layout.path.stat().st_size
    with open(layout.path, "rb") as fh, open(dst, "wb") as out:
        out.write(fh.read(end))
    return Path(dst)


@dataclass
class Measurement:
    """One child process run: wall and CPU seconds, peak RSS (rusage) and sampled peak anon/file RSS."""

    cmd: list[str]
    seconds: float
    returncode: int
    peak_rss_mb: float
    cpu_seconds: float = float("nan")
    peak_anon_mb: float | None = None
    peak_file_mb: float | None = None
    stdout: str = ""
    stderr: str = ""


def run_measured(cmd: list[str], *, stdout_to_devnull: bool = False, env: dict | None = None) -> Measurement:
    """Run ``cmd`` through ``_launch.py`` (see there why) and return its :class:`Measurement`.

    ``peak_rss_mb`` is ``ru_maxrss`` of the command (Linux: the largest RSS of it or any
    descendant it waited for); ``peak_anon_mb``/``peak_file_mb`` are sampled every 20 ms.  Output
    goes to temporary files (not pipes), so a chatty command never blocks; with
    ``stdout_to_devnull`` its stdout is discarded.
    """
    import json
    import sys
    import tempfile

    launcher = Path(__file__).with_name("_launch.py")
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.TemporaryDirectory() as tmp:
        result = Path(tmp) / "result.json"
        subprocess.run([sys.executable, "-S", str(launcher), str(result), "--", *cmd],
                       stdout=subprocess.DEVNULL if stdout_to_devnull else out, stderr=err,
                       stdin=subprocess.DEVNULL, env=env, check=False)
        out.seek(0)
        err.seek(0)
        text_out, text_err = out.read().decode(errors="replace"), err.read().decode(errors="replace")
        if not result.is_file():
            return Measurement(cmd, float("nan"), 127, float("nan"), stdout=text_out, stderr=text_err)
        r = json.loads(result.read_text())
    return Measurement(cmd, r["seconds"], r["returncode"], r["maxrss_kb"] / 1024, r["cpu_seconds"],
                       _mb(r["anon_kb"]), _mb(r["file_kb"]), text_out, text_err)


def _mb(kib: int | None) -> float | None:
    return None if kib is None else kib / 1024


def markdown_table(headers: list[str], rows: list[list[object]]) -> str:
    """A GitHub markdown table; floats keep the formatting their caller gave them as strings."""
    cells = [[str(c) for c in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |"
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    body = ["| " + " | ".join(c.rjust(w) if _numeric(c) else c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"
            for r in cells]
    return "\n".join([line, sep, *body])


def _numeric(text: str) -> bool:
    return text.replace(",", "").replace(".", "", 1).replace("×", "").strip().isdigit()


def machine_summary() -> str:
    """One line: CPU model, cores, memory, Python, OS — for the results header."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        mem = float("nan")
    return (f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB RAM, Python {platform.python_version()}, "
            f"{platform.system()} {platform.release()}")


def load_average() -> str:
    """The 1-minute load average and core count, e.g. ``"load 2.10 on 2 cores"`` (other work on the box)."""
    try:
        return f"load {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"
    except OSError:
        return "load unknown"


def which(name: str) -> str | None:
    """Full path of executable ``name`` or None."""
    return shutil.which(name)
