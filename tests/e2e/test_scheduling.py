"""Issue 8 at 16.1: the gateway sends the invitations, delivers local copies, relays replies.

A real SMTP server (aiosmtpd on loopback) receives what easgw sends; Alice
organizes on a 16.1 phone, Bob (an easgw user) answers on his 16.1 phone, Carol
is outside. The conference resource is invited and never written to.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from easgw.app import GATEWAY, create_app
from easgw.commands.sync import apply
from easgw.state.mail_models import OutboxMessage
from providers.stores.base import InvalidData, StoreUser
from tests.e2e.test_conference import (
    BASE_CONFIG,
    JITSI,
    PLAIN,
    ROOM,
    add_meeting,
    change,
    meeting,
    stored_icals,
    unfolded,
)
from tests.e2e.test_meetingresponse import respond_xml, results
from tests.e2e.test_sendmail import leaves
from tests.e2e.test_sync import ALICE, NS, ClientFactory, Phone, commands
from tests.harness import EasClient, add_user, make_config
from tests.mail_server import Delivered, MailServer, smtp_config_text

BOB = StoreUser(login="bob", email="bob@example.com")
CAROL = "carol@elsewhere.example"
GUESTS = (JITSI, "bob@example.com", CAROL)
#: 16.x phones MUST NOT send the organizer: the server uses the user (MS-ASCAL 2.2.2.35).
ORGANIZER = (
    "<C:OrganizerName>Alice</C:OrganizerName><C:OrganizerEmail>alice@example.com</C:OrganizerEmail>"
)


def add(version: str, client_id: str, subject: str, **kwargs: Any) -> str:
    data = add_meeting(version, client_id, subject, attendees=GUESTS, **kwargs)
    return data.replace(ORGANIZER, "") if version.startswith("16") else data


def edit(server_id: str, subject: str, extra: str = "") -> str:
    data = meeting("16.1", subject, attendees=GUESTS).replace(ORGANIZER, "")
    return change(server_id, data.replace("</ApplicationData>", f"{extra}</ApplicationData>"))


async def _client(
    aiohttp_client: ClientFactory, tmp_path: Path, mail_server: MailServer, extra: str = ""
) -> TestClient:  # type: ignore[type-arg]
    config = make_config(tmp_path, BASE_CONFIG + smtp_config_text(mail_server) + extra)
    await add_user(config, "alice", "secret", "alice@example.com")
    await add_user(config, "bob", "secret", "bob@example.com")
    return await aiohttp_client(create_app(config))


@pytest.fixture
async def client(
    aiohttp_client: ClientFactory, tmp_path: Path, mail_server: MailServer
) -> TestClient:  # type: ignore[type-arg]
    return await _client(aiohttp_client, tmp_path, mail_server)


async def phone(client: TestClient, user: str, version: str = "16.1") -> Phone:  # type: ignore[type-arg]
    found = Phone(EasClient(client, user=user, device_id=f"{user.upper()}1", version=version))
    await found.start(extra=PLAIN)
    return found


async def bobs_icals(client: TestClient) -> list[str]:  # type: ignore[type-arg]
    store = client.app[GATEWAY].store
    default = next(c for c in await store.list_calendars(BOB) if c.is_default)
    refs = await store.list_items(BOB, default.id)
    return [item.ical for item in await store.get_items(BOB, default.id, [r.id for r in refs])]


def calendar_part(delivered: Delivered) -> str:
    return unfolded(str(leaves(delivered.message)["text/calendar"].get_content()))


async def nothing_more(mail_server: MailServer, count: int) -> None:
    """No message beyond ``count`` arrives (the outbox is woken at once, so 0.5 s is ample)."""
    await asyncio.sleep(0.5)
    assert len(mail_server.delivered) == count, [
        d.message["Subject"] for d in mail_server.delivered
    ]


async def test_a_sixteen_organizer_gets_the_request_sent_with_the_link(
    client: TestClient,  # type: ignore[type-arg]
    mail_server: MailServer,
) -> None:
    alice = await phone(client, "alice")
    await alice.sync(add("16.1", "c1", "Budget review", uid="u-1"))
    (request,) = await mail_server.wait_for(1)
    assert sorted(request.rcpt_tos) == sorted(["bob@example.com", CAROL])  # never the resource
    message = request.message
    assert message["Subject"] == "Invitation: Budget review"
    assert "alice@example.com" in str(message["From"])
    calendar = calendar_part(request)
    (link,) = set(ROOM.findall(calendar))
    assert "METHOD:REQUEST" in calendar and "CONFERENCE;" in calendar
    assert f"mailto:{JITSI}" not in calendar.lower()
    assert leaves(message)["text/calendar"].get_param("method") == "REQUEST"
    parts = leaves(message)
    assert link in parts["text/plain"].get_content() and link in parts["text/html"].get_content()
    # The stored event and the invitation carry the same link.
    (stored,) = await stored_icals(client)
    assert set(ROOM.findall(unfolded(stored))) == {link}
    # A retried Add (the same ClientId) sends nothing twice.
    await alice.sync(add("16.1", "c1", "Budget review", uid="u-1"))
    await nothing_more(mail_server, 1)


async def test_a_local_attendee_gets_the_meeting_and_the_link_in_their_calendar(
    client: TestClient,  # type: ignore[type-arg]
    mail_server: MailServer,
) -> None:
    alice = await phone(client, "alice")
    bob = await phone(client, "bob")
    await alice.sync(add("16.1", "c1", "Budget review", uid="u-2"))
    (copy,) = await bobs_icals(client)
    copy = unfolded(copy)
    (link,) = set(ROOM.findall(copy))
    assert (
        "PARTSTAT=NEEDS-ACTION" in copy.split("mailto:bob@example.com")[0].rsplit("ATTENDEE", 1)[1]
    )
    answer = await bob.sync()
    (server_id,) = commands(answer, "Add")
    assert answer.find("//Calendar:OnlineMeetingExternalLink") == link
    assert answer.find("//Calendar:MeetingStatus") == "3"  # a meeting Bob received
    # Bob accepts with a reply: Alice gets the iMIP REPLY, her copy the answer.
    send = "<SendResponse><B:Body><B:Type>1</B:Type><B:Data>Sure</B:Data></B:Body></SendResponse>"
    xml = respond_xml(1, bob.calendar, server_id, send)
    assert results(await bob.eas.command("MeetingResponse", xml))[0]["Status"] == "1"
    replies = [d for d in await mail_server.wait_for(2) if "REPLY" in calendar_part(d)]
    (reply,) = replies
    assert reply.rcpt_tos == ["alice@example.com"]
    assert reply.message["Subject"] == "Accepted: Budget review"
    text = calendar_part(reply)
    assert "PARTSTAT=ACCEPTED" in text and "mailto:bob@example.com" in text
    assert CAROL not in text  # a REPLY names only the one who answers
    (alices,) = await stored_icals(client)
    line = next(x for x in unfolded(alices).splitlines() if "mailto:bob@example.com" in x)
    assert "PARTSTAT=ACCEPTED" in line
    # Alice's phone learns the answer on its next Sync.
    changed = await alice.sync()
    statuses = [
        a.findtext("{Calendar:}AttendeeStatus")
        for a in changed.findall("//Calendar:Attendee")
        if a.findtext("{Calendar:}Email") == "bob@example.com"
    ]
    assert statuses == ["3"]


async def test_an_organizers_delete_sends_a_cancel_and_cancels_local_copies(
    client: TestClient,  # type: ignore[type-arg]
    mail_server: MailServer,
) -> None:
    alice = await phone(client, "alice")
    answer = await alice.sync(add("16.1", "c1", "Budget review"))
    server_id = answer.find("//AirSync:Responses/AirSync:Add/AirSync:ServerId")
    await mail_server.wait_for(1)
    await alice.sync(f"<Delete><ServerId>{server_id}</ServerId></Delete>")
    cancel = (await mail_server.wait_for(2))[1]
    assert sorted(cancel.rcpt_tos) == sorted(["bob@example.com", CAROL])
    assert cancel.message["Subject"] == "Cancelled: Budget review"
    calendar = calendar_part(cancel)
    assert "METHOD:CANCEL" in calendar and "STATUS:CANCELLED" in calendar
    assert leaves(cancel.message)["text/calendar"].get_param("method") == "CANCEL"
    (copy,) = await bobs_icals(client)
    assert "STATUS:CANCELLED" in copy
    await nothing_more(mail_server, 2)


async def test_a_title_edit_sends_an_update_and_an_alarm_edit_sends_nothing(
    client: TestClient,  # type: ignore[type-arg]
    mail_server: MailServer,
) -> None:
    alice = await phone(client, "alice")
    answer = await alice.sync(add("16.1", "c1", "Budget review"))
    server_id = answer.find("//AirSync:Responses/AirSync:Add/AirSync:ServerId")
    (first,) = await mail_server.wait_for(1)
    (link,) = set(ROOM.findall(calendar_part(first)))
    await alice.sync(edit(server_id, "Budget review 2027"))
    update = (await mail_server.wait_for(2))[1]
    assert update.message["Subject"] == "Updated invitation: Budget review 2027"
    assert set(ROOM.findall(calendar_part(update))) == {link}  # the same link, once
    assert sorted(update.rcpt_tos) == sorted(["bob@example.com", CAROL])
    (copy,) = await bobs_icals(client)
    assert "SUMMARY:Budget review 2027" in copy
    await alice.sync(edit(server_id, "Budget review 2027", "<C:Reminder>30</C:Reminder>"))
    await nothing_more(mail_server, 2)


async def test_a_fourteen_phone_sends_its_own_invitations(
    client: TestClient,  # type: ignore[type-arg]
    mail_server: MailServer,
) -> None:
    """<= 14.1 phones invite with SendMail: easgw sends nothing itself, but a local
    attendee still gets the meeting in their calendar."""
    alice = await phone(client, "alice", "14.1")
    await alice.sync(add("14.1", "c1", "Budget review"))
    await nothing_more(mail_server, 0)
    (copy,) = await bobs_icals(client)
    assert ROOM.search(unfolded(copy))


async def test_with_a_scheduling_server_easgw_sends_and_delivers_nothing(
    aiohttp_client: ClientFactory, tmp_path: Path, mail_server: MailServer
) -> None:
    client = await _client(
        aiohttp_client, tmp_path, mail_server, '[store]\nscheduling = "server"\n'
    )
    alice = await phone(client, "alice")
    await alice.sync(add("16.1", "c1", "Budget review"))
    await nothing_more(mail_server, 0)
    assert await bobs_icals(client) == []
    (stored,) = await stored_icals(client)
    assert ROOM.search(unfolded(stored))  # the link is the gateway's either way
    assert ALICE.email in stored


async def test_a_refused_local_copy_never_costs_the_organizer_the_save(
    client: TestClient,  # type: ignore[type-arg]
    mail_server: MailServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Bob's calendar refuses his copy (fault injected in the store): Alice's
    meeting is stored and the invitations still go out."""
    store = client.app[GATEWAY].store
    real_put = store.put_item

    async def put_item(user: StoreUser, *args: Any, **kwargs: Any) -> Any:
        if user.login == "bob":
            raise InvalidData("refused for the test")
        return await real_put(user, *args, **kwargs)

    monkeypatch.setattr(store, "put_item", put_item)
    alice = await phone(client, "alice")
    answer = await alice.sync(add("16.1", "c1", "Budget review"))
    assert answer.find("//AirSync:Responses/AirSync:Add/AirSync:Status") == "1", answer.body
    (request,) = await mail_server.wait_for(1)
    assert sorted(request.rcpt_tos) == sorted(["bob@example.com", CAROL])
    assert len(await stored_icals(client)) == 1
    assert await bobs_icals(client) == []


async def test_a_proposed_new_time_reaches_the_organizer_as_a_counter(
    client: TestClient,  # type: ignore[type-arg]
    mail_server: MailServer,
) -> None:
    alice = await phone(client, "alice")
    bob = await phone(client, "bob")
    await alice.sync(add("16.1", "c1", "Budget review"))
    (server_id,) = commands(await bob.sync(), "Add")
    send = (
        "<SendResponse><ProposedStartTime>2026-12-01T14:00:00.000Z</ProposedStartTime>"
        "<ProposedEndTime>2026-12-01T15:00:00.000Z</ProposedEndTime></SendResponse>"
    )
    xml = respond_xml(2, bob.calendar, server_id, send)
    assert results(await bob.eas.command("MeetingResponse", xml))[0]["Status"] == "1"
    counters = [d for d in await mail_server.wait_for(2) if "COUNTER" in calendar_part(d)]
    (counter,) = counters
    assert counter.rcpt_tos == ["alice@example.com"]
    assert counter.message["Subject"] == "New time proposed: Budget review"
    text = calendar_part(counter)
    assert "DTSTART:20261201T140000Z" in text and "DTEND:20261201T150000Z" in text
    assert "PARTSTAT=TENTATIVE" in text


async def test_deleting_one_occurrence_cancels_that_occurrence_only(
    client: TestClient,  # type: ignore[type-arg]
    mail_server: MailServer,
) -> None:
    """16.1 deletes one occurrence by InstanceId: the guests get a CANCEL naming it
    (RECURRENCE-ID), not a new invitation to the whole series."""
    alice = await phone(client, "alice")
    answer = await alice.sync(add("16.1", "c1", "Weekly", recurrence=True))
    server_id = answer.find("//AirSync:Responses/AirSync:Add/AirSync:ServerId")
    (request,) = await mail_server.wait_for(1)
    assert "RRULE:" in calendar_part(request)
    delete = (
        f"<Delete><ServerId>{server_id}</ServerId>"
        "<B:InstanceId>20261207T100000Z</B:InstanceId></Delete>"
    )
    assert (await alice.sync(delete)).findall("//AirSync:Responses/*") == []
    (stored,) = await stored_icals(client)
    assert "EXDATE" in unfolded(stored)
    cancel = (await mail_server.wait_for(2))[1]
    assert cancel.message["Subject"] == "Cancelled: Weekly"
    assert sorted(cancel.rcpt_tos) == sorted(["bob@example.com", CAROL])
    text = calendar_part(cancel)
    assert "METHOD:CANCEL" in text and "RECURRENCE-ID:20261207T100000Z" in text
    assert "RRULE" not in text and "STATUS:CANCELLED" in text
    await nothing_more(mail_server, 2)


async def test_a_title_with_a_line_break_is_sent_on_one_subject_line(
    client: TestClient,  # type: ignore[type-arg]
    mail_server: MailServer,
) -> None:
    alice = await phone(client, "alice")
    answer = await alice.sync(add("16.1", "c1", "Budget&#10;Bcc: eve@example.com"))
    assert answer.find("//AirSync:Responses/AirSync:Add/AirSync:Status") == "1", answer.body
    (request,) = await mail_server.wait_for(1)
    assert request.message["Subject"] == "Invitation: Budget Bcc: eve@example.com"
    assert "eve@example.com" not in request.rcpt_tos


async def test_an_attendee_without_a_deliverable_address_costs_the_others_nothing(
    client: TestClient,  # type: ignore[type-arg]
    mail_server: MailServer,
) -> None:
    alice = await phone(client, "alice")
    odd = (*GUESTS, "two words@example.com", "list@example.com,more@example.com")
    data = add_meeting("16.1", "c1", "Budget review", attendees=odd).replace(ORGANIZER, "")
    await alice.sync(data)
    (request,) = await mail_server.wait_for(1)
    assert sorted(request.rcpt_tos) == sorted(["bob@example.com", CAROL])


async def test_a_sync_that_fails_after_its_write_sends_nothing_then_its_retry_sends_once(
    client: TestClient,  # type: ignore[type-arg]
    mail_server: MailServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The invitation is a row of the Sync's own transaction: the database failing
    after the event and the row were written (fault injected) rolls both back and
    nothing is sent; the phone's retry of the same Add sends the invitation once."""

    alice = await phone(client, "alice")
    real = apply.remember_client

    async def failing(*args: Any, **kwargs: Any) -> None:
        raise OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr(apply, "remember_client", failing)
    answer = await alice.eas.command(
        "Sync",
        f"<Sync {NS}><Collections><Collection><SyncKey>{alice.key}</SyncKey>"
        f"<CollectionId>{alice.calendar}</CollectionId>"
        f"<Commands>{add('16.1', 'c1', 'Budget review')}</Commands>"
        "</Collection></Collections></Sync>",
    )
    assert answer.status == 503
    await nothing_more(mail_server, 0)
    assert await stored_icals(client) == [] and await bobs_icals(client) == []
    async with client.app[GATEWAY].database.sessions() as session:
        assert list(await session.scalars(select(OutboxMessage))) == []

    monkeypatch.setattr(apply, "remember_client", real)
    retried = await alice.sync(add("16.1", "c1", "Budget review"))
    assert retried.find("//AirSync:Responses/AirSync:Add/AirSync:Status") == "1"
    (request,) = await mail_server.wait_for(1)
    assert sorted(request.rcpt_tos) == sorted(["bob@example.com", CAROL])
    await nothing_more(mail_server, 1)
