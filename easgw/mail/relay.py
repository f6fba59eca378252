"""The SMTP relay (``[smtp]``, CONTRACTS.md section 3): one message, one session.

aiosmtplib's errors are translated here, at the edge, into two of ours
(STYLE.md 5)::

    RelayError                    the relay did not take the message
    ├── RelayTemporaryError       try again later: a 4xx reply, no connection,
    │                             a timeout, a TLS or login failure (the admin's
    │                             configuration: fixing it delivers the queue)
    └── RelayRejected             a 5xx reply to the sender, every recipient
                                  or the data: sending again will not help

A message some recipients took and others refused counts as sent; the refused
ones are reported in :class:`RelayResult` (the relay would have bounced them too).
Nothing here logs the message or the credentials.
"""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from dataclasses import dataclass

import aiosmtplib
from aiosmtplib import errors

from easgw.config import SmtpConfig

__all__ = ["RelayError", "RelayRejected", "RelayResult", "RelayTemporaryError", "relay"]

#: Seconds for each SMTP step; a relay slower than this is "temporarily" down.
TIMEOUT = 30.0


class RelayError(Exception):
    """The relay did not take the message; ``reason`` is safe to log and store."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RelayTemporaryError(RelayError):
    """Try again later."""


class RelayRejected(RelayError):
    """Refused for good."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RelayResult:
    """A message the relay took; ``refused`` maps recipients it would not take
    to its reply."""

    refused: dict[str, str]


def _reply(code: int, message: str) -> str:
    return f"{code} {message}"[:500]


def _classify(exc: Exception) -> RelayError:
    """Our error for an aiosmtplib (or socket) error."""
    if isinstance(exc, errors.SMTPRecipientsRefused):
        codes = [refusal.code for refusal in exc.recipients]
        reason = "; ".join(_reply(r.code, r.message) for r in exc.recipients)
        if any(400 <= code < 500 for code in codes):
            return RelayTemporaryError(f"recipients refused: {reason}"[:1000])
        return RelayRejected(f"recipients refused: {reason}"[:1000])
    if isinstance(exc, errors.SMTPAuthenticationError):
        return RelayTemporaryError(f"relay login failed: {_reply(exc.code, exc.message)}")
    if isinstance(exc, errors.SMTPResponseException) and 500 <= exc.code < 600:
        return RelayRejected(_reply(exc.code, exc.message))
    if isinstance(exc, errors.SMTPResponseException):
        return RelayTemporaryError(_reply(exc.code, exc.message))
    return RelayTemporaryError(f"{type(exc).__name__}: {exc}"[:1000])


async def relay(
    smtp: SmtpConfig, *, sender: str, recipients: Sequence[str], message: bytes
) -> RelayResult:
    """Hand ``message`` to the configured relay. Raises :class:`RelayError`."""
    if not smtp.host:
        raise RelayTemporaryError("smtp.host is not set")
    try:
        refused, _reply_text = await aiosmtplib.send(
            message,
            sender=sender,
            recipients=list(recipients),
            hostname=smtp.host,
            port=smtp.port,
            username=smtp.username,
            password=smtp.password,
            start_tls=smtp.starttls,
            timeout=TIMEOUT,
        )
    except (errors.SMTPException, OSError, ssl.SSLError) as exc:
        raise _classify(exc) from exc
    return RelayResult(
        refused={address: _reply(r.code, r.message) for address, r in refused.items()}
    )
