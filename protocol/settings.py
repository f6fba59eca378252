"""Settings request and response models (MS-ASCMD 2.2.1.18).

A Settings request names up to five properties (Oof, DevicePassword,
DeviceInformation, UserInformation, RightsManagementInformation), each with a
Get or a Set. They are processed in order and answered in the same order,
each with its own Status (MS-ASCMD 2.2.1.18, 2.2.3.177.15); the top-level
Status speaks for the command as a whole.

``parse_settings_request(tree, version)`` raises
:class:`~protocol.status.EasStatusError` with Settings Status 2 (protocol
error) when the document is not a Settings request at all; a property with a
wrong or missing operation becomes an :class:`InvalidProperty` that is
answered with its own Status 2 while the others proceed.

The client side (``render_settings_request``, ``parse_settings_response``)
serves tests, fixtures and replay tooling.

``DeviceInformation`` is shared with Provision (14.1+ sends it inside the
initial Provision, MS-ASPROV 2.2.2.53): :func:`parse_device_information` and
:func:`render_device_information`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from lxml import etree

from protocol.status import EasStatusError

__all__ = [
    "DeviceInformation",
    "DeviceInformationSet",
    "DevicePasswordSet",
    "InvalidProperty",
    "OofAudience",
    "OofGet",
    "OofMessage",
    "OofSet",
    "OofSettings",
    "OofState",
    "PropertyResult",
    "RightsManagementInformationGet",
    "SettingsRequest",
    "SettingsResponse",
    "SettingsStatus",
    "UserAccount",
    "UserInformationGet",
    "parse_device_information",
    "parse_settings_request",
    "parse_settings_response",
    "render_device_information",
    "render_settings_request",
    "render_settings_response",
]

NS = "Settings:"
_RM_NS = "RightsManagement:"


def _tag(name: str) -> str:
    return f"{{{NS}}}{name}"


class SettingsStatus(enum.IntEnum):
    """Settings Status values (MS-ASCMD 2.2.3.177.15)."""

    Success = 1
    ProtocolError = 2
    AccessDenied = 3
    ServerUnavailable = 4
    InvalidArguments = 5
    ConflictingArguments = 6
    DeniedByPolicy = 7


class OofState(enum.IntEnum):
    """OofState (MS-ASCMD 2.2.3.124)."""

    Disabled = 0
    Global = 1
    TimeBased = 2


class OofAudience(enum.Enum):
    """The three OOF audiences, by the element that marks them (MS-ASCMD 2.2.3.123)."""

    Internal = "AppliesToInternal"
    ExternalKnown = "AppliesToExternalKnown"
    ExternalUnknown = "AppliesToExternalUnknown"


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceInformation:
    """DeviceInformation/Set (MS-ASCMD 2.2.3.45); None = not sent."""

    model: str | None = None
    imei: str | None = None
    friendly_name: str | None = None
    os: str | None = None
    os_language: str | None = None
    phone_number: str | None = None
    user_agent: str | None = None
    enable_outbound_sms: bool | None = None
    mobile_operator: str | None = None


#: Field -> element, once, as data (MS-ASCMD 2.2.3.167 Set children, in order).
DEVICE_INFORMATION_TAGS: dict[str, str] = {
    "model": "Model",
    "imei": "IMEI",
    "friendly_name": "FriendlyName",
    "os": "OS",
    "os_language": "OSLanguage",
    "phone_number": "PhoneNumber",
    "user_agent": "UserAgent",
    "enable_outbound_sms": "EnableOutboundSMS",
    "mobile_operator": "MobileOperator",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class OofMessage:
    """One audience's OOF message (MS-ASCMD 2.2.3.123)."""

    audience: OofAudience
    enabled: bool
    reply_message: str | None = None
    body_type: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OofSettings:
    """Oof Set (request) or Oof Get (response) contents."""

    oof_state: OofState
    start_time: str | None = None
    end_time: str | None = None
    oof_messages: tuple[OofMessage, ...] = ()


# Request properties, each answered by one PropertyResult in request order.


@dataclass(frozen=True, slots=True, kw_only=True)
class OofGet:
    body_type: str = "Text"


@dataclass(frozen=True, slots=True, kw_only=True)
class OofSet:
    settings: OofSettings | None  # None: the Set could not be read (answered with Status 5)


@dataclass(frozen=True, slots=True, kw_only=True)
class DevicePasswordSet:
    password: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceInformationSet:
    device_information: DeviceInformation


@dataclass(frozen=True, slots=True, kw_only=True)
class UserInformationGet:
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class RightsManagementInformationGet:
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class InvalidProperty:
    """A property whose operation is missing or not offered (answered with Status 2)."""

    name: str


SettingsProperty = (
    OofGet
    | OofSet
    | DevicePasswordSet
    | DeviceInformationSet
    | UserInformationGet
    | RightsManagementInformationGet
    | InvalidProperty
)


@dataclass(frozen=True, slots=True, kw_only=True)
class SettingsRequest:
    properties: tuple[SettingsProperty, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class UserAccount:
    """The user's account for UserInformation Get (MS-ASCMD 2.2.3.2, 2.2.3.57)."""

    smtp_addresses: tuple[str, ...]
    primary_smtp_address: str | None = None
    user_display_name: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PropertyResult:
    """One property's answer: its element name, Status and, for a Get, the data."""

    name: str
    status: SettingsStatus
    oof: OofSettings | None = None
    account: UserAccount | None = None
    rights_management: bool = False  # an (empty) RightsManagementTemplates list


@dataclass(frozen=True, slots=True, kw_only=True)
class SettingsResponse:
    status: SettingsStatus = SettingsStatus.Success
    results: tuple[PropertyResult, ...] = ()


def _text(element: etree._Element) -> str:
    return element.text or ""


def parse_device_information(element: etree._Element) -> DeviceInformation:
    """``<DeviceInformation><Set>...</Set></DeviceInformation>`` -> the values sent.

    Raises ``ValueError`` when there is no Set; unknown children are ignored.
    """
    operation = element.find(_tag("Set"))
    if operation is None:
        raise ValueError("DeviceInformation without Set")

    def value(name: str) -> str | None:
        found = operation.find(_tag(DEVICE_INFORMATION_TAGS[name]))
        return None if found is None else _text(found)

    sms = value("enable_outbound_sms")
    return DeviceInformation(
        model=value("model"),
        imei=value("imei"),
        friendly_name=value("friendly_name"),
        os=value("os"),
        os_language=value("os_language"),
        phone_number=value("phone_number"),
        user_agent=value("user_agent"),
        enable_outbound_sms=None if sms is None else sms.strip() == "1",
        mobile_operator=value("mobile_operator"),
    )


def _parse_oof_settings(operation: etree._Element) -> OofSettings:
    """An Oof Set's contents; ``ValueError`` for values out of range."""
    state = operation.findtext(_tag("OofState"))
    messages = []
    for message in operation.iterfind(_tag("OofMessage")):
        audiences = [a for a in OofAudience if message.find(_tag(a.value)) is not None]
        if len(audiences) != 1:
            raise ValueError("an OofMessage names exactly one audience")
        messages.append(
            OofMessage(
                audience=audiences[0],
                enabled=(message.findtext(_tag("Enabled")) or "0").strip() == "1",
                reply_message=message.findtext(_tag("ReplyMessage")),
                body_type=message.findtext(_tag("BodyType")),
            )
        )
    return OofSettings(
        oof_state=OofState(int(state or "0")),
        start_time=operation.findtext(_tag("StartTime")),
        end_time=operation.findtext(_tag("EndTime")),
        oof_messages=tuple(messages),
    )


def _parse_property(element: etree._Element) -> SettingsProperty | None:
    name = etree.QName(element).localname
    get, put = element.find(_tag("Get")), element.find(_tag("Set"))
    if name == "Oof" and get is not None:
        return OofGet(body_type=(get.findtext(_tag("BodyType")) or "Text").strip() or "Text")
    if name == "Oof" and put is not None:
        try:
            return OofSet(settings=_parse_oof_settings(put))
        except ValueError:
            return OofSet(settings=None)
    if name == "DevicePassword" and put is not None:
        return DevicePasswordSet(password=put.findtext(_tag("Password")) or "")
    if name == "DeviceInformation" and put is not None:
        return DeviceInformationSet(device_information=parse_device_information(element))
    if name == "UserInformation" and get is not None:
        return UserInformationGet()
    if name == "RightsManagementInformation" and get is not None:
        return RightsManagementInformationGet()
    if name in _PROPERTY_NAMES:
        return InvalidProperty(name=name)
    return None  # not a Settings property: ignored


_PROPERTY_NAMES = frozenset(
    {"Oof", "DevicePassword", "DeviceInformation", "UserInformation", "RightsManagementInformation"}
)


def parse_settings_request(tree: etree._Element | None, version: str) -> SettingsRequest:
    """The decoded Settings request -> :class:`SettingsRequest` (properties in order)."""
    del version  # every property parses alike; the answer's shape depends on it
    if tree is None or tree.tag != _tag("Settings"):
        raise EasStatusError(SettingsStatus.ProtocolError, "not a Settings request")
    properties = []
    for child in tree.iterchildren(f"{{{NS}}}*"):
        parsed = _parse_property(child)
        if parsed is not None:
            properties.append(parsed)
    return SettingsRequest(properties=tuple(properties))


def _sub(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, _tag(name))
    if text is not None:
        element.text = text
    return element


def _version_at_least(version: str, wanted: tuple[int, int]) -> bool:
    major, _, minor = version.partition(".")
    return (int(major), int(minor or "0")) >= wanted


def _render_oof(parent: etree._Element, oof: OofSettings) -> None:
    get = _sub(parent, "Get")
    _sub(get, "OofState", str(int(oof.oof_state)))
    if oof.start_time is not None:
        _sub(get, "StartTime", oof.start_time)
    if oof.end_time is not None:
        _sub(get, "EndTime", oof.end_time)
    for message in oof.oof_messages:
        node = _sub(get, "OofMessage")
        _sub(node, message.audience.value)
        _sub(node, "Enabled", "1" if message.enabled else "0")
        if message.reply_message is not None:
            _sub(node, "ReplyMessage", message.reply_message)
        if message.body_type is not None:
            _sub(node, "BodyType", message.body_type)


def _render_account(parent: etree._Element, account: UserAccount, version: str) -> None:
    """12.x/14.0: Get/EmailAddresses/SMTPAddress; 14.1+: Get/Accounts/Account
    with UserDisplayName and PrimarySmtpAddress (MS-ASCMD 2.2.3.57, 2.2.3.2)."""
    get = _sub(parent, "Get")
    if not _version_at_least(version, (14, 1)):
        addresses = _sub(get, "EmailAddresses")
        for address in account.smtp_addresses:
            _sub(addresses, "SMTPAddress", address)
        return
    node = _sub(_sub(get, "Accounts"), "Account")
    if account.user_display_name:
        _sub(node, "UserDisplayName", account.user_display_name)
    addresses = _sub(node, "EmailAddresses")
    for address in account.smtp_addresses:
        _sub(addresses, "SMTPAddress", address)
    if account.primary_smtp_address is not None:
        _sub(addresses, "PrimarySmtpAddress", account.primary_smtp_address)


def render_settings_response(response: SettingsResponse, version: str) -> etree._Element:
    """:class:`SettingsResponse` -> the Settings response tree."""
    root = etree.Element(_tag("Settings"), nsmap={"Settings": NS})
    _sub(root, "Status", str(int(response.status)))
    for result in response.results:
        node = _sub(root, result.name)
        _sub(node, "Status", str(int(result.status)))
        if result.oof is not None:
            _render_oof(node, result.oof)
        if result.account is not None:
            _render_account(node, result.account, version)
        if result.rights_management:
            etree.SubElement(_sub(node, "Get"), f"{{{_RM_NS}}}RightsManagementTemplates")
    return root


# Client side: requests out, responses in (tests, fixtures, replay).


def render_device_information(parent: etree._Element, info: DeviceInformation) -> None:
    """Append ``DeviceInformation/Set`` with the values that are not None."""
    operation = _sub(_sub(parent, "DeviceInformation"), "Set")
    for name, tag in DEVICE_INFORMATION_TAGS.items():
        value = getattr(info, name)
        if isinstance(value, bool):
            _sub(operation, tag, "1" if value else "0")
        elif value is not None:
            _sub(operation, tag, value)


def _render_oof_set(parent: etree._Element, oof: OofSettings | None) -> None:
    operation = _sub(_sub(parent, "Oof"), "Set")
    if oof is None:
        return
    rendered = etree.Element(_tag("Oof"))
    _render_oof(rendered, oof)
    for child in rendered[0]:  # the Get's children, as a Set's
        operation.append(child)


def render_settings_request(request: SettingsRequest, version: str) -> etree._Element:
    """:class:`SettingsRequest` -> the Settings request tree."""
    del version
    root = etree.Element(_tag("Settings"), nsmap={"Settings": NS})
    for prop in request.properties:
        if isinstance(prop, OofGet):
            _sub(_sub(_sub(root, "Oof"), "Get"), "BodyType", prop.body_type)
        elif isinstance(prop, OofSet):
            _render_oof_set(root, prop.settings)
        elif isinstance(prop, DevicePasswordSet):
            _sub(_sub(_sub(root, "DevicePassword"), "Set"), "Password", prop.password)
        elif isinstance(prop, DeviceInformationSet):
            render_device_information(root, prop.device_information)
        elif isinstance(prop, UserInformationGet):
            _sub(_sub(root, "UserInformation"), "Get")
        elif isinstance(prop, RightsManagementInformationGet):
            _sub(_sub(root, "RightsManagementInformation"), "Get")
        else:
            _sub(root, prop.name)
    return root


def _status(element: etree._Element) -> SettingsStatus:
    try:
        return SettingsStatus(int(element.findtext(_tag("Status")) or ""))
    except ValueError:
        raise EasStatusError(SettingsStatus.ProtocolError, "missing or unknown Status") from None


def _parse_account(get: etree._Element) -> UserAccount:
    account = get.find(f"{_tag('Accounts')}/{_tag('Account')}")
    holder = get if account is None else account
    addresses = holder.find(_tag("EmailAddresses"))
    smtp: tuple[str, ...] = ()
    primary = None
    if addresses is not None:
        smtp = tuple(_text(a) for a in addresses.iterfind(_tag("SMTPAddress")))
        primary = addresses.findtext(_tag("PrimarySmtpAddress"))
    return UserAccount(
        smtp_addresses=smtp,
        primary_smtp_address=primary,
        user_display_name=holder.findtext(_tag("UserDisplayName")),
    )


def _parse_result(element: etree._Element) -> PropertyResult:
    name = etree.QName(element).localname
    get = element.find(_tag("Get"))
    oof = account = None
    if get is not None and name == "Oof":
        try:
            oof = _parse_oof_settings(get)
        except ValueError:
            raise EasStatusError(SettingsStatus.ProtocolError, "bad Oof Get") from None
    if get is not None and name == "UserInformation":
        account = _parse_account(get)
    return PropertyResult(
        name=name,
        status=_status(element),
        oof=oof,
        account=account,
        rights_management=get is not None and name == "RightsManagementInformation",
    )


def parse_settings_response(tree: etree._Element | None, version: str) -> SettingsResponse:
    """The decoded Settings response -> :class:`SettingsResponse`."""
    del version
    if tree is None or tree.tag != _tag("Settings"):
        raise EasStatusError(SettingsStatus.ProtocolError, "not a Settings response")
    results = tuple(
        _parse_result(child)
        for child in tree.iterchildren(f"{{{NS}}}*")
        if etree.QName(child).localname in _PROPERTY_NAMES
    )
    return SettingsResponse(status=_status(tree), results=results)
