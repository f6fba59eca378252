"""`easgw links revoke` on PostgreSQL wakes the organizer's held Ping at once.

The command runs in its own process (as an admin runs it); on PostgreSQL it
announces the re-written event over LISTEN/NOTIFY (easgw/push/pg_bridge.py),
so the server's held Ping answers Status 2 and the phone fetches the new link
right away instead of at its next heartbeat.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from easgw.app import create_app
from easgw.config import load_config
from tests.e2e.test_conference import BASE_CONFIG, ROOM, add_meeting, phone
from tests.e2e.test_ping import ping, status
from tests.e2e.test_sync import ClientFactory, commands
from tests.easgw.test_cli_providers import easgw
from tests.harness import add_user

UID = "leaked-3"


async def test_a_revoke_on_postgresql_answers_the_held_ping(
    aiohttp_client: ClientFactory, tmp_path: Path, postgresql_url: str
) -> None:
    path = tmp_path / "easgw.toml"
    data = f'[server]\ndata_dir = "{tmp_path / "data"}"\n'
    path.write_text(
        BASE_CONFIG.replace("[server]\n", data, 1) + f'[database]\nurl = "{postgresql_url}"\n'
    )
    config = load_config(str(path), env={})
    await add_user(config, "alice", "secret", "alice@example.com")
    client = await aiohttp_client(create_app(config))
    device = await phone(client, "14.1", "DEVA")
    added = await device.sync(add_meeting("14.1", "c1", "Budget", uid=UID))
    server_id = added.find("//AirSync:Responses/AirSync:Add/AirSync:ServerId")
    assert server_id
    first = commands(await device.sync(), "Change")[server_id]["OnlineMeetingExternalLink"]

    waiting = asyncio.create_task(ping(device, [device.calendar], heartbeat=600))
    await asyncio.sleep(0.3)
    assert not waiting.done()
    status_code, out, err = await easgw("links", "revoke", UID, "--config", str(path))
    assert status_code == 0, err
    assert "the event now carries a new link" in out
    done = time.monotonic()
    answer = await asyncio.wait_for(waiting, 5)
    assert status(answer) == "2" and time.monotonic() - done < 2
    second = commands(await device.sync(), "Change")[server_id]["OnlineMeetingExternalLink"]
    assert ROOM.fullmatch(second) and second != first
