"""A meeting forwarded from the phone carries its invitation, link included (issue 8, part 1).

A phone forwards a meeting with SmartForward whose ``Source`` names the
calendar item (``FolderId`` = the calendar's CollectionId, ``ItemId`` = its
ServerId; MS-ASCMD 2.2.3.173). Exchange sends the forwardees the meeting
request itself; easgw keeps no mailbox, so the phone's MIME usually has only
the text it typed. When that MIME has no text/calendar part of its own and
``ReplaceMime`` is absent (with it the phone's MIME is the whole message by
definition, MS-ASCMD 2.2.3.148), easgw attaches the stored meeting as an iTIP
REQUEST (RFC 6047 2.4: ``text/calendar; method=REQUEST``): the link travels
with it, and :func:`easgw.mail.invitations.add_conference_links` then puts the
block in the bodies and keeps the conference resource out, as for any
invitation. The whole series is attached even for a 14.1+ ``InstanceId`` (the
recipient's client shows the occurrence the text names; a one-occurrence
REQUEST would need the organizer's consent to add a guest to one instance).

Not done: adding the forwardees to the organizer's event (Exchange's "meeting
forward notification"); the organizer's copy lists who the organizer invited.
"""

from __future__ import annotations

import logging
from email.message import EmailMessage
from typing import TYPE_CHECKING

from easgw.commands.sync.ids import item_for_server_id
from easgw.folders import FolderMap
from protocol.calendar.itip import messages_for_write, organizer_of
from protocol.composemail import Source
from providers.stores.base import StoreError

if TYPE_CHECKING:
    from easgw.gateway import RequestContext

__all__ = ["attach_forwarded_meeting"]

log = logging.getLogger(__name__)

_EVENT_ERRORS = (ValueError, KeyError, IndexError, TypeError, AttributeError, AssertionError)


async def attach_forwarded_meeting(
    ctx: RequestContext, message: EmailMessage, source: Source | None, *, replace_mime: bool
) -> EmailMessage:
    """``message`` with the forwarded meeting's REQUEST attached, when it needs one."""
    if source is None or replace_mime or source.folder_id is None or source.item_id is None:
        return message
    if any(part.get_content_type() == "text/calendar" for part in message.walk()):
        return message  # the phone wrote its own invitation: invitations.py enriches it
    ical = await _stored(ctx, source.folder_id, source.item_id)
    if ical is None:
        return message
    try:
        organizer = organizer_of(ical)
        requests = (
            messages_for_write(
                None, ical, organizer=organizer, skip=ctx.gateway.conference.resources
            )
            if organizer
            else []
        )
    except _EVENT_ERRORS:
        log.info("forwarded meeting not attached: the stored event cannot be read")
        return message
    if not requests:
        return message  # not a meeting (no organizer or guests): nothing to invite to
    message.add_attachment(
        requests[0].ical,
        subtype="calendar",
        params={"method": "REQUEST"},
        filename="invite.ics",
    )
    log.info("forwarded meeting attached as a REQUEST")
    return message


async def _stored(ctx: RequestContext, collection_id: str, server_id: str) -> str | None:
    """The iCalendar text of the calendar item the Source names, or None."""
    folders = FolderMap(ctx.gateway.database.sessions, ctx.user.id)
    store_ref = await folders.store_ref(collection_id)
    if store_ref is None or not store_ref.startswith("calendar:"):
        return None  # a mail folder (always empty here) or an unknown one
    async with ctx.gateway.database.sessions() as session:
        item_id = await item_for_server_id(
            session, ctx.user.id, store_ref, collection_id, server_id
        )
    if item_id is None:
        return None
    try:
        found = await ctx.gateway.store.get_items(
            ctx.store_user, store_ref.removeprefix("calendar:"), [item_id]
        )
    except StoreError:
        return None
    return found[0].ical if found else None
