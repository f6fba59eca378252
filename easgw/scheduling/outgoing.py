"""What an organizer's or attendee's write sends, when the gateway schedules (issue 8).

``store.scheduling`` (CONTRACTS.md section 7) says who is the scheduling agent:

- ``"gateway"`` (the default): easgw. Then

  * an organizer's Sync Add / Change / Delete of a meeting on an EAS 16.x phone
    makes easgw send the iMIP REQUEST or CANCEL (RFC 6047) to the attendees,
    the conference link included (the stored event carries it) and the
    conference resource left out (never a recipient, never an ATTENDEE of the
    message). Phones of 14.1 and earlier send their invitations themselves
    with SendMail (MS-ASCMD 2.2.1.11 and 3.1.5.6; EAS-NOTES.md), which
    easgw/mail/invitations.py enriches, so nothing is sent for them here;
  * a 16.x MeetingResponse with ``SendResponse`` sends the iMIP REPLY to the
    organizer (MS-ASCMD 2.2.3.163), or with a 16.1 proposed new time the COUNTER
    (RFC 5546 3.2.7; protocol/calendar/itip_reply.py);
  * on the embedded store, attendees who are easgw users get the meeting in
    their own calendar in the organizer's transaction, and their answers update
    the organizer's copy (easgw/scheduling/local.py), whatever the phones'
    protocol versions.

- ``"server"``: a scheduling CalDAV server (RFC 6638) does all of this when
  the organizer's copy is written; easgw sends and delivers nothing.

Mail is never sent inside a request's transaction. The iMIP of a Sync is a
``mail_outbox`` row added to the Sync's own session: it commits with the
event and the sync state (a Sync that fails as a whole sends nothing; a
resent Add, answered from its ClientId, sends nothing twice), and the outbox
is woken once the request's task has ended, after the commit. A REPLY is
queued and relayed like a SendMail. Without ``smtp.host`` nothing is queued
(a warning is logged).

SEQUENCE: phones never send it, so the organizer's stored copy gets it here
(``prepare_organizer_write``), raised on a significant change (RFC 5546
2.1.4), whoever the scheduling agent is.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from dataclasses import replace
from datetime import datetime
from email.headerregistry import Address
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import icalendar
from sqlalchemy.ext.asyncio import AsyncSession

from easgw.mail.imip import imip_message
from easgw.mail.outbox import Delivery, Outbox
from easgw.scheduling.local import deliver_local, update_organizer_copy
from easgw.state.mail_models import OutboxMessage, OutboxState
from easgw.state.models import utcnow
from protocol.calendar.ical_parse import parse_calendar_text
from protocol.calendar.itip import (
    ItipMessage,
    messages_for_delete,
    messages_for_write,
    organized_by,
    with_sequence,
)
from protocol.calendar.itip_answers import ask_again
from protocol.calendar.itip_reply import counter_message, reply_message
from protocol.calendar.model import version_tuple
from providers.stores.base import StoreUser

if TYPE_CHECKING:
    from easgw.config import Config
    from easgw.gateway import Gateway, RequestContext
    from easgw.state.models import User

__all__ = [
    "attendee_answered",
    "deliverable",
    "envelope_sender",
    "gateway_schedules",
    "organizer_wrote",
    "prepare_organizer_write",
    "schedule_write",
]

log = logging.getLogger(__name__)

#: Characters no plain SMTP address of an attendee holds (whitespace, lists, brackets).
_NOT_IN_ADDRESS = frozenset(' \t\r\n,;<>()[]"\\')
#: What reading an unusual stored event may raise (icalendar's errors are ValueErrors).
_EVENT_ERRORS = (ValueError, KeyError, IndexError, TypeError, AttributeError, AssertionError)


def gateway_schedules(config: Config) -> bool:
    return config.store.scheduling == "gateway"


def envelope_sender(config: Config) -> str:
    """``smtp.from``, else ``easgw@<host>`` (the public URL's host, else this machine's name)."""
    if config.smtp.from_:
        return config.smtp.from_
    host = urlsplit(config.server.public_url or "").hostname or socket.getfqdn() or "localhost"
    return f"easgw@{host}"


def _sixteen(ctx: RequestContext) -> bool:
    return version_tuple(ctx.version) >= (16, 0)


def prepare_organizer_write(ctx: RequestContext, before: str | None, after: str) -> str:
    """``after`` with the ORGANIZER and SEQUENCE an organizer's meeting must carry.

    A meeting (ATTENDEEs) without ORGANIZER is the user's: 16.x phones MUST NOT
    send OrganizerEmail/OrganizerName, "the server will use the email address
    [and name] of the current user" (MS-ASCAL 2.2.2.35, 2.2.2.36); some older
    phones leave them out too. SEQUENCE: RFC 5546 2.1.4 (itip.with_sequence); a
    reschedule asks the attendees again (itip_answers.ask_again).
    """
    try:
        after = _with_organizer(after, ctx.user.email, ctx.user.display_name)
        if not organized_by(after, ctx.user.email):
            return after
        return ask_again(before, with_sequence(before, after))
    except _EVENT_ERRORS:
        return after  # not readable as a meeting: stored as converted


def _with_organizer(ical: str, email: str, name: str) -> str:
    if "ATTENDEE" not in ical or not email:
        return ical
    calendar = parse_calendar_text(ical)
    events = calendar.walk("VEVENT")
    if any(event.get("ORGANIZER") is not None for event in events):
        return ical  # someone's meeting: an override without its own ORGANIZER inherits it
    added = False
    for event in events:
        if event.get("ATTENDEE") is not None and event.get("ORGANIZER") is None:
            organizer = icalendar.vCalAddress(f"mailto:{email}")
            if name:
                organizer.params["CN"] = name
            event.add("ORGANIZER", organizer)
            added = True
    return calendar.to_ical().decode("utf-8") if added else ical


async def organizer_wrote(
    ctx: RequestContext,
    session: AsyncSession,
    before: str | None,
    after: str | None,
    *,
    joined: bool,
) -> None:
    """The user's Sync wrote ``after`` over ``before`` (None: added / deleted).

    Runs inside the Sync's transaction (and, with ``joined``, inside the
    embedded store's shared session): local copies and queued mail commit with it.
    Phones before 16.0 send their own invitations (SendMail): no mail then.
    """
    queued = await schedule_write(
        ctx.gateway, session, ctx.user, before, after, joined=joined, send_mail=_sixteen(ctx)
    )
    if queued:
        _wake_after_request(ctx)


async def schedule_write(
    gateway: Gateway,
    session: AsyncSession,
    user: User,
    before: str | None,
    after: str | None,
    *,
    joined: bool,
    send_mail: bool,
) -> int:
    """Local copies (``joined``: the embedded store in ``session``) and, with
    ``send_mail``, the iMIP rows of the organizer ``user``'s write; the rows queued.

    Also used for a change made on the server (``easgw links revoke``): no phone
    will send that invitation, so it is mailed whatever the organizer's phone.
    """
    if not gateway_schedules(gateway.config):
        return 0
    email = user.email
    try:
        ours = any(text is not None and organized_by(text, email) for text in (before, after))
    except _EVENT_ERRORS:
        return 0
    if not ours:
        return 0
    skip = gateway.conference.resources
    if joined:
        who = StoreUser(login=user.login, email=user.email, display_name=user.display_name)
        await deliver_local(gateway, who, before, after, skip=skip)
    if not send_mail:
        return 0
    try:
        if after is None:
            assert before is not None
            messages = messages_for_delete(before, organizer=email, skip=skip)
        else:
            messages = messages_for_write(before, after, organizer=email, skip=skip)
    except _EVENT_ERRORS as exc:
        log.warning("no invitation sent: the event cannot be read", extra={"reason": str(exc)})
        return 0
    return sum(_queue(gateway.config, session, user, message) for message in messages)


def deliverable(address: str) -> bool:
    """Can ``address`` be an SMTP recipient? A phone may save any text as an
    attendee's e-mail; one bad address must not cost the others their invitation."""
    local, at, domain = address.rpartition("@")
    if not (at and local and "." in domain) or any(c in _NOT_IN_ADDRESS for c in address):
        return False
    try:
        Address(addr_spec=address)
    except (ValueError, IndexError):  # the stdlib's parser (HeaderDefects are ValueErrors)
        return False
    return True


def _queue(config: Config, session: AsyncSession, user: User, message: ItipMessage) -> bool:
    kept = tuple(address for address in message.recipients if deliverable(address))
    if len(kept) != len(message.recipients):
        log.info(
            "attendees without a deliverable address skipped",
            extra={"skipped": len(message.recipients) - len(kept)},
        )
        message = replace(message, recipients=kept)
    if not message.recipients:
        return False
    if not config.smtp.host:
        log.warning(
            "invitation not sent: smtp.host is not configured",
            extra={"method": message.method, "user": user.login},
        )
        return False
    try:
        mail = imip_message(
            message,
            from_email=user.email,
            from_name=user.display_name,
            domain=envelope_sender(config).rpartition("@")[2],
        )
        data = Outbox.serialise(mail)
    except (ValueError, TypeError, LookupError) as exc:  # the stdlib's header code
        log.warning("invitation not sent: it cannot be written", extra={"reason": str(exc)})
        return False
    session.add(
        OutboxMessage(
            user_id=user.id,
            device_id=None,  # easgw's own mail: no ClientId
            client_id=None,
            envelope_from=envelope_sender(config),
            envelope_to=list(message.recipients),
            message=data,
            attempts=0,
            next_attempt=utcnow(),
            state=OutboxState.QUEUED.value,
        )
    )
    log.info(
        "iMIP queued",
        extra={"method": message.method, "recipients": len(message.recipients)},
    )
    return True


def _wake_after_request(ctx: RequestContext) -> None:
    """Wake the outbox once this request's task ends (its transaction has committed
    or rolled back by then; the outbox only sees committed rows)."""
    task = asyncio.current_task()
    wake = ctx.gateway.wake_outbox
    if task is None:
        wake()
        return
    task.add_done_callback(lambda _task: wake())


async def attendee_answered(
    ctx: RequestContext,
    ical: str,
    *,
    partstat: str,
    instance: datetime | None,
    send_response: bool,
    comment: str | None = None,
    proposed: tuple[datetime, datetime | None] | None = None,
) -> None:
    """The user answered the meeting ``ical`` (the event as it was before the answer).

    On the embedded store the organizer's copy (when the organizer is an easgw
    user) gets the answer; a 16.x ``SendResponse`` e-mails the organizer the
    iMIP REPLY. Failures are logged: the answer itself is already stored.
    """
    if not gateway_schedules(ctx.config):
        return
    if ctx.gateway.store_shares_database:
        try:
            uid = _uid(ical)
            if uid:
                await update_organizer_copy(
                    ctx.gateway,
                    ctx.store_user,
                    ical,
                    uid=uid,
                    partstat=partstat,
                    recurrence_id=instance,
                )
        except Exception:  # the organizer's copy is theirs to fix; the answer holds
            log.exception("the organizer's copy was not updated")
    if not (send_response and _sixteen(ctx)):
        return
    try:
        if proposed is not None:  # 16.1: a new time proposed (MS-ASCMD 2.2.3.140)
            message = counter_message(
                ical,
                attendee=ctx.user.email,
                partstat=partstat,
                start=proposed[0],
                end=proposed[1],
                recurrence_id=instance,
            )
        else:
            message = reply_message(
                ical, attendee=ctx.user.email, partstat=partstat, recurrence_id=instance
            )
    except _EVENT_ERRORS:
        message = None
    if message is None:
        log.info("no REPLY sent: the meeting names no organizer")
        return
    if comment:
        message = replace(message, ical=_with_comment(message.ical, comment))
    await _send_now(ctx, message)


def _with_comment(ical: str, comment: str) -> str:
    """The phone's reply text as the REPLY's COMMENT (RFC 5546 3.2.3 allows one)."""
    calendar = parse_calendar_text(ical)
    for event in calendar.walk("VEVENT"):
        event.add("COMMENT", comment[:2000])
    text: bytes = calendar.to_ical()
    return text.decode("utf-8")


async def _send_now(ctx: RequestContext, message: ItipMessage) -> None:
    smtp = ctx.config.smtp
    if not smtp.host:
        log.warning("REPLY not sent: smtp.host is not configured", extra={"user": ctx.user.login})
        return
    if not all(deliverable(address) for address in message.recipients):
        log.info("REPLY not sent: the organizer has no deliverable address")
        return
    try:
        mail = imip_message(
            message,
            from_email=ctx.user.email,
            from_name=ctx.user.display_name,
            domain=envelope_sender(ctx.config).rpartition("@")[2],
        )
        data = Outbox.serialise(mail)
    except (ValueError, TypeError, LookupError) as exc:  # the stdlib's header code
        log.warning("reply not sent: it cannot be written", extra={"reason": str(exc)})
        return
    outbox = Outbox(ctx.gateway.database, smtp)
    submission = await outbox.submit(
        user_id=ctx.user.id,
        device_id=None,
        client_id=None,
        sender=envelope_sender(ctx.config),
        recipients=message.recipients,
        message=data,
    )
    if await outbox.deliver(submission.id) is Delivery.FAILED:
        log.warning("REPLY refused by the relay", extra={"outbox_id": submission.id})


def _uid(ical: str) -> str:
    for event in parse_calendar_text(ical).walk("VEVENT"):
        return str(event.get("UID", ""))
    return ""
