"""Traffic to indicators of compromise from a user CSV (``indicator,type,description``).

Types: ``ip`` (an address or a CIDR network, matched against both ends of every flow),
``domain`` (matched against DNS queries, HTTP ``Host`` and TLS SNI, the domain itself and its
subdomains), ``ja3`` (md5, matched against TLS client JA3 and server JA3S). The file is checked
strictly: a bad header, an unknown type or a malformed indicator raises
:class:`~sopkit.errors.ParameterError` naming the file and line.
"""

from __future__ import annotations

import csv
import ipaddress
import re
from pathlib import Path

import pandas as pd

from sopkit.detect.common import FLOW_EVIDENCE, finding
from sopkit.detect.thresholds import Thresholds
from sopkit.errors import ParameterError
from sopkit.findings import Finding
from sopkit.report.i18n import number

IOC_TYPES = ("ip", "domain", "ja3")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9-]{1,63}$")
_MD5 = re.compile(r"^[0-9a-f]{32}$")


def load_iocs(path: str | Path) -> pd.DataFrame:
    """Read and validate an IOC CSV; columns ``indicator, type, description`` (lower-cased values)."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            if reader.fieldnames is None or not {"indicator", "type"} <= {c.strip() for c in reader.fieldnames}:
                raise ParameterError(f"{path}: header must have columns indicator,type,description")
            rows = []
            for line, rec in enumerate(reader, start=2):
                rec = {(k or "").strip(): (v or "").strip() for k, v in rec.items()}
                ind, kind = rec.get("indicator", "").lower(), rec.get("type", "").lower()
                if not ind:
                    continue
                if kind not in IOC_TYPES:
                    raise ParameterError(f"{path}: line {line}: unknown type {kind!r} (use {', '.join(IOC_TYPES)})")
                if kind == "ip":
                    try:
                        ipaddress.ip_network(ind, strict=False)
                    except ValueError as exc:
                        raise ParameterError(f"{path}: line {line}: bad IP indicator {ind!r}") from exc
                elif kind == "domain" and not _DOMAIN.match(ind.rstrip(".")):
                    raise ParameterError(f"{path}: line {line}: bad domain indicator {ind!r}")
                elif kind == "ja3" and not _MD5.match(ind):
                    raise ParameterError(f"{path}: line {line}: JA3 must be 32 hex digits, got {ind!r}")
                rows.append((ind.rstrip("."), kind, rec.get("description", "")))
    except OSError as exc:
        raise ParameterError(f"{path}: cannot read IOC file ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise ParameterError(f"{path}: not UTF-8 text ({exc.reason})") from exc
    return pd.DataFrame(rows, columns=["indicator", "type", "description"])


def _ip_matches(flows: pd.DataFrame, net: str) -> pd.DataFrame:
    n = ipaddress.ip_network(net, strict=False)
    cache: dict[str, bool] = {}

    def inside(a: str) -> bool:
        if a not in cache:
            ip = ipaddress.ip_address(a)
            cache[a] = ip.version == n.version and ip in n
        return cache[a]

    return flows[flows["id.orig_h"].map(inside).astype(bool) | flows["id.resp_h"].map(inside).astype(bool)]


def _name_hit(values: pd.Series, domain: str) -> pd.Series:
    v = values.fillna("").astype(str).str.lower().str.rstrip(".")
    return (v == domain) | v.str.endswith("." + domain)


def detect_ioc(tables, thresholds: Thresholds, history=None, iocs: pd.DataFrame | None = None) -> list[Finding]:
    """Flows, DNS queries, HTTP hosts and TLS hellos matching the IOC list (``thresholds.ioc_file``)."""
    if iocs is None:
        if not thresholds.ioc_file:
            return []
        iocs = load_iocs(thresholds.ioc_file)
    found: list[Finding] = []
    for ind, kind, desc in iocs.itertuples(index=False):
        if kind == "ip":
            rows, table, cols = _ip_matches(tables.flows, ind), "flows", FLOW_EVIDENCE
        elif kind == "domain":
            parts = [tables.dns[_name_hit(tables.dns["query"], ind)].assign(seen_in="dns", name=lambda d: d["query"]),
                     tables.http[_name_hit(tables.http["host"], ind)].assign(seen_in="http", name=lambda d: d["host"]),
                     tables.tls[_name_hit(tables.tls["server_name"], ind)].assign(
                         seen_in="tls", name=lambda d: d["server_name"])]
            parts = [p for p in parts if len(p)]
            rows = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
            table, cols = "dns/http/tls", ["ts", "seen_in", "id.orig_h", "id.resp_h", "id.resp_p", "name"]
        else:
            t = tables.tls
            rows = t[t["ja3"].eq(ind) | t["ja3s"].eq(ind)]
            table, cols = "tls", ["ts", "id.orig_h", "id.resp_h", "id.resp_p", "server_name", "ja3", "ja3s"]
        if rows.empty:
            continue
        hosts = sorted(set(rows["id.orig_h"]) | set(rows["id.resp_h"]))
        found.append(finding(
            "ioc", (f"Traffic yang cocok dengan IOC {ind} ({kind})", f"Traffic matching IOC {ind} ({kind})"), 1.0, rows, severity="high", attack="T1071",
            entities={"indicator": [ind], "ip": hosts[:50]}, counts={"matches": len(rows), "hosts": len(hosts)},
            explanation=(f"{number(len(rows))} catatan lalu lintas cocok dengan indikator {kind} {ind} dari "
                         f"daftar IOC"
                         f"{' (' + desc + ')' if desc else ''}: host yang terlibat berkomunikasi dengan infrastruktur "
                         "yang dikenal berbahaya.",
                         f"{len(rows)} traffic records match the {kind} indicator {ind} from the IOC list"
                         f"{' (' + desc + ')' if desc else ''}: the hosts involved talked to known-bad infrastructure."),
            recommendation=("Periksa host internal yang terlibat untuk tanda kompromi dan blokir indikator.",
                            "Check the internal hosts involved for compromise and block the indicator."),
            columns=cols, table=table, query=f"matching {ind}"))
    return found
