"""Ping (MS-ASCMD 2.2.1.13, 3.1.5.8): hold until a monitored folder has news for the device.

In order (statuses 2.2.3.177.11):

* The request's HeartbeatInterval and Folders, each falling back to the
  device's cached one (``ping_caches``); neither given nor cached: Status 3.
* HeartbeatInterval outside ``ping.min_heartbeat..ping.max_heartbeat``:
  Status 5 with the bound crossed. More than ``MAX_FOLDERS`` folders: Status 6
  with MaxFolders. A request that sets either value replaces the cache (the
  write is shielded from cancellation).
* Status 7 (FolderSync first) when the device's folder hierarchy snapshot
  differs from the folders now, when it never ran FolderSync, when a watched
  calendar is gone from the store, and after ``HierarchyMisses.LIMIT`` Sync
  Status 12 answers to the device (breaking the Ping/12 loop: EAS-NOTES "Ping").
* Folder ids the gateway does not know are skipped (field: the HTC One X sends
  "InvalidTaskID"); mail folders are always empty and never change.
* Then the request is held (easgw/push/hold.py): Status 2 naming the folders
  whose next Sync has something for *this* device (sync/pending.py: the echo
  rule -- a device's own edit does not wake its Ping, server-side enrichment
  does), checked at once and after each store notification; Status 1 when the
  heartbeat ends, when a newer Ping or Sync Wait of the same device replaces
  this one, or when the gateway shuts down.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from functools import partial
from typing import Final

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from easgw.commands import CommandSpec
from easgw.commands.sync.pending import has_pending
from easgw.folders import find_store_ref, hierarchy_changes, list_folders, snapshot_of
from easgw.gateway import RequestContext
from easgw.push.hold import hold
from easgw.state.models import HierarchyState
from easgw.state.sync_models import PingCache
from protocol.ashttp import Command
from protocol.ping import (
    PingFolder,
    PingRequest,
    PingResponse,
    PingStatus,
    parse_ping_request,
    render_ping_response,
)
from providers.stores.base import NotFound

__all__ = ["MAX_FOLDERS", "SPEC", "handle"]

log = logging.getLogger(__name__)

#: Folders one Ping may monitor (answered with Status 6 and MaxFolders beyond).
MAX_FOLDERS: Final = 300
_CALENDAR = "calendar:"

_CACHE = select(PingCache.heartbeat_interval, PingCache.folders).where(
    PingCache.device_pk == bindparam("device_pk")
)  # built once
_HIERARCHY = select(HierarchyState.snapshot).where(
    HierarchyState.device_pk == bindparam("device_pk")
)


def _read_cache(
    connection: Connection, device_pk: int
) -> tuple[int | None, list[list[str]] | None]:
    row = connection.execute(_CACHE, {"device_pk": device_pk}).first()
    return (None, None) if row is None else (row[0], row[1])


def _folders_json(folders: Sequence[PingFolder]) -> list[list[str]]:
    return [[folder.id, folder.class_name] for folder in folders]


async def _store_cache(ctx: RequestContext, heartbeat: int, folders: list[list[str]]) -> None:
    """Replace the device's cache; a concurrent first Ping's insert is retried once."""
    for attempt in range(2):
        try:
            async with ctx.gateway.database.sessions.begin() as session:
                cache = await session.get(PingCache, ctx.device.id)
                if cache is None:
                    session.add(
                        PingCache(
                            device_pk=ctx.device.id, heartbeat_interval=heartbeat, folders=folders
                        )
                    )
                else:
                    cache.heartbeat_interval = heartbeat
                    cache.folders = folders
            return
        except IntegrityError:
            if attempt:
                raise


def _out_of_bounds(ctx: RequestContext, heartbeat: int) -> PingResponse | None:
    low, high = ctx.config.ping.min_heartbeat, ctx.config.ping.max_heartbeat
    if low <= heartbeat <= high:
        return None
    bound = low if heartbeat < low else high
    return PingResponse(status=PingStatus.HeartbeatOutOfRange, heartbeat_interval=bound)


async def _hierarchy_changed(ctx: RequestContext) -> bool:
    """Does the device's FolderSync snapshot differ from the folders now?"""
    held = await ctx.gateway.database.reader.run(
        lambda connection: connection.scalar(_HIERARCHY, {"device_pk": ctx.device.id})
    )
    if held is None:
        return True  # never ran FolderSync
    changes = hierarchy_changes(held, snapshot_of(await list_folders(ctx)))
    return bool(changes.add or changes.update or changes.delete)


async def _watched(ctx: RequestContext, folders: Sequence[PingFolder]) -> dict[str, str]:
    """CollectionId -> store ref of the calendars among ``folders``; unknown ids skipped."""
    watched: dict[str, str] = {}
    for folder in folders:
        store_ref = await ctx.gateway.database.reader.run(
            partial(find_store_ref, user_id=ctx.user.id, server_id=folder.id)
        )
        if store_ref is None:
            log.info("Ping names an unknown folder; skipped", extra={"folder_id": folder.id})
        elif store_ref.startswith(_CALENDAR):
            watched[folder.id] = store_ref
    return watched


async def _parameters(
    ctx: RequestContext, request: PingRequest
) -> tuple[int, list[list[str]]] | PingResponse:
    """The heartbeat and folders to use (request, else cache), or the answer instead."""
    cached_heartbeat, cached_folders = await ctx.gateway.database.reader.run(
        partial(_read_cache, device_pk=ctx.device.id)
    )
    if request.heartbeat_interval is not None:
        out = _out_of_bounds(ctx, request.heartbeat_interval)
        if out is not None:
            return out
    heartbeat = (
        request.heartbeat_interval if request.heartbeat_interval is not None else cached_heartbeat
    )
    folders = _folders_json(request.folders) if request.folders is not None else cached_folders
    if heartbeat is None or folders is None:
        return PingResponse(status=PingStatus.MissingParameters)
    if len(folders) > MAX_FOLDERS:
        return PingResponse(status=PingStatus.TooManyFolders, max_folders=MAX_FOLDERS)
    if (heartbeat, folders) != (cached_heartbeat, cached_folders):
        await asyncio.shield(_store_cache(ctx, heartbeat, folders))
    low, high = ctx.config.ping.min_heartbeat, ctx.config.ping.max_heartbeat
    return min(max(heartbeat, low), high), folders  # a cached value under older bounds


async def _prepare(
    ctx: RequestContext, request: PingRequest
) -> tuple[int, dict[str, str]] | PingResponse:
    """The heartbeat and the calendars to watch, or the answer instead (Status 3-7)."""
    parameters = await _parameters(ctx, request)
    if isinstance(parameters, PingResponse):
        return parameters
    heartbeat, folders = parameters
    if ctx.gateway.hierarchy_misses.take(ctx.device.id) or await _hierarchy_changed(ctx):
        return PingResponse(status=PingStatus.FolderHierarchySyncRequired)
    return heartbeat, await _watched(ctx, [PingFolder(id=f[0], class_name=f[1]) for f in folders])


async def handle(ctx: RequestContext, request: PingRequest) -> PingResponse:
    gateway = ctx.gateway
    if gateway.hub.closed:
        return PingResponse(status=PingStatus.Expired)  # shutting down: come back later
    # A burst of Pings (every phone reconnecting) takes its turn here for the
    # database work before the hold: the pool is not exhausted, and the
    # transient work does not pile up (and fragment the heap) all at once.
    async with gateway.ping_admission:
        prepared = await _prepare(ctx, request)
    if isinstance(prepared, PingResponse):
        return prepared
    heartbeat, watched = prepared
    try:
        held = await hold(
            gateway.hub,
            owner=ctx.device.id,
            folders=watched,
            seconds=heartbeat,
            pending=partial(has_pending, ctx),
            pollers=gateway.pollers,  # CalDAV: foreign writes, by polling
            user=ctx.store_user,
        )
    except NotFound:
        log.info("Ping on a calendar the store no longer has")
        return PingResponse(status=PingStatus.FolderHierarchySyncRequired)
    if held.changed:
        return PingResponse(status=PingStatus.ChangesFound, folders=held.changed)
    return PingResponse(status=PingStatus.Expired)


SPEC = CommandSpec(
    command=Command.Ping,
    parse=parse_ping_request,
    handle=handle,
    render=render_ping_response,
    status_root="{Ping:}Ping",
    status_tag="{Ping:}Status",
    needs_body=False,
)
