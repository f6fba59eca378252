"""The iCalendar side of local delivery (easgw/scheduling/local.py): pure text in, text out.

An attendee's copy of an organizer's meeting is the organizer's stored event
(times, body with the conference block, CONFERENCE and the X-EASGW-CONFERENCE*
properties: the link is the meeting's) made the attendee's:

- the attendee's PARTSTAT: NEEDS-ACTION with RSVP=TRUE for a new copy, else the
  answer of their existing copy, per VEVENT (series, overrides), unless the
  organizer changed a significant property of it between ``before`` and
  ``after`` (DTSTART, DTEND, DURATION, RRULE, RDATE, EXDATE: RFC 5546 2.1.4,
  the attendees are asked again) or the copy was cancelled before (invited
  again). An override the copy lacks takes the answer the organizer's copy
  records for it (the attendee's own, update_organizer_copy), else the
  series'; a declined one leaves the copy as an EXDATE, as replies.py removes
  a declined occurrence; a series the attendee declined (and so removed:
  MS-ASCMD 3.1.5.6) is not delivered again until a significant change;
- what the attendee's answer recorded on their copy (protocol/calendar/replies.py:
  ResponseType, AppointmentReplyTime, BusyStatus) kept with the answer; an
  unanswered copy shows Tentative, the organizer's status kept as the intended
  one (X-MICROSOFT-CDO-INTENDEDSTATUS, as Exchange files a meeting request), which
  replies.py makes the busy status on acceptance;
- the organizer's alarms removed (their own reminder), the attendee's kept;
- the organizer's private X-EASGW-* properties removed (MeetingStatus,
  ResponseType, ClientUid...: ``owner_view`` lets those win over the
  attendee's view); the conference ones and X-EASGW-TIMEZONE (the zone of an
  all-day event's times) stay.

The attendee's phone then reads it as a received meeting (ical_fields.owner_view:
MeetingStatus 3, ResponseType from PARTSTAT; 7 once STATUS:CANCELLED).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Final

import icalendar

from protocol.calendar import ical_fields as fields
from protocol.calendar.conference import CONFERENCE_PROPERTIES
from protocol.calendar.ical_parse import parse_calendar_text

__all__ = [
    "address",
    "attendee_copy",
    "attendee_of",
    "cancelled_copy",
    "is_cancelled",
    "master_of",
    "organizer_of",
    "parse",
    "recipients",
    "sequence_of",
    "vevents",
]

#: RFC 5546 2.1.4: a change of these asks the attendees again.
SIGNIFICANT: Final = ("DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE")
#: X-EASGW-* properties that describe the meeting itself, not the organizer's view.
_SHARED: Final = frozenset({*CONFERENCE_PROPERTIES, fields.ZONE_PROPERTY})
#: What replies.py records on the attendee's copy with an answer.
_ANSWER_RECORD: Final = (
    "X-EASGW-RESPONSE-TYPE",
    "X-EASGW-APPOINTMENT-REPLY-TIME",
    "X-MICROSOFT-CDO-BUSYSTATUS",
)
_BUSY: Final = "X-MICROSOFT-CDO-BUSYSTATUS"
_INTENDED: Final = "X-MICROSOFT-CDO-INTENDEDSTATUS"
_NEEDS_ACTION: Final = "NEEDS-ACTION"
#: RFC 6638 7.1: the server schedules only SCHEDULE-AGENT=SERVER (the default).
_NOT_OURS: Final = frozenset({"NONE", "CLIENT"})

_Key = datetime | date | None


# --- reading ---------------------------------------------------------------------------


def address(value: Any) -> str:
    """A calendar address without ``mailto:``, lower case."""
    text = str(value).strip()
    return (text[7:] if text.lower().startswith("mailto:") else text).strip().lower()


def vevents(calendar: icalendar.Calendar) -> list[icalendar.Event]:
    """The calendar's VEVENTs (the series and its overrides)."""
    return [c for c in calendar.subcomponents if isinstance(c, icalendar.Event)]


def master_of(events: list[icalendar.Event]) -> icalendar.Event | None:
    """The series (the VEVENT without RECURRENCE-ID)."""
    return next((e for e in events if "RECURRENCE-ID" not in e), None)


def parse(text: str) -> icalendar.Calendar:
    """Stored text as a VCALENDAR (ValueError otherwise)."""
    calendar = parse_calendar_text(text)
    if not isinstance(calendar, icalendar.Calendar):
        raise ValueError("not a VCALENDAR")
    return calendar


def organizer_of(text: str) -> str | None:
    """The ORGANIZER address (lower case) of the series, else of any VEVENT."""
    events = vevents(parse(text))
    master = master_of(events)
    for event in [master, *events] if master is not None else events:
        value = event.get("ORGANIZER")
        if isinstance(value, list):
            value = value[0] if value else None
        if value is not None:
            return address(value)
    return None


def is_cancelled(text: str) -> bool:
    """Is the whole meeting cancelled (the series' STATUS)?"""
    master = master_of(vevents(parse(text)))
    return master is not None and (fields.text_of(master, "STATUS") or "").upper() == "CANCELLED"


def recipients(text: str, *, organizer: str, skip: frozenset[str]) -> set[str]:
    """The ATTENDEE addresses (lower case) easgw schedules for: mailto, not in
    ``skip`` (the conference resources), not SCHEDULE-AGENT=NONE/CLIENT, not the
    organizer; over the series and its overrides."""
    found: set[str] = set()
    for event in vevents(parse(text)):
        for attendee in fields.values_of(event, "ATTENDEE"):
            if not str(attendee).strip().lower().startswith("mailto:"):
                continue
            params = getattr(attendee, "params", {})
            if str(params.get("SCHEDULE-AGENT", "SERVER")).upper() in _NOT_OURS:
                continue
            email = address(attendee)
            if email and email != organizer.lower() and email not in skip:
                found.add(email)
    return found


def _key(event: icalendar.Event) -> _Key:
    """The VEVENT's RECURRENCE-ID as a comparable value (None: the series)."""
    if "RECURRENCE-ID" not in event:
        return None
    value: Any = event.decoded("RECURRENCE-ID")
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC)
    return value  # type: ignore[no-any-return]


def _times(event: icalendar.Event) -> tuple[tuple[str, tuple[bytes, ...]], ...]:
    return tuple(
        (name, tuple(v.to_ical() for v in fields.values_of(event, name))) for name in SIGNIFICANT
    )


def attendee_of(event: icalendar.Event, email: str) -> Any | None:
    """The VEVENT's ATTENDEE with this (lower-case) address."""
    return next((a for a in fields.values_of(event, "ATTENDEE") if address(a) == email), None)


def _partstat(event: icalendar.Event, email: str) -> str:
    attendee = attendee_of(event, email)
    if attendee is None:
        return _NEEDS_ACTION
    return str(attendee.params.get("PARTSTAT", _NEEDS_ACTION)).upper()


def _status(event: icalendar.Event) -> str:
    return (fields.text_of(event, "STATUS") or "").upper()


# --- the attendee's copy ---------------------------------------------------------------


def _strip_organizer_view(event: icalendar.Event) -> None:
    fields.remove(event, "VALARM")
    for name in [n for n in event if n.upper().startswith("X-EASGW-")]:
        if name.upper() not in _SHARED:
            fields.remove(event, name)


def _set_partstat(event: icalendar.Event, email: str, partstat: str) -> None:
    attendee = attendee_of(event, email)
    if attendee is None:
        return
    attendee.params["PARTSTAT"] = partstat
    attendee.params.pop("X-EASGW-STATUS", None)  # the organizer phone's "no answer yet"
    if partstat == _NEEDS_ACTION:
        attendee.params["RSVP"] = "TRUE"
    else:
        attendee.params.pop("RSVP", None)  # answered (as replies.py leaves it)


def _moved(event: icalendar.Event) -> bool:
    """An override whose start is not its occurrence's."""
    return _key(event) is not None and _key(event) != _start_key(event)


def _start_key(event: icalendar.Event) -> _Key:
    value: Any = event.decoded("DTSTART") if "DTSTART" in event else None
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC)
    return value  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True)
class _Sources:
    """What one VEVENT of the copy is decided from."""

    #: The attendee's version of it in their copy (None: absent).
    previous: icalendar.Event | None
    #: The organizer changed it significantly (RFC 5546 2.1.4).
    significant: bool


def _decide(event: icalendar.Event, sources: _Sources, email: str, series: str) -> str:
    """The attendee's PARTSTAT for one VEVENT of the copy (module docstring)."""
    previous = sources.previous
    if sources.significant:
        return _NEEDS_ACTION
    if previous is not None:
        if _status(previous) == "CANCELLED" and _status(event) != "CANCELLED":
            return _NEEDS_ACTION  # invited again
        return _partstat(previous, email)
    # An override the copy lacks: the answer the organizer recorded for it (the
    # attendee's, through update_organizer_copy), else the series'.
    recorded = _partstat(event, email)
    return recorded if recorded != _NEEDS_ACTION else series


def _make_attendees(
    event: icalendar.Event, previous: icalendar.Event | None, email: str, partstat: str
) -> None:
    """Set the attendee's answer and what goes with it on one VEVENT of the copy."""
    _set_partstat(event, email, partstat)
    if partstat != _NEEDS_ACTION and previous is not None:
        fields.copy_properties(previous, event, _ANSWER_RECORD)
    elif partstat == _NEEDS_ACTION and attendee_of(event, email) is not None:
        intended = fields.text_of(event, _BUSY)
        if intended and _INTENDED not in event:
            event.add(_INTENDED, intended)
        fields.remove(event, _BUSY)
        event.add(_BUSY, "TENTATIVE")
    if previous is not None:
        event.subcomponents.extend(c for c in previous.subcomponents if c.name == "VALARM")


def _by_key(text: str | None) -> dict[_Key, icalendar.Event]:
    return {_key(e): e for e in vevents(parse(text))} if text is not None else {}


def _sources(
    event: icalendar.Event,
    organizer_before: dict[_Key, icalendar.Event] | None,
    existing: dict[_Key, icalendar.Event] | None,
) -> _Sources:
    key = _key(event)
    old = organizer_before.get(key) if organizer_before is not None else None
    if existing is None or organizer_before is None:
        significant = True  # a new copy, or a new meeting: asked afresh
    elif old is not None:
        significant = _times(old) != _times(event)
    else:
        significant = _moved(event)  # a new override of the organizer's
    previous = existing.get(key) if existing is not None else None
    return _Sources(previous=previous, significant=significant)


def attendee_copy(after: str, before: str | None, existing: str | None, email: str) -> str | None:
    """``email``'s copy of the organizer's stored event ``after`` (module
    docstring); ``before``: the organizer's event before the write (None: new);
    ``existing``: the attendee's current copy, if any. None: nothing to deliver
    (the attendee declined the series and removed it, and no significant
    property changed since: replies.py removes a declined meeting, MS-ASCMD 3.1.5.6)."""
    email = email.strip().lower()
    calendar = parse(after)
    old = _by_key(before) if before is not None else None
    mine = _by_key(existing) if existing is not None else None
    events = sorted(vevents(calendar), key=lambda e: _key(e) is not None)  # series first
    series = _NEEDS_ACTION
    for event in events:
        sources = _sources(event, old, mine)
        if mine is None and _key(event) is None and _declined_before(event, old, email):
            return None
        partstat = _decide(event, sources, email, series)
        _strip_organizer_view(event)
        if _key(event) is None:
            series = partstat
        _make_attendees(event, sources.previous, email, partstat)
        if partstat == "DECLINED" and _key(event) is not None and sources.previous is None:
            _exclude(calendar, events, event)  # declined occurrences leave the copy (replies.py)
    text: bytes = calendar.to_ical()
    return text.decode("utf-8")


def _declined_before(
    master: icalendar.Event, old: dict[_Key, icalendar.Event] | None, email: str
) -> bool:
    """Did the attendee decline the series (as the organizer recorded), with no
    significant change since?"""
    if old is None or _partstat(master, email) != "DECLINED":
        return False
    return _times(old.get(None, master)) == _times(master)


def _exclude(
    calendar: icalendar.Calendar, events: list[icalendar.Event], override: icalendar.Event
) -> None:
    master = master_of(events)
    if master is None:
        return
    calendar.subcomponents.remove(override)
    master.add("EXDATE", override.decoded("RECURRENCE-ID"))


def cancelled_copy(existing: str, sequence: int | None = None) -> str:
    """The attendee's copy, cancelled (RFC 5546 3.2.5): STATUS:CANCELLED on every
    VEVENT, the organizer's SEQUENCE if known; the phone then shows MeetingStatus 7."""
    calendar = parse(existing)
    for event in vevents(calendar):
        fields.remove(event, "STATUS")
        event.add("STATUS", "CANCELLED")
        fields.remove(event, "X-EASGW-MEETING-STATUS")  # an answer's "3" would hide it
        if sequence is not None:
            fields.remove(event, "SEQUENCE")
            event.add("SEQUENCE", sequence)
    text: bytes = calendar.to_ical()
    return text.decode("utf-8")


def sequence_of(text: str) -> int | None:
    """The series' SEQUENCE, if any."""
    master = master_of(vevents(parse(text)))
    raw = fields.text_of(master, "SEQUENCE") if master is not None else None
    return int(raw) if raw is not None and raw.strip().isdigit() else None
