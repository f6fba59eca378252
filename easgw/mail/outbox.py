"""The outbox: queue a message, relay it now, retry it later. Nothing is lost.

``submit`` commits the message (state ``queued``, due now) before any SMTP
traffic; ``deliver`` then *claims* the row (a conditional UPDATE pushes its
``next_attempt`` a lease ahead and counts the attempt, so the retry task, or
another gateway process, never sends it at the same time) and relays it:

- accepted -> ``sent``;
- a temporary failure (4xx, no connection, timeout, TLS or login trouble)
  -> stays ``queued``, due again after a backoff (1 min, doubling, at most
  1 h); after :data:`MAX_ATTEMPTS` it becomes ``failed`` (about two days);
- a permanent refusal (5xx) -> ``failed`` at once.

:class:`RetryLoop` runs in the gateway (easgw/app.py ``cleanup_ctx``) and
delivers due rows every :data:`RETRY_INTERVAL` seconds (or when woken).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from easgw.config import SmtpConfig
from easgw.mail.relay import RelayError, RelayRejected, relay
from easgw.state.db import Database
from easgw.state.mail_models import OutboxMessage, OutboxState
from easgw.state.models import utcnow

__all__ = [
    "MAX_ATTEMPTS",
    "Delivery",
    "Outbox",
    "RetryLoop",
    "Submission",
    "backoff",
]

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 50
RETRY_INTERVAL = 30.0
#: How long a claimed row is left alone by other senders.
LEASE = timedelta(minutes=5)
FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=1)
_POLICY = SMTP.clone(max_line_length=998)


def backoff(attempts: int) -> timedelta:
    """Wait before the next attempt after ``attempts`` failed ones."""
    wait: timedelta = FIRST_RETRY * (2 ** min(max(attempts - 1, 0), 16))
    return min(wait, LONGEST_RETRY)


class Delivery(enum.Enum):
    """What one delivery attempt came to."""

    SENT = "sent"
    #: Still queued: a temporary failure, or another sender holds it now.
    QUEUED = "queued"
    FAILED = "failed"


@dataclass(frozen=True, slots=True, kw_only=True)
class Submission:
    """A submitted message's row; ``duplicate`` when the ClientId was seen."""

    id: int
    state: OutboxState
    duplicate: bool = False


class Outbox:
    """The ``mail_outbox`` table and the relay behind it."""

    def __init__(self, database: Database, smtp: SmtpConfig) -> None:
        self.database = database
        self.smtp = smtp

    @staticmethod
    def serialise(message: EmailMessage) -> bytes:
        """The bytes a message easgw writes itself is queued as (CRLF, lines <= 998)."""
        return message.as_bytes(policy=_POLICY)

    async def submit(
        self,
        *,
        user_id: int | None,
        device_id: int | None,
        client_id: str | None,
        sender: str,
        recipients: Sequence[str],
        message: bytes,
    ) -> Submission:
        """Queue a message (committed on return). The same (device, ClientId)
        again returns the first row, marked ``duplicate``."""
        if client_id is not None and device_id is not None:
            known = await self.find_client_id(device_id, client_id)
            if known is not None:
                return known
        row = OutboxMessage(
            user_id=user_id,
            device_id=device_id,
            client_id=client_id,
            envelope_from=sender,
            envelope_to=list(recipients),
            message=message,
            attempts=0,
            next_attempt=utcnow(),
            state=OutboxState.QUEUED.value,
        )
        try:
            async with self.database.sessions.begin() as session:
                session.add(row)
        except IntegrityError:  # the same ClientId, submitted concurrently
            if client_id is None or device_id is None:
                raise
            known = await self.find_client_id(device_id, client_id)
            if known is None:
                raise
            return known
        return Submission(id=row.id, state=OutboxState.QUEUED)

    async def find_client_id(self, device_id: int, client_id: str) -> Submission | None:
        """The row of a ClientId this device already submitted, if any."""
        async with self.database.sessions() as session:
            found = (
                await session.execute(
                    select(OutboxMessage.id, OutboxMessage.state).where(
                        OutboxMessage.device_id == device_id,
                        OutboxMessage.client_id == client_id,
                    )
                )
            ).first()
        if found is None:
            return None
        return Submission(id=found.id, state=OutboxState(found.state), duplicate=True)

    async def _claim(self, row_id: int, now: datetime) -> OutboxMessage | None:
        async with self.database.sessions.begin() as session:
            claimed = await session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.id == row_id,
                    OutboxMessage.state == OutboxState.QUEUED.value,
                    OutboxMessage.next_attempt <= now,
                )
                .values(next_attempt=now + LEASE, attempts=OutboxMessage.attempts + 1)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                return None
            row = await session.get(OutboxMessage, row_id)
            if row is not None:
                session.expunge(row)
            return row

    async def deliver(self, row_id: int) -> Delivery:
        """One attempt at a queued row, if it is due and nobody else holds it."""
        now = utcnow()
        row = await self._claim(row_id, now)
        if row is None:
            return Delivery.QUEUED
        try:
            result = await relay(
                self.smtp, sender=row.envelope_from, recipients=row.envelope_to, message=row.message
            )
        except RelayError as exc:
            return await self._failed(row, exc)
        if result.refused:
            log.warning(
                "relay refused some recipients",
                extra={"outbox_id": row.id, "refused": sorted(result.refused)},
            )
        await self._finish(
            row.id,
            state=OutboxState.SENT,
            last_error="; ".join(result.refused.values()) or None,
            sent=utcnow(),
        )
        log.info("mail relayed", extra={"outbox_id": row.id, "attempt": row.attempts})
        return Delivery.SENT

    async def _failed(self, row: OutboxMessage, exc: RelayError) -> Delivery:
        permanent = isinstance(exc, RelayRejected) or row.attempts >= MAX_ATTEMPTS
        if permanent:
            log.error(
                "mail not relayed, given up",
                extra={"outbox_id": row.id, "attempt": row.attempts, "reason": exc.reason},
            )
            await self._finish(row.id, state=OutboxState.FAILED, last_error=exc.reason)
            return Delivery.FAILED
        wait = backoff(row.attempts)
        log.warning(
            "mail not relayed yet, queued for a retry",
            extra={
                "outbox_id": row.id,
                "attempt": row.attempts,
                "retry_in": int(wait.total_seconds()),
                "reason": exc.reason,
            },
        )
        await self._finish(
            row.id, state=OutboxState.QUEUED, last_error=exc.reason, next_attempt=utcnow() + wait
        )
        return Delivery.QUEUED

    async def _finish(self, row_id: int, **values: object) -> None:
        values["state"] = str(values["state"])
        async with self.database.sessions.begin() as session:
            await session.execute(
                update(OutboxMessage).where(OutboxMessage.id == row_id).values(**values)
            )

    async def due(self, limit: int = 100) -> list[int]:
        """Ids of queued rows due now, oldest first."""
        async with self.database.sessions() as session:
            rows = await session.scalars(
                select(OutboxMessage.id)
                .where(
                    OutboxMessage.state == OutboxState.QUEUED.value,
                    OutboxMessage.next_attempt <= utcnow(),
                )
                .order_by(OutboxMessage.next_attempt)
                .limit(limit)
            )
            return list(rows)

    async def retry_due(self) -> int:
        """Deliver every due row once; the number sent."""
        sent = 0
        for row_id in await self.due():
            if await self.deliver(row_id) is Delivery.SENT:
                sent += 1
        return sent


class RetryLoop:
    """The background task that delivers queued rows (started by the app)."""

    def __init__(self, outbox: Outbox, interval: float = RETRY_INTERVAL) -> None:
        self.outbox = outbox
        self.interval = interval
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="mail-outbox-retry")

    def wake(self) -> None:
        """Look for due rows now (instead of at the next interval)."""
        self._wake.set()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            if self.outbox.smtp.host:
                try:
                    await self.outbox.retry_due()
                except Exception:  # the database is away: try again next round
                    log.exception("outbox retry round failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
            self._wake.clear()
