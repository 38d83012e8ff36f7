from __future__ import annotations

import datetime as dt

import pytest

from sopkit.errors import ParameterError
from sopkit.report.i18n import LANGUAGES, MESSAGES, t
from sopkit.timezones import format_local, resolve_zone

NOON_UTC = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize(("zone", "abbrev", "text"), [
    ("WIB", "WIB", "24-11-2026 19:00 WIB"),
    ("wita", "WITA", "24-11-2026 20:00 WITA"),
    ("Asia/Jayapura", "WIT", "24-11-2026 21:00 WIT"),
    ("Asia/Kolkata", "UTC+05:30", "24-11-2026 17:30 UTC+05:30"),
])
def test_office_zones(zone, abbrev, text):
    assert resolve_zone(zone)[0] == abbrev
    assert format_local(NOON_UTC, zone) == text


def test_naive_is_utc_and_bad_zone_is_a_parameter_error():
    assert format_local(NOON_UTC.replace(tzinfo=None), "WIB", seconds=True) == "24-11-2026 19:00:00 WIB"
    with pytest.raises(ParameterError, match="unknown time zone 'Mars/Olympus'"):
        resolve_zone("Mars/Olympus")


def test_every_message_in_both_languages():
    for key, pair in MESSAGES.items():
        assert len(pair) == len(LANGUAGES) and all(s.strip() for s in pair), key
    assert t("period", "id") == "Periode" and t("period", "en") == "Period"
    with pytest.raises(ParameterError, match="unknown report language 'fr'"):
        t("period", "fr")
