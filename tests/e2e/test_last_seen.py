"""Device last-seen times: no write in the request path, written within a second."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from aiohttp.test_utils import TestClient
from sqlalchemy import select, update

from easgw.app import GATEWAY, create_app
from easgw.devices import LastSeenBook, flush_last_seen
from easgw.state.models import Device, utcnow
from tests.e2e.test_sync import ClientFactory
from tests.harness import EasClient, add_user, make_config

FOLDER_SYNC = '<FolderSync xmlns="FolderHierarchy:"><SyncKey>0</SyncKey></FolderSync>'


async def _last_seen(client: TestClient, device_id: str):  # type: ignore[no-untyped-def,type-arg]
    async with client.app[GATEWAY].database.sessions() as session:
        return await session.scalar(select(Device.last_seen).where(Device.device_id == device_id))


async def test_an_idle_device_is_seen_again_within_a_second(
    aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    config = make_config(tmp_path, "[policy]\nrequired = false\n")
    await add_user(config, "alice")
    client: TestClient = await aiohttp_client(create_app(config))  # type: ignore[type-arg]
    phone = EasClient(client, version="14.1", device_id="IDLE1")
    assert (await phone.command("FolderSync", FOLDER_SYNC)).status == 200
    long_ago = utcnow() - timedelta(hours=2)
    async with client.app[GATEWAY].database.sessions.begin() as session:
        await session.execute(update(Device).values(last_seen=long_ago))
    before = utcnow()
    assert (await phone.command("FolderSync", FOLDER_SYNC)).status == 200
    seen = await _last_seen(client, "IDLE1")
    assert seen.replace(tzinfo=None) == long_ago.replace(tzinfo=None)  # not in the request path
    for _ in range(100):  # flushed once a second; a loaded machine may take longer
        await asyncio.sleep(0.1)
        seen = await _last_seen(client, "IDLE1")
        if seen.replace(tzinfo=None) >= before.replace(tzinfo=None):
            break
    assert seen.replace(tzinfo=None) >= before.replace(tzinfo=None)


async def test_the_book_is_written_in_one_go_and_emptied(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    await add_user(config, "alice")
    from easgw.gateway import Gateway

    gateway = Gateway(config)
    await gateway.open()
    try:
        book = LastSeenBook()
        assert await flush_last_seen(gateway.database.sessions, book) == 0
        book.note(12345, utcnow())  # a device that does not exist: nothing to update
        book.note(12345, utcnow())
        assert await flush_last_seen(gateway.database.sessions, book) == 1
        assert book.take() == {}
    finally:
        await gateway.close()
