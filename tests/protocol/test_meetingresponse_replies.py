"""protocol.calendar.replies: what a MeetingResponse answer does to the stored event.

Accepting, declining or tentatively accepting sets the user's PARTSTAT (RFC 5545
3.2.12) on the series or, for one occurrence, on an override VEVENT (RFC 5545
3.8.4.4); an answer is idempotent and an occurrence is checked against the rule.
Split from test_meetingresponse.py, which keeps the command's models."""

from __future__ import annotations

from datetime import UTC, datetime

import icalendar
import pytest

from protocol.calendar.ical import ical_to_item
from protocol.calendar.replies import Answer, ReplyError, ReplyProblem, apply_reply
from tests.protocol.test_meetingresponse import DEC14

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)

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
