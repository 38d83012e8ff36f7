"""Address plan of the demo office and the time helpers every generator shares.

The demo office is a small Indonesian regional-government agency ("Dinas Kominfo Kabupaten Contoh"):

=====================  =====================================================================
Office LAN             10.20.0.0/16
Servers                10.20.1.0/24 — DNS resolver 10.20.1.53, domain controller 10.20.1.10
                       (Kerberos 88, LDAP 389, SMB 445), NTP 10.20.1.123, web server
                       10.20.1.80 (public website, SSH 22), file server 10.20.1.20 (SMB 445)
Workstations           10.20.10.0/24 — 40 Windows desktops 10.20.10.11 … 10.20.10.50
Gateway                10.20.0.1 (all off-LAN frames go through its MAC)
Public web address     the capture is taken inside the NAT/DMZ, so visitors reach 10.20.1.80
Upstream DNS           8.8.8.8, 1.1.1.1 (forwarders of the resolver)
External servers       198.18.0.0/15 (RFC 2544 benchmarking range: routable-looking, owned
                       by nobody) hosting the websites the staff visit
Internet visitors      residential-looking Indonesian ISP prefixes (no famous hosts)
Attackers              TEST-NET-2/3 (198.51.100.0/24, 203.0.113.0/24) and TEST-NET-1
=====================  =====================================================================

Times: generators work in integer nanoseconds since the epoch (UTC) because that is what the
capture contract uses (:mod:`sopkit.capture.packet`); the office "day" is the local calendar day in
``tz`` and logs are written in local time by :mod:`sopkit.demo.logs`.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np

LAN = "10.20.0.0/16"
SERVER_NET = "10.20.1.0/24"
CLIENT_NET = "10.20.10.0/24"
GATEWAY = "10.20.0.1"
RESOLVER = "10.20.1.53"
DC = "10.20.1.10"
FILESERVER = "10.20.1.20"
NTP = "10.20.1.123"
WEB = "10.20.1.80"
UPSTREAM_DNS = ("8.8.8.8", "1.1.1.1")
UPSTREAM_NTP = ("198.18.40.123", "198.18.41.123")
N_WORKSTATIONS = 40
WEB_HOSTNAME = "www.kominfo.contohkab.go.id"
AD_DOMAIN = "contohkab.local"

NS_PER_S = 1_000_000_000

#: Websites staff visit: (domain, weight, mostly-https). IPs are assigned in 198.18.0.0/15.
SITES: tuple[tuple[str, float, bool], ...] = (
    ("www.google.com", 10.0, True),
    ("mail.google.com", 6.0, True),
    ("www.googleapis.com", 4.0, True),
    ("fonts.gstatic.com", 4.0, True),
    ("www.youtube.com", 3.0, True),
    ("web.whatsapp.com", 5.0, True),
    ("outlook.office365.com", 3.0, True),
    ("login.microsoftonline.com", 2.0, True),
    ("www.kemendagri.go.id", 2.0, True),
    ("sipd.kemendagri.go.id", 4.0, True),
    ("sirup.lkpp.go.id", 2.0, True),
    ("lpse.jatengprov.go.id", 2.0, True),
    ("djponline.pajak.go.id", 1.5, True),
    ("sso.bkn.go.id", 2.0, True),
    ("www.bssn.go.id", 1.0, True),
    ("jdih.kemenkeu.go.id", 1.0, True),
    ("www.detik.com", 3.0, True),
    ("www.kompas.com", 2.5, True),
    ("ib.bankjateng.co.id", 1.0, True),
    ("siskeudes.bpkp.go.id", 1.0, False),
    ("simpeg.contohkab.go.id", 2.0, False),
    ("e-kinerja.contohkab.go.id", 2.5, False),
    ("ctldl.windowsupdate.com", 1.0, False),
    ("portal.dukcapil.contohkab.go.id", 1.0, False),
)

#: Residential-looking visitor prefixes (Indonesian access networks), used for website visitors.
VISITOR_PREFIXES = ("36.72.0.0/14", "114.4.0.0/15", "180.244.0.0/14", "182.253.0.0/16", "110.136.0.0/14")


@dataclass(frozen=True)
class Host:
    """An endpoint of the demo network."""

    name: str
    ip: str
    mac: bytes


def mac_for(ip: str) -> bytes:
    """Deterministic locally-administered MAC for a LAN IP (02:00:<4 IP bytes>)."""
    return b"\x02\x00" + ipaddress.IPv4Address(ip).packed


GATEWAY_MAC = bytes.fromhex("001b21a03c01")


def l2_mac(ip: str) -> bytes:
    """MAC seen on the capture segment for ``ip``: its own for LAN hosts, the gateway's otherwise."""
    return mac_for(ip) if is_local(ip) else GATEWAY_MAC


_LAN_NET = ipaddress.IPv4Network(LAN)


def is_local(ip: str) -> bool:
    """True when ``ip`` is inside the office LAN."""
    return ipaddress.IPv4Address(ip) in _LAN_NET


def workstations() -> list[Host]:
    """The 40 office workstations, ``PC-<DEPT>-NN`` at 10.20.10.11 … 10.20.10.50."""
    depts = ("UMUM", "KEU", "IT", "PPID", "APTIKA", "SEKRE", "STAT", "HUMAS")
    hosts = []
    for i in range(N_WORKSTATIONS):
        ip = f"10.20.10.{11 + i}"
        hosts.append(Host(f"PC-{depts[i % len(depts)]}-{i + 1:02d}", ip, mac_for(ip)))
    return hosts


def servers() -> dict[str, Host]:
    """Servers by role: resolver, dc, fileserver, ntp, web."""
    names = {"resolver": ("ns1", RESOLVER), "dc": ("dc01", DC), "fileserver": ("fs01", FILESERVER),
             "ntp": ("ntp01", NTP), "web": ("web01", WEB)}
    return {role: Host(name, ip, mac_for(ip)) for role, (name, ip) in names.items()}


def site_addresses() -> dict[str, str]:
    """Deterministic address in 198.18.0.0/15 for every entry of :data:`SITES`."""
    return {dom: f"198.18.{(i * 7) % 200 + 1}.{(i * 37) % 250 + 3}" for i, (dom, _, _) in enumerate(SITES)}


def random_public_ips(rng: np.random.Generator, n: int, prefixes: tuple[str, ...] = VISITOR_PREFIXES) -> list[str]:
    """``n`` addresses drawn uniformly from ``prefixes`` (host part avoids .0 and .255)."""
    nets = [ipaddress.IPv4Network(p) for p in prefixes]
    which = rng.integers(0, len(nets), n)
    out = []
    for w in which:
        net = nets[int(w)]
        off = int(rng.integers(1, net.num_addresses - 1))
        addr = int(net.network_address) + off
        if addr & 0xFF in (0, 255):
            addr = (addr & ~0xFF) | 7
        out.append(str(ipaddress.IPv4Address(addr)))
    return out


@dataclass(frozen=True)
class Day:
    """The office's local calendar day as UTC nanosecond bounds, with local-time helpers."""

    date: dt.date
    tz: str

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    def local_ns(self, hour: float) -> int:
        """UTC ns of local wall-clock ``hour`` (fractional hours, 0–24) on this day."""
        start = dt.datetime.combine(self.date, dt.time(0), tzinfo=self.zone)
        return int(start.timestamp()) * NS_PER_S + int(round(hour * 3600 * NS_PER_S))

    @property
    def start_ns(self) -> int:
        return self.local_ns(0.0)

    @property
    def end_ns(self) -> int:
        nxt = dt.datetime.combine(self.date + dt.timedelta(days=1), dt.time(0), tzinfo=self.zone)
        return int(nxt.timestamp()) * NS_PER_S

    def to_local(self, ts_ns: int) -> dt.datetime:
        """Aware local datetime (microsecond precision) of a UTC ns timestamp."""
        us = ts_ns // 1000
        utc = dt.datetime.fromtimestamp(us // 1_000_000, tz=dt.timezone.utc).replace(microsecond=us % 1_000_000)
        return utc.astimezone(self.zone)

    def suricata_time(self, ts_ns: int) -> str:
        """Local time as Suricata writes it: ``2026-11-24T10:21:33.123456+0700``."""
        return self.to_local(ts_ns).strftime("%Y-%m-%dT%H:%M:%S.%f%z")


def iso_utc(ts_ns: int) -> str:
    """ISO 8601 UTC text with microseconds and a ``Z`` suffix, used in labels."""
    d = dt.datetime.fromtimestamp(ts_ns // 1000 // 1_000_000, tz=dt.timezone.utc)
    return d.replace(microsecond=(ts_ns // 1000) % 1_000_000).isoformat().replace("+00:00", "Z")


def office_activity(hours: np.ndarray) -> np.ndarray:
    """Relative activity at local ``hours``: near 1 from 07:30 to 16:00, a lunch dip, low at night."""
    h = np.asarray(hours, dtype=float)
    work = 1.0 / (1.0 + np.exp(-(h - 7.6) * 6.0)) * 1.0 / (1.0 + np.exp((h - 16.0) * 5.0))
    lunch = 1.0 - 0.45 * np.exp(-((h - 12.25) ** 2) / (2 * 0.35**2))
    return 0.03 + work * lunch


def sample_times(rng: np.random.Generator, day: Day, n: int, shape=office_activity) -> np.ndarray:
    """``n`` sorted UTC ns times on ``day`` distributed according to ``shape`` (rejection sampling)."""
    grid = np.linspace(0, 24, 2881)
    peak = float(shape(grid).max())
    out = np.empty(0)
    while out.size < n:
        cand = rng.uniform(0.05, 23.8, max(2 * (n - out.size), 64))
        keep = cand[rng.uniform(0.0, peak, cand.size) < shape(cand)]
        out = np.concatenate([out, keep])
    hours = np.sort(out[:n])
    return day.start_ns + (hours * 3600 * NS_PER_S).astype(np.int64) // 1000 * 1000
