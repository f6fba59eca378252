"""Provision models: the spec's examples, real Exchange answers, round trips, bad input."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest
from lxml import etree

from protocol import wbxml
from protocol.codepages import PAGES
from protocol.provision import (
    POLICY_TYPE_WAP,
    POLICY_TYPE_WBXML,
    EasProvisionDoc,
    PolicyRequest,
    PolicyResponse,
    PolicyStatus,
    ProvisionRequest,
    ProvisionResponse,
    ProvisionStatus,
    WipeAcknowledgement,
    WipeKind,
    parse_provision_request,
    parse_provision_response,
    policy_document,
    render_provision_request,
    render_provision_response,
)
from protocol.settings import DeviceInformation
from protocol.status import EasStatusError
from tests.conftest import VECTORS

CORPUS = Path(__file__).parent / "corpus"
VERSIONS = ["12.0", "12.1", "14.0", "14.1", "16.0", "16.1"]
needs_vectors = pytest.mark.skipif(not VECTORS.is_dir(), reason=f"{VECTORS} is absent")


def _wire(tree: etree._Element) -> etree._Element:
    """Through the codec, as a request or response travels."""
    return wbxml.decode(wbxml.encode(tree))


def _corpus(name: str) -> etree._Element:
    return _wire(etree.parse(str(CORPUS / name)).getroot())


def _same_bytes(rendered: etree._Element, expected: etree._Element) -> None:
    """The codec skips comments, whitespace and prefixes: equal bytes = equal documents."""
    assert wbxml.encode(rendered) == wbxml.encode(expected)


def _vector(name: str) -> bytes:
    return (VECTORS / "bluemind" / name).read_bytes()


# --- the spec's examples (tests/protocol/corpus) ------------------------------------


def test_initial_request_with_device_information() -> None:
    request = parse_provision_request(_corpus("provision-request-phase1.xml"), "14.1")
    assert request == ProvisionRequest(
        device_information=DeviceInformation(
            model="iPhone15,2",
            imei="356789104512345",
            friendly_name="Alice's iPhone",
            os="iOS 18.1 22B83",
            os_language="de-DE",
            phone_number="+491711234567",
            user_agent="Apple-iPhone15C2/2201.83",
            enable_outbound_sms=False,
            mobile_operator="Telekom.de",
        ),
        policy=PolicyRequest(policy_type=POLICY_TYPE_WBXML),
    )


def test_acknowledgment_request() -> None:
    request = parse_provision_request(_corpus("provision-request-ack.xml"), "14.0")
    assert request.policy == PolicyRequest(
        policy_type=POLICY_TYPE_WBXML, policy_key="1307199584", status=1
    )
    assert request.device_information is None
    assert request.wipe_acknowledgement is None


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("provision-request-remotewipe-ack.xml", WipeKind.Full),
        ("provision-request-accountonlyremotewipe-ack.xml", WipeKind.AccountOnly),
    ],
)
def test_wipe_acknowledgments(name: str, kind: WipeKind) -> None:
    request = parse_provision_request(_corpus(name), "16.1")
    assert request == ProvisionRequest(
        wipe_acknowledgement=WipeAcknowledgement(kind=kind, status=1)
    )


def test_initial_response_renders_the_spec_example() -> None:
    document = policy_document(
        {
            "DevicePasswordEnabled": True,
            "MinDevicePasswordLength": 6,
            "MaxDevicePasswordFailedAttempts": 10,
            "MinDevicePasswordComplexCharacters": 1,
            "UnapprovedInROMApplicationList": ["Solitaire"],
            "ApprovedApplicationList": ["A8E5F2C1D4B3A6978E5F2C1D4B3A6978E5F2C1D4"],
        }
    )
    response = ProvisionResponse(
        device_information_status=1,
        policy=PolicyResponse(
            policy_type=POLICY_TYPE_WBXML,
            status=PolicyStatus.Success,
            policy_key=1307199584,
            document=document,
        ),
    )
    rendered = render_provision_response(response, "14.1")
    _same_bytes(rendered, _corpus("provision-response-phase1.xml"))
    assert parse_provision_response(_wire(rendered), "14.1") == response


@pytest.mark.parametrize(
    ("name", "response"),
    [
        (
            "provision-response-ack.xml",
            ProvisionResponse(
                policy=PolicyResponse(
                    policy_type=POLICY_TYPE_WBXML,
                    status=PolicyStatus.Success,
                    policy_key=3942919513,
                )
            ),
        ),
        ("provision-response-remotewipe.xml", ProvisionResponse(remote_wipe=WipeKind.Full)),
        (
            "provision-response-accountonlyremotewipe.xml",
            ProvisionResponse(remote_wipe=WipeKind.AccountOnly),
        ),
    ],
)
def test_responses_render_the_spec_examples(name: str, response: ProvisionResponse) -> None:
    _same_bytes(render_provision_response(response, "16.1"), _corpus(name))


# --- real Exchange answers (../shared/vectors) -------------------------------------


@needs_vectors
@pytest.mark.parametrize("name", ["ex_prov_resp.wbxml", "ex2k7provResp1.wbxml"])
def test_default_document_is_byte_for_byte_what_exchange_sends(name: str) -> None:
    response = ProvisionResponse(
        policy=PolicyResponse(
            policy_type=POLICY_TYPE_WBXML,
            status=PolicyStatus.Success,
            policy_key=3378841480,
            document=EasProvisionDoc(),
        )
    )
    assert wbxml.encode(render_provision_response(response, "14.1")) == _vector(name)


@needs_vectors
def test_exchange_empty_content_tags_read_as_unset() -> None:
    # tom_prov_resp.wbxml writes empty settings with the content bit (57 01).
    parsed = parse_provision_response(wbxml.decode(_vector("tom_prov_resp.wbxml")), "12.1")
    assert parsed.policy is not None
    assert parsed.policy.document == EasProvisionDoc()
    assert parsed.policy.document.max_attachment_size is None


@needs_vectors
@pytest.mark.parametrize(
    ("name", "key", "status"),
    [
        ("iphoneProvReq1.wbxml", None, None),
        ("iphoneProvReq2.wbxml", "3378841480", 1),
        ("provisionRequest.wbxml", "1895780307", 1),
    ],
)
def test_device_requests_parse(name: str, key: str | None, status: int | None) -> None:
    request = parse_provision_request(wbxml.decode(_vector(name)), "12.1")
    assert request.policy == PolicyRequest(
        policy_type=POLICY_TYPE_WBXML, policy_key=key, status=status
    )
    assert wbxml.encode(render_provision_request(request, "12.1")) == _vector(name)


@needs_vectors
@pytest.mark.parametrize("name", ["ex2k7provResp2.wbxml", "provisionResponse2.wbxml"])
def test_exchange_acknowledgment_answers_round_trip(name: str) -> None:
    parsed = parse_provision_response(wbxml.decode(_vector(name)), "12.1")
    assert parsed.policy is not None and parsed.policy.policy_key is not None
    assert wbxml.encode(render_provision_response(parsed, "12.1")) == _vector(name)


# --- versions and round trips -------------------------------------------------------


def _document_tags(version: str) -> list[str]:
    response = ProvisionResponse(
        policy=PolicyResponse(
            policy_type=POLICY_TYPE_WBXML, status=PolicyStatus.Success, policy_key=7,
            document=EasProvisionDoc(),
        )
    )  # fmt: skip
    root = render_provision_response(response, version)
    doc = root.find(".//{Provision:}EASProvisionDoc")
    assert doc is not None
    return [etree.QName(child).localname for child in doc]


def test_12_0_gets_only_the_elements_it_knows() -> None:
    assert _document_tags("12.0") == [
        "DevicePasswordEnabled",
        "AlphanumericDevicePasswordRequired",
        "PasswordRecoveryEnabled",
        "RequireStorageCardEncryption",
        "AttachmentsEnabled",
        "MinDevicePasswordLength",
        "MaxInactivityTimeDeviceLock",
        "MaxDevicePasswordFailedAttempts",
        "MaxAttachmentSize",
        "AllowSimpleDevicePassword",
        "DevicePasswordExpiration",
        "DevicePasswordHistory",
    ]
    assert len(_document_tags("12.1")) == len(fields(EasProvisionDoc)) == 42
    assert _document_tags("16.1") == _document_tags("12.1")


def test_every_document_tag_is_in_the_provision_code_page() -> None:
    names = set(PAGES[14].tags.values())
    for spec in fields(EasProvisionDoc):
        assert spec.metadata["tag"] in names
        assert spec.metadata.get("item", "ApplicationName") in names


REQUESTS = [
    ProvisionRequest(),
    ProvisionRequest(policy=PolicyRequest(policy_type=POLICY_TYPE_WBXML)),
    ProvisionRequest(
        device_information=DeviceInformation(model="Pixel 8", os="Android 15", user_agent="UA/1"),
        policy=PolicyRequest(policy_type=POLICY_TYPE_WBXML),
    ),
    ProvisionRequest(
        policy=PolicyRequest(policy_type=POLICY_TYPE_WBXML, policy_key="4294967295", status=2)
    ),
    ProvisionRequest(wipe_acknowledgement=WipeAcknowledgement(kind=WipeKind.Full, status=2)),
]


@pytest.mark.parametrize("request_model", REQUESTS)
def test_requests_round_trip(request_model: ProvisionRequest) -> None:
    tree = render_provision_request(request_model, "14.1")
    assert parse_provision_request(_wire(tree), "14.1") == request_model


RESPONSES = [
    ProvisionResponse(status=ProvisionStatus.ProtocolError),
    ProvisionResponse(
        policy=PolicyResponse(policy_type=POLICY_TYPE_WAP, status=PolicyStatus.UnknownPolicyType)
    ),
    ProvisionResponse(
        policy=PolicyResponse(policy_type=POLICY_TYPE_WBXML, status=PolicyStatus.WrongPolicyKey)
    ),
    ProvisionResponse(
        device_information_status=1,
        policy=PolicyResponse(
            policy_type=POLICY_TYPE_WBXML,
            status=PolicyStatus.Success,
            policy_key=1,
            document=EasProvisionDoc(
                device_password_enabled=True,
                max_inactivity_time_device_lock=None,
                allow_bluetooth=0,
                approved_application_list=("AB", "CD"),
            ),
        ),
    ),
    ProvisionResponse(status=ProvisionStatus.ProtocolError, remote_wipe=WipeKind.Full),
]


@pytest.mark.parametrize("version", ["12.1", "14.1", "16.1"])
@pytest.mark.parametrize("response", RESPONSES)
def test_responses_round_trip(response: ProvisionResponse, version: str) -> None:
    tree = render_provision_response(response, version)
    assert parse_provision_response(_wire(tree), version) == response


# --- bad input ----------------------------------------------------------------------


def test_empty_body_is_an_empty_request() -> None:
    assert parse_provision_request(None, "14.1") == ProvisionRequest()


P = '<Provision xmlns="Provision:">'
POLICY = "<PolicyType>MS-EAS-Provisioning-WBXML</PolicyType>"
BAD_STATUS = (
    f"{P}<Policies><Policy>{POLICY}<PolicyKey>1</PolicyKey><Status>x</Status></Policy>"
    "</Policies></Provision>"
)


@pytest.mark.parametrize(
    "xml",
    [
        '<Settings xmlns="Settings:"><UserInformation><Get/></UserInformation></Settings>',
        f"{P}<Policies/></Provision>",
        f"{P}<Policies><Policy/></Policies></Provision>",
        f"{P}<Policies><Policy><PolicyType></PolicyType></Policy></Policies></Provision>",
        BAD_STATUS,
        f"{P}<RemoteWipe/></Provision>",
        f"{P}<AccountOnlyRemoteWipe><Status/></AccountOnlyRemoteWipe></Provision>",
        '<Provision xmlns="Provision:" xmlns:S="Settings:"><S:DeviceInformation/></Provision>',
    ],
)
def test_malformed_requests_are_provision_status_2(xml: str) -> None:
    with pytest.raises(EasStatusError) as caught:
        parse_provision_request(_wire(etree.fromstring(xml)), "14.1")
    assert caught.value.status == ProvisionStatus.ProtocolError


def test_unknown_children_are_ignored() -> None:
    xml = (
        '<Provision xmlns="Provision:"><Data/><Policies><Policy><PolicyType>X</PolicyType>'
        "<Hash>1</Hash></Policy></Policies></Provision>"
    )
    request = parse_provision_request(_wire(etree.fromstring(xml)), "14.1")
    assert request == ProvisionRequest(policy=PolicyRequest(policy_type="X"))


# --- the policy document from configuration -----------------------------------------


def test_policy_document_from_toml_values() -> None:
    document = policy_document(
        {
            "devicepasswordenabled": 1,  # names are case-insensitive; 0/1 are booleans
            "AllowWifi": False,  # the spec's spelling of AllowWiFi
            "MaxAttachmentSize": 5_000_000,
            "MaxInactivityTimeDeviceLock": "",  # empty = unset
            "ApprovedApplicationList": ["00FF"],
        }
    )
    assert document.device_password_enabled is True
    assert document.allow_wifi is False
    assert document.max_attachment_size == 5_000_000
    assert document.max_inactivity_time_device_lock is None
    assert document.approved_application_list == ("00FF",)
    assert policy_document({}) == EasProvisionDoc()


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"PasswordComplexity": 1}, "PasswordComplexity is not an EASProvisionDoc element"),
        ({"AllowCamera": "yes"}, "AllowCamera: expected true or false"),
        ({"AllowCamera": 2}, "AllowCamera: expected true or false"),
        ({"MinDevicePasswordLength": 40}, "MinDevicePasswordLength: expected an integer in 1..16"),
        ({"MaxAttachmentSize": True}, "MaxAttachmentSize: expected an integer"),
        ({"MaxEmailAgeFilter": "3"}, "MaxEmailAgeFilter: expected an integer"),
        ({"ApprovedApplicationList": "00FF"}, "ApprovedApplicationList: expected a list"),
        ({"ApprovedApplicationList": [1]}, "ApprovedApplicationList: expected a list"),
    ],
)
def test_policy_document_names_the_bad_element(settings: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=r"policy\.document") as caught:
        policy_document(settings)
    assert message in str(caught.value)


def test_document_validates_at_construction() -> None:
    with pytest.raises(ValueError, match="AllowBluetooth"):
        EasProvisionDoc(allow_bluetooth=3)
