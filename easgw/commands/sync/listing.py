"""The store listing of a collection with its ServerIds, reused while the store is unchanged.

Every Sync that diffs lists the whole collection (``Store.changes_since(None)``)
and maps each item to its ServerId (``ids.server_ids``): for an initial sync of
a large calendar in windows that is the same listing again for every window.
The listing is kept per store object and (user, collection) with the store's
change token it was taken at; the next request asks the store what changed
since that token (one cheap call) and, when nothing did, reuses the listing.

Safety: the ServerId of an item never changes while its ``item_ids`` row
exists (rows go only with their user; ``ids.allocation`` catches that), and a
token the store hands out stands for one state of the collection. A listing
is only kept after the transaction that took it commits
(:func:`keep_after_commit`), so ids allocated by a transaction that rolled
back, or a token of a write that rolled back, are never cached.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from easgw.commands.sync.ids import allocation, server_ids
from easgw.commands.sync.plan import Listed

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from easgw.commands.sync.apply import Target

__all__ = ["keep_after_commit", "listing"]

#: Collections remembered per store (the oldest is dropped first).
_PER_STORE = 64
_PENDING = "easgw.sync.listing"


@dataclass(frozen=True, slots=True, kw_only=True)
class _Kept:
    token: str
    listed: tuple[Listed, ...]
    #: ``ids.allocation`` when taken: the ServerIds are still the ones allocated.
    allocated: tuple[int, int]


_Key = tuple[int, str, str]
_cache: weakref.WeakKeyDictionary[object, dict[_Key, _Kept]] = weakref.WeakKeyDictionary()


def _key(target: Target) -> _Key:
    return (target.ctx.user.id, target.store_ref, target.collection_id)


def _kept(target: Target) -> _Kept | None:
    try:
        return _cache.get(target.store, {}).get(_key(target))
    except TypeError:  # a store that cannot be weakly referenced: no cache
        return None


async def _allocation(target: Target) -> tuple[int, int]:
    return await allocation(target.session, target.ctx.user.id, target.store_ref)


async def listing(target: Target) -> tuple[Sequence[Listed], str | None]:
    """Every store item with its ServerId, and the store's change token for it."""
    if target.calendar_id is None:
        return [], None
    kept = _kept(target)
    if kept is not None:
        since = await target.store.changes_since(target.user, target.calendar_id, kept.token)
        if (
            since.complete
            and not since.changed
            and not since.deleted
            and await _allocation(target) == kept.allocated
        ):
            return kept.listed, since.token
    everything = await target.store.changes_since(target.user, target.calendar_id, None)
    refs = everything.changed
    ids = await server_ids(
        target.session,
        target.ctx.user.id,
        target.store_ref,
        target.collection_id,
        [ref.id for ref in refs],
    )
    listed = tuple(Listed(server_id=ids[ref.id], item_id=ref.id, etag=ref.etag) for ref in refs)
    if everything.token is not None and listed:
        target.session.info[_PENDING] = (
            target.store,
            _key(target),
            _Kept(token=everything.token, listed=listed, allocated=await _allocation(target)),
        )
    return listed, everything.token


def keep_after_commit(session: AsyncSession) -> None:
    """Keep the listing ``session``'s transaction took; call once it has committed."""
    pending = session.info.pop(_PENDING, None)
    if pending is None:
        return
    store, key, kept = pending
    try:
        per_store = _cache.setdefault(store, {})
    except TypeError:
        return
    per_store.pop(key, None)
    per_store[key] = kept
    while len(per_store) > _PER_STORE:
        per_store.pop(next(iter(per_store)))
