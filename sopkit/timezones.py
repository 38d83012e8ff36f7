"""Indonesian office time zones: WIB, WITA and WIT.

sopkit stores every timestamp in UTC and shows it in the office's zone. Offices name their zone by its
Indonesian abbreviation or by the IANA name; both are accepted everywhere a zone is asked for.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sopkit.errors import ParameterError

#: Abbreviation → IANA zone. Indonesia has kept fixed offsets without daylight saving since 1988.
ZONES: dict[str, str] = {
    "WIB": "Asia/Jakarta",  # UTC+7, Sumatra, Java, West/Central Kalimantan
    "WITA": "Asia/Makassar",  # UTC+8, Bali, Nusa Tenggara, Sulawesi, East/South/North Kalimantan
    "WIT": "Asia/Jayapura",  # UTC+9, Maluku, Papua
}
_ABBREV = {v: k for k, v in ZONES.items()}


def resolve_zone(zone: str) -> tuple[str, ZoneInfo]:
    """Return ``(abbreviation, ZoneInfo)`` for ``"WIB"``/``"Asia/Jakarta"`` and friends.

    Any other IANA zone is accepted too (its abbreviation is then the UTC offset, e.g. ``UTC+05:30``).
    """
    name = ZONES.get(zone.strip().upper(), zone.strip())
    try:
        info = ZoneInfo(name)
    except Exception as exc:  # ZoneInfoNotFoundError, ValueError for malformed keys
        raise ParameterError(
            f"unknown time zone {zone!r}: use WIB, WITA, WIT or an IANA name such as Asia/Jakarta"
        ) from exc
    abbrev = _ABBREV.get(name)
    if abbrev is None:
        offset = dt.datetime.now(info).utcoffset() or dt.timedelta(0)
        minutes = int(offset.total_seconds() // 60)
        sign = "+" if minutes >= 0 else "-"
        abbrev = f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    return abbrev, info


def to_local(ts: dt.datetime, zone: str) -> dt.datetime:
    """Convert an aware (or naive-UTC) datetime to the office zone."""
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=dt.timezone.utc)
    return ts.astimezone(resolve_zone(zone)[1])


def format_local(ts: dt.datetime, zone: str, *, seconds: bool = False) -> str:
    """Format a timestamp for a report, e.g. ``24-11-2026 08:15 WIB`` (day-month-year, as used in Indonesia)."""
    abbrev, _ = resolve_zone(zone)
    local = to_local(ts, zone)
    return local.strftime("%d-%m-%Y %H:%M:%S" if seconds else "%d-%m-%Y %H:%M") + f" {abbrev}"


def utc_now() -> dt.datetime:
    """The current time, aware, in UTC (one place so tests can reason about it)."""
    return dt.datetime.now(dt.timezone.utc)
