"""New external destinations: (internal host, external address) pairs not seen in the history.

``history`` is a DataFrame of past pairs with columns ``host`` and ``destination`` (as the
notebooks' history store will keep them). Without history nothing is new and no finding is made.
One low-severity finding per host lists its new destinations by bytes exchanged (at most
``newdest_max_listed``); it is context for the other findings, not an alarm on its own.
"""

from __future__ import annotations

import pandas as pd

from sopkit.capture.analyze import external_mask, local_mask
from sopkit.detect.common import FLOW_EVIDENCE, finding
from sopkit.detect.thresholds import Thresholds
from sopkit.findings import Finding
from sopkit.report.i18n import number


def detect_new_destinations(tables, thresholds: Thresholds, history: pd.DataFrame | None = None) -> list[Finding]:
    """Hosts that talked to external addresses absent from ``history`` (see module docstring)."""
    if history is None or not {"host", "destination"} <= set(history.columns):
        return []
    f = tables.flows
    f = f[local_mask(f["id.orig_h"], thresholds.local_nets) & external_mask(f["id.resp_h"], thresholds.local_nets)]
    known = set(zip(history["host"].astype(str), history["destination"].astype(str), strict=True))
    new = f[[(a, b) not in known for a, b in zip(f["id.orig_h"], f["id.resp_h"], strict=True)]]
    found: list[Finding] = []
    for host, rows in new.groupby("id.orig_h"):
        volume = (rows["orig_bytes"].fillna(0) + rows["resp_bytes"].fillna(0)).groupby(rows["id.resp_h"]).sum()
        dests = list(volume.sort_values(ascending=False).index)
        listed = dests[: thresholds.newdest_max_listed]
        found.append(finding(
            "newdest", (f"{host} menghubungi {number(len(dests))} tujuan eksternal baru",
                        f"{host} contacted {len(dests)} new external destinations"), 0.3, rows, severity="low",
            attack="T1071", entities={"src_ip": [host], "dst_ip": listed},
            counts={"destinations": len(dests), "connections": len(rows)},
            explanation=(f"{host} berkomunikasi dengan {number(len(dests))} alamat eksternal yang belum pernah "
                         f"terlihat "
                         f"sebelumnya (antara lain {', '.join(listed[:5])}).",
                         f"{host} talked to {len(dests)} external addresses never seen before (among them "
                         f"{', '.join(listed[:5])})."),
            recommendation=("Tinjau tujuan baru bersama temuan lain dari host ini.",
                            "Review the new destinations together with this host's other findings."),
            columns=FLOW_EVIDENCE, query=f"{host} to new destinations"))
    return found
