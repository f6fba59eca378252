"""FolderSync, FolderCreate, FolderUpdate, FolderDelete (MS-ASCMD 2.2.1.3-2.2.1.6).

Hierarchy key state, per device (``HierarchyState``); keys are decimal strings
that only grow:

* FolderSync ``0``: every folder as an Add, a new key (MS-ASCMD 2.2.1.5: "All
  folders MUST be returned to the client when initial folder synchronization
  is done with a synchronization key of 0").
* the current key: the diff between the device's snapshot and the folders
  now. A new key only when something changed; an unchanged hierarchy answers
  with the same key and ``Changes/Count`` 0 (as Exchange and Z-Push do), so a
  polling phone does not churn keys.
* the key of the previous request (``previous_key``): the phone lost our
  answer; the stored answer (``previous_response``, the WBXML bytes sent) is
  replayed byte for byte and the state does not move.
* anything else: Status 9 (MS-ASCMD 2.2.3.181.2), and the phone starts over at 0.

FolderCreate/FolderUpdate/FolderDelete take the current key (else Status 9)
and answer with a new one (MS-ASCMD 2.2.3.181.1), or with a status alone when
they fail. They write the device's own change into its snapshot, so its next
FolderSync does not echo the change back, while changes made elsewhere in the
meantime still show up. They clear the replay record: the previous FolderSync
key is no longer the previous key.

State writes for one request commit in one transaction. The folder map (the
user's ServerIds) is allocated before, in its own short transaction: ids are
per user and idempotent, so that commit never needs undoing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from easgw.commands import CommandSpec, Handle, Parse, Render
from easgw.folders import (
    ROOT_ID,
    FolderMap,
    Snapshot,
    UserFolder,
    calendar_ref,
    find_folder,
    hierarchy_changes,
    list_folders,
    snapshot_of,
)
from easgw.gateway import RequestContext
from easgw.state.models import HierarchyState
from protocol.ashttp import Command
from protocol.folders import (
    EncodedResponse,
    FolderChanges,
    FolderCreateRequest,
    FolderCreateResponse,
    FolderCreateStatus,
    FolderDeleteRequest,
    FolderDeleteResponse,
    FolderDeleteStatus,
    FolderSyncRequest,
    FolderSyncResponse,
    FolderSyncStatus,
    FolderType,
    FolderUpdateRequest,
    FolderUpdateResponse,
    FolderUpdateStatus,
    encode_folder_sync_response,
    parse_folder_create_request,
    parse_folder_delete_request,
    parse_folder_sync_request,
    parse_folder_update_request,
    render_folder_create_response,
    render_folder_delete_response,
    render_folder_sync_response,
    render_folder_update_response,
)
from protocol.status import EasStatusError
from providers.stores.base import NotFound, ReadOnly

__all__ = ["SPECS", "folder_create", "folder_delete", "folder_sync", "folder_update"]

log = logging.getLogger(__name__)


async def _locked_state(session: AsyncSession, device_pk: int) -> HierarchyState:
    """The device's hierarchy state, row-locked (PostgreSQL), created if missing."""
    state = await session.scalar(
        select(HierarchyState).where(HierarchyState.device_pk == device_pk).with_for_update()
    )
    if state is None:
        state = HierarchyState(device_pk=device_pk, sync_key=0, snapshot={})
        session.add(state)
    return state


def _advance(
    state: HierarchyState, request_key: str, changes: FolderChanges, now: Snapshot, version: str
) -> FolderSyncResponse:
    """Move to a new key, keeping what is needed to replay this answer."""
    new_key = state.sync_key + 1
    response = FolderSyncResponse(sync_key=str(new_key), changes=changes)
    state.previous_key = int(request_key)
    state.previous_snapshot = state.snapshot
    state.previous_response = encode_folder_sync_response(response, version)
    state.sync_key = new_key
    state.snapshot = now
    return response


async def folder_sync(
    ctx: RequestContext, request: FolderSyncRequest
) -> FolderSyncResponse | EncodedResponse:
    """MS-ASCMD 2.2.1.5; the key transitions are in the module docstring."""
    folders = await list_folders(ctx)
    now = snapshot_of(folders)
    key = request.sync_key
    async with ctx.gateway.database.sessions.begin() as session:
        state = await _locked_state(session, ctx.device.id)
        if key == "0":
            everything = FolderChanges(add=tuple(folder.entry() for folder in folders))
            return _advance(state, key, everything, now, ctx.version)
        if state.sync_key and key == str(state.sync_key):
            changes = hierarchy_changes(state.snapshot, now)
            if not changes.count:
                return FolderSyncResponse(sync_key=key, changes=changes)
            return _advance(state, key, changes, now, ctx.version)
        replay = state.previous_response
        if replay is not None and key == str(state.previous_key):
            log.info("FolderSync retransmission replayed", extra={"sync_key": key})
            return EncodedResponse(wbxml=replay)
    log.info("FolderSync with an unknown key", extra={"sync_key": key[:64]})
    raise EasStatusError(FolderSyncStatus.InvalidSyncKey)


async def _held_snapshot(ctx: RequestContext, key: str, invalid: int) -> Snapshot:
    """The snapshot behind the current key; Status ``invalid`` (9) for any other key."""
    async with ctx.gateway.database.sessions() as session:
        state = await session.get(HierarchyState, ctx.device.id)
        if state is None or not state.sync_key or key != str(state.sync_key):
            raise EasStatusError(invalid, "the hierarchy sync key does not match")
        return dict(state.snapshot)


async def _record_own_change(ctx: RequestContext, change: Callable[[Snapshot], object]) -> str:
    """Apply the device's own change to its snapshot under a new key."""
    async with ctx.gateway.database.sessions.begin() as session:
        state = await _locked_state(session, ctx.device.id)
        snapshot = dict(state.snapshot)
        change(snapshot)
        state.snapshot = snapshot
        state.sync_key += 1
        state.previous_key = None
        state.previous_snapshot = None
        state.previous_response = None
        return str(state.sync_key)


def _name_taken(folders: Sequence[UserFolder], name: str, *, exclude: str | None) -> bool:
    """Folder names are unique per parent, compared without case; every folder
    easgw shows sits at the root."""
    wanted = name.strip().casefold()
    return any(
        f.display_name.strip().casefold() == wanted for f in folders if f.server_id != exclude
    )


async def folder_create(ctx: RequestContext, request: FolderCreateRequest) -> FolderCreateResponse:
    """Create a calendar (Type 13). MS-ASCMD 2.2.3.186.2 reserves types 2-11
    and 19 for default folders and easgw stores only calendars: any other type
    gets Status 3, which an earlier MS-ASCMD revision describes as "a special
    system folder ... cannot be created by the client; create a folder with a
    different type"."""
    status = FolderCreateStatus
    await _held_snapshot(ctx, request.sync_key, status.InvalidSyncKey)
    if request.type is not FolderType.UserCalendar:
        raise EasStatusError(status.SpecialFolder, f"cannot create a folder of type {request.type}")
    folders = await list_folders(ctx)
    if request.parent_id != ROOT_ID:
        parent = find_folder(folders, request.parent_id)
        if parent is None:
            raise EasStatusError(status.ParentNotFound)
        if not parent.is_calendar:
            raise EasStatusError(status.SpecialFolder, "a calendar cannot live in a mail folder")
    if _name_taken(folders, request.display_name, exclude=None):
        raise EasStatusError(status.FolderExists)
    calendar = await ctx.gateway.store.create_calendar(ctx.store_user, request.display_name)
    ref = calendar_ref(calendar.id)
    server_id = (await FolderMap(ctx.gateway.database.sessions, ctx.user.id).server_ids([ref]))[ref]
    # The store is flat: a calendar created under another one lands at the
    # root. The snapshot keeps the parent the device asked for, so its next
    # FolderSync carries an Update with the real ParentId.
    held_entry: list[str | int] = [
        request.parent_id,
        request.display_name,
        int(FolderType.UserCalendar),
    ]
    sync_key = await _record_own_change(ctx, lambda s: s.__setitem__(server_id, held_entry))
    log.info("calendar created by FolderCreate", extra={"server_id": server_id})
    return FolderCreateResponse(sync_key=sync_key, server_id=server_id)


async def folder_update(ctx: RequestContext, request: FolderUpdateRequest) -> FolderUpdateResponse:
    """Rename a calendar. The default calendar and the mail folders are
    special folders: Status 2 (MS-ASCMD 2.2.3.177.6)."""
    status = FolderUpdateStatus
    held = await _held_snapshot(ctx, request.sync_key, status.InvalidSyncKey)
    folders = await list_folders(ctx)
    target = find_folder(folders, request.server_id)
    if target is None:
        raise EasStatusError(status.FolderNotFound)
    if target.is_special or target.calendar_id is None:
        raise EasStatusError(status.FolderExistsOrSpecial, "special folders cannot be updated")
    parent_id = request.parent_id
    if parent_id is None:
        parent_id = str(held.get(target.server_id, [ROOT_ID])[0])
    elif parent_id != ROOT_ID:
        parent = find_folder(folders, parent_id)
        if parent is None or parent.server_id == target.server_id:
            raise EasStatusError(status.ParentNotFound)
    if _name_taken(folders, request.display_name, exclude=target.server_id):
        raise EasStatusError(status.FolderExistsOrSpecial, "a folder with that name exists")
    try:
        await ctx.gateway.store.rename_calendar(
            ctx.store_user, target.calendar_id, request.display_name
        )
    except NotFound:
        raise EasStatusError(status.FolderNotFound) from None
    except ReadOnly:
        raise EasStatusError(status.FolderExistsOrSpecial, "the calendar is read-only") from None
    held_entry: list[str | int] = [parent_id, request.display_name, int(target.type)]
    sync_key = await _record_own_change(ctx, lambda s: s.__setitem__(target.server_id, held_entry))
    return FolderUpdateResponse(sync_key=sync_key)


async def folder_delete(ctx: RequestContext, request: FolderDeleteRequest) -> FolderDeleteResponse:
    """Delete a calendar with its items. The default calendar and the mail
    folders are special folders: Status 3 (MS-ASCMD 2.2.3.177.4)."""
    status = FolderDeleteStatus
    await _held_snapshot(ctx, request.sync_key, status.InvalidSyncKey)
    folders = await list_folders(ctx)
    target = find_folder(folders, request.server_id)
    if target is None:
        raise EasStatusError(status.FolderNotFound)
    if target.is_special or target.calendar_id is None:
        raise EasStatusError(status.SpecialFolder, "special folders cannot be deleted")
    try:
        await ctx.gateway.store.delete_calendar(ctx.store_user, target.calendar_id)
    except NotFound:
        raise EasStatusError(status.FolderNotFound) from None
    except ReadOnly:
        raise EasStatusError(status.SpecialFolder, "the calendar cannot be deleted") from None
    sync_key = await _record_own_change(ctx, lambda s: s.pop(target.server_id, None))
    log.info("calendar deleted by FolderDelete", extra={"server_id": target.server_id})
    return FolderDeleteResponse(sync_key=sync_key)


def _spec(command: Command, parse: Parse, handle: Handle, render: Render) -> CommandSpec:
    return CommandSpec(
        command=command,
        parse=parse,
        handle=handle,
        render=render,
        status_root=f"{{FolderHierarchy:}}{command.name}",
        status_tag="{FolderHierarchy:}Status",
    )


SPECS = [
    _spec(Command.FolderSync, parse_folder_sync_request, folder_sync, render_folder_sync_response),
    _spec(
        Command.FolderCreate,
        parse_folder_create_request,
        folder_create,
        render_folder_create_response,
    ),
    _spec(
        Command.FolderUpdate,
        parse_folder_update_request,
        folder_update,
        render_folder_update_response,
    ),
    _spec(
        Command.FolderDelete,
        parse_folder_delete_request,
        folder_delete,
        render_folder_delete_response,
    ),
]
