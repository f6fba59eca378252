"""An attendee's proposal of a new time: the iTIP COUNTER (RFC 5546 3.2.7), pure.

EAS 16.1 lets a phone answer a meeting with a proposed new time
(MeetingResponse ``SendResponse`` with ``ProposedStartTime`` /
``ProposedEndTime``, MS-ASCMD 2.2.3.140, 2.2.3.141). Exchange mails the
organizer an answer carrying the proposal; the iTIP form of that is COUNTER:
the event as the attendee would have it, with their PARTSTAT and the proposed
DTSTART/DTEND, sent to the organizer, who may accept it with a new REQUEST or
refuse it (DECLINECOUNTER). The attendee's own copy is not moved.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from protocol.calendar import itip_read as read
from protocol.calendar.itip import ItipMessage, reply_message

__all__ = ["counter_message"]


def counter_message(
    ical: str,
    *,
    attendee: str,
    partstat: str,
    start: datetime,
    end: datetime | None,
    recurrence_id: datetime | None = None,
) -> ItipMessage | None:
    """The COUNTER proposing ``start``-``end`` (aware datetimes); None when the
    meeting has no organizer to propose to (as :func:`reply_message`)."""
    if start.tzinfo is None or (end is not None and end.tzinfo is None):
        raise ValueError("a proposed time must be aware")
    if end is not None and end <= start:
        raise ValueError("a proposed end must follow its start")
    reply = reply_message(ical, attendee=attendee, partstat=partstat, recurrence_id=recurrence_id)
    if reply is None:
        return None
    calendar = read.parse(reply.ical)
    del calendar["METHOD"]
    calendar.add("METHOD", "COUNTER")
    for event in read.events_of(calendar):
        for name in ("DTSTART", "DTEND", "DURATION"):
            event.pop(name, None)
        event.add("DTSTART", start.astimezone(UTC))
        if end is not None:
            event.add("DTEND", end.astimezone(UTC))
    text: bytes = calendar.to_ical()
    return replace(reply, method="COUNTER", ical=text.decode("utf-8"))
