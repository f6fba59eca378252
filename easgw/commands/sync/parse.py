"""A parsed Sync request checked against the server's limits and completed from
the cached request (MS-ASCMD 2.2.1.21.1, 2.2.3.124 Partial).

* Wait and HeartbeatInterval together: Status 4. Out of range: Status 14 with
  ``Limit`` = the bound crossed (Wait 1..59 minutes; HeartbeatInterval within
  ``ping.min_heartbeat..ping.max_heartbeat``). A valid one holds a quiet
  answer like a Ping (wait.py).
* An empty request (no body or no Collections) reuses the cached one; a
  Partial request adds the cached collections it leaves out. Nothing cached:
  Status 13. Cached collections sync at their current SyncKey with no
  commands. A non-empty request replaces the cache.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from easgw.config import Config
from easgw.state.sync_models import SyncRequestCache
from protocol.sync import CollectionRequest, SyncRequest, SyncResponse, SyncStatus

__all__ = [
    "MAX_WAIT_MINUTES",
    "Planned",
    "limit_answer",
    "plan_collections",
    "read_cached_request",
    "store_cached_request",
]

MIN_WAIT_MINUTES = 1
MAX_WAIT_MINUTES = 59


@dataclass(frozen=True, slots=True, kw_only=True)
class Planned:
    """One collection to sync; ``cached``: from the cache, at the current key."""

    request: CollectionRequest
    cached: bool = False


def limit_answer(request: SyncRequest, config: Config) -> SyncResponse | None:
    """The top-level answer for bad Wait/HeartbeatInterval values, else None."""
    wait, heartbeat = request.wait, request.heartbeat_interval
    if wait is not None and heartbeat is not None:
        return SyncResponse(status=SyncStatus.ProtocolError)
    if wait is not None and not MIN_WAIT_MINUTES <= wait <= MAX_WAIT_MINUTES:
        limit = MIN_WAIT_MINUTES if wait < MIN_WAIT_MINUTES else MAX_WAIT_MINUTES
        return SyncResponse(status=SyncStatus.InvalidWaitOrHeartbeat, limit=limit)
    low, high = config.ping.min_heartbeat, config.ping.max_heartbeat
    if heartbeat is not None and not low <= heartbeat <= high:
        limit = low if heartbeat < low else high
        return SyncResponse(status=SyncStatus.InvalidWaitOrHeartbeat, limit=limit)
    return None


def _to_cache(collection: CollectionRequest) -> dict[str, Any]:
    return {
        "collection_id": collection.collection_id,
        "window_size": collection.window_size,
        "get_changes": collection.get_changes,
    }


def _from_cache(raw: dict[str, Any]) -> Planned:
    request = CollectionRequest(
        sync_key="",
        collection_id=str(raw["collection_id"]),
        window_size=raw.get("window_size"),
        get_changes=raw.get("get_changes"),
    )
    return Planned(request=request, cached=True)


_CACHED_REQUEST = select(SyncRequestCache.request).where(
    SyncRequestCache.device_pk == bindparam("device_pk")
)  # built once


def read_cached_request(connection: Connection, device_pk: int) -> dict[str, Any] | None:
    """The device's cached Sync request (a read for ``Database.reader``)."""
    cached = connection.scalar(_CACHED_REQUEST, {"device_pk": device_pk})
    return dict(cached) if cached is not None else None


def plan_collections(
    cached: dict[str, Any] | None, request: SyncRequest
) -> tuple[list[Planned], int | None, dict[str, Any] | None] | None:
    """The collections to sync, the overall WindowSize and the request to cache
    (None: the cache already holds it); None: Status 13 (nothing cached)."""
    cached_collections = [_from_cache(raw) for raw in (cached or {}).get("collections", [])]
    if request.collections is None:
        if not cached_collections:
            return None
        return cached_collections, (cached or {}).get("window_size"), None
    planned = [Planned(request=c) for c in request.collections]
    if request.partial:
        named = {p.request.collection_id for p in planned}
        planned += [p for p in cached_collections if p.request.collection_id not in named]
        if not planned:
            return None
    window = request.window_size if request.window_size is not None else None
    stored = {
        "collections": [_to_cache(p.request) for p in planned],
        "window_size": window,
    }
    return planned, window, (None if stored == cached else stored)


async def store_cached_request(
    session: AsyncSession, device_pk: int, stored: dict[str, Any]
) -> None:
    """Replace the device's cached Sync request."""
    cache = await session.get(SyncRequestCache, device_pk)
    if cache is None:
        session.add(SyncRequestCache(device_pk=device_pk, request=stored))
    else:
        cache.request = stored
