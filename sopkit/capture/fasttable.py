"""Compiled connection table (part of the engine of :mod:`sopkit.capture.fastconn`).

What: the numba port of :class:`sopkit.capture.flows.FlowTable`'s per-packet loop: the timer heap
(inactivity, attempt, expire, delete-after-close, DNS expiry), removal of a connection into an
output row, creation of connections with Zeek's originator rules, and the batch entry points
:func:`process` and :func:`finish`, which release the GIL (``nogil``) so that decoding the next
batch in another thread runs meanwhile.

Why our own code: see :mod:`sopkit.capture.conn` and :mod:`sopkit.capture.fastconn`.
"""

# ruff: noqa: F403, F405  (the layout constants of fastconn come in by one star import)
from __future__ import annotations

import numpy as np
from numba import njit

from sopkit.capture.fastconn import *  # the slot layout: over a hundred field constants
from sopkit.capture.fasttcp import conn_state, ep_size
from sopkit.capture.fasttcpseg import is_reuse, tcp_packet


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
