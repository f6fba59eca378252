"""Database fixtures: run a test on SQLite and on PostgreSQL.

- ``database_url``: an empty database of its own for each test.
- ``module_database_url``: an empty database shared by the tests of one
  module (per database kind); its tests keep apart by using their own rows
  (e.g. fresh user logins). Creating a PostgreSQL database costs 0.1-1.5 s,
  so suites with many small tests use this one.

SQLite: a fresh file in a temporary directory. PostgreSQL: the server on
127.0.0.1:5432 (trust authentication, user ``postgres``); each database is
``easgw_test_<random hex>``, dropped WITH (FORCE) afterwards. When that server
is unreachable the PostgreSQL variants are skipped, naming the address.
Registered in tests/conftest.py with ``pytest_plugins``.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, TypeVar

import asyncpg
import pytest
import pytest_asyncio

if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "POSTGRES_HOST",
    "POSTGRES_PORT",
    "POSTGRES_USER",
    "database_url",
    "module_database_url",
    "postgresql_url",
    "run_in_own_loop",
]

POSTGRES_HOST = "127.0.0.1"
POSTGRES_PORT = 5432
POSTGRES_USER = "postgres"
DATABASE_KINDS = ["sqlite", "postgresql"]
_CONNECT_TIMEOUT = 3.0
_T = TypeVar("_T")
#: Why PostgreSQL was found unreachable, so later tests skip without waiting again.
_unreachable: list[str] = []


def run_in_own_loop(coroutine_function: Callable[[], Awaitable[_T]]) -> _T:
    """Run ``coroutine_function()`` to completion on a fresh event loop in a
    worker thread: for fixtures wider than one test, whose loop is gone by then."""

    async def main() -> _T:
        return await coroutine_function()

    with ThreadPoolExecutor(max_workers=1) as executor:
        return executor.submit(asyncio.run, main()).result()


async def _admin_connection() -> asyncpg.Connection:
    """A connection to the server's ``postgres`` database, or a skip naming the address."""
    address = f"{POSTGRES_HOST}:{POSTGRES_PORT}"
    if _unreachable:
        pytest.skip(_unreachable[0])
    try:
        return await asyncpg.connect(
            host=POSTGRES_HOST,
            port=POSTGRES_PORT,
            user=POSTGRES_USER,
            database="postgres",
            timeout=_CONNECT_TIMEOUT,
        )
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        _unreachable.append(
            f"PostgreSQL not reachable at {address} as {POSTGRES_USER!r}: "
            f"{type(exc).__name__}: {exc}"
        )
        pytest.skip(_unreachable[0])


async def _create_postgresql_database() -> str:
    """Create a fresh database; its name."""
    name = f"easgw_test_{secrets.token_hex(6)}"
    admin = await _admin_connection()
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return name


async def _drop_postgresql_database(name: str) -> None:
    """Drop the database, closing any connection still open to it."""
    admin = await _admin_connection()
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def _postgresql_url(name: str) -> str:
    return f"postgresql+asyncpg://{POSTGRES_USER}@{POSTGRES_HOST}:{POSTGRES_PORT}/{name}"


def _sqlite_url(directory: Path) -> str:
    return f"sqlite+aiosqlite:///{directory / 'easgw.sqlite3'}"


@asynccontextmanager
async def _postgresql_database() -> AsyncIterator[str]:
    """A fresh PostgreSQL database's URL, the database dropped afterwards."""
    name = await _create_postgresql_database()
    try:
        yield _postgresql_url(name)
    finally:
        await _drop_postgresql_database(name)


@pytest_asyncio.fixture(params=DATABASE_KINDS, ids=DATABASE_KINDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database's SQLAlchemy async URL, for this test alone."""
    if request.param == "sqlite":
        yield _sqlite_url(tmp_path)
        return
    async with _postgresql_database() as url:
        yield url


@pytest_asyncio.fixture
async def postgresql_url() -> AsyncIterator[str]:
    """An empty PostgreSQL database's URL for this test alone (a test that only
    means something on PostgreSQL, e.g. LISTEN/NOTIFY); skipped when unreachable."""
    async with _postgresql_database() as url:
        yield url


@pytest.fixture(scope="module", params=DATABASE_KINDS, ids=DATABASE_KINDS)
def module_database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """An empty database's SQLAlchemy async URL, shared by this module's tests."""
    if request.param == "sqlite":
        yield _sqlite_url(tmp_path_factory.mktemp("database"))
        return
    name = run_in_own_loop(_create_postgresql_database)
    try:
        yield _postgresql_url(name)
    finally:
        run_in_own_loop(lambda: _drop_postgresql_database(name))
