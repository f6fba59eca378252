"""GetItemEstimate over loopback HTTP: two devices of one user, 12.1, 14.1 and 16.1."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from easgw.app import GATEWAY, create_app
from easgw.config import Config
from easgw.state.sync_models import CollectionState, ItemId
from providers.stores.base import StoreUser
from tests.e2e.calendar_phone import Phone, event
from tests.harness import Answer, EasClient, add_user, make_config

ClientFactory = Callable[..., Awaitable[TestClient]]  # type: ignore[type-arg]
ALICE = StoreUser(login="alice", email="alice@example.com")
VERSIONS = ["12.1", "14.1", "16.1"]


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path, "[policy]\nrequired = false\n")


@pytest.fixture
async def client(aiohttp_client: ClientFactory, config: Config) -> TestClient:  # type: ignore[type-arg]
    await add_user(config, "alice", "secret", "alice@example.com")
    return await aiohttp_client(create_app(config))


@pytest.fixture
async def db_client(aiohttp_client: ClientFactory, tmp_path: Path, database_url: str) -> TestClient:  # type: ignore[type-arg]
    """The gateway on SQLite and on PostgreSQL (skipped when unreachable)."""
    config = make_config(tmp_path, "[policy]\nrequired = false\n", database_url=database_url)
    await add_user(config, "alice", "secret", "alice@example.com")
    return await aiohttp_client(create_app(config))


async def states(client: TestClient) -> list[tuple[Any, ...]]:  # type: ignore[type-arg]
    """Every collection state and item id row, to show an estimate writes nothing."""
    async with client.app[GATEWAY].database.sessions() as session:
        rows = await session.execute(
            select(
                CollectionState.device_pk,
                CollectionState.sync_key,
                CollectionState.version,
                CollectionState.snapshot,
                CollectionState.store_token,
            )
        )
        ids = await session.execute(select(ItemId.id, ItemId.etag, ItemId.span_end))
        return sorted(tuple(r) for r in rows.all()) + sorted(tuple(r) for r in ids.all())


def _collection(version: str, collection_id: str, key: str, filter_type: int | None) -> str:
    """One Collection in the version's form (MS-ASCMD 2.2.3.29.1)."""
    if version.startswith("12"):
        filtered = f"<A:FilterType>{filter_type or 0}</A:FilterType>"
        return (
            f"<Collection><Class>Calendar</Class><CollectionId>{collection_id}</CollectionId>"
            f"{filtered}<A:SyncKey>{key}</A:SyncKey></Collection>"
        )
    options = (
        ""
        if filter_type is None
        else f"<A:Options><A:FilterType>{filter_type}</A:FilterType></A:Options>"
    )
    return (
        f"<Collection><A:SyncKey>{key}</A:SyncKey><CollectionId>{collection_id}</CollectionId>"
        f"{options}</Collection>"
    )


async def estimate(
    phone: Phone, *pairs: tuple[str, str], filter_type: int | None = None
) -> list[tuple[str, str, int | None]]:
    """(CollectionId, Status, Estimate) per Response; ``pairs`` are (CollectionId,
    SyncKey), by default the phone's calendar at its current key."""
    wanted = pairs or ((phone.calendar, phone.key),)
    xml = (
        '<GetItemEstimate xmlns="GetItemEstimate:" xmlns:A="AirSync:"><Collections>'
        + "".join(_collection(phone.version, c, k, filter_type) for c, k in wanted)
        + "</Collections></GetItemEstimate>"
    )
    answer = await phone.eas.command("GetItemEstimate", xml)
    assert answer.status == 200, answer.body
    return _results(answer)


def _results(answer: Answer) -> list[tuple[str, str, int | None]]:
    results = []
    for response in answer.findall("/GetItemEstimate:GetItemEstimate/GetItemEstimate:Response"):
        collection_id = response.findtext(
            "{GetItemEstimate:}Collection/{GetItemEstimate:}CollectionId"
        )
        count = response.findtext("{GetItemEstimate:}Collection/{GetItemEstimate:}Estimate")
        status = response.findtext("{GetItemEstimate:}Status")
        results.append((collection_id or "", status or "", None if count is None else int(count)))
    return results


async def one(phone: Phone, key: str | None = None) -> tuple[str, int | None]:
    ((_cid, status, count),) = await estimate(phone, (phone.calendar, key or phone.key))
    return status, count


@pytest.mark.parametrize("version", VERSIONS)
async def test_counts_before_and_after_sync(db_client: TestClient, version: str) -> None:  # type: ignore[type-arg]
    client = db_client
    a, b = Phone.of(client, version, "DEVA"), Phone.of(client, version, "DEVB")
    await a.start()
    await b.folders()
    # Never synced: not primed (MS-ASCMD 2.2.3.177.7 Status 3), at key 0 or any key.
    assert await one(b, "0") == ("3", None)
    assert await one(b, "1") == ("3", None)
    await b.start()
    assert await one(b) == ("1", 0)

    server_id = await a.add("Standup", "standup@example.com")
    held = await states(client)
    assert await one(b) == ("1", 1)
    assert await states(client) == held  # no key, snapshot, ServerId or span written
    assert await one(a) == ("1", 0)  # A's own Add does not come back to it
    before = b.key
    received = await b.sync()
    assert len(received.findall("//AirSync:Commands/AirSync:Add")) == 1
    assert await one(b) == ("1", 0)
    # The previous key: the next Sync would replay that answer with its one Add.
    assert await one(b, before) == ("1", 1)
    assert await one(b) == ("1", 0)  # GetItemEstimate moved no key

    retro = event(version, "Retro", uid="standup@example.com")
    change = f"<Change><ServerId>{server_id}</ServerId>{retro}</Change>"
    await a.sync(change)
    await a.sync(
        f"<Add><ClientId>c2</ClientId>{event(version, 'Lunch', uid='lunch@example.com')}</Add>"
    )
    assert await one(b) == ("1", 2)
    await a.sync(f"<Delete><ServerId>{server_id}</ServerId></Delete>")
    assert await one(b) == ("1", 2)  # the Delete replaces the pending Change
    assert len((await b.sync()).findall("//AirSync:Commands/*")) == 2
    assert await one(b) == ("1", 0)


@pytest.mark.parametrize("version", VERSIONS)
async def test_statuses_per_collection(client: TestClient, version: str) -> None:  # type: ignore[type-arg]
    phone = Phone.of(client, version, "DEVA")
    await phone.start()
    inbox = await phone.eas.command(
        "Sync",
        '<Sync xmlns="AirSync:"><Collections><Collection><SyncKey>0</SyncKey>'
        f"<CollectionId>{phone.inbox}</CollectionId></Collection></Collections></Sync>",
    )
    inbox_key = inbox.find("//AirSync:Collection/AirSync:SyncKey") or ""
    results = await estimate(
        phone,
        (phone.calendar, phone.key),
        ("999", "1"),
        (phone.calendar, "987654"),
        (phone.inbox, inbox_key),
        (phone.inbox, "0"),
    )
    assert results == [
        (phone.calendar, "1", 0),
        ("999", "2", None),
        (phone.calendar, "4", None),
        (phone.inbox, "1", 0),
        (phone.inbox, "3", None),
    ]


async def test_filter_type_narrows_the_estimate(client: TestClient) -> None:  # type: ignore[type-arg]
    phone = Phone.of(client, "14.1", "DEVA")
    await phone.start()
    store = client.app[GATEWAY].store
    calendar = next(c for c in await store.list_calendars(ALICE) if c.is_default)
    old = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
        "UID:old@example.com\r\nDTSTAMP:20200101T000000Z\r\nDTSTART:20200101T100000Z\r\n"
        "DTEND:20200101T110000Z\r\nSUMMARY:Old\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    await store.put_item(ALICE, calendar.id, old)
    await store.put_item(ALICE, calendar.id, old.replace("old@", "new@").replace("2020", "2030"))
    held = await states(client)
    assert await estimate(phone) == [(phone.calendar, "1", 2)]
    assert await estimate(phone, filter_type=4) == [(phone.calendar, "1", 1)]  # two weeks
    assert await states(client) == held  # ServerIds and spans were rolled back
    assert await estimate(phone, filter_type=0) == [(phone.calendar, "1", 2)]


async def test_connectivity_analyzer_flow_at_twelve(client: TestClient) -> None:  # type: ignore[type-arg]
    """Microsoft's Remote Connectivity Analyzer: FolderSync 0, Sync of the
    Inbox at 0, GetItemEstimate in the 12.x form with Class Email (EAS-NOTES)."""
    eas = EasClient(
        client, device_id="RCA", version="12.0", device_type="TestActiveSyncConnectivity"
    )
    phone = Phone(eas)
    await phone.folders()
    sync = await eas.command(
        "Sync",
        '<Sync xmlns="AirSync:"><Collections><Collection><Class>Email</Class><SyncKey>0</SyncKey>'
        f"<CollectionId>{phone.inbox}</CollectionId></Collection></Collections></Sync>",
    )
    key = sync.find("//AirSync:Collection/AirSync:SyncKey")
    xml = (
        '<GetItemEstimate xmlns="GetItemEstimate:" xmlns:A="AirSync:"><Collections><Collection>'
        f"<Class>Email</Class><CollectionId>{phone.inbox}</CollectionId>"
        f"<A:FilterType>1</A:FilterType><A:SyncKey>{key}</A:SyncKey>"
        "</Collection></Collections></GetItemEstimate>"
    )
    answer = await eas.command("GetItemEstimate", xml)
    assert _results(answer) == [(phone.inbox, "1", 0)]


async def test_malformed_request_is_status_103(client: TestClient) -> None:  # type: ignore[type-arg]
    phone = Phone.of(client, "14.1", "DEVA")
    await phone.start()
    for xml in (
        '<GetItemEstimate xmlns="GetItemEstimate:"/>',
        (
            '<GetItemEstimate xmlns="GetItemEstimate:"><Collections><Collection>'
            "<CollectionId>1</CollectionId><Options xmlns='AirSync:'><FilterType>99</FilterType>"
            "</Options></Collection></Collections></GetItemEstimate>"
        ),
        '<Sync xmlns="AirSync:"/>',
    ):
        answer = await phone.eas.command("GetItemEstimate", xml)
        assert answer.status == 200
        assert answer.find("/GetItemEstimate:GetItemEstimate/GetItemEstimate:Status") == "103"
    empty = await phone.eas.command("GetItemEstimate")
    assert empty.find("/GetItemEstimate:GetItemEstimate/GetItemEstimate:Status") == "103"
