"""The CalDAV store's push support against a real Radicale: its change feed for
writes made through it, ``poll_version`` and the no-change answer from a fresh
poll (no request), and the gateway's pollers (easgw/push/caldav_poller.py)."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from easgw.push import ChangeHub
from easgw.push.caldav_poller import Pollers
from providers.stores.base import StoreUnavailable, StoreUser
from providers.stores.caldav import CalDavStore
from providers.stores.caldav.fresh import FreshTokens, Seen
from tests.providers.radicale import RadicaleServer


def _event(uid: str, summary: str = "Event") -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20261125T120000Z\r\nDTSTART:20261201T100000Z\r\n"
        f"SUMMARY:{summary}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RadicaleServer]:
    """A Radicale of this test's own (it is stopped and started)."""
    radicale = RadicaleServer(tmp_path / "radicale")
    radicale.start()
    try:
        yield radicale
    finally:
        radicale.stop()


@pytest.fixture
def user(server: RadicaleServer) -> StoreUser:
    login, password = server.add_user(f"push-{secrets.token_hex(4)}")
    return StoreUser(login=login, email=f"{login}@example.com", password=password)


@pytest.fixture(params=["auto", "ctag"])
async def store(
    server: RadicaleServer, request: pytest.FixtureRequest
) -> AsyncIterator[CalDavStore]:
    caldav = CalDavStore(server.url, sync_method=request.param, fresh_seconds=30)
    try:
        yield caldav
    finally:
        await caldav.close()


async def _default(store: CalDavStore, user: StoreUser) -> str:
    return next(c.id for c in await store.list_calendars(user) if c.is_default)


async def test_a_fresh_poll_answers_no_change_without_a_request(
    store: CalDavStore, server: RadicaleServer, user: StoreUser
) -> None:
    calendar = await _default(store, user)
    await store.put_item(user, calendar, _event("one"))
    old = (await store.changes_since(user, calendar, None)).token
    await store.put_item(user, calendar, _event("two"))
    current = (await store.changes_since(user, calendar, old)).token
    version = await store.poll_version(user, calendar)
    assert version
    server.stop()
    try:
        unchanged = await store.changes_since(user, calendar, current)
        assert (unchanged.token, list(unchanged.changed), list(unchanged.deleted)) == (
            current,
            [],
            [],
        )
        assert unchanged.complete
        with pytest.raises(StoreUnavailable):  # an older token needs the server
            await store.changes_since(user, calendar, old)
    finally:
        server.start()


async def test_writes_through_the_store_notify_and_void_the_fresh_poll(
    store: CalDavStore, user: StoreUser
) -> None:
    calendar = await _default(store, user)
    heard: list[str] = []
    store.add_change_listener(heard.append)
    token = (await store.changes_since(user, calendar, None)).token
    await store.poll_version(user, calendar)
    ref = await store.put_item(user, calendar, _event("mine"))
    assert heard == [calendar]
    changes = await store.changes_since(user, calendar, token)  # not "unchanged"
    assert [item.id for item in changes.changed] == [ref.id]
    await store.delete_item(user, calendar, ref.id)
    assert heard == [calendar, calendar]
    store.remove_change_listener(heard.append)
    await store.put_item(user, calendar, _event("unheard"))
    assert len(heard) == 2


def test_a_poll_in_flight_across_a_write_is_not_kept() -> None:
    fresh = FreshTokens(30)
    started = fresh.begin("/cal/")
    fresh.forget("/cal/")  # a write lands while the PROPFIND is out
    fresh.record("/cal/", started, Seen(sync_token="t1", ctag="c1"))
    assert fresh.get("/cal/") is None
    fresh.record("/cal/", fresh.begin("/cal/"), Seen(sync_token="t2", ctag="c2"))
    assert fresh.get("/cal/") == Seen(sync_token="t2", ctag="c2")
    assert FreshTokens(0).get("/cal/") is None


async def test_pollers_notify_foreign_writes_and_stop_with_the_last_watcher(
    server: RadicaleServer, user: StoreUser
) -> None:
    store = CalDavStore(server.url)
    hub = ChangeHub()
    pollers = Pollers(hub, store, seconds=0.2)
    try:
        calendar = await _default(store, user)
        ref = f"calendar:{calendar}"
        assert user.password is not None
        async with pollers.watching([ref], user), pollers.watching([ref], user):
            assert len(pollers) == 1  # one poller, shared
            generation = hub.generation(ref)
            await asyncio.sleep(0.5)
            assert hub.generation(ref) == generation  # nothing moved, nothing said
            home = f"/{user.login}/{calendar}/"
            async with httpx.AsyncClient(
                base_url=server.url, auth=(user.login, user.password)
            ) as other:
                put = await other.put(home + "foreign.ics", content=_event("foreign"))
                assert put.status_code == 201
            for _ in range(50):
                if hub.generation(ref) > generation:
                    break
                await asyncio.sleep(0.05)
            assert hub.generation(ref) == generation + 1
        assert len(pollers) == 0
    finally:
        await pollers.close()
        hub.close()
        await store.close()
