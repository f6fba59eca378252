"""The gateway's own database busy or gone: HTTP 503 with Retry-After, never a 500."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from aiohttp.test_utils import TestClient

from easgw.app import create_app
from tests.e2e.test_sync import ClientFactory
from tests.harness import EasClient, add_user, make_config

FOLDER_SYNC = '<FolderSync xmlns="FolderHierarchy:"><SyncKey>0</SyncKey></FolderSync>'


async def test_a_new_device_while_another_process_holds_the_write_lock(
    aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    """Registering a device writes; SQLite's busy timeout (5 s) runs out: 503, and the
    same request succeeds once the lock is gone."""
    config = make_config(tmp_path, "[policy]\nrequired = false\n")
    await add_user(config, "alice")
    client: TestClient = await aiohttp_client(create_app(config))  # type: ignore[type-arg]
    phone = EasClient(client, version="14.1", device_id="NEWDEVICE")
    holder = sqlite3.connect(config.data_dir / "easgw.sqlite3", timeout=0)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        busy = await phone.command("FolderSync", FOLDER_SYNC)
        assert (busy.status, busy.headers.get("Retry-After")) == (503, "5")
    finally:
        holder.rollback()
        holder.close()
    answer = await phone.command("FolderSync", FOLDER_SYNC)
    assert answer.status == 200
    assert answer.find("//FolderHierarchy:Status") == "1"
