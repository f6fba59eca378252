"""``ChangeHub``: store change notifications to the requests held on them.

A held Ping (or a Sync with Wait) registers a :class:`Watch` on the store
references of its folders (``"calendar:<store id>"``) and parks on it: one
future and one timer handle per waiter, no task. ``notify(ref)`` -- fed by the
store's change feed once a write has committed -- marks the ref on every watch
of that ref and wakes it: O(watchers of that ref).

One live watch per owner (a device): registering a new watch ends the older
one (``Ended.SUPERSEDED``): a device's newest Ping ends its older one
(MS-ASCMD 2.2.1.13 field practice; EAS-NOTES "Ping"). ``close()`` ends every
watch (``Ended.CLOSED``) and refuses new ones: the gateway is shutting down.

The hub also keeps, per ref, a *generation* (bumped by every notify) and a small
memo of answers computed from the store at a generation, so the many waiters
woken by one change can share one store read (``memo_get``/``memo_put``).

Single process, single event loop: everything here runs on the loop thread.
Across processes, easgw/push/pg_bridge.py (PostgreSQL LISTEN/NOTIFY) feeds ``notify`` the same way.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Hashable, Iterable
from typing import Any

__all__ = ["ChangeHub", "Ended", "Watch"]

#: Memo entries kept per ref before the oldest are dropped.
_MEMO_PER_REF = 64


class Ended(enum.Enum):
    """Why a watch stopped waiting without a change."""

    EXPIRED = "expired"  # the heartbeat (or Wait) ran out
    SUPERSEDED = "superseded"  # the same owner registered a newer watch
    CLOSED = "closed"  # the hub is closing (shutdown)


class Watch:
    """One waiter on a set of refs. Use as a context manager, or ``close()``."""

    __slots__ = ("_future", "_hub", "changed", "ended", "owner", "refs")

    def __init__(self, hub: ChangeHub, refs: frozenset[str], owner: Hashable | None) -> None:
        self._hub = hub
        self._future: asyncio.Future[None] | None = None
        self.refs = refs
        self.owner = owner
        #: Refs notified since the last ``wait`` returned them (None: none; no
        #: set is allocated for the many watches that never see a change).
        self.changed: set[str] | None = None
        self.ended: Ended | None = None

    def _wake(self) -> None:
        future = self._future
        if future is not None and not future.done():
            future.set_result(None)

    def _end(self, why: Ended) -> None:
        if self.ended is None:
            self.ended = why
        self._wake()

    async def wait(self, deadline: float) -> set[str] | Ended:
        """The refs changed since the last call (at once if some already are),
        else wait until one changes or the loop time ``deadline`` passes.
        Returns an :class:`Ended` when the watch is over."""
        if self.ended is None and not self.changed:
            loop = asyncio.get_running_loop()
            remaining = deadline - loop.time()
            if remaining > 0:
                self._future = future = loop.create_future()
                timer = loop.call_at(deadline, self._wake)
                try:
                    await future
                finally:
                    timer.cancel()
                    self._future = None
        if self.ended is not None:
            return self.ended
        if self.changed:
            changed, self.changed = self.changed, None
            return changed
        return Ended.EXPIRED

    def close(self) -> None:
        """Unregister (idempotent)."""
        self._hub._remove(self)

    def __enter__(self) -> Watch:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


class ChangeHub:
    """Watches by ref and by owner; see the module docstring."""

    def __init__(self) -> None:
        self._by_ref: dict[str, set[Watch]] = {}
        self._by_owner: dict[Hashable, Watch] = {}
        self._generations: dict[str, int] = {}
        self._memo: dict[str, dict[Hashable, tuple[int, Any]]] = {}
        self.closed = False

    # -- waiting ----------------------------------------------------------------

    def watch(self, refs: Iterable[str], *, owner: Hashable | None = None) -> Watch:
        """Register a watch on ``refs``; an older watch of ``owner`` ends
        (``SUPERSEDED``). On a closed hub the watch is born ended (``CLOSED``)."""
        watch = Watch(self, frozenset(refs), owner)
        if self.closed:
            watch.ended = Ended.CLOSED
            return watch
        if owner is not None:
            older = self._by_owner.get(owner)
            if older is not None:
                older._end(Ended.SUPERSEDED)
                self._remove(older)
            self._by_owner[owner] = watch
        for ref in watch.refs:
            self._by_ref.setdefault(ref, set()).add(watch)
        return watch

    def _remove(self, watch: Watch) -> None:
        if watch.owner is not None and self._by_owner.get(watch.owner) is watch:
            del self._by_owner[watch.owner]
        for ref in watch.refs:
            watchers = self._by_ref.get(ref)
            if watchers is not None:
                watchers.discard(watch)
                if not watchers:
                    del self._by_ref[ref]

    # -- notifying --------------------------------------------------------------

    def notify(self, ref: str) -> None:
        """``ref`` changed (committed): wake every watch on it."""
        self._generations[ref] = self._generations.get(ref, 0) + 1
        self._memo.pop(ref, None)
        for watch in self._by_ref.get(ref, ()):
            if watch.changed is None:
                watch.changed = {ref}
            else:
                watch.changed.add(ref)
            watch._wake()

    def close(self) -> None:
        """End every watch (``CLOSED``) and refuse new ones."""
        self.closed = True
        for watch in list(self._by_owner.values()):
            watch._end(Ended.CLOSED)
        for watchers in list(self._by_ref.values()):
            for watch in list(watchers):
                watch._end(Ended.CLOSED)
        self._by_owner.clear()
        self._by_ref.clear()

    # -- introspection and the shared-read memo ---------------------------------

    def watching(self, ref: str) -> int:
        """How many watches are registered on ``ref``."""
        return len(self._by_ref.get(ref, ()))

    def __len__(self) -> int:
        """How many watches are registered (owned or not)."""
        registered = set(self._by_owner.values())
        for watchers in self._by_ref.values():
            registered |= watchers
        return len(registered)

    def generation(self, ref: str) -> int:
        """How many notifications ``ref`` has had."""
        return self._generations.get(ref, 0)

    def memo_get(self, ref: str, key: Hashable, generation: int) -> Any | None:
        """A value stored for ``(ref, key)`` at ``generation``, if no notify came since."""
        entry = self._memo.get(ref, {}).get(key)
        if entry is None or entry[0] != generation or generation != self.generation(ref):
            return None
        return entry[1]

    def memo_put(self, ref: str, key: Hashable, generation: int, value: Any) -> None:
        """Keep ``value`` for ``(ref, key)`` if ``ref`` is still at ``generation``
        (a value computed across a notify could be stale: it is dropped)."""
        if generation != self.generation(ref):
            return
        entries = self._memo.setdefault(ref, {})
        if len(entries) >= _MEMO_PER_REF:
            entries.pop(next(iter(entries)))
        entries[key] = (generation, value)
