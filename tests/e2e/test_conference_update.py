"""A reschedule from a phone reaches a conference provider that tracks meetings (issue 7).

The embedded store, a real server on loopback and a webhook provider served by a
loopback aiohttp receiver (tests/providers/conference/fake_webhook.py, which checks
the signature). A phone's Sync Change that moves the meeting makes the gateway send
the provider an ``update``; a failed update keeps the save and the old link, and the
next save of the event tries again; an update that answers with another URL puts
that link on the event, and the phones get it on their next Sync.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from easgw.app import GATEWAY
from tests.e2e.test_conference import (
    BASE_CONFIG,
    _client,
    add_meeting,
    change,
    meeting,
    phone,
    registry,
    stored_icals,
    unfolded,
)
from tests.e2e.test_sync import ClientFactory, command_count, commands
from tests.harness import make_config
from tests.providers.conference.fake_webhook import FakeWebhook

SECRET = "s3cret-for-the-update-hook"
PEOPLE = ("video@conf.example.com", "bob@example.com")


@pytest.fixture
async def hook() -> AsyncIterator[tuple[FakeWebhook, str]]:
    fake = FakeWebhook(secret=SECRET)
    server = TestServer(fake.app())
    await server.start_server()
    try:
        yield fake, str(server.make_url("/hook"))
    finally:
        await server.close()


async def _gateway(aiohttp_client: ClientFactory, tmp_path: Path, url: str) -> TestClient:  # type: ignore[type-arg]
    config = BASE_CONFIG + f"""
[[conference.providers]]
id = "hook"
type = "webhook"
resource = "video@conf.example.com"
display_name = "Video"
url = "{url}"
secret = "{SECRET}"
"""  # fmt: skip
    return await _client(aiohttp_client, make_config(tmp_path, config))


def on_day(day: int, subject: str = "Sales") -> str:
    """The meeting's ApplicationData moved to ``day`` December 2026, 10:00-11:00 UTC."""
    data = meeting("14.1", subject, attendees=PEOPLE)
    return data.replace("20261201T100000Z", f"202612{day:02d}T100000Z").replace(
        "20261201T110000Z", f"202612{day:02d}T110000Z"
    )


async def test_a_reschedule_from_the_phone_updates_the_meeting(
    aiohttp_client: ClientFactory,
    tmp_path: Path,
    hook: tuple[FakeWebhook, str],
) -> None:
    fake, url = hook
    client = await _gateway(aiohttp_client, tmp_path, url)
    conference = client.app[GATEWAY].conference
    a = await phone(client, "14.1", "DEVA")
    added = await a.sync(add_meeting("14.1", "m1", "Sales", attendees=PEOPLE))
    server_id = added.find("//AirSync:Responses/AirSync:Add/AirSync:ServerId") or ""
    assert server_id
    [row] = await registry(client)
    link = row.calendar_url
    assert link and commands(await a.sync(), "Change")[server_id]["OnlineMeetingExternalLink"]
    assert [r["action"] for r in fake.received] == ["create"]

    # The organizer moves the meeting to the 3rd: the provider hears of it.
    await a.sync(change(server_id, on_day(3)))
    assert [r["action"] for r in fake.received] == ["create", "update"]
    sent = fake.received[1]
    assert sent["conference_id"] == row.conference_id
    assert (sent["summary"], sent["start"], sent["end"]) == (
        "Sales", "2026-12-03T10:00:00+00:00", "2026-12-03T11:00:00+00:00",
    )  # fmt: skip
    assert [p["email"] for p in sent["attendees"]] == ["bob@example.com"]
    [ical] = await stored_icals(client)
    assert "DTSTART:20261203T100000Z" in ical
    assert f"X-EASGW-CONFERENCE:{link}" in unfolded(ical)
    assert conference.counters.updated == 1

    # The provider is down when the meeting moves again: the save stands, the old link
    # stays, and the row still holds what the provider knows.
    fake.answer = (503, '{"error": "down"}')
    moved = await a.sync(change(server_id, on_day(4)))
    assert moved.find("//AirSync:Responses/AirSync:Change/AirSync:Status") in (None, "1")
    [ical] = await stored_icals(client)
    assert "DTSTART:20261204T100000Z" in ical
    assert f"X-EASGW-CONFERENCE:{link}" in unfolded(ical)
    [row] = await registry(client)
    assert row.starts is not None and row.starts.day == 3
    assert (row.status, row.failure_count) == ("active", 1)
    assert conference.counters.failed == 1

    # Back, and it moved the meeting: the next save (any edit) retries, the new link
    # replaces the old one and reaches the phone as a Change.
    fake.answer = None
    fake.update_url = "https://video.example.net/moved/sales"
    await a.sync(change(server_id, on_day(4, "Sales (agenda)")))
    assert [r["action"] for r in fake.received] == ["create", "update", "update", "update"]
    assert fake.received[3]["start"] == "2026-12-04T10:00:00+00:00"
    [ical] = await stored_icals(client)
    assert "X-EASGW-CONFERENCE:https://video.example.net/moved/sales" in unfolded(ical)
    assert link not in unfolded(ical)
    [row] = await registry(client)
    assert row.starts is not None and row.starts.day == 4
    got = commands(await a.sync(), "Change")[server_id]
    assert got["OnlineMeetingExternalLink"] == "https://video.example.net/moved/sales"
    assert command_count(await a.sync()) == 0
    # A save that changes nothing the provider cares about makes no call.
    await a.sync(change(server_id, on_day(4, "Sales (agenda)")))
    assert len(fake.received) == 4
