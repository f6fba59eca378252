"""GetItemEstimate (MS-ASCMD 2.2.1.9): how many changes the next Sync would send.

Per requested collection, in request order (statuses 2.2.3.177.7):

* a CollectionId the folder map does not know, or a calendar gone from the
  store: Status 2 (the device runs FolderSync);
* a collection the device never synced, or SyncKey ``0``: Status 3 (not
  primed: a Sync at key 0 comes first);
* the collection's current SyncKey: Status 1 and the estimate = the number of
  Delete/SoftDelete, Change and Add commands the Sync engine's diff
  (``respond.count_changes``) finds for the device's snapshot, over every
  window. FilterType: the request's, else the one the state remembers. Mail
  folders (folder map ``mail:<role>``) are always empty: 0;
* the previous SyncKey (the device lost the last Sync answer): the next Sync
  replays that answer, so the estimate is the number of commands it holds;
* any other key: Status 4 (2.2.3.181.3: the key does not match what the next
  Sync expects).

Read-only: the server does not update the SyncKey on GetItemEstimate
(2.2.3.181.3). Each collection is read in its own transaction, which is
rolled back: any ServerIds or spans the diff allocates are not kept.
"""

from __future__ import annotations

import logging
from contextlib import AbstractAsyncContextManager, nullcontext
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from easgw.commands import CommandSpec
from easgw.commands.sync.apply import Target
from easgw.commands.sync.items import body_preference_from_json
from easgw.commands.sync.plan import held_from_json
from easgw.commands.sync.respond import count_changes, unchanged_since
from easgw.commands.sync.window import cutoff
from easgw.folders import FolderMap
from easgw.gateway import RequestContext
from easgw.state.sync_models import CollectionState
from protocol import wbxml
from protocol.ashttp import Command
from protocol.getitemestimate import (
    CollectionEstimate,
    EstimateCollection,
    GetItemEstimateRequest,
    GetItemEstimateResponse,
    GetItemEstimateStatus,
    parse_get_item_estimate_request,
    render_get_item_estimate_response,
)
from providers.stores.base import NotFound, SupportsSharedSession

__all__ = ["SPEC", "handle"]

log = logging.getLogger(__name__)

_CALENDAR = "calendar:"


async def handle(ctx: RequestContext, request: GetItemEstimateRequest) -> GetItemEstimateResponse:
    results = [await _estimate(ctx, wanted) for wanted in request.collections]
    return GetItemEstimateResponse(responses=tuple(results))


def _answer(
    wanted: EstimateCollection, status: GetItemEstimateStatus, estimate: int | None = None
) -> CollectionEstimate:
    return CollectionEstimate(collection_id=wanted.collection_id, status=status, estimate=estimate)


async def _estimate(ctx: RequestContext, wanted: EstimateCollection) -> CollectionEstimate:
    folders = FolderMap(ctx.gateway.database.sessions, ctx.user.id)
    store_ref = await folders.store_ref(wanted.collection_id)
    if store_ref is None:
        log.info("GetItemEstimate of an unknown collection")
        return _answer(wanted, GetItemEstimateStatus.InvalidCollection)
    try:
        async with ctx.gateway.database.sessions() as session:
            try:
                return await _in_session(ctx, session, wanted, store_ref)
            finally:
                await session.rollback()  # nothing an estimate touches is kept
    except NotFound:
        log.info("GetItemEstimate of a calendar the store no longer has")
        return _answer(wanted, GetItemEstimateStatus.InvalidCollection)


async def _in_session(
    ctx: RequestContext, session: AsyncSession, wanted: EstimateCollection, store_ref: str
) -> CollectionEstimate:
    state = await session.get(CollectionState, (ctx.device.id, wanted.collection_id))
    key = wanted.sync_key
    if state is None or not state.sync_key or key == "0":
        return _answer(wanted, GetItemEstimateStatus.SyncStateNotPrimed)
    if key is not None and key == str(state.sync_key):
        estimate = await _pending(ctx, session, state, wanted, store_ref)
        return _answer(wanted, GetItemEstimateStatus.Success, estimate)
    if key is not None and key == str(state.previous_key) and state.previous_response:
        return _answer(wanted, GetItemEstimateStatus.Success, _replayed(state.previous_response))
    log.info("GetItemEstimate with an unknown key", extra={"sync_key": (key or "")[:64]})
    return _answer(wanted, GetItemEstimateStatus.InvalidSyncKey)


def _replayed(previous_response: bytes) -> int:
    """The number of commands in the stored answer a retransmitted Sync replays."""
    tree = wbxml.decode(previous_response)
    return len(tree.findall(".//{AirSync:}Collection/{AirSync:}Commands/*"))


def _joined(ctx: RequestContext, session: AsyncSession) -> AbstractAsyncContextManager[Any]:
    """The embedded store on the gateway's own database reads through ``session``
    (as it does in Sync), so one connection serves the whole estimate."""
    store = ctx.gateway.store
    if isinstance(store, SupportsSharedSession) and (
        getattr(store, "engine", None) is ctx.gateway.database.engine
    ):
        return store.joined(session)
    return nullcontext()


async def _pending(
    ctx: RequestContext,
    session: AsyncSession,
    state: CollectionState,
    wanted: EstimateCollection,
    store_ref: str,
) -> int:
    """What the next Sync at the current key would send, over every window."""
    if not store_ref.startswith(_CALENDAR):
        return 0  # a mail folder: always empty
    filter_type = wanted.filter_type if wanted.filter_type is not None else state.filter_type
    earliest = cutoff(filter_type, datetime.now(UTC))
    target = Target(
        ctx=ctx,
        session=session,
        collection_id=wanted.collection_id,
        store_ref=store_ref,
        calendar_id=store_ref.removeprefix(_CALENDAR),
        supported=None if state.supported is None else frozenset(state.supported),
        body_preference=body_preference_from_json(state.body_preference),
        joined=False,
    )
    async with _joined(ctx, session):
        if earliest is None and await unchanged_since(target, state.store_token):
            return 0
        return await count_changes(target, held_from_json(state.snapshot), earliest=earliest)


SPEC = CommandSpec(
    command=Command.GetItemEstimate,
    parse=parse_get_item_estimate_request,
    handle=handle,
    render=render_get_item_estimate_response,
    status_root="{GetItemEstimate:}GetItemEstimate",
    status_tag="{GetItemEstimate:}Status",
)
