"""MeetingResponse (MS-ASCMD 2.2.1.11): accept, tentatively accept or decline a meeting.

Request::

    <MeetingResponse xmlns="MeetingResponse:">
      <Request>
        <UserResponse>1</UserResponse>          1 accepted, 2 tentative, 3 declined
        <CollectionId>3</CollectionId>          the folder holding the item
        <RequestId>3:7</RequestId>              the item's ServerId
        <InstanceId>2026-12-14T10:00:00.000Z</InstanceId>   one occurrence (14.1+)
        <SendResponse><B:Body>...</B:Body></SendResponse>   16.x: e-mail the organizer
      </Request>
      ...
    </MeetingResponse>

Response: one ``Result`` per ``Request``, in order: ``RequestId`` (when the
request had one), ``Status`` (MS-ASCMD 2.2.3.177.9), ``CalendarId`` (the
calendar item's ServerId, unless declined: MS-ASCMD 2.2.3.18) and, in 16.x,
the ``InstanceId`` (MS-ASCMD 2.2.3.155.2).

A ``Request`` that cannot be served as sent becomes a :class:`RejectedRequest`
with the status its ``Result`` carries: Status 2 for a malformed request
(no or an unknown UserResponse, an unknown child, LongId together with
CollectionId/RequestId, neither, or an InstanceId below 14.1: MS-ASCMD
2.2.3.92.1 "A Status value of 2 is returned if the InstanceId element is
included in requests in which the protocol version is 12.1 or 14.0") and the
common Status 104 for an InstanceId that is no date-time (2.2.3.92.1). A body
that is not a MeetingResponse tree of 1..100 Requests gets the common Status
103 (MS-ASCMD 2.2.2; the limit of 100 is MS-ASCMD 3.1.5.10).

InstanceId is read in any of the forms clients send (``2026-12-14T10:00:00.000Z``,
``20261214T100000Z``, and MS-ASCMD 4.17.1's ``20090907T07:00:00.000Z``) and
rendered in the punctuated form of MS-ASCMD 2.2.3.92.1.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from lxml import etree

from protocol.calendar.recurrence import RecurrenceError, parse_compact
from protocol.status import CommonStatus, EasStatusError

__all__ = [
    "MAX_REQUESTS",
    "NAMESPACE",
    "MeetingResponseRequest",
    "MeetingResponseResponse",
    "MeetingResponseStatus",
    "MeetingResult",
    "RejectedRequest",
    "ResponseRequest",
    "SendResponse",
    "UserResponse",
    "format_instance_id",
    "parse_meeting_response_request",
    "parse_meeting_response_response",
    "render_meeting_response_request",
    "render_meeting_response_response",
]

NAMESPACE: Final = "MeetingResponse:"
BASE: Final = "AirSyncBase:"
SEARCH: Final = "Search:"
#: MS-ASCMD 3.1.5.10: at most 100 Request elements, else Status 103.
MAX_REQUESTS: Final = 100
MAX_ID_LENGTH: Final = 64


class MeetingResponseStatus(enum.IntEnum):
    """MeetingResponse statuses (MS-ASCMD 2.2.3.177.9)."""

    Success = 1
    #: Malformed, not a meeting, the user is the organizer, no such instance.
    InvalidRequest = 2
    MailboxError = 3
    ServerError = 4


class UserResponse(enum.IntEnum):
    """MS-ASCMD 2.2.3.194."""

    Accepted = 1
    Tentative = 2
    Declined = 3


@dataclass(frozen=True, slots=True, kw_only=True)
class SendResponse:
    """16.x ``SendResponse`` (MS-ASCMD 2.2.3.163): the reply e-mail's body and,
    16.1, a proposed new time. Present (even empty) means "e-mail the organizer"."""

    body: str | None = None
    body_type: int | None = None
    proposed_start_time: datetime | None = None
    proposed_end_time: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ResponseRequest:
    """One well-formed ``Request``: by CollectionId + RequestId, or by a Search LongId."""

    user_response: UserResponse
    collection_id: str | None = None
    request_id: str | None = None
    long_id: str | None = None
    instance_id: datetime | None = None
    send_response: SendResponse | None = None

    def __post_init__(self) -> None:
        by_ids = self.collection_id is not None and self.request_id is not None
        if by_ids == (self.long_id is not None):
            raise ValueError("either CollectionId and RequestId, or LongId")
        if self.instance_id is not None and self.instance_id.tzinfo is None:
            raise ValueError("InstanceId must be aware")


@dataclass(frozen=True, slots=True, kw_only=True)
class RejectedRequest:
    """A ``Request`` answered with ``status`` without being looked at further."""

    status: int
    request_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class MeetingResponseRequest:
    requests: tuple[ResponseRequest | RejectedRequest, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class MeetingResult:
    status: int
    request_id: str | None = None
    calendar_id: str | None = None
    instance_id: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class MeetingResponseResponse:
    results: tuple[MeetingResult, ...]


# --- tree helpers ------------------------------------------------------------------------


def _q(name: str, namespace: str = NAMESPACE) -> str:
    return f"{{{namespace}}}{name}"


def _malformed(reason: str) -> EasStatusError:
    return EasStatusError(CommonStatus.InvalidXML, reason)


def format_instance_id(value: datetime) -> str:
    """MS-ASCMD 2.2.3.92.1's form: ``2010-04-08T18:16:00.000Z``."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


class _Rejected(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def _date_time(text: str) -> datetime:
    try:
        return parse_compact(text)
    except RecurrenceError:
        raise _Rejected(CommonStatus.InvalidDateTime) from None


def _body(element: etree._Element) -> tuple[str | None, int | None]:
    data = element.findtext(_q("Data", BASE))
    kind = (element.findtext(_q("Type", BASE)) or "").strip()
    return data, int(kind) if kind.isdigit() else None


def _send_response(element: etree._Element) -> SendResponse:
    body: tuple[str | None, int | None] = (None, None)
    times: dict[str, datetime] = {}
    for child in element:
        if child.tag == _q("Body", BASE):
            body = _body(child)
        elif child.tag in (_q("ProposedStartTime"), _q("ProposedEndTime")):
            times[str(child.tag)] = _date_time(child.text or "")
        else:
            raise _Rejected(MeetingResponseStatus.InvalidRequest)
    return SendResponse(
        body=body[0],
        body_type=body[1],
        proposed_start_time=times.get(_q("ProposedStartTime")),
        proposed_end_time=times.get(_q("ProposedEndTime")),
    )


_TEXT_FIELDS: Final = {
    _q("UserResponse"): "user_response",
    _q("CollectionId"): "collection_id",
    _q("RequestId"): "request_id",
    _q("LongId", SEARCH): "long_id",
    _q("InstanceId"): "instance_id",
}


def _fields(element: etree._Element) -> tuple[dict[str, str], SendResponse | None]:
    texts: dict[str, str] = {}
    send: SendResponse | None = None
    for child in element:
        if child.tag == _q("SendResponse") and send is None:
            send = _send_response(child)
            continue
        name = _TEXT_FIELDS.get(str(child.tag))
        if name is None or name in texts or len(child):
            raise _Rejected(MeetingResponseStatus.InvalidRequest)
        texts[name] = (child.text or "").strip()
    return texts, send


def _parse_request(element: etree._Element, sixteen: bool, fourteen_one: bool) -> ResponseRequest:
    texts, send = _fields(element)
    answer = texts.get("user_response", "")
    if answer not in {"1", "2", "3"}:
        raise _Rejected(MeetingResponseStatus.InvalidRequest)
    instance: datetime | None = None
    if "instance_id" in texts:
        if not fourteen_one:
            raise _Rejected(MeetingResponseStatus.InvalidRequest)
        instance = _date_time(texts["instance_id"])
    limits = {"collection_id": MAX_ID_LENGTH, "request_id": MAX_ID_LENGTH, "long_id": 256}
    if any(name in texts and not 0 < len(texts[name]) <= top for name, top in limits.items()):
        raise _Rejected(MeetingResponseStatus.InvalidRequest)  # MS-ASCMD 2.2.3.30.4, 2.2.3.151
    try:
        return ResponseRequest(
            user_response=UserResponse(int(answer)),
            collection_id=texts.get("collection_id"),
            request_id=texts.get("request_id"),
            long_id=texts.get("long_id"),
            instance_id=instance,
            send_response=send if sixteen else None,
        )
    except ValueError:
        raise _Rejected(MeetingResponseStatus.InvalidRequest) from None


def _version(version: str) -> tuple[int, int]:
    major, _, minor = version.partition(".")
    return int(major), int(minor or 0)


def parse_meeting_response_request(
    tree: etree._Element | None, version: str
) -> MeetingResponseRequest:
    """The request; a bad ``Request`` becomes a :class:`RejectedRequest` (module doc)."""
    if tree is None or tree.tag != _q("MeetingResponse"):
        raise _malformed("expected a MeetingResponse element")
    children = list(tree)
    if not children or any(child.tag != _q("Request") for child in children):
        raise _malformed("a MeetingResponse holds Request elements only")
    if len(children) > MAX_REQUESTS:
        raise _malformed(f"more than {MAX_REQUESTS} requests")
    numbers = _version(version)
    requests: list[ResponseRequest | RejectedRequest] = []
    for child in children:
        try:
            requests.append(_parse_request(child, numbers >= (16, 0), numbers >= (14, 1)))
        except _Rejected as rejected:
            request_id = child.findtext(_q("RequestId"))
            if request_id is not None and len(request_id) > MAX_ID_LENGTH:
                request_id = None
            requests.append(RejectedRequest(status=rejected.status, request_id=request_id))
    return MeetingResponseRequest(requests=tuple(requests))


def _leaf(parent: etree._Element, tag: str, text: str) -> None:
    etree.SubElement(parent, tag).text = text


def render_meeting_response_response(
    response: MeetingResponseResponse, version: str
) -> etree._Element:
    """``Result``: RequestId, Status, CalendarId, InstanceId (16.x only)."""
    sixteen = _version(version) >= (16, 0)
    root = etree.Element(_q("MeetingResponse"), nsmap={"MeetingResponse": NAMESPACE})
    for result in response.results:
        element = etree.SubElement(root, _q("Result"))
        if result.request_id is not None:
            _leaf(element, _q("RequestId"), result.request_id)
        _leaf(element, _q("Status"), str(int(result.status)))
        if result.calendar_id is not None:
            _leaf(element, _q("CalendarId"), result.calendar_id)
        if sixteen and result.instance_id is not None:
            _leaf(element, _q("InstanceId"), format_instance_id(result.instance_id))
    return root


# --- the client side (tests, fixtures, replay) ----------------------------------------------


def render_meeting_response_request(
    request: MeetingResponseRequest, version: str
) -> etree._Element:
    """Well-formed requests only (a RejectedRequest has nothing to render)."""
    del version
    nsmap = {"MeetingResponse": NAMESPACE, "AirSyncBase": BASE, "Search": SEARCH}
    root = etree.Element(_q("MeetingResponse"), nsmap=nsmap)
    for entry in request.requests:
        if not isinstance(entry, ResponseRequest):
            continue
        element = etree.SubElement(root, _q("Request"))
        _leaf(element, _q("UserResponse"), str(int(entry.user_response)))
        for tag, value in (
            (_q("CollectionId"), entry.collection_id),
            (_q("RequestId"), entry.request_id),
            (_q("LongId", SEARCH), entry.long_id),
        ):
            if value is not None:
                _leaf(element, tag, value)
        if entry.instance_id is not None:
            _leaf(element, _q("InstanceId"), format_instance_id(entry.instance_id))
        if entry.send_response is not None:
            _render_send_response(element, entry.send_response)
    return root


def _render_send_response(parent: etree._Element, send: SendResponse) -> None:
    element = etree.SubElement(parent, _q("SendResponse"))
    if send.body is not None:
        body = etree.SubElement(element, _q("Body", BASE))
        _leaf(body, _q("Type", BASE), str(send.body_type or 1))
        _leaf(body, _q("Data", BASE), send.body)
    for tag, value in (
        (_q("ProposedStartTime"), send.proposed_start_time),
        (_q("ProposedEndTime"), send.proposed_end_time),
    ):
        if value is not None:
            _leaf(element, tag, format_instance_id(value))


def parse_meeting_response_response(tree: etree._Element, version: str) -> MeetingResponseResponse:
    """A response (client side); ValueError when it is not one."""
    del version
    if tree.tag != _q("MeetingResponse"):
        raise ValueError(f"expected MeetingResponse, got {tree.tag}")
    results: list[MeetingResult] = []
    for element in tree.iterchildren(_q("Result")):
        instance = element.findtext(_q("InstanceId"))
        results.append(
            MeetingResult(
                status=int(element.findtext(_q("Status")) or "0"),
                request_id=element.findtext(_q("RequestId")),
                calendar_id=element.findtext(_q("CalendarId")),
                instance_id=parse_compact(instance) if instance else None,
            )
        )
    return MeetingResponseResponse(results=tuple(results))
