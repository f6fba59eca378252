"""iTIP messages (RFC 5546) for an organizer's writes and an attendee's answer (pure).

EAS 16.x phones leave meeting mail to the server: when an organizer's phone
creates, changes or deletes a meeting through Sync, easgw sends the REQUEST or
CANCEL; a MeetingResponse with SendResponse sends the REPLY. This module decides
who gets what and builds each iCalendar object; :mod:`easgw.mail.imip` wraps it
in its e-mail (RFC 6047).

Recipients (RFC 5546 3.2, RFC 6638 7.1): never the organizer, never a conference
resource (``skip``), never an ATTENDEE with ``SCHEDULE-AGENT=NONE``/``CLIENT``
(someone else delivers to them), only ``mailto:`` addresses. A change an
attendee sees (times, recurrence, title, place, description, status, the
conference link, overrides) updates everyone; alarms, categories, transparency,
class, timestamps and the attendees' answers (PARTSTAT) send nothing.

The outgoing object has METHOD and the VTIMEZONEs (TZIDs must resolve); its
VEVENTs lose VALARMs (the organizer's alarms are theirs), easgw's private
``X-EASGW-*`` state except the conference link, the conference resources, and
the CalDAV-only ``SCHEDULE-*`` parameters (RFC 6638 7.1-7.3: never in iTIP).
SEQUENCE (RFC 5546 2.1.4): clients take a REQUEST as newer only when it grew, and
phones never send one: :func:`with_sequence` keeps and bumps the stored count.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import icalendar

from protocol.calendar import itip_read as read
from protocol.calendar.conference import CONFERENCE_PROPERTIES, TEAMS_PROPERTY

__all__ = [
    "SCHEDULING_PARAMS",
    "ItipMessage",
    "messages_for_delete",
    "messages_for_write",
    "organized_by",
    "organizer_of",
    "with_sequence",
]

#: Changes that make an earlier invitation stale (RFC 5546 2.1.4): SEQUENCE + 1.
#: "END" stands for DTEND / DTSTART + DURATION, compared as the instant it means.
SEQUENCE_KEYS = ("DTSTART", "END", "RRULE", "RDATE", "EXDATE", "STATUS")
#: What an attendee sees: a change of any of these sends an updated REQUEST.
_SEEN = ("SUMMARY", "LOCATION", "DESCRIPTION", "CONFERENCE", TEAMS_PROPERTY)
VISIBLE_KEYS = (*SEQUENCE_KEYS, *_SEEN, *CONFERENCE_PROPERTIES)
_SETS = frozenset({"RDATE", "EXDATE", "CONFERENCE"})  # order carries no meaning
SCHEDULING_PARAMS = ("SCHEDULE-AGENT", "SCHEDULE-STATUS", "SCHEDULE-FORCE-SEND")
_KEPT_PRIVATE = "X-EASGW-CONFERENCE"  # the prefix of the X-EASGW-* properties that travel


@dataclass(frozen=True, slots=True, kw_only=True)
class ItipMessage:
    """One iTIP message: its method, its recipients and its iCalendar object."""

    method: str  # "REQUEST" | "CANCEL" | "REPLY"
    recipients: tuple[str, ...]  # bare addresses, as written, deduplicated case-insensitively
    ical: str  # a VCALENDAR with METHOD, PRODID, VERSION and the VEVENT(s), CRLF lines
    summary: str  # the master's SUMMARY ("" if none), for the subject
    update: bool = False  # a REQUEST updating an invitation already sent
    partstat: str = ""  # REPLY only: ACCEPTED | TENTATIVE | DECLINED


# --------------------------------------------------------------------------
# Comparing values (not text)


def _view(event: icalendar.Component, keys: Iterable[str]) -> dict[str, object]:
    view: dict[str, object] = {}
    for key in keys:
        if key == "END":
            view[key] = read.end_of(event)
            continue
        values = read.values_of(event, key)  # an RDATE/EXDATE line may hold several dates:
        lists = icalendar.vDDDLists
        atoms = [read.atom(v) for x in values for v in (x.dts if isinstance(x, lists) else [x])]
        if key == "STATUS":
            atoms = [str(a).upper() for a in atoms]
        view[key] = frozenset(map(str, atoms)) if key in _SETS else tuple(atoms)
    return view


def _changed(
    before: icalendar.Component, after: icalendar.Component, keys: tuple[str, ...]
) -> bool:
    return _view(before, keys) != _view(after, keys)


def _visible_change(before: list[icalendar.Component], after: list[icalendar.Component]) -> bool:
    old, new = read.by_key(before), read.by_key(after)
    if old.keys() != new.keys():
        return True  # an override added or removed
    return any(_changed(old[key], event, VISIBLE_KEYS) for key, event in new.items())


# --------------------------------------------------------------------------
# Organizer, attendees, recipients


def organizer_of(ical: str) -> str | None:
    """The master's ORGANIZER address without ``mailto:``, as written; None if none."""
    return read.organizer_address(read.events_of(read.parse(ical)))


def _attendees(events: Iterable[icalendar.Component]) -> Iterator[Any]:
    for event in events:
        yield from read.values_of(event, "ATTENDEE")


def organized_by(ical: str, email: str) -> bool:
    """Whether ``email`` organizes this meeting: it is the ORGANIZER and someone
    else is invited (an event with an ORGANIZER but no guest is no meeting)."""
    events = read.events_of(read.parse(ical))
    organizer = read.organizer_address(events)
    if organizer is None or organizer.lower() != read.bare(email):
        return False
    return any(
        (read.address_of(a) or str(a)).lower() != organizer.lower() for a in _attendees(events)
    )


def _recipients(events: list[icalendar.Component], excluded: Collection[str]) -> dict[str, str]:
    """Lower-cased address -> address as written, for the attendees a message
    goes to (first listing wins: the master's, then the overrides')."""
    seen: dict[str, str] = {}
    refused: set[str] = set()
    for attendee in _attendees(events):
        address = read.address_of(attendee)
        if address is None:
            continue
        low = address.lower()
        if low in seen or low in refused or low in excluded:
            continue
        params = getattr(attendee, "params", {})
        if str(params.get("SCHEDULE-AGENT", "SERVER")).upper() in ("NONE", "CLIENT"):
            refused.add(low)  # RFC 6638 7.1: the client (or nobody) delivers
            continue
        seen[low] = address
    return seen


def _excluded(organizer: str, events: list[icalendar.Component], skip: Collection[str]) -> set[str]:
    out = {read.bare(address) for address in skip}
    out.add(read.bare(organizer))
    written = read.organizer_address(events)
    if written:
        out.add(written.lower())
    return out


# --------------------------------------------------------------------------
# Building the outgoing object


def _clean(event: icalendar.Component, skip: set[str], now: datetime, organizer: Any) -> None:
    """What never travels: alarms, private state, resources, CalDAV parameters;
    and the ORGANIZER every VEVENT of a message needs (RFC 5546 3.2.2, 3.2.5)."""
    if "ORGANIZER" not in event and organizer is not None:
        event.add("ORGANIZER", organizer, encode=False)
    event.subcomponents = [c for c in event.subcomponents if c.name != "VALARM"]
    for name in list(event.keys()):
        upper = str(name).upper()
        if upper.startswith("X-EASGW-") and not upper.startswith(_KEPT_PRIVATE):
            del event[name]
    kept = [
        a
        for a in read.values_of(event, "ATTENDEE")
        if (read.address_of(a) or "").lower() not in skip
    ]
    _set_attendees(event, kept)
    for value in [*read.values_of(event, "ATTENDEE"), *read.values_of(event, "ORGANIZER")]:
        for param in SCHEDULING_PARAMS:
            getattr(value, "params", {}).pop(param, None)
    event.pop("DTSTAMP", None)
    event.add("DTSTAMP", now)


def _set_attendees(event: icalendar.Component, attendees: list[Any]) -> None:
    event.pop("ATTENDEE", None)
    for attendee in attendees:
        event.add("ATTENDEE", attendee, encode=False)


def _set_sequence(event: icalendar.Component, sequence: int) -> None:
    event.pop("SEQUENCE", None)
    event.add("SEQUENCE", sequence)


def _request(
    text: str, recipients: Iterable[str], skip: set[str], organizer: Any, *, update: bool
) -> ItipMessage | None:
    to = tuple(recipients)
    if not to:
        return None
    calendar = read.parse(text)
    events = read.events_of(calendar)
    now = datetime.now(UTC).replace(microsecond=0)
    for event in events:
        _clean(event, skip, now, organizer)
    master = read.master_of(events)
    summary = read.text_of(master, "SUMMARY") if master is not None else ""
    ical = read.calendar_text(calendar, "REQUEST", events)
    return ItipMessage(method="REQUEST", recipients=to, ical=ical, summary=summary, update=update)


def _cancel(
    text: str,
    cancelled: dict[str, str],
    skip: set[str],
    organizer: Any,
    sequence: int,
    *,
    occurrences: Sequence[date] = (),
) -> ItipMessage | None:
    """CANCEL of the whole meeting (RFC 5546 3.2.5: the master, no RECURRENCE-ID)
    or of the ``occurrences`` (one VEVENT each, RECURRENCE-ID = the occurrence)
    to ``cancelled``, who are the only ATTENDEEs it lists."""
    if not cancelled:
        return None
    calendar = read.parse(text)
    events = read.events_of(calendar)
    master = read.master_of(events)
    assert master is not None  # cancelled is not empty: there are attendees
    chosen = [master] if "RECURRENCE-ID" not in master else events
    if occurrences:
        chosen = [_instance_of(master, when) for when in occurrences]
    now = datetime.now(UTC).replace(microsecond=0)
    for event in chosen:
        _clean(event, skip, now, organizer)
        listed = {(read.address_of(a) or "").lower(): a for a in read.values_of(event, "ATTENDEE")}
        new = icalendar.vCalAddress
        _set_attendees(event, [listed.get(k) or new(f"mailto:{v}") for k, v in cancelled.items()])
        event.pop("STATUS", None)
        event.add("STATUS", "CANCELLED")
        _set_sequence(event, max(sequence, read.sequence_of(event)))
    ical, summary = read.calendar_text(calendar, "CANCEL", chosen), read.text_of(master, "SUMMARY")
    return ItipMessage(
        method="CANCEL", recipients=(*cancelled.values(),), ical=ical, summary=summary
    )


# --------------------------------------------------------------------------
# The public builders


def with_sequence(before: str | None, after: str) -> str:
    """``after`` with each VEVENT's SEQUENCE kept from ``before`` (0 for a new
    event; a new override takes the master's) and bumped by one when its times,
    recurrence or status changed; ``after`` itself when nothing changes. A
    SEQUENCE already higher in ``after`` (a CalDAV client's) is kept."""
    calendar = read.parse(after)
    old_events = read.events_of(read.parse(before)) if before is not None else []
    old = read.by_key(old_events)
    old_master = read.master_of(old_events)
    touched = False
    targets: dict[object, int] = {}
    for event in read.events_of(calendar):
        key = read.key_of(event)
        previous = old.get(key)
        if previous is None and key is not None and old_master is not None:
            target = targets.get(None, read.sequence_of(old_master))
        else:
            target = read.sequence_of(previous) + (
                previous is not None and _changed(previous, event, SEQUENCE_KEYS)
            )
        target = max(target, read.sequence_of(event))
        targets[key] = target
        if read.sequence_of(event) != target:  # absent = 0 (RFC 5545 3.8.7.4)
            _set_sequence(event, target)
            touched = True
    return calendar.to_ical().decode("utf-8") if touched else after


def messages_for_write(
    before: str | None, after: str, *, organizer: str, skip: Collection[str]
) -> list[ItipMessage]:
    """The messages the organizer's save of ``after`` sends (``before`` = the
    stored version, None for a new event); [] when ``organizer`` is not the
    meeting's organizer or nothing an attendee sees changed."""
    after = with_sequence(before, after)  # idempotent: the caller may have done it
    new_events = read.events_of(read.parse(after))
    old_events = read.events_of(read.parse(before)) if before is not None else []
    # Every guest removed: a 16.x phone sends no ORGANIZER (MS-ASCAL 2.2.2.35), so
    # the stored one says whose meeting it was, and the guests still get their CANCEL.
    written = new_events if read.organizer_address(new_events) is not None else old_events
    if not _organizer_matches(written, organizer):
        return []
    excluded, line = _excluded(organizer, written, skip), read.organizer_line(written)
    dropped = {read.bare(address) for address in skip}
    now_to = _recipients(new_events, excluded)
    cancelled = _cancelled(new_events)
    if before is None:
        if cancelled:
            return []  # never invited: nothing to cancel
        message = _request(after, now_to.values(), dropped, line, update=False)
        return [message] if message else []
    was_to = _recipients(old_events, excluded)
    sequence = read.sequence_of(read.master_of(old_events)) + 1
    if cancelled:
        if _cancelled(old_events):
            return []  # cancelled before: the attendees were told then
        everyone = {**was_to, **now_to}
        message = _cancel(after, everyone, dropped, line, sequence)
        return [message] if message else []
    listed = {(read.address_of(a) or "").lower() for a in _attendees(new_events)}
    # Removed = no longer listed (one now marked SCHEDULE-AGENT=NONE is not removed).
    removed = {low: address for low, address in was_to.items() if low not in listed}
    added = [address for low, address in now_to.items() if low not in was_to]
    staying = [address for low, address in now_to.items() if low in was_to]
    messages = [_cancel(after, removed, dropped, line, sequence)]
    gone = _occurrences_removed(old_events, new_events)
    if gone:  # only occurrences deleted: cancel those (RFC 5546 3.2.5, RECURRENCE-ID)
        kept = {address.lower(): address for address in staying}
        messages.append(_cancel(after, kept, dropped, line, sequence, occurrences=gone))
    elif _visible_change(old_events, new_events):
        messages.append(_request(after, staying, dropped, line, update=True))
    messages.append(_request(after, added, dropped, line, update=False))
    return [message for message in messages if message is not None]


def _occurrences_removed(
    old: list[icalendar.Component], new: list[icalendar.Component]
) -> list[date]:
    """The occurrences the organizer deleted (new EXDATEs), when that is the only
    change attendees would see; [] otherwise (then it is an updated REQUEST)."""
    old_by, new_by = read.by_key(old), read.by_key(new)
    if None not in old_by or None not in new_by or not new_by.keys() <= old_by.keys():
        return []
    keys = tuple(key for key in VISIBLE_KEYS if key != "EXDATE")
    if _changed(old_by[None], new_by[None], keys):
        return []
    before, after = (_view(event, ("EXDATE",))["EXDATE"] for event in (old_by[None], new_by[None]))
    assert isinstance(before, frozenset)
    assert isinstance(after, frozenset)
    added = after - before
    dropped = old_by.keys() - new_by.keys()
    if not added or not before <= after or any(str(key) not in added for key in dropped):
        return []
    if any(_changed(old_by[key], event, VISIBLE_KEYS) for key, event in new_by.items() if key):
        return []
    values = read.values_of(new_by[None], "EXDATE")
    dates = [v for x in values for v in (x.dts if isinstance(x, icalendar.vDDDLists) else [x])]
    chosen: dict[str, date] = {}
    for value in dates:
        moment = read.atom(value)
        if isinstance(moment, date) and str(moment) in added:
            chosen[str(moment)] = moment
    return sorted(chosen.values(), key=str)


def _instance_of(master: icalendar.Component, when: date) -> icalendar.Component:
    """A VEVENT naming one occurrence of ``master`` (its RECURRENCE-ID), for a CANCEL."""
    event = icalendar.Event()
    for name in ("UID", "ORGANIZER", "SUMMARY", "SEQUENCE", "LOCATION"):
        if name in master:
            event.add(name, master[name], encode=False)
    for attendee in read.values_of(master, "ATTENDEE"):
        event.add("ATTENDEE", attendee, encode=False)
    event.add("RECURRENCE-ID", when)
    event.add("DTSTART", when)
    return event


def _organizer_matches(events: list[icalendar.Component], organizer: str) -> bool:
    """Whether the object's ORGANIZER is ``organizer`` (case-insensitively)."""
    written = read.organizer_address(events)
    return written is not None and written.lower() == read.bare(organizer)


def _cancelled(events: list[icalendar.Component]) -> bool:
    master = read.master_of(events)
    return master is not None and read.text_of(master, "STATUS").upper() == "CANCELLED"


def messages_for_delete(before: str, *, organizer: str, skip: Collection[str]) -> list[ItipMessage]:
    """The CANCEL to every attendee when the organizer deletes the meeting
    (none when it was already cancelled: they were told then)."""
    events = read.events_of(read.parse(before))
    if not _organizer_matches(events, organizer) or _cancelled(events):
        return []
    dropped = {read.bare(address) for address in skip}
    to = _recipients(events, _excluded(organizer, events, skip))
    line = read.organizer_line(events)
    message = _cancel(before, to, dropped, line, read.sequence_of(read.master_of(events)) + 1)
    return [message] if message else []
