"""Reading iCalendar for iTIP (pure): components, addresses, values compared as instants.

Split out of :mod:`protocol.calendar.itip`, which builds the messages from these.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import icalendar

from protocol.calendar.ical_parse import parse_calendar_text

PRODID = "-//easgw//iTIP//EN"

__all__ = [
    "PRODID",
    "address_of",
    "atom",
    "bare",
    "by_key",
    "calendar_text",
    "end_of",
    "events_of",
    "key_of",
    "master_of",
    "organizer_address",
    "organizer_line",
    "parse",
    "sequence_of",
    "text_of",
    "values_of",
]


def parse(text: str) -> icalendar.Component:
    """The calendar; ValueError for anything icalendar cannot read."""
    try:
        return parse_calendar_text(text)
    except ValueError:
        raise
    except Exception as exc:  # icalendar's parser raises assorted types on garbage
        raise ValueError(f"unreadable iCalendar: {exc}") from exc


def events_of(calendar: icalendar.Component) -> list[icalendar.Component]:
    return [c for c in calendar.subcomponents if c.name == "VEVENT"]


def master_of(events: list[icalendar.Component]) -> icalendar.Component | None:
    """The VEVENT without RECURRENCE-ID (else the first: an object of overrides only)."""
    for event in events:
        if "RECURRENCE-ID" not in event:
            return event
    return events[0] if events else None


def values_of(component: icalendar.Component, name: str) -> list[Any]:
    value = component.get(name)
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def address_of(value: Any) -> str | None:
    """The bare address of a ``mailto:`` calendar address (any case), as written."""
    text = str(value).strip()
    if text[:7].lower() != "mailto:" or not text[7:].strip():
        return None
    return text[7:].strip()


def bare(address: str) -> str:
    """An address to compare: lower-case, without ``mailto:`` (any case)."""
    return address.strip().lower().removeprefix("mailto:")


def text_of(component: icalendar.Component, name: str) -> str:
    values = values_of(component, name)
    return str(values[0]) if values else ""


def sequence_of(component: icalendar.Component | None) -> int:
    if component is None:
        return 0
    try:
        return int(text_of(component, "SEQUENCE") or 0)
    except ValueError:
        return 0


def key_of(event: icalendar.Component) -> object:
    """The identity of a VEVENT within its object: None for the master, else its
    RECURRENCE-ID as an instant (UTC when zoned, so a TZID rewrite is the same)."""
    rid = event.get("RECURRENCE-ID")
    if rid is None:
        return None
    moment = getattr(rid, "dt", None)
    if isinstance(moment, datetime) and moment.tzinfo is not None:
        return moment.astimezone(UTC)
    return moment if moment is not None else str(rid)


def by_key(events: Iterable[icalendar.Component]) -> dict[object, icalendar.Component]:
    return {key_of(event): event for event in events}


# Values compared as what they mean, not as text


def atom(value: Any) -> object:
    if isinstance(value, icalendar.vRecur):
        return tuple(sorted((str(k).upper(), tuple(sorted(map(str, v)))) for k, v in value.items()))
    moment = getattr(value, "dt", None)
    if moment is not None:
        if isinstance(moment, datetime) and moment.tzinfo is not None:
            return moment.astimezone(UTC)
        return moment
    return str(value).replace("\r\n", "\n").strip()


def end_of(event: icalendar.Component) -> object:
    if "DTEND" in event:
        return atom(event["DTEND"])
    start, duration = event.get("DTSTART"), event.get("DURATION")
    moment, length = getattr(start, "dt", None), getattr(duration, "dt", None)
    if isinstance(moment, date) and isinstance(length, timedelta):
        return atom(icalendar.vDDDTypes(moment + length))
    return None if duration is None else str(duration)


# The organizer and the outgoing object


def organizer_line(events: list[icalendar.Component]) -> Any:
    """The master's ORGANIZER value (a vCalAddress), None when there is none."""
    master = master_of(events)
    values = values_of(master, "ORGANIZER") if master is not None else []
    return values[0] if values else None


def organizer_address(events: list[icalendar.Component]) -> str | None:
    """The master's ORGANIZER address without ``mailto:``, as written; None if none."""
    text = str(organizer_line(events) or "").strip()
    return (text[7:].strip() if text[:7].lower() == "mailto:" else text) or None


def calendar_text(
    source: icalendar.Component, method: str, events: list[icalendar.Component]
) -> str:
    """A VCALENDAR with METHOD, ``source``'s VTIMEZONEs and ``events`` (CRLF lines)."""
    calendar = icalendar.Calendar()
    calendar.add("PRODID", PRODID)
    calendar.add("VERSION", "2.0")
    if "CALSCALE" in source:
        calendar.add("CALSCALE", str(source["CALSCALE"]))
    calendar.add("METHOD", method)
    for component in source.subcomponents:
        if component.name == "VTIMEZONE":
            calendar.add_component(component)
    for event in events:
        calendar.add_component(event)
    return str(calendar.to_ical().decode("utf-8"))
