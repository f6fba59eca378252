"""Provision request and response models (MS-ASCMD 2.2.1.14, MS-ASPROV).

Three request shapes (MS-ASPROV 3.1.5.1): the initial request (Policies/Policy
with a PolicyType; 14.1+ also settings:DeviceInformation), the acknowledgment
(the same Policy with the temporary PolicyKey and the client's Status), and the
acknowledgment of a remote wipe (RemoteWipe or, 16.1, AccountOnlyRemoteWipe,
with a Status). An empty Provision is the client's answer to a wipe status.

``parse_provision_request`` raises ``EasStatusError(ProvisionStatus.ProtocolError)``
on bad structure; MS-ASCMD 3.1.5.1: a Policy without PolicyType is Status 2.

The policy document is :class:`EasProvisionDoc`: one field per MS-ASPROV 2.2.2
element, declared once with its tag, the first protocol version that knows it
and its kind; fields are in the order Exchange sends them. Its defaults are
the document Exchange sends for its default policy (no device password; see
the public captures ex2k7provResp1.wbxml and tom_prov_resp.wbxml), which every
client accepts. :func:`policy_document` builds one from ``policy.document``.

The client side (``render_provision_request``, ``parse_provision_response``)
serves tests, fixtures and replay tooling.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import Field, dataclass, field, fields
from typing import Any, Final

from lxml import etree

from protocol.settings import (
    DeviceInformation,
    parse_device_information,
    render_device_information,
)
from protocol.status import EasStatusError

__all__ = [
    "POLICY_TYPE_WAP",
    "POLICY_TYPE_WBXML",
    "EasProvisionDoc",
    "PolicyRequest",
    "PolicyResponse",
    "PolicyStatus",
    "ProvisionRequest",
    "ProvisionResponse",
    "ProvisionStatus",
    "WipeAcknowledgement",
    "WipeKind",
    "parse_provision_request",
    "parse_provision_response",
    "policy_document",
    "render_provision_request",
    "render_provision_response",
]

NS: Final = "Provision:"
_SETTINGS_NS: Final = "Settings:"
#: The policy type of 12.0 and later (MS-ASPROV 2.2.2.43); the WAP form is 2.5's.
POLICY_TYPE_WBXML: Final = "MS-EAS-Provisioning-WBXML"
POLICY_TYPE_WAP: Final = "MS-WAP-Provisioning-XML"


def _tag(name: str) -> str:
    return f"{{{NS}}}{name}"


class ProvisionStatus(enum.IntEnum):
    """Status (Provision), MS-ASPROV 2.2.2.54.2."""

    Success = 1
    ProtocolError = 2
    ServerError = 3


class PolicyStatus(enum.IntEnum):
    """Status (Policy) in a response, MS-ASPROV 2.2.2.54.1."""

    Success = 1
    NoPolicy = 2
    UnknownPolicyType = 3
    PolicyDataCorrupt = 4
    WrongPolicyKey = 5


class WipeKind(enum.Enum):
    """The wipe directive, by its element (MS-ASPROV 2.2.2.45, 2.2.2.1 (16.1))."""

    Full = "RemoteWipe"
    AccountOnly = "AccountOnlyRemoteWipe"


class _Kind(enum.Enum):
    FLAG = "flag"  # boolean, "0"/"1"
    NUMBER = "number"  # integer; None = an empty tag (unset / unlimited)
    LIST = "list"  # container of one repeated child element


def _flag(tag: str, default: bool, since: str = "12.1") -> Any:
    return field(default=default, metadata={"tag": tag, "kind": _Kind.FLAG, "since": since})


def _number(
    tag: str, default: int | None, since: str = "12.1", low: int = 0, high: int = 0xFFFFFFFF
) -> Any:
    metadata = {"tag": tag, "kind": _Kind.NUMBER, "since": since, "low": low, "high": high}
    return field(default=default, metadata=metadata)


def _list(tag: str, item: str) -> Any:
    metadata = {"tag": tag, "kind": _Kind.LIST, "since": "12.1", "item": item}
    return field(default=(), metadata=metadata)


@dataclass(frozen=True, slots=True, kw_only=True)
class EasProvisionDoc:
    """EASProvisionDoc (MS-ASPROV 2.2.2.28); defaults = Exchange's default policy.

    ``since``: MS-ASPROV's protocol-version tables; 12.0 knows only the first
    twelve elements (token 0x10 is DeviceEncryptionEnabled there).
    """

    device_password_enabled: bool = _flag("DevicePasswordEnabled", False, "12.0")
    alphanumeric_device_password_required: bool = _flag(
        "AlphanumericDevicePasswordRequired", False, "12.0"
    )
    password_recovery_enabled: bool = _flag("PasswordRecoveryEnabled", False, "12.0")
    require_storage_card_encryption: bool = _flag("RequireStorageCardEncryption", False, "12.0")
    attachments_enabled: bool = _flag("AttachmentsEnabled", True, "12.0")
    min_device_password_length: int | None = _number("MinDevicePasswordLength", 4, "12.0", 1, 16)
    max_inactivity_time_device_lock: int | None = _number(
        "MaxInactivityTimeDeviceLock", 900, "12.0"
    )
    max_device_password_failed_attempts: int | None = _number(
        "MaxDevicePasswordFailedAttempts", 8, "12.0", 4, 16
    )
    max_attachment_size: int | None = _number("MaxAttachmentSize", None, "12.0")
    allow_simple_device_password: bool = _flag("AllowSimpleDevicePassword", True, "12.0")
    device_password_expiration: int | None = _number("DevicePasswordExpiration", None, "12.0")
    device_password_history: int | None = _number("DevicePasswordHistory", 0, "12.0")
    allow_storage_card: bool = _flag("AllowStorageCard", True)
    allow_camera: bool = _flag("AllowCamera", True)
    require_device_encryption: bool = _flag("RequireDeviceEncryption", False)
    allow_unsigned_applications: bool = _flag("AllowUnsignedApplications", True)
    allow_unsigned_installation_packages: bool = _flag("AllowUnsignedInstallationPackages", True)
    min_device_password_complex_characters: int | None = _number(
        "MinDevicePasswordComplexCharacters", 3, low=1, high=4
    )
    allow_wifi: bool = _flag("AllowWiFi", True)
    allow_text_messaging: bool = _flag("AllowTextMessaging", True)
    allow_pop_imap_email: bool = _flag("AllowPOPIMAPEmail", True)
    allow_bluetooth: int | None = _number("AllowBluetooth", 2, high=2)
    allow_irda: bool = _flag("AllowIrDA", True)
    require_manual_sync_when_roaming: bool = _flag("RequireManualSyncWhenRoaming", False)
    allow_desktop_sync: bool = _flag("AllowDesktopSync", True)
    max_calendar_age_filter: int | None = _number("MaxCalendarAgeFilter", 0, high=7)
    allow_html_email: bool = _flag("AllowHTMLEmail", True)
    max_email_age_filter: int | None = _number("MaxEmailAgeFilter", 0, high=5)
    max_email_body_truncation_size: int | None = _number(
        "MaxEmailBodyTruncationSize", -1, low=-1, high=0x7FFFFFFF
    )
    max_email_html_body_truncation_size: int | None = _number(
        "MaxEmailHTMLBodyTruncationSize", -1, low=-1, high=0x7FFFFFFF
    )
    require_signed_smime_messages: bool = _flag("RequireSignedSMIMEMessages", False)
    require_encrypted_smime_messages: bool = _flag("RequireEncryptedSMIMEMessages", False)
    require_signed_smime_algorithm: int | None = _number("RequireSignedSMIMEAlgorithm", 0, high=1)
    require_encryption_smime_algorithm: int | None = _number(
        "RequireEncryptionSMIMEAlgorithm", 0, high=4
    )
    allow_smime_encryption_algorithm_negotiation: int | None = _number(
        "AllowSMIMEEncryptionAlgorithmNegotiation", 2, high=2
    )
    allow_smime_soft_certs: bool = _flag("AllowSMIMESoftCerts", True)
    allow_browser: bool = _flag("AllowBrowser", True)
    allow_consumer_email: bool = _flag("AllowConsumerEmail", True)
    allow_remote_desktop: bool = _flag("AllowRemoteDesktop", True)
    allow_internet_sharing: bool = _flag("AllowInternetSharing", True)
    unapproved_in_rom_application_list: tuple[str, ...] = _list(
        "UnapprovedInROMApplicationList", "ApplicationName"
    )
    approved_application_list: tuple[str, ...] = _list("ApprovedApplicationList", "Hash")

    def __post_init__(self) -> None:
        for spec in fields(self):
            _check(spec, getattr(self, spec.name))


def _check(spec: Field[Any], value: object) -> None:
    """Validate one setting's value; ``ValueError`` names the element."""
    tag, kind = spec.metadata["tag"], spec.metadata["kind"]
    if kind is _Kind.FLAG and not isinstance(value, bool):
        raise ValueError(f"{tag}: expected true or false, got {value!r}")
    if kind is _Kind.NUMBER and value is not None:
        low, high = spec.metadata["low"], spec.metadata["high"]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"{tag}: expected an integer in {low}..{high} or empty, got {value!r}")
    if kind is _Kind.LIST and not (
        isinstance(value, tuple) and all(isinstance(item, str) for item in value)
    ):
        raise ValueError(f"{tag}: expected a list of strings, got {value!r}")


_SETTINGS: Final = {spec.metadata["tag"].lower(): spec for spec in fields(EasProvisionDoc)}


def _config_value(spec: Field[Any], value: object) -> object:
    """A configuration value (TOML types) as the field's type."""
    kind = spec.metadata["kind"]
    if kind is _Kind.FLAG and isinstance(value, int) and value in (0, 1):
        return bool(value)
    if kind is _Kind.NUMBER and value == "":
        return None
    if kind is _Kind.LIST and isinstance(value, list | tuple):
        return tuple(value)
    return value


def policy_document(settings: Mapping[str, object]) -> EasProvisionDoc:
    """``policy.document`` (element name -> value; names case-insensitive) ->
    the document. Unset elements keep Exchange's default-policy values.

    Raises ``ValueError`` naming the element for an unknown name or a bad value.
    """
    values: dict[str, object] = {}
    for name, value in settings.items():
        spec = _SETTINGS.get(name.lower())
        if spec is None:
            raise ValueError(f"policy.document: {name} is not an EASProvisionDoc element")
        values[spec.name] = _config_value(spec, value)
    try:
        return EasProvisionDoc(**values)  # type: ignore[arg-type]
    except ValueError as exc:
        raise ValueError(f"policy.document: {exc}") from None


# Requests and responses.


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyRequest:
    """Policies/Policy of a request: the initial one, or with ``status`` the acknowledgment."""

    policy_type: str
    policy_key: str | None = None  # a string of up to 64 characters (MS-ASPROV 2.2.2.42)
    status: int | None = None  # the client's result (MS-ASPROV 2.2.2.54.1, request table)


@dataclass(frozen=True, slots=True, kw_only=True)
class WipeAcknowledgement:
    """RemoteWipe/AccountOnlyRemoteWipe with the client's Status: 1 done, 2 failed."""

    kind: WipeKind
    status: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ProvisionRequest:
    device_information: DeviceInformation | None = None
    policy: PolicyRequest | None = None
    wipe_acknowledgement: WipeAcknowledgement | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyResponse:
    policy_type: str
    status: PolicyStatus
    policy_key: int | None = None
    document: EasProvisionDoc | None = None  # Data, in the initial response only


@dataclass(frozen=True, slots=True, kw_only=True)
class ProvisionResponse:
    status: ProvisionStatus = ProvisionStatus.Success
    #: settings:DeviceInformation/settings:Status, when the request carried one.
    device_information_status: int | None = None
    policy: PolicyResponse | None = None
    remote_wipe: WipeKind | None = None


def _status_of(element: etree._Element, what: str) -> int:
    text = (element.findtext(_tag("Status")) or "").strip()
    if not text.isdigit():
        raise EasStatusError(ProvisionStatus.ProtocolError, f"{what} without a numeric Status")
    return int(text)


def _parse_policy(policies: etree._Element) -> PolicyRequest:
    policy = policies.find(_tag("Policy"))
    if policy is None:
        raise EasStatusError(ProvisionStatus.ProtocolError, "Policies without Policy")
    policy_type = (policy.findtext(_tag("PolicyType")) or "").strip()
    if not policy_type:  # MS-ASCMD 3.1.5.1: no PolicyType -> Status 2
        raise EasStatusError(ProvisionStatus.ProtocolError, "Policy without PolicyType")
    key = policy.findtext(_tag("PolicyKey"))
    has_status = policy.find(_tag("Status")) is not None
    return PolicyRequest(
        policy_type=policy_type,
        policy_key=key.strip() if key is not None else None,
        status=_status_of(policy, "Policy") if has_status else None,
    )


def parse_provision_request(tree: etree._Element | None, version: str) -> ProvisionRequest:
    """The decoded Provision request (or None: an empty body) -> :class:`ProvisionRequest`."""
    del version  # DeviceInformation is read whenever sent (MS-ASPROV 2.2.2.53: 14.1+)
    if tree is None:
        return ProvisionRequest()
    if tree.tag != _tag("Provision"):
        raise EasStatusError(ProvisionStatus.ProtocolError, "not a Provision request")
    info = tree.find(f"{{{_SETTINGS_NS}}}DeviceInformation")
    try:
        device_information = None if info is None else parse_device_information(info)
    except ValueError as exc:
        raise EasStatusError(ProvisionStatus.ProtocolError, str(exc)) from None
    policies = tree.find(_tag("Policies"))
    wipe = None
    for kind in WipeKind:
        found = tree.find(_tag(kind.value))
        if found is not None:
            wipe = WipeAcknowledgement(kind=kind, status=_status_of(found, kind.value))
    return ProvisionRequest(
        device_information=device_information,
        policy=None if policies is None else _parse_policy(policies),
        wipe_acknowledgement=wipe,
    )


def _sub(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, _tag(name))
    if text is not None:
        element.text = text
    return element


def _version(version: str) -> tuple[int, int]:
    major, _, minor = version.partition(".")
    return int(major), int(minor or "0")


def _render_document(parent: etree._Element, doc: EasProvisionDoc, version: str) -> None:
    """EASProvisionDoc with every element this version knows, in Exchange's order."""
    node = _sub(parent, "EASProvisionDoc")
    for spec in fields(doc):
        meta = spec.metadata
        if _version(version) < _version(meta["since"]):
            continue
        value = getattr(doc, spec.name)
        element = _sub(node, meta["tag"])
        if meta["kind"] is _Kind.FLAG:
            element.text = "1" if value else "0"
        elif meta["kind"] is _Kind.NUMBER:
            element.text = None if value is None else str(value)
        else:
            for item in value:
                _sub(element, meta["item"], item)


def render_provision_response(response: ProvisionResponse, version: str) -> etree._Element:
    """:class:`ProvisionResponse` -> the Provision response tree (MS-ASPROV 3.2.5.1)."""
    root = etree.Element(_tag("Provision"), nsmap={"Provision": NS})
    if response.device_information_status is not None:
        info = etree.SubElement(root, f"{{{_SETTINGS_NS}}}DeviceInformation")
        status = etree.SubElement(info, f"{{{_SETTINGS_NS}}}Status")
        status.text = str(int(response.device_information_status))
    _sub(root, "Status", str(int(response.status)))
    if response.policy is not None:
        policy = _sub(_sub(root, "Policies"), "Policy")
        _sub(policy, "PolicyType", response.policy.policy_type)
        _sub(policy, "Status", str(int(response.policy.status)))
        if response.policy.policy_key is not None:
            _sub(policy, "PolicyKey", str(response.policy.policy_key))
        if response.policy.document is not None:
            _render_document(_sub(policy, "Data"), response.policy.document, version)
    if response.remote_wipe is not None:
        _sub(root, response.remote_wipe.value)
    return root


# Client side: requests out, responses in (tests, fixtures, replay).


def render_provision_request(request: ProvisionRequest, version: str) -> etree._Element:
    """:class:`ProvisionRequest` -> the Provision request tree."""
    del version
    root = etree.Element(_tag("Provision"), nsmap={"Provision": NS})
    if request.device_information is not None:
        render_device_information(root, request.device_information)
    if request.policy is not None:
        policy = _sub(_sub(root, "Policies"), "Policy")
        _sub(policy, "PolicyType", request.policy.policy_type)
        if request.policy.policy_key is not None:  # before Status (MS-ASPROV 2.2.2.41)
            _sub(policy, "PolicyKey", request.policy.policy_key)
        if request.policy.status is not None:
            _sub(policy, "Status", str(request.policy.status))
    if request.wipe_acknowledgement is not None:
        wipe = _sub(root, request.wipe_acknowledgement.kind.value)
        _sub(wipe, "Status", str(request.wipe_acknowledgement.status))
    return root


def _parse_setting(spec: Field[Any], element: etree._Element) -> object:
    kind, text = spec.metadata["kind"], (element.text or "").strip()
    try:
        if kind is _Kind.FLAG:
            return text == "1"
        if kind is _Kind.NUMBER:
            return int(text) if text else None
    except ValueError:
        raise EasStatusError(ProvisionStatus.ProtocolError, f"bad {spec.metadata['tag']}") from None
    return tuple(item.text or "" for item in element.iterfind(_tag(spec.metadata["item"])))


def _parse_document(node: etree._Element) -> EasProvisionDoc:
    values: dict[str, object] = {}
    for child in node.iterchildren(f"{{{NS}}}*"):
        spec = _SETTINGS.get(etree.QName(child).localname.lower())
        if spec is not None:
            values[spec.name] = _parse_setting(spec, child)
    try:
        return EasProvisionDoc(**values)  # type: ignore[arg-type]
    except ValueError as exc:
        raise EasStatusError(ProvisionStatus.ProtocolError, str(exc)) from None


def _parse_policy_response(policy: etree._Element) -> PolicyResponse:
    key = (policy.findtext(_tag("PolicyKey")) or "").strip()
    node = policy.find(f"{_tag('Data')}/{_tag('EASProvisionDoc')}")
    try:
        status = PolicyStatus(_status_of(policy, "Policy"))
    except ValueError:
        raise EasStatusError(ProvisionStatus.ProtocolError, "unknown Policy Status") from None
    return PolicyResponse(
        policy_type=(policy.findtext(_tag("PolicyType")) or "").strip(),
        status=status,
        policy_key=int(key) if key.isdigit() else None,
        document=None if node is None else _parse_document(node),
    )


def parse_provision_response(tree: etree._Element | None, version: str) -> ProvisionResponse:
    """The decoded Provision response -> :class:`ProvisionResponse`."""
    del version
    if tree is None or tree.tag != _tag("Provision"):
        raise EasStatusError(ProvisionStatus.ProtocolError, "not a Provision response")
    info = tree.findtext(f"{{{_SETTINGS_NS}}}DeviceInformation/{{{_SETTINGS_NS}}}Status")
    policy = tree.find(f"{_tag('Policies')}/{_tag('Policy')}")
    wipe = next((kind for kind in WipeKind if tree.find(_tag(kind.value)) is not None), None)
    try:
        status = ProvisionStatus(_status_of(tree, "Provision"))
    except ValueError:
        raise EasStatusError(ProvisionStatus.ProtocolError, "unknown Provision Status") from None
    return ProvisionResponse(
        status=status,
        device_information_status=int(info) if info and info.strip().isdigit() else None,
        policy=None if policy is None else _parse_policy_response(policy),
        remote_wipe=wipe,
    )
