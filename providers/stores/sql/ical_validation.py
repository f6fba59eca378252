"""Checks an iCalendar text before the embedded store keeps it.

A storable object is one VCALENDAR holding at least one VEVENT or VTODO (not
both kinds), every component with a UID sharing one UID, and no standard
property that failed to parse. Anything else is ``InvalidData``.
"""

from __future__ import annotations

from icalendar import Calendar as ICalendar
from icalendar import Component

from providers.stores.base import InvalidData

__all__ = ["MAX_UID_BYTES", "uid_of"]

#: Longest UID accepted (UTF-8 bytes): it is indexed, and PostgreSQL index
#: entries are limited to about 2.7 kB.
MAX_UID_BYTES = 2048

_ITEM_KINDS = frozenset({"VEVENT", "VTODO"})


def uid_of(ical: str) -> str:
    """The UID of the one object in ``ical``; InvalidData if it is not storable."""
    calendar = _parse_one_calendar(ical)
    items = [c for c in calendar.subcomponents if c.name in _ITEM_KINDS]
    if not items:
        raise InvalidData("the VCALENDAR holds no VEVENT or VTODO")
    if len({c.name for c in items}) > 1:
        raise InvalidData("a VCALENDAR may not mix VEVENT and VTODO")
    uids = {str(c["UID"]) for c in calendar.subcomponents if "UID" in c}
    if any("UID" not in c for c in items):
        raise InvalidData("a VEVENT or VTODO has no UID")
    if len(uids) != 1:
        raise InvalidData("the components of one object must share one UID")
    uid = uids.pop()
    if not uid.strip():
        raise InvalidData("the UID is empty")
    if len(uid.encode("utf-8", "surrogatepass")) > MAX_UID_BYTES:
        raise InvalidData(f"the UID is longer than {MAX_UID_BYTES} bytes")
    for item in items:
        _check_parse_errors(item)
    return uid


def _parse_one_calendar(ical: str) -> Component:
    """The single VCALENDAR in ``ical``."""
    try:
        components = ICalendar.from_ical(ical, multiple=True)
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise InvalidData(f"not an iCalendar object: {exc}") from exc
    if len(components) != 1 or components[0].name != "VCALENDAR":
        raise InvalidData("expected exactly one VCALENDAR")
    calendar: Component = components[0]
    return calendar


def _check_parse_errors(component: Component) -> None:
    """InvalidData if a standard (non X-) property of the component failed to parse."""
    for sub in component.walk():
        for name, message in sub.errors:
            if not str(name).upper().startswith("X-"):
                raise InvalidData(f"{sub.name} property {name}: {message}")
