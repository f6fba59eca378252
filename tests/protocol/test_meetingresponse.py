"""protocol.meetingresponse (the command's models) and protocol.calendar.replies
(what an answer does to the stored event)."""

from __future__ import annotations

from datetime import UTC, datetime

import icalendar
import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from protocol import wbxml
from protocol.calendar.ical import ical_to_item
from protocol.calendar.replies import Answer, ReplyError, ReplyProblem, apply_reply
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
NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)


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


# --- protocol.calendar.replies -----------------------------------------------------------


def invitation(extra: str = "", *, attendee: str = "alice@example.com") -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\n"
        "UID:inv@example.com\r\nDTSTAMP:20261125T120000Z\r\n"
        "DTSTART;TZID=Europe/Berlin:20261207T110000\r\nDTEND;TZID=Europe/Berlin:20261207T120000\r\n"
        f"SUMMARY:Weekly\r\n{extra}ORGANIZER;CN=Bob:mailto:bob@example.com\r\n"
        f"ATTENDEE;CN=Alice;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:{attendee}\r\n"
        "ATTENDEE;CN=Bob;PARTSTAT=ACCEPTED:mailto:bob@example.com\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )


WEEKLY = "RRULE:FREQ=WEEKLY;COUNT=4\r\n"


def _reply(ical: str, answer: Answer, instance: datetime | None = None) -> str | None:
    return apply_reply(
        ical, email="Alice@Example.com", name="Alice", answer=answer, instance=instance, now=NOW
    ).ical


def _partstats(ical: str) -> list[tuple[str | None, str]]:
    """(RECURRENCE-ID as UTC text or None, Alice's PARTSTAT) per VEVENT."""
    found: list[tuple[str | None, str]] = []
    for event in icalendar.Calendar.from_ical(ical).walk("VEVENT"):
        rid = event.get("RECURRENCE-ID")
        when = None if rid is None else rid.dt.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        found.extend(
            (when, str(attendee.params["PARTSTAT"]))
            for attendee in event.get("ATTENDEE", [])
            if "alice" in str(attendee)
        )
    return found


@pytest.mark.parametrize(
    ("answer", "response_type", "busy"),
    [(Answer.ACCEPTED, 3, 2), (Answer.TENTATIVE, 2, 1)],
)
def test_series_answer_is_recorded_and_idempotent(
    answer: Answer, response_type: int, busy: int
) -> None:
    answered = _reply(invitation(WEEKLY), answer)
    assert answered is not None
    assert _partstats(answered) == [(None, answer.value)]
    assert "RSVP" not in answered
    item = ical_to_item(answered, version="16.1", body_preference=None)
    assert (item.response_type, item.meeting_status, item.busy_status) == (response_type, 3, busy)
    assert item.appointment_reply_time == NOW
    assert _reply(answered, answer) is None  # the same answer again: nothing to write


def test_accepting_a_free_meeting_keeps_it_free_and_cancelled_is_seven() -> None:
    answered = _reply(invitation("TRANSP:TRANSPARENT\r\nSTATUS:CANCELLED\r\n"), Answer.ACCEPTED)
    assert answered is not None
    item = ical_to_item(answered, version="14.1", body_preference=None)
    assert (item.busy_status, item.meeting_status) == (0, 7)


def test_a_user_invited_through_a_list_is_added() -> None:
    answered = _reply(invitation(attendee="team@example.com"), Answer.TENTATIVE)
    assert answered is not None
    assert _partstats(answered) == [(None, "TENTATIVE")]
    assert "team@example.com" in answered


def test_decline_removes_the_meeting() -> None:
    reply = apply_reply(
        invitation(), email="alice@example.com", answer=Answer.DECLINED, instance=None, now=NOW
    )
    assert reply.remove and reply.ical is None


def test_one_instance_gets_one_override() -> None:
    answered = _reply(invitation(WEEKLY), Answer.TENTATIVE, DEC14)
    assert answered is not None
    assert _partstats(answered) == [(None, "NEEDS-ACTION"), ("20261214T100000Z", "TENTATIVE")]
    assert _reply(answered, Answer.TENTATIVE, DEC14) is None
    accepted = _reply(answered, Answer.ACCEPTED, DEC14)  # a changed mind edits the same override
    assert accepted is not None
    assert _partstats(accepted) == [(None, "NEEDS-ACTION"), ("20261214T100000Z", "ACCEPTED")]
    (exception,) = ical_to_item(accepted, version="16.1", body_preference=None).exceptions or ()
    assert exception.original_start == DEC14
    statuses = {a.email: a.status for a in exception.attendees or ()}
    assert statuses["alice@example.com"] == 3


def test_instance_already_answered_by_the_series_needs_no_override() -> None:
    series = _reply(invitation(WEEKLY), Answer.ACCEPTED)
    assert series is not None
    assert _reply(series, Answer.ACCEPTED, DEC14) is None
    series_answer_changes_overrides = _reply(
        _reply(invitation(WEEKLY), Answer.TENTATIVE, DEC14) or "", Answer.ACCEPTED
    )
    assert series_answer_changes_overrides is not None
    assert _partstats(series_answer_changes_overrides) == [
        (None, "ACCEPTED"),
        ("20261214T100000Z", "ACCEPTED"),
    ]


def test_declining_an_instance_excludes_it_once() -> None:
    with_override = _reply(invitation(WEEKLY), Answer.TENTATIVE, DEC14)
    assert with_override is not None
    declined = _reply(with_override, Answer.DECLINED, DEC14)
    assert declined is not None
    assert "RECURRENCE-ID" not in declined and "EXDATE" in declined
    assert _reply(declined, Answer.DECLINED, DEC14) is None
    with pytest.raises(ReplyError) as caught:
        _reply(declined, Answer.ACCEPTED, DEC14)
    assert caught.value.problem is ReplyProblem.NO_SUCH_INSTANCE


@pytest.mark.parametrize(
    ("ical", "instance", "problem"),
    [
        (invitation(), DEC14, ReplyProblem.NOT_RECURRING),
        (invitation(WEEKLY), datetime(2026, 12, 15, 10, tzinfo=UTC), ReplyProblem.NO_SUCH_INSTANCE),
        (invitation(WEEKLY), datetime(2027, 1, 4, 10, tzinfo=UTC), ReplyProblem.NO_SUCH_INSTANCE),
        (
            invitation(WEEKLY).replace("ORGANIZER;CN=Bob:mailto:bob", "ORGANIZER:mailto:alice"),
            None,
            ReplyProblem.ORGANIZER,
        ),
        (
            invitation(attendee="carol@example.com").replace(
                "ORGANIZER;CN=Bob:mailto:bob@example.com\r\n", ""
            ),
            None,
            ReplyProblem.NOT_A_MEETING,
        ),
    ],
)
def test_reply_problems(ical: str, instance: datetime | None, problem: ReplyProblem) -> None:
    with pytest.raises(ReplyError) as caught:
        _reply(ical, Answer.ACCEPTED, instance)
    assert caught.value.problem is problem


@pytest.mark.parametrize(
    "instance",
    [datetime(2026, 12, 14, tzinfo=UTC), datetime(2026, 12, 13, 23, tzinfo=UTC)],
)
def test_all_day_instances_match_by_day(instance: datetime) -> None:
    """16.x sends the date at UTC midnight, <= 14.1 the local midnight as UTC."""
    all_day = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:day@x\r\n"
        "DTSTAMP:20261125T120000Z\r\nDTSTART;VALUE=DATE:20261207\r\nDTEND;VALUE=DATE:20261208\r\n"
        "X-EASGW-TIMEZONE:Europe/Berlin\r\nRRULE:FREQ=WEEKLY;COUNT=3\r\n"
        "ORGANIZER:mailto:bob@example.com\r\nATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:alice@example.com\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    answered = _reply(all_day, Answer.ACCEPTED, instance)
    assert answered is not None
    assert "RECURRENCE-ID;VALUE=DATE:20261214" in answered


def _series(start: str, rule: str) -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:x@x\r\n"
        f"DTSTAMP:20261125T120000Z\r\n{start}\r\n{rule}\r\nORGANIZER:mailto:bob@example.com\r\n"
        "ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:alice@example.com\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


@pytest.mark.parametrize(
    ("start", "rule", "instance", "exists"),
    [
        # A DATE UNTIL covers its day; the rule runs in local time across DST (RFC 5545).
        (
            "DTSTART;VALUE=DATE:20261207",
            "RRULE:FREQ=WEEKLY;UNTIL=20261221",
            "20261221T000000Z",
            True,
        ),
        (
            "DTSTART;VALUE=DATE:20261207",
            "RRULE:FREQ=WEEKLY;UNTIL=20261220",
            "20261221T000000Z",
            False,
        ),
        (
            "DTSTART;TZID=Europe/Berlin:20260301T100000",
            "RRULE:FREQ=WEEKLY;UNTIL=20260405T090000Z",
            "20260405T080000Z",  # 10:00 CEST after the change to summer time
            True,
        ),
        (
            "DTSTART;TZID=Europe/Berlin:20260301T100000",
            "RRULE:FREQ=WEEKLY;UNTIL=20260405T070000Z",
            "20260405T080000Z",
            False,
        ),
        (
            "DTSTART;TZID=Europe/Berlin:20260301T100000",
            "RRULE:FREQ=WEEKLY",
            "20260405T090000Z",
            False,
        ),
        ("DTSTART:20260301T100000Z", "RRULE:FREQ=MONTHLY;BYDAY=1MO", "20260406T100000Z", True),
        ("DTSTART:20260301T100000Z", "RRULE:FREQ=MONTHLY;BYDAY=1MO", "20260413T100000Z", False),
    ],
)
def test_instances_are_checked_against_the_rule(
    start: str, rule: str, instance: str, exists: bool
) -> None:
    when = datetime.strptime(instance, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    if exists:
        assert _reply(_series(start, rule), Answer.ACCEPTED, when) is not None
    else:
        with pytest.raises(ReplyError) as caught:
            _reply(_series(start, rule), Answer.ACCEPTED, when)
        assert caught.value.problem is ReplyProblem.NO_SUCH_INSTANCE
