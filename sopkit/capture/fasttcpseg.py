"""Compiled handling of one TCP segment (part of the engine of :mod:`sopkit.capture.fastconn`).

What: the numba ports of :mod:`sopkit.capture.conn`'s received-data blocks (``missed_bytes``,
inline per endpoint with a typed-dict spill), acknowledgements, connection close, the per-packet
entry :func:`tcp_packet` and Zeek's port-reuse test :func:`is_reuse`.

Why our own code: see :mod:`sopkit.capture.conn` and :mod:`sopkit.capture.fastconn`.
"""

# ruff: noqa: F403, F405  (the layout constants of fastconn come in by one star import)
from __future__ import annotations

import numpy as np
from numba import njit

from sopkit.capture.fastconn import *  # the slot layout: over a hundred field constants
from sopkit.capture.fasttcp import init_endpoint, state_machine, unwrap, update_history


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
