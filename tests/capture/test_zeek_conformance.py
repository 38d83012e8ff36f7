"""Flow table vs Zeek's own conn.log for the 34 conn.log pairs of the conformance corpus.

Scored with :func:`sopkit.capture.zeek.score_against_baseline` (multiset match on proto + 5-tuple;
exact per-direction packets and IP bytes; duration within 1 µs; conn_state; history; bytes;
missed_bytes).  Run with ``-s`` to see the per-pair table.
"""

from __future__ import annotations

import csv

from sopkit.capture.decode import iter_packets
from sopkit.capture.flows import build_flows
from sopkit.capture.zeek import SCORE_HEADER, format_score, read_zeek_log, score_against_baseline


def test_conn_log_pairs(conformance):
    z = conformance / "zeek"
    with open(z / "pairs.tsv", newline="") as fh:
        pairs = [r for r in csv.DictReader(fh, delimiter="\t") if r["kind"] == "conn.log"]
    assert len(pairs) == 34
    total: dict[str, int] = {}
    print("\n" + SCORE_HEADER)
    for r in pairs:
        cmd = r["zeek_command"]
        df = build_flows(iter_packets([z / r["capture"]]), ignore_checksums=" -C " in cmd,
                         report_gaps_for_partial="report_gaps_for_partial=T" in cmd)
        s = score_against_baseline(df, read_zeek_log(z / r["expected"]))
        print(format_score(r["capture"], s))
        for k, v in s.items():
            if isinstance(v, int):
                total[k] = total.get(k, 0) + v
    print(format_score("TOTAL", total))
    n = total["baseline_rows"]
    assert n == 1603
    # Measured: every one of the 1603 rows matches on every scored field.
    assert total["our_rows"] == n
    assert total["matched"] == n
    assert total["exact_counts"] == n
    assert total["conn_state"] == n
    assert total["history"] == n
    for f in ("orig_bytes", "resp_bytes", "missed_bytes", "duration"):
        assert total[f] == n, f
