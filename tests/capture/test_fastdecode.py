"""The vectorized decoder yields exactly what the per-packet path yields, field by field.

Every check compares ``concatenate(iter_batches(paths))`` with
``packets_to_batch(iter_packets(paths))`` over all :data:`FIELDS` (tunnels by key), plus the
reader statistics and the decoding counters, on generated captures (every layout the compiled
kernel handles, and every one it must leave to the Decoder) and on the conformance corpus.
"""

from __future__ import annotations

import csv
import gzip
import random
import struct
from pathlib import Path

import dpkt
import numpy as np
import pytest
from capbuild import (
    DST4,
    DST6,
    SRC4,
    SRC6,
    eth,
    icmp4,
    ng_epb,
    ng_idb,
    ng_shb,
    ng_spb,
    pcap_bytes,
    tcp4,
    udp4,
    udp6,
    write,
)

from sopkit.capture.batch import (
    F_BAD_CHECKSUM,
    F_BAD_IP_CHECKSUM,
    F_TRUNCATED,
    FIELDS,
    PacketBatch,
    packets_to_batch,
)
from sopkit.capture.decode import Decoder
from sopkit.capture.readers import iter_frames
from sopkit.errors import ParameterError

pytest.importorskip("numba", reason="the vectorized decoder needs numba")
from sopkit.capture.fastdecode import concatenate, iter_batches  # noqa: E402

T0 = 1_700_000_000_000_000_000


def first_difference(got: PacketBatch, want: PacketBatch) -> str | None:
    """None when equal, else which packet and field differ first (tunnels compared by key)."""
    if len(got) != len(want):
        return f"{len(got)} packets instead of {len(want)}"
    first = None
    for name in FIELDS:
        if name == "tunnel":
            a = [got.tunnels[t] if t >= 0 else None for t in got["tunnel"]]
            b = [want.tunnels[t] if t >= 0 else None for t in want["tunnel"]]
            bad = [i for i in range(len(a)) if a[i] != b[i]]
            values = (a, b)
        else:
            bad = np.flatnonzero(got[name] != want[name]).tolist()
            values = (got[name], want[name])
        if bad and (first is None or bad[0] < first[0]):
            first = (bad[0], name, values[0][bad[0]], values[1][bad[0]])
    if first is None:
        return None
    i, name, a, b = first
    return f"packet {i} (frame {want['frame_index'][i]}): {name} = {a}, expected {b}"


def assert_equivalent(paths, *, batch_sizes=(1 << 16,), verify: bool = True, **kw) -> object:
    """Compare both paths on ``paths`` (also reader stats and decoding counters); returns the stream."""
    dec = Decoder(verify_checksums=verify)
    frames = iter_frames(paths, **kw)
    want = packets_to_batch(p for fr in frames for p in dec.decode(fr))
    dec.finish()
    for size in batch_sizes:
        stream = iter_batches(paths, batch_size=size, verify_checksums=verify, **kw)
        got = concatenate(stream)
        assert first_difference(got, want) is None, (paths, size, first_difference(got, want))
        assert stream.decode_stats == dec.stats, (paths, size)
        assert (stream.frames, stream.packets) == (dec.frames, dec.packets)
        a, b = stream.stats, frames.stats
        assert (a.records, a.bytes, a.truncated_records, a.warnings, a.linktypes, a.skipped) == (
            b.records, b.bytes, b.truncated_records, b.warnings, b.linktypes, b.skipped)
        assert stream.rejected == frames.rejected
    return stream


# ---- generated packets -------------------------------------------------------------------------

def tcp6(payload: bytes = b"GET / HTTP/1.1\r\n\r\n", flags: int = 0x18) -> bytes:
    t = dpkt.tcp.TCP(sport=40000, dport=80, flags=flags, seq=2**32 - 5, ack=99, win=1000, data=payload)
    ip6 = dpkt.ip6.IP6(src=SRC6, dst=DST6, nxt=6, hlim=64, data=t)
    ip6.plen = len(bytes(t))
    return bytes(ip6)


def icmp6() -> bytes:
    ic = dpkt.icmp6.ICMP6(type=128, code=0, data=b"\0\x07\0\x01ping")
    ip6 = dpkt.ip6.IP6(src=SRC6, dst=DST6, nxt=58, hlim=64, data=ic)
    ip6.plen = len(bytes(ic))
    return bytes(ip6)


def vlan(payload: bytes, *tags: int, ethertype: int = 0x0800) -> bytes:
    body = b"".join(struct.pack("!HH", t, 0x8100 if i + 1 < len(tags) else ethertype) for i, t in enumerate(tags))
    return eth(body + payload, 0x8100)


def corrupt(ip: bytes, at: int, value: int = 0x5A) -> bytes:
    return ip[:at] + bytes([ip[at] ^ value]) + ip[at + 1 :]


def fragments(payload: bytes = bytes(range(256)) * 6, ident: int = 4242) -> list[bytes]:
    """The IPv4 fragments (512 bytes of UDP segment each) of one UDP datagram."""
    u = dpkt.udp.UDP(sport=1000, dport=2000, data=payload)
    u.ulen = 8 + len(payload)
    ip = dpkt.ip.IP(src=SRC4, dst=DST4, p=17, id=ident, data=u)
    ip.len = 20 + u.ulen
    seg = bytes(ip)[20:]
    out = []
    for off in range(0, len(seg), 512):
        part = seg[off : off + 512]
        f = dpkt.ip.IP(src=SRC4, dst=DST4, p=17, id=ident, offset=off // 8, mf=int(off + 512 < len(seg)), data=part)
        f.len = 20 + len(part)
        out.append(bytes(f))
    return out


def outer_udp(sport: int, dport: int, payload: bytes) -> bytes:
    u = dpkt.udp.UDP(sport=sport, dport=dport, data=payload)
    u.ulen = 8 + len(payload)
    ip = dpkt.ip.IP(src=bytes([192, 0, 2, 1]), dst=bytes([192, 0, 2, 2]), p=17, data=u)
    ip.len = 20 + u.ulen
    return bytes(ip)


def mixed_frames() -> list[bytes]:
    """Ethernet frames covering the kernel's layouts and the ones it hands to the Decoder."""
    good_tcp = tcp4(payload=b"x" * 100, flags=0x18)
    frags = fragments((bytes(range(256)) * 6)[:-8])
    gre = dpkt.ip.IP(src=SRC4, dst=DST4, p=47, data=b"\0\0\x08\x00" + udp4())
    gre.len = 20 + len(gre.data)
    frames = [
        eth(good_tcp), eth(udp4()), eth(icmp4()), eth(tcp6(), 0x86DD), eth(udp6(), 0x86DD), eth(icmp6(), 0x86DD),
        vlan(good_tcp, 100), vlan(udp6(), 10, 20, ethertype=0x86DD), vlan(udp4(), 1, 2, 3),
        eth(frags[1]), eth(corrupt(good_tcp, 10)), eth(corrupt(good_tcp, 50)),  # bad IP / TCP checksum
        eth(corrupt(udp4(), 30)), eth(corrupt(udp6(), 50), 0x86DD), eth(corrupt(icmp4(), 25)),
        eth(udp4()[:26] + b"\0\0" + udp4()[28:]),  # UDP checksum 0: not verified
        eth(frags[0]), eth(good_tcp) + b"\0" * 6,  # Ethernet trailer
        eth(b"\0" * 28, 0x0806), eth(b"\xaa\xaa\x03\0\0\0\x08\x00" + udp4(), 60),  # ARP, 802.3/SNAP
        eth(gre.pack()), eth(outer_udp(40000, 4789, b"\x08\0\0\0\0\0\x01\0" + eth(udp4()))),
        eth(outer_udp(3797, 3544, udp6())), eth(outer_udp(500, 4500, b"\0\0\0\0" + b"k" * 40)),  # Teredo, NAT-T
        eth(udp4(payload=b"\x60" + b"z" * 50)),  # looks like IPv6 but is not Teredo
        eth(corrupt(good_tcp, 0, 0x10)),  # IP version 5
        eth(good_tcp[:9] + b"\x59" + good_tcp[10:]),  # another protocol, bad checksum now
        eth(tcp4(flags=0x02)[:-8]),  # truncated TCP header
        eth(tcp6()[:6] + b"\x3b" + tcp6()[7:], 0x86DD),  # no next header: no_conn
        eth(tcp6()[:6] + b"\x00" + tcp6()[7:], 0x86DD),  # hop-by-hop extension header
        eth(good_tcp[:2] + b"\0\0" + good_tcp[4:]),  # total length 0 (TSO)
        eth(frags[2]),
        eth(b"\x45"), eth(b""),
    ]
    return frames


def test_generated_pcap_every_layout(tmp_path):
    frames = mixed_frames()
    recs = [(T0 + i * 1000, f) for i, f in enumerate(frames)]
    recs += [(T0 + 10**9, eth(tcp4(payload=b"y" * 300)), 1000)]  # record says 1000 bytes on the wire
    recs += [(T0 + 10**9 + 1, eth(tcp4(payload=b"y" * 300))[:80], 354)]  # snaplen-truncated
    path = write(tmp_path / "mixed.pcap", pcap_bytes(recs, ns=True))
    stream = assert_equivalent(path, batch_sizes=(1, 7, 1 << 16))
    st = stream.decode_stats
    assert stream.fast_frames >= 20 and stream.slow_frames >= 10
    assert st["bad IPv4 checksum"] >= 1 and st["bad transport checksum"] >= 4
    assert st["non-IP ethertype 0x0806"] == 1 and st["IP fragments seen"] == 3
    b = concatenate(iter_batches(path))
    assert np.count_nonzero(b["flags"] & F_BAD_IP_CHECKSUM) == st["bad IPv4 checksum"]
    whole = np.flatnonzero(b["ip_len"] == 20 + 6 * 256)  # the reassembled datagram, at its last fragment
    assert len(whole) == 1 and b["frame_index"][whole[0]] == 31 and b["payload_len"][whole[0]] == 6 * 256 - 8
    assert b["flags"][-1] & F_TRUNCATED and b["captured_len"][-1] == 80 - 54
    assert list(b["vlan"][6:9]) == [100, 10, 1] and list(b["inner_vlan"][6:9]) == [-1, 20, 2]
    assert not b["flags"][0] & F_BAD_CHECKSUM and b["seq"][0] == 1000 and b["payload_len"][0] == 100
    assert_equivalent(path, batch_sizes=(3,), verify=False)


@pytest.mark.parametrize("linktype", [0, 101, 108, 113, 228])
def test_other_link_types(tmp_path, linktype):
    ips = [tcp4(payload=b"a" * 10), udp6(), icmp4(), fragments()[0], b"\x70" + udp4()[1:]]
    if linktype in (0, 108):  # BSD loopback: address family, host or network byte order
        ips = [struct.pack("<I" if i % 2 else ">I", 30 if ip[0] >> 4 == 6 else 2) + ip for i, ip in enumerate(ips)]
        ips += [struct.pack("<I", 7) + udp4(), b"\2\0"]
    if linktype == 113:  # Linux cooked: 16-byte header, protocol last
        ips = [struct.pack("!HHH8sH", 0, 1, 6, b"\2" * 6 + b"\0\0", 0x86DD if ip[0] >> 4 == 6 else 0x0800) + ip
               for ip in ips] + [struct.pack("!HHH8sH", 0, 1, 6, b"\0" * 8, 0x0806) + b"\0" * 28]
    path = write(tmp_path / "raw.pcap", pcap_bytes([(T0 + i, f) for i, f in enumerate(ips)], linktype=linktype))
    stream = assert_equivalent(path, batch_sizes=(1, 1 << 16))
    assert stream.fast_frames >= 3


def test_random_corruption_matches_decoder(tmp_path):
    """Flip random header bytes: the kernel either decodes like the Decoder or hands the frame over."""
    rng = random.Random(7)
    base = mixed_frames()
    frames = []
    for _ in range(3000):
        f = bytearray(rng.choice(base))
        for _ in range(rng.randint(1, 3)):
            if f:
                f[rng.randrange(min(len(f), 80))] = rng.randrange(256)
        cut = rng.random()
        frames.append(bytes(f[: rng.randrange(len(f) + 1)] if cut < 0.2 else f))
    path = write(tmp_path / "fuzz.pcap", pcap_bytes([(T0 + i, f) for i, f in enumerate(frames)]))
    assert_equivalent(path, batch_sizes=(97, 1 << 16))


def test_pcapng_interfaces_blocks_and_damage(tmp_path):
    ip = tcp4(payload=b"q" * 20)
    data = (ng_shb() + ng_idb(1) + ng_idb(101, tsresol=9) + ng_idb(1, tsresol=0x80 | 20, tsoffset=5)
            + ng_epb(0, 1_700_000_000_000_000, eth(ip)) + ng_epb(1, T0 + 5, ip)
            + ng_epb(2, 1_700_000_000 << 20, eth(udp4())) + ng_spb(eth(icmp4()))
            + ng_epb(7, 1, eth(ip))  # undeclared interface: skipped with a warning
            + ng_shb(">") + ng_idb(1, tsresol=3, order=">") + ng_epb(0, 1_700_000_000_123, eth(udp6(), 0x86DD), order=">")
            + struct.pack("<II", 5, 16) + b"\0" * 8)  # interface statistics block, cut
    path = write(tmp_path / "multi.pcapng", data)
    stream = assert_equivalent(path, batch_sizes=(1, 2, 1 << 16))
    assert stream.stats.skipped["undeclared interface"] == 1 and stream.stats.warnings
    gz = write(tmp_path / "multi.pcapng.gz", gzip.compress(data))
    assert_equivalent(gz)


@pytest.mark.parametrize("block", [61, 500, 4096])
def test_block_boundaries_do_not_matter(tmp_path, monkeypatch, block):
    """Tiny read/scan blocks: records straddle every block edge, mapped and gzip-read alike."""
    from sopkit.capture import fastscan

    monkeypatch.setattr(fastscan, "BLOCK", block)
    frames = mixed_frames() + [eth(tcp4(payload=bytes(range(200)) * 3))]
    pcap = pcap_bytes([(T0 + i, f) for i, f in enumerate(frames)])
    ng = ng_shb() + ng_idb(1, tsresol=9) + b"".join(ng_epb(0, T0 + i, f) for i, f in enumerate(frames))
    for name, data in (("b.pcap", pcap), ("b.pcap.gz", gzip.compress(pcap)), ("b.pcapng", ng),
                       ("b.pcapng.gz", gzip.compress(ng)), ("cut.pcapng", ng[:-7])):
        stream = assert_equivalent(write(tmp_path / name, data), batch_sizes=(1 << 16,))
        assert stream.stats.records == len(frames) - name.startswith("cut")


def test_released_pages_do_not_change_batches(tmp_path, monkeypatch):
    """Consumed pages of the mapping are released (madvise) block by block; the batches stay identical."""
    import mmap

    from sopkit.capture import fastscan

    monkeypatch.setattr(fastscan, "BLOCK", 3 * mmap.PAGESIZE + 5)
    monkeypatch.setattr(fastscan, "RELEASE", 1)
    released: list[int] = []
    original = fastscan._Window.release

    def spy(self, upto):
        original(self, upto)
        released.append(self.released)

    monkeypatch.setattr(fastscan._Window, "release", spy)
    frames = [eth(tcp4(payload=bytes([i % 251]) * (300 + 7 * i))) for i in range(300)] + mixed_frames()
    pcap = pcap_bytes([(T0 + i, f) for i, f in enumerate(frames)])
    ng = ng_shb() + ng_idb(1, tsresol=9) + b"".join(ng_epb(0, T0 + i, f) for i, f in enumerate(frames))
    for name, data in (("r.pcap", pcap), ("r.pcapng", ng)):
        released.clear()
        stream = assert_equivalent(write(tmp_path / name, data), batch_sizes=(7, 1 << 16))
        assert stream.stats.records == len(frames)
        steps = sorted(set(released))
        assert len(steps) > 10 and steps[-1] > len(data) - 4 * fastscan.BLOCK, (name, steps[-3:], len(data))
        assert all(s % mmap.PAGESIZE == 0 for s in steps)


def test_pcapng_timestamp_out_of_range_is_counted(tmp_path):
    data = (ng_shb() + ng_idb(1, tsresol=0) + ng_epb(0, 1_700_000_000, eth(udp4()))
            + ng_epb(0, 2**62, eth(udp4())) + ng_epb(0, 1_700_000_001, eth(icmp4())))
    stream = iter_batches(write(tmp_path / "far.pcapng", data))
    b = concatenate(stream)
    assert list(b["ts_ns"]) == [1_700_000_000 * 10**9, 1_700_000_001 * 10**9] and list(b["proto"]) == [17, 1]
    assert stream.stats.skipped == {"timestamp out of range": 1} and stream.stats.records == 2
    assert "timestamp out of range" in stream.stats.warnings[0]


def test_damaged_pcap_warnings_match(tmp_path):
    good = pcap_bytes([(T0 + i, eth(udp4(payload=bytes([i]) * 30))) for i in range(20)])
    for name, data in (("cut-data.pcap", good[:-10]), ("cut-header.pcap", good + b"\0" * 7),
                       ("huge.pcap", good + struct.pack("<IIII", 1, 0, 1 << 30, 1 << 30))):
        stream = assert_equivalent(write(tmp_path / name, data))
        assert len(stream.stats.warnings) == 1


def test_several_files_merge_and_time_window(tmp_path):
    frags = fragments(ident=9)
    a = [(T0 + 10 * i, eth(tcp4(seq=i))) for i in range(50)] + [(T0 + 101, eth(frags[0])), (T0 + 103, eth(frags[2]))]
    b = [(T0 + 10 * i + 5, eth(udp4(ident=i))) for i in range(50)] + [(T0 + 102, eth(frags[1]))]
    b += [(T0 + 10, eth(udp6()), 0)]  # same timestamp as a record of the first file
    p1 = write(tmp_path / "a.pcap", pcap_bytes(sorted(a), ns=True))
    p2 = write(tmp_path / "b.pcap", pcap_bytes(sorted(b), ns=True))
    (tmp_path / "notes.txt").write_text("not a capture")
    stream = assert_equivalent(tmp_path, batch_sizes=(1, 7, 1 << 16))
    assert stream.decode_stats["IP fragments seen"] == 3 and len(stream.rejected) == 1
    assert_equivalent([p1, p2], start_ns=T0 + 55, end_ns=T0 + 300, batch_sizes=(4, 1 << 16))


def test_bad_batch_size(tmp_path):
    path = write(tmp_path / "one.pcap", pcap_bytes([(T0, eth(udp4()))]))
    with pytest.raises(ParameterError, match="batch_size"):
        iter_batches(path, batch_size=0)


# ---- the conformance corpus --------------------------------------------------------------------

def test_zeek_conformance_captures(conformance):
    z = conformance / "zeek"
    captures = sorted({row["capture"] for row in csv.DictReader(open(z / "pairs.tsv"), delimiter="\t")})
    assert len(captures) >= 30
    fast = slow = 0
    for rel in captures:
        stream = assert_equivalent(z / rel)
        fast, slow = fast + stream.fast_frames, slow + stream.slow_frames
    assert fast > slow > 0


def test_ndpi_and_stopddos_selection(conformance):
    picks = sorted((conformance / "ndpi/pcap").iterdir())[::25] + sorted((conformance / "stopddos").iterdir())
    for path in picks:
        assert_equivalent(path)
    assert_equivalent(conformance / "stopddos", batch_sizes=(1000,))


def test_corpus_tunnels_vlan_fragments_checksums(conformance):
    t = conformance / "zeek/traces"
    for rel in ("tunnels/Teredo.pcap", "tunnels/gre-sample.pcap", "tunnels/vxlan.pcap", "ipv4/fragmented-1.pcap",
                "ipv4/fragmented-syn.pcap", "ipv6-fragmented-dns.pcap", "q-in-q.pcap", "vlan-qinqinq.pcap",
                "mpls-in-vlan.pcap", "pppoe-over-qinq.pcap", "pcapng-multi-interface.pcapng", "linuxsll-arp.pcap",
                "portmapper-many-unanswered-calls.pcapng.gz"):
        assert (t / rel).is_file(), rel
        assert assert_equivalent(t / rel, batch_sizes=(5, 1 << 16)).frames > 0
    stream = assert_equivalent(t / "chksums", batch_sizes=(3, 1 << 16))  # 26 files merged by time
    assert stream.decode_stats["bad IPv4 checksum"] > 0 and stream.decode_stats["bad transport checksum"] > 0


@pytest.mark.slow
def test_whole_corpus_identical(conformance):
    """Every capture of the corpus (zeek traces, nDPI, StopDDoS): no exception, no differing packet."""
    files = [f for root in ("zeek/traces", "ndpi/pcap", "stopddos")
             for f in sorted((conformance / root).rglob("*")) if f.is_file()]
    assert len(files) > 1000
    differing = []
    for f in files:
        dec = Decoder()
        want = packets_to_batch(p for fr in iter_frames(f) for p in dec.decode(fr))
        dec.finish()
        stream = iter_batches(f)
        why = first_difference(concatenate(stream), want)
        if why is not None or stream.decode_stats != dec.stats:
            differing.append(f"{f}: {why or 'decoding counters differ'}")
    assert differing == []


def test_stopddos_is_mostly_fast(conformance):
    stream = iter_batches(Path(conformance / "stopddos/pkt.TCP.synflood.spoofed.pcap"))
    n = sum(len(b) for b in stream)
    assert n == stream.fast_frames == 37841 and stream.slow_frames == 0
