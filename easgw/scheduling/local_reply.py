"""An attendee's answer on the organizer's copy (easgw/scheduling/local.py
``update_organizer_copy``): RFC 5546 3.2.3 REPLY processing without the mail.

The answer goes on every VEVENT that lists the attendee (MS-ASCMD 2.2.3.92.1:
without InstanceId "the action is to be taken on every instance"), or on one
occurrence's override, made from the series when there is none (as
protocol/calendar/replies.py does on the attendee's own copy; its helpers are
private there and also record the attendee's view, so the few lines finding
the occurrence are repeated here). A declined occurrence stays in the
organizer's calendar: only the attendee's PARTSTAT says it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar

from easgw.scheduling.local_copy import attendee_of, master_of, organizer_of, parse, vevents
from protocol.calendar import ical_fields as fields
from protocol.calendar.overrides import exceptions_to_ical
from protocol.calendar.recurrence import ExceptionData

__all__ = ["with_partstat"]

#: What MeetingResponse answers (MS-ASCMD 2.2.3.185 UserResponse) as PARTSTATs.
_ANSWERS = frozenset({"ACCEPTED", "TENTATIVE", "DECLINED"})


def with_partstat(
    text: str,
    *,
    organizer: str,
    attendee: str,
    partstat: str,
    recurrence_id: datetime | None = None,
) -> str | None:
    """The organizer's event with ``attendee``'s answer (RFC 5546 3.2.3 REPLY
    processing), for the series or one occurrence (its override, created from the
    series when there is none); None when nothing changes or it is not
    ``organizer``'s meeting."""
    calendar = parse(text)
    events = vevents(calendar)
    master = master_of(events)
    attendee, partstat = attendee.strip().lower(), partstat.upper()
    if partstat not in _ANSWERS:
        raise ValueError(f"not an answer: {partstat!r}")
    if master is None or "DTSTART" not in master or organizer_of(text) != organizer.lower():
        return None
    if recurrence_id is None:
        targets = [e for e in events if attendee_of(e, attendee) is not None] or [master]
    else:
        override = _occurrence(calendar, master, events, recurrence_id)
        if override is None:
            return None
        targets = [override]
    changed = False
    for event in targets:
        changed = _answer(event, attendee, partstat) or changed
    if not changed:
        return None
    result: bytes = calendar.to_ical()
    return result.decode("utf-8")


def _answer(event: icalendar.Event, email: str, partstat: str) -> bool:
    attendee = attendee_of(event, email)
    if attendee is None:
        attendee = icalendar.vCalAddress(f"mailto:{email}")
        event.add("ATTENDEE", attendee)
    params = attendee.params
    if str(params.get("PARTSTAT", "")).upper() == partstat and "RSVP" not in params:
        return False
    params["PARTSTAT"] = partstat
    for stale in ("RSVP", "X-EASGW-STATUS"):
        params.pop(stale, None)
    return True


def _utc(value: date | datetime, zone: str) -> datetime:
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=ZoneInfo(zone))
        return aware.astimezone(UTC)
    return datetime.combine(value, time(), ZoneInfo(zone)).astimezone(UTC)


def _original(instance: datetime, zone: str, all_day: bool) -> datetime:
    """The occurrence's original start (aware UTC) for an InstanceId; an all-day
    one is its day's local midnight (as protocol/calendar/replies.py reads it:
    16.x sends UTC midnight, 14.1 the local midnight as UTC)."""
    instance = instance if instance.tzinfo is not None else instance.replace(tzinfo=UTC)
    if not all_day:
        return instance.astimezone(UTC)
    if instance.astimezone(UTC).time() == time():
        day = instance.astimezone(UTC).date()
    else:
        local = instance.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
        day = (local + timedelta(hours=12)).date()
    return datetime.combine(day, time(), ZoneInfo(zone)).astimezone(UTC)


def _occurrence(
    calendar: icalendar.Calendar,
    master: icalendar.Event,
    events: list[icalendar.Event],
    instance: datetime,
) -> icalendar.Event | None:
    """The override of the occurrence at ``instance``, added from the series if
    needed; None for an event that does not recur or an excluded occurrence.
    The attendee's own copy (the same series) already checked it is one."""
    if "RRULE" not in master and "RDATE" not in master:
        return None
    start: Any = master.decoded("DTSTART")
    zone = fields.zone_of(master, start)
    all_day = not isinstance(start, datetime)
    original = _original(instance, zone, all_day)
    for event in events:
        if "RECURRENCE-ID" in event and _utc(event.decoded("RECURRENCE-ID"), zone) == original:
            return event
    excluded = [v.dt for entry in fields.values_of(master, "EXDATE") for v in entry.dts]
    if any(_utc(value, zone) == original for value in excluded):
        return None
    _, (override,) = exceptions_to_ical(
        master,
        [ExceptionData(original_start=original)],
        zone=zone,
        all_day=all_day,
        make_override=lambda _exception: icalendar.Event(),
    )
    calendar.add_component(override)
    return override
