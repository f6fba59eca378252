"""Sync (MS-ASCMD 2.2.1.21): the calendar collections both ways, the mail folders empty.

Per collection, under a per-(device, collection) lock and in one transaction
with the state row locked (``ids.locked_state``), the request's SyncKey decides
(``plan.classify_key``):

* ``0``: a new key and no items (field: iOS rejects items at key 0); the
  Supported list and options are remembered; the device now holds nothing.
* the current key: the device's commands are applied first (``apply``), then,
  unless GetChanges is 0 (absent counts as 1 with a non-zero key), the
  server's changes go out (``respond``), at most the window (WindowSize capped
  by ``sync.max_window`` and by the request's overall WindowSize), with
  MoreAvailable. The answer moves to a new key and is stored for a replay.
  Nothing received and nothing to send: the same key again and no Commands.
  (MS-ASCMD 2.2.1.21.2 allows an empty HTTP 200 here, and ``SyncResponse.empty``
  says when; the boundary always encodes a tree today, so easgw sends the short
  Collection instead, which the spec's schema equally allows.) The common poll
  costs one ``Store.changes_since`` call: the state keeps the store's token from
  the last diff that left the device fully in step; ``quiet.py`` recognises
  that poll from reads alone, before any transaction or lock on the database.
* the previous key: the device lost our answer; it is replayed byte for byte
  and the request's commands are not applied again (ClientId idempotency backs
  this up for an Add resent under a later key).
* anything else: Status 3 (the device restarts at 0).

Wait / HeartbeatInterval: a request that would get the quiet answer is held
like a Ping and run again when a change concerns the device (``wait.py``).

An unknown CollectionId, or a calendar gone from the store: Status 12 (counted
per device: ``easgw/push/misses.py``, which breaks a Ping/Sync loop). Mail
folders (folder map ``mail:<role>``) sync as empty folders with Status 1.

Transactions: with the embedded store on the gateway's own database, the
store joins the session (``SupportsSharedSession``) and its writes commit with
the state. Any other store writes first and the state commits after; should
that commit fail, the next Sync reconciles (a resent Add finds its UID).
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import AbstractAsyncContextManager, nullcontext
from datetime import UTC, datetime
from functools import partial
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from easgw.commands import CommandSpec
from easgw.commands.sync.apply import Applied, Target, apply_commands
from easgw.commands.sync.ids import begin_immediate, locked_state
from easgw.commands.sync.items import (
    body_preference_from_json,
    body_preference_to_json,
    choose_body_preference,
)
from easgw.commands.sync.listing import keep_after_commit
from easgw.commands.sync.parse import (
    Planned,
    limit_answer,
    plan_collections,
    read_cached_request,
    store_cached_request,
)
from easgw.commands.sync.plan import KeyDecision, classify_key, held_from_json, held_to_json
from easgw.commands.sync.quiet import quiet_key
from easgw.commands.sync.respond import ServerChanges, server_changes, unchanged_since
from easgw.commands.sync.wait import hold_seconds, wait_for_changes
from easgw.commands.sync.window import cutoff
from easgw.folders import find_store_ref
from easgw.gateway import RequestContext
from easgw.state.sync_models import CollectionState
from protocol.ashttp import Command
from protocol.sync import (
    CollectionRequest,
    CollectionResponse,
    EncodedCollection,
    SyncRequest,
    SyncResponse,
    SyncStatus,
    encode_collection,
    parse_sync_request,
    render_sync_response,
)
from providers.stores.base import NotFound, SupportsSharedSession

__all__ = ["SPEC", "handle"]

log = logging.getLogger(__name__)

#: The window when the device names none (MS-ASCMD 2.2.3.199: default 100).
DEFAULT_WINDOW = 100
Answer = CollectionResponse | EncodedCollection


def _lock(ctx: RequestContext, collection_id: str) -> asyncio.Lock:
    """The lock serialising one device's requests on one collection in this
    process (Gateway.sync_locks; a lock lives while someone holds or awaits it)."""
    locks = ctx.gateway.sync_locks
    key = (ctx.device.id, collection_id)
    lock: asyncio.Lock | None = locks.get(key)
    if lock is None:
        lock = asyncio.Lock()
        locks[key] = lock
    return lock


async def handle(ctx: RequestContext, request: SyncRequest) -> SyncResponse:
    """One Sync; with Wait or HeartbeatInterval a quiet answer is held (wait.py)."""
    response = await _sync_once(ctx, request)
    seconds = hold_seconds(request)
    if seconds is None or response.status is not None or not response.empty:
        return response
    if await wait_for_changes(ctx, response, seconds):
        # Shielded: a client gone meanwhile must not cut the state write short.
        return await asyncio.shield(_sync_once(ctx, request))
    return response


async def _sync_once(ctx: RequestContext, request: SyncRequest) -> SyncResponse:
    answer = limit_answer(request, ctx.config)
    if answer is not None:
        return answer
    device_pk = ctx.device.id
    cached = await ctx.gateway.database.reader.run(
        partial(read_cached_request, device_pk=device_pk)
    )
    planned = plan_collections(cached, request)
    if planned is None:
        return SyncResponse(status=SyncStatus.IncompleteRequest)
    collections, overall, to_cache = planned
    if to_cache is not None:
        async with ctx.gateway.database.sessions.begin() as session:
            await store_cached_request(session, device_pk, to_cache)
    remaining = min(overall or ctx.config.sync.max_window * len(collections), 10_000)
    answers: list[Answer] = []
    for entry in collections:
        answer_one, sent = await _sync_collection(ctx, entry, remaining)
        remaining = max(remaining - sent, 0)
        answers.append(answer_one)
    return SyncResponse(collections=tuple(answers))


def _window(ctx: RequestContext, request: CollectionRequest, remaining: int) -> int:
    wanted = request.window_size if request.window_size else DEFAULT_WINDOW
    return max(min(wanted, ctx.config.sync.max_window, remaining), 1)


async def _sync_collection(
    ctx: RequestContext, planned: Planned, remaining: int
) -> tuple[Answer, int]:
    collection_id = planned.request.collection_id
    gone = CollectionResponse(
        collection_id=collection_id,
        status=SyncStatus.FolderHierarchyChanged,
        sync_key=planned.request.sync_key or None,
    )
    store_ref = await ctx.gateway.database.reader.run(
        partial(find_store_ref, user_id=ctx.user.id, server_id=collection_id)
    )
    if store_ref is None:
        log.info("Sync of an unknown collection", extra={"collection_id": collection_id[:64]})
        ctx.gateway.hierarchy_misses.record(ctx.device.id)
        return gone, 0
    async with _lock(ctx, collection_id):
        try:
            key = await quiet_key(ctx, planned, store_ref)
            if key is not None:
                return _quiet_answer(collection_id, key), 0
            return await _sync_locked(ctx, planned, store_ref, remaining)
        except NotFound:
            log.info("Sync of a calendar the store no longer has")
            ctx.gateway.hierarchy_misses.record(ctx.device.id)
            return gone, 0
        except StaleDataError:
            log.warning("Sync state written concurrently; the device retries")
            retry = CollectionResponse(collection_id=collection_id, status=SyncStatus.Retry)
            return retry, 0


def _shares_session(ctx: RequestContext) -> bool:
    """Is the store the embedded one on the gateway's own database?"""
    return ctx.gateway.store_shares_database


async def _sync_locked(
    ctx: RequestContext, planned: Planned, store_ref: str, remaining: int
) -> tuple[Answer, int]:
    async with ctx.gateway.database.sessions() as session:
        async with session.begin():
            answer = await _in_transaction(ctx, session, planned, store_ref, remaining)
        keep_after_commit(session)  # committed: the listing it took may be reused
        return answer


async def _in_transaction(
    ctx: RequestContext, session: AsyncSession, planned: Planned, store_ref: str, remaining: int
) -> tuple[Answer, int]:
    request = planned.request
    await begin_immediate(session)
    state = await locked_state(session, ctx.device.id, request.collection_id)
    # A cached collection syncs at its current key; with none yet it is invalid.
    key = (str(state.sync_key) if state.sync_key else "") if planned.cached else request.sync_key
    decision = classify_key(key, state.sync_key, state.previous_key)
    if decision is KeyDecision.RETRANSMISSION:
        await session.refresh(state, ["previous_response"])
        if state.previous_response is not None:
            log.info("Sync retransmission replayed", extra={"sync_key": key})
            return EncodedCollection(wbxml=state.previous_response), 0
        decision = KeyDecision.INVALID
    if decision is KeyDecision.INVALID:
        log.info("Sync with an unknown key", extra={"sync_key": key[:64]})
        invalid = CollectionResponse(
            collection_id=request.collection_id,
            status=SyncStatus.InvalidSyncKey,
            sync_key="0",
        )
        return invalid, 0
    _remember_options(state, request)
    if decision is KeyDecision.INITIAL:
        return _initial(state, request), 0
    target = Target(
        ctx=ctx,
        session=session,
        collection_id=request.collection_id,
        store_ref=store_ref,
        calendar_id=store_ref.removeprefix("calendar:")
        if store_ref.startswith("calendar:")
        else None,
        supported=None if state.supported is None else frozenset(state.supported),
        body_preference=body_preference_from_json(state.body_preference),
        joined=_shares_session(ctx),
        server_wins=request.options is None or request.options.conflict != 0,
    )
    return await _current(state, request, target, _window(ctx, request, remaining))


def _remember_options(state: CollectionState, request: CollectionRequest) -> None:
    options = request.options
    if options is None:
        return
    if options.filter_type is not None and options.filter_type != state.filter_type:
        state.filter_type = options.filter_type
    if options.body_preferences:
        chosen = body_preference_to_json(choose_body_preference(options.body_preferences))
        if chosen != state.body_preference:
            state.body_preference = chosen


def _initial(state: CollectionState, request: CollectionRequest) -> CollectionResponse:
    """SyncKey 0: a fresh key (keys only grow, so an old key stays invalid), no items."""
    state.sync_key += 1
    state.snapshot = {}
    state.store_token = None
    state.supported = None if request.supported is None else list(request.supported)
    state.previous_key = None
    state.previous_response = None
    return CollectionResponse(
        collection_id=request.collection_id,
        status=SyncStatus.Success,
        sync_key=str(state.sync_key),
    )


def _quiet(state: CollectionState, request: CollectionRequest) -> CollectionResponse:
    return _quiet_answer(request.collection_id, state.sync_key)


def _quiet_answer(collection_id: str, sync_key: int) -> CollectionResponse:
    """Nothing received, nothing to send: the same key, no Commands."""
    return CollectionResponse(
        collection_id=collection_id,
        status=SyncStatus.Success,
        sync_key=str(sync_key),
        unchanged=True,
    )


def _joined(target: Target) -> AbstractAsyncContextManager[Any]:
    store = target.store
    if target.joined and isinstance(store, SupportsSharedSession):
        return store.joined(target.session)
    return nullcontext()


async def _current(
    state: CollectionState, request: CollectionRequest, target: Target, window: int
) -> tuple[Answer, int]:
    earliest = cutoff(state.filter_type, datetime.now(UTC))
    async with _joined(target):
        # Nothing received and the store reports no change since the device was
        # last fully in step: nothing to diff (the common poll).
        if not request.commands and (
            request.get_changes is False
            or (earliest is None and await unchanged_since(target, state.store_token))
        ):
            return _quiet(state, request), 0
        await target.session.refresh(state, ["snapshot"])
        snapshot = held_from_json(state.snapshot)
        applied = (
            await apply_commands(target, request.commands, snapshot)
            if request.commands
            else Applied()
        )
        if request.get_changes is False:
            changes = ServerChanges(commands=(), more_available=False, snapshot=snapshot)
        else:
            changes = await server_changes(
                target,
                snapshot,
                exclude=applied.touched,
                window_size=window,
                earliest=earliest,
            )
    state.store_token = changes.settled_token
    new_snapshot = held_to_json(changes.snapshot)
    if not request.commands and not changes.commands and not changes.more_available:
        if new_snapshot != state.snapshot:
            state.snapshot = new_snapshot  # etags refreshed; the device holds the same
        return _quiet(state, request), 0
    response = CollectionResponse(
        collection_id=request.collection_id,
        status=SyncStatus.Success,
        sync_key=str(state.sync_key + 1),
        more_available=changes.more_available,
        commands=changes.commands,
        responses=tuple(applied.responses),
    )
    state.previous_key = state.sync_key
    state.previous_response = encode_collection(response)
    state.sync_key += 1
    state.snapshot = new_snapshot
    return response, len(changes.commands)


SPEC = CommandSpec(
    command=Command.Sync,
    parse=parse_sync_request,
    handle=handle,
    render=render_sync_response,
    status_root="{AirSync:}Sync",
    status_tag="{AirSync:}Status",
    needs_body=False,
)
