"""easgw.scheduling.local: attendees on the embedded store get the meeting; answers reach
the organizer. A real Gateway on a temporary database (SQLite; PostgreSQL when reachable)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import icalendar
import pytest

from easgw.gateway import Gateway
from easgw.scheduling.local import deliver_local, update_organizer_copy
from easgw.state.models import User
from easgw.users import Users
from protocol.calendar.ical import ical_to_item
from protocol.calendar.replies import Answer, apply_reply
from providers.stores.base import Item, StoreUser
from providers.stores.sql import SqlStore
from tests.harness import make_config

CONFIG = """
[server]
public_url = "https://gw.example.com"
[[conference.providers]]
id = "jitsi"
type = "jitsi"
resource = "jitsi@conf.example.com"
display_name = "Jitsi"
base_url = "https://meet.example.com"
"""

ALICE = StoreUser(login="alice", email="alice@example.com", display_name="Alice")
BOB = StoreUser(login="bob", email="Bob@Example.com", display_name="Bob")
ORGANIZER = "ORGANIZER;CN=Alice:mailto:alice@example.com"
JITSI = "ATTENDEE;CN=Jitsi;CUTYPE=RESOURCE:mailto:jitsi@conf.example.com"
INVITE_BOB = "ATTENDEE;CN=Bob;RSVP=TRUE;PARTSTAT=NEEDS-ACTION:mailto:bob@example.com"
INVITE_CAROL = "ATTENDEE;CN=Carol:mailto:carol@elsewhere.example.org"
ALARM = ["BEGIN:VALARM", "ACTION:DISPLAY", "DESCRIPTION:x", "TRIGGER:-PT15M", "END:VALARM"]


def event(*lines: str, start: str = "20261201T100000Z", uid: str = "meet-1") -> str:
    return "\r\n".join(
        ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//t//t//EN", "BEGIN:VEVENT", f"UID:{uid}",
         "DTSTAMP:20261101T080000Z", f"DTSTART:{start}", "DURATION:PT1H", ORGANIZER, *lines,
         "END:VEVENT", "END:VCALENDAR", ""]
    )  # fmt: skip


@dataclass
class Env:
    gateway: Gateway
    alice: User
    notified: list[str]

    @property
    def store(self) -> SqlStore:
        assert isinstance(self.gateway.store, SqlStore)
        return self.gateway.store

    async def organizer_writes(self, ical: str | None, *, before: str | None) -> list[str]:
        """Alice's Sync: the conference policy, her copy and the delivery, one transaction."""
        sessions = self.gateway.database.sessions
        async with sessions.begin() as session, self.store.joined(session):
            after = None
            if ical is not None:
                after = await self.gateway.conference.on_write(session, self.alice, ical)
                await self._put(ALICE, after)
            else:
                found = await self.item(ALICE)
                assert found is not None
                await self.store.delete_item(ALICE, *found)
            return await deliver_local(
                self.gateway, ALICE, before, after, skip=self.gateway.conference.resources
            )

    async def _put(self, user: StoreUser, ical: str) -> None:
        found = await self.item(user)
        calendar = (await self.store.list_calendars(user))[0].id
        if found is None:
            await self.store.put_item(user, calendar, ical)
        else:
            await self.store.put_item(user, found[0], ical, item_id=found[1])

    async def item(self, user: StoreUser, uid: str = "meet-1") -> tuple[str, str] | None:
        for calendar in await self.store.list_calendars(user):
            for ref in await self.store.list_items(user, calendar.id):
                if ref.uid == uid:
                    return calendar.id, ref.id
        return None

    async def read(self, user: StoreUser) -> Item | None:
        found = await self.item(user)
        if found is None:
            return None
        [item] = await self.store.get_items(user, found[0], [found[1]])
        return item

    async def copy(self, user: StoreUser = BOB) -> icalendar.Event:
        item = await self.read(user)
        assert item is not None
        return master(item.ical)


def master(text: str) -> icalendar.Event:
    calendar = icalendar.Calendar.from_ical(text)
    return next(e for e in calendar.walk("VEVENT") if "RECURRENCE-ID" not in e)


def attendees(component: icalendar.Event) -> list[icalendar.vCalAddress]:
    found = component.get("ATTENDEE", [])
    return list(found) if isinstance(found, list) else [found]


def partstat(component: icalendar.Event, email: str = "bob@example.com") -> str:
    for attendee in attendees(component):
        if str(attendee).lower() == f"mailto:{email}":
            return str(attendee.params.get("PARTSTAT"))
    raise AssertionError(f"{email} not invited")


async def _env(tmp_path: Path, database_url: str | None = None) -> Env:
    gateway = Gateway(make_config(tmp_path, CONFIG, database_url=database_url))
    await gateway.open()
    async with gateway.database.sessions.begin() as session:
        users = Users(session)
        alice = await users.add("alice", email="alice@example.com", display_name="Alice")
        await users.add("bob", email="Bob@Example.com", display_name="Bob")
    notified: list[str] = []
    gateway.store.add_change_listener(notified.append)  # type: ignore[attr-defined]
    return Env(gateway=gateway, alice=alice, notified=notified)


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    found = await _env(tmp_path)
    yield found
    await found.gateway.close()


async def test_bob_gets_the_meeting_with_the_link_as_a_received_invitation(env: Env) -> None:
    written = await env.organizer_writes(
        event("SUMMARY:Budget", JITSI, INVITE_BOB, INVITE_CAROL, *ALARM, "X-EASGW-CLIENT-UID:c1"),
        before=None,
    )
    bob_default = next(c for c in await env.store.list_calendars(BOB) if c.is_default)
    assert written == [bob_default.id]
    assert bob_default.id in env.notified  # the change feed fired after the commit
    ours = await env.copy(ALICE)
    theirs = await env.copy()
    url = str(ours["X-EASGW-CONFERENCE"])
    assert url.startswith("https://meet.example.com/")
    assert str(theirs["X-EASGW-CONFERENCE"]) == url
    assert [str(c) for c in theirs["CONFERENCE"]] == [str(c) for c in ours["CONFERENCE"]]
    assert url in str(theirs["DESCRIPTION"])
    invited = [str(a).lower() for a in attendees(theirs)]
    assert invited.count("mailto:jitsi@conf.example.com") == 1  # not duplicated as a guest
    assert partstat(theirs) == "NEEDS-ACTION"
    bob = next(a for a in attendees(theirs) if "bob" in str(a).lower())
    assert bob.params["RSVP"] == "TRUE"
    assert not theirs.walk("VALARM") and "X-EASGW-CLIENT-UID" not in theirs
    assert str(theirs["X-MICROSOFT-CDO-BUSYSTATUS"]) == "TENTATIVE"
    # Bob's phone sees a received meeting awaiting an answer, with the link.
    item = await env.read(BOB)
    assert item is not None
    seen = ical_to_item(item.ical, version="16.1", body_preference=None, owner=BOB.email)
    assert (seen.meeting_status, seen.response_type, seen.response_requested) == (3, 5, True)
    assert seen.online_meeting_external_link == url
    # The conference policy leaves Bob's copy alone (it is Alice's meeting).
    async with env.gateway.database.sessions.begin() as session:
        bob_user = await Users(session).require("bob")
        assert await env.gateway.conference.on_write(session, bob_user, item.ical) == item.ical


async def test_an_answer_survives_a_new_title_not_a_new_time(env: Env) -> None:
    first = event("SUMMARY:Budget", JITSI, INVITE_BOB)
    await env.organizer_writes(first, before=None)
    await _bob_accepts(env)
    stored = (await env.read(ALICE)).ical  # type: ignore[union-attr]
    retitled = event("SUMMARY:Budget 2027", JITSI, INVITE_BOB)
    assert await env.organizer_writes(retitled, before=stored)
    copy = await env.copy()
    assert (str(copy["SUMMARY"]), partstat(copy)) == ("Budget 2027", "ACCEPTED")
    assert str(copy["X-EASGW-RESPONSE-TYPE"]) == "3"
    assert len(copy.walk("VALARM")) == 1  # Bob's own reminder stays
    stored = (await env.read(ALICE)).ical  # type: ignore[union-attr]
    moved = event("SUMMARY:Budget 2027", JITSI, INVITE_BOB, start="20261202T100000Z")
    await env.organizer_writes(moved, before=stored)
    copy = await env.copy()
    assert partstat(copy) == "NEEDS-ACTION"
    assert "X-EASGW-RESPONSE-TYPE" not in copy
    item = await env.read(BOB)
    assert item is not None
    seen = ical_to_item(item.ical, version="16.1", body_preference=None, owner=BOB.email)
    assert (seen.meeting_status, seen.response_type) == (3, 5)


async def _bob_accepts(env: Env) -> None:
    """What MeetingResponse does to Bob's copy (replies.py), with a reminder of his own."""
    item = await env.read(BOB)
    assert item is not None
    reply = apply_reply(
        item.ical, email=BOB.email, answer=Answer.ACCEPTED, instance=None, now=datetime.now(UTC)
    )
    assert reply.ical is not None
    calendar = icalendar.Calendar.from_ical(reply.ical)
    alarm = icalendar.Alarm()
    alarm.add("ACTION", "DISPLAY")
    alarm.add("TRIGGER", -timedelta(minutes=5))
    master_of = next(e for e in calendar.walk("VEVENT") if "RECURRENCE-ID" not in e)
    master_of.add_component(alarm)
    found = await env.item(BOB)
    assert found is not None
    await env.store.put_item(BOB, found[0], calendar.to_ical().decode(), item_id=found[1])


async def test_a_deleted_meeting_is_cancelled_in_bobs_calendar(env: Env) -> None:
    await env.organizer_writes(event("SUMMARY:Budget", INVITE_BOB), before=None)
    stored = (await env.read(ALICE)).ical  # type: ignore[union-attr]
    assert await env.organizer_writes(None, before=stored)
    copy = await env.copy()
    assert str(copy["STATUS"]) == "CANCELLED"
    item = await env.read(BOB)
    assert item is not None
    seen = ical_to_item(item.ical, version="16.1", body_preference=None, owner=BOB.email)
    assert seen.meeting_status == 7  # MS-ASCAL 2.2.2.29: received and cancelled


async def test_removing_bob_or_cancelling_cancels_his_copy(env: Env) -> None:
    await env.organizer_writes(event("SUMMARY:Budget", INVITE_BOB, INVITE_CAROL), before=None)
    await _bob_accepts(env)
    stored = (await env.read(ALICE)).ical  # type: ignore[union-attr]
    await env.organizer_writes(event("SUMMARY:Budget", INVITE_CAROL), before=stored)
    copy = await env.copy()
    assert str(copy["STATUS"]) == "CANCELLED"
    assert "X-EASGW-MEETING-STATUS" not in copy  # the answer's "3" would hide the cancel
    # Invited again, then the whole meeting cancelled.
    stored = (await env.read(ALICE)).ical  # type: ignore[union-attr]
    await env.organizer_writes(event("SUMMARY:Budget", INVITE_BOB), before=stored)
    copy = await env.copy()
    assert "STATUS" not in copy and partstat(copy) == "NEEDS-ACTION"
    stored = (await env.read(ALICE)).ical  # type: ignore[union-attr]
    await env.organizer_writes(event("STATUS:CANCELLED", INVITE_BOB), before=stored)
    assert str((await env.copy())["STATUS"]) == "CANCELLED"


async def test_nothing_for_outsiders_nor_for_someone_elses_meeting(env: Env) -> None:
    assert await env.organizer_writes(event("SUMMARY:Budget", INVITE_CAROL), before=None) == []
    theirs = event("SUMMARY:Budget", INVITE_BOB, uid="meet-2").replace(
        "mailto:alice@example.com", "mailto:dan@example.com"
    )
    assert await deliver_local(env.gateway, ALICE, None, theirs, skip=frozenset()) == []
    assert await env.read(BOB) is None
    # SCHEDULE-AGENT=CLIENT: the organizer's client schedules Bob itself (RFC 6638 7.1).
    client = INVITE_BOB.replace("ATTENDEE;", "ATTENDEE;SCHEDULE-AGENT=CLIENT;")
    assert await env.organizer_writes(event("SUMMARY:Budget", client), before=None) == []
    assert await env.read(BOB) is None


WEEKLY = ("RRULE:FREQ=WEEKLY;COUNT=4", INVITE_BOB)


async def test_bobs_answer_reaches_alices_copy_for_the_series_and_one_occurrence(env: Env) -> None:
    await env.organizer_writes(event("SUMMARY:Weekly", *WEEKLY), before=None)
    await _bob_answers(env, Answer.ACCEPTED)
    ours = await env.copy(ALICE)
    assert partstat(ours) == "ACCEPTED"
    bob = next(a for a in attendees(ours) if "bob" in str(a).lower())
    assert "RSVP" not in bob.params
    bobs = await env.read(BOB)
    assert bobs is not None
    assert not await update_organizer_copy(  # the same answer again: nothing to write
        env.gateway, BOB, bobs.ical, uid="meet-1", partstat="ACCEPTED"
    )
    second = datetime(2026, 12, 8, 10, 0, tzinfo=UTC)
    await _bob_answers(env, Answer.DECLINED, second)
    item = await env.read(ALICE)
    assert item is not None
    events = icalendar.Calendar.from_ical(item.ical).walk("VEVENT")
    override = next(e for e in events if "RECURRENCE-ID" in e)
    assert override.decoded("RECURRENCE-ID") == second
    assert partstat(override) == "DECLINED"
    assert partstat(master(item.ical)) == "ACCEPTED"
    assert "EXDATE" not in master(item.ical)  # the organizer keeps the occurrence
    # Alice renames the series: Bob keeps his answer, the declined occurrence stays out.
    renamed = item.ical.replace("SUMMARY:Weekly", "SUMMARY:Weekly sync")
    assert await env.organizer_writes(renamed, before=item.ical)
    bobs = await env.read(BOB)
    assert bobs is not None
    assert len(icalendar.Calendar.from_ical(bobs.ical).walk("VEVENT")) == 1
    copy = master(bobs.ical)
    assert (str(copy["SUMMARY"]), partstat(copy)) == ("Weekly sync", "ACCEPTED")
    assert [v.dt for v in copy["EXDATE"].dts] == [second]


async def _bob_answers(env: Env, answer: Answer, instance: datetime | None = None) -> None:
    """MeetingResponse: Bob's copy (replies.py), then Alice's."""
    bobs = await env.read(BOB)
    assert bobs is not None
    reply = apply_reply(
        bobs.ical, email=BOB.email, answer=answer, instance=instance, now=datetime.now(UTC)
    )
    assert reply.ical is not None
    found = await env.item(BOB)
    assert found is not None
    await env.store.put_item(BOB, found[0], reply.ical, item_id=found[1])
    assert await update_organizer_copy(
        env.gateway, BOB, bobs.ical, uid="meet-1", partstat=answer.value, recurrence_id=instance
    )


async def test_a_declined_meeting_is_not_delivered_again_unless_it_moves(env: Env) -> None:
    await env.organizer_writes(event("SUMMARY:Budget", INVITE_BOB), before=None)
    bobs = await env.read(BOB)
    assert bobs is not None
    found = await env.item(BOB)
    assert found is not None
    await env.store.delete_item(BOB, *found)  # MeetingResponse: a declined meeting leaves
    assert await update_organizer_copy(
        env.gateway, BOB, bobs.ical, uid="meet-1", partstat="DECLINED"
    )
    stored = (await env.read(ALICE)).ical  # type: ignore[union-attr]
    retitled = stored.replace("SUMMARY:Budget", "SUMMARY:Budget 2027")
    assert await env.organizer_writes(retitled, before=stored) == []
    assert await env.read(BOB) is None
    moved = retitled.replace("DTSTART:20261201T100000Z", "DTSTART:20261203T100000Z")
    assert await env.organizer_writes(moved, before=retitled)
    assert partstat(await env.copy()) == "NEEDS-ACTION"


async def test_an_answer_for_a_non_user_organizer_writes_nothing(env: Env) -> None:
    theirs = event("SUMMARY:Budget", INVITE_BOB).replace(
        "mailto:alice@example.com", "mailto:dan@example.com"
    )
    assert not await update_organizer_copy(
        env.gateway, BOB, theirs, uid="meet-1", partstat="ACCEPTED"
    )
    assert not await update_organizer_copy(
        env.gateway, BOB, None, uid="meet-1", partstat="ACCEPTED"
    )


async def test_delivery_on_postgresql(tmp_path: Path, database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("the SQLite variant is every other test here")
    found = await _env(tmp_path, database_url)
    try:
        await found.organizer_writes(event("SUMMARY:Budget", JITSI, INVITE_BOB), before=None)
        copy = await found.copy()
        assert partstat(copy) == "NEEDS-ACTION" and "X-EASGW-CONFERENCE" in copy
        bobs = await found.read(BOB)
        assert bobs is not None
        assert await update_organizer_copy(
            found.gateway, BOB, bobs.ical, uid="meet-1", partstat="TENTATIVE"
        )
        assert partstat(await found.copy(ALICE)) == "TENTATIVE"
    finally:
        await found.gateway.close()
