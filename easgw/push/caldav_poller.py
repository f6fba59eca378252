"""Push over a store without a change feed for foreign writes (CalDAV): pollers.

A CalDAV server tells nobody when another client (a desktop calendar, a web
UI) changes a calendar, so while some held Ping or Sync Wait watches a
calendar, one :class:`_Poller` task asks the store for the calendar's change
tag every ``store.poll_seconds`` (``SupportsPolling.poll_version``: for
CalDAV one PROPFIND Depth 0 of ``DAV:sync-token``/``CS:getctag``) and calls
``hub.notify(ref)`` when it moved. The hold then checks what concerns each
device (sync/pending.py), so a notify is only a hint.

Why here and not in the store: who is watching, and with whose credentials,
is the gateway's knowledge (the hub and the held requests); the store only
offers the cheap check and keeps what it saw (so a no-change Sync is answered
from it: providers/stores/caldav/fresh.py).

* One poller per (login, calendar id), shared by every device of that user
  watching the calendar (a CalDAV calendar id is relative to its owner's
  calendar home, so the login is part of the key).
* Credentials: easgw keeps no password (CONTRACTS.md section 4), so a poller
  polls with the ``StoreUser`` of a request watching it -- the password the
  device sent with its held Ping (``RequestContext.store_user``), the newest
  watcher's. It lives in memory only while someone watches; the last watcher
  leaving stops the poller and drops it.
* The first poll runs before the hold's first check (``watching`` awaits it):
  a change after that check is then a change after the baseline and is seen.
  A failed poll (server down) leaves no baseline, and the next successful
  poll notifies, since something may have moved in between.
* Writes made through easgw notify at once through the store's change feed
  (``SupportsChangeFeed``), delivered when the writing request's task ends, so
  after its sync state committed (Gateway._store_changed: the writer's own
  held Ping must not see its write as news); the poller sees their tag move
  later and notifies again: a harmless extra check.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterable
from typing import Protocol, runtime_checkable

from easgw.push.hub import ChangeHub
from providers.stores.base import NotFound, StoreError, StoreUser

__all__ = ["Pollers", "SupportsPolling"]

log = logging.getLogger(__name__)

_CALENDAR = "calendar:"


@runtime_checkable
class SupportsPolling(Protocol):
    """A store whose calendars can be polled cheaply for a change."""

    async def poll_version(self, user: StoreUser, calendar_id: str) -> str:
        """An opaque tag that changes whenever the calendar changes."""
        ...


class _Poller:
    """One watched calendar of one user: its task, its watchers, what it saw."""

    __slots__ = ("calendar_id", "last", "ref", "task", "user", "watchers")

    def __init__(self, ref: str, user: StoreUser) -> None:
        self.ref = ref
        self.calendar_id = ref.removeprefix(_CALENDAR)
        self.user = user
        self.watchers = 0
        self.last: str | None = None
        self.task: asyncio.Task[None] | None = None


class Pollers:
    """The pollers of one gateway; see the module docstring."""

    def __init__(self, hub: ChangeHub, store: SupportsPolling, seconds: float) -> None:
        self._hub = hub
        self._store = store
        self.seconds = seconds
        self._pollers: dict[tuple[str, str], _Poller] = {}

    def __len__(self) -> int:
        """How many calendars are being polled."""
        return len(self._pollers)

    def running(self) -> int:
        """How many pollers have made their first poll and poll on."""
        return sum(1 for poller in self._pollers.values() if poller.task is not None)

    @contextlib.asynccontextmanager
    async def watching(self, refs: Iterable[str], user: StoreUser) -> AsyncIterator[None]:
        """Poll the calendars among ``refs`` with ``user``'s credentials while inside."""
        mine = [
            self._join(ref, user)
            for ref in dict.fromkeys(refs)
            if ref.startswith(_CALENDAR) and user.password is not None
        ]
        try:
            fresh = [poller for poller in mine if poller.task is None]
            await asyncio.gather(*(self._poll(poller, notify=False) for poller in fresh))
            for poller in fresh:
                if poller.watchers and poller.task is None:
                    poller.task = asyncio.create_task(self._run(poller), name=f"poll {poller.ref}")
            yield
        finally:
            for poller in mine:
                self._leave(poller)

    def _join(self, ref: str, user: StoreUser) -> _Poller:
        key = (user.login, ref)
        poller = self._pollers.get(key)
        if poller is None:
            self._pollers[key] = poller = _Poller(ref, user)
        poller.user = user  # the newest watcher's password
        poller.watchers += 1
        return poller

    def _leave(self, poller: _Poller) -> None:
        poller.watchers -= 1
        if poller.watchers > 0:
            return
        key = (poller.user.login, poller.ref)
        if self._pollers.get(key) is poller:
            del self._pollers[key]
        if poller.task is not None:
            poller.task.cancel()
            poller.task = None

    async def _run(self, poller: _Poller) -> None:
        while True:
            await asyncio.sleep(self.seconds)
            await self._poll(poller, notify=True)

    async def _poll(self, poller: _Poller, *, notify: bool) -> None:
        """One check; notify the hub when the tag moved (or may have)."""
        try:
            version: str | None = await self._store.poll_version(poller.user, poller.calendar_id)
        except NotFound:
            version = None  # the calendar is gone: the holds' check answers it
            notify = True
        except StoreError as exc:
            log.info("poll failed", extra={"ref": poller.ref, "error": type(exc).__name__})
            poller.last = None  # no baseline: the next good poll notifies
            return
        if notify and (not version or version != poller.last):  # no tag: every time
            self._hub.notify(poller.ref)
        poller.last = version

    async def close(self) -> None:
        """Stop every poller (the gateway is shutting down)."""
        tasks = [p.task for p in self._pollers.values() if p.task is not None]
        self._pollers.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
