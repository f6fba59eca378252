"""easgw.folders: the folder map (stable per-user ServerIds) and the hierarchy diff."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select

from easgw.folders import (
    MAIL_FOLDERS,
    FolderMap,
    Snapshot,
    calendar_ref,
    hierarchy_changes,
    list_folders,
    mail_ref,
    snapshot_of,
)
from easgw.gateway import Gateway
from easgw.state.models import Folder, User
from protocol.folders import FolderEntry, FolderType
from providers.stores.base import Calendar, StoreUser
from tests.harness import add_user, make_config

# --- the pure diff ------------------------------------------------------------------------


def _entry(server_id: str, value: list[str | int]) -> FolderEntry:
    return FolderEntry(
        server_id=server_id,
        parent_id=str(value[0]),
        display_name=str(value[1]),
        type=FolderType(int(value[2])),
    )


CAL: list[str | int] = ["0", "Calendar", 8]
WORK: list[str | int] = ["0", "Work", 13]
INBOX: list[str | int] = ["0", "Inbox", 2]


@pytest.mark.parametrize(
    ("held", "now", "update", "delete", "add"),
    [
        ({}, {}, [], [], []),
        ({"1": CAL}, {"1": CAL}, [], [], []),
        ({}, {"1": CAL, "2": INBOX}, [], [], ["1", "2"]),
        ({"1": CAL, "3": WORK}, {"1": CAL}, [], ["3"], []),
        ({"3": WORK}, {"3": ["0", "Office", 13]}, ["3"], [], []),
        ({"3": ["1", "Work", 13]}, {"3": WORK}, ["3"], [], []),
        ({"1": CAL, "3": WORK}, {"1": ["0", "Kalender", 8], "4": WORK}, ["1"], ["3"], ["4"]),
    ],
)
def test_hierarchy_changes(
    held: Snapshot, now: Snapshot, update: list[str], delete: list[str], add: list[str]
) -> None:
    changes = hierarchy_changes(held, now)
    assert [e.server_id for e in changes.update] == update
    assert list(changes.delete) == delete
    assert [e.server_id for e in changes.add] == add
    assert changes.count == len(update) + len(delete) + len(add)
    for entry in (*changes.update, *changes.add):
        assert entry == _entry(entry.server_id, now[entry.server_id])


def test_hierarchy_changes_accept_json_round_tripped_snapshots() -> None:
    """JSON keeps lists, strings and integers: a stored snapshot compares equal."""
    assert hierarchy_changes({"1": ["0", "Calendar", 8]}, {"1": ["0", "Calendar", 8]}).count == 0


# --- the folder map over a real database -----------------------------------------------


@pytest.fixture
async def gateway(tmp_path: Path, database_url: str) -> AsyncIterator[Gateway]:
    config = make_config(tmp_path, database_url=database_url)
    await add_user(config, "alice")
    await add_user(config, "bob")
    gateway = Gateway(config)
    await gateway.open()
    try:
        yield gateway
    finally:
        await gateway.close()


async def _user_id(gateway: Gateway, login: str) -> int:
    async with gateway.database.sessions() as session:
        user_id = await session.scalar(select(User.id).where(User.login == login))
    assert user_id is not None
    return user_id


async def test_ids_are_short_decimal_stable_and_per_user(gateway: Gateway) -> None:
    alice = FolderMap(gateway.database.sessions, await _user_id(gateway, "alice"))
    refs = [calendar_ref("x" * 40), mail_ref("inbox"), mail_ref("sent")]
    first = await alice.server_ids(refs)
    assert first == {refs[0]: "1", refs[1]: "2", refs[2]: "3"}
    assert await alice.server_ids(list(reversed(refs))) == first
    more = await alice.server_ids([calendar_ref("new"), refs[1]])
    assert more == {calendar_ref("new"): "4", refs[1]: "2"}
    assert await alice.store_ref("4") == calendar_ref("new")
    assert await alice.store_ref("99") is None
    bob = FolderMap(gateway.database.sessions, await _user_id(gateway, "bob"))
    assert await bob.server_ids([refs[2]]) == {refs[2]: "1"}
    assert await bob.store_ref("2") is None


async def test_concurrent_allocation_agrees(gateway: Gateway) -> None:
    """Two devices of one user listing at once get the same ids, no duplicate rows."""
    user_id = await _user_id(gateway, "alice")
    refs = [calendar_ref(f"c{i}") for i in range(5)]
    results = await asyncio.gather(
        *(FolderMap(gateway.database.sessions, user_id).server_ids(refs) for _ in range(4))
    )
    assert all(result == results[0] for result in results)
    assert sorted(results[0].values(), key=int) == ["1", "2", "3", "4", "5"]
    async with gateway.database.sessions() as session:
        rows = (await session.scalars(select(Folder).where(Folder.user_id == user_id))).all()
    assert len(rows) == 5


class _Store:
    """A store whose calendar list the test edits."""

    def __init__(self, calendars: list[Calendar]) -> None:
        self.calendars = calendars

    async def list_calendars(self, user: StoreUser) -> list[Calendar]:
        del user
        return list(self.calendars)


def _ctx(gateway: Gateway, user_id: int, store: Any) -> Any:
    return SimpleNamespace(
        gateway=SimpleNamespace(store=store, database=gateway.database),
        store_user=StoreUser(login="alice", email="alice@example.com"),
        user=SimpleNamespace(id=user_id),
    )


async def test_list_folders_types_ids_and_relisting(gateway: Gateway) -> None:
    user_id = await _user_id(gateway, "alice")
    store_id = "https://dav.example.com/calendars/alice/team-calendar-with-a-long-href/"
    store = _Store(
        [
            Calendar(id=store_id, display_name="Team"),
            Calendar(id="default-id", display_name="Calendar", is_default=True),
        ]
    )
    ctx = _ctx(gateway, user_id, store)
    folders = await list_folders(ctx)
    kinds = [(f.display_name, f.type, f.parent_id) for f in folders]
    assert kinds == [
        ("Calendar", FolderType.Calendar, "0"),
        ("Team", FolderType.UserCalendar, "0"),
        ("Inbox", FolderType.Inbox, "0"),
        ("Drafts", FolderType.Drafts, "0"),
        ("Deleted Items", FolderType.DeletedItems, "0"),
        ("Sent Items", FolderType.SentItems, "0"),
        ("Outbox", FolderType.Outbox, "0"),
    ]
    assert [m.type for m in MAIL_FOLDERS] == [2, 3, 4, 5, 6]
    ids = [f.server_id for f in folders]
    assert len(set(ids)) == len(ids)
    assert all(len(sid) <= 64 and store_id not in sid for sid in ids)
    team = folders[1]
    assert team.calendar_id == store_id and not team.is_special
    assert folders[0].is_special and folders[2].is_special and not folders[2].is_calendar
    # A second device lists the same ids; a calendar that vanishes and comes
    # back under the same store id keeps its ServerId.
    assert [f.server_id for f in await list_folders(ctx)] == ids
    store.calendars = store.calendars[1:]
    assert team.server_id not in [f.server_id for f in await list_folders(ctx)]
    store.calendars.append(Calendar(id=store_id, display_name="Team again"))
    back = await list_folders(ctx)
    assert [f.server_id for f in back if f.calendar_id == store_id] == [team.server_id]
    assert snapshot_of(back)[team.server_id] == ["0", "Team again", 13]


async def test_list_folders_with_the_embedded_store(gateway: Gateway) -> None:
    user_id = await _user_id(gateway, "alice")
    ctx = _ctx(gateway, user_id, gateway.store)
    user = ctx.store_user
    first = await list_folders(ctx)
    assert [(f.display_name, f.type) for f in first[:2]] == [
        ("Calendar", FolderType.Calendar),
        ("Inbox", FolderType.Inbox),
    ]
    created = await gateway.store.create_calendar(user, "Holidays")
    second = await list_folders(ctx)
    holidays = [f for f in second if f.calendar_id == created.id]
    assert [(f.display_name, f.type) for f in holidays] == [("Holidays", FolderType.UserCalendar)]
    assert {f.server_id for f in first} < {f.server_id for f in second}
