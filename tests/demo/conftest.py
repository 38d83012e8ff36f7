"""Fixtures for the demo-day tests: one generated day (scale 0.2, all attacks) and its decoded packets."""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass

import dpkt
import pytest

from sopkit.demo import DemoDataset, generate_day

SCALE = 0.2


@dataclass(frozen=True)
class Pkt:
    """The fields the tests look at, decoded with dpkt (independently of the generator's packer)."""

    ts: float
    src: str
    dst: str
    proto: int
    sport: int
    dport: int
    flags: int
    seq: int
    ack: int
    payload: bytes
    frame: bytes


@pytest.fixture(scope="session")
def demo_scale() -> float:
    """Background scale of the test day: small for speed; the planted attacks are unaffected by it."""
    return SCALE


@pytest.fixture(scope="session")
def demo_day(tmp_path_factory: pytest.TempPathFactory) -> DemoDataset:
    return generate_day(tmp_path_factory.mktemp("demo") / "day", scale=SCALE, seed=7)


@pytest.fixture(scope="session")
def labels(demo_day: DemoDataset) -> dict:
    return json.loads(demo_day.labels.read_text())


@pytest.fixture(scope="session")
def attack(labels: dict):
    by_kind = {a["kind"]: a for a in labels["attacks"]}
    return by_kind.__getitem__


@pytest.fixture(scope="session")
def packets(demo_day: DemoDataset) -> list[Pkt]:
    out = []
    with demo_day.capture.open("rb") as fh:
        reader = dpkt.pcap.Reader(fh)
        assert reader.datalink() == dpkt.pcap.DLT_EN10MB
        for ts, buf in reader:
            ip = dpkt.ethernet.Ethernet(buf).data
            assert isinstance(ip, dpkt.ip.IP), f"non-IPv4 frame at {ts}"
            l4 = ip.data
            is_tcp = isinstance(l4, dpkt.tcp.TCP)
            out.append(Pkt(ts, socket.inet_ntoa(ip.src), socket.inet_ntoa(ip.dst), ip.p, l4.sport, l4.dport,
                           l4.flags if is_tcp else 0, l4.seq if is_tcp else 0, l4.ack if is_tcp else 0,
                           bytes(l4.data), buf))
    return out
