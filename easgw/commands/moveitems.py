"""MoveItems (MS-ASCMD 2.2.1.12): move calendar items between the user's calendars.

Per ``Move``, in order (statuses MS-ASCMD 2.2.3.177.10): an unknown or mail
source folder, or an item that is not (any more) in it: 1; an unknown or mail
destination: 2; the same folder: 4; the store refusing the write (read-only,
invalid): 5; a concurrent write in between: 7 (transient, the device retries).

The move, crash-safe and idempotent:

1. the item is put into the destination calendar as it is (same iCalendar
   text, so the same UID) with If-None-Match. A retry finds the UID already
   there (PreconditionFailed) and takes that item: nothing is duplicated. (A
   destination already holding the UID, say a copy of the event, keeps its
   own version and the source item is still removed: one event per UID.)
2. the destination item gets its ServerId (``item_ids``, shared by every
   device: DstMsgId), and the move is remembered for this device in
   ``client_ids`` (key ``move:<SrcFldId>:<SrcMsgId>`` in the destination),
   so a retry of a move that completed (the device lost our answer) gets the
   same DstMsgId rather than Status 1.
3. the item is deleted from the source with If-Match: a source edited since
   step 1 is left alone, the copy is removed again and the answer is 7.
4. the moving device's sync state learns the move: the source snapshot drops
   SrcMsgId and the destination snapshot (once synced) holds DstMsgId, with
   the hash of the rendering the device already has. Its next Sync therefore
   sends neither the Delete nor the Add (the device moved the item itself;
   the DESIGN.md echo rule), while the user's other devices get the Delete in
   the source and the Add in the destination (MS-ASCMD 2.2.1.12: "the client
   receives Delete and Add operations the next time the client synchronizes
   the affected folders"). Should step 4 fail (a concurrent write of the same
   state by another process), the moving device gets Delete+Add as well: it
   loses nothing.

Store writes commit on their own; gateway state commits after them (DESIGN.md
"Errors and bad input"): a crash in between is repaired by the retry (step 1).
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import AsyncExitStack
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer
from sqlalchemy.orm.exc import StaleDataError

from easgw.commands import CommandSpec
from easgw.commands.sync.ids import (
    begin_immediate,
    find_client,
    item_for_server_id,
    remember_client,
    server_ids,
)
from easgw.commands.sync.items import ConversionError, body_preference_from_json, render_stored
from easgw.folders import FolderMap
from easgw.gateway import RequestContext
from easgw.state.sync_models import CollectionState
from protocol.ashttp import Command
from protocol.moveitems import (
    Move,
    MoveItemsRequest,
    MoveItemsResponse,
    MoveItemsStatus,
    MoveResult,
    parse_move_items_request,
    render_move_items_response,
)
from providers.stores.base import (
    InvalidData,
    Item,
    ItemRef,
    NotFound,
    PreconditionFailed,
    ReadOnly,
    StoreError,
)

__all__ = ["SPEC", "handle"]

log = logging.getLogger(__name__)

_CALENDAR = "calendar:"
#: Held hash of an item the server cannot render (as sync/apply.py): never equal
#: to a rendering, and a rendering that fails is never sent as a Change.
_UNRENDERABLE = "unrenderable"


@dataclass(frozen=True, slots=True, kw_only=True)
class _Folder:
    folder_id: str
    store_ref: str

    @property
    def calendar_id(self) -> str:
        return self.store_ref.removeprefix(_CALENDAR)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Moved:
    """A completed move, for the moving device's snapshots."""

    source: _Folder
    destination: _Folder
    src_msg_id: str
    dst_msg_id: str
    ical: str
    placed_id: str


class _Failed(Exception):
    def __init__(self, status: MoveItemsStatus) -> None:
        super().__init__(status)
        self.status = status


async def handle(ctx: RequestContext, request: MoveItemsRequest) -> MoveItemsResponse:
    folders = FolderMap(ctx.gateway.database.sessions, ctx.user.id)
    results: list[MoveResult] = []
    for move in request.moves:
        try:
            dst_msg_id = await _move_one(ctx, folders, move)
        except _Failed as failed:
            log.info("MoveItems: item not moved", extra={"status": int(failed.status)})
            results.append(MoveResult(src_msg_id=move.src_msg_id, status=failed.status))
            continue
        results.append(
            MoveResult(
                src_msg_id=move.src_msg_id, status=MoveItemsStatus.Success, dst_msg_id=dst_msg_id
            )
        )
    return MoveItemsResponse(results=tuple(results))


async def _folder(folders: FolderMap, folder_id: str, invalid: MoveItemsStatus) -> _Folder:
    """A calendar folder of the user; ``invalid`` for anything else (mail folders are empty)."""
    store_ref = await folders.store_ref(folder_id) if 0 < len(folder_id) <= 64 else None
    if store_ref is None or not store_ref.startswith(_CALENDAR):
        raise _Failed(invalid)
    return _Folder(folder_id=folder_id, store_ref=store_ref)


async def _move_one(ctx: RequestContext, folders: FolderMap, move: Move) -> str:
    source = await _folder(folders, move.src_fld_id, MoveItemsStatus.InvalidSource)
    destination = await _folder(folders, move.dst_fld_id, MoveItemsStatus.InvalidDestination)
    if source.store_ref == destination.store_ref:
        raise _Failed(MoveItemsStatus.SameSourceAndDestination)
    async with ctx.gateway.database.sessions() as session:
        item_id = await item_for_server_id(
            session, ctx.user.id, source.store_ref, source.folder_id, move.src_msg_id
        )
    if item_id is None:
        raise _Failed(MoveItemsStatus.InvalidSource)
    key = f"move:{source.folder_id}:{move.src_msg_id}"
    try:
        found = await ctx.gateway.store.get_items(ctx.store_user, source.calendar_id, [item_id])
    except NotFound:
        raise _Failed(MoveItemsStatus.InvalidSource) from None
    if not found:
        return await _moved_before(ctx, source, destination, key, move.src_msg_id)
    item = found[0]
    placed, created = await _place(ctx, destination, item)
    dst_msg_id = await _remember(ctx, destination, key, placed)
    await _remove_source(ctx, source, item, destination, placed if created else None)
    moved = _Moved(
        source=source,
        destination=destination,
        src_msg_id=move.src_msg_id,
        dst_msg_id=dst_msg_id,
        ical=item.ical,
        placed_id=placed.id,
    )
    await _record_in_snapshots(ctx, moved)
    log.info("calendar item moved", extra={"src": move.src_msg_id, "dst": dst_msg_id})
    return dst_msg_id


async def _place(ctx: RequestContext, destination: _Folder, item: Item) -> tuple[ItemRef, bool]:
    """Step 1: (the destination item, created by this call)."""
    store, user = ctx.gateway.store, ctx.store_user
    try:
        ref = await store.put_item(user, destination.calendar_id, item.ical, if_none_match=True)
    except PreconditionFailed:
        holders = await store.list_items(user, destination.calendar_id)
        held = next((r for r in holders if r.uid == item.ref.uid), None)
        if held is None:
            raise _Failed(MoveItemsStatus.Locked) from None  # written concurrently
        return held, False
    except NotFound:
        raise _Failed(MoveItemsStatus.InvalidDestination) from None
    except (ReadOnly, InvalidData) as exc:
        log.info("MoveItems: the destination refused the item", extra={"kind": type(exc).__name__})
        raise _Failed(MoveItemsStatus.Failure) from None
    return ref, True


async def _remember(ctx: RequestContext, destination: _Folder, key: str, placed: ItemRef) -> str:
    """Step 2: DstMsgId, and this device's record of the move."""
    async with ctx.gateway.database.sessions.begin() as session:
        dst_msg_id = (
            await server_ids(
                session, ctx.user.id, destination.store_ref, destination.folder_id, [placed.id]
            )
        )[placed.id]
        known = await find_client(session, ctx.device.id, destination.folder_id, key)
        if known is None:
            await remember_client(
                session,
                device_pk=ctx.device.id,
                collection_id=destination.folder_id,
                client_id=key,
                server_id=dst_msg_id,
                uid=placed.uid,
            )
        else:  # moved here before, moved away, and now again
            known.server_id, known.uid = dst_msg_id, placed.uid
    return dst_msg_id


async def _moved_before(
    ctx: RequestContext, source: _Folder, destination: _Folder, key: str, src_msg_id: str
) -> str:
    """The item left the source: a retry of a move that completed gets its DstMsgId
    (and step 4 again, should the first attempt have stopped before it)."""
    async with ctx.gateway.database.sessions() as session:
        known = await find_client(session, ctx.device.id, destination.folder_id, key)
        dst_msg_id = None if known is None else known.server_id
        item_id = (
            None
            if dst_msg_id is None
            else await item_for_server_id(
                session, ctx.user.id, destination.store_ref, destination.folder_id, dst_msg_id
            )
        )
    if item_id is None or dst_msg_id is None:
        raise _Failed(MoveItemsStatus.InvalidSource)
    try:
        found = await ctx.gateway.store.get_items(
            ctx.store_user, destination.calendar_id, [item_id]
        )
    except NotFound:  # the destination calendar is gone
        found = []
    if not found:
        raise _Failed(MoveItemsStatus.InvalidSource)
    moved = _Moved(
        source=source,
        destination=destination,
        src_msg_id=src_msg_id,
        dst_msg_id=dst_msg_id,
        ical=found[0].ical,
        placed_id=item_id,
    )
    await _record_in_snapshots(ctx, moved)
    log.info("MoveItems resent: answered with its DstMsgId", extra={"dst": dst_msg_id})
    return dst_msg_id


async def _remove_source(
    ctx: RequestContext, source: _Folder, item: Item, destination: _Folder, copy: ItemRef | None
) -> None:
    """Step 3; on failure the copy this call made (``copy``) is removed again."""
    store, user = ctx.gateway.store, ctx.store_user
    try:
        await store.delete_item(user, source.calendar_id, item.ref.id, if_match=item.ref.etag)
    except NotFound:
        return  # already gone: the move holds
    except (PreconditionFailed, ReadOnly) as exc:
        if copy is not None:
            try:
                await store.delete_item(user, destination.calendar_id, copy.id, if_match=copy.etag)
            except StoreError:
                log.warning("MoveItems: the copy could not be removed again")
        conflict = isinstance(exc, PreconditionFailed)
        raise _Failed(MoveItemsStatus.Locked if conflict else MoveItemsStatus.Failure) from None


# --- step 4: the moving device's snapshots ------------------------------------------------


def _lock(ctx: RequestContext, collection_id: str) -> asyncio.Lock:
    """The per-(device, collection) lock Sync holds (Gateway.sync_locks)."""
    locks = ctx.gateway.sync_locks
    key = (ctx.device.id, collection_id)
    lock = locks.get(key)
    if lock is None:
        lock = asyncio.Lock()
        locks[key] = lock
    return lock


async def _state(
    session: AsyncSession, device_pk: int, collection_id: str
) -> CollectionState | None:
    """The device's state of a collection, row-locked; None when it never synced it."""
    state = await session.scalar(
        select(CollectionState)
        .options(defer(CollectionState.previous_response))
        .where(
            CollectionState.device_pk == device_pk,
            CollectionState.collection_id == collection_id,
        )
        .with_for_update()
    )
    return state if state is not None and state.sync_key > 0 else None


def _held_hash(
    ctx: RequestContext,
    held: list[str | None] | None,
    source: CollectionState,
    destination: CollectionState,
    ical: str,
) -> str:
    """The hash of what the device holds, as the destination's rendering would hash it."""
    if held is not None and held[1] and source.body_preference == destination.body_preference:
        return str(held[1])  # same version and body preference: the same rendering
    try:
        preference = body_preference_from_json(destination.body_preference)
        return render_stored(
            ical, version=ctx.version, body_preference=preference, owner=ctx.user.email
        ).hash
    except ConversionError:
        return _UNRENDERABLE


async def _record_in_snapshots(ctx: RequestContext, moved: _Moved) -> None:
    """Step 4 (module docstring), under the Sync locks of both collections."""
    ids = sorted({moved.source.folder_id, moved.destination.folder_id})
    async with AsyncExitStack() as stack:
        for collection_id in ids:
            await stack.enter_async_context(_lock(ctx, collection_id))
        try:
            async with ctx.gateway.database.sessions.begin() as session:
                await begin_immediate(session)
                await _update_states(ctx, session, moved)
        except StaleDataError:
            log.warning("MoveItems: sync state written concurrently; the device gets Delete+Add")


async def _update_states(ctx: RequestContext, session: AsyncSession, moved: _Moved) -> None:
    device = ctx.device.id
    source_state = await _state(session, device, moved.source.folder_id)
    held: list[str | None] | None = None
    if source_state is not None:
        await session.refresh(source_state, ["snapshot"])
        snapshot = dict(source_state.snapshot)
        held = snapshot.pop(moved.src_msg_id, None)
        if held is not None:
            source_state.snapshot = snapshot
    destination_state = await _state(session, device, moved.destination.folder_id)
    if destination_state is None:
        return  # not synced yet: its first Sync brings the item anyway
    await session.refresh(destination_state, ["snapshot"])
    snapshot = dict(destination_state.snapshot)
    if moved.dst_msg_id in snapshot:
        return  # the device holds it there already
    reference = source_state if source_state is not None else destination_state
    digest = _held_hash(ctx, held, reference, destination_state, moved.ical)
    # etag None: the next Sync renders the stored item once and compares hashes.
    snapshot[moved.dst_msg_id] = [moved.placed_id, digest, None]
    destination_state.snapshot = snapshot


SPEC = CommandSpec(
    command=Command.MoveItems,
    parse=parse_move_items_request,
    handle=handle,
    render=render_move_items_response,
    status_root="{Move:}MoveItems",
    status_tag="{Move:}Status",
)
