"""Recurring events through iCalendar: deleted and modified occurrences across a DST switch, and
the 16.x InstanceId edits that override or delete one occurrence of a stored series.

Split from test_calendar_ical.py by theme; the shared helpers stay there (and in
test_calendar_ical_stored.py for the Change merge), so other modules keep importing them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
from lxml import etree

from protocol.calendar.ical import ical_to_item, item_to_ical
from protocol.calendar.instances import apply_instance
from protocol.calendar.model import CalendarItem, ConversionError, parse_calendar
from protocol.calendar.recurrence import ExceptionData, Recurrence, RecurrenceType
from protocol.calendar.timezone import tzinfo_for_zone
from tests.protocol.test_calendar_ical import NOW, ZONES, _event, _meeting, _to_ical
from tests.protocol.test_calendar_ical_stored import _change, _leaf

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
