"""Calendar items for Sync: ApplicationData <-> iCalendar via ``protocol.calendar``,
and the hash of a rendering (the echo rule, DESIGN.md step 6).

The hash covers the ApplicationData children the device would receive, in
order, without ``Calendar:DtStamp`` (a stamp moves on every write and is not
a change the device needs). Two renderings of one stored event for the same
version and BodyPreference hash alike.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lxml import etree

from protocol.calendar.ical import ical_to_item, item_to_ical
from protocol.calendar.model import (
    BodyPreference,
    CalendarItem,
    ConversionError,
    parse_calendar,
    render_calendar,
)
from protocol.sync import ApplicationData
from protocol.sync import BodyPreference as RequestedBody

__all__ = [
    "ConversionError",
    "Rendering",
    "body_preference_from_json",
    "body_preference_to_json",
    "choose_body_preference",
    "read_item",
    "render_stored",
    "rendering_hash",
    "to_ical",
    "uid_data",
]

_DT_STAMP = "{Calendar:}DtStamp"
#: Body types easgw renders (MS-ASAIRS 2.2.2.22.1: 1 plain text, 2 HTML).
_RENDERED_TYPES = (2, 1)


@dataclass(frozen=True, slots=True, kw_only=True)
class Rendering:
    """An item as one device receives it, and the hash of that rendering."""

    data: ApplicationData
    hash: str


def rendering_hash(elements: Sequence[etree._Element]) -> str:
    digest = hashlib.sha256()
    for element in elements:
        if element.tag == _DT_STAMP:
            continue
        digest.update(etree.tostring(element, method="c14n"))
        digest.update(b"\0")
    return digest.hexdigest()[:32]


def read_item(data: ApplicationData, version: str) -> CalendarItem:
    """The device's item; ConversionError (item Status 6) when unreadable."""
    try:
        return parse_calendar(data.element(), version)
    except ConversionError:
        raise
    except Exception as exc:  # a device's bad data is item Status 6, never a 500
        raise ConversionError(f"{type(exc).__name__}: {exc}") from exc


def to_ical(
    item: CalendarItem, *, version: str, stored: str | None, supported: frozenset[str] | None
) -> str:
    """The iCalendar object to store (merged with ``stored`` on a Change)."""
    try:
        return item_to_ical(item, version=version, stored=stored, supported=supported)
    except ConversionError:
        raise
    except Exception as exc:  # as above: item Status 6, never a 500
        raise ConversionError(f"{type(exc).__name__}: {exc}") from exc


def render_stored(
    ical: str, *, version: str, body_preference: BodyPreference | None, owner: str | None
) -> Rendering:
    """A stored event as the device of ``owner`` (the user's e-mail) receives it.
    Any failure is a ConversionError: the caller skips and logs the item rather
    than stall the folder."""
    try:
        item = ical_to_item(ical, version=version, body_preference=body_preference, owner=owner)
        elements = render_calendar(item, version)
    except Exception as exc:  # a broken stored item must not stall the folder
        raise ConversionError(f"{type(exc).__name__}: {exc}") from exc
    return Rendering(data=ApplicationData(elements=tuple(elements)), hash=rendering_hash(elements))


def uid_data(uid: str) -> ApplicationData:
    """16.x Add response: ApplicationData carrying the server's UID (MS-ASCAL 2.2.2.10)."""
    element = etree.Element("{Calendar:}UID")
    element.text = uid
    return ApplicationData(elements=(element,))


def choose_body_preference(preferences: Sequence[RequestedBody]) -> BodyPreference | None:
    """The device's preferred body type among those easgw renders (HTML, then plain)."""
    for wanted in _RENDERED_TYPES:
        for preference in preferences:
            if preference.type == wanted:
                return BodyPreference(
                    type=preference.type,
                    truncation_size=preference.truncation_size,
                    all_or_none=bool(preference.all_or_none),
                    preview=preference.preview,
                )
    return None


def body_preference_to_json(preference: BodyPreference | None) -> dict[str, Any] | None:
    if preference is None:
        return None
    return {
        "type": preference.type,
        "truncation_size": preference.truncation_size,
        "all_or_none": preference.all_or_none,
        "preview": preference.preview,
    }


def body_preference_from_json(raw: Mapping[str, Any] | None) -> BodyPreference | None:
    if not raw:
        return None
    return BodyPreference(
        type=int(raw["type"]),
        truncation_size=raw.get("truncation_size"),
        all_or_none=bool(raw.get("all_or_none")),
        preview=raw.get("preview"),
    )
