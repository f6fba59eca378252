"""SendMail, SmartReply, SmartForward (MS-ASCMD 2.2.1.17, 2.2.1.20, 2.2.1.19).

The phone's MIME message is relayed through ``[smtp]`` (easgw/mail): parsed,
handed to :func:`easgw.mail.outgoing.prepare_outgoing` (where the conference
rules will act), its envelope taken (To/Cc/Bcc, Bcc removed, From = the user),
written to the outbox (committed), then relayed at once.

Outcomes, as the phone sees them (14.0+: the Status of MS-ASCMD 2.2.3.177.14 /
2.2.3.177.16; 12.x has no Status element, so an HTTP error instead):

- relayed, or refused *temporarily* (4xx, relay unreachable, timeout): success,
  an empty HTTP 200. The message is accepted the way an MTA accepts one: it
  sits in the outbox and the retry task delivers it. Answering a failure here
  would make the phone resend or show an error while the outbox also retries:
  the user would then get a duplicate or a false alarm. Each temporary failure
  is logged (warning), a message given up on is logged as an error.
- refused *for good* (5xx): Status 120 MailSubmissionFailed (12.x: HTTP 500),
  the row marked ``failed``; nothing will be retried, the phone keeps its copy.
- ``smtp.host`` unset: Status 120 at once, logged; nothing queued (there is no
  relay to retry with).
- no recipient: Status 119 MessageHasNoRecipient; unreadable MIME: 107.
- the same ClientId again from the same device (a lost response): relayed
  once; the answer repeats the first outcome (success while queued or sent,
  120 when it failed for good).

SmartReply and SmartForward: easgw keeps no mailbox, so the source is a
calendar item (a meeting) or nothing findable. The phone's MIME is sent as it
is, except that a SmartForward of a meeting without ReplaceMime and without a
calendar part of its own gets the meeting's invitation attached, link
included (easgw/mail/forwarded.py). ``SaveInSentItems``/``SaveInSent`` is accepted and has no
effect: there is no Sent Items folder to save to.
"""

from __future__ import annotations

import logging
from functools import partial

from easgw.commands import CommandSpec
from easgw.gateway import RequestContext
from easgw.mail.outbox import Delivery, Outbox, Submission
from easgw.mail.outgoing import (
    Envelope,
    MessageError,
    NoRecipient,
    envelope,
    prepare_outgoing,
    read_message,
)
from easgw.state.mail_models import OutboxState
from protocol.ashttp import Command
from protocol.composemail import (
    ComposeMailRequest,
    ComposeMailResponse,
    parse_compose_mail,
    render_compose_mail_response,
    with_query,
)
from protocol.status import CommonStatus, EasStatusError

__all__ = ["SPECS", "handle"]

log = logging.getLogger(__name__)


async def handle(ctx: RequestContext, request: ComposeMailRequest) -> ComposeMailResponse:
    request = with_query(request, ctx.line.parameters, ctx.line.save_in_sent)
    smtp = ctx.config.smtp
    if not smtp.host:
        log.warning(
            "mail not sent: smtp.host is not configured",
            extra={"command": request.command.name, "user": ctx.user.login},
        )
        # 12.x has no Status element: "service unavailable, try later" (HTTP 503),
        # not a server fault (500), is what a missing relay means to the phone.
        raise EasStatusError(
            CommonStatus.MailSubmissionFailed, "no SMTP relay configured", http_status=503
        )
    outbox = Outbox(ctx.gateway.database, smtp)
    if request.client_id is not None:  # a resend: answered before any work is done
        known = await outbox.find_client_id(ctx.device.id, request.client_id)
        if known is not None:
            return _again(request, known)
    prepared = await _envelope(ctx, request)
    submission = await outbox.submit(
        user_id=ctx.user.id,
        device_id=ctx.device.id,
        client_id=request.client_id,
        sender=prepared.sender,
        recipients=prepared.recipients,
        message=prepared.message,
    )
    if submission.duplicate:  # the same ClientId, submitted concurrently
        return _again(request, submission)
    outcome = await outbox.deliver(submission.id)
    if outcome is Delivery.FAILED:
        raise EasStatusError(CommonStatus.MailSubmissionFailed, "the relay refused the message")
    return ComposeMailResponse(command=request.command)


def _again(request: ComposeMailRequest, known: Submission) -> ComposeMailResponse:
    """The answer to a ClientId seen before: its first outcome, nothing relayed again."""
    log.info(
        "ClientId seen before: not relayed again",
        extra={"outbox_id": known.id, "state": str(known.state)},
    )
    if known.state is OutboxState.FAILED:
        raise EasStatusError(CommonStatus.MailSubmissionFailed, "refused before")
    return ComposeMailResponse(command=request.command)


async def _envelope(ctx: RequestContext, request: ComposeMailRequest) -> Envelope:
    """The relay's envelope and bytes, or the status that refuses the request."""
    try:
        message = read_message(request.mime)
    except MessageError:
        raise EasStatusError(CommonStatus.InvalidMIME, "unreadable MIME") from None
    message = await prepare_outgoing(
        ctx,
        message,
        request.source,
        forward=request.command is Command.SmartForward,
        replace_mime=request.replace_mime,
        forwardees=request.forwardees,
    )
    try:
        return envelope(
            message,
            user_email=ctx.user.email,
            display_name=ctx.user.display_name,
            extra_recipients=[f.email for f in request.forwardees],
        )
    except NoRecipient:
        raise EasStatusError(CommonStatus.MessageHasNoRecipient, "no recipient") from None
    except MessageError:
        raise EasStatusError(CommonStatus.InvalidMIME, "unwritable MIME") from None


def _spec(command: Command) -> CommandSpec:
    return CommandSpec(
        command=command,
        parse=partial(parse_compose_mail, command),
        handle=handle,
        render=render_compose_mail_response,
        status_root=f"{{ComposeMail:}}{command.name}",
        status_tag="{ComposeMail:}Status",
        raw_body_before="14.0",
    )


SPECS = tuple(
    _spec(command) for command in (Command.SendMail, Command.SmartReply, Command.SmartForward)
)
