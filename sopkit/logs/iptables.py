"""Kernel netfilter log lines (iptables/nftables ``LOG`` target, UFW) into firewall events.

The lines are syslog (``Nov 24 10:21:33 gw kernel: [12345.678901] [UFW BLOCK] IN=eth0 OUT= MAC=…
SRC=203.0.113.9 DST=10.0.0.5 LEN=60 … PROTO=TCP SPT=51234 DPT=22 WINDOW=64240 RES=0x00 SYN URGP=0``),
so :mod:`sopkit.logs.syslog` parses the header and this module the message: the free-text prefix the
rule set (``--log-prefix``) goes to ``iptables.prefix``, each ``KEY=value`` of :data:`KEYS` to a column.
``action`` is ``block`` when the prefix says BLOCK/DROP/REJECT/DENY, ``allow`` for ALLOW/ACCEPT, else
``log``. Kernel lines that are not netfilter records stay as plain events (action null).
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from sopkit.logs.schema import LogResult
from sopkit.logs.source import CHUNK_LINES, extract, nonempty, to_int
from sopkit.logs.syslog import read_syslog

NETFILTER = r"^(?:\[\s*(?P<uptime>\d+\.\d+)\]\s*)?(?P<prefix>.*?)\s*IN=(?P<rest>\S*\s+OUT=.*)$"
#: netfilter key → event column
KEYS = {"IN": "iptables.in", "OUT": "iptables.out", "MAC": "iptables.mac", "SRC": "src_ip", "DST": "dst_ip",
        "LEN": "bytes", "TTL": "iptables.ttl", "PROTO": "iptables.proto", "SPT": "src_port", "DPT": "dst_port",
        "TYPE": "iptables.icmp_type", "CODE": "iptables.icmp_code", "PHYSIN": "iptables.physin"}
INT_COLUMNS = {"bytes", "iptables.ttl", "src_port", "dst_port", "iptables.icmp_type", "iptables.icmp_code"}
BLOCK = r"(?i)block|drop|reject|deny"
ALLOW = r"(?i)allow|accept"


def enrich_iptables(cols: dict[str, pa.Array]) -> dict[str, pa.Array]:
    """Add firewall columns to one chunk's parsed syslog columns."""
    g, hit = extract(pc.fill_null(cols["message"], ""), NETFILTER)
    rest = pc.binary_join_element_wise("IN=", g["rest"], "")
    out = dict(cols)
    for key, column in KEYS.items():
        value = nonempty(extract(rest, rf"(?:^|\s){key}=(?P<v>\S*)")[0]["v"])
        out[column] = to_int(value) if column in INT_COLUMNS else value
    flags = extract(rest, r"\sRES=\S+ (?P<f>(?:[A-Z]+ )*)URGP=")[0]["f"]
    out["iptables.flags"] = nonempty(pc.utf8_rtrim_whitespace(flags))
    prefix = nonempty(pc.utf8_trim(g["prefix"], characters=" []:"))
    out["iptables.prefix"] = prefix
    named = pc.fill_null(prefix, "")
    action = pc.if_else(pc.match_substring_regex(named, BLOCK), "block",
                        pc.if_else(pc.match_substring_regex(named, ALLOW), "allow", "log"))
    out["action"] = pc.if_else(pa.array(hit), action, pa.scalar(None, pa.string()))
    out["outcome"] = pc.if_else(pc.equal(out["action"], "block"), "failure",
                                pc.if_else(pc.equal(out["action"], "allow"), "success", pa.scalar(None, pa.string())))
    return out


def read_iptables(path: Path, *, year: int | None = None, tz: str = "Asia/Jakarta", progress: bool = False,
                  chunk_lines: int = CHUNK_LINES) -> LogResult:
    """Read a kernel/UFW firewall log (syslog layout, plain or gzip) into firewall events."""
    return read_syslog(path, year=year, tz=tz, progress=progress, chunk_lines=chunk_lines, source="iptables",
                       enrich=enrich_iptables)
