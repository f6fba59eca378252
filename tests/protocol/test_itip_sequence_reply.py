"""protocol.calendar.itip: the SEQUENCE an organizer's meeting carries, and the REPLY."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import icalendar
import pytest

from protocol.calendar.itip import with_sequence
from protocol.calendar.itip_answers import ask_again, with_attendees
from protocol.calendar.itip_reply import counter_message, reply_message
from tests.protocol.test_itip import (
    BASE,
    MASTER,
    OVERRIDE,
    calendar,
    sequence,
    vevents,
    write,
)


def seqs(text: str) -> list[int]:
    return [sequence(e) for e in icalendar.Calendar.from_ical(text).walk("VEVENT")]


def test_sequence_unchanged_returns_the_same_string() -> None:
    assert with_sequence(None, BASE) is BASE
    assert with_sequence(BASE, BASE) is BASE
    renamed = BASE.replace("SUMMARY:Planning\r\n", "SUMMARY:Other\r\n")
    assert with_sequence(BASE, renamed) is renamed  # RFC 5546 2.1.4: no bump for a title


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("T100000\r\nDTEND", "T103000\r\nDTEND"),
        ("T110000", "T113000"),
        ("COUNT=10", "COUNT=11"),
        ("CLASS:PUBLIC", "CLASS:PUBLIC\r\nEXDATE;TZID=Europe/Paris:20260119T100000"),
        ("CLASS:PUBLIC", "CLASS:PUBLIC\r\nSTATUS:CANCELLED"),
    ],
)
def test_sequence_bumps_on_significant_change(old: str, new: str) -> None:
    before = BASE.replace("UID:meeting-1\r\nDTSTAMP", "UID:meeting-1\r\nSEQUENCE:4\r\nDTSTAMP", 1)
    assert old in before
    after = before.replace("SEQUENCE:4\r\n", "").replace(old, new, 1)  # phones never send it
    assert seqs(with_sequence(before, after)) == [5, 0]
    once = with_sequence(before, after)
    assert seqs(with_sequence(before, once)) == [5, 0]  # idempotent


def test_sequence_is_kept_when_the_phone_drops_it() -> None:
    before = BASE.replace("DTSTAMP:2026", "SEQUENCE:2\r\nDTSTAMP:2026")  # both VEVENTs
    assert seqs(with_sequence(before, BASE)) == [2, 2]


def test_sequence_of_a_moved_override_only() -> None:
    after = BASE.replace("T140000", "T150000").replace("T150000\r\nSUMMARY", "T160000\r\nSUMMARY")
    assert seqs(with_sequence(BASE, after)) == [0, 1]


def test_sequence_of_a_new_override_is_the_masters() -> None:
    before = calendar(MASTER.replace("UID:meeting-1", "UID:meeting-1\nSEQUENCE:2"))
    assert seqs(with_sequence(before, calendar(MASTER, OVERRIDE))) == [2, 2]


def test_update_carries_the_bumped_sequence() -> None:
    [message] = write(BASE, BASE.replace("T110000", "T113000"))
    assert [sequence(e) for e in vevents(message)] == [1, 0]


# --------------------------------------------------------------------------
# REPLY


def test_reply_carries_only_this_attendee() -> None:
    source = BASE.replace("UID:meeting-1\r\nDTSTAMP", "UID:meeting-1\r\nSEQUENCE:2\r\nDTSTAMP", 1)
    message = reply_message(source, attendee="mailto:bob@example.org", partstat="tentative")
    assert message is not None
    assert (message.method, message.partstat, message.recipients, message.summary) == (
        "REPLY",
        "TENTATIVE",
        ("Alice@example.com",),
        "Planning",
    )
    [event] = vevents(message)
    assert str(event["UID"]) == "meeting-1" and sequence(event) == 2
    assert "RECURRENCE-ID" not in event and str(event["SUMMARY"]) == "Planning"
    assert str(event["ORGANIZER"]) == "mailto:Alice@example.com"
    [line] = [event["ATTENDEE"]]
    assert str(line) == "MAILTO:Bob@Example.org"
    assert dict(line.params) == {"CN": "Bob", "PARTSTAT": "TENTATIVE"}  # no RSVP/SCHEDULE-*
    assert abs(datetime.now(UTC) - event.decoded("DTSTAMP")) < timedelta(minutes=1)
    assert event.decoded("DTSTART") == datetime(2026, 1, 5, 9, tzinfo=UTC)
    assert not event.walk("VALARM")


def test_reply_to_an_override() -> None:
    when = datetime(2026, 1, 12, 9, tzinfo=UTC)  # 10:00 Paris
    message = reply_message(
        BASE, attendee="dan@example.com", partstat="DECLINED", recurrence_id=when
    )
    assert message is not None
    [event] = vevents(message)
    assert event.decoded("RECURRENCE-ID") == when
    assert event.decoded("DTSTART") == datetime(2026, 1, 12, 13, tzinfo=UTC)  # the moved time
    assert str(event["SUMMARY"]) == "Planning (moved)"
    assert dict(event["ATTENDEE"].params) == {"CN": "Dan", "PARTSTAT": "DECLINED"}


def test_reply_to_a_plain_occurrence() -> None:
    when = datetime(2026, 1, 19, 9, tzinfo=UTC)
    message = reply_message(
        BASE, attendee="carol@example.net", partstat="ACCEPTED", recurrence_id=when
    )
    assert message is not None
    [event] = vevents(message)
    assert event.decoded("RECURRENCE-ID") == when == event.decoded("DTSTART")
    assert event.decoded("DTEND") == when + timedelta(hours=1)


def test_reply_from_someone_invited_through_a_list() -> None:
    message = reply_message(BASE, attendee="zoe@example.com", partstat="ACCEPTED")
    assert message is not None
    [event] = vevents(message)
    assert str(event["ATTENDEE"]) == "mailto:zoe@example.com"


def test_no_reply_without_organizer_or_from_the_organizer() -> None:
    assert reply_message(BASE, attendee="ALICE@example.com", partstat="ACCEPTED") is None
    no_organizer = "\r\n".join(x for x in BASE.split("\r\n") if not x.startswith("ORGANIZER"))
    assert reply_message(no_organizer, attendee="bob@example.org", partstat="ACCEPTED") is None
    with pytest.raises(ValueError, match="PARTSTAT"):
        reply_message(BASE, attendee="bob@example.org", partstat="NEEDS-ACTION")


# --------------------------------------------------------------------------
# Unreadable input


def test_counter_proposes_the_new_time_to_the_organizer() -> None:
    start = datetime(2026, 1, 6, 14, tzinfo=UTC)
    message = counter_message(
        BASE,
        attendee="bob@example.org",
        partstat="ACCEPTED",
        start=start,
        end=start + timedelta(hours=1),
    )
    assert message is not None
    assert (message.method, message.recipients) == ("COUNTER", ("Alice@example.com",))
    assert "METHOD:COUNTER" in message.ical and "METHOD:REPLY" not in message.ical
    [event] = vevents(message)
    assert event.decoded("DTSTART") == start
    assert event.decoded("DTEND") == start + timedelta(hours=1)
    assert [str(a).lower() for a in [event["ATTENDEE"]]] == ["mailto:bob@example.org"]
    assert event["ATTENDEE"].params["PARTSTAT"] == "ACCEPTED"


def test_counter_refuses_a_backwards_or_naive_time() -> None:
    start = datetime(2026, 1, 6, 14, tzinfo=UTC)
    with pytest.raises(ValueError, match="must follow"):
        counter_message(BASE, attendee="bob@example.org", partstat="ACCEPTED", start=start,
                        end=start - timedelta(hours=1))  # fmt: skip
    with pytest.raises(ValueError, match="must be aware"):
        counter_message(BASE, attendee="bob@example.org", partstat="ACCEPTED",
                        start=start.replace(tzinfo=None), end=None)  # fmt: skip
    organizer = counter_message(
        BASE, attendee="alice@example.com", partstat="ACCEPTED", start=start, end=None
    )
    assert organizer is None  # the organizer does not propose to themselves


def _partstats(text: str) -> dict[str, str]:
    event = next(e for e in icalendar.Calendar.from_ical(text).walk("VEVENT"))
    listed = event.get("ATTENDEE")
    return {str(a).lower(): a.params.get("PARTSTAT", "") for a in listed}


ANSWERED = calendar(MASTER.replace("RSVP=TRUE;PARTSTAT=NEEDS-ACTION", "PARTSTAT=ACCEPTED"))


def test_a_reschedule_asks_the_attendees_again() -> None:
    moved = with_sequence(ANSWERED, ANSWERED.replace("T100000\r\nDTEND", "T103000\r\nDTEND"))
    asked = _partstats(ask_again(ANSWERED, moved))
    assert asked["mailto:bob@example.org"] == "NEEDS-ACTION"
    assert asked["mailto:alice@example.com"] == "ACCEPTED"  # the organizer's own line
    assert asked["mailto:room@example.com"] == ""  # SCHEDULE-AGENT=NONE: left alone


def test_a_title_edit_keeps_the_answers() -> None:
    renamed = with_sequence(ANSWERED, ANSWERED.replace("SUMMARY:Planning", "SUMMARY:Plans"))
    assert ask_again(ANSWERED, renamed) == renamed
    assert ask_again(None, ANSWERED) == ANSWERED


def test_forwardees_are_added_once_and_asked_to_answer() -> None:
    people = [("erin@example.com", "Erin"), ("BOB@example.org", "Bob again"), ("", "nobody")]
    added = with_attendees(BASE, people)
    master, override = (e for e in icalendar.Calendar.from_ical(added).walk("VEVENT"))
    for event in (master, override):  # the override has a list of its own
        erins = [a for a in event["ATTENDEE"] if str(a) == "mailto:erin@example.com"]
        assert len(erins) == 1
        assert erins[0].params["PARTSTAT"] == "NEEDS-ACTION" and erins[0].params["CN"] == "Erin"
    bobs = [a for a in master["ATTENDEE"] if str(a).lower() == "mailto:bob@example.org"]
    assert len(bobs) == 1  # already invited: not twice
    assert with_attendees(added, people) == added  # nothing new: the same text
