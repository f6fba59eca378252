"""Sync over loopback HTTP: two devices of one user, 12.1, 14.1 and 16.1.

The whole file takes ~30 s on a loaded machine (each test starts a gateway;
two run on SQLite and PostgreSQL): the slowest are marked ``slow``.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from easgw.app import GATEWAY, create_app
from easgw.config import Config
from providers.stores.base import StoreUser
from tests.harness import Answer, EasClient, add_user, make_config

ClientFactory = Callable[..., Awaitable[TestClient]]  # type: ignore[type-arg]
ALICE = StoreUser(login="alice", email="alice@example.com")
UTC_BLOB = base64.b64encode(bytes(172)).decode()
NS = 'xmlns="AirSync:" xmlns:C="Calendar:" xmlns:B="AirSyncBase:"'


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


@dataclass
class Phone:
    """A device with its calendar's CollectionId and current SyncKey."""

    eas: EasClient
    calendar: str = ""
    inbox: str = ""
    key: str = "0"
    answers: list[Answer] = field(default_factory=list)

    async def folders(self) -> None:
        answer = await self.eas.command(
            "FolderSync",
            '<FolderSync xmlns="FolderHierarchy:"><SyncKey>0</SyncKey></FolderSync>',
        )
        for add in answer.findall("//FolderHierarchy:Add"):
            texts = {c.tag.split("}")[1]: c.text for c in add}
            if texts["Type"] == "8":
                self.calendar = texts["ServerId"] or ""
            if texts["Type"] == "2":
                self.inbox = texts["ServerId"] or ""

    async def sync(
        self, commands: str = "", *, key: str | None = None, extra: str = "", collection: str = ""
    ) -> Answer:
        body = f"<Commands>{commands}</Commands>" if commands else ""
        xml = (
            f"<Sync {NS}><Collections><Collection><SyncKey>{key or self.key}</SyncKey>"
            f"<CollectionId>{collection or self.calendar}</CollectionId>{extra}{body}"
            "</Collection></Collections></Sync>"
        )
        answer = await self.eas.command("Sync", xml)
        assert answer.status == 200, answer.body
        new_key = answer.find("//AirSync:Collection/AirSync:SyncKey")
        if new_key and answer.find("//AirSync:Collection/AirSync:Status") == "1":
            self.key = new_key
        self.answers.append(answer)
        return answer

    async def start(self, extra: str = "") -> None:
        await self.folders()
        answer = await self.sync(key="0", extra=extra)
        assert answer.find("//AirSync:Collection/AirSync:Status") == "1"
        assert answer.findall("//AirSync:Commands") == []
        assert self.key != "0"


def _phone(client: TestClient, version: str, device_id: str) -> Phone:  # type: ignore[type-arg]
    return Phone(EasClient(client, device_id=device_id, version=version))


def event(version: str, subject: str, *, uid: str = "", location: str = "Room 1") -> str:
    """ApplicationData of a one-hour event on 1 December 2026 (UTC)."""
    sixteen = version.startswith("16")
    where = (
        f"<B:Location><B:DisplayName>{location}</B:DisplayName></B:Location>"
        if sixteen
        else f"<C:Location>{location}</C:Location>"
    )
    ident = f"<C:ClientUid>{uid}</C:ClientUid>" if sixteen else f"<C:UID>{uid}</C:UID>"
    return (
        f"<ApplicationData><C:Timezone>{UTC_BLOB}</C:Timezone><C:AllDayEvent>0</C:AllDayEvent>"
        "<C:StartTime>20261201T100000Z</C:StartTime><C:EndTime>20261201T110000Z</C:EndTime>"
        f"<C:Subject>{subject}</C:Subject>{where}{ident if uid else ''}"
        "<C:BusyStatus>2</C:BusyStatus><C:MeetingStatus>0</C:MeetingStatus></ApplicationData>"
    )


def add(version: str, client_id: str, subject: str, uid: str = "") -> str:
    return f"<Add><ClientId>{client_id}</ClientId>{event(version, subject, uid=uid)}</Add>"


def commands(answer: Answer, kind: str) -> dict[str, dict[str, str]]:
    """ServerId -> {local name: text} of the ApplicationData of each ``kind`` command."""
    found: dict[str, dict[str, str]] = {}
    for element in answer.findall(f"//AirSync:Commands/AirSync:{kind}"):
        server_id = element.findtext("{AirSync:}ServerId") or ""
        data = element.find("{AirSync:}ApplicationData")
        texts = {}
        if data is not None:
            for node in data.iter():
                texts[str(node.tag).split("}")[-1]] = node.text or ""
        found[server_id] = texts
    return found


def command_count(answer: Answer) -> int:
    return len(answer.findall("//AirSync:Commands/*"))


async def stored(client: TestClient) -> list[Any]:  # type: ignore[type-arg]
    store = client.app[GATEWAY].store
    calendars = await store.list_calendars(ALICE)
    default = next(c for c in calendars if c.is_default)
    return list(await store.list_items(ALICE, default.id))


@pytest.mark.slow
async def test_two_devices_add_change_delete(db_client: TestClient) -> None:  # type: ignore[type-arg]
    client = db_client
    a, b = _phone(client, "14.1", "DEVA"), _phone(client, "16.1", "DEVB")
    await a.start()
    await b.start()

    added = await a.sync(add("14.1", "c1", "Standup", uid="standup-1@example.com"))
    assert added.find("//AirSync:Responses/AirSync:Add/AirSync:Status") == "1"
    server_id = added.find("//AirSync:Responses/AirSync:Add/AirSync:ServerId")
    assert server_id and len(server_id) <= 64
    assert command_count(added) == 0

    got = await b.sync()
    assert commands(got, "Add")[server_id]["Subject"] == "Standup"
    assert command_count(await a.sync()) == 0  # A's own Add does not come back

    # B (16.1) edits the subject only: every omitted element is ghosted.
    change = f"<Change><ServerId>{server_id}</ServerId><ApplicationData>"
    partial = change + "<C:Subject>Standup (moved)</C:Subject></ApplicationData></Change>"
    edited = await b.sync(partial)
    assert edited.findall("//AirSync:Responses/*") == []
    assert command_count(await b.sync()) == 0  # B's own edit does not come back
    changed = commands(await a.sync(), "Change")[server_id]
    assert changed["Subject"] == "Standup (moved)"
    assert changed["Location"] == "Room 1"
    assert command_count(await a.sync()) == 0

    # A edits (full item): B gets the Change, A does not.
    full = f"<Change><ServerId>{server_id}</ServerId>{event('14.1', 'Retro')}</Change>"
    await a.sync(full)
    assert commands(await b.sync(), "Change")[server_id]["Subject"] == "Retro"
    assert command_count(await a.sync()) == 0

    await a.sync(f"<Delete><ServerId>{server_id}</ServerId></Delete>")
    assert list(commands(await b.sync(), "Delete")) == [server_id]
    assert command_count(await a.sync()) == 0
    assert await stored(client) == []


async def test_sixteen_add_returns_uid_and_client_uid_is_idempotent(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    b = _phone(client, "16.1", "DEVB")
    await b.start()
    first = await b.sync(add("16.1", "n1", "Lunch", uid="client-uid-1"))
    uid = first.find("//AirSync:Responses/AirSync:Add/AirSync:ApplicationData/Calendar:UID")
    server_id = first.find("//AirSync:Responses/AirSync:Add/AirSync:ServerId")
    assert uid and server_id
    again = await b.sync(add("16.1", "n2", "Lunch", uid="client-uid-1"))
    assert again.find("//AirSync:Responses/AirSync:Add/AirSync:ServerId") == server_id
    assert len(await stored(client)) == 1
    assert [item.uid for item in await stored(client)] == [uid]


@pytest.mark.slow
async def test_lost_response_replays_and_creates_nothing(db_client: TestClient) -> None:  # type: ignore[type-arg]
    client = db_client
    a = _phone(client, "14.1", "DEVA")
    await a.start()
    key = a.key
    first = await a.sync(add("14.1", "c1", "Dentist", uid="dentist@example.com"))
    replay = await a.sync(add("14.1", "c1", "Dentist", uid="dentist@example.com"), key=key)
    assert replay.body == first.body
    assert len(await stored(client)) == 1
    # The same ClientId under the new key: the same ServerId, no duplicate.
    server_id = first.find("//AirSync:Responses/AirSync:Add/AirSync:ServerId")
    again = await a.sync(add("14.1", "c1", "Dentist", uid="dentist@example.com"))
    assert again.find("//AirSync:Responses/AirSync:Add/AirSync:ServerId") == server_id
    assert len(await stored(client)) == 1
    assert command_count(await a.sync()) == 0


async def test_key_zero_sends_no_items_and_unknown_key_is_status_3(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    a, b = _phone(client, "14.1", "DEVA"), _phone(client, "14.1", "DEVB")
    await a.start()
    await a.sync(add("14.1", "c1", "One", uid="one@example.com"))
    await b.start()  # asserts: no Commands at key 0
    assert len(commands(await b.sync(), "Add")) == 1
    bad = await b.sync(key="987654")
    assert bad.find("//AirSync:Collection/AirSync:Status") == "3"
    # a resync from 0 hands out the same ServerIds
    first_id = next(iter(commands(b.answers[-2], "Add")))
    await b.start()
    assert list(commands(await b.sync(), "Add")) == [first_id]


async def test_empty_inbox_syncs(client: TestClient) -> None:  # type: ignore[type-arg]
    phone = Phone(
        EasClient(client, device_id="RCA", version="12.0", device_type="TestActiveSyncConnectivity")
    )
    await phone.folders()
    first = await phone.sync(key="0", collection=phone.inbox)
    assert first.find("//AirSync:Collection/AirSync:Status") == "1"
    second = await phone.sync(collection=phone.inbox)
    assert second.find("//AirSync:Collection/AirSync:Status") == "1"
    assert command_count(second) == 0


async def test_twelve_one_device(client: TestClient) -> None:  # type: ignore[type-arg]
    old, new = _phone(client, "12.1", "OLD"), _phone(client, "16.1", "NEW")
    await old.start()
    await new.start()
    await new.sync(add("16.1", "n1", "Review", uid="review-client"))
    received = commands(await old.sync(), "Add")
    assert [texts["Subject"] for texts in received.values()] == ["Review"]
    added = await old.sync(add("12.1", "o1", "Call", uid="call@example.com"))
    assert added.find("//AirSync:Responses/AirSync:Add/AirSync:Status") == "1"
    assert [t["Subject"] for t in commands(await new.sync(), "Add").values()] == ["Call"]


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


def _vevent(uid: str, start: str, extra: str = "") -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20261125T120000Z\r\nDTSTART:{start}\r\n{extra}"
        f"SUMMARY:{uid}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


async def test_filter_type_window_and_change(client: TestClient) -> None:  # type: ignore[type-arg]
    a = _phone(client, "14.1", "DEVA")
    store = client.app[GATEWAY].store
    calendar = next(c for c in await store.list_calendars(ALICE) if c.is_default)
    await store.put_item(ALICE, calendar.id, _vevent("old", "20200101T100000Z"))
    await store.put_item(ALICE, calendar.id, _vevent("soon", "20301201T100000Z"))
    await store.put_item(
        ALICE,
        calendar.id,
        _vevent("weekly", "20200106T100000Z", "RRULE:FREQ=WEEKLY\r\n"),  # endless series
    )
    await store.put_item(
        ALICE,
        calendar.id,
        _vevent("ended", "20200106T100000Z", "RRULE:FREQ=WEEKLY;UNTIL=20200301T000000Z\r\n"),
    )

    def subjects(answer: Answer, kind: str = "Add") -> set[str]:
        return {texts["Subject"] for texts in commands(answer, kind).values()}

    two_weeks = "<Options><FilterType>4</FilterType></Options>"
    await a.start(extra=two_weeks)
    assert subjects(await a.sync(extra=two_weeks)) == {"soon", "weekly"}
    everything = "<Options><FilterType>0</FilterType></Options>"
    assert subjects(await a.sync(extra=everything)) == {"old", "ended"}
    narrowed = await a.sync(extra=two_weeks)
    assert len(narrowed.findall("//AirSync:Commands/AirSync:SoftDelete")) == 2
    assert command_count(await a.sync(extra=two_weeks)) == 0


async def test_sixteen_instance_edit_and_delete(client: TestClient) -> None:  # type: ignore[type-arg]
    new, old = _phone(client, "16.1", "NEW"), _phone(client, "14.1", "OLD")
    store = client.app[GATEWAY].store
    calendar = next(c for c in await store.list_calendars(ALICE) if c.is_default)
    series = _vevent(
        "series", "20261207T100000Z", "DTEND:20261207T110000Z\r\nRRULE:FREQ=WEEKLY;COUNT=4\r\n"
    )
    ref = await store.put_item(ALICE, calendar.id, series)
    await new.start()
    await old.start()
    (server_id,) = commands(await new.sync(), "Add")
    await old.sync()
    edit = (
        f"<Change><ServerId>{server_id}</ServerId><B:InstanceId>20261214T100000Z</B:InstanceId>"
        "<ApplicationData><C:Subject>Moved once</C:Subject></ApplicationData></Change>"
    )
    assert (await new.sync(edit)).findall("//AirSync:Responses/*") == []
    (item,) = await store.get_items(ALICE, calendar.id, [ref.id])
    assert "RECURRENCE-ID" in item.ical and "Moved once" in item.ical
    assert "RRULE:FREQ=WEEKLY;COUNT=4" in item.ical
    changed = await old.sync()
    exception = changed.findall("//AirSync:Change//Calendar:Exception")
    assert [e.findtext("{Calendar:}Subject") for e in exception] == ["Moved once"]
    assert command_count(await new.sync()) == 0

    drop = (
        f"<Delete><ServerId>{server_id}</ServerId>"
        "<B:InstanceId>20261221T100000Z</B:InstanceId></Delete>"
    )
    await new.sync(drop)
    (item,) = await store.get_items(ALICE, calendar.id, [ref.id])
    assert "EXDATE" in item.ical
    assert len(await stored(client)) == 1
    deleted = [
        e.findtext("{Calendar:}Deleted")
        for e in (await old.sync()).findall("//AirSync:Change//Calendar:Exception")
    ]
    assert "1" in deleted


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


def subjects_of(answer: Answer) -> set[str]:
    return {texts["Subject"] for texts in commands(answer, "Add").values()}


async def test_filter_type_window_bounds_count_series(client: TestClient) -> None:  # type: ignore[type-arg]
    """A series bounded by COUNT is in the window exactly while its last instance is."""
    from datetime import UTC, datetime, timedelta

    a = _phone(client, "14.1", "DEVC")
    store = client.app[GATEWAY].store
    calendar = next(c for c in await store.list_calendars(ALICE) if c.is_default)
    now = datetime.now(UTC)
    ended = f"{now - timedelta(days=74):%Y%m%dT100000Z}"  # the third week: 60 days ago
    running = f"{now - timedelta(days=60):%Y%m%dT100000Z}"
    for uid, start, count in (("ended", ended, 3), ("running", running, 300)):
        rule = f"RRULE:FREQ=WEEKLY;COUNT={count}\r\n"
        await store.put_item(ALICE, calendar.id, _vevent(uid, start, rule))
    thirty_days = "<Options><FilterType>5</FilterType></Options>"
    await a.start(extra=thirty_days)
    assert subjects_of(await a.sync(extra=thirty_days)) == {"running"}
    everything = "<Options><FilterType>0</FilterType></Options>"
    assert subjects_of(await a.sync(extra=everything)) == {"ended"}
