"""Database engines and migrations for the gateway's state.

SQLite (the embedded default) runs in WAL mode with a busy timeout, so the
CLI is safe while `serve` runs; PostgreSQL is the same code path at scale.
Schema changes go through alembic (easgw/migrations), never ``create_all``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from providers.stores.sql.reader import Reader

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"
BUSY_TIMEOUT_MS = 5000


def create_engine(url: str) -> AsyncEngine:
    """An async engine; SQLite gets WAL, a busy timeout and foreign keys."""
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    return create_async_engine(url, pool_pre_ping=True)


def _upgrade(connection: Connection) -> None:
    # alembic is imported on use: it costs a third of a second at start-up.
    from alembic import command
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def migrate(engine: AsyncEngine) -> None:
    """Bring the gateway's tables to the newest schema (idempotent)."""
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade)


class Database:
    """The gateway's engine, session factory and reader.

    ``reader`` runs the hot path's reads (who is this user, this device, this
    collection's key) at the lowest cost the driver allows (on SQLite: on the
    loop thread; providers/stores/sql/reader.py); writes go through ``sessions``.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_engine(url)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self.reader = Reader(self.engine)
        self._migrated = asyncio.Lock()

    async def migrate(self) -> None:
        async with self._migrated:
            await migrate(self.engine)

    async def close(self) -> None:
        self.reader.close()
        await self.engine.dispose()
