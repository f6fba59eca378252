"""Calendar object resources: listings, bodies and change reports.

Every listing needs each item's UID, so listings ask for ``calendar-data``
restricted to the UID properties (RFC 4791 9.6; a server that ignores the
restriction sends the whole object and the UID is read from that).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from providers.stores.base import Item, ItemRef, NotFound, ReadOnly, StoreUser
from providers.stores.caldav import davxml
from providers.stores.caldav.client import DavClient, fail, read_multistatus
from providers.stores.caldav.discovery import same_resource
from providers.stores.caldav.ids import MAX_ITEM_ID, item_href, item_id_for

__all__ = [
    "InvalidSyncToken",
    "SyncAnswer",
    "SyncUnsupported",
    "calendar_text",
    "delete",
    "fetch_items",
    "list_refs",
    "put",
    "sync_report",
    "uid_in",
]

_UID_LINE = re.compile(r"^UID(?:;[^:\n]*)?:(.*)$", re.MULTILINE | re.IGNORECASE)
_FOLD = re.compile(r"\r?\n[ \t]")
_CHUNK = 200  # hrefs per calendar-multiget


def calendar_text(data: str) -> str:
    """``calendar-data`` from XML (line ends normalised to LF) with CRLF line ends."""
    return data.replace("\r\n", "\n").replace("\n", "\r\n")


def uid_in(ical: str) -> str:
    """The first UID property of an iCalendar text, or ""."""
    match = _UID_LINE.search(_FOLD.sub("", ical.replace("\r\n", "\n")))
    return match[1].strip() if match else ""


def _raise_for_read(response_status: int, what: str) -> None:
    if response_status in (403, 404, 409, 410):
        raise NotFound(f"{what}: no such calendar")


def _ref(calendar: str, response: davxml.DavResponse) -> tuple[ItemRef, bool] | None:
    """The item a response describes, and whether its UID was in the answer."""
    if same_resource(response.href, calendar) or response.status not in (None, 200):
        return None
    etag = response.text("d:getetag")
    item_id = item_id_for(response.href)
    if not etag or len(item_id) > MAX_ITEM_ID:
        return None
    data = response.props.get(davxml.tag("c:calendar-data"))
    uid = uid_in(data.text or "") if data is not None else ""
    return ItemRef(id=item_id, uid=uid, etag=etag), data is not None


async def _report(
    client: DavClient, user: StoreUser, calendar: str, body: bytes
) -> davxml.Multistatus:
    response = await client.request(user, "REPORT", calendar, body=body, depth="1")
    if response.status_code != 207:
        _raise_for_read(response.status_code, "REPORT")
        fail(response, "REPORT")
    return read_multistatus(response)


async def _refs(
    client: DavClient, user: StoreUser, calendar: str, responses: Sequence[davxml.DavResponse]
) -> list[ItemRef]:
    """The items of ``responses``; UIDs the answer lacked are fetched."""
    refs: dict[str, ItemRef] = {}
    lacking: list[str] = []
    for response in responses:
        found = _ref(calendar, response)
        if found is not None:
            refs[found[0].id] = found[0]
            if not found[1]:
                lacking.append(found[0].id)
    if lacking:
        for item in await fetch_items(client, user, calendar, lacking, uid_only=True):
            refs[item.ref.id] = item.ref
    return sorted(refs.values(), key=lambda ref: ref.id)


async def list_refs(client: DavClient, user: StoreUser, calendar: str) -> list[ItemRef]:
    """Every item of the calendar (calendar-query), by id."""
    answer = await _report(
        client,
        user,
        calendar,
        davxml.calendar_query("d:getetag", "c:calendar-data-uid"),
    )
    return await _refs(client, user, calendar, answer.responses)


async def fetch_items(
    client: DavClient,
    user: StoreUser,
    calendar: str,
    item_ids: Sequence[str],
    *,
    uid_only: bool = False,
) -> list[Item]:
    """The items asked for that exist (calendar-multiget), in the order asked."""
    wanted = {
        item_id: href
        for item_id in dict.fromkeys(item_ids)
        if (href := item_href(calendar, item_id)) is not None
    }
    found: dict[str, Item] = {}
    hrefs = list(wanted.values())
    data = "c:calendar-data-uid" if uid_only else "c:calendar-data"
    for start in range(0, len(hrefs), _CHUNK):
        body = davxml.calendar_multiget(hrefs[start : start + _CHUNK], "d:getetag", data)
        answer = await _report(client, user, calendar, body)
        for response in answer.responses:
            item = _item(calendar, response)
            if item is not None and item.ref.id in wanted:
                found[item.ref.id] = item
    return [found[item_id] for item_id in wanted if item_id in found]


def _item(calendar: str, response: davxml.DavResponse) -> Item | None:
    found = _ref(calendar, response)
    data = response.props.get(davxml.tag("c:calendar-data"))
    if found is None or data is None:
        return None
    return Item(ref=found[0], ical=calendar_text(data.text or ""))


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncAnswer:
    """A sync-collection answer: the new sync-token, items changed, ids deleted."""

    sync_token: str | None
    changed: list[ItemRef]
    deleted: list[str]


class InvalidSyncToken(Exception):
    """The server no longer knows (or never knew) the sync-token."""


class SyncUnsupported(Exception):
    """The collection does not answer sync-collection."""


async def sync_report(client: DavClient, user: StoreUser, calendar: str, token: str) -> SyncAnswer:
    """Changes since ``token`` ("" for everything) by sync-collection (RFC 6578).

    InvalidSyncToken for a token the server refuses (3.2 DAV:valid-sync-token),
    SyncUnsupported when the initial report itself is refused.
    """
    body = davxml.sync_collection(token, "d:getetag", "c:calendar-data-uid")
    response = await client.request(user, "REPORT", calendar, body=body, depth="1")
    status = response.status_code
    if status != 207:
        if status in (404, 410):
            raise NotFound("REPORT: no such calendar")
        conditions = davxml.parse_error_conditions(response.content)
        if token and (davxml.tag("d:valid-sync-token") in conditions or status in (403, 409)):
            raise InvalidSyncToken(token)
        if status in (400, 403, 405, 415, 501):
            raise SyncUnsupported(str(status))
        fail(response, "REPORT")
    answer = read_multistatus(response)
    deleted = [
        item_id_for(r.href)
        for r in answer.responses
        if r.status == 404 and not same_resource(r.href, calendar)
    ]
    changed = await _refs(client, user, calendar, answer.responses)
    return SyncAnswer(sync_token=answer.sync_token, changed=changed, deleted=deleted)


async def put(
    client: DavClient,
    user: StoreUser,
    href: str,
    ical: str,
    *,
    if_match: str | None,
    if_none_match: bool,
) -> str:
    """PUT an object; its new etag."""
    headers = {"Content-Type": "text/calendar; charset=utf-8"}
    if if_none_match:
        headers["If-None-Match"] = "*"
    if if_match is not None:
        headers["If-Match"] = if_match
    response = await client.request(user, "PUT", href, body=ical.encode("utf-8"), headers=headers)
    if response.status_code == 409 and not davxml.parse_error_conditions(response.content):
        raise NotFound("PUT: no such calendar")  # RFC 4918 9.7.1: the parent is missing
    if response.status_code not in (200, 201, 204):
        fail(response, "PUT")
    etag = str(response.headers.get("ETag", ""))
    if etag and not etag.startswith("W/"):
        return etag
    return await _etag_of(client, user, href)


async def _etag_of(client: DavClient, user: StoreUser, href: str) -> str:
    """The current etag of a resource (when a PUT answer carried none, RFC 4791 5.3.4)."""
    answer = await client.multistatus(
        user, "PROPFIND", href, davxml.propfind("d:getetag"), depth="0"
    )
    for response in answer.responses:
        if etag := response.text("d:getetag"):
            return etag
    raise NotFound("the item vanished right after it was written")


async def delete(client: DavClient, user: StoreUser, href: str, *, if_match: str | None) -> None:
    """DELETE an object."""
    headers = {"If-Match": if_match} if if_match is not None else {}
    response = await client.request(user, "DELETE", href, headers=headers)
    if response.status_code == 403:
        raise ReadOnly("DELETE: forbidden")
    if response.status_code not in (200, 204):
        fail(response, "DELETE")
