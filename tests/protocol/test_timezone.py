"""protocol.calendar.timezone: the TIME_ZONE_INFORMATION blob <-> IANA zones, VTIMEZONE."""

from __future__ import annotations

import base64
import struct
import time
import zoneinfo
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import icalendar
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from protocol.calendar.timezone import (
    SystemTime,
    TimeZoneInfo,
    tzinfo_for_zone,
    vtimezone,
    zone_for_tzinfo,
)
from tests.conftest import VECTORS

# -- the blob's layout (MS-ASDTYPE 2.7) -------------------------------------------------------


def _name(text: str) -> bytes:
    return text.encode("utf-16-le").ljust(64, b"\0")


def _blob(bias: int, std: tuple[int, ...], dst: tuple[int, ...], names: tuple[str, str]) -> bytes:
    """The 172 bytes written out field by field, as the spec lays them (biases 0 and -60
    unless there is no daylight time)."""
    return (
        struct.pack("<i", bias)
        + _name(names[0])
        + struct.pack("<8H", *std)
        + struct.pack("<i", 0)
        + _name(names[1])
        + struct.pack("<8H", *dst)
        + struct.pack("<i", -60)
    )


#: Windows "W. Europe Standard Time": last Sunday of October 03:00 / of March 02:00.
WINDOWS_BERLIN = _blob(
    -60,
    (0, 10, 0, 5, 3, 0, 0, 0),
    (0, 3, 0, 5, 2, 0, 0, 0),
    ("W. Europe Standard Time", "W. Europe Daylight Time"),
)
#: Windows "Pacific Standard Time": first Sunday of November / second of March, 02:00.
WINDOWS_PACIFIC = _blob(
    480,
    (0, 11, 0, 1, 2, 0, 0, 0),
    (0, 3, 0, 2, 2, 0, 0, 0),
    ("Pacific Standard Time", "Pacific Daylight Time"),
)
#: Windows "AUS Eastern Standard Time": first Sunday of April 03:00 / of October 02:00.
WINDOWS_SYDNEY = _blob(
    -600,
    (0, 4, 0, 1, 3, 0, 0, 0),
    (0, 10, 0, 1, 2, 0, 0, 0),
    ("AUS Eastern Standard Time", "AUS Eastern Daylight Time"),
)
#: Windows "GMT Standard Time": last Sunday of October 02:00 / of March 01:00.
WINDOWS_LONDON = _blob(0, (0, 10, 0, 5, 2, 0, 0, 0), (0, 3, 0, 5, 1, 0, 0, 0), ("GMT", ""))
#: Windows "India Standard Time": no daylight time (DaylightBias -60 all the same).
WINDOWS_INDIA = _blob(-330, (0,) * 8, (0,) * 8, ("India Standard Time", "India Daylight Time"))
ZERO = bytes(172)


def test_decode_is_field_by_field() -> None:
    info = TimeZoneInfo.from_bytes(WINDOWS_BERLIN)
    assert info.bias == -60
    assert info.standard_name == "W. Europe Standard Time"
    assert info.standard_date == SystemTime(month=10, day_of_week=0, day=5, hour=3)
    assert info.standard_bias == 0
    assert info.daylight_name == "W. Europe Daylight Time"
    assert info.daylight_date == SystemTime(month=3, day_of_week=0, day=5, hour=2)
    assert info.daylight_bias == -60
    assert (info.standard_offset, info.daylight_offset) == (60, 120)


@pytest.mark.parametrize(
    "raw", [WINDOWS_BERLIN, WINDOWS_PACIFIC, WINDOWS_SYDNEY, WINDOWS_LONDON, WINDOWS_INDIA, ZERO]
)
def test_encode_is_byte_exact(raw: bytes) -> None:
    info = TimeZoneInfo.from_bytes(raw)
    assert info.to_bytes() == raw
    text = base64.b64encode(raw).decode("ascii")
    assert info.to_base64() == text
    assert TimeZoneInfo.from_base64(text) == info


def test_construction_matches_the_layout() -> None:
    info = TimeZoneInfo(
        bias=480,
        standard_name="Pacific Standard Time",
        standard_date=SystemTime(month=11, day=1, hour=2),
        daylight_name="Pacific Daylight Time",
        daylight_date=SystemTime(month=3, day=2, hour=2),
        daylight_bias=-60,
    )
    assert info.to_bytes() == WINDOWS_PACIFIC


def test_base64_tolerates_line_breaks() -> None:
    text = base64.encodebytes(WINDOWS_SYDNEY).decode("ascii")
    assert "\n" in text
    assert TimeZoneInfo.from_base64(text).to_bytes() == WINDOWS_SYDNEY


@pytest.mark.parametrize("size", [0, 1, 171, 173, 344])
def test_malformed_lengths_are_value_errors(size: int) -> None:
    with pytest.raises(ValueError, match="172"):
        TimeZoneInfo.from_bytes(bytes(size))
    with pytest.raises(ValueError, match="172"):
        TimeZoneInfo.from_base64(base64.b64encode(bytes(size)).decode("ascii"))


@pytest.mark.parametrize("text", ["not base64!", "LAEAAA=", "ÿÿÿÿ"])
def test_malformed_base64_is_a_value_error(text: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 -- binascii and length errors alike
        TimeZoneInfo.from_base64(text)


def test_out_of_range_fields_are_refused() -> None:
    with pytest.raises(ValueError, match="uint16"):
        SystemTime(month=-1)
    with pytest.raises(ValueError, match="int32"):
        TimeZoneInfo(bias=2**31)


def test_long_names_are_truncated_to_32_wchars() -> None:
    info = TimeZoneInfo(standard_name="x" * 40, daylight_name="é" * 31 + "😀")
    back = TimeZoneInfo.from_bytes(info.to_bytes())
    assert back.standard_name == "x" * 32
    assert back.daylight_name == "é" * 31  # a surrogate pair is never split


# -- the all-zero blob, preferred, fallbacks ---------------------------------------------------


def test_the_zero_blob_is_utc() -> None:
    info = TimeZoneInfo.from_bytes(ZERO)
    assert info.is_zero
    assert zone_for_tzinfo(info, year=2026) == "UTC"
    assert zone_for_tzinfo(info, year=2026, preferred="Europe/London") == "UTC"
    assert zone_for_tzinfo(info, year=2026, preferred="Etc/UTC") == "Etc/UTC"
    assert not tzinfo_for_zone("UTC", 2026).is_zero  # it carries the name "UTC"
    assert zone_for_tzinfo(tzinfo_for_zone("UTC", 2026), year=2026) == "UTC"


@pytest.mark.parametrize(
    ("raw", "zone"),
    [
        (WINDOWS_BERLIN, "Europe/Paris"),
        (WINDOWS_PACIFIC, "America/Los_Angeles"),
        (WINDOWS_SYDNEY, "Australia/Sydney"),
        (WINDOWS_LONDON, "Europe/London"),
        (WINDOWS_INDIA, "Asia/Kolkata"),
    ],
)
def test_windows_blobs_map_to_well_known_zones(raw: bytes, zone: str) -> None:
    info = TimeZoneInfo.from_bytes(raw)
    for year in (2008, 2026, 2037):
        assert zone_for_tzinfo(info, year=year) == zone


def test_preferred_is_kept_when_it_matches_and_ignored_otherwise() -> None:
    berlin = TimeZoneInfo.from_bytes(WINDOWS_BERLIN)
    assert zone_for_tzinfo(berlin, year=2026, preferred="Europe/Berlin") == "Europe/Berlin"
    assert zone_for_tzinfo(berlin, year=2026, preferred="Europe/Amsterdam") == "Europe/Amsterdam"
    assert zone_for_tzinfo(berlin, year=2026, preferred="Europe/London") == "Europe/Paris"
    assert zone_for_tzinfo(berlin, year=2026, preferred="W. Europe Standard Time") == "Europe/Paris"
    assert zone_for_tzinfo(berlin, year=2026, preferred="../etc/passwd") == "Europe/Paris"
    dublin = tzinfo_for_zone("Europe/Dublin", 2026)
    assert zone_for_tzinfo(dublin, year=2026) == "Europe/London"
    assert zone_for_tzinfo(dublin, year=2026, preferred="Europe/Dublin") == "Europe/Dublin"


def test_well_known_zone_wins_over_alphabetical() -> None:
    # Africa/Ceuta shares Europe/Paris's rules and sorts first
    assert zone_for_tzinfo(tzinfo_for_zone("Africa/Ceuta", 2026), year=2026) == "Europe/Paris"
    assert zone_for_tzinfo(tzinfo_for_zone("America/Toronto", 2026), year=2026) == (
        "America/New_York"
    )


def test_rules_of_another_year_still_find_the_zone() -> None:
    # the 2007+ US rules sent for a 2006 event (then: first Sunday of April)
    assert zone_for_tzinfo(TimeZoneInfo.from_bytes(WINDOWS_PACIFIC), year=2006) == (
        "America/Los_Angeles"
    )
    old_us = tzinfo_for_zone("America/New_York", 2006)
    assert old_us.daylight_date == SystemTime(month=4, day=1, hour=2)
    assert zone_for_tzinfo(old_us, year=2026) == "America/New_York"


def test_absolute_dates_are_matched_in_their_year() -> None:
    info = TimeZoneInfo(
        bias=300,
        standard_date=SystemTime(year=2026, month=11, day=1, hour=2),
        daylight_date=SystemTime(year=2026, month=3, day=8, hour=2),
        daylight_bias=-60,
    )
    assert zone_for_tzinfo(info, year=2030) == "America/New_York"


def test_unmatched_rules_fall_back_to_a_fixed_offset() -> None:
    summer_in_june = TimeZoneInfo(
        bias=300,
        standard_date=SystemTime(month=12, day=1, hour=2),
        daylight_date=SystemTime(month=6, day=1, hour=2),
        daylight_bias=-60,
    )
    assert zone_for_tzinfo(summer_in_june, year=2026) == "Etc/GMT+5"  # POSIX sign: UTC-5
    for bias, zone in [(720, "Etc/GMT+12"), (-840, "Etc/GMT-14"), (0, "UTC")]:
        assert zone_for_tzinfo(replace(summer_in_june, bias=bias), year=2026) == zone
    assert zone_for_tzinfo(TimeZoneInfo(bias=-60, daylight_bias=-60), year=2026) == "Africa/Lagos"
    odd = TimeZoneInfo(
        bias=-345,
        standard_date=SystemTime(month=12, day=1),
        daylight_date=SystemTime(month=6, day=1),
        daylight_bias=-60,
    )
    assert zone_for_tzinfo(odd, year=2026) == "Asia/Kathmandu"  # no Etc/ name for +05:45


def test_matching_is_fast_after_warm_up() -> None:
    blobs = [tzinfo_for_zone(zone, 2026) for zone in ("Europe/Paris", "America/New_York")]
    for info in blobs:
        zone_for_tzinfo(info, year=2026)
    started = time.perf_counter()
    for _ in range(100):
        for info in blobs:
            zone_for_tzinfo(info, year=2026, preferred="Asia/Tokyo")
    assert (time.perf_counter() - started) / 200 < 0.005


# -- zone -> blob -> zone -----------------------------------------------------------------------

ROUND_TRIP = [
    "Europe/Paris",
    "Europe/London",
    "Europe/Helsinki",
    "Europe/Moscow",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
    "America/Halifax",
    "America/St_Johns",
    "America/Sao_Paulo",
    "America/Santiago",
    "Australia/Sydney",
    "Australia/Adelaide",
    "Australia/Brisbane",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Asia/Tehran",
    "Asia/Tokyo",
    "Asia/Jerusalem",
    "Pacific/Auckland",
    "Pacific/Chatham",
    "Africa/Johannesburg",
    "Africa/Cairo",
    "UTC",
]


@pytest.mark.parametrize("zone", ROUND_TRIP)
def test_round_trip_returns_the_zone(zone: str) -> None:
    assert zone_for_tzinfo(tzinfo_for_zone(zone, 2026), year=2026) == zone
    for year in (2005, 2019, 2037):
        _assert_same_offsets(zone, zone_for_tzinfo(tzinfo_for_zone(zone, year), year=year), year)


def test_blobs_follow_the_conventions() -> None:
    paris = tzinfo_for_zone("Europe/Paris", 2026)
    assert (paris.bias, paris.daylight_bias) == (-60, -60)
    assert paris.standard_date == SystemTime(month=10, day=5, hour=3)  # last Sunday, 03:00 CEST
    assert paris.daylight_date == SystemTime(month=3, day=5, hour=2)  # last Sunday, 02:00 CET
    assert (paris.standard_name, paris.daylight_name) == ("CET", "CEST")
    sydney = tzinfo_for_zone("Australia/Sydney", 2026)  # daylight starts later in the year
    assert sydney.daylight_date == SystemTime(month=10, day=1, hour=2)
    assert sydney.standard_date == SystemTime(month=4, day=1, hour=3)
    lord_howe = tzinfo_for_zone("Australia/Lord_Howe", 2026)
    assert (lord_howe.bias, lord_howe.daylight_bias) == (-630, -30)
    tokyo = tzinfo_for_zone("Asia/Tokyo", 2026)
    assert (tokyo.bias, tokyo.standard_date, tokyo.daylight_date) == (
        -540,
        SystemTime(),
        SystemTime(),
    )
    assert tzinfo_for_zone("Asia/Kathmandu", 2026).bias == -345
    sao_paulo = tzinfo_for_zone("America/Sao_Paulo", 2026)  # no daylight time since 2019
    assert (sao_paulo.bias, sao_paulo.daylight_date.month) == (180, 0)


def test_a_year_with_one_change_uses_the_year_boundary_idiom() -> None:
    # Brazil's last daylight period ended on 2019-02-17 and never came back
    info = tzinfo_for_zone("America/Sao_Paulo", 2019)
    assert info.daylight_date == SystemTime(month=1, day_of_week=2, day=1)  # Tue Jan 1 00:00
    assert info.standard_date == SystemTime(month=2, day=3)  # third Sunday of February
    assert zone_for_tzinfo(info, year=2019) == "America/Sao_Paulo"


def test_casablanca_is_best_effort() -> None:
    info = tzinfo_for_zone("Africa/Casablanca", 2026)  # +01, +00 during Ramadan
    assert (info.standard_offset, info.daylight_offset) == (0, 60)
    _assert_same_offsets("Africa/Casablanca", zone_for_tzinfo(info, year=2026), 2026)


def test_far_years_are_clamped() -> None:
    assert tzinfo_for_zone("Europe/Paris", 9999) == tzinfo_for_zone("Europe/Paris", 2500)
    assert tzinfo_for_zone("Asia/Tokyo", 1).bias == tzinfo_for_zone("Asia/Tokyo", 1900).bias


def test_unknown_zones_are_value_errors() -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        tzinfo_for_zone("Mars/Olympus_Mons", 2026)
    with pytest.raises(ValueError, match="unknown time zone"):
        tzinfo_for_zone("../../etc/passwd", 2026)


@lru_cache(maxsize=4096)
def _changes(zone: str, year: int) -> tuple[datetime, ...]:
    """The zone's offset changes in ``year``, found independently: daily samples, bisected."""
    tz = zoneinfo.ZoneInfo(zone)

    def offset(moment: datetime) -> timedelta | None:
        return moment.astimezone(tz).utcoffset()

    found = []
    low = datetime(year, 1, 1, tzinfo=UTC)
    before = offset(low)
    while low.year == year:
        high = low + timedelta(days=1)
        if (after := offset(high)) != before:
            left, right = low, high
            while right - left > timedelta(seconds=1):
                middle = left + (right - left) / 2
                left, right = (middle, right) if offset(middle) == before else (left, middle)
            found.append(right)
        low, before = high, after
    return tuple(found)


def _assert_same_offsets(expected: str, actual: str, year: int) -> None:
    one, two = zoneinfo.ZoneInfo(expected), zoneinfo.ZoneInfo(actual)
    instants = [datetime(year, 1, 1, 12, tzinfo=UTC) + timedelta(days=day) for day in range(364)]
    for change in _changes(expected, year) + _changes(actual, year):
        instants += [change - timedelta(seconds=1), change]
    for moment in instants:
        assert moment.astimezone(one).utcoffset() == moment.astimezone(two).utcoffset(), (
            f"{expected} vs {actual} at {moment}"
        )


def _canonical_zones() -> list[str]:
    return sorted(
        name
        for name in zoneinfo.available_timezones()
        if "/" in name and not name.startswith(("Etc/", "posix/", "right/", "SystemV/"))
    )


@given(zone=st.sampled_from(_canonical_zones()), year=st.integers(2000, 2037))
def test_round_trip_keeps_every_offset(zone: str, year: int) -> None:
    """Wherever one year fits in a blob (at most two changes between two offsets)."""
    tz = zoneinfo.ZoneInfo(zone)
    changes = _changes(zone, year)
    offsets = {moment.astimezone(tz).utcoffset() for moment in changes}
    offsets.add(datetime(year, 1, 1, tzinfo=UTC).astimezone(tz).utcoffset())
    assume(len(changes) <= 2 and len(offsets) <= 2)
    _assert_same_offsets(zone, zone_for_tzinfo(tzinfo_for_zone(zone, year), year=year), year)


_times = st.builds(
    SystemTime,
    year=st.sampled_from([0, 0, 2026, 1899, 65535]),
    month=st.integers(0, 13),
    day_of_week=st.integers(0, 7),
    day=st.integers(0, 6),
    hour=st.integers(0, 25),
    minute=st.sampled_from([0, 30, 59, 61]),
)
_blobs = st.builds(
    TimeZoneInfo,
    bias=st.integers(-60, 60).map(lambda quarter: quarter * 15),
    standard_date=_times,
    standard_bias=st.sampled_from([0, 0, -60]),
    daylight_date=_times,
    daylight_bias=st.sampled_from([-60, -30, 0, 60]),
) | st.binary(min_size=172, max_size=172).map(TimeZoneInfo.from_bytes)


@given(info=_blobs, year=st.sampled_from([1, 2026, 9999]), preferred=st.sampled_from([None, "x"]))
def test_any_blob_maps_to_a_loadable_zone(
    info: TimeZoneInfo, year: int, preferred: str | None
) -> None:
    """Whatever a client sends: no exception, and a name zoneinfo can load."""
    zone = zone_for_tzinfo(info, year=year, preferred=preferred)
    assert zoneinfo.ZoneInfo(zone).key == zone


# -- real blobs from Horde's test vectors ------------------------------------------------------


def _horde_timezones() -> list[str]:
    from lxml import etree

    from protocol.wbxml import HEADER, decode, decode_fragment

    texts = []
    for path in sorted((VECTORS / "horde").glob("*.wbxml")):
        data = path.read_bytes()
        fragment = path.name in {"allday_appointment.wbxml", "meeting_request_one.wbxml"}
        root: etree._Element = decode_fragment(data) if fragment else decode(HEADER + data)
        texts += [element.text or "" for element in root.iter("{Calendar:}Timezone")]
    return texts


@pytest.mark.skipif(not (VECTORS / "horde").is_dir(), reason=f"{VECTORS} is absent")
def test_horde_blobs_decode_byte_exact_and_map_to_new_york() -> None:
    texts = _horde_timezones()
    assert len(texts) >= 5
    for text in texts:
        info = TimeZoneInfo.from_base64(text)
        assert info.to_base64() == text
        assert (info.bias, info.daylight_bias) == (300, -60)  # US Eastern
        for year in (2007, 2012, 2026):
            assert zone_for_tzinfo(info, year=year) == "America/New_York"
    # appointment.wbxml carries the 2007+ rules exactly
    assert TimeZoneInfo.from_base64(texts[1]).daylight_date == SystemTime(month=3, day=2, hour=2)


# -- VTIMEZONE ----------------------------------------------------------------------------------


def test_vtimezone_covers_the_span() -> None:
    start = datetime(2026, 3, 1, tzinfo=UTC)
    component = vtimezone("Australia/Sydney", start, start + timedelta(days=400))
    assert isinstance(component, icalendar.Timezone)
    assert str(component["TZID"]) == "Australia/Sydney"
    daylight = [c for c in component.subcomponents if c.name == "DAYLIGHT"]
    standard = [c for c in component.subcomponents if c.name == "STANDARD"]
    assert len(daylight) >= 2  # 2026 and 2027 spring transitions (and Jan 1 2026)
    assert standard
    assert {c["TZOFFSETTO"].td for c in daylight} == {timedelta(hours=11)}
    assert {c["TZOFFSETTO"].td for c in standard} == {timedelta(hours=10)}


def test_vtimezone_components_are_independent() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    first = vtimezone("Asia/Tokyo", start, start)
    first["TZID"] = "changed"
    assert str(vtimezone("Asia/Tokyo", start, start)["TZID"]) == "Asia/Tokyo"
    assert b"TZOFFSETTO:+0900" in first.to_ical()


def test_vtimezone_unknown_zone() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="unknown time zone"):
        vtimezone("Nowhere/Special", start, start)
