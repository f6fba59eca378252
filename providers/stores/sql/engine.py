"""Engines the embedded store creates for itself (``SqlStore.from_url``).

SQLite connections get WAL journaling (readers do not block the writer), a
busy timeout of 5 s (a second writer waits instead of failing at once) and
foreign keys on. The driver's default transaction handling is kept: it begins
a transaction at the first write, so a read-then-write waits for the lock
rather than failing on a stale snapshot.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

__all__ = ["SQLITE_BUSY_TIMEOUT_MS", "create_store_engine", "is_sqlite"]

SQLITE_BUSY_TIMEOUT_MS = 5000


def create_store_engine(url: str) -> AsyncEngine:
    """An async engine for ``url`` (``sqlite+aiosqlite:///path``,
    ``postgresql+asyncpg://user@host/db``, ...)."""
    engine = create_async_engine(url, pool_pre_ping=True)
    if is_sqlite(engine):
        event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
    return engine


def is_sqlite(engine: AsyncEngine) -> bool:
    """Whether ``engine`` talks to SQLite."""
    return engine.dialect.name == "sqlite"


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    """Per-connection SQLite settings."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()
