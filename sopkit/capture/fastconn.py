"""Compiled (numba) port of :mod:`sopkit.capture.conn`: Zeek's per-connection TCP/UDP/ICMP state.

What: the same state machine as :func:`sopkit.capture.conn.tcp_packet` and friends, over numpy
arrays indexed by a connection *slot* instead of :class:`~sopkit.capture.conn.Conn` objects, so
that :mod:`sopkit.capture.fastflows` can run it in a compiled loop.  Every function mirrors the
reference function of the same name; the reference stays the specification (the equivalence
tests compare whole flow tables).

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
branchy scalar code that numpy cannot vectorize.  The entry points (:func:`process`, :func:`finish`,
:func:`ht_rebuild`) release the GIL, so decoding the next batch in another thread runs meanwhile.
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


# -- TCP -------------------------------------------------------------------------------------------
@njit(cache=True)
def seq_delta(a, b):
    d = (a - b) & M32
    return d - 0x100000000 if d & 0x80000000 else d


@njit(cache=True)
def unwrap(seq32, near):
    return near + seq_delta(seq32, near & M32)


@njit(cache=True)
def ep_size(S, s, e):
    """Endpoint.size: payload bytes of role ``e`` from its sequence numbers."""
    if S[s, PREV + NPF * e] == SYN_SENT and S[s, ST + NPF * e] == RESET and S[s, ST + NPF * (1 - e)] == INACTIVE:
        if S[s, EACK + NPF * e] - S[s, ESTART + NPF * e] > 1:
            return 0
    size = max(S[s, ELAST + NPF * e], S[s, EACK + NPF * e]) - S[s, ESTART + NPF * e]
    if size <= 0:
        return 0
    size -= 1
    if S[s, FINCNT + NPF * e] and size:
        size -= 1
    return size


@njit(cache=True)
def set_state(S, s, e, new, tcp_tmo):
    old = S[s, ST + NPF * e]
    if new != old:
        if new > SYN_ACK_SENT and old <= SYN_ACK_SENT and S[s, ST + NPF * (1 - e)] <= SYN_ACK_SENT:
            S[s, TMO] = tcp_tmo
        S[s, PREV + NPF * e] = old
        S[s, ST + NPF * e] = new


@njit(cache=True)
def conn_state(S, HOVF, s):
    """Zeek's conn_state code (index into :data:`STATES`)."""
    if S[s, PROTO] != 6:
        if S[s, PROTO] == 17:
            o, r = S[s, ULEN] >= 0, S[s, ULEN + NPF] >= 0
            if o:
                return CS_SF if r else CS_S0
            return CS_SHR if r else CS_OTH
        return CS_OTH
    os_, rs = S[s, ST], S[s, ST + NPF]
    o_in = os_ == INACTIVE or os_ == PARTIAL_ST
    r_in = rs == INACTIVE or rs == PARTIAL_ST
    if rs == RESET:
        if os_ == SYN_SENT or os_ == SYN_ACK_SENT or (
                os_ == RESET and ep_size(S, s, 0) == 0 and ep_size(S, s, 1) == 0):
            return CS_REJ
        return CS_RSTRH if o_in else CS_RSTR
    if os_ == RESET:
        if r_in:
            n = S[s, HLEN]
            i = 1 if n and hist_at(S, HOVF, s, 0) == 94 else 0
            if i < n and hist_at(S, HOVF, s, i) == 83:  # 'S'
                i += 1
                while i < n:
                    c = hist_at(S, HOVF, s, i)
                    if c in (72, 65, 70, 71, 73, 81, 82):  # H A F G I Q R
                        break
                    i += 1
                if i < n and hist_at(S, HOVF, s, i) == 82:
                    return CS_RSTOS0
            return CS_OTH
        return CS_RSTO
    if rs == CLOSED and os_ == CLOSED:
        return CS_SF
    if os_ == CLOSED:
        return CS_SH if r_in else CS_S2
    if rs == CLOSED:
        return CS_SHR if o_in else CS_S3
    if os_ == SYN_SENT and rs == INACTIVE:
        return CS_S0
    if os_ == ESTABLISHED and rs == ESTABLISHED:
        return CS_S1
    return CS_OTH


@njit(cache=True)
def init_endpoint(S, s, e, flags, seq, last):
    st = S[s, ST + NPF * e]
    if st == INACTIVE:
        if flags & SYN:
            S[s, ESTART + NPF * e] = seq
            S[s, EACK + NPF * e] = seq
        else:
            S[s, ESTART + NPF * e] = seq - 1
            S[s, EACK + NPF * e] = seq - 1
            last = seq
        S[s, ELAST + NPF * e] = last
    elif flags & SYN and (
        ((st == SYN_SENT or st == SYN_ACK_SENT) and seq != S[s, ESTART + NPF * e] & M32)
        or st == ESTABLISHED or st == PARTIAL_ST
        or (st == RESET and S[s, PREV + NPF * e] == INACTIVE)
    ):
        S[s, ESTART + NPF * e] = seq
        S[s, EACK + NPF * e] = seq
        S[s, ELAST + NPF * e] = last


@njit(cache=True)
def update_history(S, HOVF, s, e, flags, rel_seq, plen):
    o = e == 0
    bits = (flags & SYN) // SYN + (flags & FIN) + (flags & RST) // RST
    if bits > 1:
        if flags & FIN and flags & RST:
            check_history(S, HOVF, s, H_FIN_RST, 73, o)  # I
        else:
            check_history(S, HOVF, s, H_MULTI, 81, o)  # Q
    elif bits == 1:
        if flags & SYN:
            code = 72 if flags & ACK else 83  # H / S
            if check_history(S, HOVF, s, H_SYN, code, o) and rel_seq != S[s, HSYN + NPF * e]:
                add_history(S, HOVF, s, code, o)
            S[s, HSYN + NPF * e] = rel_seq
        elif flags & FIN:
            if check_history(S, HOVF, s, H_FIN, 70, o) and rel_seq + plen != S[s, HFIN + NPF * e]:
                add_history(S, HOVF, s, 70, o)
            S[s, HFIN + NPF * e] = rel_seq + plen
        else:
            if check_history(S, HOVF, s, H_RST, 82, o) and rel_seq != S[s, HRST + NPF * e]:
                add_history(S, HOVF, s, 82, o)
            S[s, HRST + NPF * e] = rel_seq
    elif plen:
        check_history(S, HOVF, s, H_DATA, 68, o)  # D
    elif flags & ACK:
        check_history(S, HOVF, s, H_ACK, 65, o)  # A


@njit(cache=True)
def inactive(S, HOVF, s, e, seq, plen, flags, tmo):
    """conn._inactive; returns (do_close, gen, act, e) with ``e`` updated when roles flipped."""
    do_close = gen = False
    act = 0
    is_orig = e == 0
    if flags & SYN:
        if is_orig:
            set_state(S, s, e, SYN_ACK_SENT if flags & ACK else SYN_SENT, tmo)
            act |= ACT_ATTEMPT
        else:
            if not flags & ACK and S[s, ST + NPF * (1 - e)] == SYN_ACK_SENT and seq == S[s, ESTART + NPF * e] & M32:
                flip(S, HOVF, s)
                e = 1 - e
                set_state(S, s, 1 - e, ESTABLISHED, tmo)
                S[s, SEEN] |= 1
            if S[s, ST + NPF * (1 - e)] == SYN_SENT:
                set_state(S, s, 1 - e, ESTABLISHED, tmo)
            set_state(S, s, e, ESTABLISHED, tmo)
    if flags & FIN:
        set_state(S, s, e, CLOSED, tmo)
        do_close = gen = True
    if flags & RST:
        set_state(S, s, e, RESET, tmo)
        if e == 0:
            reject = S[s, ST + NPF * (1 - e)] == ESTABLISHED
        else:
            reject = S[s, ST + NPF * (1 - e)] == SYN_SENT or S[s, ST + NPF * (1 - e)] == SYN_ACK_SENT
        do_close = True
        gen = not reject
    if S[s, ST + NPF * e] == INACTIVE:
        if e != 0 and plen == 0 and S[s, ST] == SYN_SENT:
            pass
        elif flags & ACK and S[s, ST + NPF * (1 - e)] == ESTABLISHED:
            set_state(S, s, e, ESTABLISHED, tmo)
            S[s, PARTIAL] = 0
            S[s, SEEN] |= 1 if e == 0 else 2
        else:
            set_state(S, s, e, PARTIAL_ST, tmo)
    return do_close, gen, act, e


@njit(cache=True)
def state_machine(S, HOVF, s, e, seq, plen, flags, tmo):
    p = 1 - e
    cur = S[s, ST + NPF * e]
    if cur == INACTIVE:
        return inactive(S, HOVF, s, e, seq, plen, flags, tmo)
    do_close = gen = False
    if cur == SYN_SENT or cur == SYN_ACK_SENT:
        if flags & FIN:
            set_state(S, s, e, CLOSED, tmo)
            do_close = gen = True
        if flags & RST:
            set_state(S, s, e, RESET, tmo)
            S[s, ACTIVE] = 0
            do_close = True
    elif cur == ESTABLISHED or cur == PARTIAL_ST:
        if flags & SYN and cur == PARTIAL_ST and S[s, ST + NPF * p] == INACTIVE and not flags & ACK:
            set_state(S, s, e, SYN_SENT, tmo)
        if flags & FIN and not flags & RST:
            set_state(S, s, e, CLOSED, tmo)
            if S[s, ST + NPF * p] == RESET and S[s, PREV + NPF * p] == CLOSED:
                set_state(S, s, p, CLOSED, tmo)
            do_close = gen = True
        if flags & RST:
            set_state(S, s, e, RESET, tmo)
            do_close = True
            if S[s, ST + NPF * p] != RESET or S[s, PREV + NPF * p] != ESTABLISHED:
                S[s, ACTIVE] = 0
    elif cur == CLOSED:
        if flags & RST and S[s, ST + NPF * p] != CLOSED:
            set_state(S, s, e, RESET, tmo)
            if not S[s, DIDCLOSE + NPF * e]:
                do_close = True
    return do_close, gen, 0, e


# -- received-data blocks (missed_bytes) -------------------------------------------------------------
@njit(cache=True)
def blocks(S, BOVFD, s, e):
    """Role ``e``'s block buffer as (array, offset, capacity): pair k is [off + 2k, off + 2k + 1]."""
    if S[s, BOVF + NPF * e]:
        b = BOVFD[S[s, BKEY + NPF * e]]
        return b, np.int64(0), np.int64(len(b) // 2)
    return S[s], np.int64(BLK + NPF * e), np.int64(KBLK)


@njit(cache=True)
def data_sent(S, BOVFD, s, e, rel, plen):
    """conn._data_sent: record [rel, rel+plen) as received, merging touching blocks."""
    end = rel + plen
    if end <= S[s, TRIM + NPF * e]:
        return
    n = S[s, NBLK + NPF * e]
    b, o, cap = blocks(S, BOVFD, s, e)
    if n and rel == b[o + 2 * n - 1]:
        b[o + 2 * n - 1] = end
        return
    if n == cap:  # grow: spill to (a bigger) dict array
        big = np.empty(4 * cap, np.int64)
        big[: 2 * n] = b[o: o + 2 * n]
        BOVFD[S[s, BKEY + NPF * e]] = big
        S[s, BOVF + NPF * e] = 1
        b, o = big, 0
    if not n or rel > b[o + 2 * n - 1]:
        b[o + 2 * n] = rel
        b[o + 2 * n + 1] = end
        S[s, NBLK + NPF * e] = n + 1
        return
    # general case: union of [rel, end) with the sorted, disjoint, non-touching blocks
    i = 0
    while i < n and b[o + 2 * i + 1] < rel:
        i += 1
    j = i
    lo, hi = rel, end
    while j < n and b[o + 2 * j] <= end:
        lo = min(lo, b[o + 2 * j])
        hi = max(hi, b[o + 2 * j + 1])
        j += 1
    removed = j - i
    if removed == 0:
        for k in range(2 * n + 1, 2 * i + 1, -1):
            b[o + k] = b[o + k - 2]
        n += 1
    else:
        for k in range(2 * j, 2 * n):
            b[o + k - 2 * removed + 2] = b[o + k]
        n -= removed - 1
    b[o + 2 * i] = lo
    b[o + 2 * i + 1] = hi
    S[s, NBLK + NPF * e] = n


@njit(cache=True)
def clean(S, s, e):
    return S[s, ST + NPF * e] == ESTABLISHED or (S[s, ST + NPF * e] == CLOSED and S[s, PREV + NPF * e] == ESTABLISHED)


@njit(cache=True)
def ack_received(S, HOVF, BOVFD, s, e, rel_ack, report_partial):
    """conn._ack_received for role ``e``: bytes never seen below ``rel_ack`` are a content gap."""
    if S[s, FINCNT + NPF * e] and rel_ack >= S[s, FINSEQ + NPF * e]:
        rel_ack = S[s, FINSEQ + NPF * e] - 1
    if rel_ack <= S[s, TRIM + NPF * e]:
        return
    missing = 0
    pos = S[s, TRIM + NPF * e]
    n = S[s, NBLK + NPF * e]
    keep = 0
    if n:
        b, o, _ = blocks(S, BOVFD, s, e)
        for k in range(n):
            bs, be = b[o + 2 * k], b[o + 2 * k + 1]
            if be <= rel_ack:
                if bs > pos:
                    missing += bs - pos
                pos = max(pos, be)
            else:
                if bs < rel_ack:
                    if bs > pos:
                        missing += bs - pos
                    pos = rel_ack
                b[o + 2 * keep] = bs
                b[o + 2 * keep + 1] = be
                keep += 1
    if pos < rel_ack:
        missing += rel_ack - pos
    S[s, NBLK + NPF * e] = keep
    S[s, TRIM + NPF * e] = rel_ack
    if missing > 0 and not (rel_ack <= 2 and S[s, PARTIAL]):
        cl = clean(S, s, 0) and clean(S, s, 1)
        if cl or report_partial:
            S[s, MISSED] += missing
        if cl:
            scaled(S, HOVF, s, e, 71, GAP, GAP_TH)  # G


@njit(cache=True)
def connection_closed(S, s, e, gen):
    p = 1 - e
    if S[s, DIDCLOSE + NPF * e]:
        return 0
    S[s, DIDCLOSE + NPF * e] = 1
    if S[s, ST + NPF * e] == RESET or S[s, DIDCLOSE + NPF * p] or S[s, ST + NPF * p] == INACTIVE:
        if gen and (S[s, PREV + NPF * e] != INACTIVE or S[s, ST + NPF * p] != INACTIVE):
            S[s, ACTIVE] = 0
        return ACT_DELETE
    if S[s, PREV + NPF * e] != INACTIVE:
        return ACT_EXPIRE
    return 0


@njit(cache=True)
def tcp_packet(S, HOVF, BOVFD, s, is_orig, ts, flags, seq, ack, plen, captured, window, ip_len, tmo, report_partial):
    """conn.tcp_packet: apply one TCP segment to slot ``s``; returns the ACT_* timer bits."""
    d = 0 if is_orig else 1
    e = d
    if is_orig:
        if not S[s, SEEN] & 1:
            S[s, PARTIAL] = 1 if (not flags & SYN or flags & ACK) else 0
    elif not S[s, SEEN] & 2 and not S[s, PARTIAL]:
        S[s, PARTIAL] = 0 if flags & SYN else 1
    seg_len = plen + (1 if flags & SYN else 0) + (1 if flags & FIN else 0)
    if flags & RST:
        seg_len -= plen
    init_endpoint(S, s, e, flags, seq, seq + seg_len)
    rel_seq = unwrap(seq, S[s, ELAST + NPF * e]) - S[s, ESTART + NPF * e]
    underflow = rel_seq < 0
    update_history(S, HOVF, s, e, flags, rel_seq, plen)
    p = 1 - e
    if window == 0 and not flags & RST and S[s, ST + NPF * p] != CLOSED and S[s, ST + NPF * e] != RESET:
        scaled(S, HOVF, s, e, 87, WIN0, WIN0_TH)  # W
    if not (S[s, DIDCLOSE + NPF * e] and S[s, DIDCLOSE + NPF * p]):
        S[s, LAST] = ts
    if flags & FIN:
        S[s, FINCNT + NPF * e] += 1
        S[s, FINSEQ + NPF * e] = rel_seq + seg_len
    rel_ack = 0
    if flags & ACK:
        if S[s, ST + NPF * p] == INACTIVE:
            rel_ack = 1
            S[s, ESTART + NPF * p] = ack - 1
            S[s, EACK + NPF * p] = ack - 1
            S[s, ELAST + NPF * p] = ack - 1
        else:
            a = unwrap(ack, S[s, EACK + NPF * p])
            rel_ack = a - S[s, ESTART + NPF * p]
            if rel_ack < 0:
                rel_ack = 0
            elif not flags & RST:
                delta = a - S[s, EACK + NPF * p]
                if not (ack == 0 and delta > TOO_LARGE) and delta > 0:
                    S[s, EACK + NPF * p] = a
    last = S[s, ELAST + NPF * e]
    new_last = unwrap((seq + seg_len) & M32, last)
    delta_last = new_last - last
    if flags & (SYN | RST) and not -TOO_LARGE <= delta_last <= TOO_LARGE:
        pass
    elif flags & FIN and last == S[s, ESTART + NPF * e] + 1:
        S[s, ELAST + NPF * e] = new_last
    elif S[s, ST + NPF * e] == RESET:
        pass
    elif delta_last > 0:
        S[s, ELAST + NPF * e] = new_last
    elif plen > 0:
        scaled(S, HOVF, s, e, 84, RXMT, RXMT_TH)  # T
    do_close, gen, act, e = state_machine(S, HOVF, s, e, seq, plen, flags, tmo)
    p = 1 - e
    if flags & ACK:
        ack_received(S, HOVF, BOVFD, s, p, rel_ack, report_partial)
    if plen > 0 and not flags & RST and not underflow and captured >= plen:
        data_sent(S, BOVFD, s, e, rel_seq + 1 if flags & SYN else rel_seq, plen)
    S[s, SEEN] |= 1 if e == 0 else 2
    if do_close:
        act |= connection_closed(S, s, e, gen)
    count(S, s, d, ts, ip_len)
    return act


@njit(cache=True)
def is_reuse(S, s, flags, seq):
    """Zeek's IsReuse: does this SYN start a new connection on a known 5-tuple?"""
    conn_orig = 0
    if flags & ACK:
        if S[s, ST] != INACTIVE:
            return False
        conn_orig = 1
    if not (S[s, DIDCLOSE] or S[s, DIDCLOSE + NPF]):
        if seq == S[s, ESTART + NPF * conn_orig] & M32:
            return False
        if (not flags & ACK and S[s, ST + NPF * conn_orig] == SYN_ACK_SENT and S[s, ST + NPF] == INACTIVE
                and seq == S[s, ESTART + NPF] & M32):
            return False
    return True


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


# -- timers (binary heap of rows: when, tick, kind, slot, ordinal, seq_no) ------------------------
@njit(cache=True)
def timer(st, when, kind, s):
    timer_gen(st, when, kind, s, st.S[s, SEQNO])


@njit(cache=True)
def timer_gen(st, when, kind, s, gen):
    TH, G = st.TH, st.G
    G[G_TICK] += 1
    i = G[G_NHEAP]
    G[G_NHEAP] = i + 1
    tick = G[G_TICK]
    while i > 0:
        par = (i - 1) >> 1
        if TH[par, 0] < when or (TH[par, 0] == when and TH[par, 1] < tick):
            break
        for k in range(6):
            TH[i, k] = TH[par, k]
        i = par
    TH[i, 0] = when
    TH[i, 1] = tick
    TH[i, 2] = kind
    TH[i, 3] = s
    TH[i, 4] = st.S[s, ORD]
    TH[i, 5] = gen


@njit(cache=True)
def timer_pop(st):
    """Remove the earliest timer; returns its (when, kind, slot, ordinal, seq_no)."""
    TH, G = st.TH, st.G
    when, kind, s, o, gen = TH[0, 0], TH[0, 2], TH[0, 3], TH[0, 4], TH[0, 5]
    n = G[G_NHEAP] - 1
    G[G_NHEAP] = n
    if n:
        lw, lt = TH[n, 0], TH[n, 1]
        i = 0
        while True:
            c = 2 * i + 1
            if c >= n:
                break
            if c + 1 < n and (TH[c + 1, 0] < TH[c, 0] or (TH[c + 1, 0] == TH[c, 0] and TH[c + 1, 1] < TH[c, 1])):
                c += 1
            if lw < TH[c, 0] or (lw == TH[c, 0] and lt < TH[c, 1]):
                break
            for k in range(6):
                TH[i, k] = TH[c, k]
            i = c
        for k in range(6):
            TH[i, k] = TH[n, k]
    return when, kind, s, o, gen


# -- removal and output rows ---------------------------------------------------------------------
@njit(cache=True)
def remove(st, s):
    """Emit slot ``s`` as an output row (FlowTable._row's integer parts) and free the slot."""
    S, G = st.S, st.G
    r = G[G_NOUT]
    G[G_NOUT] = r + 1
    out = st.OUT
    out[r, R_ORD] = S[s, ORD]
    out[r, R_START] = S[s, START]
    out[r, R_LAST] = S[s, LAST]
    out[r, R_PROTO] = S[s, PROTO]
    out[r, R_VER] = S[s, VER]
    for k in range(6):
        out[r, R_OHI + k] = S[s, OHI + k]
    if S[s, LAST] - S[s, START] > 0:
        if S[s, PROTO] == 6:
            out[r, R_OB] = ep_size(S, s, 0)
            out[r, R_RB] = ep_size(S, s, 1)
        else:
            out[r, R_OB] = max(S[s, ULEN], 0)
            out[r, R_RB] = max(S[s, ULEN + NPF], 0)
    else:
        out[r, R_OB] = -1
        out[r, R_RB] = -1
    out[r, R_STATE] = conn_state(S, st.HOVF, s)
    out[r, R_MISSED] = S[s, MISSED]
    out[r, R_HLEN] = S[s, HLEN]
    out[r, R_VLAN] = S[s, VLAN]
    out[r, R_IVLAN] = S[s, IVLAN]
    for d in range(2):
        b = R_DIR + 9 * d
        for k, f in enumerate((PKTS, IPB, IATN, IATSUM, SZMIN, SZMAX, SZSUM, QHI, QLO)):
            out[r, b + k] = S[s, f + NPF * d]
        if S[s, BOVF + NPF * d]:
            del st.BOVFD[S[s, BKEY + NPF * d]]
    for k in range(HCAP // 8):
        out[r, R_HIST + k] = S[s, HB + k]
    ht_delete(S, st.HT, s)
    S[s, ORD] = 0
    st.FREE[G[G_NFREE]] = s
    G[G_NFREE] += 1
    G[G_NLIVE] -= 1


@njit(cache=True)
def advance(st, now, opt):
    """FlowTable.advance: fire every timer due at or before ``now``."""
    TH, S, G = st.TH, st.S, st.G
    while G[G_NHEAP] and TH[0, 0] <= now:
        when, kind, s, o, gen = timer_pop(st)
        if S[s, ORD] != o:
            continue  # connection already removed (slot free or reused)
        if kind == 0:
            due = S[s, LAST] + S[s, TMO]
            if due <= when:
                remove(st, s)
            else:
                timer(st, due, 0, s)
        elif kind == 3:
            remove(st, s)
        elif kind == 4:
            if when - S[s, LAST] >= opt[OPT_DNS_EXP]:
                remove(st, s)
            else:
                timer(st, when + opt[OPT_DNS], 4, s)
        elif gen != S[s, SEQNO] or not S[s, ACTIVE]:
            continue
        elif kind == 1:
            if (S[s, ST] == SYN_SENT or S[s, ST] == SYN_ACK_SENT) and S[s, ST + NPF] == INACTIVE:
                S[s, ACTIVE] = 0
                remove(st, s)
        elif kind == 2:
            o_st, r_st = S[s, ST], S[s, ST + NPF]
            oc, rc = S[s, DIDCLOSE], S[s, DIDCLOSE + NPF]
            closing = (oc or rc) and ((oc and rc) or o_st == RESET or r_st == RESET
                                      or o_st == INACTIVE or r_st == INACTIVE)
            idle = o_st == INACTIVE and r_st == INACTIVE
            if not closing and not idle and not S[s, XPARKED]:
                # Neither removal condition can hold before this connection's next packet, so the
                # 6 s chain would only re-arm: park it and resume it at that packet (process()).
                # One parked chain per connection (a second chain keeps re-arming as usual).
                S[s, XPARKED] = 1
                S[s, XWHEN] = when
                S[s, XGEN] = gen
                continue
            # FlowTable compares ``last_ns + LINGER * NS`` as a float (rounded to 256 ns at
            # today's epoch): reproduce that rounding, the sum is always a whole number.
            if (closing or idle) and np.int64(np.float64(S[s, LAST]) + 5e9) < when:
                if closing:
                    S[s, ACTIVE] = 0
                remove(st, s)
                continue
            timer(st, when + 6_000_000_000, 2, s)


# -- packets -----------------------------------------------------------------------------------
SIGN = -0x8000000000000000
F_BAD_CHECKSUM, F_BAD_IP_CHECKSUM, F_NO_CONN = 0x01, 0x02, 0x04
T_LIKELY_TCP, T_LIKELY_UDP, T_DNS, T_ICMP4, T_ICMP6 = range(5)


@njit(cache=True)
def new_conn(st, h, kp, ahi, alo, ap, bhi, blo, bp, proto, ver, shi, slo, sp, dhi, dlo, dp, ts,
             tflags, vlan, ivlan, opt, tab):
    """FlowTable._new_conn: take a free slot, apply Zeek's originator rules, start the timers."""
    S, G = st.S, st.G
    G[G_NFREE] -= 1
    s = st.FREE[G[G_NFREE]]
    G[G_NCONN] += 1
    o = G[G_NCONN]
    S[s] = 0
    S[s, ORD] = o
    S[s, KPROTO], S[s, KAHI], S[s, KALO], S[s, KAP] = kp, ahi, alo, ap
    S[s, KBHI], S[s, KBLO], S[s, KBP], S[s, HASH] = bhi, blo, bp, h
    S[s, PROTO], S[s, VER] = proto, ver
    S[s, OHI], S[s, OLO], S[s, OP], S[s, RHI], S[s, RLO], S[s, RP] = shi, slo, sp, dhi, dlo, dp
    S[s, START] = ts
    S[s, LAST] = ts
    S[s, ACTIVE] = 1
    S[s, VLAN], S[s, IVLAN] = vlan, ivlan
    for d in range(2):
        S[s, ULEN + NPF * d] = -1
        S[s, RXMT_TH + NPF * d] = S[s, WIN0_TH + NPF * d] = S[s, CHK_TH + NPF * d] = S[s, GAP_TH + NPF * d] = 1
        S[s, TRIM + NPF * d] = 1
        S[s, BKEY + NPF * d] = 2 * o + d
    ht_insert(st.HT, h, s)
    G[G_NLIVE] += 1
    do_flip = False
    if proto == 6:
        S[s, TMO] = opt[OPT_UDP]
        if not tflags & SYN or tflags & ACK:
            if tab[T_LIKELY_TCP, sp]:
                do_flip = (not tflags & SYN and sp < dp) if tab[T_LIKELY_TCP, dp] else True
        timer(st, ts + 5_000_000_000, 2, s)
    elif proto == 17:
        S[s, TMO] = opt[OPT_UDP]
        do_flip = tab[T_LIKELY_UDP, sp] != 0 and tab[T_LIKELY_UDP, dp] == 0
        if opt[OPT_DNS] > 0 and tab[T_DNS, sp if do_flip else dp]:
            timer(st, ts + opt[OPT_DNS], 4, s)
    elif proto == 1 or proto == 58:
        S[s, TMO] = opt[OPT_ICMP]
    else:
        S[s, TMO] = opt[OPT_UDP]
    if do_flip and not (ver == 4 and dlo == 0xFFFFFFFF):
        flip(S, st.HOVF, s)
    timer(st, ts + S[s, TMO], 0, s)
    return s


@njit(cache=True, nogil=True)
def process(st, i0, ts_ns, src_hi, src_lo, dst_hi, dst_lo, ip_version, proto, tcp_flags, flags, sport,
            dport, window, ip_len, payload_len, captured_len, seq, ack, vlan, inner_vlan, tunnel, tkeys,
            opt, tab):
    """FlowTable.add over packets ``i0..`` of a batch (addresses as int64 views).

    Returns the index of the first packet not processed: before the end when an output, slot,
    timer or tunnel-event buffer may run out (the caller drains or grows them and calls again).
    """
    S, G, TH = st.S, st.G, st.TH
    ignore = opt[OPT_IGNORE] != 0
    report_partial = opt[OPT_PARTIAL] != 0
    n = len(ts_ns)
    for i in range(i0, n):
        if (G[G_NFREE] < 1 or G[G_NOUT] + G[G_NLIVE] + 2 > len(st.OUT) or G[G_NHEAP] + 8 > len(TH)
                or G[G_NTEV] + 1 > len(st.TEV)):
            return i
        G[G_PACKETS] += 1
        fl = flags[i]
        if fl & F_NO_CONN:
            G[G_NOCONN] += 1
            continue
        ts = ts_ns[i]
        if G[G_NHEAP] and TH[0, 0] <= ts:
            advance(st, ts, opt)
        if ts > G[G_MAXTS]:
            G[G_MAXTS] = ts  # the latest time timers have been fired for
        bad = (fl & F_BAD_CHECKSUM) != 0 and not ignore
        if bad and fl & F_BAD_IP_CHECKSUM:
            G[G_BADIP] += 1
            continue
        pr = np.int64(proto[i])
        sp = np.int64(sport[i])
        dp = np.int64(dport[i])
        if pr == 6 or pr == 17:
            pass
        elif pr == 1 or pr == 58:
            m = tab[T_ICMP4 if pr == 1 else T_ICMP6, sp & 0xFFFF]
            if m >= 0:
                dp = m
        elif pr == 4 or pr == 41 or pr == 47 or pr == 59:
            G[G_TUNOUT] += 1
            continue
        else:
            sp = dp = 0
        ver = np.int64(ip_version[i])
        shi, slo, dhi, dlo = src_hi[i], src_lo[i], dst_hi[i], dst_lo[i]
        a_le_b = (shi ^ SIGN) < (dhi ^ SIGN) or (shi == dhi and (
            (slo ^ SIGN) < (dlo ^ SIGN) or (slo == dlo and sp <= dp)))
        kp = pr | (ver << 8)
        if a_le_b:
            ahi, alo, ap, bhi, blo, bp = shi, slo, sp, dhi, dlo, dp
        else:
            ahi, alo, ap, bhi, blo, bp = dhi, dlo, dp, shi, slo, sp
        h = key_hash(kp, ahi, alo, ap, bhi, blo, bp)
        s = ht_find(S, st.HT, h, kp, ahi, alo, ap, bhi, blo, bp)
        tf = np.int64(tcp_flags[i])
        sq = np.int64(seq[i])
        if s >= 0 and pr == 6 and tf & SYN and is_reuse(S, s, tf, sq):
            G[G_REUSE] += 1
            remove(st, s)
            s = -1
        if s < 0:
            s = new_conn(st, h, kp, ahi, alo, ap, bhi, blo, bp, pr, ver, shi, slo, sp, dhi, dlo, dp, ts,
                         tf, np.int64(vlan[i]), np.int64(inner_vlan[i]), opt, tab)
        is_orig = shi == S[s, OHI] and slo == S[s, OLO] and sp == S[s, OP]
        d = 0 if is_orig else 1
        il = np.int64(ip_len[i])
        pl = np.int64(payload_len[i])
        if pr == 6:
            if bad:
                scaled(S, st.HOVF, s, d, 67, CHK, CHK_TH)  # C
                G[G_BADCK] += 1
            else:
                act = tcp_packet(S, st.HOVF, st.BOVFD, s, is_orig, ts, tf, sq, np.int64(ack[i]), pl, np.int64(captured_len[i]),
                                 np.int64(window[i]), il, opt[OPT_TCP], report_partial)
                if act:
                    if act & ACT_ATTEMPT:
                        timer(st, ts + 5_000_000_000, 1, s)
                    if act & ACT_DELETE:
                        S[s, SEQNO] += 1
                        timer(st, S[s, LAST] + 5_000_000_000, 3, s)
                    if act & ACT_EXPIRE:
                        timer(st, S[s, LAST] + 6_000_000_000, 2, s)
        else:
            count(S, s, d, ts, il)
            if bad and pr != 17:
                G[G_BADCK] += 1
            elif bad:
                check_history(S, st.HOVF, s, H_CORRUPT, 67, is_orig)
                G[G_BADCK] += 1
            else:
                S[s, LAST] = ts
                if pr == 17:
                    check_history(S, st.HOVF, s, H_DATA, 68, is_orig)
                if pr == 1 or pr == 17 or pr == 58:
                    u = S[s, ULEN + NPF * d]
                    v = pl if pl > 0 else 0
                    S[s, ULEN + NPF * d] = v if u < 0 else u + v
        if S[s, XPARKED]:  # resume a parked expire chain at its first step not yet due
            w = S[s, XWHEN]
            timer_gen(st, w + ((G[G_MAXTS] - w) // 6_000_000_000 + 1) * 6_000_000_000, 2, s, S[s, XGEN])
            S[s, XPARKED] = 0
        t = tunnel[i]
        if t >= 0:
            k = tkeys[t]
            os_ = ht_find(S, st.HT, k[8], k[0], k[1], k[2], k[3], k[4], k[5], k[6])
            code = S[os_, ORD] if os_ >= 0 else -(k[7] + 1)
            if code != S[s, TPLAST]:
                S[s, TPLAST] = code
                r = G[G_NTEV]
                G[G_NTEV] = r + 1
                st.TEV[r, 0] = S[s, ORD]
                st.TEV[r, 1] = code
                if os_ >= 0:
                    st.TEV[r, 2] = S[os_, START]
                    st.TEV[r, 3] = S[os_, PROTO]
                    st.TEV[r, 4] = S[os_, VER]
                    for j in range(6):
                        st.TEV[r, 5 + j] = S[os_, OHI + j]
    return n


@njit(cache=True, nogil=True)
def finish(st):
    """End of input: remove every live connection (FlowTable.finish)."""
    S = st.S
    for s in range(S.shape[0]):
        if S[s, ORD]:
            remove(st, s)
    st.G[G_NHEAP] = 0


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
