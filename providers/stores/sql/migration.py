"""Runs the embedded store's alembic migrations over an async engine.

The store's history lives in ``migrations/`` and records its revision in the
table ``store_alembic_version``, so it never meets the gateway's own alembic
history in the same database. Nothing here calls ``create_all``.

To add a revision, copy the newest file in ``migrations/versions/``, give it
a new ``revision`` and set ``down_revision`` to the previous one.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

__all__ = [
    "MIGRATIONS_DIR",
    "VERSION_TABLE",
    "alembic_config",
    "current_revision",
    "head_revision",
    "upgrade",
]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "store_alembic_version"
#: pg_advisory_xact_lock key: concurrent gateway processes migrate one at a time.
_PG_MIGRATION_LOCK = 0x5354_4F52_4531  # "STORE1"


def alembic_config(connection: Connection | None = None) -> Config:
    """An alembic ``Config`` for the store's migrations, bound to ``connection``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    config.attributes["connection"] = connection
    config.attributes["version_table"] = VERSION_TABLE
    return config


def head_revision() -> str | None:
    """The newest revision of the store's schema."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def upgrade(engine: AsyncEngine) -> None:
    """Bring the store's tables to the newest revision, in one transaction."""
    async with engine.connect() as connection, connection.begin():
        if connection.dialect.name == "sqlite" and not await _sqlite_in_transaction(connection):
            # The sqlite3 driver's default (legacy) transaction control begins no
            # transaction before DDL; IMMEDIATE also keeps a second migrating
            # process out until we commit. An engine that already emits BEGIN
            # itself (SQLAlchemy's "begin" event recipe) needs nothing more.
            await connection.exec_driver_sql("BEGIN IMMEDIATE")
        elif connection.dialect.name == "postgresql":
            await connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK}
            )
        await connection.run_sync(_upgrade_sync)


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at (None: the store's tables do not exist)."""
    async with engine.connect() as connection:
        return await connection.run_sync(_current_revision_sync)


async def _sqlite_in_transaction(connection: AsyncConnection) -> bool:
    """Whether the sqlite3 connection under ``connection`` is inside a transaction."""
    driver = (await connection.get_raw_connection()).driver_connection
    return driver is not None and bool(driver.in_transaction)


def _upgrade_sync(connection: Connection) -> None:
    command.upgrade(alembic_config(connection), "head")


def _current_revision_sync(connection: Connection) -> str | None:
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()
