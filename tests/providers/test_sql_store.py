"""What only the embedded SQL store does: migrations, shared sessions, engines.

The behaviour every store shares is in ``test_store_conformance.py``.
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING, Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect, text
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from providers.stores.base import (
    InvalidData,
    NotFound,
    Store,
    StoreUnavailable,
    StoreUser,
    SupportsSharedSession,
)
from providers.stores.sql import SqlStore, migration
from providers.stores.sql.ical_validation import MAX_UID_BYTES, uid_of
from providers.stores.sql.identifiers import is_item_id, item_id_for_uid
from providers.stores.sql.migration import VERSION_TABLE, current_revision, head_revision
from providers.stores.sql.models import StoreBase
from tests.providers.ical_samples import event

if TYPE_CHECKING:
    from pathlib import Path

ALICE = StoreUser(login="alice", email="alice@example.com")
STORE_TABLES = {"store_calendars", "store_items", "store_changes", VERSION_TABLE}


def _table_names(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


def _schema_diff(connection: Connection) -> list[Any]:
    """Differences alembic autogenerate sees between the models and the database."""
    context = MigrationContext.configure(
        connection,
        opts={
            "version_table": VERSION_TABLE,
            "compare_type": True,
            "include_name": lambda name, kind, _parents: (
                kind != "table" or name in STORE_TABLES - {VERSION_TABLE}
            ),
        },
    )
    return list(compare_metadata(context, StoreBase.metadata))


def test_the_store_has_both_protocols(tmp_path: Path) -> None:
    store = SqlStore(create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"))
    assert isinstance(store, SupportsSharedSession)
    typed: Store = store
    assert typed is store


# -- migrations ---------------------------------------------------------------------


async def test_migrate_is_idempotent_and_keeps_its_own_version_table(database_url: str) -> None:
    store = SqlStore.from_url(database_url)
    try:
        assert await current_revision(store.engine) is None
        await store.migrate()
        await store.migrate()
        assert await current_revision(store.engine) == head_revision()
        async with store.engine.connect() as connection:
            tables = await connection.run_sync(_table_names)
            versions = (
                await connection.execute(text("SELECT version_num FROM store_alembic_version"))
            ).all()
        assert tables == STORE_TABLES
        assert [tuple(row) for row in versions] == [(head_revision(),)]
    finally:
        await store.close()


async def test_migrate_leaves_the_gateways_alembic_history_alone(database_url: str) -> None:
    store = SqlStore.from_url(database_url)
    try:
        async with store.engine.begin() as connection:
            await connection.execute(
                text("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
            )
            await connection.execute(text("INSERT INTO alembic_version VALUES ('gw_0007')"))
        await store.migrate()
        async with store.engine.connect() as connection:
            gateway = (await connection.execute(text("SELECT * FROM alembic_version"))).all()
            tables = await connection.run_sync(_table_names)
        assert [tuple(row) for row in gateway] == [("gw_0007",)]
        assert tables == STORE_TABLES | {"alembic_version"}
    finally:
        await store.close()


async def test_a_failed_migration_leaves_nothing(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def upgrade_then_fail(connection: Connection) -> None:
        upgrade_sync(connection)
        raise RuntimeError("interrupted")

    upgrade_sync = migration._upgrade_sync
    monkeypatch.setattr(migration, "_upgrade_sync", upgrade_then_fail)
    store = SqlStore.from_url(database_url)
    try:
        with pytest.raises(RuntimeError, match="interrupted"):
            await store.migrate()
        async with store.engine.connect() as connection:
            assert await connection.run_sync(_table_names) == set()
    finally:
        await store.close()


async def test_migrate_on_an_engine_that_begins_transactions_itself(tmp_path: Path) -> None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'recipe.db'}")

    @sqlalchemy_event.listens_for(engine.sync_engine, "connect")
    def _no_driver_transactions(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @sqlalchemy_event.listens_for(engine.sync_engine, "begin")
    def _begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN")

    store = SqlStore(engine)
    try:
        await store.migrate()
        await store.migrate()
        (calendar,) = await store.list_calendars(ALICE)
        ref = await store.put_item(ALICE, calendar.id, event("recipe"))
        assert await store.list_items(ALICE, calendar.id) == [ref]
    finally:
        await engine.dispose()


async def test_migrations_match_the_models(sql_store: SqlStore) -> None:
    async with sql_store.engine.connect() as connection:
        assert await connection.run_sync(_schema_diff) == []


async def test_an_unmigrated_database_is_unavailable(database_url: str) -> None:
    store = SqlStore.from_url(database_url)
    try:
        with pytest.raises(StoreUnavailable, match="unavailable"):
            await store.list_calendars(ALICE)
    finally:
        await store.close()


# -- shared sessions ------------------------------------------------------------------


async def test_joined_write_in_a_rolled_back_transaction_leaves_nothing(
    sql_store: SqlStore,
) -> None:
    (calendar,) = await sql_store.list_calendars(ALICE)
    mark = await sql_store.changes_since(ALICE, calendar.id, None)
    sessions = async_sessionmaker(sql_store.engine)
    async with sessions() as session:
        async with sql_store.joined(session):
            ref = await sql_store.put_item(ALICE, calendar.id, event("rolled-back"))
            assert await sql_store.list_items(ALICE, calendar.id) == [ref]
        assert await sql_store.list_items(ALICE, calendar.id) == []
        await session.rollback()
    assert await sql_store.list_items(ALICE, calendar.id) == []
    changes = await sql_store.changes_since(ALICE, calendar.id, mark.token)
    assert (changes.changed, changes.deleted, changes.token) == ([], [], mark.token)


async def test_joined_write_commits_with_the_callers_own_write(sql_store: SqlStore) -> None:
    (calendar,) = await sql_store.list_calendars(ALICE)
    async with sql_store.engine.begin() as connection:
        await connection.execute(text("CREATE TABLE gateway_state (note VARCHAR(40))"))
    sessions = async_sessionmaker(sql_store.engine)
    async with sessions() as session:
        async with sql_store.joined(session):
            ref = await sql_store.put_item(ALICE, calendar.id, event("committed"))
        await session.execute(text("INSERT INTO gateway_state VALUES ('synced')"))
        await session.commit()
    assert await sql_store.list_items(ALICE, calendar.id) == [ref]
    async with sql_store.engine.connect() as connection:
        notes = (await connection.execute(text("SELECT note FROM gateway_state"))).scalars()
        assert list(notes) == ["synced"]


async def test_joined_session_is_left_after_the_block(sql_store: SqlStore) -> None:
    (calendar,) = await sql_store.list_calendars(ALICE)
    sessions = async_sessionmaker(sql_store.engine)
    async with sessions() as session:
        async with sql_store.joined(session):
            pass
        ref = await sql_store.put_item(ALICE, calendar.id, event("own-session"))
        await session.rollback()
    assert await sql_store.list_items(ALICE, calendar.id) == [ref]


def test_joined_needs_an_async_session(tmp_path: Path) -> None:
    store = SqlStore(create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"))
    with pytest.raises(TypeError, match="AsyncSession"):
        store.joined(object())


# -- engines --------------------------------------------------------------------------


async def test_sqlite_connections_use_wal_busy_timeout_and_foreign_keys(tmp_path: Path) -> None:
    store = SqlStore.from_url(f"sqlite+aiosqlite:///{tmp_path / 'pragmas.db'}")
    try:
        async with store.engine.connect() as connection:
            settings = [
                (await connection.exec_driver_sql(f"PRAGMA {name}")).scalar()
                for name in ("journal_mode", "busy_timeout", "foreign_keys")
            ]
    finally:
        await store.close()
    assert settings == ["wal", 5000, 1]


async def test_close_leaves_a_given_engine_open(tmp_path: Path) -> None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'given.db'}")
    store = SqlStore(engine)
    await store.migrate()
    await store.close()
    async with engine.connect() as connection:
        assert (await connection.execute(text("SELECT 1"))).scalar() == 1
    await engine.dispose()


async def test_an_unreachable_database_is_unavailable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    store = SqlStore.from_url(f"postgresql+asyncpg://postgres@127.0.0.1:{port}/none")
    try:
        with pytest.raises(StoreUnavailable, match="unavailable"):
            await store.list_calendars(ALICE)
        with pytest.raises(StoreUnavailable):
            await store.migrate()
    finally:
        await store.close()


# -- ids and validation -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("uid", "verbatim"),
    [
        ("abc-123@example.com", True),
        ("A.b_c~d", True),
        ("s" * 63, True),
        ("s" * 64, False),
        ("-leading-dash", False),
        (".hidden", False),
        ("a/b", False),
        ("ü", False),
        ("x" * 300, False),
    ],
)
def test_item_ids_are_the_uid_or_its_digest(uid: str, verbatim: bool) -> None:
    item_id = item_id_for_uid(uid)
    assert is_item_id(item_id)
    assert item_id_for_uid(uid) == item_id
    if verbatim:
        assert item_id == uid
    else:
        assert len(item_id) == 64
        assert set(item_id) <= set("0123456789abcdef")


def test_a_uid_too_long_to_index_is_refused() -> None:
    assert uid_of(event("u" * MAX_UID_BYTES)) == "u" * MAX_UID_BYTES
    with pytest.raises(InvalidData, match="longer"):
        uid_of(event("u" * (MAX_UID_BYTES + 1)))


async def test_ids_the_store_cannot_have_are_not_found(sql_store: SqlStore) -> None:
    (calendar,) = await sql_store.list_calendars(ALICE)
    for bad in ("../etc", "x" * 65, ""):
        with pytest.raises(NotFound):
            await sql_store.put_item(ALICE, calendar.id, event("u"), item_id=bad)
        with pytest.raises(NotFound):
            await sql_store.delete_item(ALICE, calendar.id, bad)
    assert await sql_store.list_items(ALICE, calendar.id) == []
