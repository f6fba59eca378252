"""BigBlueButton against a loopback fake that verifies the API checksum."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from providers.conference import ProviderRejected, ProviderUnavailable
from providers.conference.bigbluebutton import BigBlueButtonProvider, checksum
from tests.providers.conference.events import event
from tests.providers.conference.fake_bigbluebutton import API, FakeBigBlueButton

ServerFactory = Callable[..., Awaitable[TestServer]]
SECRET = "8cd8ef52e8e101574e400365b55e11a6"


def test_checksum_is_sha_of_call_query_and_secret() -> None:
    query = "name=Test+Meeting&meetingID=abc"
    assert (
        checksum("create", query, SECRET)
        == hashlib.sha1(f"create{query}{SECRET}".encode(), usedforsecurity=False).hexdigest()
    )
    assert (
        checksum("create", query, SECRET, "sha256")
        == hashlib.sha256(f"create{query}{SECRET}".encode()).hexdigest()
    )


async def _provider(
    aiohttp_server: ServerFactory, fake: FakeBigBlueButton, **options: str
) -> BigBlueButtonProvider:
    server = await aiohttp_server(fake.app())
    return BigBlueButtonProvider(api_url=str(server.make_url(API)), secret=SECRET, **options)


@pytest.mark.parametrize("algorithm", ["sha1", "sha256", "sha512"])
async def test_create_then_join_as_moderator_and_viewer(
    aiohttp_server: ServerFactory, algorithm: str
) -> None:
    fake = FakeBigBlueButton(secret=SECRET)
    provider = await _provider(aiohttp_server, fake, checksum_algorithm=algorithm)
    context = event(summary="Sprint review")
    link = await provider.create(context)
    assert link.join_via_gateway is True
    assert link.conference_id in fake.meetings
    assert fake.meetings[link.conference_id].name == "Sprint review"
    assert fake.calls[0][2] == algorithm
    assert link.url.startswith(provider.api_url)

    # The meeting ends (nobody joined, or it was ended): join re-creates it first.
    fake.meetings.clear()
    host = await provider.join_url(
        link, context, moderator=True, display_name="Alice Martin", email="alice@example.com"
    )
    guest = await provider.join_url(
        link, context, moderator=False, display_name="", email="g@x.org"
    )
    async with httpx.AsyncClient() as browser:
        for url in (host, guest):
            response = await browser.get(url)
            assert response.status_code == 302, response.text
            assert response.headers["Location"].startswith("/html5client/join?sessionToken=")
    assert fake.joins == [
        (link.conference_id, "Alice Martin", "MODERATOR"),
        (link.conference_id, "g@x.org", "VIEWER"),
    ]
    calls = [call for call, _, _ in fake.calls]
    assert calls == ["create", "create", "create", "join", "join"]
    await provider.close()


async def test_older_servers_join_by_password(aiohttp_server: ServerFactory) -> None:
    """Before 2.4 there is no role: the moderator/attendee password from create decides."""
    fake = FakeBigBlueButton(secret=SECRET, join_by="password")
    provider = await _provider(aiohttp_server, fake)
    context = event()
    link = await provider.create(context)
    host = await provider.join_url(link, context, moderator=True, display_name="A", email="")
    guest = await provider.join_url(link, context, moderator=False, display_name="B", email="")
    meeting = fake.meetings[link.conference_id]
    assert parse_qs(urlsplit(host).query)["password"] == [meeting.moderator_pw]
    async with httpx.AsyncClient() as browser:
        assert (await browser.get(host)).status_code == 302
        assert (await browser.get(guest)).status_code == 302
    assert [role for _, _, role in fake.joins] == ["MODERATOR", "VIEWER"]
    await provider.close()


async def test_wrong_secret_is_rejected(aiohttp_server: ServerFactory) -> None:
    fake = FakeBigBlueButton(secret="another-secret")
    provider = await _provider(aiohttp_server, fake)
    with pytest.raises(ProviderRejected, match="checksumError"):
        await provider.create(event())
    assert fake.meetings == {}
    await provider.close()


async def test_overloaded_or_unreachable_server_is_retryable(
    aiohttp_server: ServerFactory,
) -> None:
    fake = FakeBigBlueButton(secret=SECRET, fail_with=503)
    provider = await _provider(aiohttp_server, fake)
    with pytest.raises(ProviderUnavailable) as caught:
        await provider.create(event())
    assert caught.value.retry_after == 7
    await provider.close()
    # nothing listens on port 9 (discard) of loopback
    down = BigBlueButtonProvider(api_url="http://127.0.0.1:9/bigbluebutton/api", secret=SECRET)
    with pytest.raises(ProviderUnavailable):
        await down.create(event())
    await down.close()


async def test_an_answer_that_is_not_the_api_is_rejected(aiohttp_server: ServerFactory) -> None:
    async def login_page(_: web.Request) -> web.Response:
        return web.Response(text="<html>login</html", content_type="text/html")

    app = web.Application()
    app.router.add_get(API + "/create", login_page)
    server = await aiohttp_server(app)
    provider = BigBlueButtonProvider(api_url=str(server.make_url(API)), secret=SECRET)
    with pytest.raises(ProviderRejected, match=r"not XML|not an API answer"):
        await provider.create(event())
    await provider.close()
