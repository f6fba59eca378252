"""Store fixtures shared by the provider tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from providers.stores.sql import SqlStore
from tests.databases import run_in_own_loop


@pytest_asyncio.fixture
async def sql_store(database_url: str) -> AsyncIterator[SqlStore]:
    """A migrated ``SqlStore`` on an empty database (SQLite file or PostgreSQL)."""
    store = SqlStore.from_url(database_url)
    await store.migrate()
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture(scope="module")
def migrated_database_url(module_database_url: str) -> str:
    """The module's shared database, with the store's tables migrated."""

    async def migrate() -> None:
        store = SqlStore.from_url(module_database_url)
        try:
            await store.migrate()
        finally:
            await store.close()

    run_in_own_loop(migrate)
    return module_database_url
