"""SendMail, SmartReply, SmartForward over loopback HTTP, relayed to a real SMTP server.

Each test starts a gateway and an aiosmtpd server (tests/mail_server.py) and
checks what the server received: the envelope, the headers (Bcc gone, From the
user), the text/calendar part and the bodies as the phone wrote them.
"""

from __future__ import annotations

import asyncio
import email.policy
from collections.abc import Awaitable, Callable
from datetime import timedelta
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select, update

from easgw.app import GATEWAY, MAIL_RETRY, create_app
from easgw.state.mail_models import OutboxMessage
from easgw.state.models import utcnow
from protocol import wbxml
from protocol.ashttp import Command
from protocol.composemail import ComposeMailRequest, Source, render_compose_mail_request
from tests.harness import Answer, EasClient, add_user, make_config
from tests.mail_server import MailServer, free_port, smtp_config_text

ClientFactory = Callable[..., Awaitable[TestClient]]  # type: ignore[type-arg]
MakeServer = Callable[..., MailServer]

CALENDAR = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Apple Inc.//iPhone 17.0//EN\r\n"
    "METHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:meeting-42@phone\r\n"
    "DTSTAMP:20261125T120000Z\r\nDTSTART:20261201T100000Z\r\nDTEND:20261201T110000Z\r\n"
    "SUMMARY:Planning\r\nORGANIZER;CN=Alice:mailto:alice@example.com\r\n"
    "ATTENDEE;CN=Bob;RSVP=TRUE;PARTSTAT=NEEDS-ACTION:mailto:bob@example.org\r\n"
    "ATTENDEE;CN=Carol;RSVP=TRUE;PARTSTAT=NEEDS-ACTION:mailto:carol@example.net\r\n"
    "END:VEVENT\r\nEND:VCALENDAR\r\n"
)
TEXT = "Planning\r\nWhen: 1 December 2026 10:00-11:00 UTC\r\n"
HTML = "<html><body><p>Planning</p><p>When: 1 December 2026 10:00-11:00 UTC</p></body></html>\r\n"


def invitation(sender: str = "Alice <alice@example.com>", subject: str = "Planning") -> bytes:
    """A phone's meeting invitation: text + HTML alternatives and a text/calendar part."""
    text = (
        f"From: {sender}\r\nTo: Bob <bob@example.org>\r\nCc: carol@example.net\r\n"
        f"Bcc: dave@example.com\r\nSubject: {subject}\r\n"
        "Date: Wed, 25 Nov 2026 12:00:00 +0000\r\nMessage-ID: <inv-42@phone>\r\n"
        'MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary="b1"\r\n\r\n'
        '--b1\r\nContent-Type: text/plain; charset="utf-8"\r\n'
        f"Content-Transfer-Encoding: 7bit\r\n\r\n{TEXT}"
        '--b1\r\nContent-Type: text/html; charset="utf-8"\r\n'
        f"Content-Transfer-Encoding: 7bit\r\n\r\n{HTML}"
        '--b1\r\nContent-Type: text/calendar; charset="utf-8"; method=REQUEST\r\n'
        f"Content-Transfer-Encoding: 7bit\r\n\r\n{CALENDAR}"
        "--b1--\r\n"
    )
    return text.encode()


def read(data: bytes) -> EmailMessage:
    parsed = BytesParser(policy=email.policy.default).parsebytes(data)
    assert isinstance(parsed, EmailMessage)
    return parsed


def leaves(message: EmailMessage) -> dict[str, EmailMessage]:
    """The non-multipart parts by content type, in order."""
    return {
        part.get_content_type(): part  # type: ignore[misc]
        for part in message.walk()
        if not part.is_multipart()
    }


def compose(
    command: Command, client_id: str, mime: bytes, *, source: Source | None = None
) -> bytes:
    request = ComposeMailRequest(
        command=command,
        mime=mime,
        client_id=client_id,
        save_in_sent=True,
        source=source,
        replace_mime=source is not None,
    )
    return wbxml.encode(render_compose_mail_request(request))


async def send(
    eas: EasClient,
    mime: bytes,
    *,
    command: Command = Command.SendMail,
    client_id: str = "c1",
    parameters: dict[str, str] | None = None,
) -> Answer:
    """The command in the phone's version's form (12.x: MIME body and query)."""
    if eas.version.startswith("12"):
        query = {"SaveInSent": "T", **(parameters or {})}
        return await eas.command(
            command.name,
            body=mime,
            parameters=query,
            headers={"Content-Type": "message/rfc822"},
        )
    source = Source(folder_id="1", item_id="1:1") if command is not Command.SendMail else None
    return await eas.command(command.name, body=compose(command, client_id, mime, source=source))


async def gateway_with(
    aiohttp_client: ClientFactory, tmp_path: Path, smtp: str, database_url: str | None = None
) -> TestClient:  # type: ignore[type-arg]
    config = make_config(tmp_path, "[policy]\nrequired = false\n" + smtp, database_url)
    await add_user(config, "alice", "secret", "alice@example.com")
    return await aiohttp_client(create_app(config))


async def outbox_rows(client: TestClient) -> list[OutboxMessage]:  # type: ignore[type-arg]
    database = client.server.app[GATEWAY].database
    async with database.sessions() as session:
        return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


async def make_due(client: TestClient) -> None:  # type: ignore[type-arg]
    """Move every queued row's next attempt to the past and wake the retry task."""
    database = client.server.app[GATEWAY].database
    async with database.sessions.begin() as session:
        await session.execute(
            update(OutboxMessage).values(next_attempt=utcnow() - timedelta(seconds=1))
        )
    client.server.app[MAIL_RETRY].wake()


def assert_success(answer: Answer) -> None:
    """MS-ASCMD 2.2.3.177.14: success is an HTTP 200 without a body."""
    assert answer.status == 200, answer.body
    assert answer.body == b""


@pytest.mark.parametrize("version", ["12.1", "14.1", "16.1"])
async def test_invitation_is_relayed_as_written(
    aiohttp_client: ClientFactory, tmp_path: Path, mail_server: MailServer, version: str
) -> None:
    client = await gateway_with(aiohttp_client, tmp_path, smtp_config_text(mail_server))
    eas = EasClient(client, version=version)
    assert_success(await send(eas, invitation()))
    (delivered,) = await mail_server.wait_for(1)
    assert delivered.mail_from == "alice@example.com"
    assert sorted(delivered.rcpt_tos) == [
        "bob@example.org",
        "carol@example.net",
        "dave@example.com",
    ]
    message = delivered.message
    assert "Bcc" not in message
    assert b"dave@example.com" not in delivered.data  # Bcc: in the envelope only
    assert message["From"] == "Alice <alice@example.com>"
    assert message["To"] == "Bob <bob@example.org>"
    assert message["Message-ID"] == "<inv-42@phone>"
    parts = leaves(message)
    assert list(parts) == ["text/plain", "text/html", "text/calendar"]
    assert parts["text/calendar"].get_param("method") == "REQUEST"
    sent = leaves(read(invitation()))
    for kind, part in parts.items():  # each part exactly as the phone wrote it
        assert part.get_payload(decode=True) == sent[kind].get_payload(decode=True)
    calendar = parts["text/calendar"].get_payload(decode=True)
    assert b"UID:meeting-42@phone" in calendar
    assert b"mailto:carol@example.net" in calendar
    (row,) = await outbox_rows(client)
    assert row.state == "sent"
    assert row.attempts == 1


async def test_same_client_id_is_relayed_once(
    aiohttp_client: ClientFactory, tmp_path: Path, mail_server: MailServer
) -> None:
    client = await gateway_with(aiohttp_client, tmp_path, smtp_config_text(mail_server))
    eas = EasClient(client, version="14.1")
    assert_success(await send(eas, invitation(), client_id="dup-1"))
    assert_success(await send(eas, invitation(), client_id="dup-1"))  # a lost response
    await mail_server.wait_for(1)
    assert_success(await send(eas, invitation(subject="Another"), client_id="dup-2"))
    delivered = await mail_server.wait_for(2)
    await asyncio.sleep(0.2)
    assert [d.message["Subject"] for d in mail_server.delivered] == ["Planning", "Another"]
    assert len(delivered) == 2
    other = EasClient(client, version="14.1", device_id="DEV2")  # another device, same id
    assert_success(await send(other, invitation(subject="Third"), client_id="dup-1"))
    await mail_server.wait_for(3)


async def test_temporary_refusal_is_queued_then_retried(
    aiohttp_client: ClientFactory, tmp_path: Path, make_mail_server: MakeServer, database_url: str
) -> None:
    """On SQLite and PostgreSQL: queued, retried, and a resent ClientId is not resent."""
    server = make_mail_server(script=["451 4.3.0 try again later"])
    client = await gateway_with(aiohttp_client, tmp_path, smtp_config_text(server), database_url)
    eas = EasClient(client, version="14.1")
    assert_success(await send(eas, invitation()))  # accepted, like an MTA does
    assert_success(await send(eas, invitation()))  # the phone lost the answer
    assert server.handler.refused == 1
    assert server.delivered == []
    (row,) = await outbox_rows(client)
    assert (row.state, row.attempts) == ("queued", 1)
    assert row.last_error is not None and row.last_error.startswith("451")
    await make_due(client)
    (delivered,) = await server.wait_for(1)
    assert delivered.rcpt_tos[0] == "bob@example.org"
    await asyncio.sleep(0.1)
    (row,) = await outbox_rows(client)
    assert (row.state, row.attempts) == ("sent", 2)


async def test_relay_down_then_delivered_by_the_retry_task(
    aiohttp_client: ClientFactory, tmp_path: Path, make_mail_server: MakeServer
) -> None:
    port = free_port()  # nothing listens there yet
    smtp = f'[smtp]\nhost = "127.0.0.1"\nport = {port}\n'
    client = await gateway_with(aiohttp_client, tmp_path, smtp)
    for version, client_id in (("12.1", ""), ("16.1", "c-down")):
        eas = EasClient(client, version=version)
        assert_success(await send(eas, invitation(subject=version), client_id=client_id))
    rows = await outbox_rows(client)
    assert [(r.state, r.attempts) for r in rows] == [("queued", 1), ("queued", 1)]
    server = make_mail_server(port=port)
    await make_due(client)
    delivered = await server.wait_for(2)
    assert sorted(d.message["Subject"] for d in delivered) == ["12.1", "16.1"]


@pytest.mark.parametrize("version", ["12.1", "14.1"])
async def test_permanent_refusal_is_the_commands_failure(
    aiohttp_client: ClientFactory, tmp_path: Path, make_mail_server: MakeServer, version: str
) -> None:
    server = make_mail_server(always="550 5.7.1 relaying denied")
    client = await gateway_with(aiohttp_client, tmp_path, smtp_config_text(server))
    eas = EasClient(client, version=version)
    answer = await send(eas, invitation())
    if version == "12.1":  # no Status element before 14.0: an HTTP error
        assert answer.status == 500
        assert b"MailSubmissionFailed" in answer.body
    else:
        assert answer.status == 200
        assert answer.find("/ComposeMail:SendMail/ComposeMail:Status") == "120"
    (row,) = await outbox_rows(client)
    assert row.state == "failed"
    assert row.last_error is not None and "550" in row.last_error
    if version == "14.1":  # the same ClientId again: the same answer, nothing resent
        again = await send(eas, invitation())
        assert again.find("/ComposeMail:SendMail/ComposeMail:Status") == "120"
        assert server.handler.refused == 1


@pytest.mark.parametrize("version", ["12.1", "14.1"])
async def test_no_relay_configured(
    aiohttp_client: ClientFactory, tmp_path: Path, version: str
) -> None:
    client = await gateway_with(aiohttp_client, tmp_path, "")
    answer = await send(EasClient(client, version=version), invitation())
    if version == "12.1":  # no Status element: "not now", as a missing relay means
        assert answer.status == 503
        assert answer.headers["Retry-After"] == "300"
    else:
        assert answer.find("/ComposeMail:SendMail/ComposeMail:Status") == "120"
    assert await outbox_rows(client) == []


@pytest.mark.parametrize("version", ["12.1", "14.1", "16.1"])
@pytest.mark.parametrize("command", [Command.SmartReply, Command.SmartForward])
async def test_smart_reply_and_forward_are_relayed(
    aiohttp_client: ClientFactory,
    tmp_path: Path,
    mail_server: MailServer,
    version: str,
    command: Command,
) -> None:
    client = await gateway_with(aiohttp_client, tmp_path, smtp_config_text(mail_server))
    eas = EasClient(client, version=version)
    mime = invitation(subject=f"Re: Planning ({command.name})")
    answer = await send(
        eas, mime, command=command, parameters={"ItemId": "1:1", "CollectionId": "1"}
    )
    assert_success(answer)
    (delivered,) = await mail_server.wait_for(1)
    assert delivered.message["Subject"] == f"Re: Planning ({command.name})"
    assert "dave@example.com" in delivered.rcpt_tos


async def test_from_of_someone_else_becomes_the_user(
    aiohttp_client: ClientFactory, tmp_path: Path, mail_server: MailServer
) -> None:
    client = await gateway_with(aiohttp_client, tmp_path, smtp_config_text(mail_server))
    eas = EasClient(client, version="14.1")
    assert_success(await send(eas, invitation(sender="Boss <ceo@example.com>")))
    (delivered,) = await mail_server.wait_for(1)
    assert delivered.message["From"] == "Alice <alice@example.com>"
    assert delivered.mail_from == "alice@example.com"


async def test_message_without_recipient(
    aiohttp_client: ClientFactory, tmp_path: Path, mail_server: MailServer
) -> None:
    client = await gateway_with(aiohttp_client, tmp_path, smtp_config_text(mail_server))
    mime = b"From: alice@example.com\r\nSubject: nobody\r\n\r\nhello\r\n"
    answer = await send(EasClient(client, version="14.1"), mime)
    assert answer.find("/ComposeMail:SendMail/ComposeMail:Status") == "119"
    # 12.x has no Status element: the phone's message is at fault, an HTTP 400.
    legacy = await send(EasClient(client, version="12.1"), mime)
    assert legacy.status == 400 and b"MessageHasNoRecipient" in legacy.body
    assert await outbox_rows(client) == []


async def test_starttls_and_login(
    aiohttp_client: ClientFactory,
    tmp_path: Path,
    make_mail_server: MakeServer,
    tls_certificate: tuple[Path, Path],
) -> None:
    server = make_mail_server(tls=tls_certificate, credentials=("relay-user", "relay-pass"))
    smtp = smtp_config_text(server, starttls=True, username="relay-user", password="relay-pass")
    client = await gateway_with(aiohttp_client, tmp_path, smtp)
    assert_success(await send(EasClient(client, version="16.1"), invitation()))
    (delivered,) = await server.wait_for(1)
    assert delivered.message["Subject"] == "Planning"
    assert server.logins  # the relay saw a successful AUTH (over TLS: aiosmtpd requires it)


async def test_wrong_relay_password_keeps_the_message(
    aiohttp_client: ClientFactory,
    tmp_path: Path,
    make_mail_server: MakeServer,
    tls_certificate: tuple[Path, Path],
) -> None:
    server = make_mail_server(tls=tls_certificate, credentials=("relay-user", "relay-pass"))
    smtp = smtp_config_text(server, starttls=True, username="relay-user", password="wrong")
    client = await gateway_with(aiohttp_client, tmp_path, smtp)
    assert_success(await send(EasClient(client, version="14.1"), invitation()))
    (row,) = await outbox_rows(client)
    assert row.state == "queued"  # the admin fixes the password; the retry task delivers
    assert row.last_error is not None and "login" in row.last_error
    assert "wrong" not in row.last_error
    assert server.delivered == []
