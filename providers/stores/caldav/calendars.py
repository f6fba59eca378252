"""The calendar collections of a user's calendar home.

Calendars are the collections of the home whose resourcetype holds
``C:calendar`` and which accept VEVENT (no ``supported-calendar-component-set``
means every component, RFC 4791 5.2.3).

The default calendar (EAS folder type 8) is, in this order: the server's
``schedule-default-calendar-URL`` (RFC 6638 9.2) where offered; the calendar
carrying easgw's dead property ``{urn:x-easgw:}default-calendar``; the first
writable calendar by href, which is then marked with that property so that it stays
the default when calendars are added later (every gateway process and
device sees the same one); else a new calendar, made at an href derived
from the login, so concurrent first calls make one calendar, not several.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, replace

from providers.stores.base import (
    AuthenticationFailed,
    Calendar,
    NotFound,
    ReadOnly,
    StoreError,
    StoreUnavailable,
    StoreUser,
)
from providers.stores.caldav import davxml
from providers.stores.caldav.client import DavClient, fail, read_multistatus
from providers.stores.caldav.discovery import Discovery, same_resource
from providers.stores.caldav.ids import MAX_CALENDAR_ID, calendar_href, calendar_id_for

__all__ = [
    "DEFAULT_CALENDAR_NAME",
    "Collection",
    "create_calendar",
    "delete_calendar",
    "find_calendar",
    "list_calendars",
    "rename_calendar",
    "scan_with_default",
]

DEFAULT_CALENDAR_NAME = "Calendar"
_PROPS = (
    "d:resourcetype",
    "d:displayname",
    "c:supported-calendar-component-set",
    "d:current-user-privilege-set",
    "e:default-calendar",
)
_WRITE = {davxml.tag("d:write"), davxml.tag("d:write-content"), davxml.tag("d:all")}
_MARKED = {"1", "true", "yes"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Collection:
    """A calendar collection as found: its URL and what easgw reports of it."""

    url: str
    calendar: Calendar
    marked: bool = False


def _collection(home: str, response: davxml.DavResponse) -> Collection | None:
    if same_resource(response.href, home) or response.status not in (None, 200):
        return None
    types = davxml.element_names(response.props.get(davxml.tag("d:resourcetype")))
    if davxml.tag("c:calendar") not in types:
        return None
    components = davxml.element_names(
        response.props.get(davxml.tag("c:supported-calendar-component-set")), attribute="name"
    )
    if components and "VEVENT" not in components:
        return None
    calendar_id = calendar_id_for(response.href)
    url = calendar_href(home, calendar_id)
    if url is None or len(calendar_id) > MAX_CALENDAR_ID:
        return None
    privileges = response.props.get(davxml.tag("d:current-user-privilege-set"))
    read_only = privileges is not None and not (davxml.element_names(privileges) & _WRITE)
    return Collection(
        url=url,
        calendar=Calendar(
            id=calendar_id,
            display_name=response.text("d:displayname") or calendar_id,
            read_only=read_only,
        ),
        marked=(response.text("e:default-calendar") or "").lower() in _MARKED,
    )


async def _scan(client: DavClient, user: StoreUser, home: str) -> list[Collection]:
    """The home's calendars, by href."""
    answer = await client.multistatus(user, "PROPFIND", home, davxml.propfind(*_PROPS), depth="1")
    found = [c for r in answer.responses if (c := _collection(home, r)) is not None]
    return sorted(found, key=lambda c: c.url)


def _choose_default(found: list[Collection], server_default: str | None) -> Collection | None:
    if server_default is not None:
        chosen = next((c for c in found if same_resource(c.url, server_default)), None)
        if chosen is not None:
            return chosen
    writable = [c for c in found if not c.calendar.read_only]
    return next((c for c in writable if c.marked), writable[0] if writable else None)


def _default_segment(login: str) -> str:
    """The href segment of the default calendar easgw makes for ``login``."""
    return "calendar-" + hashlib.sha256(login.encode("utf-8")).hexdigest()[:12]


async def _make_default(client: DavClient, user: StoreUser, home: str) -> None:
    """MKCALENDAR the default; a concurrent call that made it first is fine."""
    url = f"{home}{_default_segment(user.login)}/"
    body = davxml.mkcalendar(DEFAULT_CALENDAR_NAME, default=True)
    response = await client.request(user, "MKCALENDAR", url, body=body)
    if response.status_code not in (201, 405, 409):  # 405/409: it exists already
        fail(response, "MKCALENDAR")


async def _mark(client: DavClient, user: StoreUser, url: str) -> None:
    """Mark ``url`` as easgw's default (best effort: a server may refuse)."""
    body = davxml.propertyupdate({"e:default-calendar": "1"})
    try:
        await client.request(user, "PROPPATCH", url, body=body)
    except (StoreUnavailable, AuthenticationFailed):
        raise
    except StoreError:
        return


async def scan_with_default(
    client: DavClient, user: StoreUser, where: Discovery
) -> list[Collection]:
    """The user's calendars, the default first (made or marked if needed)."""
    found = await _scan(client, user, where.home)
    default = _choose_default(found, where.server_default)
    if default is None:
        await _make_default(client, user, where.home)
        found = await _scan(client, user, where.home)
        default = _choose_default(found, where.server_default)
        if default is None:
            raise StoreError("the CalDAV server did not make the default calendar")
    elif not default.marked and where.server_default is None:
        await _mark(client, user, default.url)
    chosen = replace(default, calendar=replace(default.calendar, is_default=True))
    return [chosen, *(c for c in found if c.url != default.url)]


async def list_calendars(client: DavClient, user: StoreUser, where: Discovery) -> list[Calendar]:
    """The user's calendars, the default first, then by href."""
    return [c.calendar for c in await scan_with_default(client, user, where)]


async def find_calendar(
    client: DavClient, user: StoreUser, where: Discovery, calendar_id: str
) -> Collection:
    """The user's calendar ``calendar_id``; NotFound if there is none."""
    if calendar_href(where.home, calendar_id) is None:
        raise NotFound(f"no calendar {calendar_id!r}")
    for collection in await scan_with_default(client, user, where):
        if collection.calendar.id == calendar_id:
            return collection
    raise NotFound(f"no calendar {calendar_id!r}")


async def create_calendar(
    client: DavClient, user: StoreUser, where: Discovery, display_name: str
) -> Calendar:
    """A new calendar (events and tasks) at a fresh href. The default is settled
    first, so that the new calendar does not become it by being the only one."""
    await scan_with_default(client, user, where)
    calendar_id = uuid.uuid4().hex
    url = f"{where.home}{calendar_id}/"
    response = await client.request(
        user, "MKCALENDAR", url, body=davxml.mkcalendar(display_name, default=False)
    )
    if response.status_code != 201:
        fail(response, "MKCALENDAR")
    return Calendar(id=calendar_id, display_name=display_name)


async def rename_calendar(
    client: DavClient, user: StoreUser, where: Discovery, calendar_id: str, display_name: str
) -> Calendar:
    """Set the calendar's displayname (PROPPATCH)."""
    collection = await find_calendar(client, user, where, calendar_id)
    body = davxml.propertyupdate({"d:displayname": display_name})
    response = await client.request(user, "PROPPATCH", collection.url, body=body)
    if response.status_code != 207:
        fail(response, "PROPPATCH")
    for answer in read_multistatus(response).responses:
        if answer.status not in (None, 200) or davxml.tag("d:displayname") not in answer.props:
            raise ReadOnly(f"calendar {calendar_id!r} cannot be renamed")
    return replace(collection.calendar, display_name=display_name)


async def delete_calendar(
    client: DavClient, user: StoreUser, where: Discovery, calendar_id: str
) -> None:
    """DELETE a calendar; ReadOnly for the default one."""
    collection = await find_calendar(client, user, where, calendar_id)
    if collection.calendar.is_default:
        raise ReadOnly("the default calendar cannot be deleted")
    if collection.calendar.read_only:
        raise ReadOnly(f"calendar {calendar_id!r} is read-only")
    response = await client.request(user, "DELETE", collection.url)
    if response.status_code not in (200, 204, 207):
        fail(response, "DELETE")
