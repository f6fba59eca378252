"""Answers on the organizer's copy: kept across edits, asked again after a reschedule.

Bob (an easgw user) accepts Alice's meeting from his phone; the answer lands on
Alice's copy. A title edit from Alice's phone (14.1 resends the whole item, times
included) keeps it; moving the meeting asks Bob again, on both copies.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from aiohttp.test_utils import TestClient

from easgw.app import GATEWAY
from tests.e2e.test_conference import change, meeting, stored_icals, unfolded
from tests.e2e.test_meetingresponse import respond_xml, results
from tests.e2e.test_ping import held, ping, status
from tests.e2e.test_scheduling import (
    BOB,
    GUESTS,
    ORGANIZER,
    add,
    bobs_icals,
    calendar_part,
    client,
    nothing_more,
    phone,
)
from tests.e2e.test_sync import commands
from tests.mail_server import MailServer

__all__ = ["client"]  # the fixture, imported for pytest


def bobs_answer(ical: str) -> str:
    line = next(x for x in unfolded(ical).splitlines() if "mailto:bob@example.com" in x)
    return line.split("PARTSTAT=")[1].split(";")[0].split(":")[0]


def alices_edit(version: str, server_id: str, subject: str, moved: bool = False) -> str:
    """Alice's Change: 14.1 sends the whole item (times included), 16.1 no organizer."""
    data = meeting(version, subject, attendees=GUESTS)
    if version.startswith("16"):
        data = data.replace(ORGANIZER, "")
    if moved:  # one day later, 14:00-15:00
        data = data.replace("20261201T100000Z", "20261202T140000Z")
        data = data.replace("20261201T110000Z", "20261202T150000Z")
    return change(server_id, data)


@pytest.mark.parametrize("version", ["14.1", "16.1"])
async def test_answers_survive_edits_and_a_reschedule_asks_again(
    client: TestClient,  # type: ignore[type-arg]
    version: str,
) -> None:
    alice = await phone(client, "alice", version)
    bob = await phone(client, "bob")
    answer = await alice.sync(add(version, "c1", "Budget review"))
    alices_id = answer.find("//AirSync:Responses/AirSync:Add/AirSync:ServerId")
    assert alices_id
    await alice.sync()  # the enrichment (link, organizer) comes back as a Change
    (bobs_id,) = commands(await bob.sync(), "Add")
    xml = respond_xml(1, bob.calendar, bobs_id)
    assert results(await bob.eas.command("MeetingResponse", xml))[0]["Status"] == "1"
    (alices,) = await stored_icals(client)
    assert bobs_answer(alices) == "ACCEPTED"

    await alice.sync()
    await alice.sync(alices_edit(version, alices_id, "Budget review (final)"))
    (alices,) = await stored_icals(client)
    assert "Budget review (final)" in alices and bobs_answer(alices) == "ACCEPTED"
    (bobs,) = await bobs_icals(client)
    assert "Budget review (final)" in bobs and bobs_answer(bobs) == "ACCEPTED"

    await alice.sync(alices_edit(version, alices_id, "Budget review (final)", moved=True))
    (alices,) = await stored_icals(client)
    assert bobs_answer(alices) == "NEEDS-ACTION"
    (bobs,) = await bobs_icals(client)
    assert bobs_answer(bobs) == "NEEDS-ACTION"


async def test_a_local_attendees_held_ping_fires_when_the_meeting_lands(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    """Bob's phone holds a Ping on his calendar; Alice's Add writes his copy in her
    transaction, and the store's change feed answers his Ping after the commit."""
    alice = await phone(client, "alice")
    bob = await phone(client, "bob")
    await bob.sync()
    bobs_calendar = next(c for c in await client.app[GATEWAY].store.list_calendars(BOB))
    waiting = asyncio.create_task(ping(bob, [bob.calendar], heartbeat=120))
    await held(client, f"calendar:{bobs_calendar.id}", 1)
    started = time.monotonic()
    await alice.sync(add("16.1", "c1", "Budget review"))
    answer = await asyncio.wait_for(waiting, 5)
    assert status(answer) == "2" and time.monotonic() - started < 1
    assert answer.find("//Ping:Folder") == bob.calendar
    (server_id,) = commands(await bob.sync(), "Add")
    assert server_id


async def test_a_meeting_response_sent_twice_replies_once(
    client: TestClient,  # type: ignore[type-arg]
    mail_server: MailServer,
) -> None:
    """iOS sends MeetingResponse twice (EAS-NOTES): the second changes nothing and
    mails nothing."""
    alice = await phone(client, "alice")
    bob = await phone(client, "bob")
    await alice.sync(add("16.1", "c1", "Budget review"))
    (server_id,) = commands(await bob.sync(), "Add")
    send = "<SendResponse><B:Body><B:Type>1</B:Type><B:Data>Yes</B:Data></B:Body></SendResponse>"
    xml = respond_xml(1, bob.calendar, server_id, send)
    for _ in range(2):
        assert results(await bob.eas.command("MeetingResponse", xml))[0]["Status"] == "1"
    await mail_server.wait_for(2)  # the REQUEST, then one REPLY
    await nothing_more(mail_server, 2)
    replies = [d for d in mail_server.delivered if "METHOD:REPLY" in calendar_part(d)]
    assert [d.rcpt_tos for d in replies] == [["alice@example.com"]]
