"""protocol.calendar.itip: deleting occurrences of a series cancels those occurrences only."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.protocol.test_itip import MASTER, OVERRIDE, attendees, calendar, vevents, write

EXDATE = "RRULE:FREQ=WEEKLY;COUNT=10\nEXDATE;TZID=Europe/Paris:20260119T100000\n"


def test_an_added_exdate_cancels_that_occurrence() -> None:
    before = calendar(MASTER)
    after = calendar(MASTER.replace("RRULE:FREQ=WEEKLY;COUNT=10\n", EXDATE))
    (cancel,) = write(before, after)
    assert cancel.method == "CANCEL" and not cancel.update
    (event,) = vevents(cancel)
    assert event.decoded("RECURRENCE-ID") == datetime(2026, 1, 19, 9, tzinfo=UTC)
    assert str(event["STATUS"]) == "CANCELLED" and "RRULE" not in event
    assert sorted(cancel.recipients) == ["Bob@Example.org", "carol@example.net"]
    assert sorted(a.lower() for a in attendees(event)) == [
        "mailto:bob@example.org",
        "mailto:carol@example.net",
    ]


def test_an_override_deleted_with_its_exdate_cancels_it() -> None:
    before = calendar(MASTER, OVERRIDE)
    gone = "RRULE:FREQ=WEEKLY;COUNT=10\nEXDATE;TZID=Europe/Paris:20260112T100000\n"
    after = calendar(MASTER.replace("RRULE:FREQ=WEEKLY;COUNT=10\n", gone))
    # Dan was invited to that occurrence alone: he is off the meeting (a CANCEL
    # of his own); the others get the occurrence cancelled.
    dan, cancel = write(before, after)
    assert (dan.method, dan.recipients) == ("CANCEL", ("dan@example.com",))
    (event,) = vevents(cancel)
    assert cancel.method == "CANCEL"
    assert sorted(cancel.recipients) == ["Bob@Example.org", "carol@example.net"]
    assert event.decoded("RECURRENCE-ID") == datetime(2026, 1, 12, 9, tzinfo=UTC)


def test_an_exdate_with_another_change_is_an_updated_request() -> None:
    before = calendar(MASTER)
    after = calendar(
        MASTER.replace("RRULE:FREQ=WEEKLY;COUNT=10\n", EXDATE).replace("Room 1", "Room 2")
    )
    (update,) = write(before, after)
    assert (update.method, update.update) == ("REQUEST", True)


def test_an_exdate_taken_back_is_an_updated_request() -> None:
    before = calendar(MASTER.replace("RRULE:FREQ=WEEKLY;COUNT=10\n", EXDATE))
    (update,) = write(before, calendar(MASTER))
    assert (update.method, update.update) == ("REQUEST", True)
