"""The no-change poll (easgw/commands/sync/quiet.py): answered from reads, never a
write, and never a stale answer: every change that the full path would send
still goes out, whoever made it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from aiohttp.test_utils import TestClient
from sqlalchemy import event

from easgw.app import GATEWAY, create_app
from easgw.gateway import Gateway
from tests.e2e.test_sync import ALICE, ClientFactory, _phone, _vevent, add, command_count
from tests.harness import add_user, make_config

_WRITES = ("INSERT", "UPDATE", "DELETE", "BEGIN IMMEDIATE")


@contextmanager
def writes_to(gateway: Gateway) -> Iterator[list[str]]:
    """The write statements the gateway's async engine runs meanwhile."""
    seen: list[str] = []
    engine = gateway.database.engine.sync_engine

    def record(_conn, _cursor, statement: str, *_args) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith(_WRITES):
            seen.append(statement.split("\n", maxsplit=1)[0][:60])

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def _client(aiohttp_client: ClientFactory, tmp_path: Path, database_url: str) -> TestClient:  # type: ignore[type-arg]
    config = make_config(tmp_path, "[policy]\nrequired = false\n", database_url=database_url)
    await add_user(config, "alice", "secret", "alice@example.com")
    return await aiohttp_client(create_app(config))


async def test_a_no_change_poll_writes_nothing_and_keeps_the_key(
    aiohttp_client: ClientFactory, tmp_path: Path, database_url: str
) -> None:
    client = await _client(aiohttp_client, tmp_path, database_url)
    a = _phone(client, "14.1", "DEVA")
    await a.start()
    await a.eas.command(  # the inbox at its first key
        "Sync",
        f'<Sync xmlns="AirSync:"><Collections><Collection><SyncKey>0</SyncKey>'
        f"<CollectionId>{a.inbox}</CollectionId></Collection></Collections></Sync>",
    )
    await a.sync(add("14.1", "c1", "Mine"))
    await a.sync()  # the first diff after the Add settles the store token
    inbox_key = "1"
    with writes_to(client.app[GATEWAY]) as writes:
        for _ in range(3):
            answer = await a.sync()
            assert (answer.find("//AirSync:SyncKey"), command_count(answer)) == (a.key, 0)
    assert writes == []
    await a.sync(key=inbox_key, collection=a.inbox)  # (a new request to cache)
    with writes_to(client.app[GATEWAY]) as writes:
        for _ in range(3):
            inbox = await a.sync(key=inbox_key, collection=a.inbox)
            assert inbox.find("//AirSync:Status") == "1"
            assert inbox.find("//AirSync:SyncKey") == inbox_key
    assert writes == []


async def test_changes_by_another_gateway_process_are_seen_by_the_next_poll(
    aiohttp_client: ClientFactory, tmp_path: Path, database_url: str
) -> None:
    """A second Gateway on the same database (another process, or the CLI)."""
    client = await _client(aiohttp_client, tmp_path, database_url)
    a = _phone(client, "14.1", "DEVA")
    await a.start()
    await a.sync()
    other = Gateway(client.app[GATEWAY].config)
    await other.open()
    try:
        calendar = next(c for c in await other.store.list_calendars(ALICE) if c.is_default)
        ref = await other.store.put_item(
            ALICE, calendar.id, _vevent("elsewhere", "20261210T100000Z")
        )
        answer = await a.sync()
        assert len(answer.findall("//AirSync:Commands/AirSync:Add")) == 1
        assert command_count(await a.sync()) == 0
        await other.store.delete_item(ALICE, calendar.id, ref.id)
        assert len((await a.sync()).findall("//AirSync:Commands/AirSync:Delete")) == 1
    finally:
        await other.close()


async def test_an_options_change_or_a_stale_key_is_not_a_quiet_poll(
    aiohttp_client: ClientFactory, tmp_path: Path, database_url: str
) -> None:
    client = await _client(aiohttp_client, tmp_path, database_url)
    a = _phone(client, "14.1", "DEVA")
    await a.start()
    store = client.app[GATEWAY].store
    calendar = next(c for c in await store.list_calendars(ALICE) if c.is_default)
    await store.put_item(ALICE, calendar.id, _vevent("old", "20250101T100000Z"))
    assert command_count(await a.sync()) == 1
    key = a.key
    # FilterType 4 (two weeks) at the same key: the old event leaves as a SoftDelete.
    narrowed = await a.sync(extra="<Options><FilterType>4</FilterType></Options>")
    assert len(narrowed.findall("//AirSync:Commands/AirSync:SoftDelete")) == 1
    assert a.key != key
    # A key the device does not hold: Status 3, as on the full path.
    stale = await a.sync(key="999")
    assert stale.find("//AirSync:Collection/AirSync:Status") == "3"


async def test_an_empty_sync_reuses_the_cached_request_quietly(
    aiohttp_client: ClientFactory, tmp_path: Path, database_url: str
) -> None:
    client = await _client(aiohttp_client, tmp_path, database_url)
    a = _phone(client, "14.1", "DEVA")
    await a.start()
    await a.sync()
    with writes_to(client.app[GATEWAY]) as writes:
        empty = await a.eas.command("Sync", body=b"")
    assert empty.status == 200
    assert empty.find("//AirSync:Collection/AirSync:SyncKey") == a.key
    assert writes == []
    store = client.app[GATEWAY].store
    calendar = next(c for c in await store.list_calendars(ALICE) if c.is_default)
    await store.put_item(ALICE, calendar.id, _vevent("new", "20261210T100000Z"))
    again = await a.eas.command("Sync", body=b"")
    assert len(again.findall("//AirSync:Commands/AirSync:Add")) == 1
