"""Calendar operations of the embedded store, over an open ``AsyncSession``.

Every function acts for one owner (a login) and treats another owner's
calendar exactly like a missing one (``NotFound``). None of them commits.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from providers.stores.base import Calendar, NotFound, ReadOnly
from providers.stores.sql.identifiers import new_calendar_id
from providers.stores.sql.models import CalendarRow, ChangeRow, ItemRow

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = [
    "DEFAULT_CALENDAR_NAME",
    "calendar_seq",
    "create_calendar",
    "delete_calendar",
    "list_calendars",
    "lock_calendar",
    "read_calendar_seq",
    "rename_calendar",
]

DEFAULT_CALENDAR_NAME = "Calendar"

_NO_SYNC: dict[str, Any] = {"synchronize_session": False}


async def list_calendars(session: AsyncSession, owner: str) -> list[Calendar]:
    """The owner's calendars, default first; creates the default one if missing."""
    calendars = await _select_calendars(session, owner)
    if not any(calendar.is_default for calendar in calendars):
        await _insert_default_calendar(session, owner)
        calendars = await _select_calendars(session, owner)
    return calendars


async def create_calendar(session: AsyncSession, owner: str, display_name: str) -> Calendar:
    """A new, non-default calendar."""
    calendar_id = new_calendar_id()
    await session.execute(
        insert(CalendarRow).values(
            id=calendar_id,
            owner=owner,
            display_name=display_name,
            is_default=False,
            created=datetime.now(UTC),
            seq=0,
        )
    )
    return Calendar(id=calendar_id, display_name=display_name)


async def rename_calendar(
    session: AsyncSession, owner: str, calendar_id: str, display_name: str
) -> Calendar:
    """Rename the owner's calendar; NotFound if the owner has no such calendar."""
    result = await session.execute(
        update(CalendarRow)
        .where(CalendarRow.id == calendar_id, CalendarRow.owner == owner)
        .values(display_name=display_name)
        .returning(CalendarRow.is_default)
        .execution_options(**_NO_SYNC)
    )
    is_default = result.scalar_one_or_none()
    if is_default is None:
        raise NotFound(f"no calendar {calendar_id!r}")
    return Calendar(id=calendar_id, display_name=display_name, is_default=is_default)


async def delete_calendar(session: AsyncSession, owner: str, calendar_id: str) -> None:
    """Delete the owner's calendar with its items and change log.

    NotFound if the owner has no such calendar; ReadOnly for the default one.
    """
    result = await session.execute(
        select(CalendarRow.is_default)
        .where(CalendarRow.id == calendar_id, CalendarRow.owner == owner)
        .with_for_update()
    )
    is_default = result.scalar_one_or_none()
    if is_default is None:
        raise NotFound(f"no calendar {calendar_id!r}")
    if is_default:
        raise ReadOnly("the default calendar cannot be deleted")
    # Explicit deletes: a caller-provided SQLite engine may run without foreign keys.
    for statement in (
        delete(ChangeRow).where(ChangeRow.calendar_id == calendar_id),
        delete(ItemRow).where(ItemRow.calendar_id == calendar_id),
        delete(CalendarRow).where(CalendarRow.id == calendar_id),
    ):
        await session.execute(statement.execution_options(**_NO_SYNC))


async def lock_calendar(session: AsyncSession, owner: str, calendar_id: str) -> None:
    """Check the owner's calendar exists and lock it for a write.

    On PostgreSQL the row lock orders concurrent writers of one calendar (its
    change counter is their sequence); SQLite locks the whole file at the
    first write instead. NotFound if the owner has no such calendar.
    """
    result = await session.execute(
        select(CalendarRow.id)
        .where(CalendarRow.id == calendar_id, CalendarRow.owner == owner)
        .with_for_update()
    )
    if result.scalar_one_or_none() is None:
        raise NotFound(f"no calendar {calendar_id!r}")


_SEQ = select(CalendarRow.seq).where(
    CalendarRow.id == bindparam("calendar_id"), CalendarRow.owner == bindparam("owner")
)  # built once: the no-change poll's statement


def read_calendar_seq(connection: Connection, owner: str, calendar_id: str) -> int | None:
    """The change counter of the owner's calendar, None if there is none (for ``Reader``)."""
    seq: int | None = connection.scalar(_SEQ, {"calendar_id": calendar_id, "owner": owner})
    return seq


async def calendar_seq(session: AsyncSession, owner: str, calendar_id: str) -> int:
    """The change counter of the owner's calendar; NotFound if there is none."""
    result = await session.execute(
        select(CalendarRow.seq).where(CalendarRow.id == calendar_id, CalendarRow.owner == owner)
    )
    seq = result.scalar_one_or_none()
    if seq is None:
        raise NotFound(f"no calendar {calendar_id!r}")
    return seq


async def _select_calendars(session: AsyncSession, owner: str) -> list[Calendar]:
    result = await session.execute(
        select(CalendarRow.id, CalendarRow.display_name, CalendarRow.is_default)
        .where(CalendarRow.owner == owner)
        .order_by(CalendarRow.is_default.desc(), CalendarRow.created, CalendarRow.id)
    )
    return [
        Calendar(id=calendar_id, display_name=display_name, is_default=is_default)
        for calendar_id, display_name, is_default in result
    ]


async def _insert_default_calendar(session: AsyncSession, owner: str) -> None:
    """Insert the owner's default calendar unless a concurrent call already did.

    The unique index on (owner) WHERE is_default makes the loser of a race a
    no-op (ON CONFLICT DO NOTHING) rather than an error.
    """
    values = {
        "id": new_calendar_id(),
        "owner": owner,
        "display_name": DEFAULT_CALENDAR_NAME,
        "is_default": True,
        "created": datetime.now(UTC),
        "seq": 0,
    }
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        await session.execute(
            postgresql_insert(CalendarRow).values(**values).on_conflict_do_nothing()
        )
    elif dialect == "sqlite":
        await session.execute(sqlite_insert(CalendarRow).values(**values).on_conflict_do_nothing())
    else:
        await session.execute(insert(CalendarRow).values(**values))
