"""Calendar:Exceptions <-> the WBXML tree (MS-ASCAL 2.2.2.20, 2.2.2.21).

``parse_exceptions(element, version, *, parse_attendees=None)`` and
``render_exceptions(exceptions, version, *, render_attendees=None, uid=None)``;
the ``ExceptionData`` model lives in protocol/calendar/recurrence.py, whose
docstring describes the element order per version.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from lxml import etree

from protocol.calendar.recurrence import (
    BASE_NS,
    CAL_NS,
    ExceptionData,
    RecurrenceError,
    _int,
    _version,
    format_compact,
    parse_compact,
)

__all__ = ["parse_exceptions", "render_exceptions"]


# --- Exceptions <-> WBXML tree --------------------------------------------------------

ParseAttendees = Callable[[etree._Element, str], tuple[Any, ...]]
RenderAttendees = Callable[[tuple[Any, ...], str], etree._Element]

_SCALARS: dict[str, tuple[str, str]] = {  # element -> (field, kind)
    "Subject": ("subject", "str"),
    "StartTime": ("start_time", "time"),
    "EndTime": ("end_time", "time"),
    "Sensitivity": ("sensitivity", "int"),
    "BusyStatus": ("busy_status", "int"),
    "AllDayEvent": ("all_day", "bool"),
    "Reminder": ("reminder", "int"),
    "DtStamp": ("dt_stamp", "time"),
    "MeetingStatus": ("meeting_status", "int"),
    "AppointmentReplyTime": ("appointment_reply_time", "time"),
    "ResponseType": ("response_type", "int"),
    "OnlineMeetingConfLink": ("online_meeting_conf_link", "str"),
    "OnlineMeetingExternalLink": ("online_meeting_external_link", "str"),
    "Location": ("location", "str"),
}


def _scalar(kind: str, text: str | None, name: str) -> object:
    if kind == "str":
        return text or ""
    if kind == "time":
        return parse_compact(text or "")
    if kind == "bool":
        return _int(text, name) != 0
    return _int(text, name)


def _base_text(element: etree._Element, name: str) -> str | None:
    child = element.find(f"{{{BASE_NS}}}{name}")
    return None if child is None else (child.text or "")


def _parse_base_child(child: etree._Element, name: str) -> dict[str, Any]:
    if name == "InstanceId":  # 16.x, a Compact DateTime (MS-ASAIRS 2.2.2.25)
        return {"original_start": parse_compact(child.text or "")}
    if name == "Body":
        body_type = _base_text(child, "Type")
        return {
            "body": _base_text(child, "Data") or "",
            "body_type": _int(body_type, "Type") if body_type else None,
        }
    if name == "Location":  # 16.x: a DisplayName child (MS-ASAIRS 2.2.2.28)
        return {"location": _base_text(child, "DisplayName") or (child.text or "")}
    return {}


def _parse_exception(
    element: etree._Element, version: str, parse_attendees: ParseAttendees | None
) -> ExceptionData:
    values: dict[str, Any] = {}
    for child in element:
        qname = etree.QName(child)
        name = qname.localname
        if qname.namespace == BASE_NS:
            values.update(_parse_base_child(child, name))
        elif name == "ExceptionStartTime":
            values["original_start"] = parse_compact(child.text or "")
        elif name == "Deleted":
            values["deleted"] = _int(child.text, name) != 0
        elif name == "Body":  # Calendar:Body, 2.5
            values["body"] = child.text or ""
        elif name == "Categories":
            values["categories"] = tuple(c.text or "" for c in child)
        elif name == "Attendees" and parse_attendees is not None:
            values["attendees"] = parse_attendees(child, version)
        elif name in _SCALARS:
            field, kind = _SCALARS[name]
            values[field] = _scalar(kind, child.text, name)
    if "original_start" not in values:
        raise RecurrenceError("Exception without ExceptionStartTime/InstanceId")
    return ExceptionData(**values)


def parse_exceptions(
    element: etree._Element, version: str, *, parse_attendees: ParseAttendees | None = None
) -> tuple[ExceptionData, ...]:
    """Calendar:Exceptions -> ExceptionData tuple (Attendees only with a callback)."""
    return tuple(
        _parse_exception(child, version, parse_attendees)
        for child in element
        if etree.QName(child).localname == "Exception"
    )


def _leaf(parent: etree._Element, ns: str, name: str, text: str) -> etree._Element:
    child = etree.SubElement(parent, f"{{{ns}}}{name}")
    child.text = text
    return child


def _text_of(value: object) -> str:
    if isinstance(value, datetime):
        return format_compact(value)
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _render_body(parent: etree._Element, exc: ExceptionData) -> None:
    body = etree.SubElement(parent, f"{{{BASE_NS}}}Body")
    _leaf(body, BASE_NS, "Type", str(exc.body_type or 1))
    _leaf(body, BASE_NS, "Data", exc.body or "")


def _render_content(node: etree._Element, exc: ExceptionData, v16: bool) -> None:
    """Body, Location (AirSyncBase with a DisplayName in 16.x) and Categories."""
    if exc.body is not None:
        _render_body(node, exc)
    if exc.location is not None and v16:
        _leaf(
            etree.SubElement(node, f"{{{BASE_NS}}}Location"), BASE_NS, "DisplayName", exc.location
        )
    elif exc.location is not None:
        _leaf(node, CAL_NS, "Location", exc.location)
    if exc.categories is not None:
        categories = etree.SubElement(node, f"{{{CAL_NS}}}Categories")
        for category in exc.categories:
            _leaf(categories, CAL_NS, "Category", category)


def _render_exception(
    parent: etree._Element,
    exc: ExceptionData,
    version: str,
    render_attendees: RenderAttendees | None,
    uid: str | None,
) -> None:
    """The children in MS-ASCAL 2.2.2.21's order (Exchange's)."""
    v16 = _version(version) >= (16, 0)
    node = etree.SubElement(parent, f"{{{CAL_NS}}}Exception")
    if exc.deleted:
        _leaf(node, CAL_NS, "Deleted", "1")
    if not v16:
        _leaf(node, CAL_NS, "ExceptionStartTime", format_compact(exc.original_start))
    _render_scalars(node, exc, ("Subject", "StartTime", "EndTime"))
    _render_content(node, exc, v16)
    _render_scalars(node, exc, ("Sensitivity", "BusyStatus", "AllDayEvent", "Reminder", "DtStamp"))
    if v16:  # 16.x: the series UID, then InstanceId, both required there
        if uid is not None:
            _leaf(node, CAL_NS, "UID", uid)
        _leaf(node, BASE_NS, "InstanceId", format_compact(exc.original_start))
    _render_scalars(node, exc, ("MeetingStatus",))
    if exc.attendees is not None and render_attendees is not None:
        node.append(render_attendees(exc.attendees, version))
    if _version(version) >= (14, 0):
        _render_scalars(node, exc, ("AppointmentReplyTime", "ResponseType"))
    if _version(version) >= (14, 1):
        _render_scalars(node, exc, ("OnlineMeetingConfLink", "OnlineMeetingExternalLink"))


def _render_scalars(node: etree._Element, exc: ExceptionData, names: Iterable[str]) -> None:
    for name in names:
        value = getattr(exc, _SCALARS[name][0])
        if value is not None:
            _leaf(node, CAL_NS, name, _text_of(value))


def render_exceptions(
    exceptions: Sequence[ExceptionData],
    version: str,
    *,
    render_attendees: RenderAttendees | None = None,
    uid: str | None = None,
) -> etree._Element:
    """ExceptionData -> Calendar:Exceptions (ExceptionStartTime <= 14.1, InstanceId 16.x).

    ``uid``: the series UID, which MS-ASCAL 2.2.2.21 lists as a required child of a
    16.x Exception (before InstanceId); emitted at 16.x only.
    """
    root = etree.Element(
        f"{{{CAL_NS}}}Exceptions", nsmap={"Calendar": CAL_NS, "AirSyncBase": BASE_NS}
    )
    for exc in sorted(exceptions, key=lambda e: e.original_start):
        _render_exception(root, exc, version, render_attendees, uid)
    return root
