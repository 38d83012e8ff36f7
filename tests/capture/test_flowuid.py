"""Connection uids: the per-connection (FlowTable) and vectorized (compiled engine) forms agree,
are fixed-width base 62, and sort like the numbers the engine sorts by."""

from __future__ import annotations

import random

import numpy as np

from sopkit.capture.batch import split_address
from sopkit.capture.flowuid import WIDTH, flow_uid, flow_uid_words, uid_chars


def _flows(n: int) -> list[tuple]:
    rng = random.Random(11)
    out = []
    for i in range(n):
        size = rng.choice((4, 16))
        a = bytes(rng.randrange(256) for _ in range(size))
        b = a if i % 7 == 0 else bytes(rng.randrange(256) for _ in range(size))
        out.append((rng.randrange(1, 10**6), rng.choice((0, 1_795_453_225_177_299_001, rng.randrange(2**62))),
                    rng.choice((6, 17, 1, 58, 47)), (a, rng.randrange(65536)), (b, rng.randrange(65536))))
    return out


def test_vectorized_uids_equal_the_per_connection_ones():
    flows = _flows(3000)
    lo_hi = [(min(a, b), max(a, b)) for *_, a, b in flows]

    def col(f) -> np.ndarray:
        return np.array([f(x) for x in lo_hi], np.uint64).view(np.int64)

    for seed in (0, 12345):
        ref = [flow_uid(seed, o, t, p, a, b) for o, t, p, a, b in flows]
        w1, w2 = flow_uid_words(
            seed, np.array([f[0] for f in flows]), np.array([f[1] for f in flows]), np.array([f[2] for f in flows]),
            np.array([4 if len(f[3][0]) == 4 else 6 for f in flows]),
            col(lambda x: split_address(x[0][0])[0]), col(lambda x: split_address(x[0][0])[1]),
            np.array([x[0][1] for x in lo_hi]),
            col(lambda x: split_address(x[1][0])[0]), col(lambda x: split_address(x[1][0])[1]),
            np.array([x[1][1] for x in lo_hi]))
        got = [bytes(r).decode("ascii") for r in uid_chars(w1, w2)]
        assert got == ref
        assert all(len(u) == WIDTH and u[0] == "C" and u[1:].isalnum() for u in got)
        assert len(set(got)) == len(got)
        # string order is the numeric order of (w1, w2): what the engine sorts by
        assert [got[i] for i in np.lexsort((w2, w1))] == sorted(got)


def test_uid_depends_on_every_input_but_not_endpoint_order():
    a, b = (bytes([10, 0, 0, 1]), 40000), (bytes([10, 0, 0, 2]), 80)
    base = flow_uid(0, 1, 5, 6, a, b)
    assert flow_uid(0, 1, 5, 6, b, a) == base
    others = {flow_uid(1, 1, 5, 6, a, b), flow_uid(0, 2, 5, 6, a, b), flow_uid(0, 1, 6, 6, a, b),
              flow_uid(0, 1, 5, 17, a, b), flow_uid(0, 1, 5, 6, (a[0], 40001), b),
              flow_uid(0, 1, 5, 6, (bytes(12) + a[0], a[1]), (bytes(12) + b[0], b[1]))}
    assert base not in others and len(others) == 6
