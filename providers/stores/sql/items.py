"""Item operations of the embedded store, over an open ``AsyncSession``.

Writes lock the calendar first (``lock_calendar``), then check the caller's
preconditions, then write the item, and last bump the calendar's change
counter and record the change: a failed precondition writes nothing. Every
write replaces the item id's row in the change log, so the log holds the
latest kind (changed/deleted) of each id at the counter value of that write.
None of these functions commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, insert, select, update

from providers.stores.base import ItemRef, NotFound, PreconditionFailed
from providers.stores.sql.calendars import lock_calendar
from providers.stores.sql.identifiers import is_item_id, item_id_for_uid, new_etag
from providers.stores.sql.models import CalendarRow, ChangeKind, ChangeRow, ItemRow

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["delete_item", "get_items", "list_items", "put_item", "select_changes"]

_NO_SYNC: dict[str, Any] = {"synchronize_session": False}
#: Ids per IN (...) query; SQLite limits bound parameters per statement.
_CHUNK = 500


async def list_items(session: AsyncSession, calendar_id: str) -> list[ItemRef]:
    """Every item of the calendar, by id."""
    # A Core select (the table's columns): no ORM row processing on a large listing.
    table = ItemRow.__table__.c
    result = await session.execute(
        select(table.id, table.uid, table.etag)
        .where(table.calendar_id == calendar_id)
        .order_by(table.id)
    )
    return [ItemRef(id=item_id, uid=uid, etag=etag) for item_id, uid, etag in result]


async def find_uid(session: AsyncSession, calendar_id: str, uid: str) -> ItemRef | None:
    """The calendar's item with this UID (the (calendar, uid) index), or None."""
    table = ItemRow.__table__.c
    found = (
        await session.execute(
            select(table.id, table.uid, table.etag).where(
                table.calendar_id == calendar_id, table.uid == uid
            )
        )
    ).first()
    return None if found is None else ItemRef(id=found.id, uid=found.uid, etag=found.etag)


async def get_items(
    session: AsyncSession, calendar_id: str, item_ids: Sequence[str]
) -> list[tuple[ItemRef, str]]:
    """The items asked for that exist, in the order asked, with their iCalendar text."""
    wanted = list(dict.fromkeys(item_id for item_id in item_ids if is_item_id(item_id)))
    found: dict[str, tuple[ItemRef, str]] = {}
    for start in range(0, len(wanted), _CHUNK):
        table = ItemRow.__table__.c
        result = await session.execute(
            select(table.id, table.uid, table.etag, table.ical).where(
                table.calendar_id == calendar_id,
                table.id.in_(wanted[start : start + _CHUNK]),
            )
        )
        for item_id, uid, etag, ical in result:
            found[item_id] = (ItemRef(id=item_id, uid=uid, etag=etag), ical)
    return [found[item_id] for item_id in wanted if item_id in found]


async def put_item(
    session: AsyncSession,
    owner: str,
    calendar_id: str,
    *,
    ical: str,
    uid: str,
    item_id: str | None,
    if_match: str | None,
    if_none_match: bool,
) -> ItemRef:
    """Create or replace the item (see ``Store.put_item``); ``uid`` is ``ical``'s UID.

    A given ``item_id`` that does not exist yet is created under that id (as a
    CalDAV PUT to a new href would); an id the store could never have made is
    NotFound. A UID already held by another id of the calendar is
    PreconditionFailed.
    """
    await lock_calendar(session, owner, calendar_id)
    if item_id is not None and not is_item_id(item_id):
        raise NotFound(f"no item {item_id!r}")
    target = item_id if item_id is not None else item_id_for_uid(uid)
    current_etag = await _etag_of(session, calendar_id, target)
    uid_holder = await _id_holding_uid(session, calendar_id, uid)
    if if_none_match and (current_etag is not None or uid_holder is not None):
        raise PreconditionFailed(f"item {target!r} or its UID already exists")
    if if_match is not None and current_etag != if_match:
        raise PreconditionFailed(f"item {target!r} is not at etag {if_match!r}")
    if uid_holder is not None and uid_holder != target:
        raise PreconditionFailed(f"the UID is already used by item {uid_holder!r}")
    etag = new_etag()
    values = {"uid": uid, "etag": etag, "ical": ical, "updated": datetime.now(UTC)}
    if current_etag is None:
        await session.execute(insert(ItemRow).values(calendar_id=calendar_id, id=target, **values))
    else:
        result = await session.execute(
            update(ItemRow)
            .where(
                ItemRow.calendar_id == calendar_id,
                ItemRow.id == target,
                ItemRow.etag == current_etag,
            )
            .values(**values)
            .returning(ItemRow.id)
            .execution_options(**_NO_SYNC)
        )
        if result.scalar_one_or_none() is None:
            raise PreconditionFailed(f"item {target!r} was written concurrently")
    await _record_change(session, calendar_id, target, uid, ChangeKind.CHANGED)
    return ItemRef(id=target, uid=uid, etag=etag)


async def delete_item(
    session: AsyncSession, owner: str, calendar_id: str, item_id: str, *, if_match: str | None
) -> None:
    """Delete the item; NotFound if absent, PreconditionFailed on an etag mismatch."""
    await lock_calendar(session, owner, calendar_id)
    result = await session.execute(
        select(ItemRow.uid, ItemRow.etag).where(
            ItemRow.calendar_id == calendar_id, ItemRow.id == item_id
        )
    )
    row = result.one_or_none()
    if row is None:
        raise NotFound(f"no item {item_id!r}")
    uid, etag = row
    if if_match is not None and etag != if_match:
        raise PreconditionFailed(f"item {item_id!r} is not at etag {if_match!r}")
    deleted = await session.execute(
        delete(ItemRow)
        .where(ItemRow.calendar_id == calendar_id, ItemRow.id == item_id, ItemRow.etag == etag)
        .returning(ItemRow.id)
        .execution_options(**_NO_SYNC)
    )
    if deleted.scalar_one_or_none() is None:
        raise PreconditionFailed(f"item {item_id!r} was written concurrently")
    await _record_change(session, calendar_id, item_id, uid, ChangeKind.DELETED)


async def select_changes(
    session: AsyncSession, calendar_id: str, after: int, upto: int
) -> tuple[list[ItemRef], list[str]]:
    """Items changed and ids deleted by the writes numbered ``after+1 .. upto``.

    An id whose latest change falls in the window and which is gone from the
    items table (deleted by a write after ``upto``) is left for the next window.
    """
    result = await session.execute(
        select(ChangeRow.item_id, ChangeRow.kind, ItemRow.uid, ItemRow.etag)
        .outerjoin(
            ItemRow,
            (ItemRow.calendar_id == ChangeRow.calendar_id) & (ItemRow.id == ChangeRow.item_id),
        )
        .where(ChangeRow.calendar_id == calendar_id, ChangeRow.seq > after, ChangeRow.seq <= upto)
        .order_by(ChangeRow.seq)
    )
    # The outer join leaves uid and etag NULL for an id no longer in the items table.
    rows: Sequence[tuple[str, ChangeKind, str | None, str | None]] = result.all()
    changed: list[ItemRef] = []
    deleted: list[str] = []
    for item_id, kind, uid, etag in rows:
        if kind is ChangeKind.DELETED:
            deleted.append(item_id)
        elif uid is not None and etag is not None:
            changed.append(ItemRef(id=item_id, uid=uid, etag=etag))
    return changed, deleted


async def _etag_of(session: AsyncSession, calendar_id: str, item_id: str) -> str | None:
    result = await session.execute(
        select(ItemRow.etag).where(ItemRow.calendar_id == calendar_id, ItemRow.id == item_id)
    )
    return result.scalar_one_or_none()


async def _id_holding_uid(session: AsyncSession, calendar_id: str, uid: str) -> str | None:
    result = await session.execute(
        select(ItemRow.id).where(ItemRow.calendar_id == calendar_id, ItemRow.uid == uid)
    )
    return result.scalar_one_or_none()


async def _record_change(
    session: AsyncSession, calendar_id: str, item_id: str, uid: str, kind: ChangeKind
) -> None:
    """Bump the calendar's change counter and make this write the id's log entry."""
    result = await session.execute(
        update(CalendarRow)
        .where(CalendarRow.id == calendar_id)
        .values(seq=CalendarRow.seq + 1)
        .returning(CalendarRow.seq)
        .execution_options(**_NO_SYNC)
    )
    seq = result.scalar_one()
    await session.execute(
        delete(ChangeRow)
        .where(ChangeRow.calendar_id == calendar_id, ChangeRow.item_id == item_id)
        .execution_options(**_NO_SYNC)
    )
    await session.execute(
        insert(ChangeRow).values(
            calendar_id=calendar_id, seq=seq, item_id=item_id, uid=uid, kind=kind
        )
    )
