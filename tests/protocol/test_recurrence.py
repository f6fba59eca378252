"""protocol.calendar.recurrence: Recurrence/Exceptions trees, RRULE mapping, EXDATE/overrides."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
from dateutil.rrule import rrulestr
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from protocol.calendar.exceptions_wbxml import parse_exceptions, render_exceptions
from protocol.calendar.overrides import exceptions_to_ical, ical_to_exceptions
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
ZONES = (
    "Europe/Berlin",
    "America/New_York",
    "America/Los_Angeles",
    "America/St_Johns",
    "America/Sao_Paulo",
    "Australia/Sydney",
    "Pacific/Auckland",
    "Pacific/Chatham",
    "Asia/Kolkata",
    "Asia/Tokyo",
    "Europe/London",
    "UTC",
)
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


@needs_vectors
def test_horde_simple_exception_becomes_an_exdate() -> None:
    root = _horde("simpleexception.wbxml")
    element = root.find(f"{CAL}Exceptions")
    assert element is not None
    exceptions = parse_exceptions(element, "12.1")
    assert exceptions == (ExceptionData(original_start=_utc(2011, 12, 29, 20), deleted=True),)
    master = _master(datetime(2011, 12, 1, 15, tzinfo=ZoneInfo("America/New_York")))
    exdates, overrides = exceptions_to_ical(
        master, exceptions, zone="America/New_York", all_day=False, make_override=_make
    )
    assert overrides == []
    assert exdates == [datetime(2011, 12, 29, 15, tzinfo=ZoneInfo("America/New_York"))]


# --- RRULE mapping ------------------------------------------------------------------------

START = datetime(2024, 1, 10, 9, 30, tzinfo=ZoneInfo("Europe/Berlin"))  # a Wednesday
TABLE = [
    (Recurrence(type=RecurrenceType.DAILY, interval=3), "FREQ=DAILY;INTERVAL=3"),
    (
        Recurrence(type=RecurrenceType.DAILY, day_of_week=62),
        "FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR",
    ),
    (Recurrence(type=RecurrenceType.WEEKLY, day_of_week=2 | 8 | 32), "FREQ=WEEKLY;BYDAY=MO,WE,FR"),
    (
        Recurrence(type=RecurrenceType.WEEKLY, interval=2, day_of_week=1 | 2, first_day_of_week=0),
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=SU,MO;WKST=SU",
    ),
    (Recurrence(type=RecurrenceType.MONTHLY, day_of_month=10), "FREQ=MONTHLY;BYMONTHDAY=10"),
    (
        Recurrence(type=RecurrenceType.MONTHLY_NTH, week_of_month=2, day_of_week=4),
        "FREQ=MONTHLY;BYDAY=2TU",
    ),
    (
        Recurrence(type=RecurrenceType.MONTHLY_NTH, week_of_month=5, day_of_week=32),
        "FREQ=MONTHLY;BYDAY=-1FR",
    ),
    (
        Recurrence(type=RecurrenceType.MONTHLY_NTH, week_of_month=5, day_of_week=62),
        "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
    ),
    (
        Recurrence(type=RecurrenceType.YEARLY, month_of_year=1, day_of_month=10),
        "FREQ=YEARLY;BYMONTHDAY=10;BYMONTH=1",
    ),
    (
        Recurrence(
            type=RecurrenceType.YEARLY_NTH, month_of_year=11, week_of_month=4, day_of_week=16
        ),
        "FREQ=YEARLY;BYDAY=4TH;BYMONTH=11",
    ),
    (
        Recurrence(type=RecurrenceType.WEEKLY, day_of_week=8, occurrences=10),
        "FREQ=WEEKLY;COUNT=10;BYDAY=WE",
    ),
    (
        Recurrence(type=RecurrenceType.DAILY, until=_utc(2024, 2, 1, 8, 30)),
        "FREQ=DAILY;UNTIL=20240201T083000Z",
    ),
]


@pytest.mark.parametrize(("rec", "text"), TABLE, ids=[text for _, text in TABLE])
def test_rrule_table(rec: Recurrence, text: str) -> None:
    rrule = recurrence_to_rrule(rec, start=START, zone="Europe/Berlin", all_day=False)
    assert rrule.to_ical().decode() == text
    assert rrule_to_recurrence(_rule(text), start=START, zone="Europe/Berlin", all_day=False) == rec


def test_occurrences_are_what_a_human_expects() -> None:
    zone = "Europe/Berlin"

    def dates(rec: Recurrence, limit: int = 4) -> list[date]:
        rrule = recurrence_to_rrule(rec, start=START, zone=zone, all_day=False)
        return [moment.date() for moment in _expand(rrule, START, zone, limit)]

    weekdays = Recurrence(type=RecurrenceType.DAILY, day_of_week=62)
    assert dates(weekdays, 5) == [date(2024, 1, d) for d in (10, 11, 12, 15, 16)]
    last_friday = Recurrence(type=RecurrenceType.MONTHLY_NTH, week_of_month=5, day_of_week=32)
    assert dates(last_friday, 3) == [date(2024, 1, 26), date(2024, 2, 23), date(2024, 3, 29)]
    last_day = Recurrence(type=RecurrenceType.MONTHLY_NTH, week_of_month=5, day_of_week=127)
    assert dates(last_day, 3) == [date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 31)]
    thanksgiving = Recurrence(
        type=RecurrenceType.YEARLY_NTH, month_of_year=11, week_of_month=4, day_of_week=16
    )
    assert dates(thanksgiving, 2) == [date(2024, 11, 28), date(2025, 11, 27)]
    until = Recurrence(type=RecurrenceType.WEEKLY, day_of_week=8, until=_utc(2024, 1, 24, 8, 30))
    assert dates(until) == [date(2024, 1, 10), date(2024, 1, 17), date(2024, 1, 24)]
    counted = Recurrence(type=RecurrenceType.MONTHLY, day_of_month=10, occurrences=2)
    assert dates(counted) == [date(2024, 1, 10), date(2024, 2, 10)]


def test_rrule_without_by_parts_takes_the_start() -> None:
    zone = "America/New_York"
    start = datetime(2024, 5, 3, 14, tzinfo=UTC)  # Friday 10:00 in New York
    assert rrule_to_recurrence(_rule("FREQ=WEEKLY"), start=start, zone=zone, all_day=False) == (
        Recurrence(type=RecurrenceType.WEEKLY, day_of_week=32)
    )
    assert rrule_to_recurrence(_rule("FREQ=YEARLY"), start=start, zone=zone, all_day=False) == (
        Recurrence(type=RecurrenceType.YEARLY, month_of_year=5, day_of_month=3)
    )
    last_day = rrule_to_recurrence(
        _rule("FREQ=MONTHLY;BYMONTHDAY=-1"), start=start, zone=zone, all_day=False
    )
    assert last_day == Recurrence(type=RecurrenceType.MONTHLY_NTH, week_of_month=5, day_of_week=127)


def test_week_start_maps_to_wkst() -> None:
    start = datetime(2024, 1, 7, 10, tzinfo=UTC)  # a Sunday
    rec = Recurrence(type=RecurrenceType.WEEKLY, interval=2, day_of_week=1 | 2, first_day_of_week=0)
    rrule = recurrence_to_rrule(rec, start=start, zone="UTC", all_day=False)
    assert rrule.to_ical().decode() == "FREQ=WEEKLY;INTERVAL=2;BYDAY=SU,MO;WKST=SU"
    assert [moment.day for moment in _expand(rrule, start, "UTC", 4)] == [7, 8, 21, 22]
    monday = recurrence_to_rrule(
        replace(rec, first_day_of_week=1), start=start, zone="UTC", all_day=False
    )
    assert [moment.day for moment in _expand(monday, start, "UTC", 4)] == [7, 15, 21, 29]


def test_all_day_until_is_a_local_date() -> None:
    zone = "America/Los_Angeles"
    start = date(2024, 3, 1)
    until = datetime(2024, 3, 29, tzinfo=ZoneInfo(zone)).astimezone(UTC)  # local midnight
    rec = Recurrence(type=RecurrenceType.WEEKLY, day_of_week=32, until=until)
    rrule = recurrence_to_rrule(rec, start=start, zone=zone, all_day=True)
    assert rrule.to_ical().decode() == "FREQ=WEEKLY;UNTIL=20240329;BYDAY=FR"
    assert rrule_to_recurrence(rrule, start=start, zone=zone, all_day=True) == rec
    assert len(_expand(rrule, start, zone)) == 5


def test_until_at_local_midnight_keeps_that_days_occurrence() -> None:
    zone = "America/New_York"
    start = datetime(2024, 6, 3, 13, tzinfo=UTC)  # Monday 09:00 in New York
    until = datetime(2024, 6, 17, tzinfo=ZoneInfo(zone)).astimezone(UTC)  # Monday 00:00
    rec = Recurrence(type=RecurrenceType.WEEKLY, day_of_week=2, until=until)
    rrule = recurrence_to_rrule(rec, start=start, zone=zone, all_day=False)
    assert rrule.to_ical().decode() == "FREQ=WEEKLY;UNTIL=20240617T130000Z;BYDAY=MO"
    assert len(_expand(rrule, start, zone)) == 3


def test_timed_rule_with_date_until_keeps_the_last_day() -> None:
    start = datetime(2024, 3, 1, 18, tzinfo=UTC)
    rec = rrule_to_recurrence(
        _rule("FREQ=DAILY;UNTIL=20240303"), start=start, zone="Asia/Tokyo", all_day=False
    )
    assert rec is not None
    assert rec.until == datetime(2024, 3, 3, 23, 59, 59, tzinfo=ZoneInfo("Asia/Tokyo"))


@pytest.mark.parametrize(
    ("zone", "start", "switch"),
    [
        ("Europe/Berlin", datetime(2024, 3, 11, 8, tzinfo=UTC), date(2024, 3, 31)),
        ("America/New_York", datetime(2024, 10, 21, 13, tzinfo=UTC), date(2024, 11, 3)),
        ("Australia/Sydney", datetime(2024, 3, 24, 22, tzinfo=UTC), date(2024, 4, 7)),
        ("Pacific/Chatham", datetime(2024, 9, 10, 20, tzinfo=UTC), date(2024, 9, 29)),
    ],
)
def test_weekly_rule_keeps_wall_time_across_dst(zone: str, start: datetime, switch: date) -> None:
    tz = ZoneInfo(zone)
    rec = Recurrence(
        type=RecurrenceType.WEEKLY, day_of_week=_bit(start.astimezone(tz)), occurrences=6
    )
    rrule = recurrence_to_rrule(rec, start=start, zone=zone, all_day=False)
    local = _expand(rrule, start, zone)
    assert len(local) == 6
    assert {moment.time() for moment in local} == {start.astimezone(tz).time().replace(tzinfo=None)}
    offsets = {moment.replace(tzinfo=tz).utcoffset() for moment in local}
    assert len(offsets) == 2  # the UTC times shift by the DST step
    assert local[0].date() < switch < local[-1].date()
    assert rrule_to_recurrence(rrule, start=start, zone=zone, all_day=False) == rec


def _bit(moment: datetime) -> int:
    return 1 << ((moment.weekday() + 1) % 7)


@pytest.mark.parametrize(
    "text",
    [
        "FREQ=HOURLY",
        "FREQ=MINUTELY;INTERVAL=15",
        "FREQ=MONTHLY;BYMONTHDAY=1,15",
        "FREQ=MONTHLY;BYMONTHDAY=-2",
        "FREQ=MONTHLY;BYDAY=MO,TU;BYSETPOS=1,-1",
        "FREQ=MONTHLY;BYDAY=1MO,3MO",
        "FREQ=MONTHLY;BYDAY=5FR",
        "FREQ=MONTHLY;BYDAY=-2FR",
        "FREQ=YEARLY;BYDAY=20MO",
        "FREQ=YEARLY;BYMONTH=1,7",
        "FREQ=YEARLY;BYMONTHDAY=1",
        "FREQ=YEARLY;BYWEEKNO=20",
        "FREQ=YEARLY;BYYEARDAY=100",
        "FREQ=DAILY;BYHOUR=9,17",
        "FREQ=WEEKLY;BYDAY=1MO",
        "FREQ=MONTHLY;BYMONTH=3",
        "FREQ=DAILY;INTERVAL=1000",
        "FREQ=DAILY;COUNT=5000",
        "INTERVAL=2",
    ],
)
def test_unexpressible_rrules_give_none(text: str) -> None:
    assert (
        rrule_to_recurrence(_rule(text), start=START, zone="Europe/Berlin", all_day=False) is None
    )


# --- Hypothesis: Recurrence -> RRULE -> Recurrence ----------------------------------------

_NAIVE_MIN = _utc(2020, 1, 1).replace(tzinfo=None)  # hypothesis wants naive bounds
_NAIVE_MAX = _utc(2030, 1, 1).replace(tzinfo=None)
_MASKS = st.integers(min_value=1, max_value=127)
_DAYS_IN = {2: 28, 4: 30, 6: 30, 9: 30, 11: 30}


@st.composite
def _patterns(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(list(RecurrenceType)))
    if kind is RecurrenceType.DAILY:
        mask = draw(st.none() | _MASKS.filter(lambda m: m != 127))
        return {"type": kind, "day_of_week": mask}
    if kind is RecurrenceType.WEEKLY:
        return {"type": kind, "day_of_week": draw(_MASKS)}
    if kind is RecurrenceType.MONTHLY:
        return {"type": kind, "day_of_month": draw(st.integers(1, 31))}
    nth = {"week_of_month": draw(st.integers(1, 5)), "day_of_week": draw(_MASKS)}
    if kind is RecurrenceType.MONTHLY_NTH:
        return {"type": kind, **nth}
    month = draw(st.integers(1, 12))
    if kind is RecurrenceType.YEARLY_NTH:
        return {"type": kind, "month_of_year": month, **nth}
    day = draw(st.integers(1, _DAYS_IN.get(month, 31)))
    return {"type": kind, "month_of_year": month, "day_of_month": day}


@st.composite
def _cases(draw: st.DrawFn) -> tuple[Recurrence, date | datetime, str, bool]:
    zone = draw(st.sampled_from(ZONES))
    all_day = draw(st.booleans())
    moment = draw(st.datetimes(min_value=_NAIVE_MIN, max_value=_NAIVE_MAX))
    start: date | datetime = moment.date() if all_day else moment.replace(microsecond=0, tzinfo=UTC)
    end = draw(st.sampled_from(["none", "count", "until"]))
    extra: dict[str, Any] = {}
    if end == "count":
        extra["occurrences"] = draw(st.integers(1, 999))
    elif end == "until":
        later = moment + timedelta(
            days=draw(st.integers(0, 2000)), seconds=draw(st.integers(0, 86399))
        )
        if all_day:  # an all-day UNTIL is a date: its local midnight
            extra["until"] = datetime.combine(later.date(), time(), ZoneInfo(zone)).astimezone(UTC)
        else:  # normalised: an Until before its day's occurrence moves onto it
            until = later.replace(microsecond=0, tzinfo=UTC)
            tz = ZoneInfo(zone)
            day = until.astimezone(tz).date()
            assert isinstance(start, datetime)
            occurrence = datetime.combine(day, start.astimezone(tz).timetz())
            extra["until"] = max(until, occurrence.astimezone(UTC))
    pattern = draw(_patterns())
    interval = draw(st.integers(1, 4) | st.integers(1, 999))
    first_day = draw(st.none() | st.integers(0, 6))
    rec = Recurrence(**pattern, **extra, interval=interval, first_day_of_week=first_day)
    return rec, start, zone, all_day


@given(_cases())
def test_recurrence_rrule_round_trip_is_stable(case: tuple[Recurrence, Any, str, bool]) -> None:
    rec, start, zone, all_day = case
    rrule = recurrence_to_rrule(rec, start=start, zone=zone, all_day=all_day)
    back = rrule_to_recurrence(
        _rule(rrule.to_ical().decode()), start=start, zone=zone, all_day=all_day
    )
    assert back == rec
    again = recurrence_to_rrule(back, start=start, zone=zone, all_day=all_day)
    assert again.to_ical() == rrule.to_ical()
    assert _expand(again, start, zone, 12) == _expand(rrule, start, zone, 12)


_ORDINALS = st.sampled_from(["", "", "", "1", "2", "4", "-1", "5", "-2"])
_DAY_NAMES = ("SU", "MO", "TU", "WE", "TH", "FR", "SA")


@st.composite
def _rrule_texts(draw: st.DrawFn, *, all_day: bool) -> str:
    parts = [f"FREQ={draw(st.sampled_from(['DAILY', 'WEEKLY', 'MONTHLY', 'YEARLY']))}"]
    if draw(st.booleans()):
        parts.append(f"INTERVAL={draw(st.integers(1, 5))}")
    if draw(st.booleans()):
        ordinal = draw(_ORDINALS)
        days = draw(st.lists(st.sampled_from(_DAY_NAMES), min_size=1, max_size=4, unique=True))
        parts.append("BYDAY=" + ",".join(ordinal + day for day in days))
    if draw(st.booleans()):
        days_of_month = st.integers(1, 28) | st.just(-1)
        values = draw(st.lists(days_of_month, min_size=1, max_size=2, unique=True))
        parts.append("BYMONTHDAY=" + ",".join(map(str, values)))
    if draw(st.booleans()):
        parts.append(f"BYMONTH={draw(st.integers(1, 12))}")
    if draw(st.integers(0, 3)) == 0:
        parts.append(f"BYSETPOS={draw(st.sampled_from([1, 2, -1]))}")
    end = draw(st.sampled_from(["", "count", "until"]))
    if end == "count":
        parts.append(f"COUNT={draw(st.integers(1, 30))}")
    elif end == "until":
        until = draw(st.datetimes(_NAIVE_MIN, _NAIVE_MAX + timedelta(days=730)))
        parts.append(f"UNTIL={until:%Y%m%d}" if all_day else f"UNTIL={until:%Y%m%dT%H%M%SZ}")
    if draw(st.booleans()):
        parts.append(f"WKST={draw(st.sampled_from(_DAY_NAMES))}")
    return ";".join(parts)


@given(st.data(), st.booleans(), st.sampled_from(ZONES))
def test_expressible_rrules_keep_their_occurrences(
    data: st.DataObject, all_day: bool, zone: str
) -> None:
    text = data.draw(_rrule_texts(all_day=all_day), label="rrule")
    moment = data.draw(st.datetimes(_NAIVE_MIN, _NAIVE_MAX), label="start")
    start = moment.date() if all_day else moment.replace(microsecond=0, tzinfo=UTC)
    rec = rrule_to_recurrence(_rule(text), start=start, zone=zone, all_day=all_day)
    if rec is None:
        return
    rrule = recurrence_to_rrule(rec, start=start, zone=zone, all_day=all_day)
    assert _expand(rrule, start, zone, 15) == _expand(_rule(text), start, zone, 15)


# --- Exceptions <-> EXDATE / overrides --------------------------------------------------------


def _master(start: date | datetime, *, rule: str = "FREQ=WEEKLY;COUNT=10") -> icalendar.Event:
    event = icalendar.Event()
    event.add("UID", "series-1")
    event.add("DTSTAMP", _utc(2024, 1, 1))
    event.add("SUMMARY", "Standup")
    event.add("LOCATION", "Room 1")
    event.add("X-SERVER-ONLY", "kept")
    event.add("DTSTART", start)
    event.add(
        "DTEND",
        start + (timedelta(days=1) if not isinstance(start, datetime) else timedelta(minutes=30)),
    )
    event.add("RRULE", _rule(rule))
    return event


def _make(exc: ExceptionData) -> icalendar.Event:
    event = icalendar.Event()
    if exc.subject is not None:
        event.add("SUMMARY", exc.subject)
    if exc.location is not None:
        event.add("LOCATION", exc.location)
    return event


def _read(event: icalendar.Event) -> dict[str, object]:
    return {
        "subject": str(event.get("SUMMARY", "")) or None,
        "location": str(event.get("LOCATION", "")) or None,
    }


def _through_text(
    master: icalendar.Event, exdates: list[Any], overrides: list[icalendar.Event]
) -> tuple[icalendar.Event, list[icalendar.Event]]:
    for value in exdates:
        master.add("EXDATE", value)
    calendar = icalendar.Calendar()
    for event in (master, *overrides):
        calendar.add_component(event)
    events = list(icalendar.Calendar.from_ical(calendar.to_ical()).walk("VEVENT"))
    return events[0], events[1:]


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/New_York", "Asia/Kolkata", "UTC"])
def test_timed_exceptions_round_trip_through_icalendar(zone: str) -> None:
    tz = ZoneInfo(zone)
    start = datetime(2024, 3, 4, 9, tzinfo=tz)
    first, second = (start + timedelta(weeks=n) for n in (1, 4))  # second is past a DST switch
    moved = ExceptionData(
        original_start=second.astimezone(UTC),
        subject="Moved standup",
        start_time=(second + timedelta(hours=2)).astimezone(UTC),
        end_time=(second + timedelta(hours=3)).astimezone(UTC),
    )
    renamed = ExceptionData(
        original_start=(start + timedelta(weeks=2)).astimezone(UTC), location="Room 9"
    )
    deleted = ExceptionData(original_start=first.astimezone(UTC), deleted=True)
    master = _master(start)
    exdates, overrides = exceptions_to_ical(
        master, [moved, deleted, renamed], zone=zone, all_day=False, make_override=_make
    )
    assert exdates == [first]
    assert [o.decoded("RECURRENCE-ID") for o in overrides] == [start + timedelta(weeks=2), second]
    text = overrides[1].to_ical().decode()
    if zone != "UTC":
        assert f"RECURRENCE-ID;TZID={zone}:" in text
    assert "X-SERVER-ONLY:kept" in text  # inherited from the master
    assert "RRULE" not in text
    assert str(overrides[1]["LOCATION"]) == "Room 1"
    assert str(overrides[1]["SUMMARY"]) == "Moved standup"
    assert overrides[0].decoded("DTEND") - overrides[0].decoded("DTSTART") == timedelta(minutes=30)
    master, overrides = _through_text(master, exdates, overrides)
    back = ical_to_exceptions(master, overrides, zone=zone, all_day=False, read_override=_read)
    assert back == (deleted, renamed, moved)


def test_all_day_exceptions_use_dates() -> None:
    zone = "Pacific/Auckland"
    start = date(2024, 3, 1)

    def midnight(day: date) -> datetime:
        return datetime.combine(day, time(), ZoneInfo(zone)).astimezone(UTC)

    deleted = ExceptionData(original_start=midnight(date(2024, 3, 8)), deleted=True)
    moved = ExceptionData(
        original_start=midnight(date(2024, 3, 15)),
        start_time=midnight(date(2024, 3, 16)),
        end_time=midnight(date(2024, 3, 17)),
    )
    master = _master(start)
    exdates, overrides = exceptions_to_ical(
        master, [deleted, moved], zone=zone, all_day=True, make_override=_make
    )
    assert exdates == [date(2024, 3, 8)]
    assert overrides[0].decoded("RECURRENCE-ID") == date(2024, 3, 15)
    assert overrides[0].decoded("DTSTART") == date(2024, 3, 16)
    assert overrides[0].decoded("DTEND") == date(2024, 3, 17)
    master, overrides = _through_text(master, exdates, overrides)
    assert "EXDATE;VALUE=DATE:20240308" in master.to_ical().decode()
    back = ical_to_exceptions(master, overrides, zone=zone, all_day=True, read_override=_read)
    assert back == (deleted, moved)


def test_foreign_overrides_map_to_differences_only() -> None:
    zone = "Europe/Berlin"
    tz = ZoneInfo(zone)
    start = datetime(2024, 3, 4, 9, tzinfo=tz)
    master = _master(start)
    master.add("EXDATE", date(2024, 3, 11))  # a date EXDATE on a timed series: at 09:00
    same = icalendar.Event()
    same.add("UID", "series-1")
    same.add("RECURRENCE-ID", start + timedelta(weeks=2))
    same.add("DTSTART", start + timedelta(weeks=2))
    same.add("DURATION", timedelta(minutes=30))
    same.add("SUMMARY", "Standup")
    same.add("LOCATION", "Room 1")
    cancelled = icalendar.Event()
    cancelled.add("RECURRENCE-ID", (start + timedelta(weeks=3)).astimezone(UTC))
    cancelled.add("STATUS", "CANCELLED")
    whole_day = icalendar.Event()
    whole_day.add("RECURRENCE-ID", start + timedelta(weeks=4))
    whole_day.add("DTSTART", date(2024, 4, 1))
    whole_day.add("SUMMARY", "Standup")
    back = ical_to_exceptions(
        master, [same, cancelled, whole_day], zone=zone, all_day=False, read_override=_read
    )
    utc = [(start + timedelta(weeks=n)).astimezone(UTC) for n in range(5)]
    midnight = datetime(2024, 4, 1, tzinfo=tz).astimezone(UTC)
    assert back == (
        ExceptionData(original_start=utc[1], deleted=True),
        ExceptionData(original_start=utc[2]),
        ExceptionData(original_start=utc[3], deleted=True),
        ExceptionData(
            original_start=utc[4],
            all_day=True,
            start_time=midnight,
            end_time=datetime(2024, 4, 2, tzinfo=tz).astimezone(UTC),
            location=None,
        ),
    )
