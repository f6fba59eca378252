"""The webhook provider against a loopback receiver that verifies the signature."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable

import pytest
from aiohttp.test_utils import TestServer

from providers.conference import ProviderRejected, ProviderUnavailable
from providers.conference.webhook import WebhookProvider, signature
from tests.providers.conference.events import event
from tests.providers.conference.fake_webhook import FakeWebhook

ServerFactory = Callable[..., Awaitable[TestServer]]
SECRET = "webhook-shared-secret"


async def _setup(
    aiohttp_server: ServerFactory, secret: str = SECRET, timeout: float = 5.0
) -> tuple[FakeWebhook, WebhookProvider]:
    fake = FakeWebhook(secret=SECRET)
    server = await aiohttp_server(fake.app())
    url = str(server.make_url("/hook"))
    return fake, WebhookProvider(url=url, secret=secret, timeout_seconds=timeout)


def test_signature_is_hmac_sha256_of_the_body() -> None:
    body = b'{"action":"create"}'
    expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert signature(body, SECRET) == f"sha256={expected}"


async def test_create_update_delete(aiohttp_server: ServerFactory) -> None:
    fake, provider = await _setup(aiohttp_server)
    link = await provider.create(event(recurring=True, rrule="FREQ=DAILY"))
    assert link.url == f"https://video.example.net/m/{link.conference_id}"
    assert link.text == f"Dial-in: +1 555 0100, meeting {link.conference_id}"
    assert fake.received[0] == {
        "action": "create",
        "uid": "0f8c1a3e-planning@example.com",
        "summary": "Weekly planning",
        "start": "2026-12-01T09:00:00+00:00",
        "end": "2026-12-01T10:00:00+00:00",
        "timezone": "Europe/Paris",
        "recurring": True,
        "organizer": {"email": "alice@example.com", "name": "Alice Martin"},
        "attendees": [{"email": "bob@example.com", "name": "Bob"}],
    }
    known = event(summary="Renamed", conference_id=link.conference_id)
    updated = await provider.update(known)
    assert updated.conference_id == link.conference_id
    assert fake.received[1]["action"] == "update"
    assert fake.received[1]["conference_id"] == link.conference_id
    assert fake.received[1]["summary"] == "Renamed"
    await provider.delete(known)
    assert fake.received[2]["action"] == "delete"
    assert fake.received[2]["conference_id"] == link.conference_id
    await provider.close()


async def test_a_wrong_secret_fails_the_receivers_check(aiohttp_server: ServerFactory) -> None:
    fake, provider = await _setup(aiohttp_server, secret="not-the-receivers-secret")
    with pytest.raises(ProviderRejected, match="HTTP 401"):
        await provider.create(event())
    assert fake.received == []
    await provider.close()


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (200, "not json", ProviderRejected),
        (200, "[]", ProviderRejected),
        (200, '{"id": "x"}', ProviderRejected),  # no url
        (200, '{"url": "ftp://x/y", "id": "x"}', ProviderRejected),
        (200, '{"url": "https://x/y"}', ProviderRejected),  # no id
        (200, '{"url": "https://x/y", "id": "x", "text": 5}', ProviderRejected),
        (201, '{"url": "https://x/y", "id": "x"}', ProviderRejected),  # must be 200
        (302, "", ProviderRejected),
        (404, "", ProviderRejected),
        (422, '{"error": "no"}', ProviderRejected),
        (429, "", ProviderUnavailable),
        (500, "", ProviderUnavailable),
        (503, "", ProviderUnavailable),
    ],
)
async def test_anything_but_the_contract_is_a_provider_error(
    aiohttp_server: ServerFactory, status: int, body: str, error: type[Exception]
) -> None:
    fake, provider = await _setup(aiohttp_server)
    fake.answer = (status, body)
    with pytest.raises(error):
        await provider.create(event())
    await provider.close()


async def test_text_is_optional_and_id_may_be_a_number(aiohttp_server: ServerFactory) -> None:
    fake, provider = await _setup(aiohttp_server)
    fake.answer = (200, '{"url": "https://x.example/y", "id": 42, "text": null}')
    link = await provider.create(event())
    assert (link.conference_id, link.text) == ("42", None)
    await provider.close()


async def test_timeout_is_retryable(aiohttp_server: ServerFactory) -> None:
    fake, provider = await _setup(aiohttp_server, timeout=0.2)
    fake.delay = 2.0
    with pytest.raises(ProviderUnavailable, match="timed out"):
        await provider.create(event())
    await provider.close()
