"""``record.dir``: conversations written as replayable scenarios, safely
(no Authorization, passwords blanked, 0600/0700), and replayed green."""

from __future__ import annotations

import base64
import json
import logging
import stat
import tomllib
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from lxml import etree

from easgw.app import create_app
from easgw.gateway import Gateway
from easgw.replay import load_scenario, replay, run_scenario
from easgw.users import Users
from protocol import wbxml
from tests.conftest import REPO
from tests.harness import make_config

Server = Callable[[web.Application], Awaitable[TestServer]]
PASSWORD = "fixture-password"  # the fixtures' [setup] password, sent in every request
PIN = "recovery-pin-4711"
DEVICE_PASSWORD = (
    '<Settings xmlns="Settings:"><DevicePassword><Set><Password>'
    + PIN
    + "</Password></Set></DevicePassword></Settings>"
)


async def recording_gateway(tmp_path: Path, aiohttp_server: Server, record: Path) -> str:
    config = make_config(tmp_path, f'[record]\ndir = "{record}"\n')
    gateway = Gateway(config)  # the user of the fixtures' [setup]
    await gateway.open()
    async with gateway.database.sessions.begin() as session:
        await Users(session).add(
            "alice", email="alice@example.com", display_name="Alice Example", password=PASSWORD
        )
    await gateway.close()
    server = await aiohttp_server(create_app(config))
    return str(server.make_url("")).rstrip("/")


async def play(url: str, client: str) -> None:
    scenario = load_scenario(REPO / "fixtures" / client / "first-contact")
    lines: list[str] = []
    assert await run_scenario(scenario, emit=lines.append, url=url), lines


async def send_device_password(url: str) -> int:
    """A Settings DevicePassword Set from another, unprovisioned device."""
    async with aiohttp.ClientSession() as session:
        response = await session.post(
            f"{url}/Microsoft-Server-ActiveSync?Cmd=Settings&User=alice&DeviceId=PWDEV"
            "&DeviceType=iPhone",
            data=wbxml.encode(etree.fromstring(DEVICE_PASSWORD)),
            headers={
                "MS-ASProtocolVersion": "14.1",
                "Content-Type": "application/vnd.ms-sync.wbxml",
                "User-Agent": "Apple-iPhone15C3/2104.112",
                "Authorization": basic("alice", PASSWORD),
            },
        )
        return response.status


def basic(login: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode()


def files_of(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.is_file())


async def test_a_recorded_first_contact_is_safe_and_replays_green(
    tmp_path: Path, aiohttp_server: Server
) -> None:
    record = tmp_path / "recordings"
    url = await recording_gateway(tmp_path, aiohttp_server, record)
    await play(url, "iphone-16.1")
    await play(url, "eas-12.1")
    assert await send_device_password(url) == 200  # Status 142: not provisioned (14.0+)

    folders = sorted(p.name for p in record.iterdir())
    assert folders == [
        "alice-ApplC7D9F2E1A4B6",
        "alice-B7F9E3A1C05D42E8A9D1C3E5F7091B2D",
        "alice-PWDEV",
    ]
    for path in [record, *record.iterdir()]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path
    for path in files_of(record):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        data = path.read_bytes()
        assert PASSWORD.encode() not in data, path
        assert PIN.encode() not in data, path
        assert b"Authorization" not in data and b"Basic " not in data, path

    iphone = record / "alice-ApplC7D9F2E1A4B6"
    steps = sorted(p.name.removesuffix(".request.json") for p in iphone.glob("*.request.json"))
    assert steps == ["01-Options", "02-Provision", "03-Provision", "04-Settings", "05-FolderSync"]
    setup = tomllib.loads((iphone / "scenario.toml").read_text())
    assert setup["version"] == "16.1"
    assert setup["setup"]["users"] == [
        {"name": "alice", "email": "alice@example.com", "display_name": "Alice Example"}
    ]
    ack = json.loads((iphone / "03-Provision.request.json").read_text())
    assert ack["headers"]["X-MS-PolicyKey"] == "{{PolicyKey1}}"
    assert "{{PolicyKey1}}" in (iphone / "03-Provision.request.xml").read_text()
    assert "{{capture:PolicyKey1}}" in (iphone / "02-Provision.response.xml").read_text()
    settings = json.loads((iphone / "04-Settings.request.json").read_text())
    assert settings["headers"]["X-MS-PolicyKey"] == "{{PolicyKey2}}"
    for twin in iphone.glob("*.xml"):  # each .xml is `easgw decode` of its .wbxml
        decoded = wbxml.decode(twin.with_suffix(".wbxml").read_bytes())
        assert twin.read_bytes() == etree.tostring(decoded, pretty_print=True, encoding="utf-8")

    # The 12.1 client: OPTIONS without a device joins its conversation; base64 query key templated.
    legacy = record / "alice-B7F9E3A1C05D42E8A9D1C3E5F7091B2D"
    assert (legacy / "01-Options.request.json").is_file()
    assert json.loads((legacy / "04-Settings.request.json").read_text())["policy_key"] == (
        "{{PolicyKey2}}"
    )

    sent = wbxml.decode((record / "alice-PWDEV" / "01-Settings.request.wbxml").read_bytes())
    (password,) = sent.iter("{Settings:}Password")
    assert not password.text and password.get(f"{{{wbxml.MARKER_NS}}}empty") == "1"

    lines: list[str] = []
    assert await replay([iphone, legacy], emit=lines.append) == 0, lines
    assert len(lines) == 10 and all(line.startswith("PASS ") for line in lines)


async def test_a_recording_that_fails_never_breaks_the_answer(
    tmp_path: Path, aiohttp_server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the recordings should go")
    url = await recording_gateway(tmp_path, aiohttp_server, blocker)
    with caplog.at_level(logging.ERROR, logger="easgw.recording"):
        await play(url, "iphone-16.1")
    assert "recording failed" in caplog.text
    assert PASSWORD not in caplog.text


async def test_nothing_is_recorded_without_known_credentials(
    tmp_path: Path, aiohttp_server: Server
) -> None:
    record = tmp_path / "recordings"
    url = await recording_gateway(tmp_path, aiohttp_server, record)
    query = "Cmd=FolderSync&User=alice&DeviceId=D1&DeviceType=iPhone"
    attempts: list[dict[str, str]] = [
        {},  # no Authorization at all
        {"Authorization": basic("alice", "wrong-password")},
        {"Authorization": basic("mallory", "x")},
    ]
    async with aiohttp.ClientSession() as session:
        for headers in attempts:
            response = await session.post(
                f"{url}/Microsoft-Server-ActiveSync?{query}", headers=headers
            )
            assert response.status == 401
    assert not record.exists() or files_of(record) == []
