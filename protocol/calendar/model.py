"""The EAS calendar item (MS-ASCAL 2.2.2) and its ApplicationData form, 12.0..16.1.

``parse_calendar(application_data, version)`` reads the children of a Sync
``ApplicationData`` into a :class:`CalendarItem`; ``render_calendar(item,
version)`` writes them back in the order Exchange sends them (the corpus files
``sync-response-calendar*.xml`` and the Horde vectors show it). Every field is
optional: a Change carries only what the device sends, and
:attr:`CalendarItem.present` names the elements the request actually carried
(empty elements included: an empty ``Location`` clears the location), which is
what the ghosting merge in :mod:`protocol.calendar.ical` needs. The model
classes live in :mod:`protocol.calendar.item` and are re-exported here.

Version differences (MS-ASCAL 2.2.2, MS-ASWBXML 2.1.2.1.5):

* Location: ``Calendar:Location`` up to 14.1, ``AirSyncBase:Location`` with a
  ``DisplayName`` child in 16.x (both are read whatever the version);
* Body: ``AirSyncBase:Body`` (12.0+); the 2.5 ``Calendar:Body`` /
  ``BodyTruncated`` pair is read too (the Horde vectors use it);
* all-day events: up to 14.1 StartTime/EndTime are local midnight in the
  event's zone written as UTC, with a Timezone; in 16.x they are dates
  (:class:`datetime.date` here), rendered as ``YYYYMMDDT000000Z`` without a
  Timezone;
* ResponseRequested, AppointmentReplyTime, ResponseType,
  DisallowNewTimeProposal: 14.0+; OnlineMeetingConfLink and
  OnlineMeetingExternalLink: 14.1+, server to client only -- "a command request
  MUST NOT contain" them (MS-ASCAL 2.2.2.33, 2.2.2.34), so a request's copies
  are ignored unless ``response=True`` (tests and replay tooling read
  responses);
* UID: 16.x clients send ClientUid and no UID (MS-ASCAL 2.2.2.10); a 16.x
  request's UID is ignored. ClientUid is never rendered: the server answers
  with the UID it generated.

An AirSyncBase:Body without a Data child is read as truncated (the device
did not send the text), so the merge keeps the stored text; an empty Data
clears it.

Unreadable values (a bad date, a Timezone that is not 172 bytes of base64, a
non-numeric number) raise :class:`ConversionError`; the Sync engine answers
that item with Status 6.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from lxml import etree

from protocol.calendar.exceptions_wbxml import parse_exceptions, render_exceptions
from protocol.calendar.item import (
    Attendee,
    Body,
    BodyPreference,
    CalendarItem,
    ConversionError,
    format_datetime,
    parse_datetime,
    version_tuple,
)
from protocol.calendar.recurrence import (
    ExceptionData,
    parse_recurrence,
    render_recurrence,
)
from protocol.calendar.timezone import TimeZoneInfo

__all__ = [
    "Attendee",
    "Body",
    "BodyPreference",
    "CalendarItem",
    "ConversionError",
    "format_datetime",
    "parse_calendar",
    "parse_datetime",
    "render_calendar",
    "version_tuple",
]

CAL = "Calendar:"
BASE = "AirSyncBase:"


# --------------------------------------------------------------------------
# Parsing


def _text(element: etree._Element) -> str:
    return element.text or ""


def _int(element: etree._Element) -> int | None:
    text = _text(element).strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError as exc:
        raise ConversionError(f"{etree.QName(element).localname}: not a number") from exc


def _bool(element: etree._Element) -> bool | None:
    number = _int(element)
    return None if number is None else number != 0


def _time(element: etree._Element) -> datetime | None:
    text = _text(element).strip()
    return parse_datetime(text) if text else None


def _timezone(element: etree._Element) -> TimeZoneInfo | None:
    text = "".join(_text(element).split())
    if not text:
        return None
    try:
        return TimeZoneInfo.from_base64(text)
    except ValueError as exc:  # binascii.Error is a ValueError too
        raise ConversionError("Timezone: not a 172-byte base64 TIME_ZONE_INFORMATION") from exc


def _attendees(element: etree._Element) -> tuple[Attendee, ...]:
    result = []
    for child in element:
        if etree.QName(child).localname != "Attendee":
            continue
        values: dict[str, etree._Element] = {etree.QName(c).localname: c for c in child}
        result.append(
            Attendee(
                email=_text(values["Email"]).strip() if "Email" in values else "",
                name=_text(values["Name"]) if "Name" in values else "",
                status=_int(values["AttendeeStatus"]) if "AttendeeStatus" in values else None,
                type=_int(values["AttendeeType"]) if "AttendeeType" in values else None,
            )
        )
    return tuple(result)


def _categories(element: etree._Element) -> tuple[str, ...]:
    return tuple(_text(c) for c in element if etree.QName(c).localname == "Category")


def _body(element: etree._Element) -> Body:
    values: dict[str, etree._Element] = {etree.QName(c).localname: c for c in element}
    body_type = _int(values["Type"]) if "Type" in values else None
    # No Data element at all: the device did not send the text; it counts as
    # truncated, so the merge keeps the stored text (an empty Data clears it).
    return Body(
        type=body_type or 1,
        data=_text(values["Data"]) if "Data" in values else "",
        estimated_size=_int(values["EstimatedDataSize"]) if "EstimatedDataSize" in values else None,
        truncated=bool(_bool(values["Truncated"]))
        if "Truncated" in values
        else "Data" not in values,
        preview=_text(values["Preview"]) if "Preview" in values else None,
    )


def _location16(element: etree._Element) -> str:
    for child in element:
        if etree.QName(child).localname == "DisplayName":
            return _text(child)
    return ""


def _parse_exceptions(element: etree._Element, version: str) -> tuple[ExceptionData, ...]:
    return parse_exceptions(element, version, parse_attendees=lambda e, _v: _attendees(e))


def _guarded(reader: Callable[[etree._Element, str], Any]) -> Callable[[etree._Element, str], Any]:
    def read(element: etree._Element, version: str) -> Any:
        try:
            return reader(element, version)
        except ConversionError:
            raise
        except (ValueError, KeyError, TypeError) as exc:
            name = etree.QName(element).localname
            raise ConversionError(f"{name}: {exc}") from exc

    return read


_Reader = Callable[[etree._Element], Any]

#: (namespace, local name) -> (field, reader).
_LEAVES: dict[tuple[str, str], tuple[str, _Reader]] = {
    (CAL, "Timezone"): ("timezone", _timezone),
    (CAL, "AllDayEvent"): ("all_day", _bool),
    (CAL, "StartTime"): ("start_time", _time),
    (CAL, "EndTime"): ("end_time", _time),
    (CAL, "DtStamp"): ("dt_stamp", _time),
    (CAL, "Subject"): ("subject", _text),
    (CAL, "Location"): ("location", _text),
    (BASE, "Location"): ("location", _location16),
    (CAL, "OrganizerName"): ("organizer_name", _text),
    (CAL, "OrganizerEmail"): ("organizer_email", lambda e: _text(e).strip()),
    (CAL, "Attendees"): ("attendees", _attendees),
    (CAL, "BusyStatus"): ("busy_status", _int),
    (CAL, "Sensitivity"): ("sensitivity", _int),
    (CAL, "Reminder"): ("reminder", _int),
    (CAL, "Categories"): ("categories", _categories),
    (CAL, "MeetingStatus"): ("meeting_status", _int),
    (CAL, "ResponseRequested"): ("response_requested", _bool),
    (CAL, "ResponseType"): ("response_type", _int),
    (CAL, "AppointmentReplyTime"): ("appointment_reply_time", _time),
    (CAL, "DisallowNewTimeProposal"): ("disallow_new_time_proposal", _bool),
    (CAL, "UID"): ("uid", lambda e: _text(e).strip() or None),
    (CAL, "ClientUid"): ("client_uid", lambda e: _text(e).strip() or None),
    (CAL, "OnlineMeetingConfLink"): ("online_meeting_conf_link", _text),
    (CAL, "OnlineMeetingExternalLink"): ("online_meeting_external_link", _text),
    (BASE, "Body"): ("body", _body),
    (BASE, "NativeBodyType"): ("native_body_type", _int),
    (BASE, "InstanceId"): ("instance_id", _time),
}

_SERVER_ONLY = frozenset({"OnlineMeetingConfLink", "OnlineMeetingExternalLink"})


def parse_calendar(
    application_data: etree._Element, version: str, *, response: bool = False
) -> CalendarItem:
    """The calendar item in a Sync ApplicationData (a request's, unless ``response``)."""
    values: dict[str, Any] = {}
    present: set[str] = set()
    legacy_truncated = False
    sixteen = version_tuple(version) >= (16, 0)
    for child in application_data.iterchildren(etree.Element):  # elements only
        qname = etree.QName(child)
        namespace, name = qname.namespace or "", qname.localname
        if not response and (name in _SERVER_ONLY or (sixteen and name == "UID")):
            continue
        if (namespace, name) == (CAL, "Body"):  # 2.5 form: the text itself
            values["body"] = Body(type=1, data=_text(child))
        elif (namespace, name) == (CAL, "BodyTruncated"):
            legacy_truncated = bool(_bool(child))
            continue
        elif (namespace, name) == (CAL, "Recurrence"):
            values["recurrence"] = _guarded(parse_recurrence)(child, version)
        elif (namespace, name) == (CAL, "Exceptions"):
            values["exceptions"] = _guarded(_parse_exceptions)(child, version)
        elif (namespace, name) in _LEAVES:
            attribute, reader = _LEAVES[namespace, name]
            values[attribute] = reader(child)
        else:
            continue  # Attachments and the like belong to other layers
        present.add(name)
    if legacy_truncated and isinstance(values.get("body"), Body):
        body: Body = values["body"]
        values["body"] = Body(type=body.type, data=body.data, truncated=True)
    if sixteen and values.get("all_day"):
        values["start_time"] = _as_date(values.get("start_time"), values.get("timezone"))
        values["end_time"] = _as_date(values.get("end_time"), values.get("timezone"))
    return CalendarItem(**values, present=frozenset(present))


def _as_date(value: datetime | None, timezone: TimeZoneInfo | None) -> date | None:
    """A 16.x all-day StartTime/EndTime as its date: midnight UTC, or the nearest local midnight."""
    if value is None:
        return None
    local = value - timedelta(minutes=timezone.bias) if timezone is not None else value
    return (local + timedelta(hours=12)).date()


# --------------------------------------------------------------------------
# Rendering


def _leaf(namespace: str, name: str, text: str | None) -> etree._Element:
    element = etree.Element(f"{{{namespace}}}{name}")
    if text:
        element.text = text
    return element


def _flag(value: bool) -> str:
    return "1" if value else "0"


def _render_attendees(attendees: tuple[Attendee, ...]) -> etree._Element:
    element = etree.Element(f"{{{CAL}}}Attendees")
    for attendee in attendees:
        child = etree.SubElement(element, f"{{{CAL}}}Attendee")
        child.append(_leaf(CAL, "Email", attendee.email))
        child.append(_leaf(CAL, "Name", attendee.name))
        if attendee.status is not None:
            child.append(_leaf(CAL, "AttendeeStatus", str(attendee.status)))
        if attendee.type is not None:
            child.append(_leaf(CAL, "AttendeeType", str(attendee.type)))
    return element


def _render_categories(categories: tuple[str, ...]) -> etree._Element:
    element = etree.Element(f"{{{CAL}}}Categories")
    for category in categories:
        element.append(_leaf(CAL, "Category", category))
    return element


def _render_body(body: Body, version: str) -> list[etree._Element]:
    if version_tuple(version) < (12, 0):
        return [
            _leaf(CAL, "Body", body.data),
            _leaf(CAL, "BodyTruncated", _flag(body.truncated)),
        ]
    element = etree.Element(f"{{{BASE}}}Body")
    element.append(_leaf(BASE, "Type", str(body.type)))
    size = body.estimated_size if body.estimated_size is not None else len(body.data.encode())
    element.append(_leaf(BASE, "EstimatedDataSize", str(size)))
    if body.truncated:
        element.append(_leaf(BASE, "Truncated", "1"))
    if body.data:
        element.append(_leaf(BASE, "Data", body.data))
    if body.preview is not None and version_tuple(version) >= (14, 0):
        element.append(_leaf(BASE, "Preview", body.preview))
    return [element]


def _render_location(location: str, version: str) -> etree._Element:
    if version_tuple(version) < (16, 0):
        return _leaf(CAL, "Location", location)
    element = etree.Element(f"{{{BASE}}}Location")
    element.append(_leaf(BASE, "DisplayName", location))
    return element


_Render = Callable[[CalendarItem, str], list[etree._Element]]


def _simple(name: str, attribute: str, since: tuple[int, int] = (0, 0)) -> _Render:
    def render(item: CalendarItem, version: str) -> list[etree._Element]:
        value = getattr(item, attribute)
        if value is None or version_tuple(version) < since:
            return []
        if isinstance(value, bool):
            text = _flag(value)
        elif isinstance(value, datetime | date):
            text = format_datetime(value)
        else:
            text = str(value)
        return [_leaf(CAL, name, text)]

    return render


def _timezone_part(item: CalendarItem, version: str) -> list[etree._Element]:
    if item.timezone is None or (version_tuple(version) >= (16, 0) and item.all_day):
        return []
    return [_leaf(CAL, "Timezone", item.timezone.to_base64())]


def _part(attribute: str, make: Callable[[Any, str], list[etree._Element]]) -> _Render:
    """A renderer for one complex element: nothing when the field is None."""

    def render(item: CalendarItem, version: str) -> list[etree._Element]:
        value = getattr(item, attribute)
        return [] if value is None else make(value, version)

    return render


def _exceptions(exceptions: tuple[ExceptionData, ...], version: str) -> list[etree._Element]:
    return [
        render_exceptions(exceptions, version, render_attendees=lambda a, _: _render_attendees(a))
    ]


#: Exchange's order of the top-level elements (sync-response-calendar*.xml).
_ORDER: tuple[_Render, ...] = (
    _timezone_part,
    _simple("DtStamp", "dt_stamp"),
    _simple("StartTime", "start_time"),
    _simple("Subject", "subject"),
    _simple("UID", "uid"),
    _simple("OrganizerName", "organizer_name"),
    _simple("OrganizerEmail", "organizer_email"),
    _part("attendees", lambda value, _: [_render_attendees(value)]),
    _part("location", lambda value, version: [_render_location(value, version)]),
    _simple("EndTime", "end_time"),
    _part("categories", lambda value, _: [_render_categories(value)]),
    _part("recurrence", lambda value, version: [render_recurrence(value, version)]),
    _part("body", _render_body),
    _simple("Sensitivity", "sensitivity"),
    _simple("BusyStatus", "busy_status"),
    _simple("AllDayEvent", "all_day"),
    _simple("Reminder", "reminder"),
    _part("exceptions", _exceptions),
    _simple("MeetingStatus", "meeting_status"),
    _part("native_body_type", lambda value, _: [_leaf(BASE, "NativeBodyType", str(value))]),
    _simple("ResponseRequested", "response_requested", (14, 0)),
    _simple("AppointmentReplyTime", "appointment_reply_time", (14, 0)),
    _simple("ResponseType", "response_type", (14, 0)),
    _simple("DisallowNewTimeProposal", "disallow_new_time_proposal", (14, 0)),
    _simple("OnlineMeetingConfLink", "online_meeting_conf_link", (14, 1)),
    _simple("OnlineMeetingExternalLink", "online_meeting_external_link", (14, 1)),
)


def render_calendar(item: CalendarItem, version: str) -> list[etree._Element]:
    """The ApplicationData children for ``item``, in Exchange's order for ``version``.

    The caller has already applied BodyPreference to ``item.body``.
    """
    elements: list[etree._Element] = []
    for part in _ORDER:
        elements.extend(part(item, version))
    return elements
