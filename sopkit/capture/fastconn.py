"""Compiled (numba) port of :mod:`sopkit.capture.conn`: Zeek's per-connection TCP/UDP/ICMP state.

What: the same state machine as :func:`sopkit.capture.conn.tcp_packet` and friends, over numpy
arrays indexed by a connection *slot* instead of :class:`~sopkit.capture.conn.Conn` objects, so
that :mod:`sopkit.capture.fastflows` can run it in a compiled loop.  Every function mirrors the
reference function of the same name; the reference stays the specification (the equivalence
tests compare whole flow tables).

Layout (all int64 unless said): ``S[slot, field]`` connection fields (``O_*``... below),
``P[slot, role, field]`` per-role fields (endpoint state, counters; role 0 is the current
originator, so :func:`flip` swaps the two rows), ``Q[slot, role, 2]`` the 128-bit sum of squared
inter-arrival times as (high, low) uint64 words (Python keeps it as an unbounded int), ``H[slot]``
the first ``HCAP`` history letters (longer histories continue in a typed dict keyed by the
connection's ordinal), ``BLK[slot, role]`` up to ``KBLK`` received-data blocks for ``missed_bytes``
(more spill to a typed dict keyed by ``P[.., BKEY]``).  ``G`` holds counters and statistics.

Why our own code: see :mod:`sopkit.capture.conn`; numba is used because the per-packet logic is
branchy scalar code that numpy cannot vectorize.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit

# -- connection fields S[slot, .] ------------------------------------------------------------
(ORD, KPROTO, KAHI, KALO, KAP, KBHI, KBLO, KBP, HASH, PROTO, VER, OHI, OLO, OP, RHI, RLO, RP, START,
 LAST, TMO, HSEEN, HLEN, ACTIVE, SEQNO, PARTIAL, SEEN, MISSED, VLAN, IVLAN, TPLAST, XPARKED, XWHEN,
 XGEN) = range(33)
NSF = 33
# -- per-role fields P[slot, role, .] ------------------------------------------------------------
(ST, PREV, ESTART, ELAST, EACK, FINCNT, FINSEQ, DIDCLOSE, HSYN, HFIN, HRST, RXMT, RXMT_TH, WIN0,
 WIN0_TH, CHK, CHK_TH, GAP, GAP_TH, TRIM, NBLK, BKEY, BOVF, PKTS, IPB, ULEN, IATN, IATSUM, LASTDIR,
 SZMIN, SZMAX, SZSUM) = range(32)
NPF = 32
# -- globals G[.] --------------------------------------------------------------------------------
(G_NCONN, G_TICK, G_NFREE, G_NOUT, G_NHEAP, G_NTEV, G_NLIVE, G_PACKETS, G_BADCK, G_BADIP, G_NOCONN,
 G_TUNOUT, G_REUSE) = range(13)
NG = 13
# -- options OPT[.] ------------------------------------------------------------------------------
OPT_TCP, OPT_UDP, OPT_ICMP, OPT_DNS, OPT_DNS_EXP, OPT_IGNORE, OPT_PARTIAL = range(7)
# -- output row fields OUT[row, .] -----------------------------------------------------------------
(R_ORD, R_START, R_LAST, R_PROTO, R_VER, R_OHI, R_OLO, R_OP, R_RHI, R_RLO, R_RP, R_OB, R_RB, R_STATE,
 R_MISSED, R_HLEN, R_VLAN, R_IVLAN) = range(18)
R_DIR = 18  #: then per role: PKTS, IPB, IATN, IATSUM, SZMIN, SZMAX, SZSUM (7 each)
NRF = R_DIR + 14
#: conn_state codes (index into this list)
STATES = ["OTH", "SF", "S0", "SHR", "REJ", "RSTRH", "RSTR", "RSTOS0", "RSTO", "SH", "S2", "S3", "S1"]
(CS_OTH, CS_SF, CS_S0, CS_SHR, CS_REJ, CS_RSTRH, CS_RSTR, CS_RSTOS0, CS_RSTO, CS_SH, CS_S2, CS_S3,
 CS_S1) = range(13)

HCAP = 32  #: history letters kept inline per slot
KBLK = 4  #: data blocks kept inline per endpoint

INACTIVE, SYN_SENT, SYN_ACK_SENT, PARTIAL_ST, ESTABLISHED, CLOSED, RESET = range(7)
FIN, SYN, RST, ACK = 0x01, 0x02, 0x04, 0x10
TOO_LARGE = 1048576
M32 = 0xFFFFFFFF
H_SYN, H_FIN, H_RST, H_FIN_RST, H_DATA, H_ACK, H_MULTI, H_CORRUPT = (1 << i for i in range(8))
ACT_ATTEMPT, ACT_DELETE, ACT_EXPIRE = 1, 2, 4

#: All mutable engine state; see the module docstring.  ``HOVF``/``BOVFD`` are numba typed dicts.
State = namedtuple("State", "S P Q H BLK HT FREE TH OUT OUTQ OUTH TEV G HOVF BOVFD")


# -- history ---------------------------------------------------------------------------------------
@njit(cache=True)
def hist_add(st, s, ch):
    """Append letter ``ch`` (a byte) to the history of slot ``s``."""
    n = st.S[s, HLEN]
    if n < HCAP:
        st.H[s, n] = ch
    else:
        o = st.S[s, ORD]
        if n == HCAP:
            buf = np.empty(2 * HCAP, np.uint8)
            buf[:HCAP] = st.H[s]
            st.HOVF[o] = buf
        buf = st.HOVF[o]
        if n >= len(buf):
            big = np.empty(2 * len(buf), np.uint8)
            big[: len(buf)] = buf
            st.HOVF[o] = big
            buf = big
        buf[n] = ch
    st.S[s, HLEN] = n + 1


@njit(cache=True)
def hist_at(st, s, i):
    if st.S[s, HLEN] <= HCAP:
        return st.H[s, i]
    return st.HOVF[st.S[s, ORD]][i]


@njit(cache=True)
def add_history(st, s, code, is_orig):
    hist_add(st, s, code if is_orig else code + 32)


@njit(cache=True)
def check_history(st, s, mask, code, is_orig):
    """Zeek's CheckHistory: add ``code`` the first time ``mask`` is seen; was it seen before?"""
    if not is_orig:
        mask <<= 16
        code += 32
    if st.S[s, HSEEN] & mask:
        return True
    st.S[s, HSEEN] |= mask
    hist_add(st, s, code)
    return False


@njit(cache=True)
def scaled(st, s, e, code, cnt, th):
    """Zeek's ScaledHistoryEntry on role ``e``: log at the 1st, 10th, 100th … occurrence."""
    n = st.P[s, e, cnt] + 1
    st.P[s, e, cnt] = n
    if n == st.P[s, e, th]:
        add_history(st, s, code, e == 0)
        st.P[s, e, th] *= 10


@njit(cache=True)
def flip(st, s):
    """Zeek's FlipRoles: swap originator and responder, append ``^``."""
    S = st.S
    for a, b in ((OHI, RHI), (OLO, RLO), (OP, RP)):
        S[s, a], S[s, b] = S[s, b], S[s, a]
    for f in range(NPF):
        st.P[s, 0, f], st.P[s, 1, f] = st.P[s, 1, f], st.P[s, 0, f]
    for k in range(2):
        st.Q[s, 0, k], st.Q[s, 1, k] = st.Q[s, 1, k], st.Q[s, 0, k]
    for k in range(KBLK):
        for j in range(2):
            st.BLK[s, 0, k, j], st.BLK[s, 1, k, j] = st.BLK[s, 1, k, j], st.BLK[s, 0, k, j]
    seen = S[s, SEEN]
    S[s, SEEN] = ((seen & 1) << 1) | ((seen & 2) >> 1)
    S[s, PARTIAL] = 0
    hist_add(st, s, 94)  # '^'


@njit(cache=True)
def count(st, s, d, ts, ip_len):
    """Per-role packet/byte counters and inter-arrival/size statistics (Conn.count)."""
    P = st.P
    n = P[s, d, PKTS]
    if n:
        iat = ts - P[s, d, LASTDIR]
        P[s, d, IATN] += 1
        P[s, d, IATSUM] += iat
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
        old = st.Q[s, d, 1]
        new = old + lo2
        st.Q[s, d, 1] = new
        st.Q[s, d, 0] += hi + (np.uint64(1) if new < old else np.uint64(0))
        if ip_len < P[s, d, SZMIN]:
            P[s, d, SZMIN] = ip_len
        if ip_len > P[s, d, SZMAX]:
            P[s, d, SZMAX] = ip_len
    else:
        P[s, d, SZMIN] = ip_len
        P[s, d, SZMAX] = ip_len
    P[s, d, LASTDIR] = ts
    P[s, d, PKTS] = n + 1
    P[s, d, IPB] += ip_len
    P[s, d, SZSUM] += ip_len


# -- TCP -------------------------------------------------------------------------------------------
@njit(cache=True)
def seq_delta(a, b):
    d = (a - b) & M32
    return d - 0x100000000 if d & 0x80000000 else d


@njit(cache=True)
def unwrap(seq32, near):
    return near + seq_delta(seq32, near & M32)


@njit(cache=True)
def ep_size(P, s, e):
    """Endpoint.size: payload bytes of role ``e`` from its sequence numbers."""
    if P[s, e, PREV] == SYN_SENT and P[s, e, ST] == RESET and P[s, 1 - e, ST] == INACTIVE:
        if P[s, e, EACK] - P[s, e, ESTART] > 1:
            return 0
    size = max(P[s, e, ELAST], P[s, e, EACK]) - P[s, e, ESTART]
    if size <= 0:
        return 0
    size -= 1
    if P[s, e, FINCNT] and size:
        size -= 1
    return size


@njit(cache=True)
def set_state(st, s, e, new, tcp_tmo):
    P = st.P
    old = P[s, e, ST]
    if new != old:
        if new > SYN_ACK_SENT and old <= SYN_ACK_SENT and P[s, 1 - e, ST] <= SYN_ACK_SENT:
            st.S[s, TMO] = tcp_tmo
        P[s, e, PREV] = old
        P[s, e, ST] = new


@njit(cache=True)
def conn_state(st, s):
    """Zeek's conn_state code (index into :data:`STATES`)."""
    S, P = st.S, st.P
    if S[s, PROTO] != 6:
        if S[s, PROTO] == 17:
            o, r = P[s, 0, ULEN] >= 0, P[s, 1, ULEN] >= 0
            if o:
                return CS_SF if r else CS_S0
            return CS_SHR if r else CS_OTH
        return CS_OTH
    os_, rs = P[s, 0, ST], P[s, 1, ST]
    o_in = os_ == INACTIVE or os_ == PARTIAL_ST
    r_in = rs == INACTIVE or rs == PARTIAL_ST
    if rs == RESET:
        if os_ == SYN_SENT or os_ == SYN_ACK_SENT or (
                os_ == RESET and ep_size(P, s, 0) == 0 and ep_size(P, s, 1) == 0):
            return CS_REJ
        return CS_RSTRH if o_in else CS_RSTR
    if os_ == RESET:
        if r_in:
            n = S[s, HLEN]
            i = 1 if n and hist_at(st, s, 0) == 94 else 0
            if i < n and hist_at(st, s, i) == 83:  # 'S'
                i += 1
                while i < n:
                    c = hist_at(st, s, i)
                    if c in (72, 65, 70, 71, 73, 81, 82):  # H A F G I Q R
                        break
                    i += 1
                if i < n and hist_at(st, s, i) == 82:
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
def init_endpoint(P, s, e, flags, seq, last):
    st = P[s, e, ST]
    if st == INACTIVE:
        if flags & SYN:
            P[s, e, ESTART] = seq
            P[s, e, EACK] = seq
        else:
            P[s, e, ESTART] = seq - 1
            P[s, e, EACK] = seq - 1
            last = seq
        P[s, e, ELAST] = last
    elif flags & SYN and (
        ((st == SYN_SENT or st == SYN_ACK_SENT) and seq != P[s, e, ESTART] & M32)
        or st == ESTABLISHED or st == PARTIAL_ST
        or (st == RESET and P[s, e, PREV] == INACTIVE)
    ):
        P[s, e, ESTART] = seq
        P[s, e, EACK] = seq
        P[s, e, ELAST] = last


@njit(cache=True)
def update_history(st, s, e, flags, rel_seq, plen):
    o = e == 0
    P = st.P
    bits = (flags & SYN) // SYN + (flags & FIN) + (flags & RST) // RST
    if bits > 1:
        if flags & FIN and flags & RST:
            check_history(st, s, H_FIN_RST, 73, o)  # I
        else:
            check_history(st, s, H_MULTI, 81, o)  # Q
    elif bits == 1:
        if flags & SYN:
            code = 72 if flags & ACK else 83  # H / S
            if check_history(st, s, H_SYN, code, o) and rel_seq != P[s, e, HSYN]:
                add_history(st, s, code, o)
            P[s, e, HSYN] = rel_seq
        elif flags & FIN:
            if check_history(st, s, H_FIN, 70, o) and rel_seq + plen != P[s, e, HFIN]:
                add_history(st, s, 70, o)
            P[s, e, HFIN] = rel_seq + plen
        else:
            if check_history(st, s, H_RST, 82, o) and rel_seq != P[s, e, HRST]:
                add_history(st, s, 82, o)
            P[s, e, HRST] = rel_seq
    elif plen:
        check_history(st, s, H_DATA, 68, o)  # D
    elif flags & ACK:
        check_history(st, s, H_ACK, 65, o)  # A


@njit(cache=True)
def inactive(st, s, e, seq, plen, flags, tmo):
    """conn._inactive; returns (do_close, gen, act, e) with ``e`` updated when roles flipped."""
    P = st.P
    do_close = gen = False
    act = 0
    is_orig = e == 0
    if flags & SYN:
        if is_orig:
            set_state(st, s, e, SYN_ACK_SENT if flags & ACK else SYN_SENT, tmo)
            act |= ACT_ATTEMPT
        else:
            if not flags & ACK and P[s, 1 - e, ST] == SYN_ACK_SENT and seq == P[s, e, ESTART] & M32:
                flip(st, s)
                e = 1 - e
                set_state(st, s, 1 - e, ESTABLISHED, tmo)
                st.S[s, SEEN] |= 1
            if P[s, 1 - e, ST] == SYN_SENT:
                set_state(st, s, 1 - e, ESTABLISHED, tmo)
            set_state(st, s, e, ESTABLISHED, tmo)
    if flags & FIN:
        set_state(st, s, e, CLOSED, tmo)
        do_close = gen = True
    if flags & RST:
        set_state(st, s, e, RESET, tmo)
        if e == 0:
            reject = P[s, 1 - e, ST] == ESTABLISHED
        else:
            reject = P[s, 1 - e, ST] == SYN_SENT or P[s, 1 - e, ST] == SYN_ACK_SENT
        do_close = True
        gen = not reject
    if P[s, e, ST] == INACTIVE:
        if e != 0 and plen == 0 and P[s, 0, ST] == SYN_SENT:
            pass
        elif flags & ACK and P[s, 1 - e, ST] == ESTABLISHED:
            set_state(st, s, e, ESTABLISHED, tmo)
            st.S[s, PARTIAL] = 0
            st.S[s, SEEN] |= 1 if e == 0 else 2
        else:
            set_state(st, s, e, PARTIAL_ST, tmo)
    return do_close, gen, act, e


@njit(cache=True)
def state_machine(st, s, e, seq, plen, flags, tmo):
    P = st.P
    p = 1 - e
    cur = P[s, e, ST]
    if cur == INACTIVE:
        return inactive(st, s, e, seq, plen, flags, tmo)
    do_close = gen = False
    if cur == SYN_SENT or cur == SYN_ACK_SENT:
        if flags & FIN:
            set_state(st, s, e, CLOSED, tmo)
            do_close = gen = True
        if flags & RST:
            set_state(st, s, e, RESET, tmo)
            st.S[s, ACTIVE] = 0
            do_close = True
    elif cur == ESTABLISHED or cur == PARTIAL_ST:
        if flags & SYN and cur == PARTIAL_ST and P[s, p, ST] == INACTIVE and not flags & ACK:
            set_state(st, s, e, SYN_SENT, tmo)
        if flags & FIN and not flags & RST:
            set_state(st, s, e, CLOSED, tmo)
            if P[s, p, ST] == RESET and P[s, p, PREV] == CLOSED:
                set_state(st, s, p, CLOSED, tmo)
            do_close = gen = True
        if flags & RST:
            set_state(st, s, e, RESET, tmo)
            do_close = True
            if P[s, p, ST] != RESET or P[s, p, PREV] != ESTABLISHED:
                st.S[s, ACTIVE] = 0
    elif cur == CLOSED:
        if flags & RST and P[s, p, ST] != CLOSED:
            set_state(st, s, e, RESET, tmo)
            if not P[s, e, DIDCLOSE]:
                do_close = True
    return do_close, gen, 0, e


# -- received-data blocks (missed_bytes) -------------------------------------------------------------
@njit(cache=True)
def blocks(st, s, e):
    """The block buffer of role ``e`` (inline view, or the spilled array)."""
    if st.P[s, e, BOVF]:
        return st.BOVFD[st.P[s, e, BKEY]]
    return st.BLK[s, e]


@njit(cache=True)
def data_sent(st, s, e, rel, plen):
    """conn._data_sent: record [rel, rel+plen) as received, merging touching blocks."""
    P = st.P
    end = rel + plen
    if end <= P[s, e, TRIM]:
        return
    n = P[s, e, NBLK]
    b = blocks(st, s, e)
    if n and rel == b[n - 1, 1]:
        b[n - 1, 1] = end
        return
    if n == len(b):  # grow: spill to (a bigger) dict array
        big = np.empty((2 * len(b), 2), np.int64)
        big[:n] = b[:n]
        st.BOVFD[P[s, e, BKEY]] = big
        P[s, e, BOVF] = 1
        b = big
    if not n or rel > b[n - 1, 1]:
        b[n, 0] = rel
        b[n, 1] = end
        P[s, e, NBLK] = n + 1
        return
    # general case: union of [rel, end) with the sorted, disjoint, non-touching blocks
    i = 0
    while i < n and b[i, 1] < rel:
        i += 1
    j = i
    lo, hi = rel, end
    while j < n and b[j, 0] <= end:
        lo = min(lo, b[j, 0])
        hi = max(hi, b[j, 1])
        j += 1
    removed = j - i
    if removed == 0:
        for k in range(n, i, -1):
            b[k, 0] = b[k - 1, 0]
            b[k, 1] = b[k - 1, 1]
        n += 1
    else:
        for k in range(j, n):
            b[k - removed + 1, 0] = b[k, 0]
            b[k - removed + 1, 1] = b[k, 1]
        n -= removed - 1
    b[i, 0] = lo
    b[i, 1] = hi
    P[s, e, NBLK] = n


@njit(cache=True)
def clean(P, s, e):
    return P[s, e, ST] == ESTABLISHED or (P[s, e, ST] == CLOSED and P[s, e, PREV] == ESTABLISHED)


@njit(cache=True)
def ack_received(st, s, e, rel_ack, report_partial):
    """conn._ack_received for role ``e``: bytes never seen below ``rel_ack`` are a content gap."""
    P = st.P
    if P[s, e, FINCNT] and rel_ack >= P[s, e, FINSEQ]:
        rel_ack = P[s, e, FINSEQ] - 1
    if rel_ack <= P[s, e, TRIM]:
        return
    missing = 0
    pos = P[s, e, TRIM]
    n = P[s, e, NBLK]
    b = blocks(st, s, e)
    keep = 0
    for k in range(n):
        if b[k, 1] <= rel_ack:
            if b[k, 0] > pos:
                missing += b[k, 0] - pos
            pos = max(pos, b[k, 1])
        else:
            if b[k, 0] < rel_ack:
                if b[k, 0] > pos:
                    missing += b[k, 0] - pos
                pos = rel_ack
            b[keep, 0] = b[k, 0]
            b[keep, 1] = b[k, 1]
            keep += 1
    if pos < rel_ack:
        missing += rel_ack - pos
    P[s, e, NBLK] = keep
    P[s, e, TRIM] = rel_ack
    if missing > 0 and not (rel_ack <= 2 and st.S[s, PARTIAL]):
        cl = clean(P, s, 0) and clean(P, s, 1)
        if cl or report_partial:
            st.S[s, MISSED] += missing
        if cl:
            scaled(st, s, e, 71, GAP, GAP_TH)  # G


@njit(cache=True)
def connection_closed(st, s, e, gen):
    P = st.P
    p = 1 - e
    if P[s, e, DIDCLOSE]:
        return 0
    P[s, e, DIDCLOSE] = 1
    if P[s, e, ST] == RESET or P[s, p, DIDCLOSE] or P[s, p, ST] == INACTIVE:
        if gen and (P[s, e, PREV] != INACTIVE or P[s, p, ST] != INACTIVE):
            st.S[s, ACTIVE] = 0
        return ACT_DELETE
    if P[s, e, PREV] != INACTIVE:
        return ACT_EXPIRE
    return 0


@njit(cache=True)
def tcp_packet(st, s, is_orig, ts, flags, seq, ack, plen, captured, window, ip_len, tmo, report_partial):
    """conn.tcp_packet: apply one TCP segment to slot ``s``; returns the ACT_* timer bits."""
    S, P = st.S, st.P
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
    init_endpoint(P, s, e, flags, seq, seq + seg_len)
    rel_seq = unwrap(seq, P[s, e, ELAST]) - P[s, e, ESTART]
    underflow = rel_seq < 0
    update_history(st, s, e, flags, rel_seq, plen)
    p = 1 - e
    if window == 0 and not flags & RST and P[s, p, ST] != CLOSED and P[s, e, ST] != RESET:
        scaled(st, s, e, 87, WIN0, WIN0_TH)  # W
    if not (P[s, e, DIDCLOSE] and P[s, p, DIDCLOSE]):
        S[s, LAST] = ts
    if flags & FIN:
        P[s, e, FINCNT] += 1
        P[s, e, FINSEQ] = rel_seq + seg_len
    rel_ack = 0
    if flags & ACK:
        if P[s, p, ST] == INACTIVE:
            rel_ack = 1
            P[s, p, ESTART] = ack - 1
            P[s, p, EACK] = ack - 1
            P[s, p, ELAST] = ack - 1
        else:
            a = unwrap(ack, P[s, p, EACK])
            rel_ack = a - P[s, p, ESTART]
            if rel_ack < 0:
                rel_ack = 0
            elif not flags & RST:
                delta = a - P[s, p, EACK]
                if not (ack == 0 and delta > TOO_LARGE) and delta > 0:
                    P[s, p, EACK] = a
    last = P[s, e, ELAST]
    new_last = unwrap((seq + seg_len) & M32, last)
    delta_last = new_last - last
    if flags & (SYN | RST) and not -TOO_LARGE <= delta_last <= TOO_LARGE:
        pass
    elif flags & FIN and last == P[s, e, ESTART] + 1:
        P[s, e, ELAST] = new_last
    elif P[s, e, ST] == RESET:
        pass
    elif delta_last > 0:
        P[s, e, ELAST] = new_last
    elif plen > 0:
        scaled(st, s, e, 84, RXMT, RXMT_TH)  # T
    do_close, gen, act, e = state_machine(st, s, e, seq, plen, flags, tmo)
    p = 1 - e
    if flags & ACK:
        ack_received(st, s, p, rel_ack, report_partial)
    if plen > 0 and not flags & RST and not underflow and captured >= plen:
        data_sent(st, s, e, rel_seq + 1 if flags & SYN else rel_seq, plen)
    S[s, SEEN] |= 1 if e == 0 else 2
    if do_close:
        act |= connection_closed(st, s, e, gen)
    count(st, s, d, ts, ip_len)
    return act


@njit(cache=True)
def is_reuse(P, s, flags, seq):
    """Zeek's IsReuse: does this SYN start a new connection on a known 5-tuple?"""
    conn_orig = 0
    if flags & ACK:
        if P[s, 0, ST] != INACTIVE:
            return False
        conn_orig = 1
    if not (P[s, 0, DIDCLOSE] or P[s, 1, DIDCLOSE]):
        if seq == P[s, conn_orig, ESTART] & M32:
            return False
        if (not flags & ACK and P[s, conn_orig, ST] == SYN_ACK_SENT and P[s, 1, ST] == INACTIVE
                and seq == P[s, 1, ESTART] & M32):
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
def ht_find(st, h, kp, ahi, alo, ap, bhi, blo, bp):
    """Slot holding this key, or -1."""
    HT, S = st.HT, st.S
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
def ht_delete(st, s):
    HT, S = st.HT, st.S
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


@njit(cache=True)
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
    S, P, G = st.S, st.P, st.G
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
            out[r, R_OB] = ep_size(P, s, 0)
            out[r, R_RB] = ep_size(P, s, 1)
        else:
            out[r, R_OB] = max(P[s, 0, ULEN], 0)
            out[r, R_RB] = max(P[s, 1, ULEN], 0)
    else:
        out[r, R_OB] = -1
        out[r, R_RB] = -1
    out[r, R_STATE] = conn_state(st, s)
    out[r, R_MISSED] = S[s, MISSED]
    out[r, R_HLEN] = S[s, HLEN]
    out[r, R_VLAN] = S[s, VLAN]
    out[r, R_IVLAN] = S[s, IVLAN]
    for d in range(2):
        b = R_DIR + 7 * d
        out[r, b] = P[s, d, PKTS]
        out[r, b + 1] = P[s, d, IPB]
        out[r, b + 2] = P[s, d, IATN]
        out[r, b + 3] = P[s, d, IATSUM]
        out[r, b + 4] = P[s, d, SZMIN]
        out[r, b + 5] = P[s, d, SZMAX]
        out[r, b + 6] = P[s, d, SZSUM]
        st.OUTQ[r, d, 0] = st.Q[s, d, 0]
        st.OUTQ[r, d, 1] = st.Q[s, d, 1]
    st.OUTH[r] = st.H[s]
    for d in range(2):
        if P[s, d, BOVF]:
            del st.BOVFD[P[s, d, BKEY]]
    ht_delete(st, s)
    S[s, ORD] = 0
    st.FREE[G[G_NFREE]] = s
    G[G_NFREE] += 1
    G[G_NLIVE] -= 1


@njit(cache=True)
def advance(st, now, opt):
    """FlowTable.advance: fire every timer due at or before ``now``."""
    TH, S, P, G = st.TH, st.S, st.P, st.G
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
            if (P[s, 0, ST] == SYN_SENT or P[s, 0, ST] == SYN_ACK_SENT) and P[s, 1, ST] == INACTIVE:
                S[s, ACTIVE] = 0
                remove(st, s)
        elif kind == 2:
            o_st, r_st = P[s, 0, ST], P[s, 1, ST]
            oc, rc = P[s, 0, DIDCLOSE], P[s, 1, DIDCLOSE]
            closing = (oc or rc) and ((oc and rc) or o_st == RESET or r_st == RESET
                                      or o_st == INACTIVE or r_st == INACTIVE)
            idle = o_st == INACTIVE and r_st == INACTIVE
            if not closing and not idle:
                # Neither removal condition can hold before this connection's next packet, so the
                # 6 s chain would only re-arm: park it and resume it at that packet (process()).
                S[s, XPARKED] = 1
                S[s, XWHEN] = when
                S[s, XGEN] = gen
                continue
            # FlowTable compares ``last_ns + LINGER * NS`` as a float (rounded to 256 ns at
            # today's epoch): reproduce that rounding, the sum is always a whole number.
            if np.int64(np.float64(S[s, LAST]) + 5e9) < when:
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
    S, P, G = st.S, st.P, st.G
    G[G_NFREE] -= 1
    s = st.FREE[G[G_NFREE]]
    G[G_NCONN] += 1
    o = G[G_NCONN]
    S[s] = 0
    P[s] = 0
    st.Q[s] = 0
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
        P[s, d, ULEN] = -1
        P[s, d, RXMT_TH] = P[s, d, WIN0_TH] = P[s, d, CHK_TH] = P[s, d, GAP_TH] = 1
        P[s, d, TRIM] = 1
        P[s, d, BKEY] = 2 * o + d
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
        flip(st, s)
    timer(st, ts + S[s, TMO], 0, s)
    return s


@njit(cache=True)
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
        s = ht_find(st, h, kp, ahi, alo, ap, bhi, blo, bp)
        tf = np.int64(tcp_flags[i])
        sq = np.int64(seq[i])
        if s >= 0 and pr == 6 and tf & SYN and is_reuse(st.P, s, tf, sq):
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
                scaled(st, s, d, 67, CHK, CHK_TH)  # C
                G[G_BADCK] += 1
            else:
                act = tcp_packet(st, s, is_orig, ts, tf, sq, np.int64(ack[i]), pl, np.int64(captured_len[i]),
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
            count(st, s, d, ts, il)
            if bad and pr != 17:
                G[G_BADCK] += 1
            elif bad:
                check_history(st, s, H_CORRUPT, 67, is_orig)
                G[G_BADCK] += 1
            else:
                S[s, LAST] = ts
                if pr == 17:
                    check_history(st, s, H_DATA, 68, is_orig)
                if pr == 1 or pr == 17 or pr == 58:
                    u = st.P[s, d, ULEN]
                    v = pl if pl > 0 else 0
                    st.P[s, d, ULEN] = v if u < 0 else u + v
        if S[s, XPARKED]:  # resume a parked expire chain at its next step after this packet
            w = S[s, XWHEN]
            timer_gen(st, w + ((ts - w) // 6_000_000_000 + 1) * 6_000_000_000, 2, s, S[s, XGEN])
            S[s, XPARKED] = 0
        t = tunnel[i]
        if t >= 0:
            k = tkeys[t]
            os_ = ht_find(st, k[8], k[0], k[1], k[2], k[3], k[4], k[5], k[6])
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


@njit(cache=True)
def finish(st):
    """End of input: remove every live connection (FlowTable.finish)."""
    S = st.S
    for s in range(S.shape[0]):
        if S[s, ORD]:
            remove(st, s)
    st.G[G_NHEAP] = 0
