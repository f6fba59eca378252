"""StarLeaf Cloud API v1 against a loopback fake that follows the published docs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestServer

from providers.conference import Person, ProviderRejected, ProviderUnavailable
from providers.conference.starleaf import StarLeafProvider, repetition
from tests.providers.conference.events import START, event
from tests.providers.conference.fake_starleaf import FakeStarLeaf

ServerFactory = Callable[..., Awaitable[TestServer]]
TOKEN = "sl-integration-token"
PARIS = ZoneInfo("Europe/Paris")


async def _setup(
    aiohttp_server: ServerFactory, users: int = 3, token: str = TOKEN
) -> tuple[FakeStarLeaf, StarLeafProvider]:
    fake = FakeStarLeaf(token=TOKEN)
    for n in range(users):
        fake.users[f"u{n}"] = f"user{n}@example.com"
    fake.users["owner-alice"] = "Alice@Example.com"
    server = await aiohttp_server(fake.app())
    return fake, StarLeafProvider(api_url=str(server.make_url("/v1")), token=token)


async def test_create_update_delete(aiohttp_server: ServerFactory) -> None:
    fake, provider = await _setup(aiohttp_server, users=250)  # the owner is on page 3
    context = event(recurring=True, rrule="FREQ=WEEKLY;INTERVAL=2;COUNT=10")
    link = await provider.create(context)
    stored = fake.conferences[link.conference_id]
    assert stored["owner_id"] == "owner-alice"
    assert stored["settings"]["title"] == "Weekly planning"
    assert stored["settings"]["timezone"] == "Europe/Paris"
    # local times in the event's zone, without an offset (09:00 UTC = 10:00 in Paris)
    assert stored["settings"]["start"] == "2026-12-01T10:00:00"
    assert stored["settings"]["end"] == "2026-12-01T11:00:00"
    assert stored["settings"]["repetition"] == {"frequency": "weekly", "interval": 2, "count": 10}
    assert link.url == f"https://meet.starleaf.example/{link.conference_id}"
    assert link.text is not None and "Dial: 999 999 9999" in link.text
    assert link.join_via_gateway is False
    assert ("GET", "/v1/users") in fake.requests

    moved = event(
        summary="Planning (moved)", start=START + timedelta(days=1),
        end=START + timedelta(days=1, hours=2), conference_id=link.conference_id,
    )  # fmt: skip
    updated = await provider.update(moved)
    assert (updated.url, updated.conference_id) == (link.url, link.conference_id)
    settings = fake.conferences[link.conference_id]["settings"]
    assert settings["title"] == "Planning (moved)"
    assert settings["end"] == "2026-12-02T12:00:00"
    assert settings["repetition"] is None

    await provider.delete(moved)
    assert fake.conferences == {}
    await provider.delete(moved)  # already gone: not an error
    await provider.close()


async def test_organizer_without_a_starleaf_account(aiohttp_server: ServerFactory) -> None:
    fake, provider = await _setup(aiohttp_server)
    with pytest.raises(ProviderRejected, match="no StarLeaf user"):
        await provider.create(event(organizer=Person(email="nobody@example.com")))
    assert fake.conferences == {}
    await provider.close()


async def test_bad_token_is_rejected_outage_is_retryable(aiohttp_server: ServerFactory) -> None:
    fake, provider = await _setup(aiohttp_server, token="wrong")
    with pytest.raises(ProviderRejected, match="HTTP 401"):
        await provider.create(event())
    await provider.close()
    fake, provider = await _setup(aiohttp_server)
    fake.fail_with = 503
    with pytest.raises(ProviderUnavailable) as caught:
        await provider.create(event())
    assert caught.value.retry_after == 30
    await provider.close()


@pytest.mark.parametrize(
    ("rrule", "expected"),
    [
        ("FREQ=DAILY", {"frequency": "daily", "interval": 1}),
        ("FREQ=MONTHLY;INTERVAL=3;COUNT=4", {"frequency": "monthly", "interval": 3, "count": 4}),
        ("FREQ=YEARLY;COUNT=5000", {"frequency": "yearly", "interval": 1, "count": 999}),
        (
            "FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20270101T080000Z",
            {"frequency": "weekly", "interval": 1, "until": "2027-01-01T09:00:00"},
        ),
        ("FREQ=WEEKLY;UNTIL=20270101", {"frequency": "weekly", "interval": 1,
                                          "until": "2027-01-01T00:00:00"}),
    ],
)  # fmt: skip
def test_recurrence_maps_to_repetition(rrule: str, expected: dict[str, object]) -> None:
    assert repetition(rrule, PARIS) == expected


@pytest.mark.parametrize("rrule", ["FREQ=HOURLY", "FREQ=DAILY;COUNT=x", "FREQ=DAILY;UNTIL=soon"])
def test_unsupported_recurrence_is_rejected(rrule: str) -> None:
    with pytest.raises(ProviderRejected):
        repetition(rrule, PARIS)
