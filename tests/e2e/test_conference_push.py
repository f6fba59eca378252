"""Conference links with push, and on a CalDAV store (issue 7's "done when").

The phone that invites the Jitsi resource holds a Ping on its calendar; its Add
makes the gateway enrich the event, which the phone does not hold yet (the echo
rule), so its Ping fires and its next Sync brings the link. The same flow runs
on the embedded store and on a real Radicale (store.type caldav).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from easgw.app import create_app
from tests.e2e.test_caldav_sync import Phone as CalDavPhone
from tests.e2e.test_conference import BASE_CONFIG, JITSI, ROOM, add_meeting
from tests.e2e.test_sync import ClientFactory, commands
from tests.harness import EasClient, add_user, make_config
from tests.providers.radicale import RadicaleServer, radicale

__all__ = ["radicale"]  # the session fixture, imported for pytest

VERSIONS = ["14.1", "16.1"]
PING_BOUNDS = "[ping]\nmin_heartbeat = 1\nmax_heartbeat = 60\n"


async def _phone_with_link(client: TestClient, login: str, password: str, version: str) -> None:  # type: ignore[type-arg]
    phone = CalDavPhone(EasClient(client, user=login, password=password, version=version))
    await phone.start()
    held = asyncio.create_task(phone.ping(heartbeat=30))
    await asyncio.sleep(0.2)  # the Ping is parked
    added = await phone.sync(add_meeting(version, "c1", "Budget review"))
    (server_id,) = [
        e.findtext("{AirSync:}ServerId") for e in added.findall("//AirSync:Responses/AirSync:Add")
    ]
    assert ROOM.search(added.body.decode("utf-8", "replace")) is None  # never in its own answer
    fired = await asyncio.wait_for(held, 10)
    assert fired.find("/Ping:Ping/Ping:Status") == "2"
    assert fired.find("//Ping:Folder") == phone.calendar
    changed = commands(await phone.sync(), "Change")
    data = changed[str(server_id)]
    assert ROOM.fullmatch(data["OnlineMeetingExternalLink"])
    assert data["OnlineMeetingExternalLink"] in data["Data"]  # the block in the Body


@pytest.mark.parametrize("version", VERSIONS)
async def test_the_enriched_event_fires_the_organizers_ping(
    aiohttp_client: ClientFactory, tmp_path: Path, version: str
) -> None:
    config = make_config(tmp_path, BASE_CONFIG + PING_BOUNDS)
    await add_user(config, "alice", "secret", "alice@example.com")
    client = await aiohttp_client(create_app(config))
    await _phone_with_link(client, "alice", "secret", version)


@pytest.mark.parametrize("version", VERSIONS)
async def test_a_link_on_radicale_is_stored_and_fires_the_ping(
    aiohttp_client: ClientFactory, tmp_path: Path, radicale: RadicaleServer, version: str
) -> None:
    login, password = radicale.add_user()
    config = make_config(
        tmp_path,
        BASE_CONFIG.replace("[policy]\nrequired = false\n", "")
        + f'[policy]\nrequired = false\n[store]\ntype = "caldav"\nurl = "{radicale.url}"\n'
        + PING_BOUNDS,
    )
    # The meeting's ORGANIZER is alice@example.com: the user must be its organizer.
    await add_user(config, login, password=None, email="alice@example.com")
    client = await aiohttp_client(create_app(config))
    await _phone_with_link(client, login, password, version)
    (stored,) = [
        f.read_text(encoding="utf-8").replace("\r\n ", "").replace("\n ", "")
        for d in (radicale.collections / login).iterdir()
        if d.is_dir()
        for f in d.glob("*.ics")
    ]
    assert "CONFERENCE;" in stored
    assert ROOM.search(stored)
    assert f"SCHEDULE-AGENT=NONE:mailto:{JITSI}" in stored or "SCHEDULE-AGENT=NONE" in stored


async def test_the_text_is_in_the_organizers_language(
    aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    """The phone's Accept-Language (its UI language) picks the provider's template."""
    templates = (
        'templates = { en = "Join the meeting: ${URL}", fr = "Rejoindre la visio : ${URL}" }\n'
    )
    config = make_config(tmp_path, BASE_CONFIG + templates + PING_BOUNDS)
    await add_user(config, "alice", "secret", "alice@example.com")
    client = await aiohttp_client(create_app(config))
    texts = {}
    for language, client_id in (("fr-FR, en;q=0.8", "fr1"), ("de-DE", "de1")):
        phone = CalDavPhone(
            EasClient(
                client,
                device_id=f"DEV{client_id}",
                version="14.1",
                extra_headers={"Accept-Language": language},
            )
        )
        await phone.start()
        await phone.sync(add_meeting("14.1", client_id, f"Meeting {client_id}"))
        (data,) = commands(await phone.sync(), "Change").values()
        texts[client_id] = data["Data"]
    assert "Rejoindre la visio : https://meet.example.com/" in texts["fr1"]
    assert "Join the meeting: https://meet.example.com/" in texts["de1"]  # en: the default
