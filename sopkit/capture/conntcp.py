"""TCP segments in the reference connection engine: :func:`tcp_packet` applies one segment to a
:class:`~sopkit.capture.conn.Conn` — endpoint states, history letters, sequence-derived sizes,
content gaps — and says which timers the flow table must schedule (``ACT_*``).

Why our own code: see :mod:`sopkit.capture.conn` (Zeek's ``TCPSessionAdapter``/``TCP_Endpoint``
behaviour re-expressed, scored row by row against Zeek). The compiled engine's twin is
:mod:`sopkit.capture.fasttcpseg`; the equivalence tests keep the two identical.
"""

from __future__ import annotations

from sopkit.capture.conn import (
    ACK,
    CLOSED,
    ESTABLISHED,
    FIN,
    H_ACK,
    H_DATA,
    H_FIN,
    H_FIN_RST,
    H_MULTI,
    H_RST,
    H_SYN,
    INACTIVE,
    M32,
    PARTIAL,
    RESET,
    RST,
    SYN,
    SYN_ACK_SENT,
    SYN_SENT,
    TOO_LARGE_SEQ_DELTA,
    Conn,
    Endpoint,
    scaled,
    set_state,
    unwrap,
)

#: actions :func:`tcp_packet` asks the flow table to schedule
ACT_ATTEMPT, ACT_DELETE, ACT_EXPIRE = 1, 2, 4


def _init_endpoint(ep: Endpoint, flags: int, seq: int, last: int) -> None:
    st = ep.state
    if st == INACTIVE:
        if flags & SYN:
            ep.start = ep.ack = seq
        else:  # partial: number bytes as though a SYN had been seen
            ep.start = ep.ack = seq - 1
            last = seq
        ep.last = last
    elif flags & SYN and (
        (st in (SYN_SENT, SYN_ACK_SENT) and seq != ep.start & M32)
        or st in (ESTABLISHED, PARTIAL)
        or (st == RESET and ep.prev_state == INACTIVE)
    ):
        ep.start = ep.ack = seq
        ep.last = last


def _update_history(c: Conn, ep: Endpoint, flags: int, rel_seq: int, plen: int) -> None:
    o = ep.is_orig
    bits = (flags & SYN) // SYN + (flags & FIN) + (flags & RST) // RST
    if bits > 1:
        if flags & FIN and flags & RST:
            c.check_history(H_FIN_RST, "I", o)
        else:
            c.check_history(H_MULTI, "Q", o)
    elif bits == 1:
        if flags & SYN:
            code = "H" if flags & ACK else "S"
            if c.check_history(H_SYN, code, o) and rel_seq != ep.h_syn:
                c.add_history(code, o)
            ep.h_syn = rel_seq
        elif flags & FIN:
            if c.check_history(H_FIN, "F", o) and rel_seq + plen != ep.h_fin:
                c.add_history("F", o)
            ep.h_fin = rel_seq + plen
        else:
            if c.check_history(H_RST, "R", o) and rel_seq != ep.h_rst:
                c.add_history("R", o)
            ep.h_rst = rel_seq
    elif plen:
        c.check_history(H_DATA, "D", o)
    elif flags & ACK:
        c.check_history(H_ACK, "A", o)


def _inactive(c: Conn, ep: Endpoint, peer: Endpoint, seq: int, ack: int, plen: int, flags: int,
              tmo: float) -> tuple[bool, bool, int]:
    do_close = gen = False
    act = 0
    is_orig = ep.is_orig
    if flags & SYN:
        if is_orig:
            set_state(c, ep, peer, SYN_ACK_SENT if flags & ACK else SYN_SENT, tmo)
            act |= ACT_ATTEMPT
        else:
            if not flags & ACK and peer.state == SYN_ACK_SENT and seq == ep.start & M32:
                # SYN/SYN-ACK seen in reverse order: flip and establish.
                c.flip()
                set_state(c, peer, ep, ESTABLISHED, tmo)
                c.seen |= 1
            if peer.state == SYN_SENT:
                set_state(c, peer, ep, ESTABLISHED, tmo)
            set_state(c, ep, peer, ESTABLISHED, tmo)
    if flags & FIN:
        set_state(c, ep, peer, CLOSED, tmo)
        do_close = gen = True
    if flags & RST:
        set_state(c, ep, peer, RESET, tmo)
        if ep.is_orig:
            reject = peer.state == ESTABLISHED
        else:
            reject = peer.state in (SYN_SENT, SYN_ACK_SENT)
        do_close = True
        gen = not reject
    if ep.state == INACTIVE:
        if not ep.is_orig and plen == 0 and c.ep[0].state == SYN_SENT:
            pass  # an ACK of the SYN before the SYN-ACK: not a partial connection
        elif flags & ACK and peer.state == ESTABLISHED:
            set_state(c, ep, peer, ESTABLISHED, tmo)
            c.partial = False
            c.seen |= 1 if ep.is_orig else 2
        else:
            set_state(c, ep, peer, PARTIAL, tmo)
    return do_close, gen, act


def _state_machine(c: Conn, ep: Endpoint, peer: Endpoint, seq: int, ack: int, plen: int,
                   delta_last: int, flags: int, tmo: float) -> tuple[bool, bool, int]:
    st = ep.state
    if st == INACTIVE:
        return _inactive(c, ep, peer, seq, ack, plen, flags, tmo)
    do_close = gen = False
    if st in (SYN_SENT, SYN_ACK_SENT):
        if flags & FIN:
            set_state(c, ep, peer, CLOSED, tmo)
            do_close = gen = True
        if flags & RST:
            set_state(c, ep, peer, RESET, tmo)
            c.is_active = False
            do_close = True
    elif st in (ESTABLISHED, PARTIAL):
        if flags & SYN and st == PARTIAL and peer.state == INACTIVE and not flags & ACK:
            set_state(c, ep, peer, SYN_SENT, tmo)
        if flags & FIN and not flags & RST:
            set_state(c, ep, peer, CLOSED, tmo)
            if peer.state == RESET and peer.prev_state == CLOSED:
                set_state(c, peer, ep, CLOSED, tmo)
            do_close = gen = True
        if flags & RST:
            set_state(c, ep, peer, RESET, tmo)
            do_close = True
            if peer.state != RESET or peer.prev_state != ESTABLISHED:
                c.is_active = False
    elif st == CLOSED:
        if flags & RST and peer.state != CLOSED:
            set_state(c, ep, peer, RESET, tmo)
            if not ep.did_close:
                do_close = True
    return do_close, gen, 0


def _ack_received(c: Conn, ep: Endpoint, rel_ack: int, report_partial: bool) -> None:
    """The peer acknowledged ``ep``'s data up to ``rel_ack``: bytes never seen below it are a
    content gap (Zeek reports them only while both sides are established, unless
    ``report_gaps_for_partial``)."""
    if ep.fin_cnt and rel_ack >= ep.fin_seq:
        rel_ack = ep.fin_seq - 1
    if rel_ack <= ep.trim:
        return
    missing = 0
    pos = ep.trim
    keep = []
    for b in ep.blocks:
        if b[1] <= rel_ack:
            if b[0] > pos:
                missing += b[0] - pos
            pos = max(pos, b[1])
        elif b[0] < rel_ack:
            if b[0] > pos:
                missing += b[0] - pos
            pos = rel_ack
            keep.append(b)
        else:
            keep.append(b)
    if pos < rel_ack:
        missing += rel_ack - pos
    ep.blocks = keep
    ep.trim = rel_ack
    if missing > 0 and not (rel_ack <= 2 and c.partial):
        o, r = c.ep
        clean = _clean(o) and _clean(r)
        if clean or report_partial:
            c.missed += missing
        if clean:
            scaled(c, ep, "G", "gap", "gap_th")


def _clean(ep: Endpoint) -> bool:
    return ep.state == ESTABLISHED or (ep.state == CLOSED and ep.prev_state == ESTABLISHED)


def _data_sent(ep: Endpoint, rel: int, plen: int) -> None:
    end = rel + plen
    if end <= ep.trim:
        return
    blocks = ep.blocks
    if not blocks or rel >= blocks[-1][1]:
        if blocks and rel == blocks[-1][1]:
            blocks[-1][1] = end
        else:
            blocks.append([rel, end])
        return
    blocks.append([rel, end])
    blocks.sort()
    merged = [blocks[0]]
    for b in blocks[1:]:
        if b[0] <= merged[-1][1]:
            if b[1] > merged[-1][1]:
                merged[-1][1] = b[1]
        else:
            merged.append(b)
    ep.blocks = merged


def tcp_packet(c: Conn, is_orig: bool, ts_ns: int, flags: int, seq: int, ack: int, plen: int,
               captured: int, window: int, ip_len: int, tmo: float, report_partial: bool = False) -> int:
    """Apply one TCP segment (already known to belong to ``c``) the way Zeek's TCP analyzer does.

    ``plen`` is the payload length from the headers, ``captured`` how much of it was captured.
    Returns the timer actions (``ACT_*`` bits) the flow table must schedule.
    """
    d = 0 if is_orig else 1
    ep = c.ep[d]
    peer = c.ep[1 - d]
    if is_orig:
        if not c.seen & 1:
            c.partial = not flags & SYN or bool(flags & ACK)
    elif not c.seen & 2 and not c.partial:
        c.partial = not flags & SYN
    seg_len = plen + (1 if flags & SYN else 0) + (1 if flags & FIN else 0)
    if flags & RST:
        seg_len -= plen
    _init_endpoint(ep, flags, seq, seq + seg_len)
    rel_seq = unwrap(seq, ep.last) - ep.start
    underflow = rel_seq < 0
    _update_history(c, ep, flags, rel_seq, plen)
    if window == 0 and not flags & RST and peer.state != CLOSED and ep.state != RESET:
        scaled(c, ep, "W", "win0", "win0_th")
    if not (ep.did_close and peer.did_close):
        c.last_ns = ts_ns
    if flags & FIN:
        ep.fin_cnt += 1
        ep.fin_seq = rel_seq + seg_len
    rel_ack = 0
    if flags & ACK:
        if peer.state == INACTIVE:
            rel_ack = 1
            peer.start = peer.ack = peer.last = ack - 1
        else:
            a = unwrap(ack, peer.ack)
            rel_ack = a - peer.start
            if rel_ack < 0:
                rel_ack = 0
            elif not flags & RST:
                delta = a - peer.ack
                if not (ack == 0 and delta > TOO_LARGE_SEQ_DELTA) and delta > 0:
                    peer.ack = a
    # update_last_seq
    new_last = unwrap((seq + seg_len) & M32, ep.last)
    delta_last = new_last - ep.last
    if flags & (SYN | RST) and not -TOO_LARGE_SEQ_DELTA <= delta_last <= TOO_LARGE_SEQ_DELTA:
        pass
    elif flags & FIN and ep.last == ep.start + 1:
        ep.last = new_last
    elif ep.state == RESET:
        pass
    elif delta_last > 0:
        ep.last = new_last
    elif plen > 0:
        scaled(c, ep, "T", "rxmt", "rxmt_th")
    do_close, gen, act = _state_machine(c, ep, peer, seq, ack, plen, delta_last, flags, tmo)
    if flags & ACK:
        _ack_received(c, peer, rel_ack, report_partial)
    if plen > 0 and not flags & RST and not underflow and captured >= plen:
        _data_sent(ep, rel_seq + 1 if flags & SYN else rel_seq, plen)
    c.seen |= 1 if ep.is_orig else 2
    if do_close:
        act |= _connection_closed(c, ep, peer, gen)
    c.count(d, ts_ns, ip_len)
    return act


def _connection_closed(c: Conn, ep: Endpoint, peer: Endpoint, gen: bool) -> int:
    if ep.did_close:
        return 0
    ep.did_close = True
    if ep.state == RESET or peer.did_close or peer.state == INACTIVE:
        if gen and (ep.prev_state != INACTIVE or peer.state != INACTIVE):
            c.is_active = False
        return ACT_DELETE
    if ep.prev_state != INACTIVE:
        return ACT_EXPIRE
    return 0
