"""The HTTP boundary over loopback: auth, User matching, versions, limits, bad input."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from lxml import etree

from easgw.app import GATEWAY, create_app
from easgw.config import Config
from easgw.devices import Devices
from easgw.state.models import DeviceStatus
from easgw.users import Users
from protocol import wbxml
from protocol.ashttp import Command, encode_base64_query
from tests.harness import EAS, EasClient, add_user, make_config

ClientFactory = Callable[..., Awaitable[TestClient]]  # type: ignore[type-arg]

SETTINGS_XML = (
    """<Settings xmlns="Settings:"><UserInformation><Get/></UserInformation></Settings>"""
)


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path, "[policy]\nrequired = false\n")


@pytest.fixture
async def client(aiohttp_client: ClientFactory, config: Config) -> TestClient:  # type: ignore[type-arg]
    await add_user(config, "alice", "secret", "alice@example.com")
    await add_user(config, "bob", "hunter2", "bob@example.com")
    return await aiohttp_client(create_app(config))


async def _device_count(client: TestClient) -> int:  # type: ignore[type-arg]
    gateway = client.app[GATEWAY]
    async with gateway.database.sessions() as session:
        return len(await Devices(session).list())


async def test_healthz(client: TestClient) -> None:  # type: ignore[type-arg]
    response = await client.get("/healthz")
    assert response.status == 200
    assert (await response.json()) == {"status": "ok"}


async def test_no_auth_gets_401_with_basic_challenge(client: TestClient) -> None:  # type: ignore[type-arg]
    response = await client.post(f"{EAS}?Cmd=Settings&User=alice&DeviceId=D1&DeviceType=iPhone")
    assert response.status == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic realm=")
    assert await _device_count(client) == 0


async def test_wrong_password_gets_401_and_changes_nothing(client: TestClient) -> None:  # type: ignore[type-arg]
    phone = EasClient(client, password="wrong")
    answer = await phone.command("Settings", SETTINGS_XML)
    assert answer.status == 401
    assert b"Traceback" not in answer.body
    assert await _device_count(client) == 0


async def test_user_parameter_must_name_the_authenticated_user(client: TestClient) -> None:  # type: ignore[type-arg]
    phone = EasClient(client)
    response = await client.post(
        f"{EAS}?Cmd=Settings&User=bob&DeviceId=D1&DeviceType=iPhone",
        headers={"Authorization": phone.auth_header(), "MS-ASProtocolVersion": "14.1"},
    )
    assert response.status == 403
    assert await _device_count(client) == 0


@pytest.mark.parametrize("name", ["alice", "ALICE", "EXAMPLE\\alice", "Alice@Example.com"])
async def test_user_accepts_login_domain_login_and_email(client: TestClient, name: str) -> None:  # type: ignore[type-arg]
    phone = EasClient(client, version="14.1", user_agent="Android/14")
    phone.user = name
    answer = await phone.command("Settings", SETTINGS_XML)
    assert answer.status == 200, answer.body


async def test_email_login_authenticates(client: TestClient) -> None:  # type: ignore[type-arg]
    phone = EasClient(client, user="bob@example.com", password="hunter2", version="14.1")
    answer = await phone.command("Settings", SETTINGS_XML)
    assert answer.status == 200


async def test_options_caps_versions_per_client(client: TestClient) -> None:  # type: ignore[type-arg]
    iphone = await EasClient(client).options()
    assert iphone.status == 200
    assert iphone.headers["MS-ASProtocolVersions"].split(",")[-1] == "16.1"
    assert "Provision" in iphone.headers["MS-ASProtocolCommands"]
    assert iphone.headers["Public"] == "OPTIONS,POST"
    android = await EasClient(client, user_agent="Android-SAMSUNG-SM-G991B/101").options()
    assert android.headers["MS-ASProtocolVersions"] == "12.0,12.1,14.0,14.1"


async def test_path_is_case_insensitive(client: TestClient) -> None:  # type: ignore[type-arg]
    phone = EasClient(client)
    response = await client.options(
        "/microsoft-server-activesync", headers={"Authorization": phone.auth_header()}
    )
    assert response.status == 200


async def test_unoffered_version_is_400(client: TestClient) -> None:  # type: ignore[type-arg]
    phone = EasClient(client, version="16.1", user_agent="Android/14", device_type="Android")
    answer = await phone.command("Settings", SETTINGS_XML)
    assert answer.status == 400
    assert b"16.1" in answer.body


async def test_bad_request_line_is_400(client: TestClient) -> None:  # type: ignore[type-arg]
    phone = EasClient(client)
    response = await client.post(
        f"{EAS}?Cmd=Bogus&User=alice&DeviceId=D1&DeviceType=iPhone",
        headers={"Authorization": phone.auth_header()},
    )
    assert response.status == 400
    response = await client.post(f"{EAS}?%%%not-base64%%%", headers={})
    assert response.status == 400


async def test_truncated_wbxml(client: TestClient) -> None:  # type: ignore[type-arg]
    old = EasClient(client, version="12.1")
    answer = await old.command("Settings", body=b"\x03\x01\x6a\x00\x00\x12\x45\x5d")
    assert answer.status == 400
    new = EasClient(client, version="14.1", device_id="D2")
    answer = await new.command("Settings", body=b"\x03\x01\x6a\x00\x00\x12\x45\x5d")
    assert answer.status == 200
    assert answer.find("//Settings:Status") == "102"


async def test_body_over_the_limit_is_413(aiohttp_client: ClientFactory, tmp_path: Path) -> None:
    config = make_config(tmp_path, "[server]\nmax_body_bytes = 1048576\n")
    await add_user(config, "alice")
    client = await aiohttp_client(create_app(config))
    phone = EasClient(client, version="14.1")
    answer = await phone.command(
        "Settings", body=b"\x03\x01\x6a\x00" + b"\x00" * (20 * 1024 * 1024)
    )
    assert answer.status == 413
    assert await _device_count(client) == 0


async def test_20_mb_body_with_default_limit_is_413(client: TestClient) -> None:  # type: ignore[type-arg]
    phone = EasClient(client, version="14.1")
    answer = await phone.command("Settings", body=b"\x03\x01\x6a\x00" + b"A" * (20 * 1024 * 1024))
    assert answer.status == 413


async def test_wrong_content_type_is_400(client: TestClient) -> None:  # type: ignore[type-arg]
    phone = EasClient(client, version="14.1")
    answer = await phone.command("Settings", body=b"<xml/>", headers={"Content-Type": "text/html"})
    assert answer.status == 400


async def test_unknown_path_is_404_and_wrong_method_405(client: TestClient) -> None:  # type: ignore[type-arg]
    assert (await client.get("/nope")).status == 404
    assert (await client.get(EAS)).status == 405


async def _set_status(client: TestClient, device_id: str, status: DeviceStatus) -> None:  # type: ignore[type-arg]
    gateway = client.app[GATEWAY]
    async with gateway.database.sessions.begin() as session:
        user = await Users(session).require("alice")
        devices = Devices(session)
        await devices.set_status(await devices.require(user, device_id), status)


@pytest.mark.parametrize("status", [DeviceStatus.BLOCKED, DeviceStatus.QUARANTINED])
async def test_blocked_device_gets_129_or_403_and_no_data(
    client: TestClient,  # type: ignore[type-arg]
    status: DeviceStatus,
) -> None:
    new = EasClient(client, version="14.1", device_id="NEW")
    assert (await new.command("Settings", SETTINGS_XML)).status == 200
    await _set_status(client, "NEW", status)
    answer = await new.command("Settings", SETTINGS_XML)
    assert answer.status == 200
    assert answer.find("//Settings:Status") == "129"
    assert b"alice@example.com" not in answer.body
    old = EasClient(client, version="12.1", device_id="OLD")
    assert (await old.command("Settings", SETTINGS_XML)).status == 200
    await _set_status(client, "OLD", status)
    answer = await old.command("Settings", SETTINGS_XML)
    assert answer.status == 403
    assert b"alice@example.com" not in answer.body


async def test_approval_quarantines_new_devices(
    aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    config = make_config(tmp_path, "[policy]\nrequired = false\n[devices]\napproval = true\n")
    await add_user(config, "alice")
    client = await aiohttp_client(create_app(config))
    answer = await EasClient(client, version="14.1").command("Settings", SETTINGS_XML)
    assert answer.find("//Settings:Status") == "129"


async def test_device_limit_gives_177(aiohttp_client: ClientFactory, tmp_path: Path) -> None:
    config = make_config(tmp_path, "[policy]\nrequired = false\n[devices]\nmax_per_user = 1\n")
    await add_user(config, "alice")
    client = await aiohttp_client(create_app(config))
    assert (
        await EasClient(client, version="14.1", device_id="A").command("Settings", SETTINGS_XML)
    ).status == 200
    answer = await EasClient(client, version="14.1", device_id="B").command(
        "Settings", SETTINGS_XML
    )
    assert answer.find("//Settings:Status") == "177"
    assert await _device_count(client) == 1


async def test_throttle_after_repeated_failures(
    aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    config = make_config(tmp_path, "[auth]\nmax_failures = 3\nlockout_seconds = 60\n")
    await add_user(config, "alice")
    client = await aiohttp_client(create_app(config))
    bad = EasClient(client, password="nope", version="14.1")
    statuses = [(await bad.command("Settings", SETTINGS_XML)).status for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    good = EasClient(client, version="14.1")
    locked = await good.command("Settings", SETTINGS_XML)
    assert locked.status == 429
    assert int(locked.headers["Retry-After"]) > 0


async def test_password_change_takes_effect_despite_the_cache(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    phone = EasClient(client, version="14.1")
    assert (await phone.command("Settings", SETTINGS_XML)).status == 200
    gateway = client.app[GATEWAY]
    async with gateway.database.sessions.begin() as session:
        await Users(session).set_password("alice", "changed")
    assert (await phone.command("Settings", SETTINGS_XML)).status == 401
    phone.password = "changed"
    assert (await phone.command("Settings", SETTINGS_XML)).status == 200


async def test_concurrent_first_contacts_make_one_device(client: TestClient) -> None:  # type: ignore[type-arg]
    phone = EasClient(client, version="14.1")
    results: list[Any] = await asyncio.gather(
        *(phone.command("Settings", SETTINGS_XML) for _ in range(5)), return_exceptions=True
    )
    assert all(not isinstance(r, BaseException) for r in results)
    assert await _device_count(client) == 1


async def test_concurrent_first_contacts_on_both_databases(
    aiohttp_client: ClientFactory, tmp_path: Path, database_url: str
) -> None:
    config = make_config(tmp_path, "[policy]\nrequired = false\n", database_url=database_url)
    await add_user(config, "alice")
    client = await aiohttp_client(create_app(config))
    phone = EasClient(client, version="14.1", device_id="RACE")
    answers = await asyncio.gather(*(phone.command("Settings", SETTINGS_XML) for _ in range(6)))
    assert [answer.status for answer in answers] == [200] * 6
    assert await _device_count(client) == 1


async def test_base64_query_with_plus_and_slash(client: TestClient) -> None:  # type: ignore[type-arg]
    # A raw "+" in a query is a space to form decoders; the base64 form must keep it.
    for device_id in (f"DEV{n}~~~?>>" for n in range(40)):
        query = encode_base64_query(
            command=Command.Settings, version="14.1", device_id=device_id,
            device_type="SmartPhone", user="alice",
        )  # fmt: skip
        if "+" in query or "/" in query:
            break
    else:
        pytest.fail("no device id gave a query with + or /")
    phone = EasClient(client, version="14.1")
    response = await client.post(
        f"{EAS}?{query}",
        data=wbxml.encode(etree.fromstring(SETTINGS_XML.encode())),
        headers={
            "Authorization": phone.auth_header(),
            "Content-Type": "application/vnd.ms-sync.wbxml",
        },
    )
    assert response.status == 200, await response.text()


AUTODISCOVER = b"""<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/mobilesync/requestschema/2006">
<Request><EMailAddress>alice@example.com</EMailAddress>
<AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006</AcceptableResponseSchema>
</Request></Autodiscover>"""


@pytest.mark.parametrize(
    ("trusted", "expect_scheme", "expect_locked_out"),
    [("[]", "http", True), ('["127.0.0.1/32"]', "https", False)],
)
async def test_forwarded_headers_only_from_trusted_proxies(
    aiohttp_client: ClientFactory,
    tmp_path: Path,
    trusted: str,
    expect_scheme: str,
    expect_locked_out: bool,
) -> None:
    config = make_config(
        tmp_path, f"[server]\ntrusted_proxies = {trusted}\n[auth]\nmax_failures = 2\n"
    )
    await add_user(config, "alice")
    client = await aiohttp_client(create_app(config))
    phone = EasClient(client)
    # The scheme: Autodiscover's URL follows X-Forwarded-Proto only from a trusted proxy.
    response = await client.post(
        "/autodiscover/autodiscover.xml",
        data=AUTODISCOVER,
        headers={"Authorization": phone.auth_header(), "X-Forwarded-Proto": "https",
                 "Content-Type": "text/xml"},
    )  # fmt: skip
    assert response.status == 200
    assert f"{expect_scheme}://".encode() in await response.read()
    # The client address: failures from two forwarded addresses count apart only when trusted.
    bad = EasClient(client, user="mallory", password="x", version="14.1")
    for address in ("192.0.2.1", "192.0.2.1", "192.0.2.1"):
        bad.extra_headers["X-Forwarded-For"] = address
        await bad.command("Settings", SETTINGS_XML)
    other = EasClient(client, user="mallory2", password="x", version="14.1")
    other.extra_headers["X-Forwarded-For"] = "192.0.2.2"
    answer = await other.command("Settings", SETTINGS_XML)
    assert (answer.status == 429) is expect_locked_out
