"""Sync request options over loopback HTTP: collection statuses, Wait/HeartbeatInterval
limits, WindowSize and MoreAvailable, GetChanges=0, conflicts, concurrent and partial
requests, and the quiet poll that must keep its SyncKey.

Each test starts a gateway; the slowest are marked ``slow``. The Phone client, the
gateway fixtures and the request helpers come from test_sync.py, which other e2e
modules import them from too."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp.test_utils import TestClient

from easgw.app import GATEWAY
from tests.e2e.test_sync import (
    ALICE,
    NS,
    _phone,
    _vevent,
    add,
    client,
    command_count,
    commands,
    config,
    stored,
    subjects_of,
)
from tests.harness import Answer

# Fixtures are found by name (client needs config): listing them keeps the imports.
__all__ = ["client", "config"]


def _status(answer: Answer) -> str | None:
    return answer.find("//AirSync:Collection/AirSync:Status")


async def test_collection_statuses(client: TestClient) -> None:  # type: ignore[type-arg]
    a = _phone(client, "14.1", "DEVA")
    await a.start()
    empty = await a.eas.command("Sync")  # no body: the cached request (A's key 0 Sync)
    assert empty.status == 200
    assert _status(empty) == "1"
    assert empty.find("//AirSync:SyncKey") == a.key
    assert _status(await a.sync(collection="999")) == "12"
    fresh = _phone(client, "14.1", "FRESH")
    nothing = await fresh.eas.command("Sync")
    assert nothing.find("/AirSync:Sync/AirSync:Status") == "13"
    partial = await fresh.eas.command("Sync", f"<Sync {NS}><Partial/></Sync>")
    assert partial.find("/AirSync:Sync/AirSync:Status") == "13"


LIMITS = [
    ("<Wait>0</Wait>", "14", "1"),
    ("<Wait>60</Wait>", "14", "59"),
    ("<HeartbeatInterval>5</HeartbeatInterval>", "14", "120"),
    ("<HeartbeatInterval>99999</HeartbeatInterval>", "14", "1740"),
    ("<Wait>5</Wait><HeartbeatInterval>300</HeartbeatInterval>", "4", None),
]  # a valid Wait holds the Sync: tests/e2e/test_ping.py


async def test_wait_and_heartbeat_limits(client: TestClient) -> None:  # type: ignore[type-arg]
    a = _phone(client, "14.1", "DEVA")
    await a.start()
    for top, status, limit in LIMITS:
        xml = (
            f"<Sync {NS}><Collections><Collection><SyncKey>{a.key}</SyncKey>"
            f"<CollectionId>{a.calendar}</CollectionId></Collection></Collections>{top}</Sync>"
        )
        answer = await a.eas.command("Sync", xml)
        assert answer.find("/AirSync:Sync/AirSync:Status") == status, top
        assert answer.find("/AirSync:Sync/AirSync:Limit") == limit, top


@pytest.mark.slow
async def test_window_more_available_and_item_statuses(client: TestClient) -> None:  # type: ignore[type-arg]
    a, b = _phone(client, "14.1", "DEVA"), _phone(client, "16.1", "DEVB")
    await a.start()
    await b.start()
    adds = "".join(add("14.1", f"c{n}", f"Event {n}", uid=f"e{n}@example.com") for n in range(5))
    created = await a.sync(adds)
    server_ids = [
        e.text for e in created.findall("//AirSync:Responses/AirSync:Add/AirSync:ServerId")
    ]
    assert len(set(server_ids)) == 5

    seen: set[str] = set()
    windows = 0
    while True:
        answer = await b.sync(extra="<WindowSize>2</WindowSize>")
        windows += 1
        assert command_count(answer) <= 2
        seen |= set(commands(answer, "Add"))
        if not answer.findall("//AirSync:MoreAvailable"):
            break
    assert seen == set(server_ids) and windows == 3

    fetched = await b.sync(f"<Fetch><ServerId>{server_ids[0]}</ServerId></Fetch>")
    fetch = fetched.findall("//AirSync:Responses/AirSync:Fetch")[0]
    assert fetch.findtext("{AirSync:}Status") == "1"
    assert fetch.findtext("{AirSync:}ApplicationData/{Calendar:}Subject") == "Event 0"

    missing = await b.sync(
        "<Change><ServerId>1:99999</ServerId><ApplicationData><C:Subject>x</C:Subject>"
        "</ApplicationData></Change><Delete><ServerId>nope</ServerId></Delete>"
    )
    statuses = [e.text for e in missing.findall("//AirSync:Responses/*/AirSync:Status")]
    assert statuses == ["8", "8"]

    broken = await b.sync(
        "<Add><ClientId>bad</ClientId><ApplicationData><C:StartTime>not a time</C:StartTime>"
        "<C:Subject>Broken</C:Subject></ApplicationData></Add>"
    )
    assert broken.find("//AirSync:Responses/AirSync:Add/AirSync:Status") == "6"
    assert len(await stored(client)) == 5


async def test_get_changes_zero_and_store_side_edits(client: TestClient) -> None:  # type: ignore[type-arg]
    a = _phone(client, "14.1", "DEVA")
    await a.start()
    store = client.app[GATEWAY].store
    calendar = next(c for c in await store.list_calendars(ALICE) if c.is_default)
    ical = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
        "UID:server-side@example.com\r\nDTSTAMP:20261125T120000Z\r\n"
        "DTSTART:20261203T090000Z\r\nDTEND:20261203T100000Z\r\nSUMMARY:From the web\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    ref = await store.put_item(ALICE, calendar.id, ical)
    held = await a.sync(extra="<GetChanges>0</GetChanges>")
    assert command_count(held) == 0
    (server_id,) = commands(await a.sync(), "Add")
    await store.put_item(
        ALICE, calendar.id, ical.replace("From the web", "Renamed"), item_id=ref.id
    )
    assert commands(await a.sync(), "Change")[server_id]["Subject"] == "Renamed"
    # Only DTSTAMP moves: the rendering hash ignores it, nothing goes out.
    await store.put_item(
        ALICE,
        calendar.id,
        ical.replace("From the web", "Renamed").replace("20261125T120000Z", "20261126T120000Z"),
        item_id=ref.id,
    )
    assert command_count(await a.sync()) == 0
    # An item easgw cannot render (a VTODO here) is skipped; the folder keeps syncing.
    todo = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VTODO\r\n"
        "UID:todo@example.com\r\nSUMMARY:Not an event\r\nEND:VTODO\r\nEND:VCALENDAR\r\n"
    )
    await store.put_item(ALICE, calendar.id, todo)
    await store.delete_item(ALICE, calendar.id, ref.id)
    answer = await a.sync()
    assert list(commands(answer, "Delete")) == [server_id]
    assert commands(answer, "Add") == {}
    assert command_count(await a.sync()) == 0


@pytest.mark.slow
async def test_conflict_server_wins(client: TestClient) -> None:  # type: ignore[type-arg]
    a, b = _phone(client, "16.1", "DEVA"), _phone(client, "16.1", "DEVB")
    await a.start()
    await b.start()
    created = await a.sync(add("16.1", "c1", "Plan", uid="plan-client"))
    server_id = created.find("//AirSync:Responses/AirSync:Add/AirSync:ServerId")
    await b.sync()  # B holds it
    await a.sync()
    await a.sync(
        f"<Change><ServerId>{server_id}</ServerId><ApplicationData><C:Subject>A's</C:Subject>"
        "</ApplicationData></Change>"
    )
    answer = await b.sync(
        f"<Change><ServerId>{server_id}</ServerId><ApplicationData><C:Subject>B's</C:Subject>"
        "</ApplicationData></Change>"
    )
    assert answer.find("//AirSync:Responses/AirSync:Change/AirSync:Status") == "7"
    assert commands(answer, "Change")[server_id]["Subject"] == "A's"


async def test_concurrent_requests_with_one_key_are_serialised(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    """Two Syncs with one key at once (field: Status-3 loops): the second
    waits, finds the key is now the previous one and gets the same answer."""
    a = _phone(client, "14.1", "DEVA")
    await a.start()
    xml = (
        f"<Sync {NS}><Collections><Collection><SyncKey>{a.key}</SyncKey>"
        f"<CollectionId>{a.calendar}</CollectionId><Commands>"
        f"{add('14.1', 'c1', 'Twice', uid='twice@example.com')}"
        "</Commands></Collection></Collections></Sync>"
    )
    first, second = await asyncio.gather(a.eas.command("Sync", xml), a.eas.command("Sync", xml))
    assert first.body == second.body
    assert _status(first) == "1"
    assert len(await stored(client)) == 1


async def test_partial_request_adds_the_cached_collections(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    a = _phone(client, "14.1", "DEVA")
    await a.start()
    inbox = await a.sync(key="0", collection=a.inbox)
    inbox_key = inbox.find("//AirSync:SyncKey")
    both = (
        f"<Sync {NS}><Collections>"
        f"<Collection><SyncKey>{a.key}</SyncKey><CollectionId>{a.calendar}</CollectionId>"
        "</Collection>"
        f"<Collection><SyncKey>{inbox_key}</SyncKey><CollectionId>{a.inbox}</CollectionId>"
        "</Collection></Collections></Sync>"
    )
    assert len((await a.eas.command("Sync", both)).findall("//AirSync:Collection")) == 2
    partial = (
        f"<Sync {NS}><Collections><Collection><SyncKey>{a.key}</SyncKey>"
        f"<CollectionId>{a.calendar}</CollectionId><Commands>"
        f"{add('14.1', 'c1', 'Partial', uid='partial@example.com')}</Commands>"
        "</Collection></Collections><Partial/></Sync>"
    )
    answer = await a.eas.command("Sync", partial)
    ids = [e.text for e in answer.findall("//AirSync:Collection/AirSync:CollectionId")]
    assert ids == [a.calendar, a.inbox]
    assert [e.text for e in answer.findall("//AirSync:Collection/AirSync:Status")] == ["1", "1"]


async def test_quiet_poll_keeps_the_key(client: TestClient) -> None:  # type: ignore[type-arg]
    """Nothing received, nothing changed: the same key, no Commands (the polls
    after the first diff only ask the store for changes since its token)."""
    a = _phone(client, "14.1", "DEVA")
    await a.start()
    key = a.key
    for _ in range(3):
        answer = await a.sync()
        assert (answer.find("//AirSync:SyncKey"), command_count(answer)) == (key, 0)
    store = client.app[GATEWAY].store
    calendar = next(c for c in await store.list_calendars(ALICE) if c.is_default)
    await store.put_item(ALICE, calendar.id, _vevent("late", "20261210T100000Z"))
    assert subjects_of(await a.sync()) == {"late"}
    assert command_count(await a.sync()) == 0
