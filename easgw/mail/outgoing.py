"""A phone's outgoing message, made ready for the relay.

``read_message`` parses the MIME the phone sent (stdlib ``email``,
``policy.default``); ``envelope`` takes the SMTP recipients from To, Cc and Bcc
(plus any 16.x SmartForward ``Forwardees``), removes the Bcc header and makes
sure the From header names the user (kept as the phone wrote it when it is the
user's address, else replaced by it: no sending as someone else). The envelope
sender of a user's own mail is the user's address (CONTRACTS.md section 3:
``smtp.from`` is for mail easgw itself originates).

``prepare_outgoing`` is THE hook where the conference rules act on a phone's
invitation before it is relayed (issue 8, part 1): the link injected into the
text/calendar part and the bodies, the conference resource removed from the
recipients (easgw/mail/invitations.py).
"""

from __future__ import annotations

import email.policy
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from easgw.gateway import RequestContext
    from protocol.composemail import Forwardee, Source

__all__ = [
    "Envelope",
    "MessageError",
    "NoRecipient",
    "envelope",
    "prepare_outgoing",
    "read_message",
]

#: SMTP wants CRLF line ends and no line longer than 998 octets (RFC 5322 2.1.1).
_POLICY = email.policy.SMTP.clone(max_line_length=998)


class MessageError(ValueError):
    """The MIME message cannot be relayed (unreadable, or no recipient)."""


class NoRecipient(MessageError):
    """Nobody would receive the message."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Envelope:
    """What the relay is told, and the message bytes it is given."""

    sender: str
    recipients: tuple[str, ...]
    message: bytes


def read_message(data: bytes) -> EmailMessage:
    """The phone's MIME message. Raises :class:`MessageError` when it has no headers."""
    message = BytesParser(policy=email.policy.default).parsebytes(data)
    if not isinstance(message, EmailMessage) or not message.keys():
        raise MessageError("not a MIME message")
    return message


def _addresses(message: EmailMessage, names: Iterable[str]) -> list[str]:
    # The raw header values and the lenient compat parser: policy.default's
    # structured headers raise on some malformed addresses (a lone "<").
    wanted = {name.lower() for name in names}
    values = [str(value) for name, value in message.raw_items() if name.lower() in wanted]
    found: list[str] = []
    for _display, address in getaddresses(values):
        if "@" in address and address.lower() not in {a.lower() for a in found}:
            found.append(address)
    return found


def _check_from(message: EmailMessage, user_email: str, display_name: str) -> None:
    """From names the user, or becomes the user (no spoofing)."""
    written = _addresses(message, ["From"])
    if len(written) == 1 and written[0].lower() == user_email.lower():
        return
    del message["From"]
    del message["Sender"]
    message["From"] = Address(display_name=display_name, addr_spec=user_email)


def envelope(
    message: EmailMessage,
    *,
    user_email: str,
    display_name: str = "",
    extra_recipients: Iterable[str] = (),
) -> Envelope:
    """Recipients from To/Cc/Bcc (+ ``extra_recipients``), Bcc removed, From checked.

    Raises :class:`NoRecipient` when nobody would receive the message, and
    :class:`MessageError` when it cannot be written out again.
    """
    recipients = _addresses(message, ["To", "Cc", "Bcc", "Resent-To", "Resent-Cc"])
    for extra in extra_recipients:
        if extra.lower() not in {a.lower() for a in recipients}:
            recipients.append(extra)
    if not recipients:
        raise NoRecipient("the message has no recipient")
    del message["Bcc"]
    _check_from(message, user_email, display_name)
    try:
        data = message.as_bytes(policy=_POLICY)
    except Exception as exc:  # the stdlib's header code has many failure modes
        raise MessageError(f"the message cannot be written out: {type(exc).__name__}") from exc
    return Envelope(sender=user_email, recipients=tuple(recipients), message=data)


async def prepare_outgoing(
    ctx: RequestContext,
    message: EmailMessage,
    source: Source | None = None,
    *,
    forward: bool = False,
    replace_mime: bool = False,
    forwardees: Sequence[Forwardee] = (),
) -> EmailMessage:
    """The place where the conference rules act on a phone's outgoing message.

    Called for every SendMail, SmartReply and SmartForward after the message is
    parsed and before its envelope is taken: a forwarded meeting gets its
    invitation attached (easgw/mail/forwarded.py), then the conference link of an
    invitation's events goes into its calendar part and bodies, and the
    conference resource leaves its recipients (easgw/mail/invitations.py).
    """
    from easgw.mail.forwarded import attach_forwarded_meeting
    from easgw.mail.invitations import add_conference_links

    if forward:
        message = await attach_forwarded_meeting(
            ctx, message, source, replace_mime=replace_mime, forwardees=forwardees
        )
    return await add_conference_links(ctx, message)
