"""CalendarItem <-> iCalendar VEVENT (RFC 5545), with the ghosting merge of a Change.

``item_to_ical(item, version=, stored=, supported=)`` returns a whole
VCALENDAR: the master VEVENT, RECURRENCE-ID overrides and the VTIMEZONEs they
use. ``ical_to_item(ical, version=, body_preference=)`` goes the other way.

Mapping (element -> property): Subject SUMMARY; Location LOCATION; Body
DESCRIPTION (plain text; an HTML body is converted to text and kept whole in
``X-ALT-DESC;FMTTYPE=text/html``); OrganizerName/OrganizerEmail ORGANIZER;
Attendees ATTENDEE (CN; PARTSTAT from AttendeeStatus 2 TENTATIVE, 3 ACCEPTED,
4 DECLINED, 0 and 5 NEEDS-ACTION (0 marked ``X-EASGW-STATUS=0``); ROLE
REQ-/OPT-PARTICIPANT from AttendeeType 1/2, CUTYPE=RESOURCE for 3); BusyStatus
TRANSP + X-MICROSOFT-CDO-BUSYSTATUS; Sensitivity CLASS (1 personal =
X-PERSONAL); Reminder a DISPLAY VALARM, minutes before start; Categories
CATEGORIES; MeetingStatus STATUS (CANCELLED for the cancelled values) +
X-EASGW-MEETING-STATUS; ResponseRequested/ResponseType/AppointmentReplyTime
X-EASGW-* properties; DisallowNewTimeProposal X-MICROSOFT-DISALLOW-COUNTER;
UID UID; ClientUid X-EASGW-CLIENT-UID; DtStamp DTSTAMP; Recurrence and
Exceptions RRULE, EXDATE and overrides (:mod:`protocol.calendar.recurrence`).
OnlineMeetingConfLink is read from X-MICROSOFT-ONLINEMEETINGCONFLINK and
OnlineMeetingExternalLink from the first http(s) CONFERENCE: both are server
owned and never written from a request.

Times: DTSTART/DTEND carry the IANA TZID matched from the Timezone blob
(:func:`protocol.calendar.timezone.zone_for_tzinfo`, the stored TZID preferred
so names do not churn) and a VTIMEZONE. All-day events are VALUE=DATE: up to
14.1 StartTime is local midnight in the blob's zone written as UTC, so the date
is taken in that zone (rounded to the nearest local midnight, which absorbs a
blob whose DST rules differ by an hour from the zone's: the grommunio #136
day shift); the zone is remembered in X-EASGW-TIMEZONE so the event goes back
to the phone with the same blob. 16.x all-day times are dates already
(:mod:`protocol.calendar.ical_times`).

Ghosting on Change (MS-ASCMD 2.2.3.179 Supported, MS-ASCAL 3.1.5.3; EAS-NOTES
"Ghosting"). easgw follows the spec, not Z-Push (which keeps every omitted
property): up to 14.1 with a Supported list, an element the device declared
and omitted is deleted and an undeclared one is kept; with no Supported list
(``supported=None``) an omitted element is deleted; in 16.x every omitted
element is kept. A device clears a value by sending the element empty (an
empty Location clears LOCATION whatever the version). An attendee the device
sends without AttendeeStatus keeps the reply (PARTSTAT) stored for that
address: phones resend attendees without their answers. Deliberate exceptions:
the time elements (StartTime, EndTime, AllDayEvent, Timezone), UID and DtStamp
are never deleted by omission (an event needs them); a Body the device sends
with Truncated=1 does not overwrite the stored text. Properties the device
cannot represent (X-* other than ours, CONFERENCE, ATTACH, URL, ...) are kept
from ``stored`` whatever the rule.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import icalendar

from protocol.calendar import ical_fields as fields
from protocol.calendar.body import body_for_preference
from protocol.calendar.ical_parse import parse_calendar_text
from protocol.calendar.ical_times import (
    Times,
    resolve_times,
    stored_times,
    to_datetime,
    write_times,
    zone_info,
)
from protocol.calendar.model import (
    Body,
    BodyPreference,
    CalendarItem,
    ConversionError,
    version_tuple,
)
from protocol.calendar.overrides import exceptions_to_ical, ical_to_exceptions
from protocol.calendar.recurrence import (
    recurrence_to_rrule,
    rrule_to_recurrence,
)
from protocol.calendar.timezone import tzinfo_for_zone, vtimezone

__all__ = ["ical_to_item", "item_to_ical"]

_ERRORS = (ValueError, KeyError, IndexError, TypeError, AttributeError)

_PRODID = "-//easgw//EAS gateway//EN"
_TIME_ELEMENTS = frozenset({"StartTime", "EndTime", "AllDayEvent", "Timezone"})


@dataclass(frozen=True, slots=True)
class _Group:
    """EAS elements and the iCalendar properties they own, with the writer."""

    elements: frozenset[str]
    properties: tuple[str, ...]
    write: Callable[[icalendar.Event, CalendarItem], None]


_GROUPS: tuple[_Group, ...] = tuple(
    _Group(frozenset(elements), properties, write)
    for elements, properties, write in (
        (("Subject",), ("SUMMARY",), lambda e, i: fields.put_text(e, "SUMMARY", i.subject)),
        (("Location",), ("LOCATION",), lambda e, i: fields.put_text(e, "LOCATION", i.location)),
        (("Body",), fields.BODY_PROPERTIES, lambda e, i: fields.put_body(e, i.body)),
        (
            ("OrganizerName", "OrganizerEmail"),
            ("ORGANIZER",),
            lambda e, i: fields.put_organizer(e, i.organizer_email, i.organizer_name),
        ),
        (("Attendees",), ("ATTENDEE",), lambda e, i: fields.put_attendees(e, i.attendees)),
        (
            ("BusyStatus",),
            fields.BUSY_PROPERTIES,
            lambda e, i: fields.put_busy(e, i.busy_status),
        ),
        (("Sensitivity",), ("CLASS",), lambda e, i: fields.put_class(e, i.sensitivity)),
        (("Reminder",), ("VALARM",), lambda e, i: fields.put_reminder(e, i.reminder)),
        (("Categories",), ("CATEGORIES",), lambda e, i: fields.put_categories(e, i.categories)),
        (
            ("MeetingStatus",),
            fields.MEETING_STATUS_PROPERTIES,
            lambda e, i: fields.put_meeting_status(e, i.meeting_status),
        ),
        *(
            ((element,), (prop,), fields.put_extra(prop, attribute))
            for element, prop, attribute in fields.EXTRAS
        ),
    )
)


def _action(
    elements: frozenset[str],
    present: frozenset[str],
    *,
    merging: bool,
    sixteen: bool,
    supported: frozenset[str] | None,
) -> str:
    """Return "set", "keep" or "clear" for one group of elements (see the module docstring)."""
    if not merging or elements & present:
        return "set"
    if sixteen:
        return "keep"
    if supported is None or elements & supported:
        return "clear"
    return "keep"


def _implied_present(item: CalendarItem) -> frozenset[str]:
    """An item built in code (no request): every element with a value counts as sent."""
    names = {
        name for name, attribute in fields.ELEMENT_FIELDS if getattr(item, attribute) is not None
    }
    return frozenset(names)


def _split(calendar: icalendar.Calendar) -> tuple[icalendar.Event | None, list[icalendar.Event]]:
    master: icalendar.Event | None = None
    overrides: list[icalendar.Event] = []
    for component in calendar.walk("VEVENT"):
        if not isinstance(component, icalendar.Event):
            continue
        if "RECURRENCE-ID" in component:
            overrides.append(component)
        elif master is None:
            master = component
    return master, overrides


_VTIMEZONE = re.compile(r"BEGIN:VTIMEZONE\r?\n(.*?)END:VTIMEZONE\r?\n", re.DOTALL)
_TZID_LINE = re.compile(r"^TZID:([^\r\n]*)$", re.MULTILINE)


def _without_iana_vtimezones(text: str) -> str:
    """Drop VTIMEZONEs of IANA zones before parsing: zoneinfo has their rules (a third faster)."""

    def keep(match: re.Match[str]) -> str:
        tzid = _TZID_LINE.search(match.group(1))
        return "" if tzid and fields.is_iana(tzid.group(1).strip()) else match.group(0)

    return _VTIMEZONE.sub(keep, text)


def _load(text: str) -> icalendar.Calendar:
    try:
        calendar = parse_calendar_text(_without_iana_vtimezones(text))
    except ValueError as exc:
        raise ConversionError(f"unreadable iCalendar: {exc}") from exc
    if not isinstance(calendar, icalendar.Calendar):
        raise ConversionError("not a VCALENDAR")
    return calendar


def item_to_ical(
    item: CalendarItem,
    *,
    version: str,
    stored: str | None,
    supported: frozenset[str] | None,
    now: datetime | None = None,
) -> str:
    """A full VCALENDAR for ``item``, merged with ``stored`` on a Change.

    ``supported``: the element names of the collection's Supported list (local
    names, as in :attr:`CalendarItem.present`), or None when the device sent
    none. A Change carrying an InstanceId (16.x) goes to
    :func:`protocol.calendar.instances.apply_instance`. Raises
    :class:`ConversionError` for anything that cannot be converted.
    """
    if item.instance_id is not None and stored is not None:
        # 16.x: a Change naming one occurrence edits that occurrence only.
        from protocol.calendar.instances import apply_instance  # instances imports this module

        return apply_instance(stored, item, version=version, now=now)
    try:
        return _item_to_ical(item, version, stored, supported, now)
    except ConversionError:
        raise
    except _ERRORS as exc:
        raise ConversionError(f"cannot convert the event: {exc}") from exc


#: What a rescheduling changes (RFC 5545 3.8.7.4: SEQUENCE grows with it).
_SCHEDULE_PROPERTIES = ("DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE")


def _schedule_values(event: icalendar.Component, name: str) -> list[str]:
    value = event.get(name)
    listed = value if isinstance(value, list) else [] if value is None else [value]
    found: list[str] = []
    for entry in listed:
        if isinstance(entry, icalendar.vDDDLists):
            found.extend(str(moment.dt) for moment in entry.dts)
        elif hasattr(entry, "dt"):
            found.append(str(entry.dt))  # the instant with its zone, not the text
        else:
            found.append(entry.to_ical().decode() if hasattr(entry, "to_ical") else str(entry))
    return sorted(found)


def _rescheduled(stored: icalendar.Component, master: icalendar.Component) -> bool:
    """Did the times or the recurrence change? A phone resends StartTime with every
    Change (14.1 sends the whole item), so presence alone says nothing."""
    return any(
        _schedule_values(stored, name) != _schedule_values(master, name)
        for name in _SCHEDULE_PROPERTIES
    )


def _item_to_ical(
    item: CalendarItem,
    version: str,
    stored: str | None,
    supported: frozenset[str] | None,
    now: datetime | None,
) -> str:
    stored_calendar = _load(stored) if stored else None
    stored_master, stored_overrides = _split(stored_calendar) if stored_calendar else (None, [])
    merging = stored_master is not None
    master = fields.copy_event(stored_master) if stored_master else icalendar.Event()
    present = item.present or _implied_present(item)
    decide = _decider(present, merging, version_tuple(version) >= (16, 0), supported)
    for group in _GROUPS:
        _apply(master, group, decide(group.elements), item)
    if stored_master is not None:
        fields.keep_replies(master, stored_master)
    if decide(frozenset({"Body"})) == "set" and item.body is not None and item.body.truncated:
        fields.copy_properties(stored_master, master, fields.BODY_PROPERTIES)
    times = stored_times(stored_master)
    if not merging or present & _TIME_ELEMENTS:
        times = resolve_times(item, times, version_tuple(version) >= (16, 0))
        write_times(master, times, recurring=item.recurrence is not None or "RRULE" in master)
    if times is None:
        raise ConversionError("StartTime is missing")
    _write_identity(master, item, present, now)
    overrides = _write_recurrence(master, item, times, decide, stored_overrides)
    if stored_master is not None and _rescheduled(stored_master, master):
        sequence = master.get("SEQUENCE")
        fields.remove(master, "SEQUENCE")
        master.add("SEQUENCE", int(sequence or 0) + 1)  # RFC 5545 3.8.7.4: a rescheduling
    fields.remove(master, "LAST-MODIFIED")
    master.add("LAST-MODIFIED", (now or datetime.now(UTC)).replace(microsecond=0))
    return _assemble(master, overrides, stored_calendar, times)


def _decider(
    present: frozenset[str], merging: bool, sixteen: bool, supported: frozenset[str] | None
) -> Callable[[frozenset[str]], str]:
    def decide(elements: frozenset[str]) -> str:
        return _action(elements, present, merging=merging, sixteen=sixteen, supported=supported)

    return decide


def _apply(event: icalendar.Event, group: _Group, action: str, item: CalendarItem) -> None:
    if action == "keep":
        return
    for name in group.properties:
        fields.remove(event, name)
    if action == "set":
        group.write(event, item)


#: Namespace of the UIDs made from a 16.x ClientUid (a fixed, arbitrary UUID).
_CLIENT_UID_NAMESPACE = uuid.UUID("6f1b3c2e-8d4a-5b7e-9c1f-2a3b4c5d6e7f")


def server_uid(client_uid: str | None) -> str:
    """The UID the server gives a new event (MS-ASCAL 2.2.2.46: in 16.x the
    server makes it, the client sends ClientUid). Derived from the ClientUid
    when there is one, so an Add resent after a lost answer -- even one whose
    sync state never committed (a crash between a CalDAV write and the
    state) -- names the same UID, and the store's If-None-Match finds the
    first copy instead of making a second event."""
    if client_uid:
        return str(uuid.uuid5(_CLIENT_UID_NAMESPACE, client_uid)).upper()
    return str(uuid.uuid4()).upper()


def _write_identity(
    event: icalendar.Event, item: CalendarItem, present: frozenset[str], now: datetime | None
) -> None:
    if item.uid:
        fields.remove(event, "UID")
        event.add("UID", item.uid)
    elif "UID" not in event:
        event.add("UID", server_uid(item.client_uid))
    if item.client_uid:
        fields.remove(event, fields.CLIENT_UID_PROPERTY)
        event.add(fields.CLIENT_UID_PROPERTY, item.client_uid)
    stamp = item.dt_stamp if "DtStamp" in present and item.dt_stamp else None
    if stamp is not None or "DTSTAMP" not in event:
        fields.remove(event, "DTSTAMP")
        event.add("DTSTAMP", stamp or (now or datetime.now(UTC)).replace(microsecond=0))


def _write_recurrence(
    master: icalendar.Event,
    item: CalendarItem,
    times: Times,
    decide: Callable[[frozenset[str]], str],
    stored_overrides: list[icalendar.Event],
) -> list[icalendar.Event]:
    rule_action = decide(frozenset({"Recurrence"}))
    if rule_action != "keep":
        fields.remove(master, "RRULE")
        if rule_action == "set" and item.recurrence is not None:
            rrule = recurrence_to_rrule(
                item.recurrence, start=times.start, zone=times.zone, all_day=times.all_day
            )
            master.add("RRULE", rrule)
    if "RRULE" not in master:
        fields.remove(master, "EXDATE")
        return []
    if decide(frozenset({"Exceptions"})) == "keep":
        return stored_overrides
    fields.remove(master, "EXDATE")
    if not item.exceptions:
        return []
    exdates, overrides = exceptions_to_ical(
        master,
        item.exceptions,
        zone=times.zone,
        all_day=times.all_day,
        make_override=fields.make_override,
    )
    for value in exdates:
        master.add("EXDATE", value)
    return list(overrides)


def _assemble(
    master: icalendar.Event,
    overrides: list[icalendar.Event],
    stored: icalendar.Calendar | None,
    times: Times,
) -> str:
    calendar = icalendar.Calendar()
    calendar.add("PRODID", _PRODID)
    calendar.add("VERSION", "2.0")
    events = [master, *overrides]
    stored_zones = {
        str(c["TZID"]): c for c in (stored.walk("VTIMEZONE") if stored else []) if "TZID" in c
    }
    years = 10 if "RRULE" in master else 2  # a series: cover the coming years' transitions
    for tzid in sorted(fields.tzids(events)):
        if fields.is_iana(tzid):
            start = to_datetime(times.start, tzid) - timedelta(days=1)
            end = to_datetime(times.end, tzid) + timedelta(days=366 * years)
            calendar.add_component(vtimezone(tzid, start, end))
        elif tzid in stored_zones:
            calendar.add_component(stored_zones[tzid])
    for event in events:
        calendar.add_component(event)
    text: bytes = calendar.to_ical()
    return text.decode("utf-8")


# --------------------------------------------------------------------------
# iCalendar -> EAS


def ical_to_item(
    ical: str,
    *,
    version: str,
    body_preference: BodyPreference | None,
    default_zone: str | None = None,
    owner: str | None = None,
) -> CalendarItem:
    """The EAS view of a stored event for ``version`` (the body cut to ``body_preference``).

    ``owner``: the e-mail address of the calendar's owner, whose view of a
    meeting it is (``ical_fields.owner_view``: an invitation is "received").

    ``default_zone`` is the zone an all-day event without X-EASGW-TIMEZONE is
    sent in up to 14.1 (the user's zone if the caller knows it; else UTC).
    Raises :class:`ConversionError` when the stored text cannot be read.
    """
    try:
        return _ical_to_item(ical, version, body_preference, default_zone, owner)
    except ConversionError:
        raise
    except _ERRORS as exc:
        raise ConversionError(f"cannot read the stored event: {exc}") from exc


def _ical_to_item(
    ical: str,
    version: str,
    body_preference: BodyPreference | None,
    default_zone: str | None,
    owner: str | None,
) -> CalendarItem:
    master, overrides = _split(_load(ical))
    if master is None or "DTSTART" not in master:
        raise ConversionError("no VEVENT with a DTSTART")
    times = stored_times(master)
    assert times is not None
    sixteen = version_tuple(version) >= (16, 0)
    zone = times.zone
    if times.all_day and zone == "UTC" and default_zone:
        zone = default_zone
    values = _time_values(times, zone, sixteen)
    values.update(fields.read_event(master))
    if owner:
        values.update(fields.owner_view(master, owner))
    values["body"] = _body(master, body_preference)
    values["native_body_type"] = 2 if fields.html_of(master) else 1
    rrule = master.get("RRULE")
    rrule = rrule[0] if isinstance(rrule, list) else rrule
    if isinstance(rrule, icalendar.vRecur):
        recurrence = rrule_to_recurrence(rrule, start=times.start, zone=zone, all_day=times.all_day)
        values["recurrence"] = recurrence
        if recurrence is not None:
            exceptions = ical_to_exceptions(
                master,
                overrides,
                zone=zone,
                all_day=times.all_day,
                read_override=fields.read_override,
            )
            values["exceptions"] = exceptions or None
    return CalendarItem(**values)


def _time_values(times: Times, zone: str, sixteen: bool) -> dict[str, Any]:
    if times.all_day and sixteen:
        return {"all_day": True, "start_time": times.start, "end_time": times.end}
    start = to_datetime(times.start, zone)
    end = to_datetime(times.end, zone)
    return {
        "all_day": times.all_day,
        "start_time": start,
        "end_time": end,
        "timezone": tzinfo_for_zone(zone, start.astimezone(zone_info(zone)).year),
    }


def _body(master: icalendar.Event, preference: BodyPreference | None) -> Body | None:
    text = fields.text_of(master, "DESCRIPTION")
    html = fields.html_of(master)
    if text is None and html is None:
        return None
    return body_for_preference(text or "", html, preference)
