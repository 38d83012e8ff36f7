"""ICMP tunnels, from the ICMP echo summary of :func:`sopkit.capture.analyze.analyze_captures`.

Method: ordinary ping sends a fixed pattern (after a timestamp) of 32–64 bytes, a few times. A
tunnel (ptunnel, icmpsh, icmptunnel) carries data in echo payloads: many packets, payloads that
differ from one another, larger than ping's, adding up to real volume. Per (source, destination,
echo type) the detector requires at least ``icmp_min_packets`` packets, a share of distinct
payloads of at least ``icmp_min_distinct``, and either a largest payload of ``icmp_min_payload``
bytes or ``icmp_min_bytes`` in total. The mean payload entropy is reported (encrypted or
compressed data is near 8 bits/byte for long payloads) but not required: short payloads cannot
show it.
"""

from __future__ import annotations

from sopkit.detect.common import finding, strength
from sopkit.detect.thresholds import Thresholds
from sopkit.findings import Finding
from sopkit.report.i18n import number

ICMP_EVIDENCE = ["ts", "last_ts", "src", "dst", "icmp_type", "packets", "payload_bytes", "max_payload",
                 "distinct_payloads", "mean_entropy"]


def detect_icmp_tunnel(tables, thresholds: Thresholds, history=None) -> list[Finding]:
    """Echo traffic that carries data (see module docstring)."""
    t = tables.icmp
    found: list[Finding] = []
    if t.empty:
        return found
    share = t["distinct_payloads"] / t["packets"].clip(lower=1)
    hit = t[(t["packets"] >= thresholds.icmp_min_packets) & (share >= thresholds.icmp_min_distinct)
            & ((t["max_payload"] >= thresholds.icmp_min_payload) | (t["payload_bytes"] >= thresholds.icmp_min_bytes))]
    # one finding per host pair: requests and replies of the same tunnel are reported together
    hit = hit.assign(pair=[tuple(sorted((a, b))) for a, b in zip(hit["src"], hit["dst"], strict=True)])
    for (a, b), rows in hit.groupby("pair"):
        req = rows[rows["icmp_type"].isin([8, 128])]
        client = req["src"].iloc[0] if len(req) else rows["dst"].iloc[0]
        server = b if client == a else a
        pk, nb, mx = int(rows["packets"].sum()), int(rows["payload_bytes"].sum()), int(rows["max_payload"].max())
        distinct = int(rows["distinct_payloads"].sum())
        score = (strength(pk, thresholds.icmp_min_packets) + strength(nb, thresholds.icmp_min_bytes)) / 2
        found.append(finding(
            "icmptunnel", (f"Tunnel ICMP {client} ↔ {server} ({number(nb)} byte muatan)",
                           f"ICMP tunnel {client} ↔ {server} ({nb} payload bytes)"), score, rows,
            severity="high" if score >= 0.75 else "medium", attack="T1095,T1048",
            entities={"src_ip": [client], "dst_ip": [server]},
            counts={"packets": pk, "payload_bytes": nb, "max_payload": mx, "distinct_payloads": distinct,
                    "mean_entropy": float(rows["mean_entropy"].mean())},
            explanation=(f"{number(pk)} paket ICMP echo antara {client} dan {server} membawa {number(nb)} byte "
                         f"data dengan {number(distinct)} "
                         f"isi berbeda (terbesar {number(mx)} byte), jauh dari pola ping biasa yang tetap: ICMP "
                         f"dipakai "
                         "sebagai terowongan untuk menyelundupkan data atau kendali jarak jauh.",
                         f"{pk} ICMP echo packets between {client} and {server} carried {nb} bytes with {distinct} "
                         f"distinct payloads (largest {mx} bytes), unlike ping's fixed pattern: ICMP is used as a "
                         "tunnel to smuggle data or remote control."),
            recommendation=("Periksa proses pada kedua host; batasi ICMP echo keluar dan ukuran payload di firewall.",
                            "Inspect the processes on both hosts; restrict outbound ICMP echo and payload size at "
                            "the firewall."),
            columns=ICMP_EVIDENCE, table="icmp", query=f"echo between {client} and {server}"))
    return found
