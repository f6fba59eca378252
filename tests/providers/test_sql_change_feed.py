"""The embedded store's change feed (``SupportsChangeFeed``): listeners hear of a
write only after the transaction that made it commits, never of a rollback."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import async_sessionmaker

from providers.stores.base import StoreUser, SupportsChangeFeed
from providers.stores.sql import SqlStore
from tests.providers.ical_samples import event

ALICE = StoreUser(login="alice", email="alice@example.com")


def _listening(store: SqlStore) -> list[str]:
    heard: list[str] = []
    store.add_change_listener(heard.append)
    return heard


async def test_own_transaction_writes_are_heard_after_commit(sql_store: SqlStore) -> None:
    assert isinstance(sql_store, SupportsChangeFeed)
    (calendar,) = await sql_store.list_calendars(ALICE)
    heard = _listening(sql_store)
    ref = await sql_store.put_item(ALICE, calendar.id, event("one"))
    assert heard == [calendar.id]
    await sql_store.delete_item(ALICE, calendar.id, ref.id)
    assert heard == [calendar.id] * 2
    await sql_store.list_items(ALICE, calendar.id)  # reads are not changes
    assert heard == [calendar.id] * 2
    other = await sql_store.create_calendar(ALICE, "Team")
    await sql_store.delete_calendar(ALICE, other.id)
    assert heard == [calendar.id, calendar.id, other.id]


async def test_joined_writes_are_heard_when_the_callers_transaction_commits(
    sql_store: SqlStore,
) -> None:
    (calendar,) = await sql_store.list_calendars(ALICE)
    heard = _listening(sql_store)
    sessions = async_sessionmaker(sql_store.engine)
    async with sessions() as session:
        async with sql_store.joined(session):
            await sql_store.put_item(ALICE, calendar.id, event("rolled-back"))
        assert heard == []
        await session.rollback()
        assert heard == []  # a rolled-back write is never announced
        async with sql_store.joined(session):
            await sql_store.put_item(ALICE, calendar.id, event("first"))
            await sql_store.put_item(ALICE, calendar.id, event("second"))
        assert heard == []  # not before the commit
        await session.commit()
        assert heard == [calendar.id]  # once per calendar and transaction
        async with sql_store.joined(session):
            await sql_store.put_item(ALICE, calendar.id, event("third"))
        await session.commit()
        assert heard == [calendar.id] * 2


async def test_a_failing_listener_fails_nothing_and_removed_listeners_hear_nothing(
    sql_store: SqlStore,
) -> None:
    (calendar,) = await sql_store.list_calendars(ALICE)

    def broken(_calendar_id: str) -> None:
        raise RuntimeError("listener bug")

    sql_store.add_change_listener(broken)
    heard = _listening(sql_store)
    await sql_store.put_item(ALICE, calendar.id, event("kept"))
    assert heard == [calendar.id]
    assert len(await sql_store.list_items(ALICE, calendar.id)) == 1
    sql_store.remove_change_listener(heard.append)
    sql_store.remove_change_listener(heard.append)  # twice: ignored
    await sql_store.put_item(ALICE, calendar.id, event("unheard"))
    assert heard == [calendar.id]
