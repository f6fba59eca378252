"""The conference-link registry: every link easgw made or is making, per event.

``conference_links``: one row per link, keyed for lookup by (owner, UID,
RECURRENCE-ID; ``""`` for the whole series). A row is written *before* the
provider is called (status ``pending``), so a save that fails or is retried
finds it and reuses it: one link per event, never two. Rows are never deleted:
removing the resource from an event marks its link ``removed`` (the link stays
valid unless the provider is configured with ``delete_on_remove``), deleting
the event does the same, and an admin's revoke marks it ``revoked`` (a new row
then replaces it on the event). ``token`` is 128 random bits for the gateway's
``/conf/<token>`` redirect (used when ``join_via_gateway``); ``calendar_url`` is
the URL the event carries (the provider's, or that redirect). ``summary``/``starts``/
``ends`` are what the provider was last told (for providers that take updates, they
change only once an update succeeded, so a failed one is retried on the next save).
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from easgw.state.models import Base, utcnow

__all__ = ["ConferenceLinkRow", "LinkStatus"]


class LinkStatus(enum.StrEnum):
    """Where a registry row stands."""

    #: Written before the provider call; no link yet (the call failed or is running).
    PENDING = "pending"
    ACTIVE = "active"
    #: The resource was removed or the event deleted; the link is off the event.
    REMOVED = "removed"
    #: An admin withdrew the link (leaked); a new row replaces it.
    REVOKED = "revoked"


class ConferenceLinkRow(Base):
    """One conference link of one event (or one occurrence of a series)."""

    __tablename__ = "conference_links"
    __table_args__ = (
        Index("ix_conference_links_event", "user_id", "uid", "recurrence_id"),
        Index("ix_conference_links_calendar_url", "calendar_url"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    #: The organizer's e-mail address.
    organizer: Mapped[str] = mapped_column(String(320))
    uid: Mapped[str] = mapped_column(String(1024))
    #: RECURRENCE-ID of the one occurrence the link is for; "" = the whole series.
    recurrence_id: Mapped[str] = mapped_column(String(64), default="")
    provider_id: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), default=LinkStatus.PENDING.value)
    #: The provider's URL and id (None while pending).
    url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    conference_id: Mapped[str | None] = mapped_column(String(512), nullable=True)
    #: The provider's own invitation text (dial-in details), if any.
    text: Mapped[str | None] = mapped_column(Text, nullable=True)
    join_via_gateway: Mapped[bool] = mapped_column(Boolean, default=False)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    calendar_url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    #: The event as of its last save, for the ``/conf/<token>`` redirect's joins.
    summary: Mapped[str] = mapped_column(String(512), default="")
    starts: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    ends: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    #: Provider calls that failed for this row (reset to 0 once the link exists).
    failures: Mapped[int] = mapped_column(Integer, default=0)
    #: Lifetime counters for ``easgw links stats`` (summed over rows, so no process
    #: shares a hot counter row): saves that kept, re-activated or adopted this link,
    #: times it was removed, provider calls (create or update) that failed. Never reset.
    reuse_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    removal_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    failure_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
