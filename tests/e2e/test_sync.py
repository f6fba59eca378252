"""Sync over loopback HTTP: two devices of one user, 12.1, 14.1 and 16.1.

Each test starts a gateway (two run on SQLite and PostgreSQL); the slowest are
marked ``slow``. The Phone client, the fixtures and the helpers defined here are
shared: test_sync_requests.py (request options and statuses), test_sync_calendar.py
(FilterType windows, InstanceId) and many other e2e modules import them.
"""

from __future__ import annotations

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


def _vevent(uid: str, start: str, extra: str = "") -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20261125T120000Z\r\nDTSTART:{start}\r\n{extra}"
        f"SUMMARY:{uid}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def subjects_of(answer: Answer) -> set[str]:
    return {texts["Subject"] for texts in commands(answer, "Add").values()}
