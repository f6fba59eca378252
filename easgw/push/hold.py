"""Holding a request until its folders change: the loop Ping and Sync Wait share.

``hold`` registers a watch on the folders' store refs *first*, then checks
every folder once (changes may have arrived since the device's last Sync),
then parks until a notification, the deadline, a newer request of the same
device or shutdown. A notification is only a hint: each folder it names is
checked again with ``pending`` (does the next Sync have anything for *this*
device? -- the echo rule lives there), and the hold goes on when nothing
concerns the device.

With ``pollers`` and ``user`` (a store without a change feed for foreign
writes: CalDAV), the watched calendars are polled while held, with the
user's credentials (easgw/push/caldav_poller.py); the first poll runs before
the first check.

Cancellation (the client went away, or the server stops the task): the watch
is unregistered in ``finally``; ``pending`` only reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from easgw.push.hub import ChangeHub, Ended

if TYPE_CHECKING:
    from easgw.push.caldav_poller import Pollers
    from providers.stores.base import StoreUser

__all__ = ["Held", "Pending", "hold"]

log = logging.getLogger(__name__)

#: ``pending(collection_id, store_ref)``: would the device's next Sync of the
#: collection send anything?
Pending = Callable[[str, str], Awaitable[bool]]


@dataclass(frozen=True, slots=True, kw_only=True)
class Held:
    """How a hold ended: the changed collections (in the request's order), or why not."""

    changed: tuple[str, ...] = ()
    ended: Ended | None = None


async def _check(
    folders: Mapping[str, str], refs: set[str] | None, pending: Pending
) -> tuple[str, ...]:
    """The collections (among those on ``refs``; None: all) with something pending."""
    changed: list[str] = []
    for collection_id, store_ref in folders.items():
        if (refs is None or store_ref in refs) and await pending(collection_id, store_ref):
            changed.append(collection_id)
    return tuple(changed)


async def hold(
    hub: ChangeHub,
    *,
    owner: Hashable,
    folders: Mapping[str, str],
    seconds: float,
    pending: Pending,
    pollers: Pollers | None = None,
    user: StoreUser | None = None,
) -> Held:
    """Hold until something is pending on ``folders`` (CollectionId -> store
    ref) or ``seconds`` pass; see the module docstring."""
    deadline = asyncio.get_running_loop().time() + seconds
    polling: contextlib.AbstractAsyncContextManager[None] = contextlib.nullcontext()
    if pollers is not None and user is not None:
        polling = pollers.watching(folders.values(), user)
    with hub.watch(folders.values(), owner=owner) as watch:
        async with polling:
            refs: set[str] | None = None  # the first check covers every folder
            while True:
                if watch.ended is not None:
                    return Held(ended=watch.ended)
                changed = await _check(folders, refs, pending)
                if changed:
                    return Held(changed=changed)
                outcome = await watch.wait(deadline)
                if isinstance(outcome, Ended):
                    return Held(ended=outcome)
                refs = outcome
