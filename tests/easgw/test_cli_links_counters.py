"""`easgw links stats` counts every gateway's work, not one process's (issue 7).

Two gateways (each with its own engine and in-memory ``LinkCounters``) share one data
dir and a loopback webhook provider; the stats come from a third process, the CLI,
which can only see what the registry rows carry.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp.test_utils import TestServer

from easgw.config import load_config
from easgw.gateway import Gateway
from easgw.users import Users
from tests.easgw.test_cli_providers import easgw
from tests.easgw.test_conference import ORGANIZER, calendar
from tests.providers.conference.fake_webhook import FakeWebhook

SECRET = "stats-hook-secret"
VIDEO = "ATTENDEE;CUTYPE=RESOURCE:mailto:video@conf.example.com"
BOB = "ATTENDEE:mailto:bob@example.com"


def meeting(uid: str, day: int, *attendees: str) -> str:
    return calendar(
        "\r\n".join([
            "BEGIN:VEVENT", f"UID:{uid}", f"DTSTART:202612{day:02d}T100000Z",
            f"DTEND:202612{day:02d}T110000Z", "SUMMARY:Budget", ORGANIZER, *attendees,
            "END:VEVENT",
        ])
    )  # fmt: skip


class Worker:
    """One gateway process's policy, writing as alice."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    async def write(self, ical: str) -> None:
        async with self.gateway.database.sessions.begin() as session:
            user = await Users(session).require("alice")
            await self.gateway.conference.on_write(session, user, ical)


async def test_stats_sum_the_work_of_two_gateways(tmp_path: Path) -> None:
    fake = FakeWebhook(secret=SECRET)
    server = TestServer(fake.app())
    await server.start_server()
    path = tmp_path / "easgw.toml"
    path.write_text(f"""
[server]
data_dir = "{tmp_path / "data"}"
[[conference.providers]]
id = "hook"
type = "webhook"
resource = "video@conf.example.com"
url = "{server.make_url("/hook")}"
secret = "{SECRET}"
""")  # fmt: skip
    first, second = (Gateway(load_config(str(path), env={})) for _ in range(2))
    try:
        await first.open()
        async with first.database.sessions.begin() as session:
            await Users(session).add("alice", email="alice@example.com", password=None)
        await second.open()
        one, two = Worker(first), Worker(second)
        await one.write(meeting("a", 1, VIDEO, BOB))  # created
        await two.write(meeting("a", 1, VIDEO, BOB))  # reused (kept)
        fake.answer = (503, "")
        await one.write(meeting("b", 1, VIDEO, BOB))  # create failed, row pending
        await two.write(meeting("a", 2, VIDEO, BOB))  # reused, update failed
        fake.answer = None
        await one.write(meeting("a", 2, VIDEO, BOB))  # reused, update retried: ok
        await two.write(meeting("b", 1, VIDEO, BOB))  # created on the retry
        await one.write(meeting("a", 2, BOB))  # removed
        await two.write(meeting("a", 2, VIDEO, BOB))  # reused (re-activated)
        assert [r["action"] for r in fake.received] == [
            "create", "create", "update", "update", "create",
        ]  # fmt: skip
        # Each process sees only its own share.
        assert (first.conference.counters.reused, first.conference.counters.failed) == (1, 1)
        assert (second.conference.counters.reused, second.conference.counters.failed) == (3, 1)
    finally:
        await first.close()
        await second.close()
        await server.close()

    status, out, err = await easgw("links", "stats", "--config", str(path))
    assert status == 0, err
    stats = dict(line.split(": ") for line in out.splitlines())
    assert stats == {
        "created": "2", "reused": "4", "removed": "1", "failed": "2",
        "active": "2", "pending": "0", "revoked": "0", "removed_now": "0", "rows": "2",
    }  # fmt: skip
    status, out, err = await easgw("links", "show", "a", "--config", str(path))
    assert status == 0, err
    fields = dict(line.split(": ", 1) for line in out.splitlines())
    assert (fields["reuse_count"], fields["removal_count"], fields["failure_count"]) == (
        "4", "1", "1",
    )  # fmt: skip
