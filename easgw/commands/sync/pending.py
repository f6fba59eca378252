"""Would the device's next Sync of a collection send anything? Read-only.

Ping and Sync Wait ask this when a store change notification arrives (and once
when they start): a notification only says *the collection* changed; whether
the change concerns *this device* is the Sync engine's diff with the echo rule
(DESIGN.md step 6): a device's own edit, already in its snapshot, is nothing
to send; server-side enrichment of it is a Change.

Two steps, the answer always the one the full diff gives:

1. From the store's change feed since the token the state kept when the device
   was last fully in step (no FilterType window, which moves with the clock):
   nothing changed -> False; a deleted item the device holds, or a changed item
   it does not hold (an Add) -> True; changed items it holds at the etag its
   snapshot records -> not those. The feed's answer for one (collection,
   token) is shared through the hub's memo by every device woken by the same
   notification (devices in step hold the same token).
2. Anything else (no token, an item whose etag moved: is it an echo or a real
   Change?) -> ``respond.count_changes``, the diff GetItemEstimate uses, in a
   transaction that is rolled back: nothing is committed.

A collection the device never synced (no state, or SyncKey 0) is never
pending: its first Sync brings everything anyway. Mail folders are always empty.
"""

from __future__ import annotations

import asyncio
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from easgw.commands.sync.apply import Target
from easgw.commands.sync.items import body_preference_from_json
from easgw.commands.sync.plan import held_from_json
from easgw.commands.sync.respond import count_changes
from easgw.commands.sync.window import cutoff
from easgw.gateway import RequestContext
from easgw.state.sync_models import CollectionState
from providers.stores.base import Changes, SupportsChangeFeed, SupportsSharedSession

__all__ = ["has_pending"]

_CALENDAR = "calendar:"


@dataclass(frozen=True, slots=True)
class _State:
    sync_key: int
    filter_type: int | None
    supported: list[str] | None
    body_preference: dict[str, Any] | None
    snapshot: dict[str, list[str | None]]
    store_token: str | None


_STATE = select(
    CollectionState.sync_key,
    CollectionState.filter_type,
    CollectionState.supported,
    CollectionState.body_preference,
    CollectionState.snapshot,
    CollectionState.store_token,
).where(
    CollectionState.device_pk == bindparam("device_pk"),
    CollectionState.collection_id == bindparam("collection_id"),
)  # built once


def _read_state(connection: Connection, device_pk: int, collection_id: str) -> _State | None:
    row = connection.execute(
        _STATE, {"device_pk": device_pk, "collection_id": collection_id}
    ).first()
    return None if row is None else _State(*row)


async def has_pending(ctx: RequestContext, collection_id: str, store_ref: str) -> bool:
    """Would the device's next Sync of ``collection_id`` send anything? (Module docstring.)
    NotFound propagates: the calendar is gone from the store."""
    if not store_ref.startswith(_CALENDAR):
        return False
    state = await ctx.gateway.database.reader.run(
        lambda connection: _read_state(connection, ctx.device.id, collection_id)
    )
    if state is None or state.sync_key == 0:
        return False
    earliest = cutoff(state.filter_type, datetime.now(UTC))
    if earliest is None and state.store_token is not None:
        quick = await _from_feed(ctx, store_ref, state)
        if quick is not None:
            return quick
    return await _full_diff(ctx, collection_id, store_ref, state, earliest)


async def _changes(ctx: RequestContext, store_ref: str, token: str) -> Changes:
    """The store's changes since ``token``. With a change feed, one store call
    serves every device a notification woke: the call in flight (a task, so
    one waiter's cancellation cancels nobody else's) is kept in the hub's memo,
    which the next notification of ``store_ref`` drops."""
    store = ctx.gateway.store
    calendar_id = store_ref.removeprefix(_CALENDAR)
    if not isinstance(store, SupportsChangeFeed):
        return await store.changes_since(ctx.store_user, calendar_id, token)
    hub = ctx.gateway.hub
    generation = hub.generation(store_ref)
    key = ("changes", ctx.user.login, token)
    shared = hub.memo_get(store_ref, key, generation)
    if not isinstance(shared, asyncio.Future):  # else: under way or done for another device
        shared = asyncio.ensure_future(store.changes_since(ctx.store_user, calendar_id, token))
        shared.add_done_callback(_retrieved)
        hub.memo_put(store_ref, key, generation, shared)
    changes: Changes = await asyncio.shield(shared)
    return changes


def _retrieved(task: asyncio.Future[Changes]) -> None:
    """Mark a failure as seen (its waiters may all have gone)."""
    if not task.cancelled():
        task.exception()


async def _from_feed(ctx: RequestContext, store_ref: str, state: _State) -> bool | None:
    """Step 1 of the module docstring; None: the full diff must decide."""
    assert state.store_token is not None
    changes = await _changes(ctx, store_ref, state.store_token)
    if not changes.complete:
        return None
    if not changes.changed and not changes.deleted:
        return False
    held = {str(value[0]): value for value in state.snapshot.values()}
    if any(item_id in held and held[item_id][1] for item_id in changes.deleted):
        return True
    undecided = False
    for ref in changes.changed:
        value = held.get(ref.id)
        if value is None:
            return True  # an Add
        if value[2] != ref.etag or not value[1]:
            undecided = True  # an echo or a Change; or a skipped item offered again
    return None if undecided else False


def _joined(ctx: RequestContext, session: AsyncSession) -> AbstractAsyncContextManager[Any]:
    store = ctx.gateway.store
    if isinstance(store, SupportsSharedSession) and (
        getattr(store, "engine", None) is ctx.gateway.database.engine
    ):
        return store.joined(session)
    return nullcontext()


async def _full_diff(
    ctx: RequestContext, collection_id: str, store_ref: str, state: _State, earliest: int | None
) -> bool:
    async with ctx.gateway.database.sessions() as session:
        try:
            target = Target(
                ctx=ctx,
                session=session,
                collection_id=collection_id,
                store_ref=store_ref,
                calendar_id=store_ref.removeprefix(_CALENDAR),
                supported=None if state.supported is None else frozenset(state.supported),
                body_preference=body_preference_from_json(state.body_preference),
                joined=False,
            )
            async with _joined(ctx, session):
                count = await count_changes(
                    target, held_from_json(state.snapshot), earliest=earliest
                )
            return count > 0
        finally:
            await session.rollback()  # nothing the diff allocated is kept
