"""Scoring the traffic detectors against ground truth: which detector must find which attack.

Used by ``benchmarks/detections.py`` and ``tests/detect/test_detection_targets.py`` so both
assert the same targets. Ground truth is read here (demo ``labels.json``, the names of labelled
conformance captures) and never by a detector.

* Demo day: each label kind maps to the detector(s) allowed to find it; a label is found when a
  finding of such a detector names the label's source address (for spoofed floods, its target)
  among its entities. Findings of severity medium or higher that match no label are false.
* Labelled real captures: each file maps to the detector prefixes that must report it; findings
  of other detectors at medium or higher are false.
* Benign captures: every finding of medium or higher severity is counted as false.
"""

from __future__ import annotations

from collections.abc import Iterable

from sopkit.findings import SEVERITIES, Finding

#: demo label kind → detector names (prefix match) allowed to find it
LABEL_DETECTORS: dict[str, tuple[str, ...]] = {
    "port_scan_vertical": ("scan.vertical",),
    "port_scan_horizontal": ("scan.horizontal",),
    "ssh_bruteforce": ("scan.bruteforce",),
    "syn_flood": ("flood.syn",),
    "dns_tunnel": ("dnstunnel",),
    "c2_beacon": ("beacon",),
    "large_upload": ("exfil",),
    "web_sqli": ("web.sqli",),
    "web_xss": ("web.xss",),
    "web_traversal": ("web.path_traversal",),
    "web_scanner": ("web.scanner",),
}

#: labelled conformance captures (path under shared/conformance) → (label, detector prefixes)
LABELLED_CAPTURES: dict[str, tuple[str, tuple[str, ...]]] = {
    "ndpi/pcap/synscan.pcap": ("port scan", ("scan.vertical", "scan.horizontal")),
    "ndpi/pcap/tcp_scan.pcapng": ("port scan", ("scan.vertical", "scan.horizontal")),
    "ndpi/pcap/dns-tunnel-iodine.pcap": ("DNS tunnel", ("dnstunnel",)),
    "ndpi/pcap/dns_exfiltration.pcap": ("DNS tunnel", ("dnstunnel",)),
    "ndpi/pcap/icmp-tunnel.pcap": ("ICMP tunnel", ("icmptunnel",)),
    "ndpi/pcap/WebattackSQLinj.pcap": ("web attack", ("web.",)),
    "ndpi/pcap/WebattackRCE.pcap": ("web attack", ("web.",)),
    "stopddos/pkt.TCP.synflood.spoofed.pcap": ("SYN flood", ("flood.syn",)),
    "stopddos/amp.TCP.reflection.SYNACK.pcap": ("reflection", ("flood.reflection", "flood.amplification")),
    "stopddos/amp.dns.RRSIG.fragmented.pcap": ("reflection", ("flood.reflection", "flood.amplification")),
}

MEDIUM = SEVERITIES.index("medium")


def serious(findings: Iterable[Finding]) -> list[Finding]:
    """Findings of severity medium or higher."""
    return [f for f in findings if SEVERITIES.index(f.severity) >= MEDIUM]


def _of(f: Finding, prefixes: tuple[str, ...]) -> bool:
    return f.detector.startswith(prefixes)


def _names(f: Finding) -> set[str]:
    return {str(v) for values in f.entities.values() for v in values}


def match_labels(findings: list[Finding], labels: dict) -> tuple[dict[str, list[Finding]], list[Finding]]:
    """(label id → the findings that found it, serious findings that match no label) for a demo day."""
    found: dict[str, list[Finding]] = {}
    used: set[str] = set()
    for label in labels["attacks"]:
        prefixes = LABEL_DETECTORS[label["kind"]]
        anchors = {label["source"]} if label["source"] != "spoofed" else set(label["targets"])
        hits = [f for f in findings if _of(f, prefixes) and anchors & _names(f)]
        found[label["id"]] = hits
        used |= {f.id for f in hits}
    # a finding about the same source as a label, by a detector the label allows or another one, is
    # part of that attack (a sqlmap run is also a scanner); anything else is false
    sources = {a["source"] for a in labels["attacks"]} | {t for a in labels["attacks"] for t in a["targets"]
                                                          if a["source"] == "spoofed"}
    false = [f for f in serious(findings) if f.id not in used and not (sources & _names(f))]
    return found, false


def score_labelled(findings: list[Finding], prefixes: tuple[str, ...]) -> tuple[list[Finding], list[Finding]]:
    """(findings by an expected detector, serious findings by any other detector) for a labelled capture."""
    return [f for f in findings if _of(f, prefixes)], [f for f in serious(findings) if not _of(f, prefixes)]
