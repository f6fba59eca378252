"""Property-level helpers for :mod:`protocol.calendar.ical`: one writer and reader per EAS field.

Each ``put_*`` writes one EAS value into a VEVENT (nothing for None or empty);
:func:`read_event` and :func:`read_override` read them back. The mapping
itself is documented in :mod:`protocol.calendar.ical`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import icalendar

from protocol.calendar.body import html_to_text
from protocol.calendar.model import (
    Attendee,
    Body,
    ConversionError,
    format_datetime,
    parse_datetime,
)
from protocol.calendar.recurrence import ExceptionData

ZONE_PROPERTY = "X-EASGW-TIMEZONE"
CLIENT_UID_PROPERTY = "X-EASGW-CLIENT-UID"
BODY_PROPERTIES = ("DESCRIPTION", "X-ALT-DESC")
BUSY_PROPERTIES = ("TRANSP", "X-MICROSOFT-CDO-BUSYSTATUS")
MEETING_STATUS_PROPERTIES = ("STATUS", "X-EASGW-MEETING-STATUS")
CONF_LINK_PROPERTY = "X-MICROSOFT-ONLINEMEETINGCONFLINK"

#: (element, property, CalendarItem attribute) for the values kept as one X- property.
EXTRAS: tuple[tuple[str, str, str], ...] = (
    ("ResponseRequested", "X-EASGW-RESPONSE-REQUESTED", "response_requested"),
    ("ResponseType", "X-EASGW-RESPONSE-TYPE", "response_type"),
    ("AppointmentReplyTime", "X-EASGW-APPOINTMENT-REPLY-TIME", "appointment_reply_time"),
    ("DisallowNewTimeProposal", "X-MICROSOFT-DISALLOW-COUNTER", "disallow_new_time_proposal"),
)

#: Element -> CalendarItem attribute, for items built in code rather than parsed.
ELEMENT_FIELDS: tuple[tuple[str, str], ...] = (
    ("Timezone", "timezone"),
    ("AllDayEvent", "all_day"),
    ("StartTime", "start_time"),
    ("EndTime", "end_time"),
    ("DtStamp", "dt_stamp"),
    ("Subject", "subject"),
    ("Location", "location"),
    ("Body", "body"),
    ("OrganizerName", "organizer_name"),
    ("OrganizerEmail", "organizer_email"),
    ("Attendees", "attendees"),
    ("BusyStatus", "busy_status"),
    ("Sensitivity", "sensitivity"),
    ("Reminder", "reminder"),
    ("Categories", "categories"),
    ("MeetingStatus", "meeting_status"),
    ("UID", "uid"),
    ("ClientUid", "client_uid"),
    ("Recurrence", "recurrence"),
    ("Exceptions", "exceptions"),
    *((element, attribute) for element, _prop, attribute in EXTRAS),
)

_BUSY = ("FREE", "TENTATIVE", "BUSY", "OOF", "WORKINGELSEWHERE")
_CLASSES = ("PUBLIC", "X-PERSONAL", "PRIVATE", "CONFIDENTIAL")
_PARTSTAT = {0: "NEEDS-ACTION", 2: "TENTATIVE", 3: "ACCEPTED", 4: "DECLINED", 5: "NEEDS-ACTION"}
_STATUS_OF_PARTSTAT = {"TENTATIVE": 2, "ACCEPTED": 3, "DECLINED": 4, "NEEDS-ACTION": 5}
_CANCELLED = frozenset({5, 7, 13, 15})


# --------------------------------------------------------------------------
# Generic helpers


def remove(event: icalendar.Event, name: str) -> None:
    """Drop a property (every occurrence) or, for ``"VALARM"``, the alarms."""
    if name == "VALARM":
        event.subcomponents = [c for c in event.subcomponents if c.name != "VALARM"]
        return
    while name in event:
        del event[name]


def copy_event(event: icalendar.Event) -> icalendar.Event:
    return copy.deepcopy(event)


def copy_properties(
    source: icalendar.Event | None, target: icalendar.Event, names: Iterable[str]
) -> None:
    for name in names:
        remove(target, name)
        if source is not None and name in source:
            target[name] = copy.deepcopy(source[name])


def values_of(event: icalendar.Component, name: str) -> list[Any]:
    value = event.get(name)
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def text_of(event: icalendar.Component, name: str) -> str | None:
    values = values_of(event, name)
    return str(values[0]) if values else None


def html_of(event: icalendar.Component) -> str | None:
    """The HTML description (X-ALT-DESC;FMTTYPE=text/html), unescaped."""
    for value in values_of(event, "X-ALT-DESC"):
        if str(getattr(value, "params", {}).get("FMTTYPE", "")).lower() == "text/html":
            return unescape_text(str(value))
    return None


def html_property(html: str) -> icalendar.vText:
    """An X-ALT-DESC value, escaped as TEXT (RFC 5545 3.3.11; icalendar keeps an
    unknown X- property's value as written, so a plain str would go out raw and
    a line break in the HTML would make the object unwritable)."""
    return icalendar.vText(html)


def unescape_text(value: str) -> str:
    """RFC 5545 3.3.11 TEXT unescaping (icalendar leaves X- values escaped)."""
    if "\\" not in value:
        return value
    out: list[str] = []
    chars = iter(value)
    for char in chars:
        if char != "\\":
            out.append(char)
            continue
        following = next(chars, "")
        out.append("\n" if following in ("n", "N") else following or "\\")
    return "".join(out)


def is_iana(zone: str) -> bool:
    if not zone or zone.startswith("/") or ".." in zone:
        return False
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def zone_of(event: icalendar.Event, start: date | datetime) -> str:
    """The IANA zone of an event: DTSTART's zone, or X-EASGW-TIMEZONE for dates
    and for the UTC times ``ical_times.write_times`` writes in a repeated hour; else UTC."""
    remembered = text_of(event, ZONE_PROPERTY)
    if not isinstance(start, datetime) or (start.utcoffset() == timedelta() and remembered):
        return remembered if remembered and is_iana(remembered) else "UTC"
    candidates = [getattr(start.tzinfo, "key", None)]
    prop = event.get("DTSTART")
    tzid = getattr(prop, "params", {}).get("TZID")
    if tzid:
        candidates += [
            str(tzid),
            icalendar.timezone.windows_to_olson.WINDOWS_TO_OLSON.get(str(tzid)),
        ]
    for candidate in candidates:
        if candidate and is_iana(candidate):
            return str(candidate)
    return "UTC"


def tzids(events: Iterable[icalendar.Event]) -> set[str]:
    """Every TZID the events' date-time properties name."""
    found: set[str] = set()
    for event in events:
        for name in ("DTSTART", "DTEND", "RECURRENCE-ID", "EXDATE", "RDATE"):
            for value in values_of(event, name):
                tzid = getattr(value, "params", {}).get("TZID")
                if tzid:
                    found.add(str(tzid))
    return found


# --------------------------------------------------------------------------
# Writers


def put_text(event: icalendar.Component, name: str, value: str | None) -> None:
    if value:
        event.add(name, value)


def put_body(event: icalendar.Component, body: Body | str | None, body_type: int = 1) -> None:
    if body is None:
        return
    data, kind = (body.data, body.type) if isinstance(body, Body) else (body, body_type)
    if not data:
        return
    if kind == 2:
        event.add("DESCRIPTION", html_to_text(data))
        event.add("X-ALT-DESC", html_property(data), parameters={"FMTTYPE": "text/html"})
    else:
        event.add("DESCRIPTION", data)


def _address(email: str, name: str | None) -> icalendar.vCalAddress:
    address = icalendar.vCalAddress(f"mailto:{email}")
    if name:
        # icalendar 7 misreads a backslash before ":" or ";" (or at the end) of a
        # parameter value; a display name loses nothing that matters as "/".
        address.params["CN"] = name.replace("\\", "/")
    return address


def put_organizer(event: icalendar.Component, email: str | None, name: str | None) -> None:
    if email:
        event.add("ORGANIZER", _address(email, name))


def put_attendees(event: icalendar.Component, attendees: tuple[Attendee, ...] | None) -> None:
    for attendee in attendees or ():
        if not attendee.email:
            continue  # an attendee needs an address (RFC 5545 3.8.4.1)
        address = _address(attendee.email, attendee.name)
        if attendee.status in _PARTSTAT:
            address.params["PARTSTAT"] = _PARTSTAT[attendee.status]
            if attendee.status == 0:
                address.params["X-EASGW-STATUS"] = "0"
        if attendee.type == 3:
            address.params["CUTYPE"] = "RESOURCE"
        elif attendee.type in (1, 2):
            address.params["ROLE"] = "REQ-PARTICIPANT" if attendee.type == 1 else "OPT-PARTICIPANT"
        event.add("ATTENDEE", address)


def put_busy(event: icalendar.Component, busy: int | None) -> None:
    if busy is None:
        return
    event.add("TRANSP", "TRANSPARENT" if busy == 0 else "OPAQUE")
    if 0 <= busy < len(_BUSY):
        event.add("X-MICROSOFT-CDO-BUSYSTATUS", _BUSY[busy])


def put_class(event: icalendar.Component, sensitivity: int | None) -> None:
    if sensitivity is not None and 0 <= sensitivity < len(_CLASSES):
        event.add("CLASS", _CLASSES[sensitivity])


def put_reminder(event: icalendar.Component, minutes: int | None) -> None:
    if minutes is None:
        return
    alarm = icalendar.Alarm()
    alarm.add("ACTION", "DISPLAY")
    alarm.add("DESCRIPTION", "Reminder")
    alarm.add("TRIGGER", timedelta(minutes=-minutes))
    event.add_component(alarm)


def _escape_text(value: str) -> str:
    """RFC 5545 3.3.11 TEXT escaping."""
    return (
        value.replace("\\", "\\\\")
        .replace(",", "\\,")
        .replace(";", "\\;")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
    )


def put_categories(event: icalendar.Component, categories: tuple[str, ...] | None) -> None:
    if categories:
        # Escaped here: icalendar 7 writes a category "\N" as "\n" (a newline).
        event.add("CATEGORIES", icalendar.prop.vInline(",".join(map(_escape_text, categories))))


def put_meeting_status(event: icalendar.Component, status: int | None) -> None:
    if status is None:
        return
    if status in _CANCELLED:
        event.add("STATUS", "CANCELLED")
    elif status:
        event.add("STATUS", "CONFIRMED")
    event.add("X-EASGW-MEETING-STATUS", str(status))


def _extra_text(value: Any) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime):
        return format_datetime(value)
    return str(value)


def put_extra(name: str, attribute: str) -> Callable[[icalendar.Component, Any], None]:
    def write(event: icalendar.Component, item: Any) -> None:
        value = getattr(item, attribute)
        if value is not None:
            event.add(name, _extra_text(value))

    return write


def keep_replies(event: icalendar.Component, stored: icalendar.Component) -> None:
    """Attendees written without PARTSTAT take the stored reply for the same address."""
    replies = {
        _email(a).lower(): a.params
        for a in values_of(stored, "ATTENDEE")
        if "PARTSTAT" in getattr(a, "params", {})
    }
    for address in values_of(event, "ATTENDEE"):
        previous = replies.get(_email(address).lower())
        if previous is not None and "PARTSTAT" not in address.params:
            for name in ("PARTSTAT", "X-EASGW-STATUS"):
                if name in previous:
                    address.params[name] = previous[name]


# --------------------------------------------------------------------------
# Readers


def _email(address: Any) -> str:
    text = str(address)
    return text[7:] if text.lower().startswith("mailto:") else text


def _attendee(address: Any) -> Attendee:
    params = getattr(address, "params", {})
    partstat = str(params.get("PARTSTAT", "")).upper()
    status: int | None = None
    if partstat:
        status = (
            0 if str(params.get("X-EASGW-STATUS")) == "0" else _STATUS_OF_PARTSTAT.get(partstat, 0)
        )
    kind: int | None = None
    if str(params.get("CUTYPE", "")).upper() in {"RESOURCE", "ROOM"}:
        kind = 3
    elif str(params.get("ROLE", "")).upper() == "OPT-PARTICIPANT":
        kind = 2
    elif str(params.get("ROLE", "")).upper() == "REQ-PARTICIPANT":
        kind = 1
    return Attendee(email=_email(address), name=str(params.get("CN", "")), status=status, type=kind)


def _busy(event: icalendar.Component) -> int | None:
    value = (text_of(event, "X-MICROSOFT-CDO-BUSYSTATUS") or "").upper()
    if value in _BUSY:
        return _BUSY.index(value)
    transp = (text_of(event, "TRANSP") or "").upper()
    if transp:
        return 0 if transp == "TRANSPARENT" else 2
    return None


def _sensitivity(event: icalendar.Component) -> int | None:
    value = (text_of(event, "CLASS") or "").upper()
    if not value:
        return None
    return _CLASSES.index(value) if value in _CLASSES else 2


def _reminder(event: icalendar.Component) -> int | None:
    for alarm in event.walk("VALARM"):
        trigger = alarm.get("TRIGGER")
        if trigger is None or str(trigger.params.get("RELATED", "START")).upper() != "START":
            continue
        if isinstance(trigger.dt, timedelta) and trigger.dt <= timedelta(0):
            return int(-trigger.dt.total_seconds() // 60)
    return None


def _categories(event: icalendar.Component) -> tuple[str, ...] | None:
    result = [str(c) for value in values_of(event, "CATEGORIES") for c in value.cats]
    return tuple(result) or None


def _meeting_status(event: icalendar.Component) -> int | None:
    raw = text_of(event, "X-EASGW-MEETING-STATUS")
    if raw and raw.strip().isdigit():
        return int(raw)
    cancelled = (text_of(event, "STATUS") or "").upper() == "CANCELLED"
    if "ATTENDEE" in event:
        return 7 if cancelled else 1
    return 5 if cancelled else 0


def _extra(raw: str | None, attribute: str) -> Any:
    if raw is None:
        return None
    if attribute in {"response_requested", "disallow_new_time_proposal"}:
        return raw.strip().upper() in {"TRUE", "1"}
    if attribute == "appointment_reply_time":
        try:
            return parse_datetime(raw)
        except ConversionError:
            return None
    return int(raw) if raw.strip().isdigit() else None


def _external_link(event: icalendar.Component) -> str | None:
    for value in values_of(event, "CONFERENCE"):
        if str(value).lower().startswith(("https://", "http://")):
            return str(value)
    return None


def _common(event: icalendar.Component) -> dict[str, Any]:
    attendees = tuple(_attendee(a) for a in values_of(event, "ATTENDEE"))
    return {
        "subject": text_of(event, "SUMMARY"),
        "location": text_of(event, "LOCATION"),
        "busy_status": _busy(event),
        "sensitivity": _sensitivity(event),
        "reminder": _reminder(event),
        "categories": _categories(event),
        "meeting_status": _meeting_status(event),
        "attendees": attendees or None,
    }


def read_event(event: icalendar.Event) -> dict[str, Any]:
    """The CalendarItem fields of a master VEVENT other than times, body and recurrence."""
    values = _common(event)
    organizer = event.get("ORGANIZER")
    if organizer is not None:
        values["organizer_email"] = _email(organizer)
        values["organizer_name"] = str(organizer.params.get("CN", "")) or None
    for _element, name, attribute in EXTRAS:
        values[attribute] = _extra(text_of(event, name), attribute)
    stamp = event.get("DTSTAMP")
    values["dt_stamp"] = stamp.dt if stamp is not None and isinstance(stamp.dt, datetime) else None
    values["uid"] = text_of(event, "UID")
    values["client_uid"] = text_of(event, CLIENT_UID_PROPERTY)
    values["online_meeting_conf_link"] = text_of(event, CONF_LINK_PROPERTY)
    values["online_meeting_external_link"] = _external_link(event)
    return values


def owner_view(event: icalendar.Event, owner: str) -> dict[str, Any]:
    """What the calendar's owner sees of a meeting that carries no EAS values
    of its own (an invitation stored by another client or a CalDAV server):
    MeetingStatus 3 "received" (7 cancelled) when someone else organizes it
    (MS-ASCAL 2.2.2.29), ResponseType from the owner's PARTSTAT and
    ResponseRequested from its RSVP (MS-ASCAL 2.2.2.38, 2.2.2.37); the
    organizer's own copy answers ResponseType 1. Values easgw stored from a
    phone (X-EASGW-*) win."""
    organizer = event.get("ORGANIZER")
    if organizer is None or "ATTENDEE" not in event:
        return {}
    mine = owner.strip().lower()
    values: dict[str, Any] = {}
    organized = _email(organizer).strip().lower() == mine
    if text_of(event, "X-EASGW-MEETING-STATUS") is None and not organized:
        cancelled = (text_of(event, "STATUS") or "").upper() == "CANCELLED"
        values["meeting_status"] = 7 if cancelled else 3
    if text_of(event, "X-EASGW-RESPONSE-TYPE") is None:
        if organized:
            values["response_type"] = 1
        for address in values_of(event, "ATTENDEE"):
            if not organized and _email(address).strip().lower() == mine:
                params = getattr(address, "params", {})
                partstat = str(params.get("PARTSTAT", "NEEDS-ACTION")).upper()
                values["response_type"] = _STATUS_OF_PARTSTAT.get(partstat, 5)
                if text_of(event, "X-EASGW-RESPONSE-REQUESTED") is None:
                    values["response_requested"] = str(params.get("RSVP", "")).upper() == "TRUE"
    return values


def read_override(event: icalendar.Event) -> dict[str, Any]:
    """The ExceptionData fields an override VEVENT can carry (times are the caller's)."""
    values = _common(event)
    values["body"] = text_of(event, "DESCRIPTION")
    return values


def make_override(exception: ExceptionData) -> icalendar.Event:
    """The properties an occurrence overrides, for :func:`recurrence.exceptions_to_ical`."""
    event = icalendar.Event()
    put_text(event, "SUMMARY", exception.subject)
    put_text(event, "LOCATION", exception.location)
    put_body(event, exception.body, exception.body_type or 1)
    put_busy(event, exception.busy_status)
    put_class(event, exception.sensitivity)
    put_reminder(event, exception.reminder)
    put_categories(event, exception.categories)
    put_meeting_status(event, exception.meeting_status)
    attendees = exception.attendees
    put_attendees(event, tuple(a for a in attendees or () if isinstance(a, Attendee)) or None)
    return event
