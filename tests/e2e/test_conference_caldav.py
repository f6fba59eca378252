"""Conference links end to end on a real Radicale (issue 7's "done when", store.type caldav).

test_conference.py runs the whole list on the embedded store; test_conference_push.py
runs the add + held-Ping flow on both stores. This module runs the rest on Radicale
at 14.1 and 16.1: the event Radicale holds is read back over CalDAV (a
calendar-query REPORT, RFC 4791 7.8, by the user's own credentials, not through
the gateway), so what is asserted is what any other CalDAV client would see.

The meetings are organized by alice@example.com (test_conference.meeting), so the
Radicale user is given that address: only the organizer's copy gets a link.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import icalendar
import pytest
from aiohttp.test_utils import TestClient
from lxml import etree

from easgw.app import GATEWAY, create_app
from easgw.conference_registry import list_rows
from tests.e2e.test_conference import (
    BASE_CONFIG,
    JITSI,
    PLAIN,
    ROOM,
    add_meeting,
    change,
    location_of,
    meeting,
)
from tests.e2e.test_sync import ClientFactory, Phone, command_count, commands
from tests.harness import Answer, EasClient, add_user, make_config
from tests.providers.radicale import RadicaleServer, radicale

__all__ = ["radicale"]  # the session fixture, imported for pytest

VERSIONS = ["14.1", "16.1"]
DAV = "{DAV:}"
CALDAV = "{urn:ietf:params:xml:ns:caldav}"
QUERY = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
    "<D:prop><D:getetag/><C:calendar-data/></D:prop>"
    '<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"/>'
    "</C:comp-filter></C:filter></C:calendar-query>"
)
CALENDARS = (
    '<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:prop>'
    "<D:resourcetype/></D:prop></D:propfind>"
)


@dataclass
class Setup:
    """A gateway on Radicale and the Radicale user behind it."""

    client: TestClient  # type: ignore[type-arg]
    server: RadicaleServer
    login: str
    password: str

    async def phone(self, version: str, device_id: str) -> Phone:
        found = Phone(
            EasClient(
                self.client,
                user=self.login,
                password=self.password,
                device_id=device_id,
                version=version,
            )
        )
        await found.start(extra=PLAIN)
        return found

    async def stored(self) -> list[icalendar.Calendar]:
        """Every calendar object resource of the user's calendars, read from Radicale."""
        found: list[icalendar.Calendar] = []
        async with httpx.AsyncClient(
            base_url=self.server.url, auth=(self.login, self.password)
        ) as dav:
            for calendar in await self._calendars(dav):
                answer = await dav.request(
                    "REPORT", calendar, content=QUERY, headers={"Depth": "1"}
                )
                assert answer.status_code == 207, answer.text
                found.extend(
                    icalendar.Calendar.from_ical(data.text or "")
                    for data in etree.fromstring(answer.content).iter(f"{CALDAV}calendar-data")
                )
        return found

    async def _calendars(self, dav: httpx.AsyncClient) -> list[str]:
        home = f"/{self.login}/"
        answer = await dav.request("PROPFIND", home, content=CALENDARS, headers={"Depth": "1"})
        assert answer.status_code == 207, answer.text
        hrefs = []
        for response in etree.fromstring(answer.content).iter(f"{DAV}response"):
            kinds = response.find(f".//{DAV}resourcetype")
            if kinds is not None and kinds.find(f"{CALDAV}calendar") is not None:
                hrefs.append(response.findtext(f"{DAV}href") or "")
        return hrefs

    async def events(self) -> list[Any]:
        """The VEVENTs Radicale holds for the user (a series' master counts once)."""
        return [e for cal in await self.stored() for e in cal.walk("VEVENT")]

    async def registry(self) -> list[Any]:
        async with self.client.app[GATEWAY].database.sessions() as session:
            return list(await list_rows(session))


@pytest.fixture
async def setup(aiohttp_client: ClientFactory, tmp_path: Path, radicale: RadicaleServer) -> Setup:
    login, password = radicale.add_user()
    config = make_config(
        tmp_path, BASE_CONFIG + f'[store]\ntype = "caldav"\nurl = "{radicale.url}"\n'
    )
    await add_user(config, login, password=None, email="alice@example.com")
    client = await aiohttp_client(create_app(config))
    return Setup(client=client, server=radicale, login=login, password=password)


def added(answer: Answer) -> str:
    assert answer.find("//AirSync:Responses/AirSync:Add/AirSync:Status") == "1", answer.body
    server_id = answer.find("//AirSync:Responses/AirSync:Add/AirSync:ServerId")
    assert server_id, answer.body
    return server_id


def text(event: Any, name: str) -> str:
    value = event.get(name)
    return "" if value is None else str(value)


def our_properties(event: Any) -> list[str]:
    """The names of the link's properties an event carries."""
    return sorted(
        name for name in event if name == "CONFERENCE" or name.startswith("X-EASGW-CONFERENCE")
    )


def assert_enriched(event: Any, link: str) -> None:
    """The stored event carries the link once, in every place the gateway puts it."""
    conference = event.get("CONFERENCE")
    assert conference is not None and str(conference) == link
    assert conference.params["FEATURE"] == "VIDEO"
    assert conference.params["LABEL"] == "Jitsi video conference"
    assert text(event, "X-EASGW-CONFERENCE") == link
    assert text(event, "X-EASGW-CONFERENCE-ID") == link.rsplit("/", 1)[1]
    assert text(event, "X-EASGW-CONFERENCE-PROVIDER") == "jitsi"
    assert text(event, "X-MICROSOFT-SKYPETEAMSMEETINGURL") == link
    assert text(event, "LOCATION") == link
    description = text(event, "DESCRIPTION")
    assert description.count(link) == 1
    assert description.count("~~~~~~~~~~ Video conference ~~~~~~~~~~") == 1
    assert description.endswith("Agenda: budget")
    (resource,) = [a for a in _attendees(event) if str(a).lower() == f"mailto:{JITSI}"]
    assert resource.params["SCHEDULE-AGENT"] == "NONE"  # RFC 6638 7.1


def _attendees(event: Any) -> list[Any]:
    found = event.get("ATTENDEE", [])
    return list(found) if isinstance(found, list) else [found]


def edit_keeping(version: str, subject: str, held: str, link: str) -> str:
    """What a phone sends for a title edit: the Body and Location it holds, sent back."""
    where = (
        f"<B:Location><B:DisplayName>{link}</B:DisplayName></B:Location>"
        if version.startswith("16")
        else f"<C:Location>{link}</C:Location>"
    )
    data = meeting(version, subject, body=held.replace("\n", "\r\n"))
    return data.replace("<C:Subject>", f"{where}<C:Subject>")


@pytest.mark.parametrize("version", VERSIONS)
async def test_a_link_on_radicale_reaches_both_devices_and_follows_edits(
    setup: Setup, version: str
) -> None:
    a, b = await setup.phone(version, "DEVA"), await setup.phone(version, "DEVB")
    answer = await a.sync(add_meeting(version, "c1", "Budget"))
    server_id = added(answer)
    assert command_count(answer) == 0
    assert b"meet.example.com" not in answer.body  # never in the answer to the Add

    # Radicale holds the enriched event.
    (event,) = await setup.events()
    url = ROOM.search(text(event, "X-EASGW-CONFERENCE"))
    assert url is not None
    link = url.group(0)
    assert_enriched(event, link)
    [row] = await setup.registry()
    assert (row.status, row.calendar_url, row.uid) == ("active", link, text(event, "UID"))

    # The writer's next Sync: a Change with the link in its three places.
    got = commands(await a.sync(), "Change")[server_id]
    assert got["OnlineMeetingExternalLink"] == link
    assert location_of(got, version) == link
    assert got["Data"].count(link) == 1
    assert got["Data"].endswith("Agenda: budget")
    assert command_count(await a.sync()) == 0

    # A second device of the user: the same single link.
    other = commands(await b.sync(), "Add")[server_id]
    assert other["OnlineMeetingExternalLink"] == link
    assert location_of(other, version) == link
    assert other["Data"].count(link) == 1

    # A title edit sending back the Body and Location the phone holds: same link, once.
    await a.sync(change(server_id, edit_keeping(version, "Budget (v2)", got["Data"], link)))
    assert command_count(await a.sync()) == 0  # no echo of its own edit
    (event,) = await setup.events()
    assert text(event, "SUMMARY") == "Budget (v2)"
    assert_enriched(event, link)
    renamed = commands(await b.sync(), "Change")[server_id]
    assert renamed["Subject"] == "Budget (v2)"
    assert renamed["OnlineMeetingExternalLink"] == link
    assert renamed["Data"].count(link) == 1
    assert len(await setup.registry()) == 1

    # An edit that lacks the link (16.1: Subject only, the rest kept; 14.1: a whole item
    # without Body and Location): the gateway re-asserts it, still once.
    bare = meeting(version, "Budget (v2b)", body=None)
    if version.startswith("16"):
        bare = "<ApplicationData><C:Subject>Budget (v2b)</C:Subject></ApplicationData>"
    await a.sync(change(server_id, bare))
    (event,) = await setup.events()
    assert text(event, "X-EASGW-CONFERENCE") == link
    assert text(event, "DESCRIPTION").count(link) == 1
    assert text(event, "DESCRIPTION").count("Video conference") == 1
    again = commands(await b.sync(), "Change")[server_id]
    assert (again["Subject"], again["OnlineMeetingExternalLink"]) == ("Budget (v2b)", link)
    assert again["Data"].count(link) == 1
    assert len(await setup.registry()) == 1

    # Removing the resource: the link leaves the stored event, the registry keeps it.
    people = ("bob@example.com",)
    await a.sync(change(server_id, meeting(version, "Budget (v3)", attendees=people)))
    (event,) = await setup.events()
    assert text(event, "SUMMARY") == "Budget (v3)"
    assert our_properties(event) == []
    assert "X-MICROSOFT-SKYPETEAMSMEETINGURL" not in event
    assert link not in event.to_ical().decode().replace("\r\n ", "")
    assert "Video conference" not in text(event, "DESCRIPTION")
    assert text(event, "DESCRIPTION") == "Agenda: budget"
    assert [str(a).lower() for a in _attendees(event)] == ["mailto:bob@example.com"]
    [row] = await setup.registry()
    assert (row.status, row.calendar_url) == ("removed", link)
    for device in (a, b):
        dropped = commands(await device.sync(), "Change")[server_id]
        assert "OnlineMeetingExternalLink" not in dropped
        assert location_of(dropped, version) in (None, "")
        assert link not in dropped.get("Data", "")


@pytest.mark.parametrize("version", VERSIONS)
async def test_a_recurring_meeting_on_radicale_has_one_link(setup: Setup, version: str) -> None:
    a = await setup.phone(version, "DEVA")
    server_id = added(
        await a.sync(add_meeting(version, "r1", "Weekly", uid="weekly-1", recurrence=True))
    )
    (event,) = await setup.events()  # the series is one VEVENT, no overrides
    assert "RRULE" in event
    link = text(event, "X-EASGW-CONFERENCE")
    assert ROOM.fullmatch(link)
    assert_enriched(event, link)
    rows = await setup.registry()
    assert [(r.uid, r.recurrence_id, r.status, r.calendar_url) for r in rows] == [
        (text(event, "UID"), "", "active", link)
    ]
    got = commands(await a.sync(), "Change")[server_id]
    assert got["OnlineMeetingExternalLink"] == link
    assert got["Data"].count(link) == 1
    assert "Recurrence" in got


@pytest.mark.parametrize("version", VERSIONS)
async def test_a_retried_add_on_radicale_makes_no_second_link(setup: Setup, version: str) -> None:
    a = await setup.phone(version, "DEVA")
    first_key = a.key
    add = add_meeting(version, "c1", "Budget", uid="budget-1")
    first = await a.sync(add)
    server_id = added(first)
    (event,) = await setup.events()
    link = text(event, "X-EASGW-CONFERENCE")
    assert ROOM.fullmatch(link)

    # The answer was lost: the same Add (same ClientId, and ClientUid at 16.1) again,
    # under the old key (a replay) and under the new one.
    replay = await a.sync(add, key=first_key)
    assert added(replay) == server_id
    again = await a.sync(add)
    assert added(again) == server_id
    (event,) = await setup.events()
    assert text(event, "X-EASGW-CONFERENCE") == link
    assert_enriched(event, link)
    assert [(r.status, r.calendar_url) for r in await setup.registry()] == [("active", link)]
    # The enriched event went out on the Sync after the Add (the resent one here).
    got = commands(again, "Change")[server_id]
    assert got["OnlineMeetingExternalLink"] == link
    assert got["Data"].count(link) == 1
    assert command_count(await a.sync()) == 0


async def test_a_sixteen_add_with_a_known_client_uid_makes_no_second_link(setup: Setup) -> None:
    """MS-ASCMD 2.2.3.27: ClientUid identifies the event; a new ClientId for it is no new one."""
    a = await setup.phone("16.1", "DEVA")
    server_id = added(await a.sync(add_meeting("16.1", "n1", "Budget", uid="budget-2")))
    (event,) = await setup.events()
    link = text(event, "X-EASGW-CONFERENCE")
    assert added(await a.sync(add_meeting("16.1", "n2", "Budget", uid="budget-2"))) == server_id
    (event,) = await setup.events()
    assert_enriched(event, link)
    assert [(r.status, r.calendar_url) for r in await setup.registry()] == [("active", link)]
