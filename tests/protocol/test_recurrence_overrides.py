"""EAS Exceptions <-> iCalendar EXDATE and RECURRENCE-ID overrides (protocol.calendar.overrides).

A deleted occurrence is an EXDATE, a modified one an override VEVENT carrying only
what differs from the master (RFC 5545 3.8.4.4); timed series use the master's zone,
all-day ones dates. Split from test_recurrence.py by theme; shared helpers come from there."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest

from protocol.calendar.exceptions_wbxml import parse_exceptions
from protocol.calendar.overrides import exceptions_to_ical, ical_to_exceptions
from protocol.calendar.recurrence import ExceptionData
from tests.protocol.test_recurrence import CAL, _horde, _rule, _utc, needs_vectors

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
