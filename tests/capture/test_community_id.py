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
