"""Settings over loopback: device information stored, the user's address, OOF, statuses.

The policy gate in front of Settings is exercised in test_provision.py; here
``policy.required = false`` keeps each test to the command itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from lxml import etree

from easgw.app import GATEWAY, create_app
from easgw.devices import Devices
from easgw.state.models import Device
from easgw.users import Users
from tests.conftest import VECTORS
from tests.harness import Answer, EasClient, add_user, make_config

ClientFactory = Callable[..., Awaitable[TestClient]]  # type: ignore[type-arg]

CORPUS = Path(__file__).parents[1] / "protocol" / "corpus"
VARIANTS = [("12.1", False), ("14.1", False), ("16.1", False), ("14.1", True)]
IDS = ["12.1", "14.1", "16.1", "14.1-base64"]


@pytest.fixture
async def client(aiohttp_client: ClientFactory, tmp_path: Path) -> TestClient:  # type: ignore[type-arg]
    config = make_config(tmp_path, "[policy]\nrequired = false\n")
    await add_user(config, "alice", "secret", "alice@example.com")
    return await aiohttp_client(create_app(config))


async def _device(client: TestClient, device_id: str = "DEV1") -> Device:  # type: ignore[type-arg]
    async with client.app[GATEWAY].database.sessions() as session:
        user = await Users(session).get("alice")
        assert user is not None
        return await Devices(session).require(user, device_id)


def _results(answer: Answer) -> list[tuple[str, str | None]]:
    """Each property's (name, Status), in answer order."""
    assert answer.status == 200
    assert answer.find("/Settings:Settings/Settings:Status") == "1"
    return [
        (etree.QName(node).localname, node.findtext("{Settings:}Status"))
        for node in answer.findall("/Settings:Settings/*[not(local-name()='Status')]")
    ]


@pytest.mark.parametrize(("version", "base64_query"), VARIANTS, ids=IDS)
async def test_every_property_is_answered_in_order(
    client: TestClient,  # type: ignore[type-arg]
    version: str,
    base64_query: bool,
) -> None:
    phone = EasClient(client, version=version, base64_query=base64_query)
    answer = await phone.command("Settings", (CORPUS / "settings-request.xml").read_bytes())
    assert _results(answer) == [
        ("Oof", "1"),
        ("DeviceInformation", "1"),
        ("UserInformation", "1"),
        ("RightsManagementInformation", "1"),
    ]
    # Oof Get: disabled, one disabled OofMessage per audience (MS-ASCMD 2.2.3.122).
    assert answer.find("//Settings:Oof/Settings:Get/Settings:OofState") == "0"
    messages = answer.findall("//Settings:Oof/Settings:Get/Settings:OofMessage")
    assert [etree.QName(m[0]).localname for m in messages] == [
        "AppliesToInternal",
        "AppliesToExternalKnown",
        "AppliesToExternalUnknown",
    ]
    assert [m.findtext("{Settings:}Enabled") for m in messages] == ["0", "0", "0"]
    # UserInformation: the address under Get before 14.1, an Account from 14.1 on.
    get = "//Settings:UserInformation/Settings:Get/"
    if version == "12.1":
        assert answer.find(get + "Settings:EmailAddresses/Settings:SMTPAddress") == (
            "alice@example.com"
        )
        assert answer.find(get + "Settings:Accounts") is None
    else:
        account = get + "Settings:Accounts/Settings:Account/"
        assert answer.find(account + "Settings:UserDisplayName") == "Alice"
        addresses = account + "Settings:EmailAddresses/"
        assert answer.find(addresses + "Settings:SMTPAddress") == "alice@example.com"
        assert answer.find(addresses + "Settings:PrimarySmtpAddress") == "alice@example.com"
    device = await _device(client)
    assert (device.model, device.imei, device.friendly_name, device.os, device.os_language) == (
        "SM-S921B",
        "352456789012345",
        "Galaxy S24",
        "Android 14",
        "English",
    )
    assert (device.phone_number, device.user_agent, device.mobile_operator) == (
        "+491761234567",
        "Android-SAMSUNG-SM-S921B/101.140001",
        "Vodafone.de",
    )


async def test_oof_set_is_refused_and_the_device_password_accepted(client: TestClient) -> None:  # type: ignore[type-arg]
    phone = EasClient(client, version="14.1")
    answer = await phone.command("Settings", (CORPUS / "settings-request-oof-set.xml").read_bytes())
    assert _results(answer) == [("Oof", "3"), ("DevicePassword", "1")]


async def test_device_information_updates_only_what_is_sent(client: TestClient) -> None:  # type: ignore[type-arg]
    phone = EasClient(client, version="14.1")
    first = (
        '<Settings xmlns="Settings:"><DeviceInformation><Set><Model>One</Model>'
        f"<IMEI>{'9' * 100}</IMEI><OS>Android 15</OS></Set></DeviceInformation></Settings>"
    )
    assert _results(await phone.command("Settings", first)) == [("DeviceInformation", "1")]
    second = (
        '<Settings xmlns="Settings:"><DeviceInformation><Set><Model>Two</Model></Set>'
        "</DeviceInformation></Settings>"
    )
    assert _results(await phone.command("Settings", second)) == [("DeviceInformation", "1")]
    device = await _device(client)
    assert (device.model, device.imei, device.os) == ("Two", "9" * 64, "Android 15")


async def test_a_wrong_operation_fails_alone(client: TestClient) -> None:  # type: ignore[type-arg]
    phone = EasClient(client, version="14.1")
    xml = (
        '<Settings xmlns="Settings:"><DeviceInformation><Get/></DeviceInformation>'
        "<UserInformation><Get/></UserInformation><DevicePassword/></Settings>"
    )
    answer = await phone.command("Settings", xml)
    assert _results(answer) == [
        ("DeviceInformation", "2"),
        ("UserInformation", "1"),
        ("DevicePassword", "2"),
    ]
    assert answer.find("//Settings:PrimarySmtpAddress") == "alice@example.com"


@pytest.mark.parametrize("version", ["12.1", "14.1"])
async def test_a_request_that_is_not_settings_is_status_2(
    client: TestClient,  # type: ignore[type-arg]
    version: str,
) -> None:
    phone = EasClient(client, version=version)
    for xml in [None, '<Provision xmlns="Provision:"><Status>1</Status></Provision>']:
        answer = await phone.command("Settings", xml)
        assert answer.status == 200
        assert answer.find("/Settings:Settings/Settings:Status") == "2"
        assert len(answer.findall("/Settings:Settings/*")) == 1


needs_vectors = pytest.mark.skipif(not VECTORS.is_dir(), reason=f"{VECTORS} is absent")


@needs_vectors
async def test_device_captures_are_answered_and_stored(client: TestClient) -> None:  # type: ignore[type-arg]
    captures = {  # capture: (answered properties, stored model, stored IMEI)
        "settings": (["DeviceInformation"], "NokiaE71", "IMEI351940035621459"),
        "settings_omnia_pro": (["DeviceInformation", "UserInformation"], "GT-B7330", None),
        "OmniaProB7330": (["DeviceInformation", "UserInformation"], "GT-B7330", None),
        "settingsRequest": (["UserInformation"], "", ""),
    }
    for name, (properties, model, imei) in captures.items():
        phone = EasClient(client, version="12.1", device_id=name, device_type="SmartPhone")
        body = (VECTORS / "bluemind" / f"{name}.wbxml").read_bytes()
        answer = await phone.command("Settings", body=body)
        assert _results(answer) == [(p, "1") for p in properties], name
        if "UserInformation" in properties:
            assert answer.find("//Settings:SMTPAddress") == "alice@example.com"
        device = await _device(client, name)
        assert device.model == model
        if imei is not None:
            assert device.imei == imei
    assert (await _device(client, "OmniaProB7330")).imei == "35397003013732401"
    assert (await _device(client, "OmniaProB7330")).os_language == "French"
