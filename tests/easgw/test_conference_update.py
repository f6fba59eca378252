"""easgw.conference_update: when a save tells the provider about a moved event, and what
happens when that call fails; with a real registry and a loopback webhook receiver."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestServer

from easgw.conference_update import needs_update, remember
from easgw.state.conference_models import ConferenceLinkRow
from providers.conference import EventContext, Person
from providers.conference.jitsi import JitsiProvider
from providers.conference.webhook import WebhookProvider
from tests.easgw.test_conference import ORGANIZER, Env, _env, calendar, master
from tests.providers.conference.fake_webhook import FakeWebhook

START = datetime(2026, 12, 1, 10, tzinfo=UTC)
NAIVE = START.replace(tzinfo=None)
WEBHOOK = WebhookProvider(url="https://hook.example/x", secret="s")
JITSI = JitsiProvider(base_url="https://meet.example.com")


def context(summary: str = "Budget", start: datetime = START, hours: int = 1) -> EventContext:
    return EventContext(
        uid="u1", summary=summary, start=start, end=start + timedelta(hours=hours),
        organizer=Person(email="alice@example.com"),
    )  # fmt: skip


def row(
    status: str = "active", conference_id: str | None = "c1", **fields: object
) -> ConferenceLinkRow:
    found = ConferenceLinkRow(status=status, conference_id=conference_id, summary="Budget",
                              starts=START, ends=START + timedelta(hours=1))  # fmt: skip
    for name, value in fields.items():
        setattr(found, name, value)
    return found


@pytest.mark.parametrize(
    ("found", "provider", "event", "expected"),
    [
        (row(), WEBHOOK, context(), False),  # nothing changed
        (row(), WEBHOOK, context("Budget (v2)"), True),
        (row(), WEBHOOK, context(start=START + timedelta(days=1)), True),
        (row(), WEBHOOK, context(hours=2), True),
        # SQLite reads a naive UTC value back; another zone for the same instant.
        (row(starts=NAIVE, ends=NAIVE + timedelta(hours=1)), WEBHOOK,
         context(start=START.astimezone(ZoneInfo("Europe/Paris"))), False),
        (row(status="pending"), WEBHOOK, context("New"), False),
        (row(conference_id=None), WEBHOOK, context("New"), False),
        (row(starts=None, ends=None), WEBHOOK, context("New"), False),  # adopted: nothing known
        (row(), JITSI, context("New"), False),  # no update: nothing to tell
    ],
)  # fmt: skip
def test_needs_update(
    found: ConferenceLinkRow, provider: object, event: EventContext, expected: bool
) -> None:
    assert needs_update(found, provider, event) is expected


def test_remember_keeps_utc() -> None:
    found = row(summary="", starts=None, ends=None)
    remember(found, context(start=START.astimezone(ZoneInfo("Europe/Paris"))))
    assert found.starts == START and found.starts.tzinfo is UTC
    assert (found.summary, found.ends) == ("Budget", START + timedelta(hours=1))


# --------------------------------------------------------------------------
# The policy with a real database and a webhook receiver

INVITES = ("ATTENDEE;CN=Video;CUTYPE=RESOURCE:mailto:video@conf.example.com",
           "ATTENDEE;CN=Bob:mailto:bob@example.com")  # fmt: skip


def meeting(summary: str = "Budget", day: int = 1, *extra: str) -> str:
    return calendar(
        "\r\n".join([
            "BEGIN:VEVENT", "UID:u1", f"DTSTART:202612{day:02d}T100000Z",
            f"DTEND:202612{day:02d}T110000Z", f"SUMMARY:{summary}", ORGANIZER, *INVITES,
            *extra, "END:VEVENT",
        ])
    )  # fmt: skip


@dataclass
class Hooked:
    env: Env
    fake: FakeWebhook

    def actions(self) -> list[str]:
        return [str(r["action"]) for r in self.fake.received]


@pytest.fixture
async def hooked(tmp_path: Path) -> AsyncIterator[Hooked]:
    fake = FakeWebhook(secret="hook-secret")
    server = TestServer(fake.app())
    await server.start_server()
    config = f"""
[[conference.providers]]
id = "hook"
type = "webhook"
resource = "video@conf.example.com"
url = "{server.make_url("/hook")}"
secret = "hook-secret"
"""
    env = await _env(tmp_path, config)
    try:
        yield Hooked(env=env, fake=fake)
    finally:
        await env.gateway.close()
        await server.close()


def link_of(text: str) -> str:
    return str(master(text)["X-EASGW-CONFERENCE"])


async def test_a_reschedule_updates_the_meeting_once(hooked: Hooked) -> None:
    env = hooked.env
    url = link_of(await env.write(meeting()))
    assert link_of(await env.write(meeting("Budget", 1, "DESCRIPTION:Agenda"))) == url  # same times
    assert hooked.actions() == ["create"]
    moved = await env.write(meeting("Budget", 2))
    assert link_of(moved) == url
    assert hooked.actions() == ["create", "update"]
    sent = hooked.fake.received[1]
    [found] = await env.rows()
    assert sent["conference_id"] == found.conference_id
    assert sent["start"] == "2026-12-02T10:00:00+00:00"
    assert sent["end"] == "2026-12-02T11:00:00+00:00"
    assert found.starts is not None
    assert found.starts.replace(tzinfo=UTC) == datetime(2026, 12, 2, 10, tzinfo=UTC)
    await env.write(meeting("Budget", 2))  # told already: no second call
    await env.write(meeting("Budget (v2)", 2))  # a new title is news too
    assert hooked.actions() == ["create", "update", "update"]
    assert hooked.fake.received[2]["summary"] == "Budget (v2)"
    assert (env.conference.counters.updated, env.conference.counters.failed) == (2, 0)
    [found] = await env.rows()
    assert (found.reuse_count, found.failure_count) == (4, 0)


async def test_a_failed_update_keeps_the_link_and_the_next_save_retries(hooked: Hooked) -> None:
    env = hooked.env
    url = link_of(await env.write(meeting()))
    hooked.fake.answer = (503, '{"error": "down"}')
    kept = await env.write(meeting("Budget", 3))
    assert link_of(kept) == url  # the save is kept, with the old link
    assert "DTSTART:20261203T100000Z" in kept
    [found] = await env.rows()
    assert (found.status, found.failure_count, found.failures) == ("active", 1, 0)
    assert found.starts is not None and found.starts.day == 1  # still what the provider knows
    assert env.conference.counters.failed == 1
    hooked.fake.answer = None
    assert link_of(await env.write(meeting("Budget", 3))) == url  # same event: tried again
    assert hooked.actions() == ["create", "update", "update"]
    [found] = await env.rows()
    assert found.starts is not None and found.starts.day == 3
    assert (found.failure_count, env.conference.counters.updated) == (1, 1)


async def test_an_update_answering_another_url_replaces_the_link(hooked: Hooked) -> None:
    env = hooked.env
    old = link_of(await env.write(meeting("Budget", 1)))
    hooked.fake.update_url = "https://video.example.net/moved/1"
    # The phone sends the old link back in LOCATION only (no X- properties).
    moved = await env.write(meeting("Budget", 4, f"LOCATION:{old}"))
    assert link_of(moved) == "https://video.example.net/moved/1"
    assert old not in moved.replace("\r\n ", "")
    [found] = await env.rows()
    assert found.url == found.calendar_url == "https://video.example.net/moved/1"
    assert found.text is None
    # Kept from then on.
    assert link_of(await env.write(meeting("Budget", 4))) == found.calendar_url
    assert hooked.actions() == ["create", "update"]


async def test_a_reactivated_link_hears_of_the_move_and_rows_count_removals(
    hooked: Hooked,
) -> None:
    env = hooked.env
    url = link_of(await env.write(meeting()))
    plain = meeting().replace(INVITES[0] + "\r\n", "")
    assert "X-EASGW-CONFERENCE" not in master(await env.write(plain))
    again = await env.write(meeting("Budget", 5))  # the resource is back, on another day
    assert link_of(again) == url
    assert hooked.actions() == ["create", "update"]
    [found] = await env.rows()
    assert (found.status, found.removal_count, found.reuse_count) == ("active", 1, 1)
    await env.delete(again)
    [found] = await env.rows()
    assert (found.status, found.removal_count) == ("removed", 2)
