"""store.scheduling on a CalDAV store (Radicale, which does not schedule itself).

``gateway``: a 16.1 organizer's Add reaches the guests as easgw's own iMIP
REQUEST, with the link, as on the embedded store. ``server``: easgw leaves
scheduling to the CalDAV server and sends nothing (Radicale then sends nothing
either, which is what this shows: easgw's half of the switch).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from easgw.app import create_app
from tests.e2e.test_conference import BASE_CONFIG, PLAIN, ROOM, unfolded
from tests.e2e.test_scheduling import CAROL, add, calendar_part
from tests.e2e.test_sync import ClientFactory, Phone
from tests.harness import EasClient, add_user, make_config
from tests.mail_server import MailServer, smtp_config_text
from tests.providers.radicale import RadicaleServer, radicale

__all__ = ["radicale"]  # the session fixture, imported for pytest


async def _organizer(
    aiohttp_client: ClientFactory,
    tmp_path: Path,
    radicale: RadicaleServer,
    mail_server: MailServer,
    scheduling: str,
) -> Phone:
    login, password = radicale.add_user()
    store = f'[store]\ntype = "caldav"\nurl = "{radicale.url}"\nscheduling = "{scheduling}"\n'
    config = make_config(tmp_path, BASE_CONFIG + store + smtp_config_text(mail_server))
    await add_user(config, login, password=None, email="alice@example.com")
    client: TestClient = await aiohttp_client(create_app(config))  # type: ignore[type-arg]
    eas = EasClient(client, user=login, password=password, device_id="ALICE1", version="16.1")
    organizer = Phone(eas)
    await organizer.start(extra=PLAIN)
    return organizer


@pytest.mark.parametrize("scheduling", ["gateway", "server"])
async def test_the_switch_on_radicale(
    aiohttp_client: ClientFactory,
    tmp_path: Path,
    radicale: RadicaleServer,
    mail_server: MailServer,
    scheduling: str,
) -> None:
    organizer = await _organizer(aiohttp_client, tmp_path, radicale, mail_server, scheduling)
    answer = await organizer.sync(add("16.1", "c1", "Budget review"))
    assert answer.find("//AirSync:Responses/AirSync:Add/AirSync:Status") == "1", answer.body
    # The link itself arrives on the next Sync (the echo rule).
    changed = unfolded((await organizer.sync()).body.decode("utf-8", "replace"))
    (url,) = set(ROOM.findall(changed))
    if scheduling == "server":
        await asyncio.sleep(0.5)
        assert mail_server.delivered == []
        return
    (request,) = await mail_server.wait_for(1)
    assert sorted(request.rcpt_tos) == sorted(["bob@example.com", CAROL])
    assert set(ROOM.findall(calendar_part(request))) == {url}
