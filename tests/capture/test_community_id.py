"""Community ID v1 against the published test vectors (community-id-spec / Elasticsearch processor)."""

from __future__ import annotations

import socket

import pytest

from sopkit.capture.community_id import community_id


def _a(s: str) -> bytes:
    return socket.inet_pton(socket.AF_INET6 if ":" in s else socket.AF_INET, s)


@pytest.mark.parametrize(
    ("proto", "src", "dst", "sport", "dport", "expected"),
    [
        (6, "128.232.110.120", "66.35.250.204", 34855, 80, "1:LQU9qZlK+B5F3KDmev6m5PMibrg="),
        (6, "66.35.250.204", "128.232.110.120", 80, 34855, "1:LQU9qZlK+B5F3KDmev6m5PMibrg="),
        (17, "8.8.8.8", "192.168.1.52", 53, 54585, "1:d/FP5EW3wiY1vCndhwleRRKHowQ="),
        (132, "192.168.170.8", "192.168.170.56", 7, 7, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs="),
        (1, "192.168.0.89", "192.168.0.1", 8, 0, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk="),
        (58, "fe80::260:97ff:fe07:69ea", "ff02::1", 134, 0, "1:pkvHqCL88/tg1k4cPigmZXUtL00="),
    ],
)
def test_published_vectors(proto, src, dst, sport, dport, expected):
    assert community_id(proto, _a(src), _a(dst), sport, dport) == expected


def test_icmp_reply_hashes_like_request_and_seed_changes_value():
    a, b = _a("192.168.0.89"), _a("192.168.0.1")
    assert community_id(1, b, a, 0, 0) == community_id(1, a, b, 8, 0)
    assert community_id(6, a, b, 1, 2, seed=1) != community_id(6, a, b, 1, 2)


def test_vectorized_equals_scalar_on_published_vectors_and_random_flows():
    """community_ids (the compiled engine's batch form) gives community_id's text for every row."""
    import random

    import numpy as np

    from sopkit.capture.batch import split_address
    from sopkit.capture.community_id import community_ids

    rng = random.Random(5)
    flows = [(6, _a("128.232.110.120"), _a("66.35.250.204"), 34855, 80),
             (1, _a("192.168.0.89"), _a("192.168.0.1"), 8, 0),
             (58, _a("fe80::260:97ff:fe07:69ea"), _a("ff02::1"), 134, 0)]
    for _ in range(2000):
        size = rng.choice((4, 16))
        a = bytes(rng.randrange(256) for _ in range(size)) if rng.random() < 0.8 else bytes(size)
        b = a if rng.random() < 0.1 else bytes(rng.randrange(256) for _ in range(size))
        sport = rng.choice((0, 8, 3, 128, 135, 80, 65535, rng.randrange(65536)))
        flows.append((rng.choice((6, 17, 1, 58, 132, 47, 0)), a, b, sport, rng.choice((0, sport, rng.randrange(65536)))))

    def halves(i: int, k: int) -> np.ndarray:
        return np.array([split_address(f[i])[k] for f in flows], np.uint64).view(np.int64)

    got = community_ids(np.array([f[0] for f in flows]), np.array([4 if len(f[1]) == 4 else 6 for f in flows]),
                        halves(1, 0), halves(1, 1), np.array([f[3] for f in flows]), halves(2, 0), halves(2, 1),
                        np.array([f[4] for f in flows]))
    assert got.shape == (len(flows), 30)
    assert [bytes(r).decode("ascii") for r in got] == [community_id(*f) for f in flows]
    assert bytes(got[0]).decode("ascii") == "1:LQU9qZlK+B5F3KDmev6m5PMibrg="
