"""An attendee's answer to the organizer: the iTIP REPLY and COUNTER (RFC 5546 3.2.3, 3.2.7), pure.

A MeetingResponse with ``SendResponse`` (MS-ASCMD 2.2.3.163) mails the
organizer a REPLY carrying only the answering attendee's line. EAS 16.1 also
lets a phone propose a new time (``ProposedStartTime`` / ``ProposedEndTime``,
MS-ASCMD 2.2.3.140, 2.2.3.141): Exchange mails the organizer an answer carrying
the proposal; the iTIP form of that is COUNTER: the event as the attendee would
have it, with their PARTSTAT and the proposed DTSTART/DTEND, sent to the
organizer, who may accept it with a new REQUEST or refuse it (DECLINECOUNTER).
The attendee's own copy is not moved.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import icalendar

from protocol.calendar import itip_read as read
from protocol.calendar.itip import SCHEDULING_PARAMS, ItipMessage

__all__ = ["PARTSTATS", "counter_message", "reply_message"]

PARTSTATS = frozenset({"ACCEPTED", "TENTATIVE", "DECLINED"})
#: What an attendee's ATTENDEE line in a REPLY leaves out (RFC 6638 7.1-7.3; the answer is new).
_DROPPED_IN_REPLY = frozenset({*SCHEDULING_PARAMS, "RSVP", "PARTSTAT"})


def reply_message(
    ical: str, *, attendee: str, partstat: str, recurrence_id: datetime | None = None
) -> ItipMessage | None:
    """The attendee's answer to the organizer (RFC 5546 3.2.3): METHOD:REPLY, one
    VEVENT with UID, SEQUENCE, DTSTAMP, ORGANIZER, RECURRENCE-ID for one
    occurrence, DTSTART/DTEND/SUMMARY, and only this attendee's ATTENDEE."""
    answer = partstat.strip().upper()
    if answer not in PARTSTATS:
        raise ValueError(f"not a reply PARTSTAT: {partstat!r}")
    calendar = read.parse(ical)
    events = read.events_of(calendar)
    master = read.master_of(events)
    organizer = read.organizer_address(events)
    who = attendee.strip()
    who = who[7:] if who[:7].lower() == "mailto:" else who
    if master is None or organizer is None or organizer.lower() == who.lower():
        return None
    if read.address_of(read.values_of(master, "ORGANIZER")[0]) is None:
        return None  # no mail address to answer to
    source = master
    if recurrence_id is not None:
        wanted = recurrence_id.astimezone(UTC) if recurrence_id.tzinfo else recurrence_id
        source = read.by_key(events).get(wanted, master)
    event = icalendar.Event()
    for name in ("UID", "SEQUENCE", "ORGANIZER", "RECURRENCE-ID", "DTSTART", "DTEND", "SUMMARY"):
        if name in source and (source is not master or name != "RECURRENCE-ID"):
            event.add(name, source[name], encode=False)
    if source is master and recurrence_id is not None:
        _occurrence_times(event, master, recurrence_id)
    if "SEQUENCE" not in event:
        event.add("SEQUENCE", read.sequence_of(master))
    event.add("DTSTAMP", datetime.now(UTC).replace(microsecond=0))
    event.add("ATTENDEE", _own_line(events, source, who, answer), encode=False)
    return ItipMessage(
        method="REPLY",
        recipients=(organizer,),
        ical=read.calendar_text(calendar, "REPLY", [event]),
        summary=read.text_of(master, "SUMMARY"),
        partstat=answer,
    )


def _occurrence_times(
    event: icalendar.Component, master: icalendar.Component, when: datetime
) -> None:
    """RECURRENCE-ID (and DTSTART/DTEND) of an occurrence with no override."""
    for name in ("DTSTART", "DTEND"):
        event.pop(name, None)
    moment: date = when.astimezone(UTC) if when.tzinfo else when
    start = getattr(master.get("DTSTART"), "dt", None)
    if isinstance(start, date) and not isinstance(start, datetime):
        moment = when.date()  # an all-day series: DATE values (RFC 5545 3.8.4.4)
    event.add("RECURRENCE-ID", moment)
    event.add("DTSTART", moment)
    end = read.end_of(master)
    try:
        length = end - read.atom(master["DTSTART"])  # type: ignore[operator]
    except (TypeError, KeyError):
        return  # no end, or one that cannot be compared: DTEND is optional in a REPLY
    if isinstance(length, timedelta):
        event.add("DTEND", moment + length)


def _own_line(
    events: list[icalendar.Component], source: icalendar.Component, who: str, answer: str
) -> icalendar.vCalAddress:
    """This attendee's ATTENDEE line (as the organizer wrote it, CN kept) with the
    answer; a new one when the attendee was invited through a list."""
    for event in (source, *events):
        for value in read.values_of(event, "ATTENDEE"):
            if (read.address_of(value) or "").lower() == who.lower():
                line = icalendar.vCalAddress(str(value))
                line.params.update(
                    {k: v for k, v in value.params.items() if k.upper() not in _DROPPED_IN_REPLY}
                )
                line.params["PARTSTAT"] = answer
                return line
    line = icalendar.vCalAddress(f"mailto:{who}")
    line.params["PARTSTAT"] = answer
    return line


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
