"""Search (MS-ASCMD 2.2.1.16) of the GAL: the conference resources and the gateway's users.

The directory is small and local: every configured conference provider's resource
(its ``display_name`` and ``resource`` address) that the searching user may book
(the provider's ``allowed``: a resource that would make no link is not offered)
and every user the gateway knows
(display name, login as ``GAL:Alias``, e-mail). An entry matches when the query,
case-insensitively, is a prefix of its display name (or of a word in it), its login,
or its address, so typing "Jitsi" (or "video") in a phone's invitee field offers
"Jitsi video conference". Resources come first, then users, each sorted by display
name; the request's Range picks the slice (at most 100), ``Total`` counts them all.

Statuses (MS-ASCMD 2.2.3.177.13): a Store other than ``GAL`` gets Store Status 3
(server error): this server searches no mailbox and no document library (Mailbox
search is for mail, which easgw does not sync). A Store it cannot read (no Name, a
bad Range, an over-long Query) gets Store Status 2 (invalid request); an empty Query
matches nothing. :func:`directory_matches` serves ResolveRecipients too.
"""

from __future__ import annotations

import logging

from easgw.commands import CommandSpec
from easgw.conference_rules import may_book
from easgw.gateway import RequestContext
from easgw.users import Users
from protocol.ashttp import Command
from protocol.search import (
    GalEntry,
    InvalidSearch,
    SearchRequest,
    SearchResponse,
    StoreStatus,
    parse_search_request,
    render_search_response,
)

__all__ = ["SPEC", "directory_matches", "handle"]

log = logging.getLogger(__name__)


def _matches(query: str, *fields: str) -> bool:
    for field in fields:
        value = field.casefold()
        if value.startswith(query) or any(word.startswith(query) for word in value.split()):
            return True
    return False


async def directory_matches(ctx: RequestContext, query: str) -> list[GalEntry]:
    """Resources the user may book, then users, whose display name, word of it, login
    or address starts with ``query`` (case-insensitive); none for an empty query."""
    wanted = query.strip().casefold()
    if not wanted:
        return []
    resources = [
        GalEntry(display_name=s.display_name or s.resource, email_address=s.resource)
        for s in ctx.gateway.conference.settings
        if may_book(s, ctx.user.login, ctx.user.email)
        and _matches(wanted, s.display_name, s.resource)
    ]
    async with ctx.gateway.database.sessions() as session:
        users = await Users(session).list()
    people = [
        GalEntry(display_name=u.display_name or u.login, email_address=u.email, alias=u.login)
        for u in users
        if _matches(wanted, u.display_name, u.login, u.email)
    ]
    return sorted(resources, key=_by_name) + sorted(people, key=_by_name)


def _by_name(entry: GalEntry) -> str:
    return entry.display_name.casefold()


async def handle(ctx: RequestContext, request: SearchRequest | InvalidSearch) -> SearchResponse:
    if isinstance(request, InvalidSearch):
        log.info("Search: unreadable Store", extra={"reason": request.reason[:200]})
        return SearchResponse(store_status=StoreStatus.InvalidRequest)
    if request.store_name.casefold() != "gal":
        log.info("Search of an unsupported store", extra={"store": request.store_name[:40]})
        return SearchResponse(store_status=StoreStatus.ServerError)
    found = await directory_matches(ctx, request.query)
    first, last = request.range
    return SearchResponse(
        results=tuple(found[first : last + 1]),
        first=first,
        total=len(found),
        picture=request.picture,
    )


SPEC = CommandSpec(
    command=Command.Search,
    parse=parse_search_request,
    handle=handle,
    render=render_search_response,
    status_root="{Search:}Search",
    status_tag="{Search:}Status",
)
