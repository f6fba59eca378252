"""DTSTART/DTEND of a VEVENT <-> EAS StartTime, EndTime, AllDayEvent and Timezone.

Part of :mod:`protocol.calendar.ical` (whose docstring, "Times", describes the
mapping): the zone is matched from the Timezone blob with the stored TZID
preferred; all-day boundaries are the nearest local midnight in that zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import icalendar

from protocol.calendar import ical_fields as fields
from protocol.calendar.model import CalendarItem, ConversionError
from protocol.calendar.timezone import zone_for_tzinfo

__all__ = [
    "Times",
    "resolve_times",
    "stored_times",
    "to_date",
    "to_datetime",
    "write_times",
    "zone_info",
]

_TIME_PROPERTIES: Final = ("DTSTART", "DTEND", "DURATION", fields.ZONE_PROPERTY)


def zone_info(zone: str) -> ZoneInfo:
    try:
        return ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConversionError(f"unknown time zone {zone!r}") from exc


def to_date(value: datetime | date, zone: str, sixteen: bool) -> date:
    """The date of an all-day boundary: the nearest local midnight in ``zone``.

    In 16.x an all-day time is a date written as UTC midnight: taken as is.
    """
    if sixteen and isinstance(value, datetime) and value.astimezone(UTC).time() == time():
        return value.astimezone(UTC).date()
    if isinstance(value, datetime):
        local = value.astimezone(zone_info(zone))
        return (local.replace(tzinfo=None) + timedelta(hours=12)).date()
    return value


def to_datetime(value: datetime | date, zone: str) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None:  # floating time (RFC 5545 3.3.5 form 1): read in the zone
            value = value.replace(tzinfo=zone_info(zone))
        return value.astimezone(UTC)
    return datetime.combine(value, time(), zone_info(zone)).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Times:
    """The event's resolved start, end, zone and all-day flag."""

    start: datetime | date
    end: datetime | date
    zone: str
    all_day: bool


def stored_times(master: icalendar.Event | None) -> Times | None:
    if master is None or "DTSTART" not in master:
        return None
    start = master.decoded("DTSTART")
    zone = fields.zone_of(master, start)
    if "DTEND" in master:
        end = master.decoded("DTEND")
    elif "DURATION" in master:
        end = start + master.decoded("DURATION")
    else:
        end = start + (timedelta(days=1) if not isinstance(start, datetime) else timedelta())
    return Times(start, end, zone, not isinstance(start, datetime))


def resolve_times(item: CalendarItem, stored: Times | None, sixteen: bool) -> Times:
    all_day = bool(item.all_day) if item.all_day is not None else bool(stored and stored.all_day)
    start_value = item.start_time if item.start_time is not None else stored and stored.start
    end_value = item.end_time if item.end_time is not None else stored and stored.end
    if not start_value:
        raise ConversionError("StartTime is missing")
    start_utc = to_datetime(start_value, stored.zone if stored else "UTC")
    preferred = stored.zone if stored else None
    if item.timezone is not None:
        # The blob describes the rules of the event's local year.
        local_year = (start_utc - timedelta(minutes=item.timezone.bias)).year
        zone = zone_for_tzinfo(item.timezone, year=local_year, preferred=preferred)
    else:
        zone = preferred or "UTC"
    if all_day:
        start_day = to_date(start_value, zone, sixteen)
        end_day = to_date(end_value, zone, sixteen) if end_value else start_day + timedelta(days=1)
        end_day = max(end_day, start_day + timedelta(days=1))
        return Times(start_day, end_day, zone, True)
    end_utc = to_datetime(end_value, zone) if end_value else start_utc
    tz = zone_info(zone)
    return Times(start_utc.astimezone(tz), max(end_utc, start_utc).astimezone(tz), zone, False)


def _second_of_repeated_hour(value: datetime | date) -> bool:
    """A local time in the hour a zone repeats when clocks go back, the second
    time round: RFC 5545 3.3.5 reads such a TZID time as the first one."""
    return (
        isinstance(value, datetime)
        and value.fold == 1
        and value.replace(fold=0).utcoffset() != value.utcoffset()
    )


def write_times(event: icalendar.Event, times: Times, *, recurring: bool = False) -> None:
    """DTSTART/DTEND in the event's zone. A single event that starts or ends in
    the second pass of a repeated hour is written in UTC (a TZID time there
    would mean the first pass, an hour early) with its zone kept in
    X-EASGW-TIMEZONE; a series keeps TZID, which its rule needs across DST (a
    series whose first instance starts in that second pass is then read an hour
    early: iCalendar cannot say it with a TZID, and we accept that corner)."""
    for name in _TIME_PROPERTIES:
        fields.remove(event, name)
    start, end = times.start, times.end
    in_utc = not recurring and (_second_of_repeated_hour(start) or _second_of_repeated_hour(end))
    if in_utc and isinstance(start, datetime) and isinstance(end, datetime):
        start, end = start.astimezone(UTC), end.astimezone(UTC)
    event.add("DTSTART", start)
    event.add("DTEND", end)
    if (times.all_day or in_utc) and times.zone != "UTC":
        event.add(fields.ZONE_PROPERTY, times.zone)
