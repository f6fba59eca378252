"""Issue 8 part 1: a 14.1 phone's own invitation (SendMail) carries the event's link.

The Sync Add made the link (easgw/conference.py); the invitation the phone then
sends gets the same link in its calendar part and bodies, and the conference
resource is neither a recipient nor an ATTENDEE of what the guests receive.
"""

from __future__ import annotations

from pathlib import Path

from easgw.app import GATEWAY, create_app
from easgw.conference_registry import list_rows
from protocol import wbxml
from protocol.ashttp import Command
from protocol.composemail import ComposeMailRequest, Source, render_compose_mail_request
from tests.e2e.test_conference import BASE_CONFIG, JITSI, ROOM, add_meeting
from tests.e2e.test_sendmail import assert_success, leaves, send
from tests.e2e.test_sync import ClientFactory, Phone
from tests.harness import EasClient, add_user, make_config
from tests.mail_server import MailServer, smtp_config_text

UID = "meeting-77@phone"


def invitation() -> bytes:
    calendar = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//phone//EN\r\nMETHOD:REQUEST\r\n"
        f"BEGIN:VEVENT\r\nUID:{UID}\r\nDTSTAMP:20261125T120000Z\r\n"
        "DTSTART:20261201T100000Z\r\nDTEND:20261201T110000Z\r\nSUMMARY:Budget review\r\n"
        "ORGANIZER;CN=Alice:mailto:alice@example.com\r\n"
        f"ATTENDEE;CUTYPE=RESOURCE;RSVP=TRUE:mailto:{JITSI}\r\n"
        "ATTENDEE;RSVP=TRUE:mailto:bob@example.com\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    return (
        "From: Alice <alice@example.com>\r\nTo: Bob <bob@example.com>\r\n"
        f"Cc: Jitsi <{JITSI}>\r\nSubject: Budget review\r\n"
        "Date: Wed, 25 Nov 2026 12:00:00 +0000\r\nMessage-ID: <inv-77@phone>\r\n"
        'MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary="b1"\r\n\r\n'
        '--b1\r\nContent-Type: text/plain; charset="utf-8"\r\n\r\nAgenda: budget\r\n'
        '--b1\r\nContent-Type: text/html; charset="utf-8"\r\n\r\n'
        "<html><body><p>Agenda: budget</p></body></html>\r\n"
        '--b1\r\nContent-Type: text/calendar; charset="utf-8"; method=REQUEST\r\n\r\n'
        f"{calendar}--b1--\r\n"
    ).encode()


async def test_the_invitation_carries_the_events_link_and_not_the_resource(
    aiohttp_client: ClientFactory, tmp_path: Path, mail_server: MailServer
) -> None:
    config = make_config(tmp_path, BASE_CONFIG + smtp_config_text(mail_server))
    await add_user(config, "alice", "secret", "alice@example.com")
    client = await aiohttp_client(create_app(config))
    phone = Phone(EasClient(client, version="14.1"))
    await phone.start()
    await phone.sync(f"{add_meeting('14.1', 'c1', 'Budget review', uid=UID)}")
    assert_success(await send(phone.eas, invitation()))
    (delivered,) = await mail_server.wait_for(1)
    assert sorted(delivered.rcpt_tos) == ["bob@example.com"]  # not the resource
    message = delivered.message
    assert JITSI not in str(message.get("Cc", ""))
    parts = leaves(message)
    calendar = parts["text/calendar"].get_content().replace("\r\n ", "")
    (link,) = set(ROOM.findall(calendar))
    assert "CONFERENCE;" in calendar
    assert f"mailto:{JITSI}" not in calendar
    assert "mailto:bob@example.com" in calendar
    assert parts["text/calendar"].get_param("method") == "REQUEST"
    plain, html = parts["text/plain"].get_content(), parts["text/html"].get_content()
    assert plain.count(link) == 1 and "Agenda: budget" in plain
    assert link in html and "Agenda: budget" in html
    # The stored event carries the same link.
    stored = await phone.sync()
    assert link in stored.body.decode("utf-8", "replace")


async def test_an_invitation_before_its_sync_add_gets_the_link_the_event_then_keeps(
    aiohttp_client: ClientFactory, tmp_path: Path, mail_server: MailServer
) -> None:
    """The phone sends the invitation first: the link is made then, once, and the
    Sync Add that follows stores the same link (one registry row)."""
    config = make_config(tmp_path, BASE_CONFIG + smtp_config_text(mail_server))
    await add_user(config, "alice", "secret", "alice@example.com")
    client = await aiohttp_client(create_app(config))
    phone = Phone(EasClient(client, version="14.1"))
    await phone.start()
    assert_success(await send(phone.eas, invitation()))
    (delivered,) = await mail_server.wait_for(1)
    assert sorted(delivered.rcpt_tos) == ["bob@example.com"]
    calendar = leaves(delivered.message)["text/calendar"].get_content().replace("\r\n ", "")
    (link,) = set(ROOM.findall(calendar))
    await phone.sync(f"{add_meeting('14.1', 'c1', 'Budget review', uid=UID)}")
    changed = await phone.sync()
    assert set(ROOM.findall(changed.body.decode("utf-8", "replace"))) == {link}
    async with client.app[GATEWAY].database.sessions() as session:
        rows = [row for row in await list_rows(session) if row.uid == UID]
    assert [(row.status, row.calendar_url) for row in rows] == [("active", link)]


def forward(source: Source, *, replace_mime: bool = False) -> bytes:
    """A 14.1 SmartForward of a calendar item: the phone's MIME holds only its text."""
    mime = (
        b"From: Alice <alice@example.com>\r\nTo: Dave <dave@elsewhere.example>\r\n"
        b"Subject: Fw: Budget review\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: text/plain; charset="utf-8"\r\n\r\nPlease join us.\r\n'
    )
    request = ComposeMailRequest(
        command=Command.SmartForward,
        mime=mime,
        client_id="fw1",
        source=source,
        replace_mime=replace_mime,
    )
    return wbxml.encode(render_compose_mail_request(request))


async def test_a_forwarded_meeting_carries_its_invitation_with_the_link(
    aiohttp_client: ClientFactory, tmp_path: Path, mail_server: MailServer
) -> None:
    config = make_config(tmp_path, BASE_CONFIG + smtp_config_text(mail_server))
    await add_user(config, "alice", "secret", "alice@example.com")
    client = await aiohttp_client(create_app(config))
    phone = Phone(EasClient(client, version="14.1"))
    await phone.start()
    added = await phone.sync(add_meeting("14.1", "c1", "Budget review", uid=UID))
    server_id = added.find("//AirSync:Responses/AirSync:Add/AirSync:ServerId")
    assert server_id
    source = Source(folder_id=phone.calendar, item_id=server_id)
    assert_success(await phone.eas.command("SmartForward", body=forward(source)))
    (delivered,) = await mail_server.wait_for(1)
    assert delivered.rcpt_tos == ["dave@elsewhere.example"]
    parts = leaves(delivered.message)
    calendar = parts["text/calendar"].get_content().replace("\r\n ", "")
    assert parts["text/calendar"].get_param("method") == "REQUEST"
    assert "METHOD:REQUEST" in calendar and f"UID:{UID}" in calendar
    (link,) = set(ROOM.findall(calendar))
    assert f"mailto:{JITSI}" not in calendar.lower()
    plain = parts["text/plain"].get_content()
    assert "Please join us." in plain and plain.count(link) == 1
    # ReplaceMime: the phone's MIME is the whole message, sent as written.
    again = forward(source, replace_mime=True).replace(b"fw1", b"fw2")
    assert_success(await phone.eas.command("SmartForward", body=again))
    second = (await mail_server.wait_for(2))[1]
    assert "text/calendar" not in leaves(second.message)
