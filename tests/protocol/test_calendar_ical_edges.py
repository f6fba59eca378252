"""CalendarItem <-> iCalendar: edge cases found by the CI Hypothesis profile and in the
field (a repeated hour, escaping in CATEGORIES and X-ALT-DESC, received invitations)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from protocol.calendar.ical import ical_to_item, item_to_ical
from protocol.calendar.model import Body, BodyPreference, CalendarItem
from protocol.calendar.timezone import tzinfo_for_zone
from tests.protocol.test_calendar_ical import _to_ical


@pytest.mark.parametrize("version", ["14.1", "16.1"])
def test_the_second_pass_of_a_repeated_hour_keeps_its_instant_and_zone(version: str) -> None:
    """01:00-01:30 PST on 1 November 2026, after clocks went back in Los Angeles: a TZID time
    there would mean 01:00 PDT, an hour early (RFC 5545 3.3.5); found by the round trip above."""
    zone = tzinfo_for_zone("America/Los_Angeles", 2026)
    start = datetime(2026, 11, 1, 9, tzinfo=UTC)  # 01:00 PST, the second 01:00
    item = CalendarItem(
        timezone=zone, all_day=False, start_time=start, end_time=start + timedelta(minutes=30)
    )
    text = item_to_ical(item, version=version, stored=None, supported=None)
    back = ical_to_item(text, version=version, body_preference=None)
    assert (back.start_time, back.end_time) == (item.start_time, item.end_time)
    assert back.timezone is not None
    assert back.timezone.bias == zone.bias
    assert "X-EASGW-TIMEZONE:America/Los_Angeles" in text
    # The first 01:00 (PDT) is an ordinary TZID time.
    first = dataclasses.replace(
        item, start_time=start - timedelta(hours=1), end_time=start - timedelta(minutes=30)
    )
    assert "TZID=America/Los_Angeles" in item_to_ical(
        first, version=version, stored=None, supported=None
    )


def test_categories_with_backslashes_and_separators_round_trip() -> None:
    """icalendar 7 alone writes a category "\\N" as an escaped newline; ours escapes itself."""
    names = ("\\N", "a,b", "c;d", "e\\f", "g\nh")
    item = CalendarItem(
        start_time=datetime(2026, 3, 1, 9, tzinfo=UTC),
        end_time=datetime(2026, 3, 1, 10, tzinfo=UTC),
        categories=names,
    )
    back = ical_to_item(_to_ical(item), version="14.1", body_preference=None)
    assert back.categories == names


_INVITATION = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//other client//EN\r\nBEGIN:VEVENT\r\n"
    "UID:invite@example.com\r\nDTSTAMP:20261101T000000Z\r\n"
    "DTSTART:20261201T100000Z\r\nDTEND:20261201T110000Z\r\nSUMMARY:Review\r\n"
    "ORGANIZER;CN=Bob:mailto:bob@example.com\r\n"
    "ATTENDEE;PARTSTAT=ACCEPTED:mailto:bob@example.com\r\n"
    "ATTENDEE;PARTSTAT={partstat};RSVP=TRUE:mailto:Alice@Example.com\r\n"
    "{extra}END:VEVENT\r\nEND:VCALENDAR\r\n"
)


_STORED_FROM_A_PHONE = (
    "X-EASGW-MEETING-STATUS:1\r\nX-EASGW-RESPONSE-TYPE:3\r\nX-EASGW-RESPONSE-REQUESTED:FALSE\r\n"
)


@pytest.mark.parametrize(
    ("owner", "partstat", "extra", "expected"),
    [
        # MS-ASCAL 2.2.2.29 MeetingStatus, 2.2.2.38 ResponseType, 2.2.2.37 ResponseRequested
        ("alice@example.com", "NEEDS-ACTION", "", (3, 5, True)),
        ("alice@example.com", "TENTATIVE", "", (3, 2, True)),
        ("ALICE@example.com", "ACCEPTED", "", (3, 3, True)),
        ("alice@example.com", "DECLINED", "STATUS:CANCELLED\r\n", (7, 4, True)),
        ("bob@example.com", "NEEDS-ACTION", "", (1, 1, None)),  # the organizer's copy
        (None, "NEEDS-ACTION", "", (1, None, None)),  # nobody's view: as before
        # What easgw stored from a phone wins.
        ("alice@example.com", "NEEDS-ACTION", _STORED_FROM_A_PHONE, (1, 3, False)),
    ],
)  # fmt: skip
def test_an_invitation_is_received_by_its_attendee(
    owner: str | None, partstat: str, extra: str, expected: tuple[object, ...]
) -> None:
    text = _INVITATION.format(partstat=partstat, extra=extra)
    item = ical_to_item(text, version="14.1", body_preference=None, owner=owner)
    assert (item.meeting_status, item.response_type, item.response_requested) == expected


def test_an_html_body_with_line_breaks_and_separators_round_trips() -> None:
    """X-ALT-DESC is TEXT (RFC 5545 3.3.11): escaped on the way out, unescaped on the way in."""
    html = "<p>Agenda,\nitem; one</p>\n<p>C:\\path</p>"  # (a CRLF comes back as LF)
    item = CalendarItem(
        start_time=datetime(2026, 3, 1, 9, tzinfo=UTC),
        end_time=datetime(2026, 3, 1, 10, tzinfo=UTC),
        body=Body(type=2, data=html),
    )
    text = _to_ical(item)
    back = ical_to_item(text, version="14.1", body_preference=BodyPreference(type=2))
    assert back.body is not None
    assert (back.body.type, back.body.data) == (2, html)


def test_an_escaped_html_description_from_another_client_reads_unescaped() -> None:
    text = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:h\r\n"
        "DTSTAMP:20260101T000000Z\r\nDTSTART:20260105T090000Z\r\nDTEND:20260105T100000Z\r\n"
        "DESCRIPTION:One\\, two\r\n"
        "X-ALT-DESC;FMTTYPE=text/html:<p>One\\, two\\;</p>\\n<p>three</p>\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    item = ical_to_item(text, version="14.1", body_preference=BodyPreference(type=2))
    assert item.body is not None
    assert item.body.data == "<p>One, two;</p>\n<p>three</p>"
