"""easgw.conference: the link rules (tables) and the policy with a real registry."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import icalendar
import pytest
from aiohttp.test_utils import TestServer

from easgw.conference import Conferencing
from easgw.conference_registry import list_rows
from easgw.conference_rules import Action, EventFacts, choose_provider, decide, may_book
from easgw.gateway import Gateway
from easgw.state.conference_models import ConferenceLinkRow
from easgw.users import Users
from providers.conference import ProviderSettings
from tests.harness import make_config
from tests.providers.conference.fake_webhook import FakeWebhook


def provider(pid: str, resource: str, **keys: object) -> ProviderSettings:
    return ProviderSettings(id=pid, type="jitsi", resource=resource, display_name=pid, **keys)  # type: ignore[arg-type]


JITSI = provider("jitsi", "jitsi@conf.example.com")
BBB = provider("bbb", "bbb@conf.example.com", allowed=("@staff.example.com",))
KEYWORD = provider("kw", "kw@conf.example.com", keywords=("visio",))
ALWAYS = provider("always", "always@conf.example.com", always_for=("carol", "@sales.example.com"))
ALL = (JITSI, BBB, KEYWORD, ALWAYS)


@pytest.mark.parametrize(
    ("facts", "login", "email", "expected"),
    [
        # The organizer invites the resource.
        (EventFacts(organizer=None, attendees=("jitsi@conf.example.com",)), "alice",
         "alice@example.com", "jitsi"),
        (EventFacts(organizer="alice@example.com", attendees=("bob@example.com",
         "jitsi@conf.example.com")), "alice", "alice@example.com", "jitsi"),
        # An attendee's copy never gets one.
        (EventFacts(organizer="bob@example.com", attendees=("jitsi@conf.example.com",)),
         "alice", "alice@example.com", None),
        # The first resource the organizer may book counts.
        (EventFacts(organizer=None, attendees=("bbb@conf.example.com",
         "jitsi@conf.example.com")), "alice", "alice@example.com", "jitsi"),
        (EventFacts(organizer=None, attendees=("bbb@conf.example.com",
         "jitsi@conf.example.com")), "dan", "dan@staff.example.com", "bbb"),
        (EventFacts(organizer=None, attendees=("bbb@conf.example.com",)), "alice",
         "alice@example.com", None),
        # A location keyword, as a word.
        (EventFacts(organizer=None, location="Visio with the team"), "alice",
         "alice@example.com", "kw"),
        (EventFacts(organizer=None, location="Television room"), "alice", "alice@example.com",
         None),
        # always_for: a user or a domain, meetings only.
        (EventFacts(organizer=None, attendees=("bob@example.com",)), "carol",
         "carol@example.com", "always"),
        (EventFacts(organizer=None, attendees=("bob@example.com",)), "erin",
         "erin@sales.example.com", "always"),
        (EventFacts(organizer=None), "carol", "carol@example.com", None),
        (EventFacts(organizer=None, attendees=("bob@example.com",)), "alice",
         "alice@example.com", None),
    ],
)  # fmt: skip
def test_choose_provider(facts: EventFacts, login: str, email: str, expected: str | None) -> None:
    chosen = choose_provider(facts, ALL, login=login, email=email)
    assert (chosen.id if chosen else None) == expected


def test_may_book() -> None:
    assert may_book(JITSI, "anyone", "anyone@example.org")
    restricted = provider("r", "r@conf.example.com", allowed=("alice", "bob@example.com", "@x.org"))
    assert may_book(restricted, "alice", "alice@example.com")
    assert may_book(restricted, "robert", "bob@example.com")
    assert may_book(restricted, "zed", "zed@x.org")
    assert not may_book(restricted, "zed", "zed@example.com")


REMOVE_ON_DELETE = provider("jitsi", "jitsi@conf.example.com", delete_on_remove=True)


@pytest.mark.parametrize(
    ("chosen", "status", "row_provider", "has_link", "expected"),
    [
        (None, None, None, False, Action.NONE),
        (None, "active", "jitsi", True, Action.REMOVE),
        (None, "pending", "jitsi", False, Action.REMOVE),
        (None, "removed", "jitsi", True, Action.NONE),
        (JITSI, None, None, False, Action.CREATE),
        (JITSI, "pending", "jitsi", False, Action.CREATE),  # the same row is retried
        (JITSI, "active", "jitsi", True, Action.KEEP),  # an edit never regenerates
        (JITSI, "removed", "jitsi", True, Action.REUSE),  # still valid: back on the event
        (REMOVE_ON_DELETE, "removed", "jitsi", True, Action.CREATE),  # deleted: a new one
        (BBB, "active", "jitsi", True, Action.REPLACE),
        (BBB, "removed", "jitsi", True, Action.CREATE),
    ],
)
def test_decide(
    chosen: ProviderSettings | None,
    status: str | None,
    row_provider: str | None,
    has_link: bool,
    expected: Action,
) -> None:
    found = decide(chosen, row_status=status, row_provider=row_provider, row_has_link=has_link)
    assert found is expected


# --------------------------------------------------------------------------
# The policy with a real database

JITSI_CONFIG = """
[server]
public_url = "https://gw.example.com"
[[conference.providers]]
id = "jitsi"
type = "jitsi"
resource = "jitsi@conf.example.com"
display_name = "Jitsi"
base_url = "https://meet.example.com"
[[conference.providers]]
id = "secure"
type = "jitsi"
resource = "secure@conf.example.com"
display_name = "Secure Jitsi"
base_url = "https://secure.example.com"
jwt_app_id = "easgw"
jwt_secret = "0123456789abcdef0123456789abcdef-secret"
"""


@dataclass
class Env:
    gateway: Gateway
    user: object

    @property
    def conference(self) -> Conferencing:
        return self.gateway.conference

    async def write(self, ical: str) -> str:
        async with self.gateway.database.sessions.begin() as session:
            return await self.conference.on_write(session, self.user, ical)  # type: ignore[arg-type]

    async def delete(self, ical: str) -> None:
        async with self.gateway.database.sessions.begin() as session:
            await self.conference.on_delete(session, self.user, ical)  # type: ignore[arg-type]

    async def rows(self) -> list[ConferenceLinkRow]:
        async with self.gateway.database.sessions() as session:
            return list(await list_rows(session))


async def _env(tmp_path: Path, text: str, database_url: str | None = None) -> Env:
    gateway = Gateway(make_config(tmp_path, text, database_url=database_url))
    await gateway.open()
    async with gateway.database.sessions.begin() as session:
        user = await Users(session).add(
            "alice", email="alice@example.com", display_name="Alice", password=None
        )
    return Env(gateway=gateway, user=user)


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    found = await _env(tmp_path, JITSI_CONFIG)
    yield found
    await found.gateway.close()


def vevent(*lines: str, uid: str = "u1", rid: str = "") -> str:
    recurrence = [f"RECURRENCE-ID:{rid}"] if rid else []
    return "\r\n".join(
        [
            "BEGIN:VEVENT",
            f"UID:{uid}",
            *recurrence,
            "DTSTART:20261201T100000Z" if not rid else f"DTSTART:{rid}",
            "DTEND:20261201T110000Z" if not rid else f"DTEND:{rid[:9]}110000Z",
            "SUMMARY:Budget",
            *lines,
            "END:VEVENT",
        ]
    )


def calendar(*events: str) -> str:
    return "\r\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//t//t//EN", *events,
                        "END:VCALENDAR", ""])  # fmt: skip


ORGANIZER = "ORGANIZER;CN=Alice:mailto:alice@example.com"
INVITES = ("ATTENDEE;CN=Jitsi;CUTYPE=RESOURCE:mailto:jitsi@conf.example.com",
           "ATTENDEE;CN=Bob:mailto:bob@example.com")  # fmt: skip


def master(text: str) -> icalendar.Event:
    parsed = icalendar.Calendar.from_ical(text)
    return next(e for e in parsed.walk("VEVENT") if "RECURRENCE-ID" not in e)


async def test_nothing_to_do_returns_the_same_text(env: Env) -> None:
    plain = calendar(vevent(ORGANIZER, "ATTENDEE:mailto:bob@example.com"))
    assert await env.write(plain) == plain
    assert await env.rows() == []


async def test_an_attendees_copy_is_left_alone(env: Env) -> None:
    theirs = calendar(vevent("ORGANIZER:mailto:bob@example.com", *INVITES))
    assert await env.write(theirs) == theirs
    assert await env.rows() == []


async def test_one_link_is_kept_across_writes_and_the_resource_is_unscheduled(env: Env) -> None:
    first = await env.write(calendar(vevent(ORGANIZER, *INVITES)))
    event = master(first)
    url = str(event["X-EASGW-CONFERENCE"])
    assert url.startswith("https://meet.example.com/")
    jitsi, bob = event["ATTENDEE"]
    assert jitsi.params["SCHEDULE-AGENT"] == "NONE"
    assert "SCHEDULE-AGENT" not in bob.params
    # A phone's Change comes back without the link: it is re-asserted, not regenerated.
    again = master(await env.write(calendar(vevent(ORGANIZER, *INVITES, "DESCRIPTION:Agenda"))))
    assert str(again["X-EASGW-CONFERENCE"]) == url
    assert str(again["DESCRIPTION"]).endswith("\n\nAgenda")
    assert str(again["DESCRIPTION"]).count(url) == 1
    [row] = await env.rows()
    assert (row.status, row.calendar_url, row.provider_id) == ("active", url, "jitsi")
    assert env.conference.counters.created == 1
    assert env.conference.counters.reused == 1


async def test_join_via_gateway_puts_the_redirect_in_the_calendar(env: Env) -> None:
    invites = ("ATTENDEE:mailto:secure@conf.example.com", "ATTENDEE:mailto:bob@example.com")
    event = master(await env.write(calendar(vevent(ORGANIZER, *invites))))
    [row] = await env.rows()
    assert row.join_via_gateway
    assert row.url is not None and row.url.startswith("https://secure.example.com/")
    assert row.calendar_url == f"https://gw.example.com/conf/{row.token}"
    assert len(row.token) >= 32
    assert str(event["X-EASGW-CONFERENCE"]) == row.calendar_url
    assert "secure.example.com" not in event.to_ical().decode().replace("\r\n ", "")


async def test_a_copied_event_loses_a_link_that_is_ours_but_keeps_a_foreign_one(
    env: Env,
) -> None:
    made = master(await env.write(calendar(vevent(ORGANIZER, *INVITES, uid="orig"))))
    url = str(made["X-EASGW-CONFERENCE"])
    copied = made.to_ical().decode().replace("UID:orig", "UID:copy")
    copied = "\r\n".join(line for line in copied.splitlines() if "jitsi@" not in line)
    stripped = master(await env.write(calendar(copied)))
    assert "X-EASGW-CONFERENCE" not in stripped
    assert url not in stripped.to_ical().decode().replace("\r\n ", "")
    foreign = calendar(
        vevent(ORGANIZER, "X-EASGW-CONFERENCE:https://evil.example.net/x", uid="f"),
    )
    assert "https://evil.example.net/x" in await env.write(foreign)


async def test_a_lost_row_is_rebuilt_from_the_event_but_a_copy_gets_a_new_link(
    env: Env,
) -> None:
    room = "https://meet.example.com/" + "ab" * 16
    carried = (
        f"X-EASGW-CONFERENCE:{room}",
        "X-EASGW-CONFERENCE-ID:" + "ab" * 16,
        "X-EASGW-CONFERENCE-PROVIDER:jitsi",
        f"CONFERENCE;VALUE=URI:{room}",
        f"LOCATION:{room}",
    )
    kept = master(await env.write(calendar(vevent(ORGANIZER, *INVITES, *carried, uid="lost"))))
    assert str(kept["X-EASGW-CONFERENCE"]) == room
    [row] = await env.rows()
    assert (row.uid, row.status, row.calendar_url, row.conference_id) == (
        "lost", "active", room, "ab" * 16,
    )  # fmt: skip
    assert env.conference.counters.created == 0
    copy = master(await env.write(calendar(vevent(ORGANIZER, *INVITES, *carried, uid="copy"))))
    url = str(copy["X-EASGW-CONFERENCE"])
    assert url != room
    assert room not in copy.to_ical().decode().replace("\r\n ", "")
    assert str(copy["LOCATION"]) == url
    assert [r.uid for r in await env.rows()] == ["lost", "copy"]


async def test_an_occurrence_that_alone_invites_the_resource_gets_its_own(env: Env) -> None:
    series = vevent(ORGANIZER, "ATTENDEE:mailto:bob@example.com", "RRULE:FREQ=WEEKLY;COUNT=4")
    alone = vevent(ORGANIZER, *INVITES, rid="20261208T100000Z")
    inherits = vevent(ORGANIZER, "DESCRIPTION:moved", rid="20261215T100000Z")
    text = await env.write(calendar(series, alone, inherits))
    events = icalendar.Calendar.from_ical(text).walk("VEVENT")
    by_rid = {str(e.get("RECURRENCE-ID").to_ical().decode()) if "RECURRENCE-ID" in e else "": e
              for e in events}  # fmt: skip
    assert "X-EASGW-CONFERENCE" not in by_rid[""]
    assert "X-EASGW-CONFERENCE" in by_rid["20261208T100000Z"]
    assert "X-EASGW-CONFERENCE" not in by_rid["20261215T100000Z"]
    [row] = await env.rows()
    assert row.recurrence_id == "20261208T100000Z"


async def test_a_series_link_reaches_its_overrides(env: Env) -> None:
    series = vevent(ORGANIZER, *INVITES, "RRULE:FREQ=WEEKLY;COUNT=4", "DESCRIPTION:Agenda")
    inherits = vevent(ORGANIZER, "DESCRIPTION:moved", rid="20261215T100000Z")
    no_text = vevent(ORGANIZER, rid="20261222T100000Z")
    text = await env.write(calendar(series, inherits, no_text))
    events = icalendar.Calendar.from_ical(text).walk("VEVENT")
    urls = {str(e["X-EASGW-CONFERENCE"]) for e in events}
    assert len(urls) == 1
    assert "Video conference" in str(events[1]["DESCRIPTION"])
    assert "DESCRIPTION" not in events[2]  # inherits the series' text
    assert "LOCATION" not in events[1]
    assert len(await env.rows()) == 1


async def test_an_occurrence_without_the_resource_and_a_removed_series_lose_the_link(
    env: Env,
) -> None:
    series = vevent(ORGANIZER, *INVITES, "RRULE:FREQ=WEEKLY;COUNT=4")
    dropped = vevent(ORGANIZER, "ATTENDEE:mailto:bob@example.com", rid="20261208T100000Z")
    inherits = vevent(ORGANIZER, "DESCRIPTION:moved", rid="20261215T100000Z")
    first = icalendar.Calendar.from_ical(await env.write(calendar(series, dropped, inherits)))
    events = first.walk("VEVENT")
    assert "X-EASGW-CONFERENCE" in events[0] and "X-EASGW-CONFERENCE" in events[2]
    assert "X-EASGW-CONFERENCE" not in events[1]
    # The series drops the resource; the stored override still carries the link.
    kept_override = events[2].to_ical().decode()
    plain = vevent(ORGANIZER, "ATTENDEE:mailto:bob@example.com", "RRULE:FREQ=WEEKLY;COUNT=4")
    second = await env.write(calendar(plain, kept_override.strip()))
    assert "X-EASGW-CONFERENCE" not in second
    assert "Video conference" not in second
    [row] = await env.rows()
    assert row.status == "removed"


async def test_delete_marks_removed_and_delete_on_remove_calls_the_provider(
    tmp_path: Path,
) -> None:
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
delete_on_remove = true
"""
    found = await _env(tmp_path, config)
    try:
        invites = ("ATTENDEE:mailto:video@conf.example.com", "ATTENDEE:mailto:bob@example.com")
        made = await found.write(calendar(vevent(ORGANIZER, *invites)))
        assert "Dial-in: +1 555 0100" in made.replace("\r\n ", "")
        await found.delete(made)
        [row] = await found.rows()
        assert row.status == "removed"
        assert [r["action"] for r in fake.received] == ["create", "delete"]
        assert fake.received[1]["conference_id"] == row.conference_id
        # Invited again: the old meeting was deleted, so a new link is made.
        again = master(await found.write(calendar(vevent(ORGANIZER, *invites))))
        rows = await found.rows()
        assert [r.status for r in rows] == ["removed", "active"]
        assert str(again["X-EASGW-CONFERENCE"]) == rows[1].calendar_url != rows[0].calendar_url
    finally:
        await found.gateway.close()
        await server.close()


async def test_the_registry_on_each_database(tmp_path: Path, database_url: str) -> None:
    found = await _env(tmp_path, JITSI_CONFIG, database_url)
    try:
        await found.write(calendar(vevent(ORGANIZER, *INVITES)))
        await found.write(calendar(vevent(ORGANIZER, "ATTENDEE:mailto:bob@example.com")))
        [row] = await found.rows()
        assert (row.status, row.uid, row.organizer) == ("removed", "u1", "alice@example.com")
    finally:
        await found.gateway.close()
