"""The gateway's resources for one process, and the per-request context.

``Gateway`` is opened once by the app's cleanup context (or by a CLI
command) and closed with it; no module globals.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from easgw.auth import CredentialCache, Throttle
from easgw.conference import Conferencing
from easgw.config import Config
from easgw.devices import LastSeenBook, flush_last_seen
from easgw.folders import calendar_ref
from easgw.metrics import Metrics
from easgw.policy import policy_fingerprint
from easgw.push import ChangeHub, HierarchyMisses
from easgw.push.caldav_poller import Pollers, SupportsPolling
from easgw.push.pg_bridge import PgBridge
from easgw.state.db import Database
from easgw.state.models import Device, User
from protocol.ashttp import EasRequestLine
from providers.stores.base import Store, StoreUser, SupportsChangeFeed, SupportsSharedSession

__all__ = ["Gateway", "RequestContext", "load_store"]

log = logging.getLogger(__name__)

#: Pings preparing their hold at once (easgw/commands/ping.py).
PING_ADMISSION = 4


def load_store(config: Config, database: Database) -> Store:
    """The configured store: ``sql``, ``caldav`` or ``package.module:Class``
    (Radicale's plugin convention). The embedded store shares the gateway's
    engine when it uses the same database, so their writes can share a
    transaction."""
    kind = config.store.type
    if kind == "sql":
        from providers.stores.sql import SqlStore

        url = config.store_url
        if url == database.url:
            return SqlStore(database.engine)
        return SqlStore.from_url(url or database.url)
    if kind == "caldav":
        module = importlib.import_module("providers.stores.caldav")
        store: Store = module.CalDavStore.from_config(config.store)
        return store
    module_name, sep, class_name = kind.partition(":")
    if not sep:
        raise ValueError(f"store.type: expected sql, caldav or package.module:Class, got {kind!r}")
    factory: Any = getattr(importlib.import_module(module_name), class_name)
    loaded: Store = factory(config.store)
    return loaded


def _nothing() -> None:
    return None


class Gateway:
    """Everything a request needs that outlives it."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.database = Database(config.database_url)
        self.store = load_store(config, self.database)
        self.credentials = CredentialCache(config.auth.cache_seconds)
        #: Last-seen times written in batches (easgw/devices.py LastSeenBook).
        self.last_seen = LastSeenBook()
        self.throttle = Throttle(config.auth)
        #: The configured policy's fingerprint (143 PolicyRefresh once a device's differs).
        self.policy_fingerprint = policy_fingerprint(config.policy.document)
        #: Conference providers and the link policy (easgw/conference.py).
        self.conference = Conferencing.from_config(config)
        #: (device pk, CollectionId) -> the lock serialising that pair's Syncs here.
        self.sync_locks: weakref.WeakValueDictionary[tuple[int, str], asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )
        #: Held Pings and Sync Waits, woken by the store's change feed (if it has one).
        self.hub = ChangeHub()
        #: Status 12 answers per device, to break Ping/Sync loops (easgw/push/misses.py).
        self.hierarchy_misses = HierarchyMisses()
        #: Pings doing their database work before the hold, at most this many at once.
        self.ping_admission = asyncio.Semaphore(PING_ADMISSION)
        #: Carries this process's store changes to the other gateway processes on the
        #: same PostgreSQL database, and theirs to this hub (set by the app; easgw/app.py).
        self.bridge: PgBridge | None = None
        #: Store changes waiting for the end of the task that made them (_store_changed).
        self._deferred: dict[asyncio.Task[Any], set[str]] = {}
        if isinstance(self.store, SupportsChangeFeed):
            self.store.add_change_listener(self._store_changed)
        #: Wakes the outbox's retry task (set by the app; easgw/app.py): mail queued
        #: in a request's transaction is relayed once that transaction commits.
        self.wake_outbox: Callable[[], None] = _nothing
        #: Pollers of the calendars held requests watch, for stores that tell
        #: nothing of foreign writes (CalDAV; easgw/push/caldav_poller.py).
        self.pollers: Pollers | None = None
        if isinstance(self.store, SupportsPolling):
            self.pollers = Pollers(self.hub, self.store, config.store.poll_seconds)
        #: ``GET /metrics`` (easgw/metrics.py).
        self.metrics = Metrics(self)

    @property
    def store_shares_database(self) -> bool:
        """Is the store the embedded one on the gateway's own database (one transaction)?"""
        return isinstance(self.store, SupportsSharedSession) and (
            getattr(self.store, "engine", None) is self.database.engine
        )

    def _store_changed(self, calendar_id: str) -> None:
        ref = calendar_ref(calendar_id)
        task = asyncio.current_task()
        if isinstance(self.store, SupportsSharedSession) or task is None:
            self._notify(ref)  # the embedded store calls after the shared commit
            return
        # A store outside the gateway's transaction (CalDAV) calls right after its
        # own write, before the writing request commits its sync state: the
        # writer's own held Ping would see its write as news. The notify waits
        # for the writing task to end (its state committed or rolled back; the
        # store holds the change either way).
        pending = self._deferred.get(task)
        if pending is None:
            self._deferred[task] = pending = set()
            task.add_done_callback(self._notify_deferred)
        pending.add(ref)

    def _notify_deferred(self, task: asyncio.Task[Any]) -> None:
        for ref in self._deferred.pop(task, ()):
            self._notify(ref)

    def _notify(self, ref: str) -> None:
        """A committed change: this process's held requests, then the other processes'."""
        self.hub.notify(ref)
        if self.bridge is not None:
            self.bridge.publish(ref)

    async def open(self) -> None:
        """Create/migrate the database (the first command on an empty data dir does)."""
        self.config.data_dir.mkdir(parents=True, exist_ok=True)
        await self.database.migrate()
        migrate = getattr(self.store, "migrate", None)
        if migrate is not None:
            await migrate()

    async def close(self) -> None:
        try:
            await flush_last_seen(self.database.sessions, self.last_seen)
        except SQLAlchemyError:
            log.warning("last-seen times not written at shutdown")
        self.hub.close()
        if self.pollers is not None:
            await self.pollers.close()
        if isinstance(self.store, SupportsChangeFeed):
            self.store.remove_change_listener(self._store_changed)
        await self.store.close()
        await self.conference.close()
        await self.database.close()


@dataclass(slots=True, kw_only=True)
class RequestContext:
    """One EAS request, authenticated and with its device registered."""

    gateway: Gateway
    user: User
    device: Device
    line: EasRequestLine
    version: str
    user_agent: str
    password: str | None = None
    #: The device's language (Accept-Language's first tag), e.g. for the
    #: conference text in the organizer's language.
    language: str | None = None

    @property
    def config(self) -> Config:
        return self.gateway.config

    @property
    def store_user(self) -> StoreUser:
        return StoreUser(
            login=self.user.login,
            email=self.user.email,
            display_name=self.user.display_name,
            password=self.password,
        )
