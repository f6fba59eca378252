"""Each provider's ``update`` (a reschedule) against its loopback fake, and who has none."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from providers.conference import ProviderRejected, ProviderUnavailable, SupportsUpdate
from providers.conference.bigbluebutton import BigBlueButtonProvider
from providers.conference.bluemind_video import BlueMindVideoProvider
from providers.conference.jitsi import JitsiProvider
from providers.conference.starleaf import StarLeafProvider
from providers.conference.webhook import WebhookProvider
from tests.providers.conference.events import START, event
from tests.providers.conference.fake_starleaf import FakeStarLeaf
from tests.providers.conference.fake_webhook import FakeWebhook

ServerFactory = Callable[..., Awaitable[TestServer]]
SECRET = "webhook-update-secret"


async def test_webhook_update_sends_the_contract_body_signed(
    aiohttp_server: ServerFactory,
) -> None:
    """CONTRACTS.md section 6: the same object as create plus conference_id, signed."""
    seen: list[tuple[bytes, str]] = []

    async def hook(request: web.Request) -> web.Response:
        seen.append((await request.read(), request.headers.get("X-Easgw-Signature", "")))
        return web.json_response({"url": "https://v.example.net/m/c-1", "id": "c-1"})

    app = web.Application()
    app.router.add_post("/hook", hook)
    server = await aiohttp_server(app)
    provider = WebhookProvider(url=str(server.make_url("/hook")), secret=SECRET)
    moved = event(
        summary="Planning (moved)", start=START + timedelta(days=1),
        end=START + timedelta(days=1, hours=2), conference_id="c-1",
    )  # fmt: skip
    link = await provider.update(moved)
    assert (link.url, link.conference_id, link.text) == ("https://v.example.net/m/c-1", "c-1", None)
    [(body, given)] = seen
    assert given == "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert json.loads(body) == {
        "action": "update",
        "uid": "0f8c1a3e-planning@example.com",
        "summary": "Planning (moved)",
        "start": "2026-12-02T09:00:00+00:00",
        "end": "2026-12-02T11:00:00+00:00",
        "timezone": "Europe/Paris",
        "recurring": False,
        "organizer": {"email": "alice@example.com", "name": "Alice Martin"},
        "attendees": [{"email": "bob@example.com", "name": "Bob"}],
        "conference_id": "c-1",
    }
    await provider.close()


async def test_webhook_update_may_move_the_meeting_and_fails_like_create(
    aiohttp_server: ServerFactory,
) -> None:
    fake = FakeWebhook(secret=SECRET, update_url="https://v.example.net/moved/c-2")
    server = await aiohttp_server(fake.app())
    provider = WebhookProvider(url=str(server.make_url("/hook")), secret=SECRET)
    link = await provider.update(event(conference_id="c-2"))
    assert (link.url, link.conference_id) == ("https://v.example.net/moved/c-2", "c-2")
    with pytest.raises(ProviderRejected, match="conference id"):
        await provider.update(event())
    fake.answer = (503, "")
    with pytest.raises(ProviderUnavailable):
        await provider.update(event(conference_id="c-2"))
    fake.answer = (200, '{"id": "c-2"}')  # no url
    with pytest.raises(ProviderRejected):
        await provider.update(event(conference_id="c-2"))
    await provider.close()


async def test_starleaf_update_puts_the_new_settings(aiohttp_server: ServerFactory) -> None:
    fake = FakeStarLeaf(token="sl-token", users={"owner-alice": "alice@example.com"})
    server = await aiohttp_server(fake.app())
    provider = StarLeafProvider(api_url=str(server.make_url("/v1")), token="sl-token")
    link = await provider.create(event())
    fake.requests.clear()
    moved = event(
        summary="Moved", start=START + timedelta(hours=3),
        end=START + timedelta(hours=4), conference_id=link.conference_id,
    )  # fmt: skip
    updated = await provider.update(moved)
    assert (updated.url, updated.conference_id, updated.text) == (
        link.url, link.conference_id, link.text,
    )  # fmt: skip
    path = f"/v1/conferences/{link.conference_id}"
    assert ("PUT", path) in fake.requests and ("GET", path) in fake.requests
    settings = fake.conferences[link.conference_id]["settings"]
    assert (settings["title"], settings["start"], settings["end"]) == (
        "Moved", "2026-12-01T13:00:00", "2026-12-01T14:00:00",
    )  # fmt: skip
    # A conference the service no longer knows, or no id at all: refused.
    with pytest.raises(ProviderRejected, match="HTTP 404"):
        await provider.update(event(conference_id="gone"))
    with pytest.raises(ProviderRejected, match="no conference id"):
        await provider.update(event())
    fake.fail_with = 503
    with pytest.raises(ProviderUnavailable):
        await provider.update(moved)
    await provider.close()


def test_who_takes_updates() -> None:
    """Jitsi, BlueMind Video and BigBlueButton have nothing to update on a reschedule."""
    assert isinstance(WebhookProvider(url="https://h.example/x", secret="s"), SupportsUpdate)
    assert isinstance(StarLeafProvider(api_url="https://sl.example/v1", token="t"), SupportsUpdate)
    jitsi = JitsiProvider(base_url="https://meet.example.com")
    bluemind = BlueMindVideoProvider(base_url="https://bm.example.com")
    assert not isinstance(jitsi, SupportsUpdate)
    assert not isinstance(bluemind, SupportsUpdate)
    assert not hasattr(BigBlueButtonProvider, "update")
