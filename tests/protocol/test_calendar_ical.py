"""CalendarItem <-> iCalendar: mapping, round trips, all-day dates, ghosting merge."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from lxml import etree

from protocol import wbxml
from protocol.calendar.ical import ical_to_item, item_to_ical
from protocol.calendar.instances import apply_instance
from protocol.calendar.model import (
    Attendee,
    Body,
    BodyPreference,
    CalendarItem,
    ConversionError,
    parse_calendar,
    render_calendar,
)
from protocol.calendar.recurrence import ExceptionData, Recurrence, RecurrenceType
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


# --------------------------------------------------------------------------
# Change: merge with the stored event, ghosting per version

STORED = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//other//EN
BEGIN:VEVENT
UID:stored-uid-1
DTSTAMP:20261101T000000Z
DTSTART;TZID=Europe/Berlin:20261125T110000
DTEND;TZID=Europe/Berlin:20261125T120000
SUMMARY:Project review
LOCATION:Room 4.12
DESCRIPTION:Join: https://meet.example.com/abc
CATEGORIES:Work
CLASS:PRIVATE
CONFERENCE;VALUE=URI;FEATURE=VIDEO:https://meet.example.com/abc
ATTACH:https://files.example.com/agenda.pdf
X-FOO:bar
X-MICROSOFT-ONLINEMEETINGCONFLINK:sip:alice@example.com;gruu
BEGIN:VALARM
ACTION:DISPLAY
DESCRIPTION:Reminder
TRIGGER:-PT10M
END:VALARM
END:VEVENT
END:VCALENDAR
"""


def _change(version: str, *children: etree._Element) -> CalendarItem:
    root = etree.Element("{AirSync:}ApplicationData")
    root.extend(children)
    return parse_calendar(wbxml.decode(wbxml.encode(root)), version)


def _leaf(name: str, text: str | None) -> etree._Element:
    element = etree.Element(f"{CAL}{name}")
    element.text = text
    return element


def _location(version: str, text: str) -> etree._Element:
    if version.startswith("16"):
        element = etree.Element("{AirSyncBase:}Location")
        name = etree.SubElement(element, "{AirSyncBase:}DisplayName")
        name.text = text
        return element
    return _leaf("Location", text)


def _merge(version: str, item: CalendarItem, supported: frozenset[str] | None) -> icalendar.Event:
    text = item_to_ical(item, version=version, stored=STORED, supported=supported, now=NOW)
    return _event(text)


@pytest.mark.parametrize("version", VERSIONS)
def test_unrepresentable_properties_survive_a_change(version: str) -> None:
    event = _merge(version, _change(version, _leaf("Subject", "Renamed")), None)
    assert event["SUMMARY"] == "Renamed"
    assert event["X-FOO"] == "bar"
    assert str(event["CONFERENCE"]) == "https://meet.example.com/abc"
    assert str(event["ATTACH"]) == "https://files.example.com/agenda.pdf"
    assert event["X-MICROSOFT-ONLINEMEETINGCONFLINK"] == "sip:alice@example.com;gruu"
    assert event["UID"] == "stored-uid-1"
    assert event.decoded("DTSTART") == datetime(2026, 11, 25, 10, tzinfo=UTC)
    assert event["DTSTART"].params["TZID"] == "Europe/Berlin"


@pytest.mark.parametrize("version", ["16.0", "16.1"])
def test_sixteen_ghosts_every_omitted_element(version: str) -> None:
    event = _merge(version, _change(version, _leaf("Subject", "Renamed")), None)
    assert event["LOCATION"] == "Room 4.12"
    assert event["CATEGORIES"].cats == ["Work"]
    assert event["CLASS"] == "PRIVATE"
    assert len(event.walk("VALARM")) == 1


@pytest.mark.parametrize("version", ["12.0", "12.1", "14.0", "14.1"])
def test_without_a_supported_list_omitted_elements_are_deleted(version: str) -> None:
    event = _merge(version, _change(version, _leaf("Subject", "Renamed")), None)
    assert "LOCATION" not in event
    assert "CATEGORIES" not in event
    assert "CLASS" not in event
    assert not event.walk("VALARM")
    assert "DESCRIPTION" not in event
    assert "X-FOO" in event  # server-owned and unrepresentable: kept whatever the rule


@pytest.mark.parametrize("version", ["12.1", "14.1"])
def test_supported_list_decides_what_an_omission_deletes(version: str) -> None:
    supported = frozenset({"Location", "Categories"})
    event = _merge(version, _change(version, _leaf("Subject", "Renamed")), supported)
    assert "LOCATION" not in event  # declared and omitted: deleted
    assert "CATEGORIES" not in event
    assert event["CLASS"] == "PRIVATE"  # not declared: ghosted, kept
    assert event["DESCRIPTION"] == "Join: https://meet.example.com/abc"
    assert len(event.walk("VALARM")) == 1


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("supported", [None, frozenset({"Subject"})])
def test_a_phone_can_clear_the_location(version: str, supported: frozenset[str] | None) -> None:
    item = _change(version, _location(version, ""))
    assert item.location == ""
    event = _merge(version, item, supported)
    assert "LOCATION" not in event
    assert ("SUMMARY" in event) == version.startswith("16")  # omitted: kept only in 16.x
    assert event["X-FOO"] == "bar"


def test_a_truncated_body_does_not_overwrite_the_stored_text() -> None:
    item = CalendarItem(
        body=Body(type=1, data="Join: https://me", truncated=True),
        present=frozenset({"Body"}),
    )
    event = _merge("16.1", item, None)
    assert event["DESCRIPTION"] == "Join: https://meet.example.com/abc"


def test_moving_the_event_keeps_the_stored_zone_name() -> None:
    item = _change(
        "14.1",
        _leaf("Timezone", tzinfo_for_zone("Europe/Berlin", 2026).to_base64()),
        _leaf("StartTime", "20261126T090000Z"),
        _leaf("EndTime", "20261126T100000Z"),
    )
    event = _merge("14.1", item, frozenset())
    assert event["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert event.decoded("DTSTART") == datetime(2026, 11, 26, 9, tzinfo=UTC)


def test_sixteen_add_gets_a_server_uid_and_keeps_the_client_uid() -> None:
    item = CalendarItem(
        start_time=datetime(2026, 11, 26, 12, tzinfo=UTC),
        end_time=datetime(2026, 11, 26, 13, tzinfo=UTC),
        client_uid="F7C1E5B2-0A9D",
        subject="Lunch",
    )
    event = _event(_to_ical(item, "16.1"))
    assert event["UID"]
    assert event["X-EASGW-CLIENT-UID"] == "F7C1E5B2-0A9D"
    back = ical_to_item(_to_ical(item, "16.1"), version="16.1", body_preference=None)
    uid_element = [e for e in render_calendar(back, "16.1") if etree.QName(e).localname == "UID"]
    assert uid_element
    assert uid_element[0].text


def test_server_owned_links_reach_the_phone() -> None:
    item = ical_to_item(STORED, version="14.1", body_preference=None)
    assert item.online_meeting_external_link == "https://meet.example.com/abc"
    assert item.online_meeting_conf_link == "sip:alice@example.com;gruu"
    names = [etree.QName(e).localname for e in render_calendar(item, "14.1")]
    assert names[-2:] == ["OnlineMeetingConfLink", "OnlineMeetingExternalLink"]
    assert "OnlineMeetingExternalLink" not in [
        etree.QName(e).localname for e in render_calendar(item, "14.0")
    ]


# --------------------------------------------------------------------------
# Unreadable input


def test_unreadable_ical_is_a_conversion_error() -> None:
    with pytest.raises(ConversionError):
        ical_to_item("this is not a calendar", version="14.1", body_preference=None)
    with pytest.raises(ConversionError):
        ical_to_item(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n",
            version="14.1",
            body_preference=None,
        )


def test_an_add_without_start_time_is_a_conversion_error() -> None:
    with pytest.raises(ConversionError):
        _to_ical(CalendarItem(subject="When?"))


# --------------------------------------------------------------------------
# Exceptions: deleted and modified occurrences, across a DST switch


def _corpus_series() -> CalendarItem:
    tree = etree.parse(str(Path(__file__).parent / "corpus" / "sync-response-calendar.xml"))
    first = next(tree.iter("{AirSync:}ApplicationData"))
    return parse_calendar(first, "14.1", response=True)


def test_modified_and_deleted_occurrences_round_trip() -> None:
    item = _corpus_series()
    text = _to_ical(item, "14.1")
    calendar = icalendar.Calendar.from_ical(text)
    overrides = [e for e in calendar.walk("VEVENT") if "RECURRENCE-ID" in e]
    (override,) = overrides
    assert override.decoded("RECURRENCE-ID") == datetime(2026, 12, 2, 10, tzinfo=UTC)
    assert override["SUMMARY"] == "Project review (afternoon this week)"
    assert override["LOCATION"] == "Room 2.01"
    assert override.decoded("DTSTART") == datetime(2026, 12, 2, 14, tzinfo=UTC)
    (exdate,) = _event(text)["EXDATE"].dts
    assert exdate.dt == datetime(2026, 12, 9, 10, tzinfo=UTC)
    back = ical_to_item(text, version="14.1", body_preference=None)
    assert back.exceptions is not None
    deleted, modified = sorted(back.exceptions, key=lambda e: not e.deleted)
    assert deleted.original_start == datetime(2026, 12, 9, 10, tzinfo=UTC)
    assert modified.original_start == datetime(2026, 12, 2, 10, tzinfo=UTC)
    assert modified.subject == "Project review (afternoon this week)"
    assert modified.location == "Room 2.01"
    assert modified.start_time == datetime(2026, 12, 2, 14, tzinfo=UTC)
    assert modified.end_time == datetime(2026, 12, 2, 15, tzinfo=UTC)
    sixteen = ical_to_item(text, version="16.1", body_preference=None)
    assert sixteen.exceptions == back.exceptions


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("version", ["14.1", "16.1"])
def test_weekly_series_across_dst_keeps_local_time(zone: str, version: str) -> None:
    tz = ZoneInfo(zone)
    first = datetime(2026, 3, 2, 9, tzinfo=tz)  # before the northern switch, after some southern
    later = datetime(2026, 4, 13, 9, tzinfo=tz)  # six weeks on, across the switch in most zones
    item = CalendarItem(
        timezone=tzinfo_for_zone(zone, 2026),
        start_time=first.astimezone(UTC),
        end_time=(first + timedelta(hours=1)).astimezone(UTC),
        subject="Weekly",
        recurrence=Recurrence(type=RecurrenceType.WEEKLY, day_of_week=2, occurrences=10),
        exceptions=(
            ExceptionData(original_start=later.astimezone(UTC), deleted=True),
            ExceptionData(
                original_start=(later + timedelta(days=7)).astimezone(UTC),
                subject="Moved",
                start_time=(later + timedelta(days=7, hours=2)).astimezone(UTC),
                end_time=(later + timedelta(days=7, hours=3)).astimezone(UTC),
            ),
        ),
    )
    text = _to_ical(item, version)
    event = _event(text)
    (exdate,) = event["EXDATE"].dts
    assert exdate.dt.astimezone(tz).hour == 9
    back = ical_to_item(text, version=version, body_preference=None)
    assert back.recurrence == item.recurrence
    assert back.exceptions is not None
    assert {e.original_start for e in back.exceptions} == {
        e.original_start for e in item.exceptions or ()
    }
    moved = next(e for e in back.exceptions if not e.deleted)
    assert moved.subject == "Moved"
    assert moved.start_time == (later + timedelta(days=7, hours=2)).astimezone(UTC)


# --------------------------------------------------------------------------
# 16.x: one occurrence edited or deleted by InstanceId


def _series_text() -> str:
    return _to_ical(_corpus_series(), "16.1")


def test_instance_change_overrides_one_occurrence() -> None:
    stored = _series_text()
    (application_data,) = [
        a
        for a in etree.parse(
            str(Path(__file__).parent / "corpus" / "sync-request-calendar-change.xml")
        ).iter("{AirSync:}ApplicationData")
        if a.find("{AirSyncBase:}InstanceId") is not None
    ]
    item = parse_calendar(application_data, "16.1")
    text = apply_instance(stored, item, version="16.1", now=NOW)
    back = ical_to_item(text, version="16.1", body_preference=None)
    assert back.exceptions is not None
    changed = next(e for e in back.exceptions if e.original_start == item.instance_id)
    assert changed.subject == "Project review (afternoon this week)"
    assert changed.busy_status == 1
    assert changed.location == "Room 2.01"  # the earlier override's value, not sent: kept
    assert back.subject == "Project review"  # the series is untouched
    assert _event(text)["UID"] == _event(stored)["UID"]


def test_instance_delete_adds_an_exdate() -> None:
    stored = _series_text()
    instance = datetime(2026, 12, 16, 10, tzinfo=UTC)
    text = apply_instance(stored, CalendarItem(instance_id=instance), version="16.1", deleted=True)
    exdates = _event(text)["EXDATE"]
    dates = {d.dt for e in (exdates if isinstance(exdates, list) else [exdates]) for d in e.dts}
    assert instance in dates
    assert datetime(2026, 12, 9, 10, tzinfo=UTC) in dates


def test_instance_on_a_single_event_is_a_conversion_error() -> None:
    stored = _to_ical(_meeting())
    with pytest.raises(ConversionError):
        apply_instance(stored, CalendarItem(instance_id=NOW), version="16.1", deleted=True)
    with pytest.raises(ConversionError):
        apply_instance(stored, CalendarItem(subject="x"), version="16.1")


def test_rescheduling_bumps_sequence_and_last_modified() -> None:
    item = _change("16.1", _leaf("StartTime", "20261126T090000Z"))
    event = _merge("16.1", item, None)
    assert event["SEQUENCE"] == 1
    assert event.decoded("LAST-MODIFIED") == NOW
    renamed = _merge("16.1", _change("16.1", _leaf("Subject", "x")), None)
    assert "SEQUENCE" not in renamed


@pytest.mark.parametrize(
    "stored",
    [
        "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:garbage\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    ],
)
def test_broken_stored_events_are_conversion_errors(stored: str) -> None:
    with pytest.raises(ConversionError):
        ical_to_item(stored, version="14.1", body_preference=None)


def test_a_body_without_data_keeps_the_stored_text() -> None:
    body = etree.Element("{AirSyncBase:}Body")
    etree.SubElement(body, "{AirSyncBase:}Type").text = "1"
    item = _change("14.1", body, _leaf("Subject", "Renamed"))
    assert "Body" in item.present
    event = _merge("14.1", item, None)
    assert event["DESCRIPTION"] == "Join: https://meet.example.com/abc"
    empty = etree.Element("{AirSyncBase:}Body")
    etree.SubElement(empty, "{AirSyncBase:}Data").text = ""
    cleared = _merge("14.1", _change("14.1", empty), None)
    assert "DESCRIPTION" not in cleared


def test_floating_times_are_read_as_utc() -> None:
    text = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:f\r\n"
        "DTSTAMP:20260101T000000Z\r\nDTSTART:20260105T090000\r\nDTEND:20260105T100000\r\n"
        "SUMMARY:Floating\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    item = ical_to_item(text, version="14.1", body_preference=None)
    assert item.start_time == datetime(2026, 1, 5, 9, tzinfo=UTC)
    assert item.end_time == datetime(2026, 1, 5, 10, tzinfo=UTC)


@pytest.mark.parametrize("zone", ["Pacific/Auckland", "America/Los_Angeles", "Pacific/Kiritimati"])
def test_sixteen_all_day_move_without_all_day_flag_keeps_the_date(zone: str) -> None:
    """A 16.x Change sends StartTime/EndTime (UTC midnight dates) and ghosts AllDayEvent."""
    stored = _to_ical(_all_day_14(zone, date(2026, 1, 15)), "14.1")
    item = _change(
        "16.1", _leaf("StartTime", "20260120T000000Z"), _leaf("EndTime", "20260121T000000Z")
    )
    event = _event(item_to_ical(item, version="16.1", stored=stored, supported=None, now=NOW))
    assert event.decoded("DTSTART") == date(2026, 1, 20)
    assert event.decoded("DTEND") == date(2026, 1, 21)


def test_attendees_resent_without_status_keep_their_replies() -> None:
    stored = _to_ical(_meeting())
    attendees = etree.Element(f"{CAL}Attendees")
    for email in ("bob@example.com", "eve@example.com"):
        attendee = etree.SubElement(attendees, f"{CAL}Attendee")
        etree.SubElement(attendee, f"{CAL}Email").text = email
        etree.SubElement(attendee, f"{CAL}Name").text = email[:3]
    item = _change("14.1", attendees)
    event = _event(item_to_ical(item, version="14.1", stored=stored, supported=None, now=NOW))
    params = {str(a): a.params for a in event["ATTENDEE"]}
    assert params["mailto:bob@example.com"]["PARTSTAT"] == "ACCEPTED"
    assert "PARTSTAT" not in params["mailto:eve@example.com"]
    assert "mailto:carla@example.com" not in params


def test_item_to_ical_routes_an_instance_change() -> None:
    stored = _series_text()
    instance = etree.Element("{AirSyncBase:}InstanceId")
    instance.text = "20261216T100000Z"
    item = _change("16.1", instance, _leaf("Subject", "Only this one"))
    assert item.instance_id == datetime(2026, 12, 16, 10, tzinfo=UTC)
    text = item_to_ical(item, version="16.1", stored=stored, supported=None, now=NOW)
    back = ical_to_item(text, version="16.1", body_preference=None)
    assert back.subject == "Project review"
    assert back.exceptions is not None
    assert any(e.subject == "Only this one" for e in back.exceptions)


def test_a_backslash_in_a_display_name_does_not_break_the_address() -> None:
    item = dataclasses.replace(
        _meeting(), attendees=(Attendee(email="bob@example.com", name="Bob\\"),)
    )
    back = ical_to_item(_to_ical(item), version="14.1", body_preference=None)
    assert back.attendees == (Attendee(email="bob@example.com", name="Bob/"),)
