"""Calendar sync and push through easgw in front of a real Radicale (issue 6 parts 2 and 4).

A gateway with ``store.type = "caldav"`` and ``store.poll_seconds = 1``;
two devices of one user at 14.1 and 16.1: every change of one reaches the
other and never comes back to its writer; an event PUT straight into
Radicale by another CalDAV client reaches the next Sync and wakes a held
Ping within the poll interval; a no-change Sync of a watched calendar is
answered from the poller's token (Radicale can be down meanwhile); a
read-only calendar refuses a phone's Change and Delete with Status 6 and the
stored version comes back.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from aiohttp.test_utils import TestClient

from easgw.app import GATEWAY, create_app
from easgw.config import Config
from easgw.gateway import Gateway
from providers.stores.base import StoreUser
from tests.e2e.test_sync import NS, command_count, commands, event
from tests.harness import Answer, EasClient, add_user, make_config
from tests.providers.radicale import RadicaleServer, radicale
from tests.providers.test_caldav_store import RIGHTS

__all__ = ["radicale"]  # the session fixture, imported for pytest

ClientFactory = Callable[..., Awaitable[TestClient]]  # type: ignore[type-arg]
VERSIONS = ["14.1", "16.1"]


def caldav_config(tmp_path: Path, server: RadicaleServer, poll_seconds: int = 1) -> Config:
    return make_config(
        tmp_path,
        f'[store]\ntype = "caldav"\nurl = "{server.url}"\npoll_seconds = {poll_seconds}\n'
        "[policy]\nrequired = false\n[ping]\nmin_heartbeat = 1\nmax_heartbeat = 60\n",
    )


@dataclass
class Phone:
    """A device of a Radicale user: its folders by type and a SyncKey per collection."""

    eas: EasClient
    folders: dict[str, str] = field(default_factory=dict)  # DisplayName -> ServerId
    calendar: str = ""
    keys: dict[str, str] = field(default_factory=dict)

    @property
    def version(self) -> str:
        return self.eas.version

    async def folder_sync(self) -> Answer:
        answer = await self.eas.command(
            "FolderSync", '<FolderSync xmlns="FolderHierarchy:"><SyncKey>0</SyncKey></FolderSync>'
        )
        assert answer.status == 200, answer.body
        for add in answer.findall("//FolderHierarchy:Add"):
            texts = {str(c.tag).split("}")[1]: c.text or "" for c in add}
            if texts["Type"] in ("8", "13"):
                self.folders[texts["DisplayName"]] = texts["ServerId"]
            if texts["Type"] == "8":
                self.calendar = texts["ServerId"]
        return answer

    async def sync(self, commands: str = "", *, collection: str = "", key: str = "") -> Answer:
        collection = collection or self.calendar
        key = key or self.keys.get(collection, "0")
        body = f"<Commands>{commands}</Commands>" if commands else ""
        xml = (
            f"<Sync {NS}><Collections><Collection><SyncKey>{key}</SyncKey>"
            f"<CollectionId>{collection}</CollectionId>{body}</Collection></Collections></Sync>"
        )
        answer = await self.eas.command("Sync", xml)
        assert answer.status == 200, answer.body
        new_key = answer.find("//AirSync:Collection/AirSync:SyncKey")
        if new_key and answer.find("//AirSync:Collection/AirSync:Status") == "1":
            self.keys[collection] = new_key
        return answer

    async def start(self, collection: str = "") -> Answer:
        """FolderSync (once), Sync 0, then the first Sync (what the calendar holds)."""
        if not self.folders:
            await self.folder_sync()
        await self.sync(key="0", collection=collection)
        return await self.sync(collection=collection)

    async def ping(self, heartbeat: int, collection: str = "") -> Answer:
        folder = f"<Folder><Id>{collection or self.calendar}</Id><Class>Calendar</Class></Folder>"
        xml = (
            f'<Ping xmlns="Ping:"><HeartbeatInterval>{heartbeat}</HeartbeatInterval>'
            f"<Folders>{folder}</Folders></Ping>"
        )
        answer = await self.eas.command("Ping", xml)
        assert answer.status == 200, answer.body
        return answer


@dataclass
class Setup:
    client: TestClient  # type: ignore[type-arg]
    server: RadicaleServer
    login: str
    password: str

    def phone(self, version: str, device_id: str) -> Phone:
        return Phone(
            EasClient(
                self.client,
                user=self.login,
                password=self.password,
                device_id=device_id,
                version=version,
            )
        )

    @property
    def gateway(self) -> Gateway:
        return self.client.app[GATEWAY]

    def other_client(self) -> httpx.AsyncClient:
        """Another CalDAV client of the same user, straight to Radicale."""
        return httpx.AsyncClient(base_url=self.server.url, auth=(self.login, self.password))

    def calendar_files(self, segment: str | None = None) -> list[Path]:
        """The .ics files in the user's (only, or named) calendar collection."""
        home = self.server.collections / self.login
        dirs = [d for d in home.iterdir() if d.is_dir() and not d.name.startswith(".")]
        if segment is not None:
            dirs = [d for d in dirs if d.name == segment]
        return sorted(f for d in dirs for f in d.glob("*.ics"))


async def make_setup(
    aiohttp_client: ClientFactory, tmp_path: Path, server: RadicaleServer, poll_seconds: int = 1
) -> Setup:
    login, password = server.add_user()
    config = caldav_config(tmp_path, server, poll_seconds)
    await add_user(config, login, password=None, email=f"{login}@example.com")
    client = await aiohttp_client(create_app(config))
    return Setup(client=client, server=server, login=login, password=password)


@pytest.fixture
async def setup(aiohttp_client: ClientFactory, tmp_path: Path, radicale: RadicaleServer) -> Setup:
    return await make_setup(aiohttp_client, tmp_path, radicale)


def vevent(uid: str, summary: str, extra: str = "") -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//other client//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20261125T120000Z\r\nDTSTART:20261202T090000Z\r\n"
        f"DTEND:20261202T100000Z\r\n{extra}SUMMARY:{summary}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def add_xml(version: str, client_id: str, subject: str, uid: str) -> str:
    return f"<Add><ClientId>{client_id}</ClientId>{event(version, subject, uid=uid)}</Add>"


def added_id(answer: Answer) -> str:
    assert answer.find("//AirSync:Responses/AirSync:Add/AirSync:Status") == "1", answer.body
    server_id = answer.find("//AirSync:Responses/AirSync:Add/AirSync:ServerId")
    assert server_id
    return server_id


@pytest.mark.parametrize("version", VERSIONS)
async def test_two_devices_converge_through_radicale(setup: Setup, version: str) -> None:
    a, b = setup.phone(version, "DEVA"), setup.phone(version, "DEVB")
    assert command_count(await a.start()) == 0
    assert command_count(await b.start()) == 0

    server_id = added_id(await a.sync(add_xml(version, "c1", "Standup", "standup-1@example.com")))
    (ics,) = setup.calendar_files()
    assert "SUMMARY:Standup" in ics.read_text(encoding="utf-8")
    assert commands(await b.sync(), "Add")[server_id]["Subject"] == "Standup"
    assert command_count(await a.sync()) == 0  # A's own Add does not come back

    partial = (
        f"<Change><ServerId>{server_id}</ServerId><ApplicationData>"
        "<C:Subject>Standup (moved)</C:Subject></ApplicationData></Change>"
    )
    if version.startswith("14"):  # 14.1 sends whole items: a partial one clears the rest
        partial = (
            f"<Change><ServerId>{server_id}</ServerId>"
            f"{event(version, 'Standup (moved)', uid='standup-1@example.com')}</Change>"
        )
    assert (await b.sync(partial)).findall("//AirSync:Responses/*") == []
    assert command_count(await b.sync()) == 0  # B's own edit does not come back
    changed = commands(await a.sync(), "Change")[server_id]
    assert changed["Subject"] == "Standup (moved)"
    where = "DisplayName" if version.startswith("16") else "Location"  # 16: B:Location
    assert changed[where] == "Room 1"  # the partial edit kept the rest
    assert "Standup (moved)" in setup.calendar_files()[0].read_text(encoding="utf-8")

    await a.sync(f"<Delete><ServerId>{server_id}</ServerId></Delete>")
    assert list(commands(await b.sync(), "Delete")) == [server_id]
    assert command_count(await a.sync()) == 0
    assert setup.calendar_files() == []


def _series(version: str) -> str:
    """A weekly series of four on Tuesdays from 1 December 2026, 14.1 with an Exception."""
    data = event(version, "Weekly", uid="weekly-1@example.com")
    recurrence = (
        "<C:Recurrence><C:Type>1</C:Type><C:Interval>1</C:Interval>"
        "<C:Occurrences>4</C:Occurrences><C:DayOfWeek>4</C:DayOfWeek></C:Recurrence>"
    )
    if version.startswith("14"):
        recurrence += (
            "<C:Exceptions><C:Exception><C:ExceptionStartTime>20261208T100000Z"
            "</C:ExceptionStartTime><C:Subject>Moved once</C:Subject>"
            "<C:StartTime>20261208T120000Z</C:StartTime><C:EndTime>20261208T130000Z</C:EndTime>"
            "</C:Exception></C:Exceptions>"
        )
    return data.replace("</ApplicationData>", recurrence + "</ApplicationData>")


@pytest.mark.parametrize("version", VERSIONS)
async def test_a_recurring_event_with_an_exception(setup: Setup, version: str) -> None:
    a, b = setup.phone(version, "DEVA"), setup.phone(version, "DEVB")
    await a.start()
    await b.start()
    server_id = added_id(await a.sync(f"<Add><ClientId>s1</ClientId>{_series(version)}</Add>"))
    if version.startswith("16"):  # 16.1 edits one instance by InstanceId
        edit = (
            f"<Change><ServerId>{server_id}</ServerId>"
            "<B:InstanceId>20261208T100000Z</B:InstanceId><ApplicationData>"
            "<C:Subject>Moved once</C:Subject></ApplicationData></Change>"
        )
        assert (await a.sync(edit)).findall("//AirSync:Responses/*") == []
    (ics,) = setup.calendar_files()
    text = ics.read_text(encoding="utf-8")
    assert "RRULE:FREQ=WEEKLY" in text and "RECURRENCE-ID" in text and "Moved once" in text
    got = await b.sync()
    adds = got.findall("//AirSync:Commands/AirSync:Add")
    assert len(adds) == 1
    exceptions = got.findall("//AirSync:Add//Calendar:Exception")
    assert [e.findtext("{Calendar:}Subject") for e in exceptions] == ["Moved once"]
    assert command_count(await a.sync()) == 0


async def _wait_watched(gateway: Gateway, ref: str, count: int = 1) -> None:
    for _ in range(500):
        if gateway.hub.watching(ref) == count and gateway.pollers and gateway.pollers.running():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{gateway.hub.watching(ref)} held on {ref}")


async def _default_ref(setup: Setup) -> str:
    user = StoreUser(login=setup.login, email=f"{setup.login}@example.com", password=setup.password)
    calendars = await setup.gateway.store.list_calendars(user)
    return "calendar:" + next(c.id for c in calendars if c.is_default)


@pytest.mark.parametrize("version", VERSIONS)
async def test_a_foreign_put_wakes_the_ping_and_reaches_the_sync(
    setup: Setup, version: str
) -> None:
    phone = setup.phone(version, "DEVA")
    await phone.start()
    ref = await _default_ref(setup)
    held = asyncio.create_task(phone.ping(heartbeat=30))
    await _wait_watched(setup.gateway, ref)
    await asyncio.sleep(0.2)
    assert not held.done()

    (calendar_dir,) = [d for d in (setup.server.collections / setup.login).iterdir() if d.is_dir()]
    put_at = time.monotonic()
    async with setup.other_client() as other:
        href = f"/{setup.login}/{calendar_dir.name}/foreign.ics"
        put = await other.put(
            href, content=vevent("foreign-1", "From Thunderbird"),
            headers={"Content-Type": "text/calendar", "If-None-Match": "*"},
        )  # fmt: skip
        assert put.status_code == 201
    answer = await asyncio.wait_for(held, 10)
    assert answer.find("/Ping:Ping/Ping:Status") == "2"
    assert time.monotonic() - put_at <= 1 + 1.0  # poll_seconds, plus a round trip's slack
    assert [f.text for f in answer.findall("//Ping:Folders/Ping:Folder")] == [phone.calendar]
    got = await phone.sync()
    assert [d["Subject"] for d in commands(got, "Add").values()] == ["From Thunderbird"]
    assert command_count(await phone.sync()) == 0
    assert setup.gateway.hub.watching(ref) == 0
    for _ in range(100):  # the last watcher gone, its poller stops
        if setup.gateway.pollers is not None and not len(setup.gateway.pollers):
            break
        await asyncio.sleep(0.01)
    assert setup.gateway.pollers is not None and len(setup.gateway.pollers) == 0


async def test_a_no_change_sync_of_a_watched_calendar_asks_radicale_nothing(
    aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    """While a Ping holds the calendar, the poller's fresh token answers the
    phone's no-change Sync: it works with Radicale stopped (within poll_seconds)."""
    server = RadicaleServer(tmp_path / "own-radicale")
    server.start()
    try:
        setup = await make_setup(aiohttp_client, tmp_path, server, poll_seconds=20)
        watcher, syncer = setup.phone("16.1", "WATCH"), setup.phone("16.1", "SYNC")
        await watcher.start()
        await syncer.start()
        key = syncer.keys[syncer.calendar]
        ref = await _default_ref(setup)
        held = asyncio.create_task(watcher.ping(heartbeat=30))
        await _wait_watched(setup.gateway, ref)
        server.stop()
        quiet = await syncer.sync()
        assert quiet.find("//AirSync:Collection/AirSync:Status") == "1"
        assert quiet.find("//AirSync:Collection/AirSync:SyncKey") == key
        assert command_count(quiet) == 0
        held.cancel()
        await asyncio.gather(held, return_exceptions=True)
        server.start()
    finally:
        server.stop()


@pytest.fixture(scope="module")
def radicale_with_rights(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RadicaleServer]:
    """A Radicale where collections named ``shared-*`` are read-only to their owner."""
    server = RadicaleServer(tmp_path_factory.mktemp("radicale-rights"), rights=RIGHTS)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize("version", VERSIONS)
async def test_a_read_only_calendar_refuses_and_restores(
    aiohttp_client: ClientFactory,
    tmp_path: Path,
    radicale_with_rights: RadicaleServer,
    version: str,
) -> None:
    setup = await make_setup(aiohttp_client, tmp_path, radicale_with_rights)
    shared = radicale_with_rights.collections / setup.login / "shared-team"
    shared.mkdir(parents=True)
    (shared / ".Radicale.props").write_text(
        '{"tag": "VCALENDAR", "D:displayname": "Team"}', encoding="utf-8"
    )
    original = vevent("standup", "Stand-up")
    (shared / "standup.ics").write_text(original, encoding="utf-8")
    phone = setup.phone(version, "DEVA")
    await phone.folder_sync()
    team = phone.folders["Team"]
    first = await phone.start(team)
    ((server_id, data),) = commands(first, "Add").items()
    assert data["Subject"] == "Stand-up"

    change = (
        f"<Change><ServerId>{server_id}</ServerId>"
        f"{event(version, 'Mine now', uid='standup')}</Change>"
    )
    refused = await phone.sync(change, collection=team)
    assert refused.find("//AirSync:Responses/AirSync:Change/AirSync:Status") == "6"
    back = commands(await phone.sync(collection=team), "Change")
    assert back[server_id]["Subject"] == "Stand-up"
    assert command_count(await phone.sync(collection=team)) == 0

    deleted = await phone.sync(
        f"<Delete><ServerId>{server_id}</ServerId></Delete>", collection=team
    )
    assert deleted.find("//AirSync:Responses/AirSync:Delete/AirSync:Status") == "6"
    again = await phone.sync(collection=team)
    assert [d["Subject"] for d in commands(again, "Add").values()] == ["Stand-up"]
    assert (shared / "standup.ics").read_bytes() == original.encode()  # untouched


@pytest.mark.parametrize("version", VERSIONS)
async def test_an_add_wakes_the_other_devices_ping_at_once_and_not_its_own(
    setup: Setup, version: str
) -> None:
    a, b = setup.phone(version, "DEVA"), setup.phone(version, "DEVB")
    await a.start()
    await b.start()
    ref = await _default_ref(setup)
    own = asyncio.create_task(a.ping(heartbeat=2))
    other = asyncio.create_task(b.ping(heartbeat=30))
    await _wait_watched(setup.gateway, ref, 2)
    added = time.monotonic()
    await a.sync(add_xml(version, "c1", "Standup", "standup-2@example.com"))
    answer = await asyncio.wait_for(other, 5)
    assert time.monotonic() - added < 0.9  # the store's change feed, not the 1 s poll
    assert answer.find("/Ping:Ping/Ping:Status") == "2"
    assert [d["Subject"] for d in commands(await b.sync(), "Add").values()] == ["Standup"]
    assert (await own).find("/Ping:Ping/Ping:Status") == "1"  # A's own Add did not wake A
