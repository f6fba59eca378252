"""Sync with Wait or HeartbeatInterval (MS-ASCMD 2.2.3.195 Wait, in minutes;
2.2.3.88.2 HeartbeatInterval, in seconds): a Sync with nothing to send is held
like a Ping, then run again once a change concerns the device.

Out-of-range values were answered before (``parse.limit_answer``: Status 14
with Limit; both present: Status 4). When the first pass has something to send
(or answers anything but "unchanged" for every collection) it is answered at
once. Otherwise the request is held on its calendar collections
(easgw/push/hold.py, the same hold and the same echo rule as Ping); when one
has news for the device, the Sync runs again and its answer goes out; at the
end of the wait, or when a newer Ping or Sync Wait of the same device (or
shutdown) ends the hold, the quiet answer goes out.
"""

from __future__ import annotations

from functools import partial

from easgw.commands.sync.pending import has_pending
from easgw.folders import find_store_ref
from easgw.gateway import RequestContext
from easgw.push.hold import hold
from protocol.sync import SyncRequest, SyncResponse
from providers.stores.base import NotFound

__all__ = ["hold_seconds", "wait_for_changes"]

_CALENDAR = "calendar:"


def hold_seconds(request: SyncRequest) -> int | None:
    """How long the request asks to be held, None for not at all."""
    if request.wait is not None:
        return request.wait * 60
    return request.heartbeat_interval


async def wait_for_changes(ctx: RequestContext, quiet: SyncResponse, seconds: int) -> bool:
    """Hold a quiet answer's collections; True when the Sync should run again."""
    watched: dict[str, str] = {}
    for collection in quiet.collections:
        collection_id = getattr(collection, "collection_id", None)
        if collection_id is None:
            continue
        store_ref = await ctx.gateway.database.reader.run(
            partial(find_store_ref, user_id=ctx.user.id, server_id=collection_id)
        )
        if store_ref is not None and store_ref.startswith(_CALENDAR):
            watched[collection_id] = store_ref
    try:
        held = await hold(
            ctx.gateway.hub,
            owner=ctx.device.id,
            folders=watched,
            seconds=seconds,
            pending=partial(has_pending, ctx),
            pollers=ctx.gateway.pollers,  # CalDAV: foreign writes, by polling
            user=ctx.store_user,
        )
    except NotFound:
        return True  # the calendar is gone: the Sync answers Status 12
    return bool(held.changed)
