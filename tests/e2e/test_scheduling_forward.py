"""16.1 SmartForward of a meeting with Forwardees: they join it, with the link.

Alice organizes on a 16.1 phone and forwards her meeting to Dan (an easgw user)
and Erin (outside). The forward carries the meeting as a REQUEST naming them,
link included; Alice's event lists them, so later updates reach them; Dan's
calendar gets his copy. The forward is their invitation: nothing else is mailed.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp.test_utils import TestClient

from easgw.app import GATEWAY, create_app
from protocol import wbxml
from protocol.ashttp import Command
from protocol.composemail import (
    ComposeMailRequest,
    Forwardee,
    Source,
    render_compose_mail_request,
)
from providers.stores.base import StoreUser
from tests.e2e.test_conference import BASE_CONFIG, JITSI, ROOM, stored_icals, unfolded
from tests.e2e.test_scheduling import add, calendar_part, nothing_more, phone
from tests.e2e.test_sendmail import assert_success
from tests.e2e.test_sync import ClientFactory
from tests.harness import add_user, make_config
from tests.mail_server import MailServer, smtp_config_text

DAN = StoreUser(login="dan", email="dan@example.com")
ERIN = "erin@elsewhere.example"


def forward(source: Source) -> bytes:
    mime = (
        f"From: Alice <alice@example.com>\r\nTo: Dan <dan@example.com>, {ERIN}\r\n"
        "Subject: Fw: Budget review\r\nMIME-Version: 1.0\r\n"
        'Content-Type: text/plain; charset="utf-8"\r\n\r\nJoin us.\r\n'
    ).encode()
    request = ComposeMailRequest(
        command=Command.SmartForward,
        mime=mime,
        client_id="fw1",
        source=source,
        forwardees=(Forwardee(email="dan@example.com", name="Dan"), Forwardee(email=ERIN)),
    )
    return wbxml.encode(render_compose_mail_request(request))


async def test_forwardees_join_the_meeting_with_the_link(
    aiohttp_client: ClientFactory, tmp_path: Path, mail_server: MailServer
) -> None:
    config = make_config(tmp_path, BASE_CONFIG + smtp_config_text(mail_server))
    for login in ("alice", "bob", "dan"):
        await add_user(config, login, "secret", f"{login}@example.com")
    client: TestClient = await aiohttp_client(create_app(config))  # type: ignore[type-arg]
    alice = await phone(client, "alice")
    answer = await alice.sync(add("16.1", "c1", "Budget review"))
    server_id = answer.find("//AirSync:Responses/AirSync:Add/AirSync:ServerId")
    assert server_id
    await mail_server.wait_for(1)  # the REQUEST to Bob and Carol

    source = Source(folder_id=alice.calendar, item_id=server_id)
    assert_success(await alice.eas.command("SmartForward", body=forward(source)))
    forwarded = (await mail_server.wait_for(2))[1]
    assert sorted(forwarded.rcpt_tos) == sorted(["dan@example.com", ERIN])
    calendar = calendar_part(forwarded)
    assert "METHOD:REQUEST" in calendar
    assert "mailto:dan@example.com" in calendar and f"mailto:{ERIN}" in calendar
    assert f"mailto:{JITSI}" not in calendar.lower()
    (link,) = set(ROOM.findall(calendar))
    await nothing_more(mail_server, 2)  # the forward was their invitation

    (alices,) = await stored_icals(client)
    assert "mailto:dan@example.com" in unfolded(alices) and f"mailto:{ERIN}" in unfolded(alices)
    store = client.app[GATEWAY].store
    default = next(c for c in await store.list_calendars(DAN) if c.is_default)
    refs = await store.list_items(DAN, default.id)
    (copy,) = await store.get_items(DAN, default.id, [r.id for r in refs])
    assert link in unfolded(copy.ical)
    dans = next(x for x in unfolded(copy.ical).splitlines() if "mailto:dan@example.com" in x)
    assert "PARTSTAT=NEEDS-ACTION" in dans
