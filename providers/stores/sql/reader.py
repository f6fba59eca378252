"""``Reader``: short read-only work on a database at the lowest cost the driver allows.

Why: through aiosqlite, every statement is a hand-off to the driver's thread
and back (about half a millisecond with SQLAlchemy on top, measured here),
and a session costs as much again; the no-change Sync, the most frequent
request a gateway serves, reads half a dozen rows. On a SQLite *file* the
reader therefore uses one synchronous connection on the event loop's own
thread: in WAL mode a reader never waits for the writer, and a cached query
costs tens of microseconds. The connection is ``query_only`` (it cannot
write), and its busy timeout is short: should SQLite ever ask a reader to
wait (WAL recovery after a crash), the work is run on the async engine
instead, which waits without blocking the loop.

Anywhere else (PostgreSQL over asyncpg, an in-memory SQLite) the work runs on
a connection of the async engine through ``run_sync``: the same function,
the engine's usual cost.

The function gets a SQLAlchemy ``Connection`` outside any transaction the
caller holds: it sees what is committed, never a caller's pending writes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import StaticPool

__all__ = ["Reader"]

log = logging.getLogger(__name__)

T = TypeVar("T")

#: How long the loop-thread reader may be held up by SQLite before it gives up
#: and lets the async engine do the read (milliseconds).
_READER_BUSY_TIMEOUT_MS = 50


class Reader:
    """Runs ``fn(connection)`` for reads; see the module docstring."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._sync: Engine | None = None
        url = engine.url
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            self._sync = create_engine(
                url.set(drivername="sqlite"),
                poolclass=StaticPool,  # one connection; every use is on the loop thread
                connect_args={
                    "check_same_thread": False,
                    "timeout": _READER_BUSY_TIMEOUT_MS / 1000,
                },
            )
            event.listen(self._sync, "connect", _reader_pragmas)

    @property
    def on_loop_thread(self) -> bool:
        """Whether reads run synchronously on the calling thread (SQLite file)."""
        return self._sync is not None

    async def run(self, fn: Callable[[Connection], T]) -> T:
        """``fn``'s result; ``fn`` must only read."""
        if self._sync is not None:
            try:
                with self._sync.connect() as connection:
                    return fn(connection)
            except OperationalError as exc:
                log.info(
                    "loop-thread read deferred to the async engine", extra={"reason": str(exc.orig)}
                )
        async with self._engine.connect() as connection:
            return await connection.run_sync(fn)

    def close(self) -> None:
        if self._sync is not None:
            self._sync.dispose()


def _reader_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout={_READER_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA query_only=ON")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()
