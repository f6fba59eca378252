"""Settings models: the spec's examples, device captures, round trips, bad input."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest
from lxml import etree

from protocol import wbxml
from protocol.codepages import PAGES
from protocol.settings import (
    DEVICE_INFORMATION_TAGS,
    DeviceInformation,
    DeviceInformationSet,
    DevicePasswordSet,
    InvalidProperty,
    OofAudience,
    OofGet,
    OofMessage,
    OofSet,
    OofSettings,
    OofState,
    PropertyResult,
    RightsManagementInformationGet,
    SettingsRequest,
    SettingsResponse,
    SettingsStatus,
    UserAccount,
    UserInformationGet,
    parse_settings_request,
    parse_settings_response,
    render_settings_request,
    render_settings_response,
)
from protocol.status import EasStatusError
from tests.conftest import VECTORS

CORPUS = Path(__file__).parent / "corpus"
needs_vectors = pytest.mark.skipif(not VECTORS.is_dir(), reason=f"{VECTORS} is absent")


def _wire(tree: etree._Element) -> etree._Element:
    return wbxml.decode(wbxml.encode(tree))


def _corpus(name: str) -> etree._Element:
    return _wire(etree.parse(str(CORPUS / name)).getroot())


def _xml(text: str) -> etree._Element:
    return _wire(etree.fromstring(text))


def _vector(name: str) -> bytes:
    return (VECTORS / "bluemind" / name).read_bytes()


ACCOUNT = UserAccount(
    smtp_addresses=("alice@example.com",),
    primary_smtp_address="alice@example.com",
    user_display_name="Alice Schmidt",
)


# --- the spec's examples (tests/protocol/corpus) ------------------------------------


def test_request_properties_in_order() -> None:
    request = parse_settings_request(_corpus("settings-request.xml"), "14.1")
    assert request.properties == (
        OofGet(body_type="Text"),
        DeviceInformationSet(
            device_information=DeviceInformation(
                model="SM-S921B",
                imei="352456789012345",
                friendly_name="Galaxy S24",
                os="Android 14",
                os_language="English",
                phone_number="+491761234567",
                user_agent="Android-SAMSUNG-SM-S921B/101.140001",
                enable_outbound_sms=True,
                mobile_operator="Vodafone.de",
            )
        ),
        UserInformationGet(),
        RightsManagementInformationGet(),
    )


def test_oof_set_and_device_password_set() -> None:
    request = parse_settings_request(_corpus("settings-request-oof-set.xml"), "14.1")
    assert request.properties == (
        OofSet(
            settings=OofSettings(
                oof_state=OofState.TimeBased,
                start_time="2026-12-21T00:00:00.000Z",
                end_time="2027-01-04T00:00:00.000Z",
                oof_messages=(
                    OofMessage(
                        audience=OofAudience.Internal,
                        enabled=True,
                        reply_message="I am out of the office until 4 January.",
                        body_type="Text",
                    ),
                    OofMessage(audience=OofAudience.ExternalKnown, enabled=False),
                    OofMessage(audience=OofAudience.ExternalUnknown, enabled=False),
                ),
            )
        ),
        DevicePasswordSet(password="7391-2284"),
    )


def test_set_statuses_render_the_spec_example() -> None:
    response = SettingsResponse(
        results=(
            PropertyResult(name="Oof", status=SettingsStatus.Success),
            PropertyResult(name="DevicePassword", status=SettingsStatus.Success),
        )
    )
    rendered = render_settings_response(response, "14.1")
    assert wbxml.encode(rendered) == wbxml.encode(_corpus("settings-response-oof-set.xml"))


def test_spec_response_with_accounts_parses() -> None:
    response = parse_settings_response(_corpus("settings-response.xml"), "14.1")
    assert [(r.name, r.status) for r in response.results] == [
        ("Oof", 1),
        ("DeviceInformation", 1),
        ("UserInformation", 1),
        ("RightsManagementInformation", 1),
    ]
    assert response.results[2].account == UserAccount(
        smtp_addresses=("alice.schmidt@example.com", "alice@example.com"),
        primary_smtp_address="alice.schmidt@example.com",
        user_display_name="Alice Schmidt",
    )
    oof = response.results[0].oof
    assert oof is not None and oof.oof_state is OofState.TimeBased
    assert [m.audience for m in oof.oof_messages] == list(OofAudience)


# --- UserInformation by version (MS-ASCMD 2.2.3.57) ---------------------------------


def _user_information(version: str) -> etree._Element:
    result = PropertyResult(name="UserInformation", status=SettingsStatus.Success, account=ACCOUNT)
    response = SettingsResponse(results=(result,))
    get = render_settings_response(response, version).find(".//{Settings:}Get")
    assert get is not None
    return get


@pytest.mark.parametrize("version", ["12.0", "12.1", "14.0"])
def test_user_information_before_14_1_lists_addresses_under_get(version: str) -> None:
    get = _user_information(version)
    assert [etree.QName(c).localname for c in get] == ["EmailAddresses"]
    assert get.findtext("{Settings:}EmailAddresses/{Settings:}SMTPAddress") == "alice@example.com"


@pytest.mark.parametrize("version", ["14.1", "16.0", "16.1"])
def test_user_information_from_14_1_is_an_account(version: str) -> None:
    get = _user_information(version)
    account = get.find("{Settings:}Accounts/{Settings:}Account")
    assert account is not None
    assert [etree.QName(c).localname for c in account] == ["UserDisplayName", "EmailAddresses"]
    assert account.findtext("{Settings:}UserDisplayName") == "Alice Schmidt"
    addresses = account.find("{Settings:}EmailAddresses")
    assert addresses is not None
    assert [(etree.QName(c).localname, c.text) for c in addresses] == [
        ("SMTPAddress", "alice@example.com"),
        ("PrimarySmtpAddress", "alice@example.com"),
    ]


@needs_vectors
def test_user_information_is_byte_for_byte_what_exchange_sends_at_12_1() -> None:
    account = UserAccount(smtp_addresses=("Administrator@test.tlse.lng",))
    result = PropertyResult(name="UserInformation", status=SettingsStatus.Success, account=account)
    response = SettingsResponse(results=(result,))
    rendered = wbxml.encode(render_settings_response(response, "12.1"))
    assert rendered == _vector("settingsResponse.wbxml")


# --- device captures (../shared/vectors) --------------------------------------------


@needs_vectors
@pytest.mark.parametrize(
    ("name", "model", "user_information"),
    [
        ("settings.wbxml", "NokiaE71", False),
        ("settings_omnia_pro.wbxml", "GT-B7330", True),
        ("OmniaProB7330.wbxml", "GT-B7330", True),
        ("settingsRequest.wbxml", None, True),
    ],
)
def test_device_requests_parse_and_round_trip(
    name: str, model: str | None, user_information: bool
) -> None:
    request = parse_settings_request(wbxml.decode(_vector(name)), "12.1")
    infos = [p for p in request.properties if isinstance(p, DeviceInformationSet)]
    assert (infos[0].device_information.model if infos else None) == model
    assert (UserInformationGet() in request.properties) is user_information
    assert wbxml.encode(render_settings_request(request, "12.1")) == _vector(name)


# --- round trips --------------------------------------------------------------------


REQUEST = SettingsRequest(
    properties=(
        DeviceInformationSet(device_information=DeviceInformation(model="X", imei="1")),
        OofGet(body_type="HTML"),
        OofSet(settings=OofSettings(oof_state=OofState.Global)),
        DevicePasswordSet(password=""),
        UserInformationGet(),
        RightsManagementInformationGet(),
        InvalidProperty(name="DevicePassword"),
    )
)


def test_request_round_trip() -> None:
    tree = render_settings_request(REQUEST, "14.1")
    assert parse_settings_request(_wire(tree), "14.1") == REQUEST


@pytest.mark.parametrize("version", ["12.1", "14.1", "16.1"])
def test_response_round_trip(version: str) -> None:
    response = SettingsResponse(
        results=(
            PropertyResult(
                name="Oof",
                status=SettingsStatus.Success,
                oof=OofSettings(
                    oof_state=OofState.Disabled,
                    oof_messages=tuple(OofMessage(audience=a, enabled=False) for a in OofAudience),
                ),
            ),
            PropertyResult(name="DeviceInformation", status=SettingsStatus.Success),
            PropertyResult(name="UserInformation", status=SettingsStatus.Success, account=ACCOUNT),
            PropertyResult(
                name="RightsManagementInformation",
                status=SettingsStatus.Success,
                rights_management=True,
            ),
            PropertyResult(name="Oof", status=SettingsStatus.AccessDenied),
            PropertyResult(name="DevicePassword", status=SettingsStatus.ProtocolError),
        )
    )
    parsed = parse_settings_response(_wire(render_settings_response(response, version)), version)
    if version == "12.1":  # no display name or primary address before 14.1
        account = UserAccount(smtp_addresses=ACCOUNT.smtp_addresses)
        results = list(response.results)
        results[2] = PropertyResult(
            name="UserInformation", status=SettingsStatus.Success, account=account
        )
        response = SettingsResponse(results=tuple(results))
    assert parsed == response


def test_device_information_tags_cover_every_field_and_exist() -> None:
    assert list(DEVICE_INFORMATION_TAGS) == [f.name for f in fields(DeviceInformation)]
    assert set(DEVICE_INFORMATION_TAGS.values()) <= set(PAGES[18].tags.values())


# --- bad input ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "tree",
    [None, _xml('<Provision xmlns="Provision:"><Status>1</Status></Provision>')],
    ids=["empty body", "not Settings"],
)
def test_not_a_settings_request_is_status_2(tree: etree._Element | None) -> None:
    with pytest.raises(EasStatusError) as caught:
        parse_settings_request(tree, "14.1")
    assert caught.value.status == SettingsStatus.ProtocolError


def test_empty_settings_is_no_properties() -> None:
    assert (
        parse_settings_request(_xml('<Settings xmlns="Settings:"/>'), "14.1") == SettingsRequest()
    )


def test_a_property_with_the_wrong_operation_is_invalid_alone() -> None:
    xml = (
        '<Settings xmlns="Settings:"><DeviceInformation><Get/></DeviceInformation>'
        "<UserInformation><Set/></UserInformation><Oof/><Model>x</Model>"
        "<UserInformation><Get/></UserInformation></Settings>"
    )
    assert parse_settings_request(_xml(xml), "14.1").properties == (
        InvalidProperty(name="DeviceInformation"),
        InvalidProperty(name="UserInformation"),
        InvalidProperty(name="Oof"),
        UserInformationGet(),  # the stray Model element is ignored
    )


@pytest.mark.parametrize(
    "body",
    [
        "<OofState>7</OofState>",
        "<OofState>x</OofState>",
        "<OofMessage><Enabled>1</Enabled></OofMessage>",
        "<OofMessage><AppliesToInternal/><AppliesToExternalKnown/></OofMessage>",
    ],
)
def test_unreadable_oof_set_is_kept_as_unreadable(body: str) -> None:
    xml = f'<Settings xmlns="Settings:"><Oof><Set>{body}</Set></Oof></Settings>'
    assert parse_settings_request(_xml(xml), "14.1").properties == (OofSet(settings=None),)


def test_oof_get_without_body_type_means_text() -> None:
    xml = '<Settings xmlns="Settings:"><Oof><Get/></Oof></Settings>'
    assert parse_settings_request(_xml(xml), "14.1").properties == (OofGet(body_type="Text"),)


def test_response_with_unknown_status_is_rejected() -> None:
    with pytest.raises(EasStatusError):
        parse_settings_response(
            _xml('<Settings xmlns="Settings:"><Status>99</Status></Settings>'), "14.1"
        )
