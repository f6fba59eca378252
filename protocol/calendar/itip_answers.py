"""Attendees asked to answer (pure): again after a reschedule; newly, when forwarded to.

When the organizer changes what makes earlier answers stale (the times, the
recurrence: the changes that raise SEQUENCE, RFC 5546 2.1.4), the attendees'
PARTSTATs on the organizer's copy go back to NEEDS-ACTION with RSVP=TRUE, as
the updated REQUEST asks them to answer again (RFC 5546 3.2.2.1) and as their
own copies on the embedded store are reset (easgw/scheduling/local_copy.py):
the organizer's phone then shows "no response yet" instead of answers given to
another time. Attendees with ``SCHEDULE-AGENT=NONE`` (the conference resource)
are left alone, and so is the organizer's own line.
"""

from __future__ import annotations

from collections.abc import Sequence

import icalendar

from protocol.calendar import itip_read as read

__all__ = ["ask_again", "with_attendees"]


def ask_again(before: str | None, after: str) -> str:
    """``after`` (SEQUENCE already set, itip.with_sequence) with the answers of each
    VEVENT whose SEQUENCE grew over ``before``'s reset; ``after`` itself if none."""
    if before is None:
        return after
    old = read.by_key(read.events_of(read.parse(before)))
    calendar = read.parse(after)
    touched = False
    for event in read.events_of(calendar):
        previous = old.get(read.key_of(event))
        if previous is None or read.sequence_of(event) <= read.sequence_of(previous):
            continue
        organizer = read.address_of(next(iter(read.values_of(event, "ORGANIZER")), "")) or ""
        for attendee in read.values_of(event, "ATTENDEE"):
            params = attendee.params
            if str(params.get("SCHEDULE-AGENT", "")).upper() == "NONE":
                continue
            if (read.address_of(attendee) or "").lower() == organizer.lower():
                continue
            if str(params.get("PARTSTAT", "NEEDS-ACTION")).upper() != "NEEDS-ACTION":
                params["PARTSTAT"] = "NEEDS-ACTION"
                params["RSVP"] = "TRUE"
                touched = True
    if not touched:
        return after
    text: bytes = calendar.to_ical()
    return text.decode("utf-8")


def with_attendees(ical: str, people: Sequence[tuple[str, str]]) -> str:
    """``ical`` with each (address, name) of ``people`` as an ATTENDEE asked to answer
    (PARTSTAT=NEEDS-ACTION, RSVP=TRUE) on every VEVENT that lists attendees (the
    master at least), unless already listed; ``ical`` itself when nobody is new."""
    calendar = read.parse(ical)
    events = read.events_of(calendar)
    master = read.master_of(events)
    touched = False
    for event in events:
        if event is not master and not read.values_of(event, "ATTENDEE"):
            continue  # an override without a list of its own shares the master's
        listed = {(read.address_of(a) or "").lower() for a in read.values_of(event, "ATTENDEE")}
        for address, name in people:
            bare = address.strip()
            if not bare or "@" not in bare or bare.lower() in listed:
                continue
            attendee = icalendar.vCalAddress(f"mailto:{bare}")
            if name.strip():
                attendee.params["CN"] = name.strip()
            attendee.params["PARTSTAT"] = "NEEDS-ACTION"
            attendee.params["RSVP"] = "TRUE"
            event.add("ATTENDEE", attendee)
            listed.add(bare.lower())
            touched = True
    if not touched:
        return ical
    text: bytes = calendar.to_ical()
    return text.decode("utf-8")
