"""MS-ASHTTP request line: the plain and the base64-encoded query.

``parse_request_line(query, headers)`` turns the query string and the
relevant headers into an :class:`EasRequestLine`; anything malformed raises
:class:`RequestLineError` (the HTTP layer answers 400).
"""

from __future__ import annotations

import base64
import binascii
import enum
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote

__all__ = [
    "COMMAND_CODES",
    "Command",
    "EasRequestLine",
    "RequestLineError",
    "encode_base64_query",
    "parse_request_line",
]


class RequestLineError(ValueError):
    """The request line or its headers are malformed."""


class Command(enum.Enum):
    """EAS commands by name, with their base64-query codes (MS-ASHTTP 2.2.1.1.1.1.2)."""

    Sync = 0
    SendMail = 1
    SmartForward = 2
    SmartReply = 3
    GetAttachment = 4
    FolderSync = 9
    FolderCreate = 10
    FolderDelete = 11
    FolderUpdate = 12
    MoveItems = 13
    GetItemEstimate = 14
    MeetingResponse = 15
    Search = 16
    Settings = 17
    Ping = 18
    ItemOperations = 19
    Provision = 20
    ResolveRecipients = 21
    ValidateCert = 22
    Find = 23


COMMAND_CODES: Mapping[int, Command] = {command.value: command for command in Command}
_BY_NAME: Mapping[str, Command] = {command.name.lower(): command for command in Command}

# Base64 query parameter tags (MS-ASHTTP 2.2.1.1.1.1.3).
_PARAMETER_TAGS: Mapping[int, str] = {
    0: "AttachmentName",
    1: "CollectionId",
    2: "CollectionName",  # not used since 12.1, accepted
    3: "ItemId",
    4: "LongId",
    5: "ParentId",
    6: "Occurrence",
    7: "Options",
    8: "User",
}
_TAGS_BY_NAME: Mapping[str, int] = {name: tag for tag, name in _PARAMETER_TAGS.items()}
_OPTION_SAVE_IN_SENT = 0x01
_OPTION_ACCEPT_MULTIPART = 0x02

#: Protocol version byte of the base64 form (MS-ASHTTP 2.2.1.1.1.1.1): 121 = 12.1.
_VERSIONS_BY_BYTE: Mapping[int, str] = {
    120: "12.0",
    121: "12.1",
    140: "14.0",
    141: "14.1",
    160: "16.0",
    161: "16.1",
}

_MAX_FIELD = 256


@dataclass(frozen=True, slots=True, kw_only=True)
class EasRequestLine:
    """What the request line and headers say about an EAS request."""

    command: Command
    user: str
    device_id: str
    device_type: str
    #: From MS-ASProtocolVersion, or the base64 query's version byte.
    protocol_version: str | None
    #: From X-MS-PolicyKey or the base64 query; None when absent.
    policy_key: int | None
    parameters: Mapping[str, str]
    save_in_sent: bool = False
    accept_multipart: bool = False
    locale: int | None = None
    base64_form: bool = False


def _looks_base64(query: str, pairs: list[tuple[str, str]]) -> bool:
    """Field heuristic (EAS-NOTES): no Cmd/DeviceId/DeviceType and >= 10 characters."""
    names = {name.lower() for name, _ in pairs}
    return not names & {"cmd", "deviceid", "devicetype"} and len(query) >= 10


def parse_request_line(query: str, headers: Mapping[str, str]) -> EasRequestLine:
    """Parse a request's query string (without the ``?``) and headers.

    ``headers`` must look up case-insensitively (aiohttp's CIMultiDict does).
    """
    pairs = parse_qsl(query, keep_blank_values=True)
    if _looks_base64(query, pairs):
        return _parse_base64(query, headers)
    return _parse_plain(pairs, headers)


def _header_policy_key(headers: Mapping[str, str]) -> int | None:
    raw = headers.get("X-MS-PolicyKey")
    if raw is None or raw.strip() == "":
        return None
    try:
        value = int(raw.strip())
    except ValueError:
        raise RequestLineError(f"X-MS-PolicyKey is not a number: {raw[:20]!r}") from None
    if not 0 <= value <= 0xFFFFFFFF:
        raise RequestLineError("X-MS-PolicyKey is out of range")
    return value


def _check_field(name: str, value: str) -> str:
    if len(value) > _MAX_FIELD:
        raise RequestLineError(f"{name} is longer than {_MAX_FIELD} characters")
    if any(ord(c) < 0x20 for c in value):
        raise RequestLineError(f"{name} holds control characters")
    return value


def _parse_plain(pairs: list[tuple[str, str]], headers: Mapping[str, str]) -> EasRequestLine:
    values: dict[str, str] = {}
    for name, value in pairs:
        values.setdefault(name.lower(), value)
    command_name = values.get("cmd", "")
    command = _BY_NAME.get(command_name.lower())
    if command is None:
        raise RequestLineError(f"unknown or missing Cmd {command_name[:40]!r}")
    user = values.get("user", "")
    device_id = values.get("deviceid", "")
    device_type = values.get("devicetype", "")
    if not device_id or not device_type:
        raise RequestLineError("DeviceId and DeviceType are required")
    parameters = {
        tag_name: _check_field(tag_name, values[tag_name.lower()])
        for tag_name in _PARAMETER_TAGS.values()
        if tag_name.lower() in values and tag_name not in {"User", "Options"}
    }
    save_in_sent = values.get("saveinsent", "").upper() == "T"
    version = headers.get("MS-ASProtocolVersion")
    return EasRequestLine(
        command=command,
        user=_check_field("User", user),
        device_id=_check_field("DeviceId", device_id),
        device_type=_check_field("DeviceType", device_type),
        protocol_version=version.strip() if version else None,
        policy_key=_header_policy_key(headers),
        parameters=parameters,
        save_in_sent=save_in_sent,
        accept_multipart=headers.get("MS-ASAcceptMultiPart", "").upper() == "T",
    )


class _Cursor:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, count: int, what: str) -> bytes:
        if self.pos + count > len(self.data):
            raise RequestLineError(f"base64 query truncated in {what}")
        chunk = self.data[self.pos : self.pos + count]
        self.pos += count
        return chunk

    def byte(self, what: str) -> int:
        return self.take(1, what)[0]

    def counted(self, what: str) -> bytes:
        return self.take(self.byte(what), what)


def _text(raw: bytes, what: str) -> str:
    try:
        return _check_field(what, raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise RequestLineError(f"{what} is not UTF-8") from None


def _parse_base64(query: str, headers: Mapping[str, str]) -> EasRequestLine:
    """MS-ASHTTP 2.2.1.1.1.1: the base64-encoded query value (12.1+)."""
    raw_text = unquote(query)
    try:
        data = base64.b64decode(raw_text + "=" * (-len(raw_text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise RequestLineError("query is neither a plain EAS query nor valid base64") from None
    cursor = _Cursor(data)
    version_byte = cursor.byte("protocol version")
    version = _VERSIONS_BY_BYTE.get(version_byte)
    if version is None:
        raise RequestLineError(f"base64 query: unknown protocol version byte {version_byte}")
    command_code = cursor.byte("command code")
    command = COMMAND_CODES.get(command_code)
    if command is None:
        raise RequestLineError(f"base64 query: unknown command code {command_code}")
    (locale,) = struct.unpack("<H", cursor.take(2, "locale"))
    device_id_raw = cursor.counted("device id")
    policy_key_raw = cursor.counted("policy key")
    if len(policy_key_raw) not in (0, 4):
        raise RequestLineError("base64 query: policy key length must be 0 or 4")
    policy_key = struct.unpack("<I", policy_key_raw)[0] if policy_key_raw else None
    device_type = _text(cursor.counted("device type"), "DeviceType")
    parameters: dict[str, str] = {}
    user = ""
    options = 0
    while cursor.pos < len(data):
        tag = cursor.byte("parameter tag")
        value = cursor.counted("parameter value")
        name = _PARAMETER_TAGS.get(tag)
        if name is None:
            raise RequestLineError(f"base64 query: unknown parameter tag {tag}")
        if name == "Options":
            options = value[0] if value else 0
        elif name == "User":
            user = _text(value, "User")
        else:
            parameters[name] = _text(value, name)
    # The device id is raw bytes in this form; clients send ASCII.  Anything
    # else is shown as hex so it stays a stable, printable identifier.
    try:
        device_id = _check_field("DeviceId", device_id_raw.decode("ascii"))
    except (UnicodeDecodeError, RequestLineError):
        device_id = device_id_raw.hex()
    if not device_id or not device_type:
        raise RequestLineError("DeviceId and DeviceType are required")
    return EasRequestLine(
        command=command,
        user=user,
        device_id=device_id,
        device_type=device_type,
        protocol_version=version,
        policy_key=policy_key,
        parameters=parameters,
        save_in_sent=bool(options & _OPTION_SAVE_IN_SENT),
        accept_multipart=bool(options & _OPTION_ACCEPT_MULTIPART)
        or headers.get("MS-ASAcceptMultiPart", "").upper() == "T",
        locale=locale,
        base64_form=True,
    )


def encode_base64_query(
    *,
    command: Command,
    version: str,
    device_id: str,
    device_type: str,
    user: str = "",
    policy_key: int | None = None,
    locale: int = 0x0409,
    parameters: Mapping[str, str] | None = None,
    options: int = 0,
) -> str:
    """Build a base64 query (clients and tests; the inverse of the parser)."""
    version_byte = {v: k for k, v in _VERSIONS_BY_BYTE.items()}[version]

    def counted(raw: bytes) -> bytes:
        return bytes([len(raw)]) + raw

    out = bytearray([version_byte, command.value])
    out += struct.pack("<H", locale)
    out += counted(device_id.encode("ascii"))
    out += counted(b"" if policy_key is None else struct.pack("<I", policy_key))
    out += counted(device_type.encode("utf-8"))
    for name, value in (parameters or {}).items():
        out += bytes([_TAGS_BY_NAME[name]]) + counted(value.encode("utf-8"))
    if options:
        out += bytes([_TAGS_BY_NAME["Options"], 1, options])
    if user:
        out += bytes([_TAGS_BY_NAME["User"]]) + counted(user.encode("utf-8"))
    return base64.b64encode(bytes(out)).decode("ascii")
