"""The detection targets of benchmarks/detections.py, as tests.

Every planted attack of a small demo day and every labelled real capture of the conformance corpus
must be found by the right detector (sopkit.detect.scoring), and benign nDPI captures must average
at most one false finding of medium or higher severity.
"""

from __future__ import annotations

import json

import pytest

from sopkit.capture.analyze import analyze_captures
from sopkit.demo import generate_day
from sopkit.detect.scoring import LABELLED_CAPTURES, match_labels, score_labelled, serious
from sopkit.detect.thresholds import Thresholds
from sopkit.detect.traffic import detect_all

TH = Thresholds()


@pytest.fixture(scope="module")
def demo_day(tmp_path_factory):
    ds = generate_day(tmp_path_factory.mktemp("day"), scale=0.02)  # attacks keep their full size at any scale
    return json.loads(ds.labels.read_text()), detect_all(analyze_captures([ds.capture], local_nets=TH.local_nets), TH)


def test_demo_day_every_planted_attack_found(demo_day):
    labels, findings = demo_day
    found, false = match_labels(findings, labels)
    missed = [label_id for label_id, hits in found.items() if not hits]
    assert missed == []
    assert {a["kind"] for a in labels["attacks"]} == set(
        ["port_scan_vertical", "port_scan_horizontal", "ssh_bruteforce", "syn_flood", "dns_tunnel", "c2_beacon",
         "large_upload", "web_sqli", "web_xss", "web_traversal", "web_scanner"])
    assert [f.title_en for f in false] == []


def test_demo_day_titles_in_both_languages(demo_day):
    """Every traffic finding of the demo day is named in Bahasa Indonesia and in English, differently."""
    _, findings = demo_day
    assert len({f.detector.split(".")[0] for f in findings}) >= 5
    for f in findings:
        assert f.title("id").strip() and f.title("en").strip(), f.detector
        assert f.title("id") != f.title("en"), f.title_en


@pytest.mark.parametrize("rel", sorted(LABELLED_CAPTURES))
def test_labelled_capture_found_by_the_right_detector(conformance, rel):
    _, prefixes = LABELLED_CAPTURES[rel]
    findings = detect_all(analyze_captures([conformance / rel], local_nets=TH.local_nets), TH)
    hits, _other = score_labelled(findings, prefixes)
    assert hits, f"{rel}: expected a finding from {prefixes}, got {[f.detector for f in findings]}"
    assert all(f.severity in ("medium", "high", "critical") for f in hits)


def test_benign_captures_average_at_most_one_false_finding(conformance):
    labelled = {rel.rsplit("/", 1)[-1] for rel in LABELLED_CAPTURES}
    paths = [p for p in sorted((conformance / "ndpi" / "pcap").iterdir()) if p.name not in labelled]
    assert len(paths) > 200
    false = {p.name: len(serious(detect_all(analyze_captures([p], local_nets=TH.local_nets), TH))) for p in paths}
    assert sum(false.values()) / len(paths) <= 1.0
    # the few benign-named captures with findings carry what is reported (cleartext FTP, a tunnel, attacks)
    assert sum(1 for n in false.values() if n) <= 10
