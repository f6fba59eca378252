"""Sync state access: the collection state row, item ServerIds, ClientIds.

Item ServerIds are ``"<folder ServerId>:<item_ids row id>"``: per user and
collection (every device sees the same ids), stable across resyncs, at most
64 characters. A row is allocated with INSERT ... ON CONFLICT DO NOTHING
(PostgreSQL and SQLite), so two devices discovering one new item at once
agree on its id without a unique-constraint failure aborting either
transaction.

The state row is read ``FOR UPDATE`` (PostgreSQL). On SQLite the transaction
starts with ``BEGIN IMMEDIATE``, taking the write lock before the read, so a
second process cannot write the same state in between; the optimistic
``version`` column catches anything else.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from easgw.folders import FolderMap
from easgw.state.sync_models import ClientId, CollectionState, ItemId

if TYPE_CHECKING:
    from easgw.gateway import RequestContext

__all__ = [
    "allocation",
    "begin_immediate",
    "cached_spans",
    "find_client",
    "item_for_server_id",
    "locked_state",
    "remember_client",
    "save_spans",
    "server_ids",
]

_CHUNK = 500
_ROW_NUMBER = re.compile(r"[0-9]{1,18}")


async def begin_immediate(session: AsyncSession) -> None:
    """On SQLite, take the write lock now (the first statement of the transaction)."""
    if session.get_bind().dialect.name == "sqlite":
        await session.execute(text("BEGIN IMMEDIATE"))


async def locked_state(
    session: AsyncSession, device_pk: int, collection_id: str
) -> CollectionState:
    """The device's state of a collection, row-locked, created (key 0) if missing.

    The snapshot and the stored answer (the large columns) are not loaded: a
    caller that needs them loads them with ``session.refresh(state, [...])``.
    """
    state = await session.scalar(
        select(CollectionState)
        .options(defer(CollectionState.snapshot), defer(CollectionState.previous_response))
        .where(
            CollectionState.device_pk == device_pk,
            CollectionState.collection_id == collection_id,
        )
        .with_for_update()
    )
    if state is None:
        state = CollectionState(
            device_pk=device_pk, collection_id=collection_id, sync_key=0, snapshot={}
        )
        session.add(state)
    return state


def _insert(session: AsyncSession):  # type: ignore[no-untyped-def]
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


async def _known(
    session: AsyncSession, user_id: int, store_ref: str, item_ids: Sequence[str] | None
) -> dict[str, int]:
    # A Core select (the table's columns): no ORM row processing on a large listing.
    table = ItemId.__table__.c
    query = select(table.item_id, table.id).where(
        table.user_id == user_id, table.store_ref == store_ref
    )
    if item_ids is None:
        return {str(row[0]): int(row[1]) for row in (await session.execute(query)).all()}
    found: dict[str, int] = {}
    for start in range(0, len(item_ids), _CHUNK):
        chunk = item_ids[start : start + _CHUNK]
        rows = await session.execute(query.where(table.item_id.in_(chunk)))
        found.update({str(row[0]): int(row[1]) for row in rows.all()})
    return found


async def allocation(session: AsyncSession, user_id: int, store_ref: str) -> tuple[int, int]:
    """(how many ServerIds, the highest row id) of a collection: any deletion
    and reallocation of its ``item_ids`` rows (a user deleted and re-added)
    changes it."""
    table = ItemId.__table__.c
    row = (
        await session.execute(
            select(func.count(), func.max(table.id)).where(
                table.user_id == user_id, table.store_ref == store_ref
            )
        )
    ).one()
    return int(row[0]), int(row[1] or 0)


async def server_ids(
    session: AsyncSession, user_id: int, store_ref: str, folder_id: str, item_ids: Sequence[str]
) -> dict[str, str]:
    """store item id -> ServerId for ``item_ids``, allocating missing ones."""
    wanted = list(dict.fromkeys(item_ids))
    known = await _known(session, user_id, store_ref, None if len(wanted) > _CHUNK else wanted)
    missing = [item_id for item_id in wanted if item_id not in known]
    if missing:
        insert = _insert(session)
        for start in range(0, len(missing), _CHUNK):
            rows = [
                {"user_id": user_id, "store_ref": store_ref, "item_id": item_id}
                for item_id in missing[start : start + _CHUNK]
            ]
            await session.execute(insert(ItemId).values(rows).on_conflict_do_nothing())
        known.update(await _known(session, user_id, store_ref, missing))
    return {item_id: f"{folder_id}:{known[item_id]}" for item_id in wanted}


async def item_for_server_id(
    session: AsyncSession, user_id: int, store_ref: str, folder_id: str, server_id: str
) -> str | None:
    """The store item id behind an item ServerId of this collection, or None."""
    prefix, sep, number = server_id.rpartition(":")
    if not sep or prefix != folder_id or not _ROW_NUMBER.fullmatch(number):
        return None
    row = await session.get(ItemId, int(number))
    if row is None or row.user_id != user_id or row.store_ref != store_ref:
        return None
    return row.item_id


async def find_client(
    session: AsyncSession, device_pk: int, collection_id: str, client_id: str
) -> ClientId | None:
    return await session.get(ClientId, (device_pk, collection_id, client_id[:128]))


async def remember_client(
    session: AsyncSession,
    *,
    device_pk: int,
    collection_id: str,
    client_id: str,
    server_id: str,
    uid: str,
) -> None:
    session.add(
        ClientId(
            device_pk=device_pk,
            collection_id=collection_id,
            client_id=client_id[:128],
            server_id=server_id,
            uid=uid,
        )
    )
    await session.flush()


async def cached_spans(
    session: AsyncSession, user_id: int, store_ref: str
) -> dict[str, tuple[str | None, int | None]]:
    """store item id -> (etag the span was computed at, span end) for a collection."""
    table = ItemId.__table__.c
    rows = await session.execute(
        select(table.item_id, table.etag, table.span_end).where(
            table.user_id == user_id, table.store_ref == store_ref
        )
    )
    return {str(item_id): (etag, span) for item_id, etag, span in rows.all()}


async def save_spans(
    session: AsyncSession,
    user_id: int,
    store_ref: str,
    spans: Mapping[str, tuple[str, int | None]],
) -> None:
    """Record freshly computed spans (item id -> (etag, span end))."""
    for item_id, (etag, span) in spans.items():
        await session.execute(
            update(ItemId)
            .where(
                ItemId.user_id == user_id,
                ItemId.store_ref == store_ref,
                ItemId.item_id == item_id,
            )
            .values(etag=etag, span_end=span)
            .execution_options(synchronize_session=False)
        )


async def calendar_item_of(
    ctx: RequestContext, collection_id: str, server_id: str
) -> tuple[str, str] | None:
    """(store calendar id, store item id) of the calendar item a device names by
    CollectionId and ServerId (MeetingResponse's RequestId, SmartForward's Source);
    None for an unknown folder, a mail folder (always empty here) or an unknown item."""
    store_ref = await FolderMap(ctx.gateway.database.sessions, ctx.user.id).store_ref(collection_id)
    if store_ref is None or not store_ref.startswith("calendar:"):
        return None
    async with ctx.gateway.database.sessions() as session:
        item_id = await item_for_server_id(
            session, ctx.user.id, store_ref, collection_id, server_id
        )
    return None if item_id is None else (store_ref.removeprefix("calendar:"), item_id)
