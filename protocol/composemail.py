"""SendMail, SmartReply, SmartForward (MS-ASCMD 2.2.1.17, 2.2.1.20, 2.2.1.19): requests and answers.

Two request forms, by protocol version:

- 12.x: the HTTP body *is* the MIME message (``Content-Type: message/rfc822``);
  the query carries ``SaveInSent=T`` and, for SmartReply/SmartForward, the
  source's ``ItemId``, ``CollectionId`` or ``LongId``. :func:`parse_compose_mail`
  takes the raw bytes; :func:`with_query` adds what the query says.
- 14.0+: a ComposeMail WBXML document (code page 21)::

    <SendMail xmlns="ComposeMail:">              or SmartReply / SmartForward
      <ClientId>42</ClientId>                     required, 1..40 chars (2.2.3.28.1)
      <AccountId>..</AccountId>                   14.1+, optional
      <SaveInSentItems/>                          optional, empty
      <ReplaceMime/>                              Smart* only, optional, empty
      <Source>                                    Smart* only, required (2.2.3.173)
        <FolderId/><ItemId/> | <LongId/>          never LongId with the other two
        <InstanceId>2026-12-01T10:00:00.000Z</InstanceId>   optional (2.2.3.92.2)
      </Source>
      <Mime>...</Mime>                            required; OPAQUE or a string
      <Forwardees><Forwardee><Name/><Email/></Forwardee></Forwardees>  SmartForward, 16.0+
    </SendMail>

  Elements of other code pages (RightsManagement ``TemplateID``, AirSyncBase
  ``Body``) are accepted and ignored.

The answer: success is an HTTP 200 with an empty body at every version (MS-ASCMD
2.2.3.177.14: "If the command succeeds, no XML body is returned");
:func:`render_compose_mail_response` returns ``None`` for it. A failure is the
command's root with a ``Status`` (a common status, MS-ASCMD 2.2.2) from 14.0 on;
12.x has no Status element, so the HTTP layer answers an HTTP error instead.

A body that is not such a document raises :class:`EasStatusError` with the
common status 103 (InvalidXML), an InstanceId that is no date-time 104, LongId
together with FolderId/ItemId 105, a missing or empty MIME message 107.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Final

from lxml import etree

from protocol.ashttp import Command
from protocol.calendar.recurrence import RecurrenceError, parse_compact
from protocol.status import CommonStatus, EasStatusError
from protocol.wbxml import MARKER_NS

__all__ = [
    "COMMANDS",
    "MAX_CLIENT_ID",
    "NAMESPACE",
    "ComposeMailRequest",
    "ComposeMailResponse",
    "Forwardee",
    "Source",
    "parse_compose_mail",
    "render_compose_mail_request",
    "render_compose_mail_response",
    "with_query",
]

NAMESPACE: Final = "ComposeMail:"
#: MS-ASCMD 6.5: ClientId is 1..40 characters; FolderId and ItemId 1..64.
MAX_CLIENT_ID: Final = 40
MAX_ID: Final = 64
MAX_LONG_ID: Final = 256
COMMANDS: Final = (Command.SendMail, Command.SmartReply, Command.SmartForward)
_OPAQUE: Final = f"{{{MARKER_NS}}}opaque"


@dataclass(frozen=True, slots=True, kw_only=True)
class Source:
    """The message replied to or forwarded (MS-ASCMD 2.2.3.173)."""

    folder_id: str | None = None
    item_id: str | None = None
    long_id: str | None = None
    instance_id: datetime | None = None

    def __post_init__(self) -> None:
        if self.long_id is not None and (self.folder_id or self.item_id):
            raise ValueError("LongId excludes FolderId and ItemId")
        if self.instance_id is not None and self.instance_id.tzinfo is None:
            raise ValueError("InstanceId must be aware")


@dataclass(frozen=True, slots=True, kw_only=True)
class Forwardee:
    """A recipient of a forwarded meeting invitation (MS-ASCMD 2.2.3.78, 16.0+)."""

    email: str
    name: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ComposeMailRequest:
    """One SendMail, SmartReply or SmartForward, in either form."""

    command: Command
    #: The MIME message as the phone wrote it.
    mime: bytes
    #: None in the 12.x form (no ClientId there).
    client_id: str | None = None
    save_in_sent: bool = False
    replace_mime: bool = False
    source: Source | None = None
    account_id: str | None = None
    forwardees: tuple[Forwardee, ...] = ()
    #: The 12.x form: SaveInSent and the source come from the query (:func:`with_query`).
    from_query: bool = False

    def __post_init__(self) -> None:
        if self.command not in COMMANDS:
            raise ValueError(f"not a ComposeMail command: {self.command}")
        if not self.mime:
            raise ValueError("empty MIME message")
        if self.client_id is not None and not 0 < len(self.client_id) <= MAX_CLIENT_ID:
            raise ValueError("ClientId must be 1..40 characters")


@dataclass(frozen=True, slots=True, kw_only=True)
class ComposeMailResponse:
    """The answer: ``status`` None is success (an empty body)."""

    command: Command
    status: int | None = None


def _q(name: str, namespace: str = NAMESPACE) -> str:
    return f"{{{namespace}}}{name}"


def _malformed(reason: str) -> EasStatusError:
    return EasStatusError(CommonStatus.InvalidXML, reason)


def _version(version: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in version.split("."))
    except ValueError:
        raise _malformed(f"protocol version {version!r}") from None


def parse_compose_mail(
    command: Command, body: etree._Element | bytes | None, version: str
) -> ComposeMailRequest:
    """The request of ``command`` from the raw MIME body (12.x) or the tree (14.0+)."""
    if body is None or isinstance(body, bytes):
        if not body:
            raise EasStatusError(CommonStatus.InvalidMIME, "no MIME message in the body")
        return ComposeMailRequest(command=command, mime=body, from_query=True)
    if body.tag != _q(command.name):
        raise _malformed(f"expected a {command.name} document")
    return _parse_tree(command, body, _version(version))


def with_query(
    request: ComposeMailRequest, parameters: Mapping[str, str], save_in_sent: bool
) -> ComposeMailRequest:
    """The 12.x form completed from the query: ``SaveInSent`` and, for SmartReply
    and SmartForward, the source's ``CollectionId``/``ItemId`` or ``LongId``."""
    if not request.from_query:
        return request
    source = None
    if request.command is not Command.SendMail:
        long_id = parameters.get("LongId") or None
        folder_id = parameters.get("CollectionId") or None
        item_id = parameters.get("ItemId") or None
        if long_id is not None and (folder_id or item_id):
            raise EasStatusError(CommonStatus.InvalidCombinationOfIDs, "LongId with ItemId")
        source = Source(folder_id=folder_id, item_id=item_id, long_id=long_id)
    return replace(request, save_in_sent=save_in_sent, source=source)


def _mime(element: etree._Element) -> bytes:
    text = element.text or ""
    if element.get(_OPAQUE) != "1":
        return text.encode("utf-8")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise _malformed("Mime is not valid base64") from None


def _text(element: etree._Element, name: str, limit: int) -> str:
    if len(element):
        raise _malformed(f"{name} has children")
    text = (element.text or "").strip()
    if not 0 < len(text) <= limit:
        raise _malformed(f"{name} must be 1..{limit} characters")
    return text


def _source(element: etree._Element, version: tuple[int, ...]) -> Source:
    texts: dict[str, str] = {}
    limits = {"FolderId": MAX_ID, "ItemId": MAX_ID, "LongId": MAX_LONG_ID, "InstanceId": 64}
    for child in element:
        name = etree.QName(child).localname
        if etree.QName(child).namespace != NAMESPACE or name not in limits:
            raise _malformed(f"unexpected {name} in Source")
        if name in texts:
            raise _malformed(f"{name} twice in Source")
        texts[name] = _text(child, name, limits[name])
    if "LongId" in texts and ("FolderId" in texts or "ItemId" in texts):
        # MS-ASCMD 2.2.3.173: "If the LongId element is present, the FolderId
        # and ItemId elements MUST NOT be present."
        raise EasStatusError(CommonStatus.InvalidCombinationOfIDs, "LongId with FolderId/ItemId")
    instance = None
    if "InstanceId" in texts:
        try:
            instance = parse_compact(texts["InstanceId"])
        except RecurrenceError:
            raise EasStatusError(CommonStatus.InvalidDateTime, "InstanceId") from None
    return Source(
        folder_id=texts.get("FolderId"),
        item_id=texts.get("ItemId"),
        long_id=texts.get("LongId"),
        instance_id=instance,
    )


def _forwardees(element: etree._Element) -> tuple[Forwardee, ...]:
    found: list[Forwardee] = []
    for child in element:
        if child.tag != _q("Forwardee"):
            raise _malformed("unexpected element in Forwardees")
        email = child.findtext(_q("ForwardeeEmail")) or ""
        name = child.findtext(_q("ForwardeeName")) or ""
        if not email.strip() or len(email) > 320:
            raise _malformed("Forwardee without an Email")
        found.append(Forwardee(email=email.strip(), name=name.strip()))
    if not found:
        raise _malformed("Forwardees without a Forwardee")
    return tuple(found)


#: ComposeMail children each command accepts (MS-ASCMD 6.39..6.44 request schemas).
_ALLOWED: Final = {
    Command.SendMail: {"ClientId", "AccountId", "SaveInSentItems", "Mime"},
    Command.SmartReply: {"ClientId", "Source", "AccountId", "SaveInSentItems", "ReplaceMime"}
    | {"Mime"},
    Command.SmartForward: {"ClientId", "Source", "AccountId", "SaveInSentItems", "ReplaceMime"}
    | {"Mime", "Forwardees"},
}


def _children(command: Command, root: etree._Element) -> dict[str, etree._Element]:
    found: dict[str, etree._Element] = {}
    for child in root:
        if isinstance(child, etree._Comment | etree._ProcessingInstruction):
            continue  # a comment or processing instruction in an XML twin
        qname = etree.QName(child)
        if qname.namespace != NAMESPACE:
            continue  # rm:TemplateID, airsyncbase:Body: accepted, not used
        if qname.localname not in _ALLOWED[command] or qname.localname in found:
            raise _malformed(f"unexpected or repeated {qname.localname}")
        found[qname.localname] = child
    return found


def _parse_tree(
    command: Command, root: etree._Element, version: tuple[int, ...]
) -> ComposeMailRequest:
    found = _children(command, root)
    if "ClientId" not in found or "Mime" not in found:
        raise _malformed("ClientId and Mime are required")
    if command is not Command.SendMail and "Source" not in found:
        raise _malformed("Source is required")
    if "Forwardees" in found and version < (16, 0):
        raise _malformed("Forwardees needs 16.0")
    if "AccountId" in found and version < (14, 1):
        raise _malformed("AccountId needs 14.1")  # Exchange answers 103 (MS-ASCMD 2.2.3.3.1)
    mime = _mime(found["Mime"])
    if not mime.strip():
        raise EasStatusError(CommonStatus.InvalidMIME, "empty MIME message")
    return ComposeMailRequest(
        command=command,
        mime=mime,
        client_id=_text(found["ClientId"], "ClientId", MAX_CLIENT_ID),
        save_in_sent="SaveInSentItems" in found,
        replace_mime="ReplaceMime" in found,
        source=_source(found["Source"], version) if "Source" in found else None,
        account_id=(_text(found["AccountId"], "AccountId", 256) if "AccountId" in found else None),
        forwardees=_forwardees(found["Forwardees"]) if "Forwardees" in found else (),
    )


def render_compose_mail_response(
    response: ComposeMailResponse, version: str
) -> etree._Element | None:
    """None (an empty HTTP 200) on success; else ``<Command><Status/></Command>``."""
    del version  # the same at every version that has a Status (14.0+)
    if response.status is None:
        return None
    root = etree.Element(_q(response.command.name))
    etree.SubElement(root, _q("Status")).text = str(int(response.status))
    return root


def render_compose_mail_request(request: ComposeMailRequest) -> etree._Element:
    """The 14.0+ tree of a request (clients and tests; the inverse of the parser)."""
    if request.client_id is None:
        raise ValueError("the WBXML form needs a ClientId")
    root = etree.Element(_q(request.command.name))
    etree.SubElement(root, _q("ClientId")).text = request.client_id
    if request.account_id is not None:
        etree.SubElement(root, _q("AccountId")).text = request.account_id
    if request.save_in_sent:
        etree.SubElement(root, _q("SaveInSentItems"))
    if request.replace_mime:
        etree.SubElement(root, _q("ReplaceMime"))
    if request.source is not None:
        _render_source(etree.SubElement(root, _q("Source")), request.source)
    mime = etree.SubElement(root, _q("Mime"))
    mime.text = base64.b64encode(request.mime).decode("ascii")
    mime.set(_OPAQUE, "1")
    if request.forwardees:
        holder = etree.SubElement(root, _q("Forwardees"))
        for forwardee in request.forwardees:
            entry = etree.SubElement(holder, _q("Forwardee"))
            if forwardee.name:
                etree.SubElement(entry, _q("ForwardeeName")).text = forwardee.name
            etree.SubElement(entry, _q("ForwardeeEmail")).text = forwardee.email
    return root


def _render_source(element: etree._Element, source: Source) -> None:
    for name, value in (
        ("FolderId", source.folder_id),
        ("ItemId", source.item_id),
        ("LongId", source.long_id),
    ):
        if value is not None:
            etree.SubElement(element, _q(name)).text = value
    if source.instance_id is not None:
        instance = source.instance_id.astimezone(UTC)
        etree.SubElement(element, _q("InstanceId")).text = instance.strftime(
            "%Y-%m-%dT%H:%M:%S.000Z"
        )
