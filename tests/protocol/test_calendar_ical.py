"""CalendarItem <-> iCalendar: mapping, Horde vectors, all-day dates, property round trips.

The Change merge lives in test_calendar_ical_stored.py and recurring series in
test_calendar_ical_series.py; the helpers here are shared with both (and with
test_calendar_ical_edges.py), so they stay in this module.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from lxml import etree

from protocol import wbxml
from protocol.calendar.ical import ical_to_item, item_to_ical
from protocol.calendar.model import (
    Attendee,
    Body,
    BodyPreference,
    CalendarItem,
    parse_calendar,
    render_calendar,
)
from protocol.calendar.recurrence import Recurrence, RecurrenceType
from protocol.calendar.timezone import TimeZoneInfo, tzinfo_for_zone
from tests.conftest import VECTORS

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
VERSIONS = ("12.0", "12.1", "14.0", "14.1", "16.0", "16.1")
ZONES = (
    "UTC",
    "Europe/Berlin",
    "Europe/London",
    "America/Los_Angeles",
    "America/New_York",
    "America/Sao_Paulo",
    "Pacific/Auckland",
    "Australia/Sydney",
    "Asia/Kolkata",
    "Asia/Tokyo",
    "Pacific/Honolulu",
    "Pacific/Kiritimati",
    "America/St_Johns",
)
CAL = "{Calendar:}"


def _event(text: str) -> icalendar.Event:
    calendar = icalendar.Calendar.from_ical(text)
    (master,) = [e for e in calendar.walk("VEVENT") if "RECURRENCE-ID" not in e]
    return master


def _to_ical(
    item: CalendarItem, version: str = "14.1", stored: str | None = None, **kw: object
) -> str:
    return item_to_ical(item, version=version, stored=stored, supported=None, now=NOW, **kw)  # type: ignore[arg-type]


def _rules(info: TimeZoneInfo | None) -> TimeZoneInfo | None:
    """A Timezone blob without its display names (zone names may change, rules may not)."""
    if info is None:
        return None
    return dataclasses.replace(info, standard_name="", daylight_name="")


def _meeting(version: str = "14.1") -> CalendarItem:
    return CalendarItem(
        timezone=tzinfo_for_zone("Europe/Berlin", 2026),
        all_day=False,
        start_time=datetime(2026, 11, 25, 10, tzinfo=UTC),
        end_time=datetime(2026, 11, 25, 11, tzinfo=UTC),
        dt_stamp=datetime(2026, 11, 20, 8, 30, 12, tzinfo=UTC),
        subject="Project review",
        location="Room 4.12",
        body=Body(type=1, data="Agenda\n1. Status"),
        organizer_name="Alice Schmidt",
        organizer_email="alice@example.com",
        attendees=(
            Attendee(email="bob@example.com", name="Bob", status=3, type=1),
            Attendee(email="carla@example.com", name="Carla", status=5, type=2),
            Attendee(email="dan@example.com", name="Dan", status=0, type=1),
            Attendee(email="room@example.com", name="Room", status=2, type=3),
        ),
        busy_status=2,
        sensitivity=0,
        reminder=15,
        categories=("Work", "Q1, planning"),
        meeting_status=1,
        response_requested=True,
        response_type=1,
        appointment_reply_time=datetime(2026, 11, 21, 12, tzinfo=UTC),
        disallow_new_time_proposal=True,
        uid="040000008200E00074C5B7101A82E008",
    )


# --------------------------------------------------------------------------
# The mapping a human expects


def test_meeting_maps_to_the_expected_properties() -> None:
    event = _event(_to_ical(_meeting()))
    assert event["SUMMARY"] == "Project review"
    assert event["DTSTART"].params["TZID"] in {"Europe/Berlin", "Europe/Paris"}
    assert event.decoded("DTSTART") == datetime(2026, 11, 25, 10, tzinfo=UTC)
    assert event.decoded("DTEND") == datetime(2026, 11, 25, 11, tzinfo=UTC)
    assert event["LOCATION"] == "Room 4.12"
    assert event["DESCRIPTION"] == "Agenda\n1. Status"
    assert event["ORGANIZER"] == "mailto:alice@example.com"
    attendees = {str(a): a.params for a in event["ATTENDEE"]}
    assert attendees["mailto:bob@example.com"]["PARTSTAT"] == "ACCEPTED"
    assert attendees["mailto:carla@example.com"]["ROLE"] == "OPT-PARTICIPANT"
    assert attendees["mailto:carla@example.com"]["PARTSTAT"] == "NEEDS-ACTION"
    assert attendees["mailto:room@example.com"]["CUTYPE"] == "RESOURCE"
    assert attendees["mailto:room@example.com"]["PARTSTAT"] == "TENTATIVE"
    assert event["TRANSP"] == "OPAQUE"
    assert event["X-MICROSOFT-CDO-BUSYSTATUS"] == "BUSY"
    assert event["CLASS"] == "PUBLIC"
    (alarm,) = event.walk("VALARM")
    assert alarm.decoded("TRIGGER") == timedelta(minutes=-15)
    assert event["UID"] == "040000008200E00074C5B7101A82E008"
    calendar = icalendar.Calendar.from_ical(_to_ical(_meeting()))
    assert [str(z["TZID"]) for z in calendar.walk("VTIMEZONE")] == [event["DTSTART"].params["TZID"]]


def test_html_body_is_text_in_description_and_html_in_x_alt_desc() -> None:
    html = "<html><body><p>Join <b>here</b></p></body></html>"
    item = dataclasses.replace(_meeting(), body=Body(type=2, data=html))
    event = _event(_to_ical(item))
    assert event["DESCRIPTION"] == "Join here"
    assert event["X-ALT-DESC"] == html
    assert event["X-ALT-DESC"].params["FMTTYPE"] == "text/html"
    back = ical_to_item(_to_ical(item), version="14.1", body_preference=BodyPreference(type=2))
    assert back.body == Body(type=2, data=html, estimated_size=len(html))
    assert back.native_body_type == 2
    plain = ical_to_item(_to_ical(item), version="14.1", body_preference=BodyPreference(type=1))
    assert plain.body is not None
    assert plain.body.data == "Join here"


@pytest.mark.parametrize("version", VERSIONS)
def test_meeting_round_trips_per_version(version: str) -> None:
    item = _meeting(version)
    if version.startswith("16"):
        item = dataclasses.replace(item, uid=None, client_uid="F7C1E5B2")
    back = ical_to_item(_to_ical(item, version), version=version, body_preference=None)
    for field in dataclasses.fields(CalendarItem):
        name = field.name
        if name in {"present", "native_body_type", "body", "timezone"}:
            continue
        if name == "uid" and version.startswith("16"):
            assert back.uid  # generated by the server and returned (EAS-NOTES)
            continue
        assert getattr(back, name) == getattr(item, name), name
    assert _rules(back.timezone) == _rules(item.timezone)
    assert back.body is not None
    assert back.body.data == "Agenda\n1. Status"


# --------------------------------------------------------------------------
# Horde vectors (fragments without the WBXML header: PROVENANCE.md)

needs_vectors = pytest.mark.skipif(not VECTORS.is_dir(), reason=f"{VECTORS} is absent")


def _horde(name: str) -> CalendarItem:
    data = (VECTORS / "horde" / f"{name}.wbxml").read_bytes()
    document = wbxml.HEADER + (data if data[:1] == b"\x5d" else b"\x5d" + data + b"\x01")
    return parse_calendar(wbxml.decode(document), "12.1")


@needs_vectors
def test_horde_appointment() -> None:
    event = _event(_to_ical(_horde("appointment"), "12.1"))
    assert event["DTSTART"].params["TZID"] == "America/New_York"
    assert event["DTSTART"].to_ical() == b"20111201T150000"
    assert event["DTEND"].to_ical() == b"20111201T160000"
    assert event["SUMMARY"] == "Event Title"
    assert event["LOCATION"] == "Philadelphia, PA"
    assert event["DESCRIPTION"] == "Event Description"
    assert event["CLASS"] == "X-PERSONAL"


@needs_vectors
def test_horde_all_day_is_a_date() -> None:
    event = _event(_to_ical(_horde("allday_appointment"), "12.1"))
    assert event.decoded("DTSTART") == date(1970, 3, 20)
    assert event.decoded("DTEND") == date(1970, 3, 21)
    assert event["DTSTART"].params.get("VALUE") == "DATE"
    back = ical_to_item(
        _to_ical(_horde("allday_appointment"), "12.1"), version="12.1", body_preference=None
    )
    assert back.start_time == datetime(1970, 3, 20, 5, tzinfo=UTC)
    assert back.all_day is True


@needs_vectors
def test_horde_recurrence() -> None:
    event = _event(_to_ical(_horde("recurrence"), "12.1"))
    rule = event["RRULE"]
    assert rule["FREQ"] == ["WEEKLY"]
    assert rule["INTERVAL"] == [2]
    assert [str(day) for day in rule["BYDAY"]] == ["TH"]


@needs_vectors
def test_horde_simple_exception_is_an_exdate() -> None:
    event = _event(_to_ical(_horde("simpleexception"), "12.1"))
    (exdate,) = event["EXDATE"].dts
    assert exdate.dt == datetime(2011, 12, 29, 15, tzinfo=ZoneInfo("America/New_York"))
    assert event["EXDATE"].params["TZID"] == "America/New_York"
    back = ical_to_item(
        _to_ical(_horde("simpleexception"), "12.1"), version="12.1", body_preference=None
    )
    assert back.exceptions is not None
    assert [(e.original_start, e.deleted) for e in back.exceptions] == [
        (datetime(2011, 12, 29, 20, tzinfo=UTC), True)
    ]


@needs_vectors
def test_horde_dst_recurrence_keeps_local_time() -> None:
    text = _to_ical(_horde("dst"), "12.1")
    event = _event(text)
    assert event["DTSTART"].to_ical() == b"20111001T150000"
    assert [str(day) for day in event["RRULE"]["BYDAY"]] == ["SA"]
    back = ical_to_item(text, version="12.1", body_preference=None)
    assert back.recurrence is not None
    # recurrence.py writes WKST=SU (Exchange's default) for every-n-weeks rules.
    assert dataclasses.replace(back.recurrence, first_day_of_week=None) == Recurrence(
        type=RecurrenceType.WEEKLY, interval=2, day_of_week=64
    )


# --------------------------------------------------------------------------
# All-day events: no day shift, east or west of UTC


def _all_day_14(zone: str, day: date) -> CalendarItem:
    tz = ZoneInfo(zone)
    return CalendarItem(
        timezone=tzinfo_for_zone(zone, day.year),
        all_day=True,
        start_time=datetime.combine(day, time(), tz).astimezone(UTC),
        end_time=datetime.combine(day + timedelta(days=1), time(), tz).astimezone(UTC),
        subject="Holiday",
    )


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("day", [date(2026, 1, 15), date(2026, 7, 4), date(2026, 3, 29)])
def test_all_day_14_1_round_trip(zone: str, day: date) -> None:
    item = _all_day_14(zone, day)
    text = _to_ical(item, "14.1")
    event = _event(text)
    assert event.decoded("DTSTART") == day
    assert event.decoded("DTEND") == day + timedelta(days=1)
    back = ical_to_item(text, version="14.1", body_preference=None)
    assert back.all_day is True
    assert back.start_time == item.start_time
    assert back.end_time == item.end_time
    assert _rules(back.timezone) == _rules(item.timezone)


@pytest.mark.parametrize("zone", ZONES)
def test_all_day_16_1_round_trip(zone: str) -> None:
    item = CalendarItem(
        all_day=True,
        timezone=tzinfo_for_zone(zone, 2026),
        start_time=date(2026, 12, 24),
        end_time=date(2026, 12, 26),
        subject="Christmas",
    )
    text = _to_ical(item, "16.1")
    event = _event(text)
    assert event.decoded("DTSTART") == date(2026, 12, 24)
    assert event.decoded("DTEND") == date(2026, 12, 26)
    back = ical_to_item(text, version="16.1", body_preference=None)
    assert (back.start_time, back.end_time) == (date(2026, 12, 24), date(2026, 12, 26))
    # The same event read by a 14.1 phone in its own zone: local midnight of the same dates.
    old = ical_to_item(text, version="14.1", body_preference=None, default_zone=zone)
    assert old.start_time == datetime(2026, 12, 24, tzinfo=ZoneInfo(zone)).astimezone(UTC)


@pytest.mark.parametrize("zone", ["Pacific/Auckland", "America/Los_Angeles", "Asia/Kolkata"])
def test_all_day_from_a_14_1_phone_reaches_a_16_1_phone_on_the_same_date(zone: str) -> None:
    text = _to_ical(_all_day_14(zone, date(2026, 2, 1)), "14.1")
    item = ical_to_item(text, version="16.1", body_preference=None)
    assert item.start_time == date(2026, 2, 1)
    rendered = {etree.QName(e).localname: e.text for e in render_calendar(item, "16.1")}
    assert rendered["StartTime"] == "20260201T000000Z"
    assert "Timezone" not in rendered


def test_all_day_blob_an_hour_off_still_lands_on_the_date() -> None:
    """grommunio #136: a phone's blob with other DST rules must not shift the day."""
    item = _all_day_14("Europe/Berlin", date(2026, 7, 1))
    shifted = dataclasses.replace(item, start_time=item.start_time - timedelta(hours=1))  # type: ignore[operator]
    assert _event(_to_ical(shifted)).decoded("DTSTART") == date(2026, 7, 1)


# --------------------------------------------------------------------------
# Hypothesis: EAS -> iCal -> EAS is stable per field


_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1, max_size=30
).filter(lambda s: s.strip() == s and s != "")
_NAME = _TEXT.filter(lambda s: "\\" not in s)  # CN: backslashes become "/" (ical_fields)
_EMAIL = st.from_regex(r"[a-z]{1,8}@[a-z]{1,8}\.example", fullmatch=True)
_ATTENDEE = st.builds(
    Attendee,
    email=_EMAIL,
    name=_NAME,
    status=st.sampled_from([None, 0, 2, 3, 4, 5]),
    type=st.sampled_from([None, 1, 2, 3]),
)


def _local(value: datetime | date, zone: str) -> datetime | date:
    return value.astimezone(ZoneInfo(zone)) if isinstance(value, datetime) else value


@st.composite
def _items(draw: st.DrawFn, version: str) -> CalendarItem:
    zone = draw(st.sampled_from(ZONES))
    all_day = draw(st.booleans())
    day = draw(st.dates(date(2000, 1, 1), date(2035, 12, 31)))
    length = draw(st.integers(1, 3))
    if all_day and version.startswith("16"):
        start: datetime | date = day
        end: datetime | date = day + timedelta(days=length)
    elif all_day:
        tz = ZoneInfo(zone)
        start = datetime.combine(day, time(), tz).astimezone(UTC)
        end = datetime.combine(day + timedelta(days=length), time(), tz).astimezone(UTC)
    else:
        start = datetime.combine(
            day, time(draw(st.integers(0, 23)), 15 * draw(st.integers(0, 3))), UTC
        )
        end = start + timedelta(minutes=15 * draw(st.integers(0, 40)))
    recurrence = draw(
        st.none()
        | st.builds(
            Recurrence,
            type=st.just(RecurrenceType.DAILY),
            interval=st.integers(1, 5),
            occurrences=st.integers(1, 30),
        )
    )
    if recurrence is not None and not all_day:
        # A series cannot start in the second pass of a repeated hour: its DTSTART
        # must be a TZID time for the rule, and such a time means the first pass
        # (RFC 5545 3.3.5; ical_times.write_times). A single event can, in UTC.
        local = start.astimezone(ZoneInfo(zone))
        assume(local.replace(fold=0).utcoffset() == local.utcoffset())
    return CalendarItem(
        timezone=tzinfo_for_zone(zone, _local(start, zone).year),
        all_day=all_day,
        start_time=start,
        end_time=end,
        subject=draw(st.none() | _TEXT),
        location=draw(st.none() | _TEXT),
        body=draw(st.none() | st.builds(Body, type=st.just(1), data=_TEXT)),
        organizer_email=draw(st.none() | _EMAIL),
        attendees=draw(st.none() | st.lists(_ATTENDEE, min_size=1, max_size=3).map(tuple)),
        busy_status=draw(st.none() | st.integers(0, 4)),
        sensitivity=draw(st.none() | st.integers(0, 3)),
        reminder=draw(st.none() | st.integers(0, 10080)),
        categories=draw(st.none() | st.lists(_TEXT, min_size=1, max_size=3).map(tuple)),
        meeting_status=draw(st.none() | st.sampled_from([0, 1, 3, 5, 7, 9, 11, 13, 15])),
        response_requested=draw(st.none() | st.booleans()),
        response_type=draw(st.none() | st.integers(0, 5)),
        disallow_new_time_proposal=draw(st.none() | st.booleans()),
        recurrence=recurrence,
    )


_STABLE = (
    "all_day",
    "start_time",
    "end_time",
    "subject",
    "location",
    "organizer_email",
    "attendees",
    "busy_status",
    "sensitivity",
    "reminder",
    "categories",
    "response_requested",
    "response_type",
    "disallow_new_time_proposal",
    "recurrence",
)


@pytest.mark.parametrize("version", ["12.1", "14.1", "16.1"])
def test_eas_ical_eas_is_stable(version: str) -> None:
    @settings(max_examples=30, deadline=None)
    @given(_items(version))
    def check(item: CalendarItem) -> None:
        back = ical_to_item(_to_ical(item, version), version=version, body_preference=None)
        for name in _STABLE:
            assert getattr(back, name) == getattr(item, name), name
        assert (back.body.data if back.body else None) == (item.body.data if item.body else None)
        if item.meeting_status is not None:
            assert back.meeting_status == item.meeting_status
        if not (item.all_day and version.startswith("16")):
            assert _rules(back.timezone) == _rules(item.timezone)
        # Once through, a second pass changes nothing.
        again = ical_to_item(_to_ical(back, version), version=version, body_preference=None)
        assert dataclasses.replace(again, uid=back.uid, dt_stamp=back.dt_stamp) == back

    check()


def test_a_backslash_in_a_display_name_does_not_break_the_address() -> None:
    item = dataclasses.replace(
        _meeting(), attendees=(Attendee(email="bob@example.com", name="Bob\\"),)
    )
    back = ical_to_item(_to_ical(item), version="14.1", body_preference=None)
    assert back.attendees == (Attendee(email="bob@example.com", name="Bob/"),)
