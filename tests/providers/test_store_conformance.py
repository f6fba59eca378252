"""One conformance suite for every calendar store (as xandikos's BaseStoreTest).

``StoreConformance`` holds the tests, written against the ``Store`` protocol
only. Each store gets a ``Test...`` subclass whose ``store`` fixture yields a
working store; adding a store (CalDAV) is adding one subclass. A store may be
shared by a module's tests: each test acts for users of its own (the
``alice`` and ``bob`` fixtures, fresh logins every time).
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from providers.stores.base import (
    Changes,
    InvalidData,
    NotFound,
    PreconditionFailed,
    ReadOnly,
    Store,
    StoreUser,
    find_uid,
)
from providers.stores.sql import SqlStore
from tests.providers.ical_samples import event, todo

URL_SAFE = re.compile(r"[A-Za-z0-9._~@-]+")

INVALID_ICAL = {
    "garbage": "this is not iCalendar",
    "empty": "",
    "no-components": "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n",
    "bare-vevent": "BEGIN:VEVENT\r\nUID:bare\r\nEND:VEVENT\r\n",
    "no-uid": event("x").replace("UID:x\r\n", ""),
    "two-uids": event("one").replace(
        "END:VCALENDAR", "BEGIN:VEVENT\r\nUID:two\r\nEND:VEVENT\r\nEND:VCALENDAR"
    ),
    "two-calendars": event("one") + event("one"),
    "unterminated": event("x").replace("END:VCALENDAR\r\n", ""),
    "event-and-todo": event("mix").replace("END:VCALENDAR", todo("mix").split("\r\n", 3)[3]),
    "broken-dtstart": event("x").replace("DTSTART:20250110T100000Z", "DTSTART:tomorrow"),
}
ODD_UIDS = {
    "long": "x" * 300,
    "slashes": "a/b/../c",
    "unicode": "événement-ü-日本@example.com",
    "spaces": "has spaces and ?query=1#frag",
    "dots": "..",
    "hash-like": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "63-safe": "s" * 63,
    "64-safe": "s" * 64,
}


class StoreConformance:
    """Tests every ``Store`` must pass; subclasses provide the ``store`` fixture."""

    @pytest.fixture
    def alice(self) -> StoreUser:
        """A user new to the store (each test gets its own)."""
        return _new_user("alice")

    @pytest.fixture
    def bob(self) -> StoreUser:
        """Another user new to the store."""
        return _new_user("bob")

    @pytest_asyncio.fixture
    async def calendar_id(self, store: Store, alice: StoreUser) -> str:
        """Alice's default calendar."""
        (default,) = [c for c in await store.list_calendars(alice) if c.is_default]
        return default.id

    # -- calendars ------------------------------------------------------------------

    async def test_default_calendar_is_created_once(self, store: Store, alice: StoreUser) -> None:
        first = await store.list_calendars(alice)
        second = await store.list_calendars(alice)
        assert first == second
        assert len(first) == 1
        assert first[0].is_default
        assert first[0].display_name == "Calendar"
        assert not first[0].read_only

    async def test_concurrent_first_calls_make_one_default(
        self, store: Store, alice: StoreUser
    ) -> None:
        results = await asyncio.gather(*(store.list_calendars(alice) for _ in range(4)))
        assert all(result == results[0] for result in results)
        assert [c.is_default for c in results[0]] == [True]
        assert await store.list_calendars(alice) == results[0]

    async def test_create_rename_delete_calendar(
        self, store: Store, calendar_id: str, alice: StoreUser
    ) -> None:
        created = await store.create_calendar(alice, "Work")
        assert created.display_name == "Work"
        assert not created.is_default
        assert created.id != calendar_id
        assert URL_SAFE.fullmatch(created.id)
        listed = await store.list_calendars(alice)
        assert [c.id for c in listed] == [calendar_id, created.id]
        renamed = await store.rename_calendar(alice, created.id, "Travail ✈")
        assert renamed.id == created.id
        assert renamed.display_name == "Travail ✈"
        assert [c.display_name for c in await store.list_calendars(alice)] == [
            "Calendar",
            "Travail ✈",
        ]
        await store.delete_calendar(alice, created.id)
        assert [c.id for c in await store.list_calendars(alice)] == [calendar_id]

    async def test_rename_default_keeps_it_default(
        self, store: Store, calendar_id: str, alice: StoreUser
    ) -> None:
        renamed = await store.rename_calendar(alice, calendar_id, "Home")
        assert renamed.is_default
        assert [(c.display_name, c.is_default) for c in await store.list_calendars(alice)] == [
            ("Home", True)
        ]

    async def test_missing_calendar_is_not_found(
        self, store: Store, calendar_id: str, alice: StoreUser
    ) -> None:
        with pytest.raises(NotFound):
            await store.rename_calendar(alice, "no-such-calendar", "X")
        with pytest.raises(NotFound):
            await store.delete_calendar(alice, "no-such-calendar")
        with pytest.raises(NotFound):
            await store.list_items(alice, "no-such-calendar")
        with pytest.raises(NotFound):
            await store.put_item(alice, "no-such-calendar", event("u1"))
        with pytest.raises(NotFound):
            await store.changes_since(alice, "no-such-calendar", None)

    async def test_default_calendar_cannot_be_deleted(
        self, store: Store, calendar_id: str, alice: StoreUser
    ) -> None:
        await store.put_item(alice, calendar_id, event("kept"))
        with pytest.raises(ReadOnly):
            await store.delete_calendar(alice, calendar_id)
        assert [c.id for c in await store.list_calendars(alice)] == [calendar_id]
        assert [ref.uid for ref in await store.list_items(alice, calendar_id)] == ["kept"]

    async def test_deleting_a_calendar_deletes_its_items(
        self, store: Store, alice: StoreUser
    ) -> None:
        work = await store.create_calendar(alice, "Work")
        await store.put_item(alice, work.id, event("w1"))
        await store.delete_calendar(alice, work.id)
        with pytest.raises(NotFound):
            await store.list_items(alice, work.id)
        with pytest.raises(NotFound):
            await store.get_items(alice, work.id, ["w1"])

    # -- items ----------------------------------------------------------------------

    async def test_put_get_list_delete_item(
        self, store: Store, calendar_id: str, alice: StoreUser
    ) -> None:
        ical = event("meeting-1", "Kick-off")
        ref = await store.put_item(alice, calendar_id, ical, if_none_match=True)
        assert ref.uid == "meeting-1"
        assert await store.list_items(alice, calendar_id) == [ref]
        (item,) = await store.get_items(alice, calendar_id, [ref.id])
        assert item.ref == ref
        assert item.ical == ical
        await store.delete_item(alice, calendar_id, ref.id, if_match=ref.etag)
        assert await store.list_items(alice, calendar_id) == []
        assert await store.get_items(alice, calendar_id, [ref.id]) == []
        with pytest.raises(NotFound):
            await store.delete_item(alice, calendar_id, ref.id)

    async def test_todo_and_recurrence_overrides_are_stored(
        self, store: Store, calendar_id: str, alice: StoreUser
    ) -> None:
        task = await store.put_item(alice, calendar_id, todo("task-1"))
        override = event("series", "Moved").replace(
            "END:VCALENDAR",
            "BEGIN:VEVENT\r\nUID:series\r\nRECURRENCE-ID:20250117T100000Z\r\n"
            "DTSTAMP:20250101T090000Z\r\nDTSTART:20250118T100000Z\r\nEND:VEVENT\r\n"
            "END:VCALENDAR",
        )
        series = await store.put_item(
            alice, calendar_id, override.replace("SUMMARY:Moved", "RRULE:FREQ=WEEKLY")
        )
        assert {task.uid, series.uid} == {"task-1", "series"}
        assert len(await store.list_items(alice, calendar_id)) == 2

    async def test_get_items_leaves_out_missing_ids(
        self, store: Store, calendar_id: str, alice: StoreUser
    ) -> None:
        first = await store.put_item(alice, calendar_id, event("g1"))
        second = await store.put_item(alice, calendar_id, event("g2"))
        found = await store.get_items(
            alice, calendar_id, [second.id, "missing", first.id, "x" * 300, second.id]
        )
        assert [item.ref for item in found] == [second, first]
        assert await store.get_items(alice, calendar_id, []) == []

    async def test_etag_changes_on_every_write(
        self, store: Store, calendar_id: str, alice: StoreUser
    ) -> None:
        ical = event("same-content")
        etags = [(await store.put_item(alice, calendar_id, ical)).etag for _ in range(3)]
        assert len(set(etags)) == 3
        (ref,) = await store.list_items(alice, calendar_id)
        assert ref.etag == etags[-1]

    async def test_put_without_id_replaces_the_same_uid(
        self, store: Store, calendar_id: str, alice: StoreUser
    ) -> None:
        first = await store.put_item(alice, calendar_id, event("u", "One"))
        second = await store.put_item(alice, calendar_id, event("u", "Two"))
        assert second.id == first.id
        (item,) = await store.get_items(alice, calendar_id, [first.id])
        assert "SUMMARY:Two" in item.ical

    async def test_if_none_match_refuses_an_existing_uid_or_id(
        self, store: Store, calendar_id: str, alice: StoreUser
    ) -> None:
        ref = await store.put_item(alice, calendar_id, event("dup", "Original"))
        with pytest.raises(PreconditionFailed):
            await store.put_item(alice, calendar_id, event("dup", "Copy"), if_none_match=True)
        with pytest.raises(PreconditionFailed):
            await store.put_item(
                alice, calendar_id, event("other", "Copy"), item_id=ref.id, if_none_match=True
            )
        (item,) = await store.get_items(alice, calendar_id, [ref.id])
        assert item.ref == ref
        assert "SUMMARY:Original" in item.ical

    async def test_if_match_replaces_only_that_version(
        self, store: Store, calendar_id: str, alice: StoreUser
    ) -> None:
        first = await store.put_item(alice, calendar_id, event("m", "v1"))
        second = await store.put_item(
            alice, calendar_id, event("m", "v2"), item_id=first.id, if_match=first.etag
        )
        with pytest.raises(PreconditionFailed):
            await store.put_item(
                alice, calendar_id, event("m", "v3"), item_id=first.id, if_match=first.etag
            )
        with pytest.raises(PreconditionFailed):
            await store.delete_item(alice, calendar_id, first.id, if_match=first.etag)
        (item,) = await store.get_items(alice, calendar_id, [first.id])
        assert item.ref == second
        assert "SUMMARY:v2" in item.ical

    async def test_if_match_on_a_missing_item_fails(
        self, store: Store, calendar_id: str, alice: StoreUser
    ) -> None:
        with pytest.raises(PreconditionFailed):
            await store.put_item(alice, calendar_id, event("ghost"), if_match="some-etag")
        assert await store.list_items(alice, calendar_id) == []

    async def test_a_uid_belongs_to_one_item(
        self, store: Store, calendar_id: str, alice: StoreUser
    ) -> None:
        first = await store.put_item(alice, calendar_id, event("uid-a"))
        second = await store.put_item(alice, calendar_id, event("uid-b"))
        with pytest.raises(PreconditionFailed):
            await store.put_item(alice, calendar_id, event("uid-a"), item_id=second.id)
        assert {ref.uid for ref in await store.list_items(alice, calendar_id)} == {"uid-a", "uid-b"}
        assert first.id != second.id

    async def test_concurrent_creates_of_one_uid_make_one_item(
        self, store: Store, calendar_id: str, alice: StoreUser
    ) -> None:
        results = await asyncio.gather(
            *(
                store.put_item(alice, calendar_id, event("race", f"#{n}"), if_none_match=True)
                for n in range(4)
            ),
            return_exceptions=True,
        )
        created = [r for r in results if not isinstance(r, BaseException)]
        assert len(created) == 1
        assert all(isinstance(r, PreconditionFailed) for r in results if r not in created)
        assert await store.list_items(alice, calendar_id) == created

    async def test_concurrent_replaces_of_one_version_make_one_winner(
        self, store: Store, calendar_id: str, alice: StoreUser
    ) -> None:
        ref = await store.put_item(alice, calendar_id, event("contended"))
        results = await asyncio.gather(
            *(
                store.put_item(
                    alice,
                    calendar_id,
                    event("contended", f"#{n}"),
                    item_id=ref.id,
                    if_match=ref.etag,
                )
                for n in range(4)
            ),
            return_exceptions=True,
        )
        winners = [r for r in results if not isinstance(r, BaseException)]
        assert len(winners) == 1
        assert all(isinstance(r, PreconditionFailed) for r in results if r not in winners)
        assert await store.list_items(alice, calendar_id) == winners

    async def test_uid_derived_ids_are_stable_and_short(
        self, store: Store, calendar_id: str, alice: StoreUser
    ) -> None:
        for name, uid in ODD_UIDS.items():
            ref = await store.put_item(alice, calendar_id, event(uid), if_none_match=True)
            assert ref.uid == uid, name
            assert len(ref.id) <= 64, name
            assert URL_SAFE.fullmatch(ref.id), name
            assert ref.id not in {".", ".."}, name
            again = await store.put_item(alice, calendar_id, event(uid, "Again"))
            assert again.id == ref.id, name
            await store.delete_item(alice, calendar_id, ref.id)
            recreated = await store.put_item(alice, calendar_id, event(uid), if_none_match=True)
            assert recreated.id == ref.id, name
            (item,) = await store.get_items(alice, calendar_id, [ref.id])
            assert item.ref.uid == uid, name

    async def test_distinct_uids_get_distinct_ids(
        self, store: Store, calendar_id: str, alice: StoreUser
    ) -> None:
        refs = [await store.put_item(alice, calendar_id, event(uid)) for uid in ODD_UIDS.values()]
        assert len({ref.id for ref in refs}) == len(ODD_UIDS)

    async def test_invalid_icalendar_is_refused_and_nothing_stored(
        self, store: Store, calendar_id: str, alice: StoreUser
    ) -> None:
        before = await store.changes_since(alice, calendar_id, None)
        refused = []
        for name, ical in INVALID_ICAL.items():
            try:
                await store.put_item(alice, calendar_id, ical)
            except InvalidData:
                refused.append(name)
        assert refused == list(INVALID_ICAL)
        assert await store.list_items(alice, calendar_id) == []
        after = await store.changes_since(alice, calendar_id, before.token)
        assert (after.changed, after.deleted, after.complete) == ([], [], True)

    async def test_an_item_is_found_by_its_uid(
        self, store: Store, calendar_id: str, alice: StoreUser
    ) -> None:
        """providers.stores.base.find_uid: the store's own lookup, or a listing."""
        first = await store.put_item(alice, calendar_id, event("find-me@example.com"))
        await store.put_item(alice, calendar_id, event("other@example.com"))
        assert await find_uid(store, alice, calendar_id, "find-me@example.com") == first
        assert await find_uid(store, alice, calendar_id, "nobody@example.com") is None
        assert await find_uid(store, alice, calendar_id, "FIND-ME@example.com") is None

    # -- changes ----------------------------------------------------------------------

    async def test_changes_since_is_exact(
        self, store: Store, calendar_id: str, alice: StoreUser
    ) -> None:
        start = await store.changes_since(alice, calendar_id, None)
        assert (start.changed, start.deleted, start.complete) == ([], [], True)
        a = await store.put_item(alice, calendar_id, event("a"))
        b = await store.put_item(alice, calendar_id, event("b"))
        step1 = await store.changes_since(alice, calendar_id, start.token)
        assert _summary(step1) == ({a, b}, set(), True)
        a2 = await store.put_item(alice, calendar_id, event("a", "Edited"), item_id=a.id)
        await store.delete_item(alice, calendar_id, b.id)
        c = await store.put_item(alice, calendar_id, event("c"))
        step2 = await store.changes_since(alice, calendar_id, step1.token)
        assert _summary(step2) == ({a2, c}, {b.id}, True)
        quiet = await store.changes_since(alice, calendar_id, step2.token)
        assert _summary(quiet) == (set(), set(), True)
        assert _summary(await store.changes_since(alice, calendar_id, quiet.token)) == (
            set(),
            set(),
            True,
        )
        everything = await store.changes_since(alice, calendar_id, None)
        assert _summary(everything) == ({a2, c}, set(), True)

    async def test_deleted_then_recreated_is_a_change(
        self, store: Store, calendar_id: str, alice: StoreUser
    ) -> None:
        old = await store.put_item(alice, calendar_id, event("phoenix"))
        mark = await store.changes_since(alice, calendar_id, None)
        await store.delete_item(alice, calendar_id, old.id)
        new = await store.put_item(alice, calendar_id, event("phoenix", "Reborn"))
        changes = await store.changes_since(alice, calendar_id, mark.token)
        assert _summary(changes) == ({new}, set(), True)
        assert new.etag != old.etag

    async def test_created_then_deleted_is_not_a_change(
        self, store: Store, calendar_id: str, alice: StoreUser
    ) -> None:
        mark = await store.changes_since(alice, calendar_id, None)
        ref = await store.put_item(alice, calendar_id, event("mayfly"))
        await store.delete_item(alice, calendar_id, ref.id)
        changes = await store.changes_since(alice, calendar_id, mark.token)
        assert changes.changed == []
        assert set(changes.deleted) <= {ref.id}

    async def test_unknown_tokens_give_everything_incomplete(
        self, store: Store, calendar_id: str, alice: StoreUser, bob: StoreUser
    ) -> None:
        ref = await store.put_item(alice, calendar_id, event("only"))
        other = await store.create_calendar(alice, "Other")
        await store.put_item(alice, other.id, event("elsewhere"))
        other_token = (await store.changes_since(alice, other.id, None)).token
        bob_calendar = (await store.list_calendars(bob))[0].id
        await store.put_item(bob, bob_calendar, event("bobs"))
        bob_token = (await store.changes_since(bob, bob_calendar, None)).token
        own_token = (await store.changes_since(alice, calendar_id, None)).token
        for token in ["", "garbage", "-1", "9" * 30, "٣", other_token, bob_token, own_token + "0"]:
            changes = await store.changes_since(alice, calendar_id, token)
            assert _summary(changes) == ({ref}, set(), False), token
            assert changes.token == own_token

    # -- users ------------------------------------------------------------------------

    async def test_users_only_reach_their_own_calendars(
        self, store: Store, calendar_id: str, alice: StoreUser, bob: StoreUser
    ) -> None:
        ref = await store.put_item(alice, calendar_id, event("private"))
        work = await store.create_calendar(alice, "Work")
        bob_calendars = await store.list_calendars(bob)
        assert {c.id for c in bob_calendars}.isdisjoint({calendar_id, work.id})
        for foreign in (calendar_id, work.id):
            with pytest.raises(NotFound):
                await store.list_items(bob, foreign)
            with pytest.raises(NotFound):
                await store.get_items(bob, foreign, [ref.id])
            with pytest.raises(NotFound):
                await store.put_item(bob, foreign, event("intruder"))
            with pytest.raises(NotFound):
                await store.delete_item(bob, foreign, ref.id)
            with pytest.raises(NotFound):
                await store.changes_since(bob, foreign, None)
            with pytest.raises(NotFound):
                await store.rename_calendar(bob, foreign, "Mine now")
            with pytest.raises(NotFound):
                await store.delete_calendar(bob, foreign)
        assert await store.list_items(alice, calendar_id) == [ref]
        assert [c.display_name for c in await store.list_calendars(alice)] == ["Calendar", "Work"]

    async def test_same_uid_in_two_users_calendars(
        self, store: Store, calendar_id: str, alice: StoreUser, bob: StoreUser
    ) -> None:
        bob_calendar = (await store.list_calendars(bob))[0].id
        mine = await store.put_item(alice, calendar_id, event("shared-uid"), if_none_match=True)
        theirs = await store.put_item(bob, bob_calendar, event("shared-uid"), if_none_match=True)
        assert mine.id == theirs.id
        await store.delete_item(bob, bob_calendar, theirs.id)
        assert await store.list_items(alice, calendar_id) == [mine]


def _new_user(name: str) -> StoreUser:
    """A user with a login no other test uses (stores may be shared by a module's tests)."""
    login = f"{name}-{secrets.token_hex(4)}"
    return StoreUser(login=login, email=f"{login}@example.com", display_name=name.title())


def _summary(changes: Changes) -> tuple[set[object], set[str], bool]:
    """Changes as sets (stores may order them as they like)."""
    assert len(changes.changed) == len(set(changes.changed))
    assert len(changes.deleted) == len(set(changes.deleted))
    return set(changes.changed), set(changes.deleted), changes.complete


class TestSqlStore(StoreConformance):
    """The embedded SQL store, on SQLite and on PostgreSQL."""

    @pytest_asyncio.fixture
    async def store(self, migrated_database_url: str) -> AsyncIterator[Store]:
        """A store on the module's migrated database (SQLite, then PostgreSQL)."""
        store = SqlStore.from_url(migrated_database_url)
        try:
            yield store
        finally:
            await store.close()
