"""Provision over loopback: both phases, the boundary's 449/142/144, retries, remote wipe."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from easgw.app import GATEWAY, create_app
from easgw.config import ConfigError
from easgw.devices import Devices
from easgw.state.models import Device
from easgw.users import Users
from tests.conftest import VECTORS
from tests.harness import Answer, EasClient, add_user, make_config

ClientFactory = Callable[..., Awaitable[TestClient]]  # type: ignore[type-arg]

CORPUS = Path(__file__).parents[1] / "protocol" / "corpus"
WBXML_TYPE = "MS-EAS-Provisioning-WBXML"
INITIAL = (
    f'<Provision xmlns="Provision:"><Policies><Policy><PolicyType>{WBXML_TYPE}</PolicyType>'
    "</Policy></Policies></Provision>"
)
#: 14.1+ clients send settings:DeviceInformation inside the initial request (MS-ASPROV 2.2.2.53).
INITIAL_WITH_DEVICE_INFORMATION = (CORPUS / "provision-request-phase1.xml").read_text()
USER_INFORMATION = (
    '<Settings xmlns="Settings:"><UserInformation><Get/></UserInformation></Settings>'
)

#: (protocol version, base64 query)
VARIANTS = [("12.1", False), ("14.1", False), ("16.1", False), ("14.1", True)]
IDS = ["12.1", "14.1", "16.1", "14.1-base64"]


def acknowledgment(key: int | str, status: int = 1, policy_type: str = WBXML_TYPE) -> str:
    return (
        f'<Provision xmlns="Provision:"><Policies><Policy><PolicyType>{policy_type}</PolicyType>'
        f"<PolicyKey>{key}</PolicyKey><Status>{status}</Status></Policy></Policies></Provision>"
    )


def wipe_acknowledgment(element: str, status: int = 1) -> str:
    inner = f"<{element}><Status>{status}</Status></{element}>"
    return f'<Provision xmlns="Provision:">{inner}</Provision>'


async def _client(aiohttp_client: ClientFactory, tmp_path: Path, text: str = "") -> TestClient:  # type: ignore[type-arg]
    config = make_config(tmp_path, text)
    await add_user(config, "alice", "secret", "alice@example.com")
    return await aiohttp_client(create_app(config))


@pytest.fixture
async def client(aiohttp_client: ClientFactory, tmp_path: Path) -> TestClient:  # type: ignore[type-arg]
    return await _client(aiohttp_client, tmp_path)


def _phone(
    client: TestClient,  # type: ignore[type-arg]
    version: str,
    base64_query: bool = False,
    device_id: str = "DEV1",
) -> EasClient:
    return EasClient(client, version=version, base64_query=base64_query, device_id=device_id)


async def _device(client: TestClient, device_id: str = "DEV1") -> Device:  # type: ignore[type-arg]
    async with client.app[GATEWAY].database.sessions() as session:
        user = await Users(session).get("alice")
        assert user is not None
        return await Devices(session).require(user, device_id)


async def _request_wipe(client: TestClient, *, full: bool, device_id: str = "DEV1") -> str:  # type: ignore[type-arg]
    async with client.app[GATEWAY].database.sessions.begin() as session:
        user = await Users(session).get("alice")
        assert user is not None
        devices = Devices(session)
        return await devices.request_wipe(await devices.require(user, device_id), full=full)


def _int(answer: Answer, path: str) -> int:
    text = answer.find(path)
    assert text is not None, f"no {path}"
    return int(text)


def assert_refused(answer: Answer, version: str, status: int, http_status: int) -> None:
    """12.x: an HTTP status; 14.0+: the common status in the command's body (MS-ASCMD 2.2.2)."""
    if version.startswith("12."):
        assert answer.status == http_status
    else:
        assert answer.status == 200
        assert answer.find("/*/*[local-name()='Status']") == str(status)


async def provision(phone: EasClient) -> tuple[int, int]:
    """Both phases; the phone keeps the final key. Returns (temporary, final)."""
    initial = INITIAL_WITH_DEVICE_INFORMATION if phone.version >= "14.1" else INITIAL
    first = await phone.command("Provision", initial)
    assert first.status == 200
    assert first.find("/Provision:Provision/Provision:Status") == "1"
    if phone.version >= "14.1":
        assert first.find("/Provision:Provision/Settings:DeviceInformation/Settings:Status") == "1"
    assert first.find("//Provision:Policy/Provision:Status") == "1"
    assert first.find("//Provision:EASProvisionDoc/Provision:DevicePasswordEnabled") == "0"
    temporary = _int(first, "//Provision:PolicyKey")
    phone.policy_key = temporary
    second = await phone.command("Provision", acknowledgment(temporary))
    assert second.find("//Provision:Policy/Provision:Status") == "1"
    assert second.find("//Provision:EASProvisionDoc") is None
    final = _int(second, "//Provision:PolicyKey")
    phone.policy_key = final
    return temporary, final


@pytest.mark.parametrize(("version", "base64_query"), VARIANTS, ids=IDS)
async def test_two_phases_unlock_commands_and_keys_are_checked(
    client: TestClient,  # type: ignore[type-arg]
    version: str,
    base64_query: bool,
) -> None:
    phone = _phone(client, version, base64_query)
    assert_refused(await phone.command("Settings", USER_INFORMATION), version, 142, 449)

    temporary, final = await provision(phone)
    assert 0 < temporary <= 0xFFFFFFFF and 0 < final <= 0xFFFFFFFF and final != temporary
    device = await _device(client)
    assert (device.policy_key, device.pending_policy_key) == (final, None)
    if version >= "14.1":  # its initial request carried DeviceInformation (MS-ASPROV 3.2.5.1.1)
        assert (device.model, device.imei, device.friendly_name, device.os) == (
            "iPhone15,2",
            "356789104512345",
            "Alice's iPhone",
            "iOS 18.1 22B83",
        )
        assert (device.os_language, device.phone_number, device.mobile_operator) == (
            "de-DE",
            "+491711234567",
            "Telekom.de",
        )

    answer = await phone.command("Settings", USER_INFORMATION)
    assert answer.status == 200
    assert answer.find("/Settings:Settings/Settings:Status") == "1"
    assert answer.find("//Settings:SMTPAddress") == "alice@example.com"

    # The phone lost the answer to its acknowledgment and sends it again: same final key.
    phone.policy_key = temporary
    again = await phone.command("Provision", acknowledgment(temporary))
    assert again.find("//Provision:Policy/Provision:Status") == "1"
    assert _int(again, "//Provision:PolicyKey") == final
    assert (await _device(client)).policy_key == final

    # The temporary key is stale now; no key at all is "not provisioned".
    assert_refused(await phone.command("Settings", USER_INFORMATION), version, 144, 449)
    phone.policy_key = None
    assert_refused(await phone.command("Settings", USER_INFORMATION), version, 142, 449)
    phone.policy_key = 0
    assert_refused(await phone.command("Settings", USER_INFORMATION), version, 142, 449)
    phone.policy_key = final
    assert (await phone.command("Settings", USER_INFORMATION)).find("//Settings:Status") == "1"


async def test_wrong_keys_are_policy_status_5(client: TestClient) -> None:  # type: ignore[type-arg]
    phone = _phone(client, "16.1")
    first = _int(await phone.command("Provision", INITIAL), "//Provision:PolicyKey")
    second = _int(await phone.command("Provision", INITIAL), "//Provision:PolicyKey")
    assert first != second  # a new initial request replaces the temporary key
    for key in [first, "123", "not-a-key", "99999999999999999999"]:
        answer = await phone.command("Provision", acknowledgment(key))
        assert answer.status == 200
        assert answer.find("/Provision:Provision/Provision:Status") == "1"
        assert answer.find("//Provision:Policy/Provision:Status") == "5", key
        assert answer.find("//Provision:PolicyKey") is None
    assert (await _device(client)).policy_key is None
    fresh = await phone.command("Provision", acknowledgment(second))
    assert fresh.find("//Provision:Policy/Provision:Status") == "1"


async def test_other_policy_types_are_policy_status_3_and_none_is_status_2(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    phone = _phone(client, "14.1")
    for policy_type in ["MS-WAP-Provisioning-XML", "Something-Else"]:  # WAP is 2.5's form
        answer = await phone.command("Provision", INITIAL.replace(WBXML_TYPE, policy_type))
        assert answer.find("/Provision:Provision/Provision:Status") == "1"
        assert answer.find("//Provision:Policy/Provision:Status") == "3"
        assert answer.find("//Provision:Policy/Provision:PolicyType") == policy_type
        assert answer.find("//Provision:PolicyKey") is None
    assert (await _device(client)).pending_policy_key is None
    for xml in [
        None,  # an empty body: only a device with a pending wipe sends that
        '<Provision xmlns="Provision:"/>',
        '<Provision xmlns="Provision:"><Policies><Policy/></Policies></Provision>',
        '<Settings xmlns="Settings:"><UserInformation><Get/></UserInformation></Settings>',
    ]:  # MS-ASCMD 3.1.5.1: no PolicyType -> Status 2
        answer = await phone.command("Provision", xml)
        assert answer.status == 200
        assert answer.find("/Provision:Provision/Provision:Status") == "2", xml
        assert answer.find("//Provision:PolicyKey") is None


@pytest.mark.parametrize(("version", "base64_query"), VARIANTS, ids=IDS)
async def test_remote_wipe_is_delivered_then_the_device_is_refused(
    client: TestClient,  # type: ignore[type-arg]
    version: str,
    base64_query: bool,
) -> None:
    phone = _phone(client, version, base64_query)
    await provision(phone)
    kind = await _request_wipe(client, full=False)  # account-only where the device speaks 16.1
    element = "AccountOnlyRemoteWipe" if version == "16.1" else "RemoteWipe"
    assert kind == ("account" if version == "16.1" else "full")

    assert_refused(await phone.command("Settings", USER_INFORMATION), version, 140, 449)
    for body in (None, INITIAL):  # the empty Provision, and a full initial request
        directive = await phone.command("Provision", body)
        assert directive.status == 200
        assert directive.find("/Provision:Provision/Provision:Status") == "1"
        assert directive.findall(f"/Provision:Provision/Provision:{element}")
        assert directive.find("//Provision:Policies") is None

    done = await phone.command("Provision", wipe_acknowledgment(element))
    assert done.status == 200
    assert done.find("/Provision:Provision/Provision:Status") == "1"
    assert (await _device(client)).status == "wiped"
    assert_refused(await phone.command("Settings", USER_INFORMATION), version, 129, 403)
    assert_refused(await phone.command("Provision", INITIAL), version, 129, 403)


async def test_wipe_edge_cases(client: TestClient) -> None:  # type: ignore[type-arg]
    # A failed wipe gets Provision Status 2 and the directive again (MS-ASPROV 3.2.5.1.2.2).
    failing = _phone(client, "14.1", device_id="FAILS")
    await provision(failing)
    await _request_wipe(client, full=True, device_id="FAILS")
    answer = await failing.command("Provision", wipe_acknowledgment("RemoteWipe", status=2))
    assert answer.find("/Provision:Provision/Provision:Status") == "2"
    assert answer.findall("/Provision:Provision/Provision:RemoteWipe")
    assert (await _device(client, "FAILS")).status == "wipe-pending"

    # An account-only wipe is never escalated to a full one for a device below 16.1.
    downgraded = _phone(client, "16.1", device_id="DOWNGRADED")
    await provision(downgraded)
    assert await _request_wipe(client, full=False, device_id="DOWNGRADED") == "account"
    downgraded.version = "14.1"
    answer = await downgraded.command("Provision", None)
    assert answer.find("/Provision:Provision/Provision:Status") == "129"
    assert answer.find("//Provision:RemoteWipe") is None
    assert (await _device(client, "DOWNGRADED")).status == "wipe-pending"

    # A wipe acknowledgment without a pending wipe changes nothing.
    innocent = _phone(client, "14.1", device_id="INNOCENT")
    await provision(innocent)
    answer = await innocent.command("Provision", wipe_acknowledgment("RemoteWipe"))
    assert answer.find("/Provision:Provision/Provision:Status") == "1"
    assert (await _device(client, "INNOCENT")).status == "allowed"
    assert (await innocent.command("Settings", USER_INFORMATION)).find("//Settings:Status") == "1"


async def test_policy_not_required_still_answers_provision(
    aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    client = await _client(aiohttp_client, tmp_path, "[policy]\nrequired = false\n")
    phone = _phone(client, "14.1")
    assert (await phone.command("Settings", USER_INFORMATION)).find("//Settings:Status") == "1"
    await provision(phone)
    assert (await phone.command("Settings", USER_INFORMATION)).find("//Settings:Status") == "1"


async def test_configured_policy_document_is_sent(
    aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    config = "[policy.document]\nDevicePasswordEnabled = true\nMinDevicePasswordLength = 6\n"
    client = await _client(aiohttp_client, tmp_path, config)
    answer = await _phone(client, "14.1").command("Provision", INITIAL)
    doc = "//Provision:EASProvisionDoc/Provision:"
    assert answer.find(doc + "DevicePasswordEnabled") == "1"
    assert answer.find(doc + "MinDevicePasswordLength") == "6"
    assert answer.find(doc + "AllowBluetooth") == "2"  # unset elements keep Exchange's defaults


def test_a_bad_policy_document_is_refused_at_start_up(tmp_path: Path) -> None:
    # A typo in policy.document fails when the configuration loads, naming the element,
    # rather than answering every phone with Provision Status 3 later.
    with pytest.raises(ConfigError, match="Passcode is not an EASProvisionDoc element"):
        make_config(tmp_path, "[policy.document]\nPasscode = 1\n")


needs_vectors = pytest.mark.skipif(not VECTORS.is_dir(), reason=f"{VECTORS} is absent")


@needs_vectors
async def test_device_captures_get_well_formed_answers(client: TestClient) -> None:  # type: ignore[type-arg]
    phone = _phone(client, "12.1")
    # The captured acknowledgments carry another server's keys: Policy Status 5.
    captures = [("iphoneProvReq1", "1"), ("iphoneProvReq2", "5"), ("provisionRequest", "5")]
    for name, policy_status in captures:
        body = (VECTORS / "bluemind" / f"{name}.wbxml").read_bytes()
        answer = await phone.command("Provision", body=body)
        assert answer.status == 200
        assert answer.find("/Provision:Provision/Provision:Status") == "1"
        assert answer.find("//Provision:Policy/Provision:PolicyType") == WBXML_TYPE
        assert answer.find("//Provision:Policy/Provision:Status") == policy_status, name


@pytest.mark.parametrize("version", ["12.1", "14.1", "16.1"])
async def test_a_changed_policy_makes_provisioned_devices_provision_again(
    aiohttp_client: ClientFactory, tmp_path: Path, version: str
) -> None:
    """The admin tightens policy.document: a device holding the old policy gets 143
    PolicyRefresh (12.x: HTTP 449) until it provisions again; an unchanged one is let be."""
    first = await _client(aiohttp_client, tmp_path)
    phone = _phone(first, version)
    await provision(phone)
    assert (await phone.command("Settings", USER_INFORMATION)).find("//Settings:Status") == "1"
    assert (await _device(first)).policy_hash is not None

    # The same data dir, served again with the same policy: nothing to do.
    same = await aiohttp_client(create_app(make_config(tmp_path)))
    phone.client = same
    assert (await phone.command("Settings", USER_INFORMATION)).find("//Settings:Status") == "1"

    tighter = "[policy.document]\nDevicePasswordEnabled = true\nMinDevicePasswordLength = 6\n"
    changed = await aiohttp_client(create_app(make_config(tmp_path, tighter)))
    phone.client = changed
    assert_refused(await phone.command("Settings", USER_INFORMATION), version, 143, 449)
    answer = await phone.command("Provision", INITIAL)
    assert answer.find("//Provision:EASProvisionDoc/Provision:MinDevicePasswordLength") == "6"
    temporary = _int(answer, "//Provision:PolicyKey")
    phone.policy_key = temporary
    done = await phone.command("Provision", acknowledgment(temporary))
    phone.policy_key = _int(done, "//Provision:PolicyKey")
    assert (await phone.command("Settings", USER_INFORMATION)).find("//Settings:Status") == "1"
