"""The gateway's resources for one process, and the per-request context.

``Gateway`` is opened once by the app's cleanup context (or by a CLI
command) and closed with it; no module globals.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import weakref
from dataclasses import dataclass
from typing import Any

from easgw.auth import CredentialCache, Throttle
from easgw.config import Config
from easgw.state.db import Database
from easgw.state.models import Device, User
from protocol.ashttp import EasRequestLine
from providers.stores.base import Store, StoreUser

__all__ = ["Gateway", "RequestContext", "load_store"]

log = logging.getLogger(__name__)


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


class Gateway:
    """Everything a request needs that outlives it."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.database = Database(config.database_url)
        self.store = load_store(config, self.database)
        self.credentials = CredentialCache(config.auth.cache_seconds)
        self.throttle = Throttle(config.auth)
        #: (device pk, CollectionId) -> the lock serialising that pair's Syncs here.
        self.sync_locks: weakref.WeakValueDictionary[tuple[int, str], asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    async def open(self) -> None:
        """Create/migrate the database (the first command on an empty data dir does)."""
        self.config.data_dir.mkdir(parents=True, exist_ok=True)
        await self.database.migrate()
        migrate = getattr(self.store, "migrate", None)
        if migrate is not None:
            await migrate()

    async def close(self) -> None:
        await self.store.close()
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
