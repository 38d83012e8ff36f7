"""Ground truth of a generated day (``labels.json``): the network plan and every planted attack.

Labels exist only to score detectors and notebooks against; nothing in sopkit may read them to
detect anything. Attack entries carry ``id``, ``kind``, MITRE ATT&CK ``attack`` technique,
``source``, ``targets``, ``start``/``end`` (ISO 8601 UTC, from the actual first/last packet or log
line) and ``evidence`` (which of capture / auth_log / access_log / eve_json shows it), plus
kind-specific details.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from sopkit.demo import network as net
from sopkit.demo.logs import atomic_write_lines

#: Every ``kind`` a label may have.
KINDS = ("port_scan_vertical", "port_scan_horizontal", "ssh_bruteforce", "syn_flood", "dns_tunnel", "c2_beacon",
         "large_upload", "web_sqli", "web_xss", "web_traversal", "web_scanner")


def network_plan() -> dict:
    """The address plan as JSON-ready data."""
    return {"lan": net.LAN, "servers_net": net.SERVER_NET, "clients_net": net.CLIENT_NET,
            "gateway": net.GATEWAY, "upstream_dns": list(net.UPSTREAM_DNS),
            "servers": {role: {"name": h.name, "ip": h.ip} for role, h in net.servers().items()},
            "workstations": [{"name": h.name, "ip": h.ip} for h in net.workstations()],
            "web_hostname": net.WEB_HOSTNAME, "ad_domain": net.AD_DOMAIN}


def build(date: dt.date, tz: str, seed: int, scale: float, attacks: list[dict]) -> dict:
    """The labels document; attacks sorted by start time then id."""
    for a in attacks:
        if a["kind"] not in KINDS:
            raise ValueError(f"label {a['id']!r}: unknown kind {a['kind']!r}")
    return {"date": date.isoformat(), "tz": tz, "seed": seed, "scale": scale, "network": network_plan(),
            "attacks": sorted(attacks, key=lambda a: (a["start"], a["id"]))}


def write(path: Path, doc: dict) -> None:
    """Write ``doc`` as indented JSON, atomically."""
    atomic_write_lines(path, json.dumps(doc, indent=2, ensure_ascii=False).splitlines())
