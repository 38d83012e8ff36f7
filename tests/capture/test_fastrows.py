"""The vectorized pieces of the compiled engine's output stage equal the Python they replace:
int / int division (correctly rounded past 2**53), IPv4 text, local-network membership."""

from __future__ import annotations

import ipaddress
import random
import socket

import numpy as np

from sopkit.capture.fastrows import _addresses, _local, exact_div


def test_exact_div_equals_python_int_division():
    rng = random.Random(3)
    num = [0, 1, -1, 2**53, 2**53 + 1, 2**63 - 1, -(2**63) + 1, 1_795_453_225_177_299_001]
    num += [rng.randrange(1_700_000_000 * 10**9, 1_800_000_000 * 10**9) for _ in range(20000)]
    num += [rng.randrange(-(2**63) + 1, 2**63) for _ in range(5000)]
    # quotients exactly halfway between two doubles (ties) and just beside them
    for _ in range(2000):
        m = rng.randrange(2**52, 2**53) * 2 + 1  # odd 54-bit: halfway between two 53-bit doubles
        for d in (-1, 0, 1):
            num.append((m << 9) + d)
    den = [rng.choice((1_000_000_000, 3, 7, 2**20, rng.randrange(1, 2**62))) for _ in num]
    got = exact_div(np.array(num, np.int64), np.array(den, np.int64))
    assert got.tolist() == [a / b for a, b in zip(num, den, strict=True)]
    ts = np.array(num[8:20008], np.int64)
    assert exact_div(ts, 10**9).tolist() == [t / 10**9 for t in ts.tolist()]


def _halves(addrs: list[bytes]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    values = [int.from_bytes(a, "big") for a in addrs]
    hi = np.array([v >> 64 for v in values], np.uint64).view(np.int64)
    lo = np.array([v & (2**64 - 1) for v in values], np.uint64).view(np.int64)
    return hi, lo, np.array([4 if len(a) == 4 else 6 for a in addrs])


def _sample(v6: bool) -> list[bytes]:
    rng = random.Random(8)
    addrs = [bytes(4), b"\xff" * 4, bytes([10, 0, 0, 1]), bytes([1, 22, 133, 250]), bytes([100, 9, 0, 99])]
    addrs += [bytes(rng.randrange(256) for _ in range(4)) for _ in range(3000)]
    if v6:
        addrs += [bytes(16), socket.inet_pton(socket.AF_INET6, "2001:db8::1"), b"\xff" * 16]
        addrs += [bytes(rng.randrange(256) for _ in range(16)) for _ in range(500)] * 2
    rng.shuffle(addrs)
    return addrs


def test_address_text_ipv4_only_and_mixed():
    for v6 in (False, True):
        addrs = _sample(v6)
        got = _addresses(*_halves(addrs)).to_pylist()
        assert got == [socket.inet_ntop(socket.AF_INET if len(a) == 4 else socket.AF_INET6, a) for a in addrs]


def test_local_networks_like_ipaddress():
    addrs = _sample(True)
    nets = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "1.22.133.0/24", "100.9.0.99/32", "2001:db8::/32",
                                              "8000::/1")]
    got = _local(*_halves(addrs), nets).tolist()
    assert got == [any(ipaddress.ip_address(a) in n for n in nets) for a in addrs]
    assert 0 < sum(got) < len(got)


def test_row_order_equals_a_full_lexsort():
    from sopkit.capture.fastrows import _order

    rng = np.random.default_rng(1)
    for n in (0, 1, 2, 5, 1000, 20000):
        start = rng.integers(0, max(n // 3, 1), n) * 7 + 10**18  # many equal start times
        w1 = rng.integers(0, 5, n).astype(np.uint64)
        w2 = rng.integers(0, 2**40, n).astype(np.uint64)
        assert _order(start, w1, w2).tolist() == np.lexsort((w2, w1, start)).tolist()
