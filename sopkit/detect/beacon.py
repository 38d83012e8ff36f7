"""Beaconing (command-and-control check-ins), from the flow table.

Method: per (internal host, external destination, port, protocol) with at least
``beacon_min_conns`` connections covering ``beacon_min_span_s``, take the inter-arrival times of
the connection starts; their median ``m`` is the beacon interval and the median absolute
deviation ``MAD`` measures jitter. ``MAD / m <= beacon_max_mad_ratio`` marks a periodic series.
Median and MAD (not mean and standard deviation) keep the test tolerant to random jitter of a
few tens of percent and to a few missed or extra check-ins. Sub-``beacon_min_interval_s``
intervals (bursts) and services that are periodic by design (DNS, NTP, discovery) are ignored.
"""

from __future__ import annotations

import numpy as np

from sopkit.capture.analyze import external_mask, local_mask
from sopkit.detect.common import FLOW_EVIDENCE, finding, strength
from sopkit.detect.thresholds import Thresholds
from sopkit.findings import Finding
from sopkit.report.i18n import number


def periodicity(ts: np.ndarray) -> tuple[float, float]:
    """(median interval, MAD / median) of sorted start times; (0, inf) with fewer than 3 times."""
    if len(ts) < 3:
        return 0.0, float("inf")
    iat = np.diff(np.sort(ts))
    m = float(np.median(iat))
    if m <= 0:
        return 0.0, float("inf")
    return m, float(np.median(np.abs(iat - m))) / m


def detect_beacons(tables, thresholds: Thresholds, history=None) -> list[Finding]:
    """Periodic connections from an internal host to one external destination (see module docstring)."""
    f = tables.flows
    f = f[local_mask(f["id.orig_h"], thresholds.local_nets) & external_mask(f["id.resp_h"], thresholds.local_nets)
          & ~f["id.resp_p"].isin(thresholds.beacon_ignore_ports) & f["proto"].isin(["tcp", "udp"])]
    found: list[Finding] = []
    if f.empty:
        return found
    keys = ["id.orig_h", "id.resp_h", "id.resp_p", "proto"]
    g = f.groupby(keys)["ts"].agg(["size", "min", "max"])
    g = g[(g["size"] >= thresholds.beacon_min_conns) & (g["max"] - g["min"] >= thresholds.beacon_min_span_s)]
    for key in g.index:
        src, dst, port, proto = key
        rows = f[(f["id.orig_h"] == src) & (f["id.resp_h"] == dst) & (f["id.resp_p"] == port) & (f["proto"] == proto)]
        interval, ratio = periodicity(rows["ts"].to_numpy())
        if interval < thresholds.beacon_min_interval_s or ratio > thresholds.beacon_max_mad_ratio:
            continue
        n = len(rows)
        regular = 1.0 - ratio / thresholds.beacon_max_mad_ratio
        score = 0.5 * strength(n, thresholds.beacon_min_conns) + 0.5 * regular
        found.append(finding(
            "beacon", (f"Komunikasi berkala (beaconing) {src} → {dst}:{port} tiap "
                       f"{number(interval, decimals=0)} detik ({number(n)} koneksi)",
                       f"Beaconing {src} → {dst}:{port} every {interval:.0f} s ({n} connections)"), score, rows,
            severity="high" if n >= 4 * thresholds.beacon_min_conns and ratio <= thresholds.beacon_max_mad_ratio / 2
            else "medium", attack="T1071,T1573",
            entities={"src_ip": [src], "dst_ip": [dst], "dst_port": [int(port)]},
            counts={"connections": n, "interval_s": interval, "mad_ratio": ratio,
                    "span_s": float(rows["ts"].max() - rows["ts"].min()),
                    "bytes_out": int(rows["orig_bytes"].fillna(0).sum())},
            explanation=(f"{src} menghubungi {dst}:{port}/{proto} sebanyak {number(n)} kali dengan jeda teratur "
                         f"sekitar "
                         f"{number(interval, decimals=0)} detik (deviasi median {ratio:.0%} dari jeda; metode: "
                         f"median dan MAD jeda "
                         "antar-koneksi): pola beacon malware yang melapor ke server kendali (C2).",
                         f"{src} contacted {dst}:{port}/{proto} {n} times at a regular interval of about "
                         f"{interval:.0f} s (median absolute deviation {ratio:.0%} of the interval; method: median "
                         "and MAD of inter-connection times): the beacon of malware checking in with a C2 server."),
            recommendation=("Identifikasi proses yang membuat koneksi pada host tersebut, periksa reputasi tujuan, "
                            "dan blokir bila tidak dikenal.", "Identify the process making the connections on the "
                            "host, check the destination's reputation, and block it if unknown."),
            columns=FLOW_EVIDENCE, query=f"{src} to {dst}:{port}/{proto}"))
    return found
