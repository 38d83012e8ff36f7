"""The compiled SHA-1 equals hashlib on the FIPS examples and on random rows of every width."""

from __future__ import annotations

import hashlib

import numpy as np

from sopkit.capture.fastsha1 import sha1_rows


def _rows(data: bytes, width: int) -> np.ndarray:
    return np.frombuffer(data, np.uint8).reshape(-1, width)


def test_fips_examples():
    for msg in (b"abc", b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"):
        assert bytes(sha1_rows(_rows(msg, len(msg)))[0]) == hashlib.sha1(msg).digest()
    assert bytes(sha1_rows(_rows(b"abc", 3))[0]).hex() == "a9993e364706816aba3e25717850c26c9cd0d89d"


def test_random_rows_of_every_width():
    rng = np.random.default_rng(4)
    for width in (*range(1, 70), 119, 120, 128):  # one, two and three 64-byte blocks
        buf = rng.integers(0, 256, (50, width), dtype=np.uint8)
        buf[0] = 0
        buf[1] = 255
        got = sha1_rows(buf)
        assert got.shape == (50, 20)
        assert [bytes(g) for g in got] == [hashlib.sha1(r.tobytes()).digest() for r in buf]
    assert sha1_rows(np.zeros((0, 16), np.uint8)).shape == (0, 20)
