"""CONTRACTS.md section 4: with a store that knows the user's address (a CalDAV
principal's calendar-user-address-set), that address is the user's e-mail."""

from __future__ import annotations

from pathlib import Path

from aiohttp.test_utils import TestClient

from easgw.app import GATEWAY, create_app
from easgw.users import Users
from tests.e2e.principal_store import ADDRESS, PASSWORD
from tests.e2e.test_sync import ClientFactory
from tests.harness import EasClient, add_user, make_config

FOLDER_SYNC = '<FolderSync xmlns="FolderHierarchy:"><SyncKey>0</SyncKey></FolderSync>'


async def test_the_principals_address_becomes_the_users_email(
    aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    config = make_config(
        tmp_path,
        '[store]\ntype = "tests.e2e.principal_store:PrincipalStore"\n'
        f'url = "sqlite+aiosqlite:///{tmp_path / "store.sqlite3"}"\n'
        "[policy]\nrequired = false\n",
    )
    await add_user(config, "alice", password=None, email="alice@old.example")
    client: TestClient = await aiohttp_client(create_app(config))  # type: ignore[type-arg]
    wrong = await EasClient(client, password="nope", version="14.1").command(
        "FolderSync", FOLDER_SYNC
    )
    assert wrong.status == 401
    phone = EasClient(client, password=PASSWORD, version="14.1")
    assert (await phone.command("FolderSync", FOLDER_SYNC)).status == 200
    async with client.app[GATEWAY].database.sessions() as session:
        user = await Users(session).get("alice")
    assert user is not None
    assert user.email == ADDRESS
    # A request that passes the credential cache sees it too (the profile row).
    assert (await phone.command("FolderSync", FOLDER_SYNC)).status == 200
