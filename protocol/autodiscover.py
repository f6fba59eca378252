"""Autodiscover, the mobilesync schema (MS-ASCMD 2.2.1.1; MS-OXDSCLI), sans-IO.

Plain XML, not WBXML. The request::

    <Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/mobilesync/requestschema/2006">
      <Request>
        <EMailAddress>chris@woodgrovebank.com</EMailAddress>
        <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006</AcceptableResponseSchema>
      </Request>
    </Autodiscover>

The answer: an ``Autodiscover`` root in the generic response namespace
holding a ``Response`` in the mobilesync one, with ``Culture``, ``User``
(DisplayName, EMailAddress) and ``Action/Settings/Server`` (Type
``MobileSync``, Url, Name) (MS-ASCMD 2.2.3.153.1, 2.2.3.164, 2.2.3.189).

Errors (MS-ASCMD 2.2.3.63, 2.2.3.64): a ``Response/Error`` with ``ErrorCode``
600 for an invalid request (malformed XML, missing elements) and 601 when no
provider handles the AcceptableResponseSchema (Outlook's
``.../outlook/responseschema/2006a``), with ``Message`` and ``DebugData``.
Those are the framework's errors, so their ``Response`` sits in the generic
namespace, as no provider (schema) was chosen.

Parsing is XXE-safe: no entity expansion, no network, no DTD loading, and a
document with a DOCTYPE is refused outright.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final, cast

from lxml import etree

__all__ = [
    "AUTODISCOVER_RESPONSE_NS",
    "MOBILESYNC_REQUEST_NS",
    "MOBILESYNC_RESPONSE_NS",
    "OUTLOOK_RESPONSE_SCHEMA",
    "AutodiscoverError",
    "AutodiscoverRequest",
    "AutodiscoverRequestError",
    "ErrorCode",
    "MobileSyncResponse",
    "Server",
    "decode_xml",
    "encode_xml",
    "parse_request",
    "parse_response",
    "render_error",
    "render_request",
    "render_response",
]

MOBILESYNC_REQUEST_NS: Final = (
    "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/requestschema/2006"
)
MOBILESYNC_RESPONSE_NS: Final = (
    "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006"
)
AUTODISCOVER_RESPONSE_NS: Final = (
    "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"
)
OUTLOOK_RESPONSE_SCHEMA: Final = (
    "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
)
#: A request is a few hundred bytes; anything much larger is not one.
MAX_REQUEST_BYTES: Final = 64 * 1024


class ErrorCode(enum.IntEnum):
    """``ErrorCode`` values (MS-ASCMD 2.2.3.64)."""

    InvalidRequest = 600
    ProviderNotFound = 601


class AutodiscoverRequestError(ValueError):
    """The request cannot be answered; ``error_code`` says how to answer."""

    def __init__(self, error_code: ErrorCode, reason: str) -> None:
        super().__init__(reason)
        self.error_code = error_code


@dataclass(frozen=True, slots=True, kw_only=True)
class AutodiscoverRequest:
    email_address: str
    acceptable_response_schema: str

    @property
    def wants_mobilesync(self) -> bool:
        return self.acceptable_response_schema.strip().lower() == MOBILESYNC_RESPONSE_NS.lower()


@dataclass(frozen=True, slots=True, kw_only=True)
class Server:
    """``Settings/Server``: the EAS endpoint (Type MobileSync) (MS-ASCMD 2.2.3.186.1)."""

    url: str
    name: str
    type: str = "MobileSync"


@dataclass(frozen=True, slots=True, kw_only=True)
class MobileSyncResponse:
    display_name: str
    email_address: str
    servers: tuple[Server, ...]
    culture: str = "en:us"


@dataclass(frozen=True, slots=True, kw_only=True)
class AutodiscoverError:
    """A framework error (``Response/Error``). ``time`` is the Error's Time
    attribute (``HH:MM:SS.fffffff``), supplied by the caller (sans-IO)."""

    error_code: ErrorCode
    message: str
    debug_data: str = ""
    time: str | None = None


def decode_xml(data: bytes) -> etree._Element:
    """Parse XML safely; AutodiscoverRequestError(600) for anything malformed."""
    if len(data) > MAX_REQUEST_BYTES:
        raise AutodiscoverRequestError(ErrorCode.InvalidRequest, "request too large")
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise AutodiscoverRequestError(ErrorCode.InvalidRequest, f"malformed XML: {exc}") from None
    if root is None:
        raise AutodiscoverRequestError(ErrorCode.InvalidRequest, "empty document")
    if getattr(root.getroottree().docinfo, "doctype", ""):
        raise AutodiscoverRequestError(ErrorCode.InvalidRequest, "a DOCTYPE is not accepted")
    return root


def _default_ns(uri: str) -> dict[str, str]:
    """An nsmap making ``uri`` the default namespace (lxml-stubs reject the None key)."""
    return cast("dict[str, str]", {None: uri})


def encode_xml(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname


def _child_text(parent: etree._Element, name: str) -> str | None:
    """The text of the first child named ``name`` in any namespace: clients
    differ in the namespace they put on the request's children."""
    for child in parent:
        if _local(child) == name:
            return (child.text or "").strip()
    return None


def _child(parent: etree._Element, name: str) -> etree._Element | None:
    return next((child for child in parent if _local(child) == name), None)


def parse_request(root: etree._Element) -> AutodiscoverRequest:
    """The request, matched by local names; 600 when Request, EMailAddress or
    AcceptableResponseSchema is missing or empty."""
    if _local(root) != "Autodiscover":
        raise AutodiscoverRequestError(ErrorCode.InvalidRequest, "no Autodiscover element")
    request = _child(root, "Request")
    if request is None:
        raise AutodiscoverRequestError(ErrorCode.InvalidRequest, "no Request element")
    email = _child_text(request, "EMailAddress")
    schema = _child_text(request, "AcceptableResponseSchema")
    if not email or not schema:
        raise AutodiscoverRequestError(
            ErrorCode.InvalidRequest, "EMailAddress and AcceptableResponseSchema are required"
        )
    return AutodiscoverRequest(email_address=email, acceptable_response_schema=schema)


def render_request(request: AutodiscoverRequest) -> etree._Element:
    root = etree.Element(
        f"{{{MOBILESYNC_REQUEST_NS}}}Autodiscover", nsmap=_default_ns(MOBILESYNC_REQUEST_NS)
    )
    inner = etree.SubElement(root, f"{{{MOBILESYNC_REQUEST_NS}}}Request")
    etree.SubElement(inner, f"{{{MOBILESYNC_REQUEST_NS}}}EMailAddress").text = request.email_address
    etree.SubElement(
        inner, f"{{{MOBILESYNC_REQUEST_NS}}}AcceptableResponseSchema"
    ).text = request.acceptable_response_schema
    return root


def _sub(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, f"{{{MOBILESYNC_RESPONSE_NS}}}{name}")
    if text is not None:
        element.text = text
    return element


def _outer() -> etree._Element:
    return etree.Element(
        f"{{{AUTODISCOVER_RESPONSE_NS}}}Autodiscover", nsmap=_default_ns(AUTODISCOVER_RESPONSE_NS)
    )


def render_response(response: MobileSyncResponse) -> etree._Element:
    """The mobilesync answer (MS-ASCMD 4.2.2 shows the shape)."""
    root = _outer()
    inner = etree.SubElement(
        root, f"{{{MOBILESYNC_RESPONSE_NS}}}Response", nsmap=_default_ns(MOBILESYNC_RESPONSE_NS)
    )
    _sub(inner, "Culture", response.culture)
    user = _sub(inner, "User")
    _sub(user, "DisplayName", response.display_name)
    _sub(user, "EMailAddress", response.email_address)
    settings = _sub(_sub(inner, "Action"), "Settings")
    for server in response.servers:
        element = _sub(settings, "Server")
        _sub(element, "Type", server.type)
        _sub(element, "Url", server.url)
        _sub(element, "Name", server.name)
    return root


def render_error(error: AutodiscoverError) -> etree._Element:
    """``Autodiscover/Response/Error`` with ErrorCode, Message, DebugData."""
    root = _outer()
    inner = etree.SubElement(root, f"{{{AUTODISCOVER_RESPONSE_NS}}}Response")
    element = etree.SubElement(inner, f"{{{AUTODISCOVER_RESPONSE_NS}}}Error")
    if error.time is not None:
        element.set("Time", error.time)
    for name, text in (
        ("ErrorCode", str(int(error.error_code))),
        ("Message", error.message),
        ("DebugData", error.debug_data),
    ):
        etree.SubElement(element, f"{{{AUTODISCOVER_RESPONSE_NS}}}{name}").text = text
    return root


def parse_response(root: etree._Element) -> MobileSyncResponse | AutodiscoverError:
    """A response (client side), by local names; ValueError when it is neither shape."""
    response = _child(root, "Response")
    if _local(root) != "Autodiscover" or response is None:
        raise ValueError("not an Autodiscover response")
    error = _child(response, "Error")
    if error is not None:
        return AutodiscoverError(
            error_code=ErrorCode(int(_child_text(error, "ErrorCode") or "600")),
            message=_child_text(error, "Message") or "",
            debug_data=_child_text(error, "DebugData") or "",
            time=error.get("Time"),
        )
    user = _child(response, "User")
    action = _child(response, "Action")
    settings = None if action is None else _child(action, "Settings")
    if user is None or settings is None:
        raise ValueError("no User or Action/Settings in the response")
    servers = tuple(
        Server(
            type=_child_text(server, "Type") or "",
            url=_child_text(server, "Url") or "",
            name=_child_text(server, "Name") or "",
        )
        for server in settings
        if _local(server) == "Server"
    )
    return MobileSyncResponse(
        culture=_child_text(response, "Culture") or "",
        display_name=_child_text(user, "DisplayName") or "",
        email_address=_child_text(user, "EMailAddress") or "",
        servers=servers,
    )
