"""Detector thresholds: :class:`Thresholds` (defaults, each with its meaning) and :func:`load_thresholds`.

The defaults are general values for an office network of tens to a few hundred hosts watched for
one day, not tuned to any one capture; ``parameters/thresholds.yaml`` carries the same keys for an
office to adjust. Loading is strict: an unknown key or a value of the wrong type raises
:class:`~sopkit.errors.ParameterError` naming the file and the key, so a typo never silently
falls back to a default.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from sopkit.errors import ParameterError


def _p(default: Any, meaning: str) -> Any:
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata={"meaning": meaning})
    return field(default=default, metadata={"meaning": meaning})


@dataclass
class Thresholds:
    """Every number the traffic detectors decide with; ``meaning(name)`` says what each one is."""

    local_nets: list[str] = _p(["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"],
                               "networks counted as internal (everything else is external)")
    # -- port scans and brute force -------------------------------------------------------------
    scan_min_ports: int = _p(6, "vertical scan: distinct ports one source tried on one host without a session")
    scan_min_hosts: int = _p(25, "horizontal scan: distinct hosts one source tried on one port without a session")
    scan_high: int = _p(500, "ports or hosts probed at which a scan is rated high")
    bruteforce_ports: list[int] = _p([21, 22, 23, 110, 143, 445, 1433, 3306, 3389, 5432, 5900],
                                     "login services watched for brute force over the network")
    bruteforce_min_conns: int = _p(30, "brute force: connections from one source to one login service")
    bruteforce_max_median_s: float = _p(30.0, "brute force: median connection duration at most this (s)")
    # -- floods and reflection --------------------------------------------------------------------
    flood_min_syn: int = _p(1000, "SYN flood: unanswered or reset connection attempts to one host:port")
    flood_min_rate: float = _p(20.0, "SYN flood: attempts per second over the attack's span")
    flood_min_unanswered: float = _p(0.7, "SYN flood: share of attempts that never completed a handshake")
    flood_spoofed_sources: int = _p(100, "SYN flood: distinct sources from which the sources look spoofed")
    reflection_min_packets: int = _p(200, "reflection: unsolicited response packets to one victim")
    reflection_min_sources: int = _p(20, "reflection: distinct reflectors sending those responses")
    reflection_udp_ports: list[int] = _p([17, 19, 53, 69, 111, 123, 137, 161, 389, 500, 1434, 1900, 3283, 3702,
                                          5683, 10001, 11211, 27015, 37810, 47808],
                                         "UDP services abused as reflectors/amplifiers (DNS, NTP, SNMP, CLDAP…)")
    amplification_min_ratio: float = _p(10.0, "amplification: response bytes per request byte towards one client")
    amplification_min_bytes: int = _p(1_000_000, "amplification: response bytes towards one client")
    # -- DNS tunnelling ---------------------------------------------------------------------------
    dns_min_unique_subdomains: int = _p(100, "DNS tunnel: distinct names queried under one registered domain")
    dns_min_mean_label: float = _p(20.0, "DNS tunnel: mean length of the subdomain part (characters)")
    dns_min_entropy: float = _p(3.5, "DNS tunnel: mean Shannon entropy of the subdomain part (bits/char)")
    dns_ignore_suffixes: list[str] = _p(["in-addr.arpa", "ip6.arpa", "local", "localdomain"],
                                        "domain suffixes never treated as tunnels (reverse lookups, mDNS)")
    # -- ICMP tunnel ------------------------------------------------------------------------------
    icmp_min_packets: int = _p(20, "ICMP tunnel: echo packets from one host to another")
    icmp_min_payload: int = _p(128, "ICMP tunnel: largest echo payload (bytes) above ordinary ping sizes")
    icmp_min_distinct: float = _p(0.5, "ICMP tunnel: share of echo payloads that differ from each other")
    icmp_min_bytes: int = _p(8192, "ICMP tunnel: echo payload bytes in total")
    # -- beaconing --------------------------------------------------------------------------------
    beacon_min_conns: int = _p(12, "beacon: connections from one host to one external destination:port")
    beacon_max_mad_ratio: float = _p(0.2, "beacon: median absolute deviation / median of inter-arrival times")
    beacon_min_interval_s: float = _p(10.0, "beacon: shortest median interval considered (s)")
    beacon_min_span_s: float = _p(1800.0, "beacon: the connections must cover at least this time span (s)")
    beacon_ignore_ports: list[int] = _p([53, 123, 137, 138, 5353, 1900],
                                        "destination ports whose periodic traffic is normal (DNS, NTP, discovery)")
    # -- large outbound transfers -----------------------------------------------------------------
    exfil_min_bytes: int = _p(20_000_000, "large upload: bytes one internal host sent to external hosts (floor)")
    exfil_robust_z: float = _p(5.0, "large upload: robust z-score against the other hosts (or own history)")
    exfil_high_bytes: int = _p(200_000_000, "large upload: bytes at which the finding is rated high")
    # -- web attacks, cleartext, IOC, new destinations ------------------------------------------
    web_min_requests: int = _p(1, "web attack: matching requests from one client before a finding")
    web_sensitive_min_requests: int = _p(5, "web attack: probes for sensitive files before a finding")
    web_high_requests: int = _p(20, "web attack: matching requests at which the finding is rated high")
    ioc_file: str = _p("", "CSV of indicators (columns indicator,type,description; types ip, domain, ja3)")
    newdest_max_listed: int = _p(20, "new destinations: most destinations listed per host")


def meaning(name: str) -> str:
    """The one-line meaning of a threshold."""
    for f in fields(Thresholds):
        if f.name == name:
            return f.metadata["meaning"]
    raise KeyError(name)


def _check(source: str, key: str, value: Any, default: Any) -> Any:
    kind = type(default)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if isinstance(value, bool) != isinstance(default, bool) or not isinstance(value, kind):
        raise ParameterError(f"{source}: key {key!r} must be {kind.__name__}, got {type(value).__name__} {value!r}")
    if isinstance(value, list) and default:
        item = type(default[0])
        bad = [v for v in value if not isinstance(v, item) or isinstance(v, bool)]
        if bad:
            raise ParameterError(f"{source}: key {key!r} must be a list of {item.__name__}, got {bad[0]!r}")
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
        raise ParameterError(f"{source}: key {key!r} must not be negative, got {value!r}")
    if key == "local_nets":
        for net in value:
            try:
                ipaddress.ip_network(net, strict=False)
            except ValueError as exc:
                raise ParameterError(f"{source}: key 'local_nets': {exc}") from exc
    return value


def settings_from_dict(cls: type, values: Any, source: str) -> Any:
    """An instance of the settings dataclass ``cls``: defaults overridden by ``values``, each checked
    against its default's type (errors name ``source`` and the key)."""
    if not isinstance(values, dict):
        raise ParameterError(f"{source}: expected a mapping of threshold names to values")
    defaults = cls()
    known = {f.name for f in fields(cls)}
    for key in values:
        if key not in known:
            raise ParameterError(f"{source}: unknown key {key!r}")
    checked = {k: _check(source, k, v, getattr(defaults, k)) for k, v in values.items()}
    return dataclasses.replace(defaults, **checked)


def read_settings_file(path: str | Path, what: str = "thresholds") -> Any:
    """The YAML document of a settings file (None when empty); unreadable or invalid → ParameterError."""
    path = Path(path)
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ParameterError(f"{path}: cannot read {what} file ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise ParameterError(f"{path}: invalid YAML ({exc})") from exc


def thresholds_from_dict(values: dict[str, Any], source: str = "<thresholds>") -> Thresholds:
    """Defaults overridden by ``values`` (validated; errors name ``source`` and the key)."""
    return settings_from_dict(Thresholds, values, source)


def load_thresholds(path: str | Path | None = None) -> Thresholds:
    """Load ``path`` (YAML mapping; missing keys keep their defaults); ``None`` gives the defaults."""
    if path is None:
        return Thresholds()
    return thresholds_from_dict(read_settings_file(path) or {}, str(path))
