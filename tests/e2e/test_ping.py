"""Ping and Sync Wait over loopback HTTP: held requests woken by store changes.

Heartbeats are tiny (``ping.min_heartbeat = 1``) and every wake comes from a
real store change notification, so the file runs in a few seconds.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from easgw.app import GATEWAY, create_app
from easgw.gateway import Gateway
from easgw.state.sync_models import PingCache
from tests.e2e.test_sync import ALICE, NS, ClientFactory, Phone, _phone, _vevent, add, commands
from tests.harness import Answer, add_user, make_config

CONFIG = "[policy]\nrequired = false\n[ping]\nmin_heartbeat = 1\nmax_heartbeat = 30\n"


@pytest.fixture
async def client(aiohttp_client: ClientFactory, tmp_path: Path) -> TestClient:  # type: ignore[type-arg]
    config = make_config(tmp_path, CONFIG)
    await add_user(config, "alice", "secret", "alice@example.com")
    return await aiohttp_client(create_app(config))


def ping_xml(folders: list[str] | None = None, heartbeat: int | None = None) -> str:
    beat = f"<HeartbeatInterval>{heartbeat}</HeartbeatInterval>" if heartbeat is not None else ""
    listed = "".join(
        f"<Folder><Id>{folder}</Id><Class>Calendar</Class></Folder>" for folder in folders or []
    )
    return f'<Ping xmlns="Ping:">{beat}{f"<Folders>{listed}</Folders>" if listed else ""}</Ping>'


async def ping(
    phone: Phone, folders: list[str] | None = None, heartbeat: int | None = None
) -> Answer:
    xml = ping_xml(folders, heartbeat) if folders or heartbeat is not None else None
    answer = await phone.eas.command("Ping", xml)
    assert answer.status == 200, answer.body
    return answer


def status(answer: Answer) -> str | None:
    return answer.find("/Ping:Ping/Ping:Status")


def gateway(client: TestClient) -> Gateway:  # type: ignore[type-arg]
    return client.app[GATEWAY]


async def calendar_ref(client: TestClient) -> tuple[str, str]:  # type: ignore[type-arg]
    """The default calendar's store id and hub ref."""
    calendars = await gateway(client).store.list_calendars(ALICE)
    calendar = next(c for c in calendars if c.is_default)
    return calendar.id, f"calendar:{calendar.id}"


async def held(client: TestClient, ref: str, count: int) -> None:  # type: ignore[type-arg]
    """Wait until ``count`` requests are held on ``ref``."""
    for _ in range(500):
        if gateway(client).hub.watching(ref) == count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{gateway(client).hub.watching(ref)} held on {ref}, not {count}")


async def stays_held(
    client: TestClient,  # type: ignore[type-arg]
    phone: Phone,
    ref: str,
    older: asyncio.Task[Answer] | None = None,
) -> None:
    """An empty Ping of ``phone`` is held (not answered), then its client goes
    away. ``older``: the phone's Ping held before, which this one ends (Status 1)."""
    waiting = asyncio.create_task(ping(phone))
    if older is not None:
        assert status(await asyncio.wait_for(older, 1)) == "1"
    await held(client, ref, 1)
    await asyncio.sleep(0.1)
    assert not waiting.done()
    waiting.cancel()
    await held(client, ref, 0)


async def started(client: TestClient, version: str, device_id: str) -> Phone:  # type: ignore[type-arg]
    """A phone at a settled key on the default calendar (FolderSync, Sync 0, Sync)."""
    phone = _phone(client, version, device_id)
    await phone.start()
    await phone.sync()
    return phone


@pytest.fixture
async def db_client(aiohttp_client: ClientFactory, tmp_path: Path, database_url: str) -> TestClient:  # type: ignore[type-arg]
    """The gateway on SQLite and on PostgreSQL (skipped when unreachable)."""
    config = make_config(tmp_path, CONFIG, database_url=database_url)
    await add_user(config, "alice", "secret", "alice@example.com")
    return await aiohttp_client(create_app(config))


@pytest.mark.parametrize("version", ["14.1", "16.1"])
async def test_another_devices_add_wakes_the_ping_and_not_its_own(
    db_client: TestClient,  # type: ignore[type-arg]
    version: str,
) -> None:
    client = db_client
    a, b = await started(client, version, "DEVA"), await started(client, version, "DEVB")
    _, ref = await calendar_ref(client)
    own = asyncio.create_task(ping(a, [a.calendar], heartbeat=2))
    other = asyncio.create_task(ping(b, [b.calendar], heartbeat=20))
    await held(client, ref, 2)

    added = time.monotonic()
    await a.sync(add(version, "c1", "Standup", uid="standup-1"))
    answer = await asyncio.wait_for(other, 5)
    assert time.monotonic() - added < 1
    assert status(answer) == "2"
    assert [f.text for f in answer.findall("//Ping:Folders/Ping:Folder")] == [b.calendar]
    assert not own.done()  # A's own Add does not concern A
    got = await b.sync()
    assert [data["Subject"] for data in commands(got, "Add").values()] == ["Standup"]
    await asyncio.sleep(0.2)
    assert not own.done()
    await stays_held(client, a, ref, older=own)  # A's newest Ping ends the older one
    assert gateway(client).hub.watching(ref) == 0


async def test_a_server_side_change_wakes_the_writers_ping(client: TestClient) -> None:  # type: ignore[type-arg]
    """The echo rule: A's own edit does not wake A; a change to it made on the
    server (as enrichment does) does."""
    a = await started(client, "14.1", "DEVA")
    calendar_id, ref = await calendar_ref(client)
    await a.sync(add("14.1", "c1", "Mine", uid="mine-1"))
    store = gateway(client).store
    (item,) = await store.list_items(ALICE, calendar_id)
    (stored,) = await store.get_items(ALICE, calendar_id, [item.id])
    waiting = asyncio.create_task(ping(a, [a.calendar], heartbeat=10))
    await held(client, ref, 1)
    enriched = stored.ical.replace(
        "END:VEVENT", "DESCRIPTION:Join: https://meet.example/x\r\nEND:VEVENT"
    )
    await store.put_item(ALICE, calendar_id, enriched, item_id=item.id)
    answer = await asyncio.wait_for(waiting, 2)
    assert status(answer) == "2"
    assert list(commands(await a.sync(), "Change")) != []


async def test_an_empty_ping_reuses_the_cache(client: TestClient) -> None:  # type: ignore[type-arg]
    a = await started(client, "16.1", "DEVA")
    calendar_id, ref = await calendar_ref(client)
    assert status(await ping(a)) == "3"  # nothing cached yet
    first = time.monotonic()
    assert status(await ping(a, [a.calendar], heartbeat=1)) == "1"
    assert time.monotonic() - first >= 0.9
    async with gateway(client).database.sessions() as session:
        cache = (await session.scalars(select(PingCache))).one()
        assert (cache.heartbeat_interval, cache.folders) == (1, [[a.calendar, "Calendar"]])

    waiting = asyncio.create_task(ping(a))  # no body: the cached heartbeat and folders
    await held(client, ref, 1)
    await gateway(client).store.put_item(ALICE, calendar_id, _vevent("web-1", "20261202T090000Z"))
    answer = await asyncio.wait_for(waiting, 2)
    assert status(answer) == "2"
    assert answer.find("//Ping:Folders/Ping:Folder") == a.calendar
    # A body with only a HeartbeatInterval keeps the cached folders.
    assert status(await ping(a, heartbeat=1)) == "2"  # the Add is still pending
    await a.sync()
    await stays_held(client, a, ref)


async def test_bounds_and_folder_limits(client: TestClient) -> None:  # type: ignore[type-arg]
    a = await started(client, "14.1", "DEVA")
    low = await ping(a, [a.calendar], heartbeat=0)
    assert (status(low), low.find("//Ping:HeartbeatInterval")) == ("5", "1")
    high = await ping(a, [a.calendar], heartbeat=31)
    assert (status(high), high.find("//Ping:HeartbeatInterval")) == ("5", "30")
    many = await ping(a, [str(n) for n in range(1, 302)], heartbeat=5)
    assert (status(many), many.find("//Ping:MaxFolders")) == ("6", "300")
    twice = await a.eas.command(
        "Ping",
        '<Ping xmlns="Ping:"><Folders><Folder><Id>1</Id><Class>Calendar</Class></Folder>'
        "<Folder><Id>1</Id><Class>Calendar</Class></Folder></Folders></Ping>",
    )
    assert status(twice) == "4"
    assert status(await ping(a)) == "3"  # none of those was cached


async def test_hierarchy_change_and_repeated_status_12_answer_7(client: TestClient) -> None:  # type: ignore[type-arg]
    fresh = _phone(client, "14.1", "FRESH")
    assert status(await ping(fresh, ["1"], heartbeat=5)) == "7"  # never ran FolderSync
    a = await started(client, "14.1", "DEVA")
    _, ref = await calendar_ref(client)
    for _ in range(3):
        assert (await a.sync(collection="999")).find("//AirSync:Status") == "12"
    assert status(await ping(a, [a.calendar], heartbeat=20)) == "7"  # the Ping/12 loop breaks
    await stays_held(client, a, ref)  # and the count starts again
    await gateway(client).store.create_calendar(ALICE, "Team")
    assert status(await ping(a)) == "7"  # a new calendar: FolderSync first
    await a.folders()
    await stays_held(client, a, ref)


async def test_newest_ping_ends_the_older_and_unknown_ids_are_skipped(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    a = await started(client, "14.1", "DEVA")
    calendar_id, ref = await calendar_ref(client)
    older = asyncio.create_task(ping(a, [a.calendar], heartbeat=20))
    await held(client, ref, 1)
    newer = asyncio.create_task(ping(a, ["InvalidTaskID", a.calendar, a.inbox], heartbeat=20))
    assert status(await asyncio.wait_for(older, 2)) == "1"
    await held(client, ref, 1)
    await gateway(client).store.put_item(ALICE, calendar_id, _vevent("web-2", "20261202T090000Z"))
    answer = await asyncio.wait_for(newer, 2)
    assert status(answer) == "2"
    assert [f.text for f in answer.findall("//Ping:Folders/Ping:Folder")] == [a.calendar]


async def test_a_client_that_goes_away_leaves_nothing_held(client: TestClient) -> None:  # type: ignore[type-arg]
    a = await started(client, "14.1", "DEVA")
    _, ref = await calendar_ref(client)
    waiting = asyncio.create_task(ping(a, [a.calendar], heartbeat=20))
    await held(client, ref, 1)
    waiting.cancel()  # the client closes its connection: the handler is cancelled
    await held(client, ref, 0)
    assert len(gateway(client).hub) == 0


async def test_shutdown_answers_held_pings(client: TestClient) -> None:  # type: ignore[type-arg]
    a = await started(client, "14.1", "DEVA")
    _, ref = await calendar_ref(client)
    waiting = asyncio.create_task(ping(a, [a.calendar], heartbeat=20))
    await held(client, ref, 1)
    await client.app.shutdown()  # what the runner does first on a graceful stop
    assert status(await asyncio.wait_for(waiting, 2)) == "1"
    assert status(await ping(a, heartbeat=20)) == "1"  # no new holds while stopping


def wait_sync(phone: Phone, top: str) -> str:
    return (
        f"<Sync {NS}><Collections><Collection><SyncKey>{phone.key}</SyncKey>"
        f"<CollectionId>{phone.calendar}</CollectionId></Collection></Collections>{top}</Sync>"
    )


async def test_sync_wait_is_held_and_woken(client: TestClient) -> None:  # type: ignore[type-arg]
    a, b = await started(client, "16.1", "DEVA"), await started(client, "16.1", "DEVB")
    _, ref = await calendar_ref(client)
    quiet_start = time.monotonic()
    quiet = await b.eas.command("Sync", wait_sync(b, "<HeartbeatInterval>1</HeartbeatInterval>"))
    assert time.monotonic() - quiet_start >= 0.9
    assert quiet.find("//AirSync:Collection/AirSync:SyncKey") == b.key
    assert quiet.findall("//AirSync:Commands") == []

    waiting = asyncio.create_task(b.eas.command("Sync", wait_sync(b, "<Wait>1</Wait>")))
    await held(client, ref, 1)
    added = time.monotonic()
    await a.sync(add("16.1", "c1", "Lunch", uid="lunch-1"))
    answer = await asyncio.wait_for(waiting, 5)
    assert time.monotonic() - added < 1
    assert [data["Subject"] for data in commands(answer, "Add").values()] == ["Lunch"]
    assert answer.find("//AirSync:Collection/AirSync:SyncKey") != b.key

    limit = await b.eas.command("Sync", wait_sync(b, "<HeartbeatInterval>31</HeartbeatInterval>"))
    assert limit.find("/AirSync:Sync/AirSync:Status") == "14"
    assert limit.find("/AirSync:Sync/AirSync:Limit") == "30"
