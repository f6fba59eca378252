"""FolderSync, FolderCreate, FolderUpdate, FolderDelete over loopback HTTP."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from easgw.app import GATEWAY, create_app
from easgw.config import Config
from protocol import wbxml
from providers.stores.base import StoreUnavailable, StoreUser
from tests.conftest import VECTORS
from tests.harness import Answer, EasClient, add_user, make_config

ClientFactory = Callable[..., Awaitable[TestClient]]  # type: ignore[type-arg]
VERSIONS = ["12.1", "14.1", "16.1"]
ALICE = StoreUser(login="alice", email="alice@example.com")
FH = 'xmlns="FolderHierarchy:"'


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path, "[policy]\nrequired = false\n")


@pytest.fixture
async def client(aiohttp_client: ClientFactory, config: Config) -> TestClient:  # type: ignore[type-arg]
    await add_user(config, "alice", "secret", "alice@example.com")
    return await aiohttp_client(create_app(config))


def _store(client: TestClient) -> Any:  # type: ignore[type-arg]
    return client.app[GATEWAY].store


async def folder_sync(phone: EasClient, key: str) -> Answer:
    answer = await phone.command(
        "FolderSync", f"<FolderSync {FH}><SyncKey>{key}</SyncKey></FolderSync>"
    )
    assert answer.status == 200, answer.body
    return answer


def _folders(answer: Answer, kind: str = "Add") -> dict[str, tuple[str, str, str]]:
    """ServerId -> (DisplayName, Type, ParentId) of the Add (or Update) entries."""
    found = {}
    for element in answer.findall(f"//FolderHierarchy:Changes/FolderHierarchy:{kind}"):
        texts = {child.tag.split("}")[1]: child.text or "" for child in element}
        found[texts["ServerId"]] = (texts["DisplayName"], texts["Type"], texts["ParentId"])
    return found


def _deleted(answer: Answer) -> list[str]:
    return [
        e.text or "" for e in answer.findall("//FolderHierarchy:Delete/FolderHierarchy:ServerId")
    ]


def _count(answer: Answer) -> int:
    return int(answer.find("//FolderHierarchy:Changes/FolderHierarchy:Count") or "-1")


def _check_initial_listing(answer: Answer) -> None:
    """Key 0: the default calendar (Type 8) and the five mail folders, all at the root."""
    assert answer.find("//FolderHierarchy:Status") == "1"
    assert answer.find("//FolderHierarchy:SyncKey") == "1"
    folders = _folders(answer)
    assert _count(answer) == len(folders) == 6
    by_type = {kind: (name, parent) for name, kind, parent in folders.values()}
    assert by_type == {
        "8": ("Calendar", "0"),
        "2": ("Inbox", "0"),
        "3": ("Drafts", "0"),
        "4": ("Deleted Items", "0"),
        "5": ("Sent Items", "0"),
        "6": ("Outbox", "0"),
    }
    assert all(0 < len(server_id) <= 64 for server_id in folders)


@pytest.mark.parametrize("version", VERSIONS)
async def test_initial_listing_then_store_changes(
    client: TestClient,  # type: ignore[type-arg]
    version: str,
) -> None:
    phone = EasClient(client, version=version)
    _check_initial_listing(await folder_sync(phone, "0"))
    unchanged = await folder_sync(phone, "1")
    assert unchanged.find("//FolderHierarchy:SyncKey") == "1"
    assert _count(unchanged) == 0
    holidays = await _store(client).create_calendar(ALICE, "Holidays")
    added = await folder_sync(phone, "1")
    assert added.find("//FolderHierarchy:SyncKey") == "2"
    [(server_id, entry)] = _folders(added).items()
    assert entry == ("Holidays", "13", "0")
    await _store(client).rename_calendar(ALICE, holidays.id, "Public holidays")
    updated = await folder_sync(phone, "2")
    assert _folders(updated, "Update") == {server_id: ("Public holidays", "13", "0")}
    assert _count(updated) == 1
    await _store(client).delete_calendar(ALICE, holidays.id)
    deleted = await folder_sync(phone, "3")
    assert _deleted(deleted) == [server_id]
    assert deleted.find("//FolderHierarchy:SyncKey") == "4"
    assert _count(await folder_sync(phone, "4")) == 0


async def test_lost_answer_is_replayed_byte_for_byte(client: TestClient) -> None:  # type: ignore[type-arg]
    phone = EasClient(client, version="14.1")
    await folder_sync(phone, "0")
    restart = await folder_sync(phone, "0")  # a new 0 is a fresh start, not a replay
    assert restart.find("//FolderHierarchy:SyncKey") == "2"
    await _store(client).create_calendar(ALICE, "Team")
    answer = await folder_sync(phone, "2")
    assert answer.find("//FolderHierarchy:SyncKey") == "3"
    again = await folder_sync(phone, "2")
    assert again.body == answer.body
    await _store(client).create_calendar(ALICE, "Later")
    assert (await folder_sync(phone, "2")).body == answer.body  # still the same answer
    later = await folder_sync(phone, "3")
    assert [v[0] for v in _folders(later).values()] == ["Later"]  # Team is not doubled


async def test_unknown_key_is_status_9(client: TestClient) -> None:  # type: ignore[type-arg]
    phone = EasClient(client, version="14.1")
    assert (await folder_sync(phone, "1")).find("//FolderHierarchy:Status") == "9"  # no sync yet
    await folder_sync(phone, "0")
    for key in ["7", "abc", "", "01", " 1", "x" * 100, "-1"]:
        answer = await folder_sync(phone, key)
        assert answer.find("//FolderHierarchy:Status") == "9", key
        assert answer.find("//FolderHierarchy:SyncKey") is None
    assert _count(await folder_sync(phone, "1")) == 0  # the state did not move


async def test_malformed_request_is_status_10(client: TestClient) -> None:  # type: ignore[type-arg]
    phone = EasClient(client, version="14.1")
    answer = await phone.command("FolderSync", f"<FolderSync {FH}/>")
    assert answer.status == 200
    assert answer.find("//FolderHierarchy:Status") == "10"
    empty = await phone.command("FolderSync", body=b"")
    assert empty.find("//FolderHierarchy:Status") == "10"


async def test_real_client_request_gets_a_well_formed_answer(client: TestClient) -> None:  # type: ignore[type-arg]
    """Windows Mobile 6.1's FolderSync (a public capture) carries another
    server's key: a well-formed Status 9, so the phone starts over at 0."""
    vector = VECTORS / "bluemind" / "foldersync_wm61.wbxml"
    if not vector.exists():
        pytest.skip(f"{vector} is absent")
    phone = EasClient(
        client, version="12.1", device_type="WindowsMobile", user_agent="MSFT-PPC/5.2"
    )
    answer = await phone.command("FolderSync", body=vector.read_bytes())
    assert answer.status == 200
    assert answer.tree is not None
    assert answer.tree.tag == "{FolderHierarchy:}FolderSync"
    assert answer.find("//FolderHierarchy:Status") == "9"
    assert wbxml.encode(answer.tree) == answer.body


async def test_two_devices_see_the_same_ids(client: TestClient) -> None:  # type: ignore[type-arg]
    await _store(client).create_calendar(ALICE, "Team")
    one = _folders(await folder_sync(EasClient(client, device_id="ONE"), "0"))
    two = _folders(await folder_sync(EasClient(client, device_id="TWO", version="14.1"), "0"))
    assert one == two
    assert len(one) == 7


def _create(key: str, name: str, folder_type: int = 13, parent: str = "0") -> str:
    return (
        f"<FolderCreate {FH}><SyncKey>{key}</SyncKey><ParentId>{parent}</ParentId>"
        f"<DisplayName>{name}</DisplayName><Type>{folder_type}</Type></FolderCreate>"
    )


def _update(key: str, server_id: str, name: str, parent: str = "0") -> str:
    return (
        f"<FolderUpdate {FH}><SyncKey>{key}</SyncKey><ServerId>{server_id}</ServerId>"
        f"<ParentId>{parent}</ParentId><DisplayName>{name}</DisplayName></FolderUpdate>"
    )


def _delete(key: str, server_id: str) -> str:
    return (
        f"<FolderDelete {FH}><SyncKey>{key}</SyncKey>"
        f"<ServerId>{server_id}</ServerId></FolderDelete>"
    )


async def _names(client: TestClient) -> list[str]:  # type: ignore[type-arg]
    return [c.display_name for c in await _store(client).list_calendars(ALICE)]


@pytest.mark.parametrize("version", VERSIONS)
async def test_own_folder_changes_are_applied_and_not_echoed(
    client: TestClient,  # type: ignore[type-arg]
    version: str,
) -> None:
    phone = EasClient(client, version=version)
    other = EasClient(client, version="14.1", device_id="OTHER")
    await folder_sync(phone, "0")
    await folder_sync(other, "0")
    created = await phone.command("FolderCreate", _create("1", "Work"))
    assert created.find("//FolderHierarchy:Status") == "1"
    assert created.find("//FolderHierarchy:SyncKey") == "2"
    server_id = created.find("//FolderHierarchy:ServerId")
    assert server_id
    assert "Work" in await _names(client)
    assert _count(await folder_sync(phone, "2")) == 0
    assert _folders(await folder_sync(other, "1")) == {server_id: ("Work", "13", "0")}

    updated = await phone.command("FolderUpdate", _update("2", server_id, "Office"))
    assert updated.find("//FolderHierarchy:Status") == "1"
    assert updated.find("//FolderHierarchy:SyncKey") == "3"
    assert "Office" in await _names(client)
    assert _count(await folder_sync(phone, "3")) == 0
    assert _folders(await folder_sync(other, "2"), "Update") == {server_id: ("Office", "13", "0")}

    deleted = await phone.command("FolderDelete", _delete("3", server_id))
    assert deleted.find("//FolderHierarchy:Status") == "1"
    assert deleted.find("//FolderHierarchy:SyncKey") == "4"
    assert "Office" not in await _names(client)
    assert _count(await folder_sync(phone, "4")) == 0
    assert _deleted(await folder_sync(other, "3")) == [server_id]


async def test_create_under_a_calendar_lands_at_the_root(client: TestClient) -> None:  # type: ignore[type-arg]
    phone = EasClient(client, version="14.1")
    folders = _folders(await folder_sync(phone, "0"))
    calendar_id = next(sid for sid, (_, kind, _) in folders.items() if kind == "8")
    created = await phone.command("FolderCreate", _create("1", "Sub", parent=calendar_id))
    assert created.find("//FolderHierarchy:Status") == "1"
    server_id = created.find("//FolderHierarchy:ServerId")
    assert server_id
    # The store is flat: the next FolderSync moves the folder to the root.
    moved = await folder_sync(phone, "2")
    assert _folders(moved, "Update") == {server_id: ("Sub", "13", "0")}


async def test_folder_command_statuses(client: TestClient) -> None:  # type: ignore[type-arg]
    phone = EasClient(client, version="14.1")
    folders = _folders(await folder_sync(phone, "0"))
    by_type = {kind: sid for sid, (_, kind, _) in folders.items()}
    calendar, inbox = by_type["8"], by_type["2"]

    async def status(command: str, xml: str) -> str | None:
        answer = await phone.command(command, xml)
        assert answer.status == 200
        if answer.find("//FolderHierarchy:Status") != "1":
            assert answer.find("//FolderHierarchy:SyncKey") is None
        return answer.find("//FolderHierarchy:Status")

    assert await status("FolderCreate", _create("9", "X")) == "9"
    assert await status("FolderCreate", _create("1", "Mail", folder_type=12)) == "3"
    assert await status("FolderCreate", _create("1", "Tasks", folder_type=7)) == "3"
    assert await status("FolderCreate", _create("1", "calendar")) == "2"
    assert await status("FolderCreate", _create("1", "Y", parent="999")) == "5"
    assert await status("FolderCreate", _create("1", "Y", parent=inbox)) == "3"
    assert await status("FolderCreate", _create("1", "Y", folder_type=99)) == "10"
    assert await status("FolderUpdate", _update("9", calendar, "Z")) == "9"
    assert await status("FolderUpdate", _update("1", calendar, "Z")) == "2"
    assert await status("FolderUpdate", _update("1", inbox, "Z")) == "2"
    assert await status("FolderUpdate", _update("1", "999", "Z")) == "4"
    assert (
        await status("FolderUpdate", f"<FolderUpdate {FH}><ServerId>1</ServerId></FolderUpdate>")
        == "10"
    )
    assert await status("FolderDelete", _delete("9", calendar)) == "9"
    assert await status("FolderDelete", _delete("1", calendar)) == "3"
    assert await status("FolderDelete", _delete("1", inbox)) == "3"
    assert await status("FolderDelete", _delete("1", "999")) == "4"
    # None of the refusals moved the key or touched the store.
    assert _count(await folder_sync(phone, "1")) == 0
    assert await _names(client) == ["Calendar"]
    created = await phone.command("FolderCreate", _create("1", "Team"))
    team = created.find("//FolderHierarchy:ServerId")
    assert team
    assert await status("FolderCreate", _create("2", "TEAM")) == "2"
    assert await status("FolderUpdate", _update("2", team, "Calendar")) == "2"
    assert await status("FolderUpdate", _update("2", team, "Team", parent="999")) == "5"
    assert await status("FolderUpdate", _update("2", team, "team")) == "1"  # its own name


async def test_store_unavailable_is_503(
    client: TestClient,  # type: ignore[type-arg]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def down(*args: object, **kwargs: object) -> None:
        raise StoreUnavailable("down", retry_after=7)

    monkeypatch.setattr(_store(client), "list_calendars", down)
    answer = await EasClient(client, version="14.1").command(
        "FolderSync", f"<FolderSync {FH}><SyncKey>0</SyncKey></FolderSync>"
    )
    assert answer.status == 503
    assert answer.headers["Retry-After"] == "7"
    assert b"Traceback" not in answer.body
