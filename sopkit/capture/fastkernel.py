"""The compiled per-record header decoder behind :mod:`sopkit.capture.fastdecode`.

:func:`decode_records` walks the records of one block (offsets into the block's bytes, as found by
:mod:`sopkit.capture.fastscan`) and fills one :data:`~sopkit.capture.batch.FIELDS` column per
header field for the frames it covers: Ethernet (any number of 802.1Q/QinQ tags), raw IPv4/IPv6
link types, BSD loopback and Linux SLL; IPv4 (non-fragment) and IPv6 without extension headers; TCP, UDP,
ICMP/ICMPv6 and other transports; IPv4 header, TCP, UDP and ICMP checksums. Every value and every
decision follows :class:`~sopkit.capture.decode.Decoder` (``ip.ipv4_header``, ``ip.transport``,
``link.ethertype_payload``) line by line; a frame the kernel does not cover gets status
:data:`SLOW` and is decoded by the ``Decoder`` itself, a non-IP ethertype gets :data:`NON_IP`
(counted as the Decoder counts it).

Why numba rather than numpy gathers: the checksums are sums over variable-length payloads, which
in numpy means ``reduceat`` over a gathered copy of every byte; the VLAN tag chain and the
transport offsets depend on earlier fields, so numpy would need one masked pass per layout. One
compiled loop per record touches each byte once and runs at several million packets per second.
"""

from __future__ import annotations

import numpy as np
from numba import njit

FAST, SLOW, NON_IP = 0, 1, 2
#: link types decoded here; everything else goes to the Decoder
LINKTYPES = (1, 113, 0, 108, 101, 12, 14, 228, 229)

_BAD, _BAD_IP, _NO_CONN, _TRUNC = 0x01, 0x02, 0x04, 0x08


@njit(cache=True, inline="always")
def _be16(b, p):
    return (np.int64(b[p]) << 8) | np.int64(b[p + 1])


@njit(cache=True, inline="always")
def _be64(b, p):
    v = np.uint64(0)
    for i in range(8):
        v = (v << np.uint64(8)) | np.uint64(b[p + i])
    return v


@njit(cache=True, nogil=True)
def _wsum(b, p, n):
    """One's-complement word sum (as a plain integer) of ``b[p:p+n]``, odd length zero-padded."""
    hi = np.int64(0)
    lo = np.int64(0)
    end = p + (n & ~1)
    for i in range(p, end, 2):
        hi += b[i]
        lo += b[i + 1]
    if n & 1:
        hi += b[p + n - 1]
    return (hi << 8) + lo


@njit(cache=True, nogil=True)
def _csum(b, w, le, p, n):
    """Like :func:`_wsum` (congruent modulo 0xFFFF), summing 16-bit words of ``w`` (``b`` viewed as
    native words) on little-endian hosts: a native word is a byte-swapped network word, and a
    byte-swapped word is congruent to 256 times the word modulo 0xFFFF, hence the final shift.
    An odd start offset pairs the bytes the other way round, which is the network order itself.
    """
    if not le or n < 16:
        return _wsum(b, p, n)
    s = np.uint64(0)
    if p & 1 == 0:
        k0 = p >> 1
        for k in range(k0, k0 + (n >> 1)):
            s += w[k]
        r = np.int64(s)
        if n & 1:
            r += b[p + n - 1]
        return r << 8
    k0 = (p - 1) >> 1
    for k in range(k0, k0 + ((n + 1) >> 1)):
        s += w[k]
    r = np.int64(s) - b[p - 1]
    if n & 1 == 0:
        r += b[p + n - 1]
    return r


@njit(cache=True, nogil=True)
def _teredo(b, p, end, cap_end):
    """True when ``tunnels.teredo`` would find Teredo-encapsulated IPv6 at ``b[p:]`` (absolute offsets)."""
    end_cap = min(end, cap_end)
    if end_cap - p >= 4 and b[p] == 0 and b[p + 1] == 1:  # authentication header
        p += 4 + np.int64(b[p + 2]) + np.int64(b[p + 3]) + 9
    if end_cap - p >= 8 and b[p] == 0 and b[p + 1] == 0:  # origin indication
        p += 8
    if end - p < 40 or cap_end - p < 40 or b[p] >> 4 != 6:
        return False
    return 40 + _be16(b, p + 4) == end - p


@njit(cache=True, nogil=True)
def _link(b, off, cap, lt):
    """(ethertype, network offset, vlan, inner vlan, status) of one frame."""
    vlan = -1
    inner = -1
    if lt == 1:
        if cap < 14:
            return 0, 0, vlan, inner, SLOW
        et = _be16(b, off + 12)
        p = 14
    elif lt == 113:
        if cap < 16:
            return 0, 0, vlan, inner, SLOW
        hatype = _be16(b, off + 2)
        et = _be16(b, off + 14)
        if hatype == 778 or hatype == 824 or et == 4:
            return 0, 0, vlan, inner, SLOW
        p = 16
    elif lt == 0 or lt == 108:  # BSD loopback: address family in either byte order (link.null)
        if cap < 4:
            return 0, 0, vlan, inner, SLOW
        af = (np.int64(b[off + 3]) << 24) | (np.int64(b[off + 2]) << 16) | (np.int64(b[off + 1]) << 8) | b[off]
        if af > 0xFFFF:
            af = (np.int64(b[off]) << 24) | (np.int64(b[off + 1]) << 16) | (np.int64(b[off + 2]) << 8) | b[off + 3]
        if af == 2:
            return 0x0800, 4, vlan, inner, FAST
        if af == 24 or af == 28 or af == 30 or af == 10 or af == 23:
            return 0x86DD, 4, vlan, inner, FAST
        return 0, 0, vlan, inner, SLOW
    elif lt == 101 or lt == 12 or lt == 14 or lt == 228 or lt == 229:
        if cap < 1:
            return 0, 0, vlan, inner, SLOW
        v = b[off] >> 4
        if v == 4:
            return 0x0800, 0, vlan, inner, FAST
        if v == 6:
            return 0x86DD, 0, vlan, inner, FAST
        return 0, 0, vlan, inner, SLOW
    else:
        return 0, 0, vlan, inner, SLOW
    while True:  # link.ethertype_payload, VLAN tags only
        if et == 0x0800 or et == 0x86DD:
            return et, p, vlan, inner, FAST
        if et == 0x8100 or et == 0x88A8 or et == 0x9100 or et == 0x9200:
            if cap - p < 4:
                return 0, 0, vlan, inner, SLOW
            tci = _be16(b, off + p)
            if vlan < 0:
                vlan = tci & 0xFFF
            elif inner < 0:
                inner = tci & 0xFFF
            et = _be16(b, off + p + 2)
            p += 4
        elif et == 0x8847 or et == 0x8848 or et == 0x8864 or et == 0x8903 or et <= 1500:
            return 0, 0, vlan, inner, SLOW  # MPLS, PPPoE, FabricPath, 802.3/LLC
        else:
            return et, p, vlan, inner, NON_IP


@njit(cache=True, nogil=True)
def decode_records(b, w, le, offs, caps, lts, verify, status, aux, src_hi, src_lo, dst_hi, dst_lo, ipv, proto_o,
                   tcpf, flags_o, sport_o, dport_o, win_o, iplen_o, plen_o, caplen_o, seq_o, ack_o, vlan_o, ivlan_o):
    """Decode every record; ``status`` gets FAST/SLOW/NON_IP (``aux``: the ethertype for NON_IP).

    ``b`` is the block's bytes and ``w`` the same memory as native 16-bit words (``le``: the host
    is little-endian), used for the checksum sums.
    """
    for i in range(offs.shape[0]):
        base = offs[i]
        cap = caps[i]
        et, off, vlan, inner, st = _link(b, base, cap, lts[i])
        status[i] = st
        if st != FAST:
            aux[i] = et
            continue
        status[i] = SLOW
        avail = cap - off
        p = base + off
        fl = 0
        if et == 0x0800:
            if avail < 20 or b[p] >> 4 != 4:
                continue
            hl = (b[p] & 0xF) << 2
            if hl < 20 or avail < hl:
                continue
            tot = _be16(b, p + 2)
            if tot == 0:
                tot = avail
            elif tot < hl:
                continue
            if _be16(b, p + 6) & 0x3FFF:
                continue  # fragment: reassembly state lives in the Decoder
            proto = b[p + 9]
            if verify and _wsum(b, p, hl) % 0xFFFF:
                fl |= _BAD | _BAD_IP
            s_lo = np.uint64(_be16(b, p + 12) << 16 | _be16(b, p + 14))
            d_lo = np.uint64(_be16(b, p + 16) << 16 | _be16(b, p + 18))
            s_hi = np.uint64(0)
            d_hi = np.uint64(0)
            psum = _wsum(b, p + 12, 8)
            iplen = tot
            seg_len = tot - hl
            soff = off + hl
            v = 4
        else:
            if avail < 40 or b[p] >> 4 != 6:
                continue
            proto = b[p + 6]
            if proto == 0 or proto == 43 or proto == 60 or proto == 135 or proto == 139 or proto == 140:
                continue  # extension headers
            if proto == 44 or proto == 51:
                continue
            seg_len = _be16(b, p + 4)
            iplen = 40 + seg_len
            s_hi = _be64(b, p + 8)
            s_lo = _be64(b, p + 16)
            d_hi = _be64(b, p + 24)
            d_lo = _be64(b, p + 32)
            psum = _wsum(b, p + 8, 32)
            soff = off + 40
            v = 6
        if proto == 4 or proto == 41 or proto == 47:
            continue  # tunnels
        if proto == 59:
            fl |= _NO_CONN
        q = base + soff
        avail = min(cap - soff, seg_len)
        if avail < 0:
            avail = 0
        whole = avail == seg_len
        if not whole:
            fl |= _TRUNC
        sp = 0
        dp = 0
        if proto == 6:
            if avail < 20:
                continue
            doff = (b[q + 12] >> 4) << 2
            if doff < 20 or doff > seg_len:
                continue
            sp = _be16(b, q)
            dp = _be16(b, q + 2)
            seq_o[i] = (_be16(b, q + 4) << 16) | _be16(b, q + 6)
            ack_o[i] = (_be16(b, q + 8) << 16) | _be16(b, q + 10)
            tcpf[i] = b[q + 13]
            win_o[i] = _be16(b, q + 14)
            plen = seg_len - doff
            capl = max(avail - doff, 0)
            if whole and verify and (psum + 6 + seg_len + _csum(b, w, le, q, seg_len)) % 0xFFFF:
                fl |= _BAD
        elif proto == 17:
            if avail < 8:
                continue
            sp = _be16(b, q)
            dp = _be16(b, q + 2)
            ulen = _be16(b, q + 4)
            if ulen < 8 or ulen > seg_len:
                ulen = seg_len
            plen = ulen - 8
            capl = min(max(min(avail, ulen) - 8, 0), plen)
            if capl > 0:  # decode.Decoder looks for a UDP tunnel: leave those to it
                if dp == 4789 or dp == 6081 or sp == 2152 or dp == 2152 or (sp == 5072 and dp == 5072):
                    continue
                b0 = b[q + 8]
                if (b0 >> 4 == 6 or b0 == 0) and _teredo(b, q + 8, q + seg_len, base + cap):
                    continue
            if whole and verify and (_be16(b, q + 6) or v == 6):
                if (psum + 17 + ulen + _csum(b, w, le, q, ulen)) % 0xFFFF:
                    fl |= _BAD
        elif proto == 1 or proto == 58:
            if avail < 4:
                continue
            sp = b[q]
            dp = b[q + 1]
            plen = max(seg_len - 8, 0)
            capl = min(max(avail - 8, 0), plen)
            if whole and verify:
                total = _csum(b, w, le, q, seg_len)
                if proto == 58:
                    total += psum + 58 + seg_len
                if total % 0xFFFF:
                    fl |= _BAD
        else:
            plen = seg_len
            capl = avail
        status[i] = FAST
        src_hi[i] = s_hi
        src_lo[i] = s_lo
        dst_hi[i] = d_hi
        dst_lo[i] = d_lo
        ipv[i] = v
        proto_o[i] = proto
        flags_o[i] = fl
        sport_o[i] = sp
        dport_o[i] = dp
        iplen_o[i] = iplen
        plen_o[i] = plen
        caplen_o[i] = capl
        vlan_o[i] = vlan
        ivlan_o[i] = inner


@njit(cache=True, inline="always")
def _before(a, b, ts, starts, pos):
    ta = ts[starts[a] + pos[a]]
    tb = ts[starts[b] + pos[b]]
    return ta < tb or (ta == tb and a < b)


@njit(cache=True, nogil=True)
def _sift(heap, i, k, ts, starts, pos):
    while True:
        c = 2 * i + 1
        if c >= k:
            return
        if c + 1 < k and _before(heap[c + 1], heap[c], ts, starts, pos):
            c += 1
        if not _before(heap[c], heap[i], ts, starts, pos):
            return
        heap[i], heap[c] = heap[c], heap[i]
        i = c


@njit(cache=True, nogil=True)
def merge_heads(ts, starts, pos, ends, limit, src, rec):
    """``heapq.merge`` of several chunks' records by timestamp (ties: earlier chunk first).

    ``ts`` holds the chunks' timestamps (chunk j's from ``starts[j]``); ``pos``/``ends`` are each
    chunk's next and end record. Writes up to ``limit`` picks (chunk, record) into ``src``/``rec``,
    stopping after the pick that exhausts a chunk; returns their number. A binary heap over the
    chunks' current heads with the total order (timestamp, chunk) picks exactly what
    ``heapq.merge`` picks, also when a file is not in time order.
    """
    k = starts.shape[0]
    heap = np.arange(k)
    for i in range(k // 2 - 1, -1, -1):
        _sift(heap, i, k, ts, starts, pos)
    n = 0
    while n < limit:
        j = heap[0]
        src[n] = j
        rec[n] = pos[j]
        n += 1
        pos[j] += 1
        if pos[j] >= ends[j]:
            break
        _sift(heap, 0, k, ts, starts, pos)
    return n
