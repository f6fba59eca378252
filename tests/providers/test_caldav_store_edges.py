"""The CalDAV store against servers Radicale cannot imitate, served by aiohttp on loopback.

A server that is down, answers 5xx or 429 (with Retry-After, RFC 9110 10.2.3), is slow or
answers garbage must give StoreUnavailable, never a crash; and a server offering what
Radicale lacks (schedule-default-calendar-URL, a mailto calendar-user-address, RFC 6638)
must be followed. Split from test_caldav_store.py by theme; the carol fixture comes from there."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from aiohttp import web

from providers.retry_after import retry_after_seconds
from providers.stores.base import StoreUnavailable, StoreUser
from providers.stores.caldav import CalDavStore
from tests.providers.radicale import free_port, radicale
from tests.providers.test_caldav_store import carol

# Fixtures are found by name (carol needs the session's Radicale): listing them keeps
# the imports.
__all__ = ["carol", "radicale"]


# -- the error edge ---------------------------------------------------------------------


async def test_a_server_that_is_down_is_unavailable(carol: StoreUser) -> None:
    store = CalDavStore(f"http://127.0.0.1:{free_port()}/")
    try:
        with pytest.raises(StoreUnavailable, match="unreachable"):
            await store.list_calendars(carol)
        with pytest.raises(StoreUnavailable):
            await store.verify_login(carol)
    finally:
        await store.close()


async def _serve(handler: web.RequestHandler) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}/"


@pytest.mark.parametrize(
    ("status", "headers", "retry_after"),
    [
        (503, {"Retry-After": "120"}, 120.0),
        (500, {}, None),
        (502, {"Retry-After": "not a date"}, None),
        (429, {"Retry-After": "7"}, 7.0),
    ],
)
async def test_5xx_and_429_are_unavailable_with_retry_after(
    carol: StoreUser, status: int, headers: dict[str, str], retry_after: float | None
) -> None:
    async def failing(request: web.Request) -> web.Response:
        return web.Response(status=status, headers=headers, text="no")

    runner, url = await _serve(failing)
    store = CalDavStore(url)
    try:
        with pytest.raises(StoreUnavailable) as caught:
            await store.list_calendars(carol)
        assert caught.value.retry_after == retry_after
    finally:
        await store.close()
        await runner.cleanup()


async def test_a_slow_server_times_out_as_unavailable(carol: StoreUser) -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.Response(status=207)

    runner, url = await _serve(slow)
    store = CalDavStore(url, timeout=httpx.Timeout(0.3, connect=1.0))
    try:
        with pytest.raises(StoreUnavailable, match="in time"):
            await store.list_calendars(carol)
    finally:
        await store.close()
        await runner.cleanup()


async def test_garbage_answers_are_unavailable_not_crashes(carol: StoreUser) -> None:
    async def garbage(request: web.Request) -> web.Response:
        return web.Response(status=207, body=b"<multistatus><unclosed", content_type="text/xml")

    runner, url = await _serve(garbage)
    store = CalDavStore(url)
    try:
        with pytest.raises(StoreUnavailable, match="unreadable"):
            await store.list_calendars(carol)
    finally:
        await store.close()
        await runner.cleanup()


def test_retry_after_forms() -> None:
    assert retry_after_seconds("30") == 30.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412490.0) == 0.0
    assert retry_after_seconds("") is None
    assert retry_after_seconds("soon") is None


# -- what Radicale does not offer: scheduling defaults and mailto addresses --------------


def _multistatus(*responses: str) -> web.Response:
    body = (
        '<?xml version="1.0"?><d:multistatus xmlns:d="DAV:" '
        'xmlns:c="urn:ietf:params:xml:ns:caldav">' + "".join(responses) + "</d:multistatus>"
    )
    return web.Response(status=207, body=body.encode(), content_type="application/xml")


def _props(href: str, props: str) -> str:
    return (
        f"<d:response><d:href>{href}</d:href><d:propstat><d:prop>{props}</d:prop>"
        "<d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>"
    )


_CALENDAR = "<d:resourcetype><d:collection/><c:calendar/></d:resourcetype>"
_SCHEDULING_SERVER = {
    "/dav/": _props(
        "/dav/", "<d:current-user-principal><d:href>/p/eve/</d:href></d:current-user-principal>"
    ),
    "/p/eve/": _props(
        "/p/eve/",
        "<c:calendar-home-set><d:href>/cal/eve/</d:href></c:calendar-home-set>"
        "<c:calendar-user-address-set><d:href>/p/eve/</d:href>"
        "<d:href>MAILTO:eve@corp.example</d:href></c:calendar-user-address-set>"
        "<c:schedule-inbox-URL><d:href>/cal/eve/inbox/</d:href></c:schedule-inbox-URL>",
    ),
    "/cal/eve/inbox/": _props(
        "/cal/eve/inbox/",
        "<c:schedule-default-calendar-URL><d:href>/cal/eve/b-main/</d:href>"
        "</c:schedule-default-calendar-URL>",
    ),
}


async def test_the_servers_scheduling_default_and_mailto_address() -> None:
    seen: list[tuple[str, str]] = []

    async def server(request: web.Request) -> web.Response:
        seen.append((request.method, request.path))
        if request.method == "PROPFIND" and request.path in _SCHEDULING_SERVER:
            return _multistatus(_SCHEDULING_SERVER[request.path])
        if request.method == "PROPFIND" and request.path == "/cal/eve/":
            return _multistatus(
                _props("/cal/eve/", "<d:resourcetype><d:collection/></d:resourcetype>"),
                _props("/cal/eve/a-side/", f"{_CALENDAR}<d:displayname>Side</d:displayname>"),
                _props("/cal/eve/b-main/", f"{_CALENDAR}<d:displayname>Main</d:displayname>"),
                _props("/cal/eve/inbox/", "<d:resourcetype><d:collection/></d:resourcetype>"),
            )
        return web.Response(status=405)

    runner, url = await _serve(server)
    store = CalDavStore(url + "dav")
    eve = StoreUser(login="eve", email="eve@example.com", password="pw")
    try:
        listed = await store.list_calendars(eve)
        assert await store.principal_email(eve) == "eve@corp.example"
    finally:
        await store.close()
        await runner.cleanup()
    assert [(c.id, c.display_name, c.is_default) for c in listed] == [
        ("b-main", "Main", True),
        ("a-side", "Side", False),
    ]
    assert all(method == "PROPFIND" for method, _ in seen)  # nothing marked, nothing made
