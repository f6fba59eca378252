"""Logins through the CalDAV store: the gateway asks Radicale, keeps no password.

A gateway with ``store.type = "caldav"`` in front of a real Radicale on
loopback: the right password opens FolderSync on the user's Radicale
calendars, a wrong one gets 401, and Radicale being down gets 503 with
Retry-After (not 401, not 500). ``easgw users add`` records the profile only.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from aiohttp.test_utils import TestClient

from easgw.app import GATEWAY, create_app
from easgw.config import Config
from easgw.users import Users
from providers.stores.caldav import davxml
from tests.harness import Answer, EasClient, add_user, make_config
from tests.providers.radicale import RadicaleServer, radicale

__all__ = ["radicale"]  # the session fixture, imported for pytest

ClientFactory = Callable[..., Awaitable[TestClient]]  # type: ignore[type-arg]
FOLDER_SYNC = '<FolderSync xmlns="FolderHierarchy:"><SyncKey>0</SyncKey></FolderSync>'


def _config(tmp_path: Path, server: RadicaleServer, cache_seconds: int = 300) -> Config:
    return make_config(
        tmp_path,
        f'[store]\ntype = "caldav"\nurl = "{server.url}"\n'
        f"[auth]\ncache_seconds = {cache_seconds}\n"
        "[policy]\nrequired = false\n",
    )


async def _mkcalendars(server: RadicaleServer, login: str, password: str) -> None:
    """Two calendars made by another CalDAV client before easgw first sees the user."""
    async with httpx.AsyncClient(base_url=server.url, auth=(login, password)) as other:
        await other.request("PROPFIND", f"/{login}/", headers={"Depth": "0"})
        for segment, name in (("a-work", "Work"), ("b-holidays", "Holidays")):
            body = davxml.mkcalendar(name, default=False)
            response = await other.request("MKCALENDAR", f"/{login}/{segment}/", content=body)
            assert response.status_code == 201


def _calendar_folders(answer: Answer) -> dict[str, str]:
    """DisplayName -> Type of the calendar folders (types 8 and 13) in a FolderSync."""
    found = {}
    for add in answer.findall("//FolderHierarchy:Add"):
        texts = {str(child.tag).split("}")[1]: child.text or "" for child in add}
        if texts["Type"] in ("8", "13"):
            found[texts["DisplayName"]] = texts["Type"]
    return found


async def test_the_right_password_opens_the_users_radicale_calendars(
    aiohttp_client: ClientFactory, tmp_path: Path, radicale: RadicaleServer
) -> None:
    login, password = radicale.add_user()
    await _mkcalendars(radicale, login, password)
    config = _config(tmp_path, radicale)
    await add_user(config, login, password=None)
    client = await aiohttp_client(create_app(config))
    phone = EasClient(client, user=login, password=password)
    answer = await phone.command("FolderSync", FOLDER_SYNC)
    assert answer.status == 200, answer.body
    assert answer.find("//FolderHierarchy:Status") == "1"
    assert _calendar_folders(answer) == {"Work": "8", "Holidays": "13"}
    async with client.app[GATEWAY].database.sessions() as session:
        user = await Users(session).get(login)
    assert user is not None
    assert user.password_hash is None


async def test_a_wrong_password_or_an_unknown_user_gets_401(
    aiohttp_client: ClientFactory, tmp_path: Path, radicale: RadicaleServer
) -> None:
    login, password = radicale.add_user()
    stranger, stranger_password = radicale.add_user()  # in Radicale, not in easgw
    config = _config(tmp_path, radicale)
    await add_user(config, login, password=None)
    client = await aiohttp_client(create_app(config))
    wrong = await EasClient(client, user=login, password=password + "x").command(
        "FolderSync", FOLDER_SYNC
    )
    assert wrong.status == 401
    assert wrong.headers["WWW-Authenticate"].startswith("Basic")
    unknown = await EasClient(client, user=stranger, password=stranger_password).options()
    assert unknown.status == 401
    right = await EasClient(client, user=login, password=password).options()
    assert right.status == 200


async def test_radicale_down_is_503_with_retry_after(
    aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    server = RadicaleServer(tmp_path / "own-radicale")
    server.start()
    try:
        login, password = server.add_user()
        config = _config(tmp_path, server)
        await add_user(config, login, password=None)
        client = await aiohttp_client(create_app(config))
        phone = EasClient(client, user=login, password=password)
        assert (await phone.options()).status == 200
        server.stop()
        # A login verified before the outage is cached (auth.cache_seconds) ...
        assert (await phone.options()).status == 200
        # ... but the command needs the store: the gateway says "later", not 401/500.
        during = await phone.command("FolderSync", FOLDER_SYNC)
        assert during.status in (200, 503), during.body
        if during.status == 200:
            assert during.find("//FolderHierarchy:Status") == "6"
        else:
            assert int(during.headers["Retry-After"]) > 0
        # A login that cannot be verified now is not a failed login.
        unverified = EasClient(client, user=login, password="other-" + password)
        for _ in range(2):
            answer = await unverified.options()
            assert answer.status == 503
            assert int(answer.headers["Retry-After"]) > 0
        server.start()
        assert (await unverified.options()).status == 401
        after = await phone.command("FolderSync", FOLDER_SYNC)
        assert after.status == 200
        assert after.find("//FolderHierarchy:Status") == "1"
        assert _calendar_folders(after) == {"Calendar": "8"}
    finally:
        server.stop()


def _easgw(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "easgw", *args],
        input=stdin,
        capture_output=True,
        timeout=120,
        check=False,
    )


def test_users_add_records_only_the_profile(tmp_path: Path) -> None:
    config = tmp_path / "easgw.toml"
    config.write_text('[store]\ntype = "caldav"\nurl = "http://127.0.0.1:9/"\n')
    common = ("--config", str(config), "--data-dir", str(tmp_path / "data"))
    refused = _easgw(
        "users", "add", "dora", "--email", "dora@example.com", "--password-stdin", *common,
        stdin=b"secret\n",
    )  # fmt: skip
    assert refused.returncode == 2
    assert b"passwords live in the store" in refused.stderr
    added = _easgw(
        "users", "add", "dora", "--email", "dora@example.com", "--display-name", "Dora", *common
    )
    assert added.returncode == 0, added.stderr
    listed = _easgw("users", "list", *common)
    assert listed.stdout.decode().splitlines() == ["dora\tdora@example.com\tDora\tno-password"]
    passwd = _easgw("users", "passwd", "dora", *common, stdin=b"new\n")
    assert passwd.returncode == 2
    assert b"passwords live in the store" in passwd.stderr
