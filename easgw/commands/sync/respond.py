"""The server's changes for one collection: list, render, diff, window.

Only what the diff needs is rendered: held items whose etag moved (to compare
hashes) and the Adds that fit the window. A stored item that cannot be
rendered is skipped and logged (it must not stall the folder): an Add is held
as skipped and offered again when it changes; a Change leaves the device's
older copy in place.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from easgw.commands.sync.apply import Target
from easgw.commands.sync.ids import cached_spans, save_spans
from easgw.commands.sync.items import ConversionError, Rendering, render_stored
from easgw.commands.sync.listing import listing as store_listing
from easgw.commands.sync.plan import (
    Held,
    Listed,
    find_candidates,
    next_snapshot,
    take_window,
)
from easgw.commands.sync.window import span_end
from protocol.sync import ServerCommand

__all__ = ["ServerChanges", "count_changes", "server_changes", "unchanged_since"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerChanges:
    commands: tuple[ServerCommand, ...]
    more_available: bool
    snapshot: dict[str, Held]
    #: The store's change token when the device is now fully in step (nothing
    #: left for a next window, every held item at a known etag), else None.
    settled_token: str | None = None


async def unchanged_since(target: Target, token: str | None) -> bool:
    """Has the store reported no change since ``token``? (The cheap no-change path.)"""
    if token is None or target.calendar_id is None:
        return False
    changes = await target.store.changes_since(target.user, target.calendar_id, token)
    return changes.complete and not changes.changed and not changes.deleted


async def _in_window(target: Target, listing: Sequence[Listed], earliest: int) -> Sequence[Listed]:
    """The listed items ending at or after ``earliest`` (window.py); spans are
    cached per etag, so only new or changed items are read."""
    assert target.calendar_id is not None
    user_id = target.ctx.user.id
    cached = await cached_spans(target.session, user_id, target.store_ref)
    stale = [entry for entry in listing if cached.get(entry.item_id, (None, None))[0] != entry.etag]
    fresh: dict[str, tuple[str, int | None]] = {}
    if stale:
        items = await target.store.get_items(
            target.user, target.calendar_id, [entry.item_id for entry in stale]
        )
        fresh = {item.ref.id: (item.ref.etag, span_end(item.ical)) for item in items}
        await save_spans(target.session, user_id, target.store_ref, fresh)
    spans = {item_id: span for item_id, (_etag, span) in cached.items()}
    spans.update({item_id: span for item_id, (_etag, span) in fresh.items()})
    return [
        entry for entry in listing if (end := spans.get(entry.item_id)) is None or end >= earliest
    ]


async def _render(target: Target, entries: Sequence[Listed]) -> dict[str, Rendering]:
    """ServerId -> rendering of each entry; unrenderable or vanished ones are left out."""
    if not entries or target.calendar_id is None:
        return {}
    items = await target.store.get_items(
        target.user, target.calendar_id, [entry.item_id for entry in entries]
    )
    by_item = {item.ref.id: item for item in items}
    rendered: dict[str, Rendering] = {}
    for entry in entries:
        item = by_item.get(entry.item_id)
        if item is None:
            continue
        try:
            rendered[entry.server_id] = render_stored(
                item.ical,
                version=target.version,
                body_preference=target.body_preference,
                owner=target.user.email,
            )
        except ConversionError as exc:
            log.warning(
                "stored item skipped: it cannot be rendered",
                extra={"server_id": entry.server_id, "reason": str(exc)[:200]},
            )
    return rendered


def _hashes(rendered: Mapping[str, Rendering]) -> dict[str, str]:
    return {server_id: rendering.hash for server_id, rendering in rendered.items()}


async def server_changes(
    target: Target,
    snapshot: Mapping[str, Held],
    *,
    exclude: set[str],
    window_size: int,
    earliest: int | None = None,
) -> ServerChanges:
    """What goes out in this response's Commands, and the snapshot after it.
    ``earliest``: the FilterType window's start (UNIX seconds), None for all."""
    everything, token = await store_listing(target)
    listing = everything
    if earliest is not None and target.calendar_id is not None:
        listing = await _in_window(target, everything, earliest)
    candidates = find_candidates(snapshot, listing, exclude=exclude)
    rendered = await _render(target, candidates.suspects)
    window = take_window(candidates, snapshot, _hashes(rendered), window_size)
    rendered.update(await _render(target, window.adds))
    still_stored = {entry.server_id for entry in everything}
    commands: list[ServerCommand] = [
        # Out of the FilterType window but still stored: SoftDelete (MS-ASCMD 2.2.3.162).
        ServerCommand(kind="SoftDelete" if sid in still_stored else "Delete", server_id=sid)
        for sid in window.deletes
    ]
    for kind, entries in (("Change", window.changes), ("Add", window.adds)):
        for entry in entries:
            rendering = rendered.get(entry.server_id)
            if rendering is not None:
                commands.append(
                    ServerCommand(
                        kind=kind, server_id=entry.server_id, application_data=rendering.data
                    )
                )
    after = next_snapshot(snapshot, window, _hashes(rendered))
    # Items this request wrote (or had refused) are left out of this diff: the
    # next Sync must look at them again, so the device is not yet in step.
    settled = (
        not window.more_available
        and not exclude
        and all(held.etag is not None for held in after.values() if held.on_device)
    )
    return ServerChanges(
        commands=tuple(commands),
        more_available=window.more_available,
        snapshot=after,
        settled_token=token if settled and earliest is None else None,
    )


async def count_changes(
    target: Target, snapshot: Mapping[str, Held], *, earliest: int | None = None
) -> int:
    """How many Deletes/SoftDeletes, Changes and Adds the next Syncs at this
    snapshot would send in all, over every window (GetItemEstimate). The same
    diff as :func:`server_changes`, but only the held items whose etag moved
    are rendered (to tell a real Change from an echo); Adds are counted, not
    rendered, so an Add that turns out unrenderable is still counted. Listing
    may allocate ServerIds and cache spans in ``target.session``: the caller
    rolls that transaction back."""
    everything, _token = await store_listing(target)
    listing = everything
    if earliest is not None and target.calendar_id is not None:
        listing = await _in_window(target, everything, earliest)
    candidates = find_candidates(snapshot, listing)
    rendered = await _render(target, candidates.suspects)
    everything_fits = len(snapshot) + len(listing)
    return take_window(candidates, snapshot, _hashes(rendered), everything_fits).count
