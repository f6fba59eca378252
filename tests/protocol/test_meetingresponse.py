"""protocol.meetingresponse: the command's models (parsing, statuses, rendering).

What an answer does to the stored event (protocol.calendar.replies) is tested in
test_meetingresponse_replies.py.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from protocol import wbxml
from protocol.meetingresponse import (
    MAX_REQUESTS,
    MeetingResponseRequest,
    MeetingResponseResponse,
    MeetingResult,
    RejectedRequest,
    ResponseRequest,
    SendResponse,
    UserResponse,
    parse_meeting_response_request,
    parse_meeting_response_response,
    render_meeting_response_request,
    render_meeting_response_response,
)
from protocol.status import EasStatusError
from tests.protocol.wbxml_trees import trees, xml_text

NS = 'xmlns="MeetingResponse:" xmlns:B="AirSyncBase:" xmlns:S="Search:"'
DEC14 = datetime(2026, 12, 14, 10, tzinfo=UTC)


def _wire(tree: etree._Element) -> etree._Element:
    return wbxml.decode(wbxml.encode(tree))


def _requests(body: str, version: str = "16.1") -> tuple[ResponseRequest | RejectedRequest, ...]:
    tree = _wire(etree.fromstring(f"<MeetingResponse {NS}>{body}</MeetingResponse>".encode()))
    return parse_meeting_response_request(tree, version).requests


def _request(inner: str) -> str:
    return f"<Request>{inner}</Request>"


IDS = "<CollectionId>3</CollectionId><RequestId>3:7</RequestId>"


@pytest.mark.parametrize(
    ("inner", "version", "expected"),
    [
        (
            f"<UserResponse>1</UserResponse>{IDS}",
            "14.1",
            ResponseRequest(
                user_response=UserResponse.Accepted, collection_id="3", request_id="3:7"
            ),
        ),
        (  # MS-ASCMD 4.17.1's InstanceId form
            f"<UserResponse>2</UserResponse>{IDS}<InstanceId>20261214T10:00:00.000Z</InstanceId>",
            "14.1",
            ResponseRequest(
                user_response=UserResponse.Tentative,
                collection_id="3",
                request_id="3:7",
                instance_id=DEC14,
            ),
        ),
        (
            (
                "<UserResponse>3</UserResponse><S:LongId>RgAAAA</S:LongId>"
                "<InstanceId>2026-12-14T10:00:00.000Z</InstanceId>"
            ),
            "16.1",
            ResponseRequest(
                user_response=UserResponse.Declined, long_id="RgAAAA", instance_id=DEC14
            ),
        ),
        (
            (
                f"<UserResponse>1</UserResponse>{IDS}<SendResponse><B:Body><B:Type>1</B:Type>"
                "<B:Data>Yes</B:Data></B:Body><ProposedStartTime>20261214T110000Z</ProposedStartTime>"
                "</SendResponse>"
            ),
            "16.1",
            ResponseRequest(
                user_response=UserResponse.Accepted,
                collection_id="3",
                request_id="3:7",
                send_response=SendResponse(
                    body="Yes",
                    body_type=1,
                    proposed_start_time=datetime(2026, 12, 14, 11, tzinfo=UTC),
                ),
            ),
        ),
        (  # an empty SendResponse: an e-mail with no body (MS-ASCMD 2.2.3.163)
            f"<UserResponse>1</UserResponse>{IDS}<SendResponse/>",
            "16.0",
            ResponseRequest(
                user_response=UserResponse.Accepted,
                collection_id="3",
                request_id="3:7",
                send_response=SendResponse(),
            ),
        ),
    ],
)
def test_requests_parse(inner: str, version: str, expected: ResponseRequest) -> None:
    assert _requests(_request(inner), version) == (expected,)


@pytest.mark.parametrize(
    ("inner", "version", "status"),
    [
        (IDS, "14.1", 2),  # no UserResponse
        (f"<UserResponse>4</UserResponse>{IDS}", "14.1", 2),  # MS-ASCMD test suite TC03
        (f"<UserResponse>x</UserResponse>{IDS}", "14.1", 2),
        ("<UserResponse>1</UserResponse><CollectionId>3</CollectionId>", "14.1", 2),
        ("<UserResponse>1</UserResponse><RequestId>3:7</RequestId>", "14.1", 2),
        (f"<UserResponse>1</UserResponse>{IDS}<S:LongId>Rg</S:LongId>", "14.1", 2),
        (f"<UserResponse>1</UserResponse>{IDS}<Status>1</Status>", "14.1", 2),
        (
            f"<UserResponse>1</UserResponse>{IDS}<InstanceId>20261214T100000Z</InstanceId>",
            "14.0",
            2,
        ),
        (
            f"<UserResponse>1</UserResponse>{IDS}<InstanceId>20261214T100000Z</InstanceId>",
            "12.1",
            2,
        ),
        (f"<UserResponse>1</UserResponse>{IDS}<InstanceId>soon</InstanceId>", "16.1", 104),
        (f"<UserResponse>1</UserResponse>{IDS}<InstanceId></InstanceId>", "16.1", 104),
        (
            (
                f"<UserResponse>1</UserResponse>{IDS}<SendResponse><ProposedEndTime>x"
                "</ProposedEndTime></SendResponse>"
            ),
            "16.1",
            104,
        ),
        (
            (
                "<UserResponse>1</UserResponse><CollectionId>3</CollectionId>"
                f"<RequestId>{'9' * 65}</RequestId>"
            ),
            "14.1",
            2,
        ),
    ],
)
def test_bad_requests_get_their_result_status(inner: str, version: str, status: int) -> None:
    (rejected,) = _requests(_request(inner), version)
    assert isinstance(rejected, RejectedRequest)
    assert rejected.status == status
    good = f"<UserResponse>1</UserResponse>{IDS}"
    later = _requests(_request(inner) + _request(good), version)[1]
    assert isinstance(later, ResponseRequest)  # one bad Request spoils nothing else


def test_rejected_request_keeps_its_request_id() -> None:
    (rejected,) = _requests(_request(f"<UserResponse>9</UserResponse>{IDS}"))
    assert rejected == RejectedRequest(status=2, request_id="3:7")


@pytest.mark.parametrize(
    "xml",
    [
        None,
        '<Sync xmlns="AirSync:"/>',
        f"<MeetingResponse {NS}/>",
        f"<MeetingResponse {NS}><Result/></MeetingResponse>",
        (
            f"<MeetingResponse {NS}>{_request('<UserResponse>1</UserResponse>' + IDS) * 101}"
            "</MeetingResponse>"
        ),
    ],
)
def test_malformed_bodies_are_status_103(xml: str | None) -> None:
    tree = None if xml is None else _wire(etree.fromstring(xml.encode()))
    with pytest.raises(EasStatusError) as caught:
        parse_meeting_response_request(tree, "16.1")
    assert caught.value.status == 103


def test_hundred_requests_are_fine() -> None:
    body = _request(f"<UserResponse>1</UserResponse>{IDS}") * MAX_REQUESTS
    assert len(_requests(body)) == MAX_REQUESTS


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("14.1", [("RequestId", "3:7"), ("Status", "1"), ("CalendarId", "3:7")]),
        (
            "16.1",
            [
                ("RequestId", "3:7"),
                ("Status", "1"),
                ("CalendarId", "3:7"),
                ("InstanceId", "2026-12-14T10:00:00.000Z"),
            ],
        ),
    ],
)
def test_result_order_and_instance_only_in_sixteen(
    version: str, expected: list[tuple[str, str]]
) -> None:
    response = MeetingResponseResponse(
        results=(
            MeetingResult(status=1, request_id="3:7", calendar_id="3:7", instance_id=DEC14),
            MeetingResult(status=2),
        )
    )
    tree = _wire(render_meeting_response_response(response, version))
    first, second = list(tree)
    assert [(str(c.tag).split("}")[1], c.text) for c in first] == expected
    assert [(str(c.tag).split("}")[1], c.text) for c in second] == [("Status", "2")]
    parsed = parse_meeting_response_response(tree, version)
    assert parsed.results[1] == MeetingResult(status=2)


_texts = st.from_regex(r"[0-9A-Za-z:]{1,40}", fullmatch=True)
_requests_strategy = st.builds(
    ResponseRequest,
    user_response=st.sampled_from(UserResponse),
    collection_id=_texts,
    request_id=_texts,
    instance_id=st.none()
    | st.datetimes(
        min_value=datetime(2000, 1, 1),  # noqa: DTZ001 (Hypothesis bounds are naive)
        max_value=datetime(2099, 1, 1),  # noqa: DTZ001
        timezones=st.just(UTC),
    ).map(lambda d: d.replace(microsecond=0)),
    send_response=st.none()
    | st.builds(SendResponse, body=st.none() | _texts, body_type=st.just(1) | st.none()),
)


@given(st.lists(_requests_strategy, min_size=1, max_size=4))
def test_requests_round_trip(requests: list[ResponseRequest]) -> None:
    normalised = tuple(
        ResponseRequest(
            user_response=r.user_response,
            collection_id=r.collection_id,
            request_id=r.request_id,
            instance_id=r.instance_id,
            send_response=None
            if r.send_response is None
            else SendResponse(
                body=r.send_response.body,
                body_type=None
                if r.send_response.body is None
                else (r.send_response.body_type or 1),
            ),
        )
        for r in requests
    )
    request = MeetingResponseRequest(requests=tuple(requests))
    tree = _wire(render_meeting_response_request(request, "16.1"))
    assert parse_meeting_response_request(tree, "16.1").requests == normalised


_tags = st.sampled_from(
    ["UserResponse", "CollectionId", "RequestId", "InstanceId", "SendResponse", "Result"]
)


@st.composite
def _meeting_trees(draw: st.DrawFn) -> etree._Element:
    root = etree.Element("{MeetingResponse:}MeetingResponse")
    for _ in range(draw(st.integers(0, 3))):
        request = etree.SubElement(root, "{MeetingResponse:}Request")
        for _ in range(draw(st.integers(0, 5))):
            child = etree.SubElement(request, "{MeetingResponse:}" + draw(_tags))
            child.text = draw(st.none() | xml_text | st.sampled_from(["1", "2", "3"]))
    return root


@pytest.mark.parametrize("version", ["12.1", "14.1", "16.1"])
@given(tree=st.one_of(_meeting_trees(), trees))
def test_untrusted_trees_parse_or_get_a_status(version: str, tree: etree._Element) -> None:
    try:
        request = parse_meeting_response_request(_wire(tree), version)
    except EasStatusError as exc:
        assert exc.status == 103
    else:
        for entry in request.requests:
            if isinstance(entry, RejectedRequest):
                assert entry.status in {2, 104}
