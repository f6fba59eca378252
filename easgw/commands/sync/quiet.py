"""The no-change poll, answered from reads alone.

Most Syncs a gateway serves are a device asking "anything new?" at its
current key, with nothing to send. The full path (``_sync_locked``) takes the
write lock, loads the state row and asks the store; for this case it then
writes nothing and answers the same key with no Commands. This module
recognises that case before any transaction: from the committed state head
(``Database.reader``: on SQLite, a loop-thread read of a few columns) and the
store's change feed since the state's token. Anything else, or any doubt,
falls through to the full path, so the answer is always the one the full path
would give:

* no commands from the device, the request's key is the state's current key
  (a cached collection is at its current key by definition);
* the request's options would not change what the state remembers
  (FilterType, the chosen BodyPreference);
* GetChanges is 0, or the collection is a mail folder (always empty), or: no
  FilterType window (a window moves with the clock,
  so the full path must re-check it) and the store reports no change since
  the token the state kept when the device was last fully in step.

A concurrent write between the two reads makes them disagree (the state's
token then lags the store's), which sends the request down the full path.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection

from easgw.commands.sync.items import body_preference_to_json, choose_body_preference
from easgw.commands.sync.parse import Planned
from easgw.commands.sync.window import cutoff
from easgw.gateway import RequestContext
from easgw.state.sync_models import CollectionState
from protocol.sync import CollectionRequest

__all__ = ["StateHead", "quiet_key", "read_state_head"]


@dataclass(frozen=True, slots=True)
class StateHead:
    """The columns of a collection state the no-change decision needs."""

    sync_key: int
    filter_type: int | None
    body_preference: dict[str, Any] | None
    store_token: str | None


_HEAD = select(
    CollectionState.sync_key,
    CollectionState.filter_type,
    CollectionState.body_preference,
    CollectionState.store_token,
).where(
    CollectionState.device_pk == bindparam("device_pk"),
    CollectionState.collection_id == bindparam("collection_id"),
)  # built once


def read_state_head(connection: Connection, device_pk: int, collection_id: str) -> StateHead | None:
    """The state's head, None when the device never synced the collection."""
    row = connection.execute(
        _HEAD, {"device_pk": device_pk, "collection_id": collection_id}
    ).first()
    return None if row is None else StateHead(*row)


def _options_unchanged(head: StateHead, request: CollectionRequest) -> bool:
    options = request.options
    if options is None:
        return True
    if options.filter_type is not None and options.filter_type != head.filter_type:
        return False
    if options.body_preferences:
        chosen = body_preference_to_json(choose_body_preference(options.body_preferences))
        if chosen != head.body_preference:
            return False
    return True


async def quiet_key(ctx: RequestContext, planned: Planned, store_ref: str) -> int | None:
    """The current SyncKey when this request is a no-change poll, else None."""
    request = planned.request
    if request.commands:
        return None
    head = await ctx.gateway.database.reader.run(
        lambda connection: read_state_head(connection, ctx.device.id, request.collection_id)
    )
    if head is None or head.sync_key == 0:
        return None
    if not planned.cached and request.sync_key != str(head.sync_key):
        return None
    if not _options_unchanged(head, request):
        return None
    if request.get_changes is False or store_ref.startswith("mail:"):
        return head.sync_key  # (the mail folders are always empty)
    if cutoff(head.filter_type, datetime.now(UTC)) is not None or head.store_token is None:
        return None
    if not store_ref.startswith("calendar:"):
        return None
    calendar_id = store_ref.removeprefix("calendar:")
    changes = await ctx.gateway.store.changes_since(ctx.store_user, calendar_id, head.store_token)
    if changes.complete and not changes.changed and not changes.deleted:
        return head.sync_key
    return None
