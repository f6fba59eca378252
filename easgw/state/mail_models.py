"""The mail outbox: every message easgw relays, written before the first attempt.

``mail_outbox``: one row per message. A SendMail/SmartReply/SmartForward
commits its row (state ``queued``) *before* the relay is tried, so a crash, a
relay that is down or a temporary SMTP error loses nothing: the retry task
(easgw/mail/outbox.py) sends it later. ``sent`` rows stay as the record of
what was relayed and of the ClientIds seen (a phone's resent SendMail with the
same ClientId is relayed once: MS-ASCMD 2.2.3.28.1, the server "will use the
ClientId element value to identify duplicate messages"); ``failed`` rows are
messages the relay refused for good (5xx) or that ran out of attempts, kept for
the admin. Gateway-originated mail (iMIP) has no device and no ClientId.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from easgw.state.models import Base, utcnow

__all__ = ["OutboxMessage", "OutboxState"]


class OutboxState(enum.StrEnum):
    """Where an outbox row stands."""

    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"


class OutboxMessage(Base):
    """One outgoing message and its delivery attempts."""

    __tablename__ = "mail_outbox"
    __table_args__ = (
        UniqueConstraint("device_id", "client_id", name="uq_mail_outbox_client_id"),
        Index("ix_mail_outbox_due", "state", "next_attempt"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    #: The device (devices.id) that submitted it; None for mail easgw originates.
    device_id: Mapped[int | None] = mapped_column(
        ForeignKey("devices.id", ondelete="SET NULL"), nullable=True
    )
    #: The phone's ClientId (14.0+); None in the 12.x form and for easgw's own mail.
    client_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    envelope_from: Mapped[str] = mapped_column(String(320))
    #: The SMTP recipients (RCPT TO), a JSON list of addresses.
    envelope_to: Mapped[list[str]] = mapped_column(JSON)
    #: The message exactly as relayed (Bcc removed, From checked).
    message: Mapped[bytes] = mapped_column(LargeBinary)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    #: The relay's last answer (an SMTP reply or a connection error); never the body.
    last_error: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    state: Mapped[str] = mapped_column(String(16), default=OutboxState.QUEUED.value)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
