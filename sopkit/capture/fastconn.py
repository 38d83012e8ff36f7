"""Compiled (numba) port of :mod:`sopkit.capture.conn`: Zeek's per-connection TCP/UDP/ICMP state.

What: the same state machine as :func:`sopkit.capture.conn.tcp_packet` and friends, over numpy
arrays indexed by a connection *slot* instead of :class:`~sopkit.capture.conn.Conn` objects, so
that :mod:`sopkit.capture.fastflows` can run it in a compiled loop.  Every function mirrors the
reference function of the same name; the reference stays the specification (the equivalence
tests compare whole flow tables).  This module holds the layout below, the history and counters,
and the key → slot hash table; :mod:`~sopkit.capture.fasttcp` the TCP endpoint state machine,
:mod:`~sopkit.capture.fasttcpseg` the handling of one TCP segment, and
:mod:`~sopkit.capture.fasttable` the timers, removal, connection creation and the batch entry
points :func:`~sopkit.capture.fasttable.process` / :func:`~sopkit.capture.fasttable.finish`.

Layout (all int64): ``S[slot, field]`` connection fields (``ORD`` … ``XGEN`` below),
``S[slot, F + NPF * role]`` per-role fields (endpoint state, counters; role 0 is the current
originator, so :func:`flip` swaps the two ranges), among them the 128-bit sum of squared
inter-arrival times as (high, low) 64-bit words (Python keeps it as an unbounded int) and up to
``KBLK`` received-data blocks for ``missed_bytes`` (more spill to a typed dict keyed by ``BKEY``);
then the first ``HCAP`` history letters packed 8 to a word (longer histories continue in a typed
dict keyed by the connection's ordinal).  ``G`` holds counters and statistics.  Everything a
connection needs is one row of ``S`` because each array a compiled function receives costs two
atomic reference-count updates per call; the hot functions take ``S`` and little else.

Why our own code: see :mod:`sopkit.capture.conn`; numba is used because the per-packet logic is
branchy scalar code that numpy cannot vectorize.  The entry points called from Python
(:func:`ht_rebuild` here, ``process``/``finish``) release the GIL, so decoding the next batch in
another thread runs meanwhile.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit, types
from numba.typed import Dict

# -- connection fields S[slot, .] ------------------------------------------------------------
(ORD, KPROTO, KAHI, KALO, KAP, KBHI, KBLO, KBP, HASH, PROTO, VER, OHI, OLO, OP, RHI, RLO, RP, START,
 LAST, TMO, HSEEN, HLEN, ACTIVE, SEQNO, PARTIAL, SEEN, MISSED, VLAN, IVLAN, TPLAST, XPARKED, XWHEN,
 XGEN) = range(33)
NSF = 33
HCAP = 32  #: history letters kept inline per slot (packed 8 to a word)
KBLK = 4  #: data blocks kept inline per endpoint
# -- per-role fields S[slot, F + NPF * role] (role 0 = current originator) --------------------------
(ST, PREV, ESTART, ELAST, EACK, FINCNT, FINSEQ, DIDCLOSE, HSYN, HFIN, HRST, RXMT, RXMT_TH, WIN0,
 WIN0_TH, CHK, CHK_TH, GAP, GAP_TH, TRIM, NBLK, BKEY, BOVF, PKTS, IPB, ULEN, IATN, IATSUM, LASTDIR,
 SZMIN, SZMAX, SZSUM, QHI, QLO) = range(NSF, NSF + 34)
BLK = NSF + 34  #: KBLK (start, end) pairs
NPF = 34 + 2 * KBLK
HB = NSF + 2 * NPF  #: history words
NCOL = HB + HCAP // 8
# -- globals G[.] --------------------------------------------------------------------------------
(G_NCONN, G_TICK, G_NFREE, G_NOUT, G_NHEAP, G_NTEV, G_NLIVE, G_PACKETS, G_BADCK, G_BADIP, G_NOCONN,
 G_TUNOUT, G_REUSE, G_MAXTS) = range(14)
NG = 14
# -- options OPT[.] ------------------------------------------------------------------------------
OPT_TCP, OPT_UDP, OPT_ICMP, OPT_DNS, OPT_DNS_EXP, OPT_IGNORE, OPT_PARTIAL = range(7)
# -- output row fields OUT[row, .] -----------------------------------------------------------------
(R_ORD, R_START, R_LAST, R_PROTO, R_VER, R_OHI, R_OLO, R_OP, R_RHI, R_RLO, R_RP, R_OB, R_RB, R_STATE,
 R_MISSED, R_HLEN, R_VLAN, R_IVLAN) = range(18)
R_DIR = 18  #: then per role: PKTS, IPB, IATN, IATSUM, SZMIN, SZMAX, SZSUM, QHI, QLO (9 each)
R_HIST = R_DIR + 18  #: then the inline history words
NRF = R_HIST + HCAP // 8
#: conn_state codes (index into this list)
STATES = ["OTH", "SF", "S0", "SHR", "REJ", "RSTRH", "RSTR", "RSTOS0", "RSTO", "SH", "S2", "S3", "S1"]
(CS_OTH, CS_SF, CS_S0, CS_SHR, CS_REJ, CS_RSTRH, CS_RSTR, CS_RSTOS0, CS_RSTO, CS_SH, CS_S2, CS_S3,
 CS_S1) = range(13)


INACTIVE, SYN_SENT, SYN_ACK_SENT, PARTIAL_ST, ESTABLISHED, CLOSED, RESET = range(7)
FIN, SYN, RST, ACK = 0x01, 0x02, 0x04, 0x10
TOO_LARGE = 1048576
M32 = 0xFFFFFFFF
H_SYN, H_FIN, H_RST, H_FIN_RST, H_DATA, H_ACK, H_MULTI, H_CORRUPT = (1 << i for i in range(8))
ACT_ATTEMPT, ACT_DELETE, ACT_EXPIRE = 1, 2, 4

#: All mutable engine state; see the module docstring.  ``HOVF``/``BOVFD`` are numba typed dicts.
State = namedtuple("State", "S HT FREE TH OUT TEV G HOVF BOVFD")
SIGN = -0x8000000000000000
# -- packets: batch flags, lookup table rows (see fastflows) ----------------------------------------
F_BAD_CHECKSUM, F_BAD_IP_CHECKSUM, F_NO_CONN = 0x01, 0x02, 0x04
T_LIKELY_TCP, T_LIKELY_UDP, T_DNS, T_ICMP4, T_ICMP6 = range(5)


# -- history ---------------------------------------------------------------------------------------
@njit(cache=True)
def hist_add(S, HOVF, s, ch):
    """Append letter ``ch`` (a byte) to the history of slot ``s``."""
    n = S[s, HLEN]
    if n < HCAP:
        S[s, HB + (n >> 3)] |= ch << ((n & 7) * 8)
    else:
        o = S[s, ORD]
        if n == HCAP:
            buf = np.empty(2 * HCAP, np.uint8)
            for i in range(HCAP):
                buf[i] = (S[s, HB + (i >> 3)] >> ((i & 7) * 8)) & 0xFF
            HOVF[o] = buf
        buf = HOVF[o]
        if n >= len(buf):
            big = np.empty(2 * len(buf), np.uint8)
            big[: len(buf)] = buf
            HOVF[o] = big
            buf = big
        buf[n] = ch
    S[s, HLEN] = n + 1


@njit(cache=True)
def hist_at(S, HOVF, s, i):
    if S[s, HLEN] <= HCAP:
        return (S[s, HB + (i >> 3)] >> ((i & 7) * 8)) & 0xFF
    return np.int64(HOVF[S[s, ORD]][i])


@njit(cache=True)
def add_history(S, HOVF, s, code, is_orig):
    hist_add(S, HOVF, s, code if is_orig else code + 32)


@njit(cache=True)
def check_history(S, HOVF, s, mask, code, is_orig):
    """Zeek's CheckHistory: add ``code`` the first time ``mask`` is seen; was it seen before?"""
    if not is_orig:
        mask <<= 16
        code += 32
    if S[s, HSEEN] & mask:
        return True
    S[s, HSEEN] |= mask
    hist_add(S, HOVF, s, code)
    return False


@njit(cache=True)
def scaled(S, HOVF, s, e, code, cnt, th):
    """Zeek's ScaledHistoryEntry on role ``e``: log at the 1st, 10th, 100th … occurrence."""
    n = S[s, cnt + NPF * e] + 1
    S[s, cnt + NPF * e] = n
    if n == S[s, th + NPF * e]:
        add_history(S, HOVF, s, code, e == 0)
        S[s, th + NPF * e] *= 10


@njit(cache=True)
def flip(S, HOVF, s):
    """Zeek's FlipRoles: swap originator and responder, append ``^``."""
    for a, b in ((OHI, RHI), (OLO, RLO), (OP, RP)):
        S[s, a], S[s, b] = S[s, b], S[s, a]
    for f in range(NSF, NSF + NPF):
        S[s, f], S[s, f + NPF] = S[s, f + NPF], S[s, f]
    seen = S[s, SEEN]
    S[s, SEEN] = ((seen & 1) << 1) | ((seen & 2) >> 1)
    S[s, PARTIAL] = 0
    hist_add(S, HOVF, s, 94)  # '^'


@njit(cache=True)
def count(S, s, d, ts, ip_len):
    """Per-role packet/byte counters and inter-arrival/size statistics (Conn.count)."""
    n = S[s, PKTS + NPF * d]
    if n:
        iat = ts - S[s, LASTDIR + NPF * d]
        S[s, IATN + NPF * d] += 1
        S[s, IATSUM + NPF * d] += iat
        u = np.uint64(-iat if iat < 0 else iat)
        hi32 = u >> np.uint64(32)
        lo32 = u & np.uint64(M32)
        lo = lo32 * lo32
        mid = np.uint64(2) * hi32 * lo32
        hi = hi32 * hi32 + (mid >> np.uint64(32))
        add = (mid & np.uint64(M32)) << np.uint64(32)
        lo2 = lo + add
        if lo2 < lo:
            hi += np.uint64(1)
        old = np.uint64(S[s, QLO + NPF * d])
        new = old + lo2
        S[s, QLO + NPF * d] = np.int64(new)
        qhi = np.uint64(S[s, QHI + NPF * d]) + hi + (np.uint64(1) if new < old else np.uint64(0))
        S[s, QHI + NPF * d] = np.int64(qhi)
        if ip_len < S[s, SZMIN + NPF * d]:
            S[s, SZMIN + NPF * d] = ip_len
        if ip_len > S[s, SZMAX + NPF * d]:
            S[s, SZMAX + NPF * d] = ip_len
    else:
        S[s, SZMIN + NPF * d] = ip_len
        S[s, SZMAX + NPF * d] = ip_len
    S[s, LASTDIR + NPF * d] = ts
    S[s, PKTS + NPF * d] = n + 1
    S[s, IPB + NPF * d] += ip_len
    S[s, SZSUM + NPF * d] += ip_len


# -- key → slot hash table (open addressing, linear probing, backward-shift deletion) -----------------
@njit(cache=True)
def key_hash(kp, ahi, alo, ap, bhi, blo, bp):
    h = kp * 0x1E3779B97F4A7C15
    for v in (ahi, alo, ap, bhi, blo, bp):
        h = (h ^ v) * 0x100000001B3
        h ^= (h >> 29) & 0x7FFFFFFFF
    return h ^ ((h >> 32) & M32)


@njit(cache=True)
def ht_find(S, HT, h, kp, ahi, alo, ap, bhi, blo, bp):
    """Slot holding this key, or -1."""
    mask = len(HT) - 1
    i = h & mask
    while True:
        v = HT[i]
        if v == 0:
            return -1
        s = v - 1
        if (S[s, HASH] == h and S[s, KAHI] == ahi and S[s, KALO] == alo and S[s, KAP] == ap
                and S[s, KBHI] == bhi and S[s, KBLO] == blo and S[s, KBP] == bp and S[s, KPROTO] == kp):
            return s
        i = (i + 1) & mask


@njit(cache=True)
def ht_insert(HT, h, s):
    mask = len(HT) - 1
    i = h & mask
    while HT[i] != 0:
        i = (i + 1) & mask
    HT[i] = s + 1


@njit(cache=True)
def ht_delete(S, HT, s):
    mask = len(HT) - 1
    i = S[s, HASH] & mask
    while HT[i] != s + 1:
        i = (i + 1) & mask
    j = i
    while True:
        j = (j + 1) & mask
        v = HT[j]
        if v == 0:
            break
        k = S[v - 1, HASH] & mask
        if (j > i and (k <= i or k > j)) or (j < i and k <= i and k > j):
            HT[i] = v
            i = j
    HT[i] = 0


@njit(cache=True, nogil=True)
def ht_rebuild(S, HT):
    """Re-insert every live slot into an empty table ``HT`` (after growing)."""
    HT[:] = 0
    for s in range(S.shape[0]):
        if S[s, ORD]:
            ht_insert(HT, S[s, HASH], s)


_U8S = types.uint8[::1]
_I64S = types.int64[::1]


@njit(cache=True)
def new_dicts():
    """The spill dicts of a fresh :data:`State` (``HOVF``, ``BOVFD``).  Made in compiled code
    because ``Dict.empty`` called from Python compiles the typed-dict code anew in every process
    (about 0.2 s), while this function's compiled form is cached."""
    return Dict.empty(types.int64, _U8S), Dict.empty(types.int64, _I64S)


@njit(cache=True)
def hist_pop(HOVF, o, n):
    """Remove and return the first ``n`` spilled history letters of connection ordinal ``o``."""
    return HOVF.pop(o)[:n].copy()
