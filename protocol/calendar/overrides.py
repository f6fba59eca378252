"""Exceptions <-> iCalendar: EXDATE and RECURRENCE-ID overrides (MS-ASCAL 2.2.2.20/21).

``exceptions_to_ical(master, excs, zone=, all_day=, make_override=)`` returns
``(exdates, overrides)``; ``ical_to_exceptions(master, overrides, zone=,
all_day=, read_override=)`` returns the ``ExceptionData`` tuple. Their
contracts are described in protocol/calendar/recurrence.py's docstring, where
the models live; field conversion belongs to the caller (ical_fields.py).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar

from protocol.calendar.recurrence import _OVERRIDABLE, ExceptionData, _local_start

__all__ = ["exceptions_to_ical", "ical_to_exceptions"]


# --- Exceptions <-> EXDATE / RECURRENCE-ID overrides --------------------------------

MakeOverride = Callable[[ExceptionData], icalendar.Event]
ReadOverride = Callable[[icalendar.Event], Mapping[str, object]]
_NOT_INHERITED = frozenset(
    {"RRULE", "RDATE", "EXDATE", "RECURRENCE-ID", "DTSTART", "DTEND", "DURATION"}
)


def _as_utc(value: date | datetime, zone: str, moment: time) -> datetime:
    """An iCalendar value -> aware UTC (floating in ``zone``; a date at ``moment``)."""
    tz = ZoneInfo(zone)
    if isinstance(value, datetime):
        return (value.replace(tzinfo=tz) if value.tzinfo is None else value).astimezone(UTC)
    return datetime.combine(value, moment, tz).astimezone(UTC)


def _ical_value(moment: datetime, zone: str, all_day: bool) -> date | datetime:
    local = moment.astimezone(ZoneInfo(zone))
    return local.date() if all_day else local


def _master_times(master: icalendar.Event) -> tuple[date | datetime, timedelta]:
    start: Any = master.decoded("DTSTART")
    if "DTEND" in master:
        end: Any = master.decoded("DTEND")
        return start, end - start
    if "DURATION" in master:
        return start, master.decoded("DURATION")
    return start, timedelta(days=0 if isinstance(start, datetime) else 1)


def _override_times(
    exc: ExceptionData, master: icalendar.Event, zone: str, all_day: bool
) -> tuple[date | datetime, date | datetime]:
    _, duration = _master_times(master)
    whole_day = all_day if exc.all_day is None else exc.all_day
    start = _ical_value(exc.start_time or exc.original_start, zone, whole_day)
    if exc.end_time is not None:
        return start, _ical_value(exc.end_time, zone, whole_day)
    if whole_day and duration < timedelta(days=1):
        duration = timedelta(days=max(1, duration.days))
    if not whole_day and duration >= timedelta(days=1) and all_day:
        duration = timedelta(hours=1)  # an all-day series turned timed without an end
    return start, start + duration


def _override(
    master: icalendar.Event,
    exc: ExceptionData,
    zone: str,
    all_day: bool,
    make_override: MakeOverride,
) -> icalendar.Event:
    event = icalendar.Event()
    for name, value in master.items():
        if name not in _NOT_INHERITED:
            event[name] = copy.deepcopy(value)
    event.subcomponents = [copy.deepcopy(sub) for sub in master.subcomponents]
    event.add("RECURRENCE-ID", _ical_value(exc.original_start, zone, all_day))
    start, end = _override_times(exc, master, zone, all_day)
    event.add("DTSTART", start)
    event.add("DTEND", end)
    partial = make_override(exc)
    for name, value in partial.items():
        event.pop(name, None)
        event[name] = value
    replaced = {sub.name for sub in partial.subcomponents}
    event.subcomponents = [
        *(sub for sub in event.subcomponents if sub.name not in replaced),
        *partial.subcomponents,
    ]
    return event


def exceptions_to_ical(
    master: icalendar.Event,
    exceptions: Iterable[ExceptionData],
    *,
    zone: str,
    all_day: bool,
    make_override: MakeOverride,
) -> tuple[list[date | datetime], list[icalendar.Event]]:
    """ExceptionData -> (EXDATE values, RECURRENCE-ID override VEVENTs); see module doc."""
    exdates: list[date | datetime] = []
    overrides: list[icalendar.Event] = []
    for exc in sorted(exceptions, key=lambda e: e.original_start):
        if exc.deleted:
            exdates.append(_ical_value(exc.original_start, zone, all_day))
        else:
            overrides.append(_override(master, exc, zone, all_day, make_override))
    return exdates, overrides


def _exdate_values(master: icalendar.Event) -> list[date | datetime]:
    raw = master.get("EXDATE")
    if raw is None:
        return []
    lists = raw if isinstance(raw, list) else [raw]
    return [item.dt for entry in lists for item in entry.dts]


def _changed_times(
    override: icalendar.Event, original: datetime, duration: timedelta, zone: str, all_day: bool
) -> dict[str, Any]:
    if "DTSTART" not in override:
        return {}
    start_value: date | datetime = override.decoded("DTSTART")
    whole_day = not isinstance(start_value, datetime)
    start = _as_utc(start_value, zone, time())
    if "DTEND" in override:
        end = _as_utc(override.decoded("DTEND"), zone, time())
    elif "DURATION" in override:
        end = start + override.decoded("DURATION")
    elif whole_day:  # RFC 5545 3.6.1: a date DTSTART alone lasts one day
        end = _as_utc(start_value + timedelta(days=1), zone, time())
    else:
        end = start + duration
    changed: dict[str, Any] = {}
    if whole_day != all_day:
        changed["all_day"] = whole_day
    if changed or start != original or end - start != duration:
        changed.update(start_time=start, end_time=end)
    return changed


def ical_to_exceptions(
    master: icalendar.Event,
    overrides: Iterable[icalendar.Event],
    *,
    zone: str,
    all_day: bool,
    read_override: ReadOverride,
) -> tuple[ExceptionData, ...]:
    """EXDATE + RECURRENCE-ID overrides -> ExceptionData (only differing fields)."""
    master_start, duration = _master_times(master)
    moment = time() if all_day else _local_start(master_start, zone).time()
    found: dict[datetime, ExceptionData] = {}
    base = read_override(master)
    for override in overrides:
        if "RECURRENCE-ID" not in override:
            continue
        original = _as_utc(override.decoded("RECURRENCE-ID"), zone, moment)
        if str(override.get("STATUS", "")).upper() == "CANCELLED":
            found[original] = ExceptionData(original_start=original, deleted=True)
            continue
        values: dict[str, Any] = {
            name: value
            for name, value in read_override(override).items()
            if name in _OVERRIDABLE and base.get(name) != value
        }
        values.update(_changed_times(override, original, duration, zone, all_day))
        found[original] = ExceptionData(original_start=original, **values)
    for value in _exdate_values(master):  # an excluded occurrence stays deleted
        original = _as_utc(value, zone, moment)
        found[original] = ExceptionData(original_start=original, deleted=True)
    return tuple(found[key] for key in sorted(found))
