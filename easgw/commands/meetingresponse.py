"""MeetingResponse (MS-ASCMD 2.2.1.11): answer an invitation held in a calendar.

easgw keeps no mail, so the meeting is always the calendar item itself: the
``RequestId`` is the item's ServerId in the calendar ``CollectionId``. A
RequestId in a mail folder (always empty here), an unknown one, or a Search
``LongId`` (easgw has no Search) names no meeting: Status 2 (MS-ASCMD
2.2.3.177.9 "The request is referencing an item other than a meeting
request, email, or calendar item").

What the answer does to the event is :mod:`protocol.calendar.replies`: the
user's PARTSTAT (accept / tentative), the event's ResponseType, MeetingStatus
and BusyStatus as the phone sees them on its next Sync, an override for a
14.1+/16.x ``InstanceId``; a decline removes the meeting (or the occurrence)
from the calendar, as Exchange does (MS-ASCMD 3.1.5.6: "the server will delete
the corresponding calendar item"). The result carries ``CalendarId`` (the same
ServerId) unless declined (MS-ASCMD 2.2.3.18).

Idempotent (iOS sends MeetingResponse twice): the same answer again changes
nothing and writes nothing; a decline of a meeting already removed is a
success. The store write is If-Match on the etag read; a concurrent write
makes the answer be applied again on the new version. Nothing is echoed to the
device specially: the changed event reaches every device, this one included,
as a Change (a removed one as a Delete) on its next Sync, which is how the
phone learns the ResponseType (MS-ASCMD 3.1.5.6: "The server responds with any
changes to the Calendar folder").

When the gateway schedules (``store.scheduling = "gateway"``;
easgw/scheduling/outgoing.py): on the embedded store the organizer's copy gets
the answer when the organizer is an easgw user, and a 16.x ``SendResponse``
e-mails the organizer the iMIP REPLY (MS-ASCMD 2.2.3.163), its Body as the
REPLY's COMMENT. An answer that changes nothing (sent again) sends nothing.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from easgw.commands import CommandSpec
from easgw.commands.sync.ids import calendar_item_of
from easgw.gateway import RequestContext
from easgw.scheduling.outgoing import attendee_answered
from protocol.ashttp import Command
from protocol.calendar.replies import Answer, Reply, ReplyError, ReplyProblem, apply_reply
from protocol.meetingresponse import (
    MeetingResponseRequest,
    MeetingResponseResponse,
    MeetingResponseStatus,
    MeetingResult,
    RejectedRequest,
    ResponseRequest,
    UserResponse,
    parse_meeting_response_request,
    render_meeting_response_response,
)
from protocol.status import CommonStatus
from providers.stores.base import InvalidData, Item, NotFound, PreconditionFailed, ReadOnly

__all__ = ["SPEC", "handle"]

log = logging.getLogger(__name__)

_ANSWERS = {
    UserResponse.Accepted: Answer.ACCEPTED,
    UserResponse.Tentative: Answer.TENTATIVE,
    UserResponse.Declined: Answer.DECLINED,
}
#: Concurrent writes tolerated before giving up with Status 4 (transient).
_ATTEMPTS = 3


async def handle(ctx: RequestContext, request: MeetingResponseRequest) -> MeetingResponseResponse:
    results = [await _answer(ctx, entry) for entry in request.requests]
    return MeetingResponseResponse(results=tuple(results))


async def _answer(ctx: RequestContext, entry: ResponseRequest | RejectedRequest) -> MeetingResult:
    if isinstance(entry, RejectedRequest):
        return MeetingResult(status=entry.status, request_id=entry.request_id)
    status, calendar_id = await _respond(ctx, entry)
    if status != MeetingResponseStatus.Success:
        log.info("MeetingResponse refused", extra={"status": int(status)})
    return MeetingResult(
        status=status,
        request_id=entry.request_id,
        calendar_id=calendar_id if status == MeetingResponseStatus.Success else None,
        instance_id=entry.instance_id,
    )


async def _locate(ctx: RequestContext, entry: ResponseRequest) -> tuple[str, str] | None:
    """(store calendar id, store item id) of the request's meeting, or None."""
    if entry.collection_id is None or entry.request_id is None:
        return None  # a Search LongId: easgw has no Search, so it names nothing
    return await calendar_item_of(ctx, entry.collection_id, entry.request_id)


async def _respond(ctx: RequestContext, entry: ResponseRequest) -> tuple[int, str | None]:
    """(Status, CalendarId) of one well-formed request."""
    located = await _locate(ctx, entry)
    if located is None:
        return MeetingResponseStatus.InvalidRequest, None
    calendar_id, item_id = located
    answer = _ANSWERS[entry.user_response]
    for _attempt in range(_ATTEMPTS):
        try:
            found = await ctx.gateway.store.get_items(ctx.store_user, calendar_id, [item_id])
        except NotFound:  # the calendar is gone
            return MeetingResponseStatus.InvalidRequest, None
        if not found:
            # Gone: a decline sent again finds what it asked for.
            declined = answer is Answer.DECLINED and entry.instance_id is None
            return (
                MeetingResponseStatus.Success if declined else MeetingResponseStatus.InvalidRequest
            ), None
        try:
            reply = _reply(ctx, found[0], answer, entry)
        except ReplyError as exc:
            if exc.problem is ReplyProblem.NOT_RECURRING:
                return CommonStatus.NoRecurrenceInCalendar, None  # MS-ASCMD 2.2.3.92.1
            return MeetingResponseStatus.InvalidRequest, None
        except ValueError:
            log.warning("MeetingResponse: the stored event cannot be read")
            return MeetingResponseStatus.MailboxError, None
        try:
            await _write(ctx, calendar_id, found[0], reply)
        except (PreconditionFailed, NotFound):
            continue  # written or removed concurrently: answer the new version
        except (ReadOnly, InvalidData) as exc:
            log.info("MeetingResponse refused by the store", extra={"kind": type(exc).__name__})
            return MeetingResponseStatus.MailboxError, None
        if reply.remove or reply.ical is not None:  # something changed: tell the organizer
            await attendee_answered(
                ctx,
                found[0].ical,
                partstat=answer.value,
                instance=entry.instance_id,
                send_response=entry.send_response is not None,
                comment=_comment(entry),
                proposed=_proposed(entry),
            )
        return (
            MeetingResponseStatus.Success,
            None if answer is Answer.DECLINED else entry.request_id,
        )
    return MeetingResponseStatus.ServerError, None


def _reply(ctx: RequestContext, item: Item, answer: Answer, entry: ResponseRequest) -> Reply:
    return apply_reply(
        item.ical,
        email=ctx.user.email,
        name=ctx.user.display_name,
        answer=answer,
        instance=entry.instance_id,
        now=datetime.now(UTC),
    )


async def _write(ctx: RequestContext, calendar_id: str, item: Item, reply: Reply) -> None:
    store, user, ref = ctx.gateway.store, ctx.store_user, item.ref
    if reply.remove:
        await store.delete_item(user, calendar_id, ref.id, if_match=ref.etag)
    elif reply.ical is not None:
        await store.put_item(user, calendar_id, reply.ical, item_id=ref.id, if_match=ref.etag)


SPEC = CommandSpec(
    command=Command.MeetingResponse,
    parse=parse_meeting_response_request,
    handle=handle,
    render=render_meeting_response_response,
    status_root="{MeetingResponse:}MeetingResponse",
    status_tag="{MeetingResponse:}Status",
)


def _comment(entry: ResponseRequest) -> str | None:
    """The reply text the phone wrote, when it is plain text (BodyType 1)."""
    sent = entry.send_response
    if sent is None or not sent.body or sent.body_type not in (None, 1):
        return None
    return sent.body


def _proposed(entry: ResponseRequest) -> tuple[datetime, datetime | None] | None:
    """A 16.1 proposed new time (MS-ASCMD 2.2.3.140 ProposedStartTime), if any."""
    sent = entry.send_response
    if sent is None or sent.proposed_start_time is None:
        return None
    return sent.proposed_start_time, sent.proposed_end_time
