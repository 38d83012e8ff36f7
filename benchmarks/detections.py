"""Benchmark of the traffic detectors: planted attacks, labelled real captures, benign captures.

Usage::

    .venv/bin/python benchmarks/detections.py [--scale 0.1] [--shared ../shared] [--no-demo] [--no-benign]

(a) a generated demo day (``generate_day`` into a temporary folder) scored against its
``labels.json``; (b) the labelled captures of ``shared/conformance`` (nDPI scans, DNS/ICMP
tunnels, web attacks; StopDDoS floods and reflection); (c) every other nDPI capture as benign.
Prints one table row per capture: expected, found (detector + severity), false findings
(severity medium or higher from a detector that should not fire). Targets, from the brief: every
attack found by the right detector, and on average at most 1 false finding per benign capture.
Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sopkit.capture.analyze import analyze_captures  # noqa: E402
from sopkit.detect.scoring import LABELLED_CAPTURES, match_labels, score_labelled, serious  # noqa: E402
from sopkit.detect.thresholds import load_thresholds  # noqa: E402
from sopkit.detect.traffic import detect_all  # noqa: E402


def _fmt(findings) -> str:
    out: dict[str, int] = {}
    for f in findings:
        key = f"{f.detector}/{f.severity}"
        out[key] = out.get(key, 0) + 1
    return ", ".join(f"{k}×{v}" if v > 1 else k for k, v in sorted(out.items())) or "-"


def run_demo(scale: float, th) -> tuple[list[tuple], bool]:
    from sopkit.demo import generate_day

    rows, ok = [], True
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        ds = generate_day(Path(tmp) / "day", scale=scale)
        t1 = time.perf_counter()
        tables = analyze_captures([ds.capture], local_nets=th.local_nets)
        t2 = time.perf_counter()
        findings = detect_all(tables, th)
        t3 = time.perf_counter()
        labels = json.loads(ds.labels.read_text())
    found, false = match_labels(findings, labels)
    for label in labels["attacks"]:
        hits = found[label["id"]]
        ok &= bool(hits)
        rows.append((f"demo:{label['id']}", label["kind"], _fmt(hits) if hits else "MISSED", ""))
    rows.append(("demo (unlabelled findings)", "-", "-", _fmt(false) if false else "0"))
    print(f"demo day scale {scale}: {tables.stats['packets']} packets; generate {t1 - t0:.1f}s, "
          f"analyze {t2 - t1:.1f}s, detect {t3 - t2:.1f}s; {len(findings)} findings", file=sys.stderr)
    return rows, ok and not false


def run_conformance(conf: Path, th, benign: bool) -> tuple[list[tuple], bool, float, int, float]:
    rows, ok = [], True
    for rel, (label, prefixes) in LABELLED_CAPTURES.items():
        findings = detect_all(analyze_captures([conf / rel], local_nets=th.local_nets), th)
        hits, false = score_labelled(findings, prefixes)
        ok &= bool(hits)
        rows.append((rel, label, _fmt(hits) if hits else "MISSED", _fmt(false) if false else "0"))
    n_benign = n_false = 0
    t0 = time.perf_counter()
    if benign:
        labelled = {Path(r).name for r in LABELLED_CAPTURES}
        for path in sorted((conf / "ndpi" / "pcap").iterdir()):
            if path.name in labelled:
                continue
            findings = serious(detect_all(analyze_captures([path], local_nets=th.local_nets), th))
            n_benign += 1
            n_false += len(findings)
            if findings:
                rows.append((f"ndpi/pcap/{path.name}", "benign", "-", _fmt(findings)))
    return rows, ok, n_false / max(n_benign, 1), n_benign, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=0.1, help="demo day background scale (attacks keep their size)")
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared", help="folder holding conformance/")
    ap.add_argument("--thresholds", type=Path, default=REPO / "parameters" / "thresholds.yaml")
    ap.add_argument("--no-demo", action="store_true")
    ap.add_argument("--no-benign", action="store_true")
    args = ap.parse_args(argv)
    th = load_thresholds(args.thresholds)
    rows: list[tuple] = []
    ok = True
    if not args.no_demo:
        r, good = run_demo(args.scale, th)
        rows += r
        ok &= good
    conf = args.shared / "conformance"
    avg = 0.0
    if (conf / "README.md").is_file():
        r, good, avg, n_benign, secs = run_conformance(conf, th, not args.no_benign)
        rows += r
        ok &= good and avg <= 1.0
    else:
        print(f"conformance corpus not found at {conf}: skipped", file=sys.stderr)
        n_benign, secs = 0, 0.0
    widths = [max(len(str(r[i])) for r in rows + [("capture", "expected", "found", "false findings")])
              for i in range(4)]
    for r in [("capture", "expected", "found", "false findings")] + rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    if n_benign:
        print(f"\nbenign nDPI captures: {n_benign} (only those with findings listed), false findings of medium "
              f"or higher: {avg * n_benign:.0f}, average {avg:.3f} per capture ({secs:.0f}s)")
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
