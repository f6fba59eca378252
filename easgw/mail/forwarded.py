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

16.x ``Forwardees`` (MS-ASCMD 2.2.3.79) of a meeting the user organizes join
the meeting: they are added to the stored event as ATTENDEEs (NEEDS-ACTION,
RSVP) before the REQUEST is built, so the invitation names them, later updates
reach them, and those who are easgw users of the embedded store get their copy
(easgw/scheduling). The forward itself is their invitation: no other mail.
A forward by an attendee leaves the organizer's event alone (the organizer
stays the organizer, MS-ASCMD 3.1.5.7; Exchange's notice to the organizer of
such a forward is not sent).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from email.message import EmailMessage
from typing import TYPE_CHECKING

from easgw.commands.sync.ids import calendar_item_of
from easgw.scheduling.outgoing import schedule_write
from protocol.calendar.itip import messages_for_write, organized_by, organizer_of
from protocol.calendar.itip_answers import with_attendees
from protocol.composemail import Forwardee, Source
from providers.stores.base import Item, StoreError, SupportsSharedSession

if TYPE_CHECKING:
    from easgw.gateway import RequestContext

__all__ = ["attach_forwarded_meeting"]

log = logging.getLogger(__name__)

_EVENT_ERRORS = (ValueError, KeyError, IndexError, TypeError, AttributeError, AssertionError)


async def attach_forwarded_meeting(
    ctx: RequestContext,
    message: EmailMessage,
    source: Source | None,
    *,
    replace_mime: bool,
    forwardees: Sequence[Forwardee] = (),
) -> EmailMessage:
    """``message`` with the forwarded meeting's REQUEST attached, when it needs one."""
    if source is None or source.folder_id is None or source.item_id is None:
        return message
    found = await _stored(ctx, source.folder_id, source.item_id)
    if found is None:
        return message
    calendar_id, item = found
    ical = item.ical
    if forwardees:
        ical = await _invite_forwardees(ctx, calendar_id, item, forwardees)
    if replace_mime:
        return message
    if any(part.get_content_type() == "text/calendar" for part in message.walk()):
        return message  # the phone wrote its own invitation: invitations.py enriches it
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


async def _invite_forwardees(
    ctx: RequestContext, calendar_id: str, item: Item, forwardees: Sequence[Forwardee]
) -> str:
    """The organizer's event with the forwardees as ATTENDEEs, stored (and the local
    ones' copies delivered); the event unchanged when the user is not its organizer."""
    try:
        if not organized_by(item.ical, ctx.user.email) and organizer_of(item.ical) is not None:
            return item.ical
        after = with_attendees(item.ical, [(f.email, f.name) for f in forwardees])
    except _EVENT_ERRORS:
        return item.ical
    if after == item.ical:
        return item.ical
    gateway, store = ctx.gateway, ctx.gateway.store
    try:
        async with gateway.database.sessions() as session, session.begin():
            shared = store if isinstance(store, SupportsSharedSession) else None
            joined = gateway.store_shares_database and shared is not None
            async with shared.joined(session) if joined and shared else contextlib.nullcontext():
                await store.put_item(
                    ctx.store_user, calendar_id, after, item_id=item.ref.id, if_match=item.ref.etag
                )
                await schedule_write(
                    gateway, session, ctx.user, item.ical, after, joined=joined, send_mail=False
                )
    except StoreError as exc:
        log.info("forwardees not added to the meeting", extra={"kind": type(exc).__name__})
        return item.ical
    log.info("forwardees added to the meeting", extra={"forwardees": len(forwardees)})
    return after


async def _stored(
    ctx: RequestContext, collection_id: str, server_id: str
) -> tuple[str, Item] | None:
    """(store calendar id, item) of the calendar item the Source names, or None."""
    located = await calendar_item_of(ctx, collection_id, server_id)
    if located is None:
        return None
    calendar_id, item_id = located
    try:
        found = await ctx.gateway.store.get_items(ctx.store_user, calendar_id, [item_id])
    except StoreError:
        return None
    return (calendar_id, found[0]) if found else None
