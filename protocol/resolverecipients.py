"""The ResolveRecipients command's request and response (MS-ASCMD 2.2.1.15).

Server side: :func:`parse_resolve_recipients_request` (tree -> typed request) and
:func:`render_resolve_recipients_response` (typed response -> tree). Code page 10.

Request: one to 100 ``To`` (each up to 256 characters, 2.2.3.183), and ``Options``:
``CertificateRetrieval`` (1 none, 2 full, 3 mini; 2.2.3.22), ``MaxCertificates``,
``MaxAmbiguousRecipients`` (0..9999, 2.2.3.100), ``Availability`` with
``StartTime``/``EndTime`` (14.0+), ``Picture`` (14.1+).

Response (6.32, 2.2.3.177.12): top Status (1 success, 5 protocol error, 6 server
error); per To a Response with the To, its Status (1 one match, 2 ambiguous: the
recipients are suggestions, 3 ambiguous and the list was cut, 4 not resolved),
``RecipientCount`` and one ``Recipient`` a match: ``Type`` (1 GAL, 2 contact),
``DisplayName``, ``EmailAddress``, then ``Availability`` (Status) and ``Certificates``
(Status, CertificateCount) when they were asked for, and ``Picture`` (Status).
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Final

from lxml import etree

from protocol.status import EasStatusError

__all__ = [
    "AvailabilityStatus",
    "CertificateStatus",
    "Recipient",
    "RecipientResult",
    "RecipientType",
    "ResolveRecipientsRequest",
    "ResolveRecipientsResponse",
    "ResolveRecipientsStatus",
    "ResponseStatus",
    "parse_resolve_recipients_request",
    "render_resolve_recipients_response",
]

NS: Final = "ResolveRecipients:"
MAX_TO: Final = 100
MAX_TEXT: Final = 256
#: MaxAmbiguousRecipients when absent or out of range (the spec allows up to 9999).
DEFAULT_AMBIGUOUS: Final = 20
MAX_AMBIGUOUS: Final = 9999


class ResolveRecipientsStatus(enum.IntEnum):
    """ResolveRecipients/Status (MS-ASCMD 2.2.3.177.12)."""

    Success = 1
    ProtocolError = 5
    ServerError = 6


class ResponseStatus(enum.IntEnum):
    """Response/Status: how one To resolved (MS-ASCMD 2.2.3.177.12)."""

    Success = 1
    Ambiguous = 2
    AmbiguousPartial = 3
    NotResolved = 4


class AvailabilityStatus(enum.IntEnum):
    """Availability/Status (MS-ASCMD 2.2.3.177.12)."""

    Success = 1
    TooManyRecipients = 160
    GroupTooLarge = 161
    TemporaryFailure = 162
    NoFreeBusy = 163


class CertificateStatus(enum.IntEnum):
    """Certificates/Status (MS-ASCMD 2.2.3.177.12)."""

    Success = 1
    NoValidCertificate = 7
    CertificateLimit = 8


class RecipientType(enum.IntEnum):
    """Recipient/Type (MS-ASCMD 2.2.3.186.5)."""

    GAL = 1
    Contact = 2


class PictureStatus(enum.IntEnum):
    """Picture/Status (MS-ASCMD 2.2.3.177.12)."""

    Success = 1
    NoPhoto = 173


@dataclass(frozen=True, slots=True, kw_only=True)
class ResolveRecipientsRequest:
    to: tuple[str, ...]
    certificate_retrieval: int = 1
    max_ambiguous_recipients: int = DEFAULT_AMBIGUOUS
    availability: bool = False
    picture: bool = False

    def __post_init__(self) -> None:
        if not 1 <= len(self.to) <= MAX_TO:
            raise ValueError(f"expected 1..{MAX_TO} To elements")


@dataclass(frozen=True, slots=True, kw_only=True)
class Recipient:
    display_name: str
    email_address: str
    type: RecipientType = RecipientType.GAL


@dataclass(frozen=True, slots=True, kw_only=True)
class RecipientResult:
    """One Response: the To as sent, its status, the matches returned and their count."""

    to: str
    status: ResponseStatus
    recipients: tuple[Recipient, ...] = ()
    availability: AvailabilityStatus | None = None
    certificates: CertificateStatus | None = None
    picture: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ResolveRecipientsResponse:
    status: ResolveRecipientsStatus = ResolveRecipientsStatus.Success
    responses: tuple[RecipientResult, ...] = ()


# --- parsing ------------------------------------------------------------------------


def _malformed(message: str) -> EasStatusError:
    return EasStatusError(ResolveRecipientsStatus.ProtocolError, message)


def _children(element: etree._Element) -> Iterator[tuple[str, etree._Element]]:
    """(local name, child) of the children in this command's namespace."""
    for child in element:
        tag = str(child.tag)  # a comment's tag is a function: never "{...}"
        if tag.startswith(f"{{{NS}}}"):
            yield tag[len(NS) + 2 :], child


def _int(element: etree._Element, what: str, low: int, high: int) -> int:
    text = (element.text or "").strip()
    if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
        raise _malformed(f"{what}: expected {low}..{high}, got {text[:20]!r}")
    return int(text)


def _options(element: etree._Element, values: dict[str, object]) -> None:
    for name, child in _children(element):
        if name == "CertificateRetrieval":
            values["certificate_retrieval"] = _int(child, name, 1, 3)
        elif name == "MaxAmbiguousRecipients":
            values["max_ambiguous_recipients"] = _int(child, name, 0, MAX_AMBIGUOUS)
        elif name == "Availability":
            values["availability"] = True
        elif name == "Picture":
            values["picture"] = True
        # MaxCertificates: no certificates are ever returned; read past.


def parse_resolve_recipients_request(
    tree: etree._Element | None, version: str
) -> ResolveRecipientsRequest:
    """The request; Status 5 (protocol error) when it is not a readable ResolveRecipients."""
    del version
    if tree is None or tree.tag != f"{{{NS}}}ResolveRecipients":
        raise _malformed("expected a ResolveRecipients element")
    values: dict[str, object] = {}
    to: list[str] = []
    for name, child in _children(tree):
        if name == "To":
            text = (child.text or "").strip()
            if not text or len(text) > MAX_TEXT:
                raise _malformed(f"To: expected 1..{MAX_TEXT} characters")
            to.append(text)
        elif name == "Options":
            _options(child, values)
    if not 1 <= len(to) <= MAX_TO:
        raise _malformed(f"expected 1..{MAX_TO} To elements")
    return ResolveRecipientsRequest(to=tuple(to), **values)  # type: ignore[arg-type]


# --- rendering ------------------------------------------------------------------------


def _leaf(parent: etree._Element, name: str, text: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{NS}}}{name}")
    element.text = text
    return element


def _recipient(parent: etree._Element, result: RecipientResult, found: Recipient) -> None:
    element = etree.SubElement(parent, f"{{{NS}}}Recipient")
    _leaf(element, "Type", str(int(found.type)))
    _leaf(element, "DisplayName", found.display_name)
    _leaf(element, "EmailAddress", found.email_address)
    if result.availability is not None:
        availability = etree.SubElement(element, f"{{{NS}}}Availability")
        _leaf(availability, "Status", str(int(result.availability)))
    if result.certificates is not None:
        certificates = etree.SubElement(element, f"{{{NS}}}Certificates")
        _leaf(certificates, "Status", str(int(result.certificates)))
        _leaf(certificates, "CertificateCount", "0")
    if result.picture:
        picture = etree.SubElement(element, f"{{{NS}}}Picture")
        _leaf(picture, "Status", str(int(PictureStatus.NoPhoto)))


def render_resolve_recipients_response(
    response: ResolveRecipientsResponse, version: str
) -> etree._Element:
    """``ResolveRecipients``: Status, then one Response per To (schema 6.32 order)."""
    picture_allowed = tuple(int(p) for p in version.split(".")[:2]) >= (14, 1)
    root = etree.Element(f"{{{NS}}}ResolveRecipients", nsmap={"ResolveRecipients": NS})
    _leaf(root, "Status", str(int(response.status)))
    for result in response.responses:
        element = etree.SubElement(root, f"{{{NS}}}Response")
        _leaf(element, "To", result.to)
        _leaf(element, "Status", str(int(result.status)))
        _leaf(element, "RecipientCount", str(len(result.recipients)))
        shown = result if picture_allowed else replace(result, picture=False)
        for found in result.recipients:
            _recipient(element, shown, found)
    return root
