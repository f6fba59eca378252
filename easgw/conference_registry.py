"""Reads and writes of the conference-link registry (easgw/state/conference_models.py).

Every function works inside the caller's session: a Sync writes its registry rows
in its own transaction (on SQLite it holds the write lock from its first
statement, so no other transaction could commit a row meanwhile). A row is
flushed before the provider is called; if the provider fails, the row stays
``pending`` and the next save of the event reuses it.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from easgw.state.conference_models import ConferenceLinkRow, LinkStatus
from easgw.state.models import utcnow

__all__ = [
    "add_row",
    "by_token",
    "current_row",
    "event_rows",
    "list_rows",
    "set_status",
    "url_claimed",
]

#: Rows that are on an event or about to be.
LIVE = (LinkStatus.PENDING.value, LinkStatus.ACTIVE.value)


async def current_row(
    session: AsyncSession, user_id: int, uid: str, recurrence_id: str = ""
) -> ConferenceLinkRow | None:
    """The newest row of this event (or occurrence) that an admin has not revoked."""
    query = (
        select(ConferenceLinkRow)
        .where(
            ConferenceLinkRow.user_id == user_id,
            ConferenceLinkRow.uid == uid,
            ConferenceLinkRow.recurrence_id == recurrence_id,
            ConferenceLinkRow.status != LinkStatus.REVOKED.value,
        )
        .order_by(ConferenceLinkRow.id.desc())
        .limit(1)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def event_rows(session: AsyncSession, user_id: int, uid: str) -> list[ConferenceLinkRow]:
    """Every live row of an event, the series' and its occurrences'."""
    query = select(ConferenceLinkRow).where(
        ConferenceLinkRow.user_id == user_id,
        ConferenceLinkRow.uid == uid,
        ConferenceLinkRow.status.in_(LIVE),
    )
    return list((await session.execute(query)).scalars())


async def add_row(
    session: AsyncSession,
    *,
    user_id: int,
    organizer: str,
    uid: str,
    recurrence_id: str,
    provider_id: str,
) -> ConferenceLinkRow:
    """A new ``pending`` row, flushed (before any provider call)."""
    row = ConferenceLinkRow(
        user_id=user_id,
        organizer=organizer,
        uid=uid,
        recurrence_id=recurrence_id,
        provider_id=provider_id,
        status=LinkStatus.PENDING.value,
        token=secrets.token_urlsafe(24),
        join_via_gateway=False,
        summary="",
        failures=0,
        reuse_count=0,
        removal_count=0,
        failure_count=0,
    )
    session.add(row)
    await session.flush()
    return row


async def url_claimed(session: AsyncSession, calendar_url: str) -> bool:
    """Does any row (any event, any status) own this calendar URL?"""
    query = select(ConferenceLinkRow.id).where(ConferenceLinkRow.calendar_url == calendar_url)
    return (await session.execute(query.limit(1))).first() is not None


def set_status(row: ConferenceLinkRow, status: LinkStatus) -> None:
    if row.status != status.value:
        row.status = status.value
        row.updated = utcnow()


async def by_token(session: AsyncSession, token: str) -> ConferenceLinkRow | None:
    """The row behind a ``/conf/<token>`` redirect."""
    query = select(ConferenceLinkRow).where(ConferenceLinkRow.token == token)
    return (await session.execute(query)).scalar_one_or_none()


async def list_rows(
    session: AsyncSession, user_id: int | None = None, uid: str | None = None
) -> Sequence[ConferenceLinkRow]:
    """Rows, oldest first, optionally of one user and one event."""
    query = select(ConferenceLinkRow).order_by(ConferenceLinkRow.id)
    if user_id is not None:
        query = query.where(ConferenceLinkRow.user_id == user_id)
    if uid is not None:
        query = query.where(ConferenceLinkRow.uid == uid)
    return list((await session.execute(query)).scalars())
