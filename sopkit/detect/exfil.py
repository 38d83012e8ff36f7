"""Large outbound transfers (possible exfiltration), from the flow table.

Method: per internal host, the payload bytes it sent to external hosts on connections it opened
(``orig_bytes``): an upload. What a server sends back on connections the internet opened to it (a web
site serving pages) is its job, not exfiltration, so it is not counted. A host
is reported when it sent at least ``exfil_min_bytes`` and, with ``history`` (past daily totals
per host: columns ``host`` and ``bytes_out``), more than its own mean + ``exfil_robust_z``
standard deviations (the deviation floored at a quarter of the mean); without history, a robust
z-score ``(x − median) / (1.4826·MAD)`` against the other internal hosts of at least
``exfil_robust_z`` (the MAD floored at 1 MB, so a quiet network does not make everything an
outlier). The largest destinations are named.
"""

from __future__ import annotations

import pandas as pd

from sopkit.capture.analyze import external_mask, local_mask
from sopkit.detect.common import FLOW_EVIDENCE, finding, strength
from sopkit.detect.thresholds import Thresholds
from sopkit.findings import Finding
from sopkit.report.i18n import number

MAD_FLOOR = 1_000_000


def outbound(flows: pd.DataFrame, nets: list[str]) -> pd.DataFrame:
    """Rows (host, peer, bytes, flow) of bytes internal hosts uploaded on connections they opened outward."""
    lo, er = local_mask(flows["id.orig_h"], nets), external_mask(flows["id.resp_h"], nets)
    return flows[lo & er].assign(host=lambda d: d["id.orig_h"], peer=lambda d: d["id.resp_h"],
                                 sent=lambda d: d["orig_bytes"].fillna(0).astype("int64")).reset_index(drop=True)


def detect_large_outbound(tables, thresholds: Thresholds, history: pd.DataFrame | None = None) -> list[Finding]:
    """Internal hosts that sent unusually many bytes out (see module docstring)."""
    out = outbound(tables.flows, thresholds.local_nets)
    found: list[Finding] = []
    if out.empty:
        return found
    per_host = out.groupby("host")["sent"].sum()
    med = float(per_host.median())
    mad = max(float((per_host - med).abs().median()) * 1.4826, MAD_FLOOR)
    past = None
    if history is not None and {"host", "bytes_out"} <= set(history.columns):
        past = history.groupby("host")["bytes_out"].agg(["mean", "std"])
    for host, sent in per_host[per_host >= thresholds.exfil_min_bytes].items():
        if past is not None and host in past.index:
            mean, std = float(past.at[host, "mean"]), float(past.at[host, "std"] or 0)
            z = (sent - mean) / max(std, mean / 4, 1.0)
            basis_id, basis_en = (f"rata-rata hariannya {number(mean, decimals=0)} byte",
                                  f"its daily mean of {mean:.0f} bytes")
        else:
            z = (sent - med) / mad
            basis_id, basis_en = (f"median host lain {number(med, decimals=0)} byte",
                                  f"the other hosts' median of {med:.0f} bytes")
        if z < thresholds.exfil_robust_z:
            continue
        rows = out[out["host"] == host].sort_values("sent", ascending=False)
        top = rows.groupby("peer")["sent"].sum().sort_values(ascending=False)
        score = 0.5 * strength(sent, thresholds.exfil_min_bytes) + 0.5 * strength(z, thresholds.exfil_robust_z)
        mb = sent / 1e6
        found.append(finding(
            "exfil", (f"Unggahan data besar dari {host} ({number(mb, decimals=1)} MB keluar)",
                      f"Large upload from {host} ({mb:.1f} MB out)"),
            score, rows[rows["sent"] > 0],
            severity="high" if sent >= thresholds.exfil_high_bytes else "medium", attack="T1048,T1567",
            entities={"src_ip": [host], "dst_ip": list(top.index[:10])},
            counts={"bytes_out": int(sent), "z_score": float(z), "destinations": len(top),
                    "top_destination_bytes": int(top.iloc[0])},
            explanation=(f"{host} mengirim {number(mb, decimals=1)} MB ke luar jaringan (terbanyak ke "
                         f"{top.index[0]}: "
                         f"{number(top.iloc[0] / 1e6, decimals=1)} MB), skor-z {number(z, decimals=1)} "
                         f"dibanding {basis_id}: unggahan besar yang "
                         "tidak biasa, kemungkinan eksfiltrasi data.",
                         f"{host} sent {mb:.1f} MB out of the network (most to {top.index[0]}: "
                         f"{top.iloc[0] / 1e6:.1f} MB), z-score {z:.1f} against {basis_en}: an unusual large upload, "
                         "possibly data exfiltration."),
            recommendation=("Konfirmasi dengan pengguna host apakah unggahan ini sah (backup, layanan awan resmi); "
                            "bila tidak, isolasi host dan periksa data yang keluar.", "Confirm with the host's user "
                            "whether the upload is legitimate (backup, approved cloud service); if not, isolate the "
                            "host and review what left."),
            columns=FLOW_EVIDENCE + ["sent"], query=f"{host} sending out"))
    return found
