"""All traffic detectors in one call: :func:`detect_all` over the tables of one analysed capture set.

Each detector is a function ``(tables, thresholds, history=None) -> list[Finding]``; see the
module of each for its method. :data:`DETECTORS` names them in report order.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from sopkit.detect.beacon import detect_beacons
from sopkit.detect.cleartext import detect_cleartext
from sopkit.detect.dnstunnel import detect_dns_tunnel
from sopkit.detect.exfil import detect_large_outbound
from sopkit.detect.flood import detect_reflection, detect_syn_flood
from sopkit.detect.icmptunnel import detect_icmp_tunnel
from sopkit.detect.ioc import detect_ioc
from sopkit.detect.newdest import detect_new_destinations
from sopkit.detect.scan import detect_bruteforce, detect_port_scans
from sopkit.detect.thresholds import Thresholds
from sopkit.detect.webtraffic import detect_web_attacks
from sopkit.findings import Finding

DETECTORS: dict[str, Callable[..., list[Finding]]] = {
    "port_scans": detect_port_scans,
    "bruteforce": detect_bruteforce,
    "syn_flood": detect_syn_flood,
    "reflection": detect_reflection,
    "dns_tunnel": detect_dns_tunnel,
    "icmp_tunnel": detect_icmp_tunnel,
    "beacons": detect_beacons,
    "large_outbound": detect_large_outbound,
    "ioc": detect_ioc,
    "cleartext": detect_cleartext,
    "web_attacks": detect_web_attacks,
    "new_destinations": detect_new_destinations,
}


def detect_all(tables, thresholds: Thresholds | None = None, history: pd.DataFrame | None = None) -> list[Finding]:
    """Run every detector of :data:`DETECTORS` and return their findings in that order."""
    th = thresholds or Thresholds()
    found: list[Finding] = []
    for fn in DETECTORS.values():
        found.extend(fn(tables, th, history))
    return found
