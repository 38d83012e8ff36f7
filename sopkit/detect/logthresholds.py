"""Thresholds of the log detectors (:class:`LogThresholds`) and :func:`load_log_thresholds`.

Kept apart from the traffic :class:`~sopkit.detect.thresholds.Thresholds` because the two SOPs are
tuned by different people from different files; loading is just as strict (unknown key or wrong
type → :class:`~sopkit.errors.ParameterError` naming the file and key), reusing the same checks.
The defaults are general values for one day of a government office's servers, not tuned to any
one data set.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from sopkit.detect.thresholds import _p, read_settings_file, settings_from_dict
from sopkit.errors import ParameterError


@dataclass
class LogThresholds:
    """Every number and list the log detectors decide with; ``log_meaning(name)`` says what each is."""

    # -- authentication ---------------------------------------------------------------------------
    bruteforce_min_failures: int = _p(10, "brute force: failed logins from one source to one host/service in the window")
    bruteforce_window_s: float = _p(3600.0, "brute force: sliding window over which failures are counted (s)")
    bruteforce_high_failures: int = _p(100, "brute force: failures at which the finding is rated high")
    spray_min_users: int = _p(5, "password spraying: distinct accounts one source failed on (in the window)")
    spray_max_per_user: float = _p(3.0, "password spraying: median failed attempts per account at most this")
    success_min_failures: int = _p(5, "success after failures: failures from the source before a success")
    success_window_s: float = _p(3600.0, "success after failures: how far back failures count (s)")
    win_storm_min_failures: int = _p(50, "Windows 4625 storm: failed logons on one host within the window")
    win_storm_window_s: float = _p(600.0, "Windows 4625 storm: window (s)")
    admin_groups: list[str] = _p(["sudo", "wheel", "adm", "admin", "root", "administrators", "domain admins",
                                  "enterprise admins", "schema admins"],
                                 "groups that give administrator rights (compared case-insensitively)")
    sudo_admins: list[str] = _p([], "accounts expected to become root; empty: every sudo to root is listed")
    # -- web --------------------------------------------------------------------------------------
    web_login_pattern: str = _p(r"login|signin|sign-in|logon|wp-login\.php|/auth\b|/session",
                                "regular expression of login URLs (web login brute force)")
    web_min_requests: int = _p(1, "web attack: matching requests from one client in a category")
    web_sensitive_min_requests: int = _p(5, "web attack: probes for sensitive files before a finding")
    web_high_requests: int = _p(20, "web attack: matching requests at which the finding is rated high")
    http_4xx_min: int = _p(100, "4xx storm: client-error responses to one client within the window")
    http_4xx_min_share: float = _p(0.5, "4xx storm: share of the client's requests answered with 4xx")
    http_4xx_window_s: float = _p(600.0, "4xx storm: window (s)")
    # -- missing data -----------------------------------------------------------------------------
    silent_end_hours: float = _p(3.0, "silent source: last event this long before the end of the period (h)")
    silent_gap_hours: float = _p(6.0, "silent source: a gap without events longer than this (h)")


def log_meaning(name: str) -> str:
    """The one-line meaning of a log threshold."""
    for f in fields(LogThresholds):
        if f.name == name:
            return f.metadata["meaning"]
    raise KeyError(name)


def log_thresholds_from_dict(values: dict[str, Any], source: str = "<log thresholds>") -> LogThresholds:
    """Defaults overridden by ``values`` (validated; errors name ``source`` and the key)."""
    settings = settings_from_dict(LogThresholds, values, source)
    if not all(isinstance(v, str) for v in settings.sudo_admins):
        raise ParameterError(f"{source}: key 'sudo_admins' must be a list of str")
    return settings


def load_log_thresholds(path: str | Path | None = None) -> LogThresholds:
    """Load ``path`` (YAML mapping; missing keys keep their defaults); ``None`` or "" gives the defaults."""
    if not path:
        return LogThresholds()
    return log_thresholds_from_dict(read_settings_file(path, "log thresholds") or {}, str(path))
