"""Compiled TCP endpoint state machine (part of the engine of :mod:`sopkit.capture.fastconn`).

What: the numba ports of :mod:`sopkit.capture.conn`'s per-endpoint TCP logic over the slot layout
of :mod:`sopkit.capture.fastconn`: sequence arithmetic, payload sizes, endpoint states,
``conn_state``, history letters for flags, and the inactive/established state transitions.
Every function mirrors the reference function of the same name (the equivalence tests compare
whole flow tables).

Why our own code: see :mod:`sopkit.capture.conn` and :mod:`sopkit.capture.fastconn`.
"""

# ruff: noqa: F403, F405  (the layout constants of fastconn come in by one star import)
from __future__ import annotations

from numba import njit

from sopkit.capture.fastconn import *  # the slot layout: over a hundred field constants


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
