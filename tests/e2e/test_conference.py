"""Conference links end to end over loopback: a phone invites the Jitsi resource.

The embedded store, 14.1 and 16.1, a Jitsi provider (no network) and a webhook
provider served on loopback. The link reaches the phone by the echo rule: never in
the answer to its own Add or Change, as a Change on the next Sync.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import jwt
import pytest
from aiohttp.test_utils import TestClient, TestServer

from easgw.app import GATEWAY, create_app
from easgw.conference_registry import list_rows
from easgw.config import Config
from tests.e2e.test_sync import (
    ALICE,
    UTC_BLOB,
    ClientFactory,
    Phone,
    command_count,
    commands,
)
from tests.harness import EasClient, add_user, make_config
from tests.providers.conference.fake_webhook import FakeWebhook

JITSI = "jitsi@conf.example.com"
ROOM = re.compile(r"https://meet\.example\.com/[0-9a-f]{32}")
BASE_CONFIG = """
[policy]
required = false
[server]
public_url = "https://gw.example.com"
[[conference.providers]]
id = "jitsi"
type = "jitsi"
resource = "jitsi@conf.example.com"
display_name = "Jitsi video conference"
base_url = "https://meet.example.com"
"""
PLAIN = "<Options><B:BodyPreference><B:Type>1</B:Type></B:BodyPreference></Options>"
VERSIONS = ["14.1", "16.1"]


def meeting(
    version: str,
    subject: str,
    *,
    attendees: tuple[str, ...] = (JITSI, "bob@example.com"),
    body: str | None = "Agenda: budget",
    uid: str = "",
    recurrence: bool = False,
) -> str:
    """ApplicationData of a meeting on 1 December 2026 organized by Alice."""
    sixteen = version.startswith("16")
    people = "".join(
        f"<C:Attendee><C:Email>{a}</C:Email><C:Name>{a.split('@')[0]}</C:Name>"
        f"<C:AttendeeType>{3 if a == JITSI else 1}</C:AttendeeType></C:Attendee>"
        for a in attendees
    )
    ident = ""
    if uid:
        ident = f"<C:ClientUid>{uid}</C:ClientUid>" if sixteen else f"<C:UID>{uid}</C:UID>"
    text = f"<B:Body><B:Type>1</B:Type><B:Data>{body}</B:Data></B:Body>" if body else ""
    rule = (
        "<C:Recurrence><C:Type>1</C:Type><C:Interval>1</C:Interval>"
        "<C:Occurrences>5</C:Occurrences><C:DayOfWeek>2</C:DayOfWeek></C:Recurrence>"
        if recurrence
        else ""
    )
    return (
        f"<ApplicationData><C:Timezone>{UTC_BLOB}</C:Timezone><C:AllDayEvent>0</C:AllDayEvent>"
        "<C:StartTime>20261201T100000Z</C:StartTime><C:EndTime>20261201T110000Z</C:EndTime>"
        f"<C:Subject>{subject}</C:Subject>{text}"
        "<C:OrganizerName>Alice</C:OrganizerName><C:OrganizerEmail>alice@example.com</C:OrganizerEmail>"
        f"<C:Attendees>{people}</C:Attendees>{ident}{rule}"
        "<C:BusyStatus>2</C:BusyStatus><C:MeetingStatus>1</C:MeetingStatus></ApplicationData>"
    )


def add_meeting(version: str, client_id: str, subject: str, **kwargs: Any) -> str:
    return f"<Add><ClientId>{client_id}</ClientId>{meeting(version, subject, **kwargs)}</Add>"


def change(server_id: str, data: str) -> str:
    return f"<Change><ServerId>{server_id}</ServerId>{data}</Change>"


async def _client(aiohttp_client: ClientFactory, config: Config) -> TestClient:  # type: ignore[type-arg]
    await add_user(config, "alice", "secret", "alice@example.com")
    return await aiohttp_client(create_app(config))


@pytest.fixture
async def client(aiohttp_client: ClientFactory, tmp_path: Path) -> TestClient:  # type: ignore[type-arg]
    return await _client(aiohttp_client, make_config(tmp_path, BASE_CONFIG))


async def phone(client: TestClient, version: str, device_id: str) -> Phone:  # type: ignore[type-arg]
    found = Phone(EasClient(client, device_id=device_id, version=version))
    await found.start(extra=PLAIN)
    return found


async def stored_icals(client: TestClient) -> list[str]:  # type: ignore[type-arg]
    store = client.app[GATEWAY].store
    calendars = await store.list_calendars(ALICE)
    default = next(c for c in calendars if c.is_default)
    refs = await store.list_items(ALICE, default.id)
    return [item.ical for item in await store.get_items(ALICE, default.id, [r.id for r in refs])]


def unfolded(ical: str) -> str:
    return ical.replace("\r\n ", "")


async def registry(client: TestClient) -> list[Any]:  # type: ignore[type-arg]
    async with client.app[GATEWAY].database.sessions() as session:
        return list(await list_rows(session))


def location_of(data: dict[str, str], version: str) -> str | None:
    return data.get("DisplayName" if version.startswith("16") else "Location")


@pytest.mark.parametrize("version", VERSIONS)
async def test_invited_resource_gets_one_link_that_follows_edits(
    client: TestClient,  # type: ignore[type-arg]
    version: str,
) -> None:
    a, b = await phone(client, version, "DEVA"), await phone(client, version, "DEVB")
    added = await a.sync(add_meeting(version, "c1", "Budget"))
    server_id = added.find("//AirSync:Responses/AirSync:Add/AirSync:ServerId")
    assert server_id
    assert command_count(added) == 0
    assert b"meet.example.com" not in added.body  # never in the answer to the Add

    [ical] = await stored_icals(client)
    text = unfolded(ical)
    url = ROOM.search(text)
    assert url is not None
    link = url.group(0)
    assert f"CONFERENCE;FEATURE=VIDEO;LABEL=Jitsi video conference;VALUE=URI:{link}" in text
    assert f"X-EASGW-CONFERENCE:{link}" in text
    assert f"X-EASGW-CONFERENCE-ID:{link.rsplit('/', 1)[1]}" in text
    assert "X-EASGW-CONFERENCE-PROVIDER:jitsi" in text
    assert f"X-MICROSOFT-SKYPETEAMSMEETINGURL:{link}" in text
    assert f"LOCATION:{link}" in text
    assert "~~~~~~~~~~ Video conference ~~~~~~~~~~\\n" in text
    assert f"Join the video conference: {link}" in text
    assert "SCHEDULE-AGENT=NONE" in text.split("mailto:jitsi@conf.example.com")[0][-200:]

    # The organizer's phone gets the enriched event as a Change on its next Sync.
    got = commands(await a.sync(), "Change")[server_id]
    if version != "12.1":
        assert got["OnlineMeetingExternalLink"] == link
    assert location_of(got, version) == link
    assert got["Data"].count(link) == 1
    assert got["Data"].endswith("Agenda: budget")
    assert command_count(await a.sync()) == 0
    # A second device of the user: the same single link.
    other = commands(await b.sync(), "Add")[server_id]
    assert other["OnlineMeetingExternalLink"] == link
    assert other["Data"].count(link) == 1

    # A title edit sending back what the phone holds: same link, shown once, no echo.
    held = got["Data"].replace("\n", "\r\n")
    edit = meeting(version, "Budget (v2)", body=held).replace(
        "<C:Subject>",
        f"<C:Location>{link}</C:Location><C:Subject>"
        if not version.startswith("16")
        else f"<B:Location><B:DisplayName>{link}</B:DisplayName></B:Location><C:Subject>",
    )
    await a.sync(change(server_id, edit))
    assert command_count(await a.sync()) == 0
    [ical] = await stored_icals(client)
    assert unfolded(ical).count(f"X-EASGW-CONFERENCE:{link}") == 1
    assert unfolded(ical).count("Video conference ~") == 1
    renamed = commands(await b.sync(), "Change")[server_id]
    assert renamed["Subject"] == "Budget (v2)"
    assert renamed["Data"].count(link) == 1
    assert renamed["OnlineMeetingExternalLink"] == link

    # An edit without the link (no Body, no Location): the server re-asserts it.
    await a.sync(change(server_id, meeting(version, "Budget (v3)", body=None)))
    [ical] = await stored_icals(client)
    assert f"X-EASGW-CONFERENCE:{link}" in unfolded(ical)
    assert unfolded(ical).count("Video conference ~") == 1
    assert len(await registry(client)) == 1

    # Removing the resource removes the link from the event; the registry keeps it.
    await a.sync(change(server_id, meeting(version, "Budget", attendees=("bob@example.com",))))
    [ical] = await stored_icals(client)
    assert link not in unfolded(ical)
    assert "X-EASGW-CONFERENCE" not in ical
    assert "CONFERENCE;" not in ical
    assert "Video conference" not in ical
    [row] = await registry(client)
    assert (row.status, row.calendar_url, row.uid) == ("removed", link, row.uid)
    dropped = commands(await a.sync(), "Change")[server_id]
    assert "OnlineMeetingExternalLink" not in dropped
    assert location_of(dropped, version) in (None, "")

    # Inviting it again brings the same (still valid) link back.
    await a.sync(change(server_id, meeting(version, "Budget")))
    [ical] = await stored_icals(client)
    assert f"X-EASGW-CONFERENCE:{link}" in unfolded(ical)
    [row] = await registry(client)
    assert row.status == "active"

    # Deleting the event marks the link removed.
    await a.sync(f"<Delete><ServerId>{server_id}</ServerId></Delete>")
    assert await stored_icals(client) == []
    [row] = await registry(client)
    assert row.status == "removed"


@pytest.mark.parametrize("version", VERSIONS)
async def test_recurring_meeting_has_one_link_and_a_retried_add_makes_none(
    client: TestClient,  # type: ignore[type-arg]
    version: str,
) -> None:
    a = await phone(client, version, "DEVA")
    first_key = a.key
    add = add_meeting(version, "r1", "Weekly", uid="weekly-1", recurrence=True)
    added = await a.sync(add)
    server_id = added.find("//AirSync:Responses/AirSync:Add/AirSync:ServerId")
    # The response was lost: the phone sends the same Add again (same ClientId).
    again = await a.sync(add, key=first_key)
    assert again.find("//AirSync:Responses/AirSync:Add/AirSync:ServerId") == server_id
    again = await a.sync(add)
    assert again.find("//AirSync:Responses/AirSync:Add/AirSync:ServerId") == server_id
    [ical] = await stored_icals(client)
    assert "RRULE:" in ical
    assert unfolded(ical).count("X-EASGW-CONFERENCE:") == 1
    rows = await registry(client)
    assert [(r.recurrence_id, r.status) for r in rows] == [("", "active")]
    # The enriched event went out on the Sync after the Add (here, the resent one).
    got = commands(again, "Change")[server_id or ""]
    assert got["OnlineMeetingExternalLink"] == rows[0].calendar_url
    assert command_count(await a.sync()) == 0


async def test_a_failing_provider_saves_the_event_and_the_next_save_adds_the_link(
    aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    fake = FakeWebhook(secret="s3cret-for-the-hook", answer=(500, '{"error": "down"}'))
    server = TestServer(fake.app())
    await server.start_server()
    try:
        config = make_config(
            tmp_path,
            BASE_CONFIG
            + f"""
[[conference.providers]]
id = "hook"
type = "webhook"
resource = "video@conf.example.com"
display_name = "Video"
url = "{server.make_url("/hook")}"
secret = "s3cret-for-the-hook"
""",
        )
        client = await _client(aiohttp_client, config)
        a = await phone(client, "14.1", "DEVA")
        people = ("video@conf.example.com", "bob@example.com")
        added = await a.sync(add_meeting("14.1", "w1", "Sales", attendees=people))
        server_id = added.find("//AirSync:Responses/AirSync:Add/AirSync:ServerId")
        assert added.find("//AirSync:Responses/AirSync:Add/AirSync:Status") == "1"
        [ical] = await stored_icals(client)
        assert "Sales" in ical and "X-EASGW-CONFERENCE" not in ical
        [row] = await registry(client)
        assert (row.status, row.failures, row.url) == ("pending", 1, None)
        assert client.app[GATEWAY].conference.counters.failed == 1

        fake.answer = None  # the provider is back: the next save adds the link
        await a.sync(change(server_id or "", meeting("14.1", "Sales!", attendees=people)))
        [ical] = await stored_icals(client)
        [row] = await registry(client)
        assert row.status == "active" and row.url
        assert f"X-EASGW-CONFERENCE:{row.url}" in unfolded(ical)
        assert "Dial-in: +1 555 0100" in unfolded(ical)
        assert [r["action"] for r in fake.received] == ["create", "create"]
        got = commands(await a.sync(), "Change")[server_id or ""]
        assert got["OnlineMeetingExternalLink"] == row.url
    finally:
        await server.close()


JWT_SECRET = "0123456789abcdef0123456789abcdef-secret"
JWT_CONFIG = f"""
[policy]
required = false
[server]
public_url = "https://gw.example.com"
[[conference.providers]]
id = "secure"
type = "jitsi"
resource = "jitsi@conf.example.com"
display_name = "Jitsi video conference"
base_url = "https://secure.example.com"
jwt_app_id = "easgw"
jwt_secret = "{JWT_SECRET}"
"""


async def test_the_redirect_hands_out_a_token_per_person(
    aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    client = await _client(aiohttp_client, make_config(tmp_path, JWT_CONFIG))
    a = await phone(client, "16.1", "DEVA")
    await a.sync(add_meeting("16.1", "j1", "Secret plans"))
    [ical] = await stored_icals(client)
    found = re.search(r"https://gw\.example\.com/conf/([A-Za-z0-9_-]+)", unfolded(ical))
    assert found is not None
    assert "secure.example.com" not in unfolded(ical)  # no bearer token in a calendar
    path = f"/conf/{found.group(1)}"

    def claims(location: str) -> dict[str, Any]:
        assert location.startswith("https://secure.example.com/")
        token = location.split("?jwt=", 1)[1]
        decoded: dict[str, Any] = jwt.decode(
            token, JWT_SECRET, algorithms=["HS256"], audience="jitsi",
            options={"verify_exp": False, "verify_nbf": False},
        )  # fmt: skip
        return decoded

    guest = await client.get(path + "?name=Zoe", allow_redirects=False)
    assert guest.status == 302
    assert guest.headers["Cache-Control"] == "no-store"
    user = claims(guest.headers["Location"])["context"]["user"]
    assert (user["name"], user["moderator"]) == ("Zoe", False)

    basic = "Basic " + base64.b64encode(b"alice:secret").decode()
    host = await client.get(path, headers={"Authorization": basic}, allow_redirects=False)
    assert host.status == 302
    got = claims(host.headers["Location"])
    assert (got["context"]["user"]["name"], got["context"]["user"]["moderator"]) == ("Alice", True)
    assert got["exp"] - got["nbf"] == 3 * 3600  # the hour-long meeting, +/- 60 minutes

    wrong = "Basic " + base64.b64encode(b"alice:nope").decode()
    denied = await client.get(path, headers={"Authorization": wrong}, allow_redirects=False)
    assert denied.status == 401
    challenged = await client.get(path + "?login", allow_redirects=False)
    assert challenged.status == 401
    assert challenged.headers["WWW-Authenticate"].startswith("Basic")
    missing = await client.get("/conf/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", allow_redirects=False)
    assert missing.status == 404


async def test_an_html_body_carries_the_block_once(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    html_pref = "<Options><B:BodyPreference><B:Type>2</B:Type></B:BodyPreference></Options>"
    a = Phone(EasClient(client, device_id="DEVH", version="16.1"))
    await a.start(extra=html_pref)
    html = "&lt;html&gt;&lt;body&gt;&lt;p&gt;Agenda&lt;/p&gt;&lt;/body&gt;&lt;/html&gt;"
    data = meeting("16.1", "Design").replace(
        "<B:Body><B:Type>1</B:Type><B:Data>Agenda: budget</B:Data></B:Body>",
        f"<B:Body><B:Type>2</B:Type><B:Data>{html}</B:Data></B:Body>",
    )
    added = await a.sync(f"<Add><ClientId>h1</ClientId>{data}</Add>")
    server_id = added.find("//AirSync:Responses/AirSync:Add/AirSync:ServerId") or ""
    got = commands(await a.sync(), "Change")[server_id]
    link = got["OnlineMeetingExternalLink"]
    assert got["Data"].startswith('<html><body><div id="easgw-conference">')
    assert got["Data"].count("easgw-conference") == 1
    assert f'<a href="{link}">{link}</a>' in got["Data"]
    assert got["Data"].endswith("<p>Agenda</p></body></html>")
    # A title edit (16.1: everything omitted is kept): no echo, one block.
    title = "<ApplicationData><C:Subject>Design v2</C:Subject></ApplicationData>"
    await a.sync(f"<Change><ServerId>{server_id}</ServerId>{title}</Change>")
    assert command_count(await a.sync()) == 0
    [ical] = await stored_icals(client)
    assert unfolded(ical).count('id="easgw-conference"') == 1
    assert unfolded(ical).count("Video conference ~") == 2  # DESCRIPTION and X-ALT-DESC
