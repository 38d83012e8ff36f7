"""SHA-1 (FIPS 180-4) of many equal-length short messages at once, compiled: :func:`sha1_rows`.

What: the 20-byte digest of every row of a 2-D uint8 array, bit-identical to
:func:`hashlib.sha1` (the tests compare them on random rows of every width the Community ID
layout uses, and on the FIPS example messages).

Why our own code: the compiled flow engine computes a Community ID (a SHA-1 of a ~16–40 byte flow
layout) for every connection.  :mod:`hashlib` costs 0.5–1 µs of interpreter overhead per
message and holds the GIL for messages this short, which made it the largest part of the
engine's output stage; this loop takes a fraction of that and releases the GIL (``nogil``), so
it runs while the next capture block is decoded.  It is used for flow hashing only, never for
security.  Imported only by the compiled engine (it imports numba).
"""

from __future__ import annotations

import numpy as np
from numba import njit

_M = 0xFFFFFFFF


@njit(cache=True, nogil=True)
def sha1_rows(buf):
    """``(m, 20)`` uint8 SHA-1 digests of the ``m`` rows of the C-contiguous uint8 array ``buf``."""
    m, width = buf.shape
    nblocks = (width + 8) // 64 + 1
    out = np.empty((m, 20), np.uint8)
    block = np.zeros(nblocks * 64, np.uint8)
    w = np.empty(80, np.int64)
    bits = np.int64(width) * 8
    for r in range(m):
        block[:] = 0
        block[:width] = buf[r]
        block[width] = 0x80
        for k in range(8):
            block[nblocks * 64 - 1 - k] = (bits >> (8 * k)) & 0xFF
        h0, h1, h2, h3, h4 = 0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0
        for blk in range(nblocks):
            for t in range(16):
                o = blk * 64 + 4 * t
                w[t] = ((np.int64(block[o]) << 24) | (np.int64(block[o + 1]) << 16)
                        | (np.int64(block[o + 2]) << 8) | np.int64(block[o + 3]))
            for t in range(16, 80):
                x = w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16]
                w[t] = ((x << 1) | (x >> 31)) & _M
            a, b, c, d, e = h0, h1, h2, h3, h4
            for t in range(80):
                if t < 20:
                    f = (b & c) | ((~b) & d)
                    k = 0x5A827999
                elif t < 40:
                    f = b ^ c ^ d
                    k = 0x6ED9EBA1
                elif t < 60:
                    f = (b & c) | (b & d) | (c & d)
                    k = 0x8F1BBCDC
                else:
                    f = b ^ c ^ d
                    k = 0xCA62C1D6
                tmp = ((((a << 5) | (a >> 27)) & _M) + (f & _M) + e + k + w[t]) & _M
                e = d
                d = c
                c = ((b << 30) | (b >> 2)) & _M
                b = a
                a = tmp
            h0 = (h0 + a) & _M
            h1 = (h1 + b) & _M
            h2 = (h2 + c) & _M
            h3 = (h3 + d) & _M
            h4 = (h4 + e) & _M
        for j, h in enumerate((h0, h1, h2, h3, h4)):
            out[r, 4 * j] = (h >> 24) & 0xFF
            out[r, 4 * j + 1] = (h >> 16) & 0xFF
            out[r, 4 * j + 2] = (h >> 8) & 0xFF
            out[r, 4 * j + 3] = h & 0xFF
    return out
