"""Connection uids: :func:`flow_uid` (one connection) and :func:`flow_uid_words` /
:func:`uid_chars` (many at once, numpy), giving identical strings.

What: a uid is ``"C"`` followed by 17 base-62 digits, like Zeek's.  It is a deterministic hash of
the table's seed, the connection's ordinal (1, 2, … in creation order; 0 for a tunnel seen only
as an encapsulation), its start time in ns and its canonical key (protocol, IP version, the
lower (address, port) endpoint, the higher one).  Two 64-bit lanes of the splitmix64 finalizer
are chained over those integers; the first lane gives 10 digits (modulo 62**10), the second 7
(modulo 62**7), about 101 bits in all.  Fixed width and an alphabet in ASCII order make the
string order equal the numeric order of ``(word1 % 62**10, word2 % 62**7)``, which the compiled
engine uses to sort without building strings first.

Why our own code: both flow engines must produce the same uid, one connection at a time in
Python (:class:`sopkit.capture.flows.FlowTable`) and hundreds of thousands at once in numpy
(:mod:`sopkit.capture.fastrows`); a cryptographic hash per row (hashlib) cannot be vectorized,
and uids need only be unique and reproducible, not secret.
"""

from __future__ import annotations

import numpy as np

M64 = 0xFFFF_FFFF_FFFF_FFFF
_C1, _C2 = 0xBF58476D1CE4E5B9, 0x94D049BB133111EB
_LANES = (0x9E3779B97F4A7C15, 0xD1B54A32D192ED03)  # initial states of the two lanes
D1, D2 = 10, 7  #: base-62 digits taken from lane 1 and lane 2
MOD1, MOD2 = 62**D1, 62**D2
ALPHABET = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
WIDTH = 1 + D1 + D2  #: characters of a uid
_CHARS = ALPHABET.decode("ascii")


def _mix(x: int) -> int:
    x = ((x ^ (x >> 30)) * _C1) & M64
    x = ((x ^ (x >> 27)) * _C2) & M64
    return x ^ (x >> 31)


def _digits(v: int, n: int) -> str:
    out = ""
    for _ in range(n):
        v, r = divmod(v, 62)
        out = _CHARS[r] + out
    return out


def flow_uid(seed: int, ordinal: int, start_ns: int, proto: int, a: tuple[bytes, int],
             b: tuple[bytes, int]) -> str:
    """The uid of one connection; ``a``/``b`` are its key's (packed address, port) endpoints in
    either order (the lower one is hashed first, as :func:`flow_uid_words` expects)."""
    if b < a:
        a, b = b, a
    ver = 4 if len(a[0]) == 4 else 6
    av, bv = int.from_bytes(a[0], "big"), int.from_bytes(b[0], "big")
    fields = (ordinal & M64, start_ns & M64, proto | (ver << 8), av >> 64, av & M64, a[1] | (b[1] << 16), bv >> 64,
              bv & M64)
    words = []
    for lane in _LANES:
        h = _mix((seed & M64) ^ lane)
        for f in fields:  # _mix(h ^ f), inlined: this runs for every connection of FlowTable
            x = h ^ f
            x = ((x ^ (x >> 30)) * _C1) & M64
            x = ((x ^ (x >> 27)) * _C2) & M64
            h = x ^ (x >> 31)
        words.append(h)
    return "C" + _digits(words[0] % MOD1, D1) + _digits(words[1] % MOD2, D2)


def _mix_np(x: np.ndarray) -> np.ndarray:
    x = (x ^ (x >> np.uint64(30))) * np.uint64(_C1)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(_C2)
    return x ^ (x >> np.uint64(31))


def flow_uid_words(seed: int, ordinal: np.ndarray, start_ns: np.ndarray, proto: np.ndarray, ver: np.ndarray,
                   ahi: np.ndarray, alo: np.ndarray, ap: np.ndarray, bhi: np.ndarray, blo: np.ndarray,
                   bp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(word1 % 62**10, word2 % 62**7)`` per connection (uint64 arrays) — the two numbers whose
    digits :func:`uid_chars` writes.  Endpoint ``a`` must be the lower (address, port) pair;
    addresses are 64-bit halves (any integer dtype, bit patterns are used)."""
    u = np.uint64

    def bits(x: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(x)
        return x.view(u) if x.dtype.itemsize == 8 else x.astype(np.int64).view(u)

    fields = (bits(ordinal), bits(start_ns), bits(proto) | (bits(ver) << u(8)), bits(ahi), bits(alo),
              bits(ap) | (bits(bp) << u(16)), bits(bhi), bits(blo))
    words = []
    for lane in _LANES:
        h = np.full(len(fields[0]), _mix((seed & M64) ^ lane), u)
        for f in fields:
            h = _mix_np(h ^ f)
        words.append(h)
    return words[0] % u(MOD1), words[1] % u(MOD2)


def uid_chars(w1: np.ndarray, w2: np.ndarray) -> np.ndarray:
    """The uids of :func:`flow_uid_words`' numbers as an ``(n, WIDTH)`` uint8 array of ASCII."""
    n = len(w1)
    out = np.empty((n, WIDTH), np.uint8)
    out[:, 0] = ord("C")
    alpha = np.frombuffer(ALPHABET, np.uint8)
    for v, first, count in ((w1.copy(), 1, D1), (w2.copy(), 1 + D1, D2)):
        for pos in range(first + count - 1, first - 1, -1):
            q = v // np.uint64(62)
            out[:, pos] = alpha[v - q * np.uint64(62)]
            v = q
    return out
