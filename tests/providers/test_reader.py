"""``Reader``: loop-thread reads on a SQLite file, the async engine elsewhere."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import create_async_engine

from providers.stores.sql.reader import Reader


async def _engine_with_row(url: str):  # type: ignore[no-untyped-def]
    engine = create_async_engine(url)
    async with engine.begin() as connection:
        await connection.execute(
            text("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT)")
        )
        await connection.execute(text("DELETE FROM t"))
        await connection.execute(text("INSERT INTO t VALUES (1, 'one')"))
    return engine


def _value(connection: Connection) -> tuple[str, str | None]:
    return connection.dialect.driver, connection.scalar(text("SELECT v FROM t WHERE id = 1"))


async def test_a_sqlite_file_is_read_on_the_loop_thread_and_sees_commits(tmp_path: Path) -> None:
    engine = await _engine_with_row(f"sqlite+aiosqlite:///{tmp_path / 'r.db'}")
    reader = Reader(engine)
    try:
        assert reader.on_loop_thread
        assert await reader.run(_value) == ("pysqlite", "one")
        async with engine.begin() as connection:
            await connection.execute(text("UPDATE t SET v = 'two' WHERE id = 1"))
        assert await reader.run(_value) == ("pysqlite", "two")
    finally:
        reader.close()
        await engine.dispose()


async def test_the_loop_thread_reader_cannot_write(tmp_path: Path) -> None:
    engine = await _engine_with_row(f"sqlite+aiosqlite:///{tmp_path / 'r.db'}")
    reader = Reader(engine)

    def write(connection: Connection) -> str:
        if connection.dialect.driver == "pysqlite":
            connection.execute(text("UPDATE t SET v = 'x'"))
        return connection.dialect.driver

    try:
        # query_only refuses the write with an OperationalError: the work is
        # then run on the async engine, which is how a refused read recovers.
        assert await reader.run(write) == "aiosqlite"
        assert await reader.run(_value) == ("pysqlite", "one")
    finally:
        reader.close()
        await engine.dispose()


async def test_a_busy_loop_thread_read_is_run_on_the_async_engine(tmp_path: Path) -> None:
    engine = await _engine_with_row(f"sqlite+aiosqlite:///{tmp_path / 'r.db'}")
    reader = Reader(engine)
    calls: list[str] = []

    def busy_once(connection: Connection) -> str | None:
        calls.append(connection.dialect.driver)
        if connection.dialect.driver == "pysqlite":
            raise OperationalError("SELECT", {}, Exception("database is locked"))
        return _value(connection)[1]

    try:
        assert await reader.run(busy_once) == "one"
        assert calls == ["pysqlite", "aiosqlite"]
    finally:
        reader.close()
        await engine.dispose()


async def test_other_databases_use_the_async_engine(database_url: str, tmp_path: Path) -> None:
    url = database_url if "postgresql" in database_url else "sqlite+aiosqlite:///:memory:"
    engine = await _engine_with_row(url)
    reader = Reader(engine)
    try:
        assert not reader.on_loop_thread
        driver, value = await reader.run(_value)
        assert (driver in ("asyncpg", "aiosqlite"), value) == (True, "one")
    finally:
        reader.close()
        await engine.dispose()


@pytest.mark.parametrize("error", [ValueError("boom")])
async def test_errors_other_than_operational_ones_propagate(
    tmp_path: Path, error: Exception
) -> None:
    engine = await _engine_with_row(f"sqlite+aiosqlite:///{tmp_path / 'r.db'}")
    reader = Reader(engine)

    def fail(_connection: Connection) -> None:
        raise ValueError("boom")

    try:
        with pytest.raises(ValueError, match="boom"):
            await reader.run(fail)
    finally:
        reader.close()
        await engine.dispose()
