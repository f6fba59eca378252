"""easgw.scheduling.local_copy under Hypothesis: any organizer event an attendee gets.

The events are those of tests/protocol/test_itip.py's strategy (times in UTC or
a zone, a series with deleted occurrences, alarms, attendees with and without
SCHEDULE-AGENT). Whatever the organizer saved, the attendee's copy is a readable
calendar object with the same UID, their own answer NEEDS-ACTION, no alarm of
the organizer's, and the phone reads it as a meeting received (MeetingStatus 3);
cancelled, it reads as MeetingStatus 7.
"""

from __future__ import annotations

import icalendar
from hypothesis import assume, given

from easgw.scheduling.local_copy import attendee_copy, cancelled_copy
from protocol.calendar.ical import ical_to_item
from tests.protocol.test_itip import events

BOB = "bob@example.org"


def _bobs_line(event: icalendar.Component) -> icalendar.vCalAddress | None:
    listed = event.get("ATTENDEE")
    for attendee in listed if isinstance(listed, list) else [listed] if listed else []:
        if str(attendee).lower() == f"mailto:{BOB}":
            return attendee
    return None


@given(events())
def test_any_invitation_makes_a_readable_copy(organizers: str) -> None:
    master = next(e for e in icalendar.Calendar.from_ical(organizers).walk("VEVENT"))
    assume(_bobs_line(master) is not None)  # local delivery writes invited attendees only
    copy = attendee_copy(organizers, None, None, BOB)
    assert copy is not None  # a new invitation is always delivered
    parsed = icalendar.Calendar.from_ical(copy)
    (event,) = parsed.walk("VEVENT")
    assert str(event["UID"]) == str(master["UID"])
    assert not event.walk("VALARM")
    line = _bobs_line(event)
    if line is not None and str(line.params.get("SCHEDULE-AGENT", "")).upper() != "NONE":
        assert line.params["PARTSTAT"] == "NEEDS-ACTION"
    item = ical_to_item(copy, version="16.1", body_preference=None, owner=BOB)
    assert item.meeting_status == 3
    cancelled = ical_to_item(cancelled_copy(copy), version="16.1", body_preference=None, owner=BOB)
    assert cancelled.meeting_status == 7
