"""protocol.calendar.recurrence: the Recurrence and Exceptions WBXML trees, Horde vectors.

The RRULE mapping is tested in test_recurrence_rrule.py and EXDATE/overrides in
test_recurrence_overrides.py; the helpers here are shared with both.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
from dateutil.rrule import rrulestr
from lxml import etree

from protocol.calendar.exceptions_wbxml import parse_exceptions, render_exceptions
from protocol.calendar.recurrence import (
    ExceptionData,
    Recurrence,
    RecurrenceError,
    RecurrenceType,
    parse_recurrence,
    recurrence_to_rrule,
    render_recurrence,
    rrule_to_recurrence,
)
from protocol.wbxml import HEADER, decode, encode
from tests.conftest import VECTORS

CAL = "{Calendar:}"
BASE = "{AirSyncBase:}"
VERSIONS = ("12.0", "12.1", "14.0", "14.1", "16.0", "16.1")
needs_vectors = pytest.mark.skipif(not VECTORS.is_dir(), reason=f"{VECTORS} is absent")


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def _names(element: etree._Element) -> list[str]:
    return [etree.QName(child).localname for child in element]


def _expand(
    rrule: icalendar.vRecur, start: date | datetime, zone: str, limit: int = 40
) -> list[datetime]:
    """Local wall-clock occurrences (naive), expanded by dateutil in ``zone``."""
    if isinstance(start, datetime):
        dtstart: datetime = start.astimezone(ZoneInfo(zone))
    else:
        dtstart = datetime.combine(start, time())
    rule = rrulestr(rrule.to_ical().decode(), dtstart=dtstart)
    return [moment.replace(tzinfo=None) for moment in itertools.islice(rule, limit)]


def _rule(text: str) -> icalendar.vRecur:
    return icalendar.vRecur.from_ical(text)


# --- Recurrence tree ------------------------------------------------------------------

FULL = Recurrence(
    type=RecurrenceType.YEARLY_NTH,
    interval=2,
    until=_utc(2030, 1, 1, 12),
    week_of_month=5,
    day_of_week=32,
    month_of_year=11,
    day_of_month=None,
    first_day_of_week=1,
    calendar_type=1,
    is_leap_month=False,
)


@pytest.mark.parametrize("version", VERSIONS)
def test_recurrence_round_trips_per_version(version: str) -> None:
    element = render_recurrence(FULL, version)
    expected = FULL
    if version < "14.0":
        expected = replace(expected, calendar_type=None, is_leap_month=None)
    if version < "14.1":
        expected = replace(expected, first_day_of_week=None)
    assert parse_recurrence(element, version) == expected
    assert encode(element)  # every tag exists in the code pages


def test_recurrence_children_follow_exchange_order() -> None:
    rec = replace(FULL, occurrences=3, until=_utc(2030, 1, 1), day_of_month=4)
    assert _names(render_recurrence(rec, "16.1")) == [
        "Type",
        "Occurrences",
        "Interval",
        "WeekOfMonth",
        "DayOfWeek",
        "MonthOfYear",
        "Until",
        "DayOfMonth",
        "CalendarType",
        "IsLeapMonth",
        "FirstDayOfWeek",
    ]
    until = render_recurrence(rec, "14.1").find(f"{CAL}Until")
    assert until is not None
    assert until.text == "20300101T000000Z"


def _tree(xml: str) -> etree._Element:
    return etree.fromstring(f'<Recurrence xmlns="Calendar:">{xml}</Recurrence>')


@pytest.mark.parametrize(
    "xml",
    [
        "<Interval>1</Interval>",
        "<Type>4</Type>",
        "<Type>x</Type>",
        "<Type>2</Type><Until>2020</Until>",
    ],
)
def test_bad_recurrence_raises(xml: str) -> None:
    with pytest.raises(RecurrenceError):
        parse_recurrence(_tree(xml), "14.1")


def test_zero_interval_is_read_as_one() -> None:
    rec = parse_recurrence(_tree("<Type>0</Type><Interval>0</Interval>"), "12.1")
    assert rec == Recurrence(type=RecurrenceType.DAILY)


def test_model_rejects_out_of_range_values() -> None:
    with pytest.raises(RecurrenceError):
        Recurrence(type=RecurrenceType.MONTHLY_NTH, week_of_month=6)
    with pytest.raises(RecurrenceError):
        Recurrence(type=RecurrenceType.DAILY, until=datetime(2020, 1, 1))  # noqa: DTZ001
    with pytest.raises(RecurrenceError):
        ExceptionData(original_start=datetime(2020, 1, 1))  # noqa: DTZ001


# --- Exceptions tree ------------------------------------------------------------------

MODIFIED = ExceptionData(
    original_start=_utc(2024, 3, 5, 9),
    subject="Moved",
    start_time=_utc(2024, 3, 5, 10),
    end_time=_utc(2024, 3, 5, 11),
    body="notes",
    body_type=1,
    location="Room 2",
    categories=("Work", "Blue"),
    sensitivity=2,
    busy_status=1,
    all_day=False,
    reminder=15,
    dt_stamp=_utc(2024, 3, 1),
    meeting_status=1,
    attendees=(("a@example.com", "A"),),
    appointment_reply_time=_utc(2024, 3, 2),
    response_type=3,
    online_meeting_conf_link="sip:x@example.com;gruu",
    online_meeting_external_link="https://meet.example.com/x",
)
DELETED = ExceptionData(original_start=_utc(2024, 3, 12, 9), deleted=True)


def _parse_attendees(element: etree._Element, version: str) -> tuple[Any, ...]:
    return tuple((a.findtext(f"{CAL}Email"), a.findtext(f"{CAL}Name")) for a in element)


def _render_attendees(attendees: tuple[Any, ...], version: str) -> etree._Element:
    root = etree.Element(f"{CAL}Attendees")
    for email, name in attendees:
        attendee = etree.SubElement(root, f"{CAL}Attendee")
        etree.SubElement(attendee, f"{CAL}Email").text = email
        etree.SubElement(attendee, f"{CAL}Name").text = name
    return root


@pytest.mark.parametrize("version", VERSIONS)
def test_exceptions_round_trip_per_version(version: str) -> None:
    element = render_exceptions([MODIFIED, DELETED], version, render_attendees=_render_attendees)
    parsed = parse_exceptions(element, version, parse_attendees=_parse_attendees)
    expected = MODIFIED
    if version < "14.0":
        expected = replace(expected, appointment_reply_time=None, response_type=None)
    if version < "14.1":
        expected = replace(
            expected, online_meeting_conf_link=None, online_meeting_external_link=None
        )
    assert parsed == (expected, DELETED)
    assert encode(element)
    first = element[0]
    if version >= "16.0":
        assert first.find(f"{CAL}ExceptionStartTime") is None
        assert first.findtext(f"{BASE}InstanceId") == "20240305T090000Z"
        assert first.findtext(f"{BASE}Location/{BASE}DisplayName") == "Room 2"
    else:
        assert first.find(f"{BASE}InstanceId") is None
        assert first.findtext(f"{CAL}Location") == "Room 2"


def test_exception_children_follow_ms_ascal_order() -> None:
    element = render_exceptions(
        [replace(MODIFIED, deleted=True)], "14.1", render_attendees=_render_attendees
    )
    assert _names(element[0]) == [
        "Deleted",
        "ExceptionStartTime",
        "Subject",
        "StartTime",
        "EndTime",
        "Body",
        "Location",
        "Categories",
        "Sensitivity",
        "BusyStatus",
        "AllDayEvent",
        "Reminder",
        "DtStamp",
        "MeetingStatus",
        "Attendees",
        "AppointmentReplyTime",
        "ResponseType",
        "OnlineMeetingConfLink",
        "OnlineMeetingExternalLink",
    ]
    sixteen = render_exceptions(
        [MODIFIED], "16.1", render_attendees=_render_attendees, uid="series-uid"
    )
    assert _names(sixteen[0]) == [
        "Subject",
        "StartTime",
        "EndTime",
        "Body",
        "Location",
        "Categories",
        "Sensitivity",
        "BusyStatus",
        "AllDayEvent",
        "Reminder",
        "DtStamp",
        "UID",
        "InstanceId",
        "MeetingStatus",
        "Attendees",
        "AppointmentReplyTime",
        "ResponseType",
        "OnlineMeetingConfLink",
        "OnlineMeetingExternalLink",
    ]
    assert _names(render_exceptions([DELETED], "16.1")[0]) == ["Deleted", "InstanceId"]
    assert _names(render_exceptions([DELETED], "14.1", uid="x")[0]) == [
        "Deleted",
        "ExceptionStartTime",
    ]


def test_exception_without_original_start_raises() -> None:
    tree = etree.fromstring(
        '<Exceptions xmlns="Calendar:"><Exception><Deleted>1</Deleted></Exception></Exceptions>'
    )
    with pytest.raises(RecurrenceError):
        parse_exceptions(tree, "14.1")


def test_instance_id_in_datetime_format_is_read() -> None:
    tree = etree.fromstring(
        '<Exceptions xmlns="Calendar:" xmlns:b="AirSyncBase:"><Exception>'
        "<b:InstanceId>2024-03-05T09:00:00.000Z</b:InstanceId><Subject></Subject>"
        "</Exception></Exceptions>"
    )
    assert parse_exceptions(tree, "16.1") == (
        ExceptionData(original_start=_utc(2024, 3, 5, 9), subject=""),
    )


# --- Horde vectors ----------------------------------------------------------------------


def _horde(name: str) -> etree._Element:
    return decode(HEADER + (VECTORS / "horde" / name).read_bytes())


def _parse_time(text: str | None) -> datetime:
    return datetime.strptime(text or "", "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


@needs_vectors
@pytest.mark.parametrize(
    ("name", "byday"),
    [("recurrence.wbxml", "TH"), ("simpleexception.wbxml", "TH"), ("dst.wbxml", "SA")],
)
def test_horde_recurrences_become_the_expected_rrule(name: str, byday: str) -> None:
    root = _horde(name)
    element = root.find(f"{CAL}Recurrence")
    assert element is not None
    rec = parse_recurrence(element, "12.1")
    start = _parse_time(root.findtext(f"{CAL}StartTime"))
    zone = "America/New_York"  # the vectors' blob: bias 300, DST Mar 2nd Sun .. Nov 1st Sun
    rrule = recurrence_to_rrule(rec, start=start, zone=zone, all_day=False)
    assert rrule.to_ical().decode() == f"FREQ=WEEKLY;INTERVAL=2;BYDAY={byday}"
    assert rrule_to_recurrence(rrule, start=start, zone=zone, all_day=False) == rec
    occurrences = _expand(rrule, start, zone, limit=6)
    local_start = start.astimezone(ZoneInfo(zone))
    assert {moment.time() for moment in occurrences} == {local_start.time().replace(tzinfo=None)}
    assert [b - a for a, b in itertools.pairwise(occurrences)] == [timedelta(days=14)] * 5
