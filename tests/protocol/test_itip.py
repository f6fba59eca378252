"""protocol.calendar.itip: who gets which iTIP message, and what it carries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import icalendar
import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.calendar.itip import (
    ItipMessage,
    messages_for_delete,
    messages_for_write,
    organized_by,
    organizer_of,
    with_sequence,
)
from protocol.calendar.itip_reply import reply_message

TZ = (
    "BEGIN:VTIMEZONE\r\nTZID:Europe/Paris\r\nBEGIN:STANDARD\r\nDTSTART:19701025T030000\r\n"
    "TZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\n"
    "END:STANDARD\r\nBEGIN:DAYLIGHT\r\nDTSTART:19700329T020000\r\nTZOFFSETFROM:+0100\r\n"
    "TZOFFSETTO:+0200\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nEND:DAYLIGHT\r\n"
    "END:VTIMEZONE\r\n"
)
MASTER = """BEGIN:VEVENT
UID:meeting-1
DTSTAMP:20260101T000000Z
DTSTART;TZID=Europe/Paris:20260105T100000
DTEND;TZID=Europe/Paris:20260105T110000
RRULE:FREQ=WEEKLY;COUNT=10
SUMMARY:Planning
LOCATION:Room 1
DESCRIPTION:Agenda\\n~~~ Video conference ~~~\\nhttps://meet.example/abc
CATEGORIES:Work
TRANSP:OPAQUE
CLASS:PUBLIC
ORGANIZER;CN=Alice:mailto:Alice@example.com
ATTENDEE;CN=Alice;PARTSTAT=ACCEPTED:mailto:alice@example.com
ATTENDEE;CN=Bob;RSVP=TRUE;PARTSTAT=NEEDS-ACTION;SCHEDULE-STATUS=1.2:MAILTO:Bob@Example.org
ATTENDEE;CN=Carol;PARTSTAT=NEEDS-ACTION;SCHEDULE-FORCE-SEND=REQUEST:mailto:carol@example.net
ATTENDEE;CUTYPE=ROOM;SCHEDULE-AGENT=NONE:mailto:room@example.com
ATTENDEE;CUTYPE=GROUP;SCHEDULE-AGENT=CLIENT:mailto:team@example.com
ATTENDEE;CUTYPE=RESOURCE;SCHEDULE-AGENT=SERVER:mailto:Conf@Example.com
ATTENDEE:urn:uuid:00000000-0000-0000-0000-000000000001
CONFERENCE;VALUE=URI;FEATURE=VIDEO;LABEL=Meet:https://meet.example/abc
X-EASGW-CONFERENCE:https://meet.example/abc
X-EASGW-CONFERENCE-ID:abc
X-EASGW-RESPONSE-TYPE:1
X-ALT-DESC;FMTTYPE=text/html:<p>Agenda</p><p>https://meet.example/abc</p>
BEGIN:VALARM
ACTION:DISPLAY
TRIGGER:-PT15M
DESCRIPTION:Reminder
END:VALARM
END:VEVENT
"""
OVERRIDE = """BEGIN:VEVENT
UID:meeting-1
DTSTAMP:20260101T000000Z
RECURRENCE-ID;TZID=Europe/Paris:20260112T100000
DTSTART;TZID=Europe/Paris:20260112T140000
DTEND;TZID=Europe/Paris:20260112T150000
SUMMARY:Planning (moved)
ORGANIZER;CN=Alice:mailto:Alice@example.com
ATTENDEE;CN=Bob;PARTSTAT=NEEDS-ACTION:mailto:bob@example.org
ATTENDEE;CN=Dan:mailto:dan@example.com
END:VEVENT
"""
ORGANIZER = "alice@example.com"
SKIP = ("MAILTO:conf@example.com",)


def calendar(*events: str) -> str:
    body = "".join(e.replace("\r\n", "\n").replace("\n", "\r\n") for e in events)
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n{TZ}{body}END:VCALENDAR\r\n"


BASE = calendar(MASTER, OVERRIDE)


def write(before: str | None, after: str) -> list[ItipMessage]:
    return messages_for_write(before, after, organizer=ORGANIZER, skip=SKIP)


def read(message: ItipMessage) -> icalendar.Calendar:
    """The message's object, through icalendar's own parser (not the project's)."""
    parsed = icalendar.Calendar.from_ical(message.ical)
    assert str(parsed["METHOD"]) == message.method
    assert str(parsed["VERSION"]) == "2.0" and "PRODID" in parsed
    assert "\r\n" in message.ical and "\n" not in message.ical.replace("\r\n", "")
    for event in parsed.walk("VEVENT"):  # RFC 5546 3.2: required in every method
        assert {"UID", "DTSTAMP", "ORGANIZER"} <= set(event)
        assert message.method != "REPLY" or "SEQUENCE" in event
    return parsed


def vevents(message: ItipMessage) -> list[icalendar.Component]:
    return list(read(message).walk("VEVENT"))


def attendees(event: icalendar.Component) -> list[str]:
    value = event.get("ATTENDEE", [])
    return [str(a) for a in (value if isinstance(value, list) else [value])]


def sequence(event: icalendar.Component) -> int:
    return int(event.get("SEQUENCE", 0))


# --------------------------------------------------------------------------
# organizer_of / organized_by


def test_organizer_as_written() -> None:
    assert organizer_of(BASE) == "Alice@example.com"
    assert organizer_of(calendar(MASTER.replace("mailto:Alice", "MAILTO:Alice"))) == (
        "Alice@example.com"
    )
    no_organizer = "\n".join(x for x in MASTER.splitlines() if not x.startswith("ORGANIZER"))
    assert organizer_of(calendar(no_organizer + "\n")) is None


def test_organized_by() -> None:
    assert organized_by(BASE, "ALICE@example.COM")
    assert not organized_by(BASE, "bob@example.org")
    alone = "\n".join(
        x for x in MASTER.splitlines() if not x.startswith("ATTENDEE") or "alice@" in x
    )
    assert not organized_by(calendar(alone + "\n"), ORGANIZER)  # only herself: no meeting


# --------------------------------------------------------------------------
# A new meeting


def test_new_meeting_invites_every_attendee() -> None:
    [message] = write(None, BASE)
    assert message.method == "REQUEST" and not message.update
    # Not the organizer, not the resource (mixed-case MAILTO in skip), not the
    # SCHEDULE-AGENT=NONE/CLIENT ones, not a urn: address; Bob once (master + override).
    assert message.recipients == ("Bob@Example.org", "carol@example.net", "dan@example.com")
    assert message.summary == "Planning"
    master, override = vevents(message)
    assert "RECURRENCE-ID" not in master and "RECURRENCE-ID" in override  # overrides kept
    listed = attendees(master)
    assert not any("conf@" in a.lower() for a in listed)  # the resource is no guest
    assert "mailto:room@example.com" in listed  # still an attendee, just not mailed
    for event in (master, override):
        assert not event.walk("VALARM")
        for value in [*(event.get("ATTENDEE") or []), event["ORGANIZER"]]:
            assert not {"SCHEDULE-AGENT", "SCHEDULE-STATUS", "SCHEDULE-FORCE-SEND"} & set(
                value.params
            )
        stamp = event.decoded("DTSTAMP")
        assert abs(datetime.now(UTC) - stamp) < timedelta(minutes=1)
    assert "X-EASGW-RESPONSE-TYPE" not in master
    assert str(master["X-EASGW-CONFERENCE"]) == "https://meet.example/abc"
    assert "X-EASGW-CONFERENCE-ID" in master and "CONFERENCE" in master
    assert "X-ALT-DESC" in master
    assert read(message).walk("VTIMEZONE")  # TZID=Europe/Paris resolves


def test_no_guests_no_message() -> None:
    alone = "\n".join(x for x in MASTER.splitlines() if not x.startswith("ATTENDEE"))
    assert write(None, calendar(alone + "\n")) == []


def test_not_the_organizer_sends_nothing() -> None:
    assert messages_for_write(None, BASE, organizer="bob@example.org", skip=()) == []
    assert messages_for_delete(BASE, organizer="bob@example.org", skip=()) == []


# --------------------------------------------------------------------------
# Changes


def test_unchanged_resave_sends_nothing() -> None:
    assert write(BASE, BASE) == []
    assert write(BASE, with_sequence(BASE, BASE)) == []


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("TRIGGER:-PT15M", "TRIGGER:-PT30M"),  # the organizer's alarm
        ("CATEGORIES:Work", "CATEGORIES:Home"),
        ("TRANSP:OPAQUE", "TRANSP:TRANSPARENT"),
        ("CLASS:PUBLIC", "CLASS:PRIVATE"),
        ("DTSTAMP:20260101T000000Z", "DTSTAMP:20260301T000000Z"),
        ("CLASS:PUBLIC", "CLASS:PUBLIC\nLAST-MODIFIED:20260301T000000Z"),
        ("X-EASGW-RESPONSE-TYPE:1", "X-EASGW-RESPONSE-TYPE:3"),
        ("CLASS:PUBLIC", "CLASS:PUBLIC\nX-MOZ-GENERATION:4\nSEQUENCE:0"),
        ("PARTSTAT=NEEDS-ACTION;SCHEDULE", "PARTSTAT=ACCEPTED;SCHEDULE"),  # Bob answered
        (  # the same instants, written in UTC
            "DTSTART;TZID=Europe/Paris:20260105T100000",
            "DTSTART:20260105T090000Z",
        ),
        ("DTEND;TZID=Europe/Paris:20260105T110000", "DURATION:PT1H"),  # the same end
        ("FREQ=WEEKLY;COUNT=10", "COUNT=10;FREQ=WEEKLY"),  # same rule, other order
        ("\nATTENDEE;CUTYPE=ROOM;", "\nATTENDEE;CN=Room;CUTYPE=ROOM;"),
    ],
)
def test_changes_attendees_do_not_see_send_nothing(old: str, new: str) -> None:
    assert old in MASTER
    assert write(BASE, calendar(MASTER.replace(old, new), OVERRIDE)) == []


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("SUMMARY:Planning", "SUMMARY:Planning v2"),
        ("LOCATION:Room 1", "LOCATION:Room 2"),
        ("DESCRIPTION:Agenda", "DESCRIPTION:New agenda"),
        ("T100000\nDTEND", "T103000\nDTEND"),
        ("T110000", "T113000"),
        ("COUNT=10", "COUNT=12"),
        # An EXDATE alone cancels that occurrence: tests/protocol/test_itip_occurrences.py.
        ("CLASS:PUBLIC", "CLASS:PUBLIC\nRDATE;TZID=Europe/Paris:20260120T100000"),
        ("CLASS:PUBLIC", "CLASS:PUBLIC\nSTATUS:TENTATIVE"),
        ("meet.example/abc\nX-EASGW-CONFERENCE-ID", "meet.example/xyz\nX-EASGW-CONFERENCE-ID"),
        ("LABEL=Meet:https://meet.example/abc", "LABEL=Meet:https://meet.example/new"),
    ],
)
def test_visible_change_updates_every_attendee(old: str, new: str) -> None:
    assert old in MASTER
    [message] = write(BASE, calendar(MASTER.replace(old, new), OVERRIDE))
    assert message.method == "REQUEST" and message.update
    assert message.recipients == ("Bob@Example.org", "carol@example.net", "dan@example.com")
    assert len(vevents(message)) == 2


DAN = MASTER.replace("\nCONFERENCE", "\nATTENDEE;CN=Dan:mailto:dan@example.com\nCONFERENCE")


@pytest.mark.parametrize(
    "after",
    [
        calendar(DAN),  # override removed
        calendar(DAN, OVERRIDE.replace("T140000", "T160000")),  # override moved
        calendar(DAN, OVERRIDE.replace("(moved)", "(renamed)")),
        calendar(DAN, OVERRIDE, OVERRIDE.replace("20260112T1", "20260126T1")),  # added
    ],
)
def test_override_changes_update(after: str) -> None:
    messages = write(calendar(DAN, OVERRIDE), after)
    assert [(m.method, m.update) for m in messages] == [("REQUEST", True)]


def test_added_attendee_alone_gets_the_invitation() -> None:
    after = calendar(
        MASTER.replace("\nCONFERENCE", "\nATTENDEE:mailto:Erin@example.com\nCONFERENCE"), OVERRIDE
    )
    [message] = write(BASE, after)
    assert (message.method, message.update, message.recipients) == (
        "REQUEST",
        False,
        ("Erin@example.com",),
    )
    assert "mailto:Erin@example.com" in attendees(vevents(message)[0])


def test_removed_attendee_alone_gets_a_cancel() -> None:
    before = with_sequence(
        None, BASE.replace("UID:meeting-1\r\nDTSTAMP", "UID:meeting-1\r\nSEQUENCE:3\r\nDTSTAMP", 1)
    )
    lines = [x for x in before.split("\r\n") if "carol@" not in x]
    [message] = write(before, "\r\n".join(lines))
    assert (message.method, message.recipients) == ("CANCEL", ("carol@example.net",))
    [event] = vevents(message)
    assert str(event["UID"]) == "meeting-1" and "RECURRENCE-ID" not in event
    assert str(event["STATUS"]) == "CANCELLED" and sequence(event) == 4
    assert attendees(event) == ["mailto:carol@example.net"]  # only those cancelled
    assert not event.walk("VALARM")


def test_removed_and_moved() -> None:
    after = calendar(
        MASTER.replace("T110000", "T120000"),
        OVERRIDE.replace("ATTENDEE;CN=Dan:mailto:dan@example.com\n", ""),
    )
    messages = write(BASE, after)
    assert [(m.method, m.update, m.recipients) for m in messages] == [
        ("CANCEL", False, ("dan@example.com",)),
        ("REQUEST", True, ("Bob@Example.org", "carol@example.net")),
    ]
    assert all(sequence(e) == 1 for m in messages for e in vevents(m)[:1])


def test_attendee_marked_unscheduled_is_not_cancelled() -> None:
    after = BASE.replace("CN=Carol;", "CN=Carol;SCHEDULE-AGENT=NONE;")
    assert write(BASE, after) == []


def test_cancelled_status_cancels_everyone_once() -> None:
    after = calendar(MASTER.replace("CLASS:PUBLIC", "CLASS:PUBLIC\nSTATUS:CANCELLED"), OVERRIDE)
    [message] = write(BASE, after)
    assert message.method == "CANCEL"
    assert message.recipients == ("Bob@Example.org", "carol@example.net", "dan@example.com")
    [event] = vevents(message)
    assert str(event["STATUS"]) == "CANCELLED" and sequence(event) == 1
    assert write(with_sequence(BASE, after), after) == []  # saved again: already told
    assert write(None, after) == []  # never invited: nothing to cancel


def test_delete_cancels_everyone() -> None:
    before = BASE.replace("UID:meeting-1\r\nDTSTAMP", "UID:meeting-1\r\nSEQUENCE:2\r\nDTSTAMP", 1)
    [message] = messages_for_delete(before, organizer="ALICE@example.com", skip=SKIP)
    assert message.method == "CANCEL" and message.summary == "Planning"
    assert message.recipients == ("Bob@Example.org", "carol@example.net", "dan@example.com")
    [event] = vevents(message)
    assert sequence(event) == 3 and str(event["STATUS"]) == "CANCELLED"
    assert not any("conf@" in a.lower() for a in attendees(event))
    assert "X-EASGW-RESPONSE-TYPE" not in event and "X-EASGW-CONFERENCE" in event


def test_delete_of_a_cancelled_meeting_sends_nothing() -> None:
    cancelled = calendar(MASTER.replace("CLASS:PUBLIC", "STATUS:CANCELLED"))
    assert messages_for_delete(cancelled, organizer=ORGANIZER, skip=SKIP) == []


# --------------------------------------------------------------------------
# SEQUENCE


UNREADABLE = "expected one component|could not be parsed"


@pytest.mark.parametrize("text", ["", "garbage", "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n"])
def test_unreadable_raises_value_error(text: str) -> None:
    with pytest.raises(ValueError, match=UNREADABLE):
        organizer_of(text)
    with pytest.raises(ValueError, match=UNREADABLE):
        write(None, text)
    with pytest.raises(ValueError, match=UNREADABLE):
        write(text, BASE)
    with pytest.raises(ValueError, match=UNREADABLE):
        messages_for_delete(text, organizer=ORGANIZER, skip=())
    with pytest.raises(ValueError, match=UNREADABLE):
        with_sequence(None, text)
    with pytest.raises(ValueError, match=UNREADABLE):
        reply_message(text, attendee="bob@example.org", partstat="ACCEPTED")


# --------------------------------------------------------------------------
# Properties

PEOPLE = ["bob@example.org", "Carol@example.net", "dan@example.com", "conf@example.com"]


@st.composite
def events(draw: st.DrawFn) -> str:
    start = datetime(2020, 1, 1, tzinfo=UTC) + timedelta(minutes=draw(st.integers(0, 5_000_000)))
    length = timedelta(minutes=draw(st.integers(0, 24 * 60)))
    zoned = draw(st.booleans())
    fmt = "%Y%m%dT%H%M%S"
    when = (
        f"DTSTART;TZID=Europe/Paris:{start:{fmt}}\nDTEND;TZID=Europe/Paris:{start + length:{fmt}}"
        if zoned
        else f"DTSTART:{start:{fmt}}Z\nDURATION:PT{int(length.total_seconds())}S"
    )
    title = draw(
        st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=40)
    )
    title = title.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    guests = draw(st.lists(st.sampled_from(PEOPLE), unique=True))
    agent = draw(st.sampled_from(["", ";SCHEDULE-AGENT=NONE", ";SCHEDULE-AGENT=SERVER"]))
    lines = [
        "BEGIN:VEVENT",
        "UID:p-1",
        "DTSTAMP:20260101T000000Z",
        when,
        f"SUMMARY:{title}",
        "ORGANIZER:mailto:alice@example.com",
        *(f"ATTENDEE{agent if i == 0 else ''}:mailto:{g}" for i, g in enumerate(guests)),
    ]
    if draw(st.booleans()):
        lines.append("RRULE:FREQ=DAILY;COUNT=5")
        for day in draw(st.lists(st.integers(1, 4), unique=True, max_size=2)):
            gone = start + timedelta(days=day)  # a deleted occurrence (EXDATE)
            zone = ";TZID=Europe/Paris" if zoned else ""
            lines.append(f"EXDATE{zone}:{gone:{fmt}}{'' if zoned else 'Z'}")
    if draw(st.booleans()):
        lines.append("BEGIN:VALARM\nACTION:DISPLAY\nTRIGGER:-PT5M\nDESCRIPTION:x\nEND:VALARM")
    lines.append("END:VEVENT")
    return calendar("\n".join(lines) + "\n")


@given(events())
def test_resaving_the_same_event_sends_nothing(event: str) -> None:
    assert messages_for_write(event, event, organizer=ORGANIZER, skip=SKIP) == []
    assert with_sequence(event, event) is event


@given(events(), events())
def test_every_message_parses_with_its_method(before: str, after: str) -> None:
    messages = [
        *messages_for_write(None, after, organizer=ORGANIZER, skip=SKIP),
        *messages_for_write(before, after, organizer=ORGANIZER, skip=SKIP),
        *messages_for_delete(before, organizer=ORGANIZER, skip=SKIP),
    ]
    for message in messages:
        for event in vevents(message):  # read() checks METHOD == .method
            assert not event.walk("VALARM")
        assert all(
            r.lower() not in ("alice@example.com", "conf@example.com") for r in message.recipients
        )
        assert len({r.lower() for r in message.recipients}) == len(message.recipients) > 0
    reply = reply_message(after, attendee="bob@example.org", partstat="ACCEPTED")
    assert reply is not None and reply.recipients == ("alice@example.com",)
    [event] = vevents(reply)
    assert str(event["ATTENDEE"]) == "mailto:bob@example.org"


def test_every_guest_removed_without_organizer_still_cancels() -> None:
    # A 16.x phone never sends the ORGANIZER; with no ATTENDEE left, none is added.
    bare = [x for x in MASTER.splitlines() if not x.startswith(("ATTENDEE", "ORGANIZER"))]
    [message] = write(BASE, calendar("\n".join(bare) + "\n"))
    assert message.method == "CANCEL"
    assert message.recipients == ("Bob@Example.org", "carol@example.net", "dan@example.com")


def test_override_without_organizer_gets_the_masters() -> None:
    override = OVERRIDE.replace("ORGANIZER;CN=Alice:mailto:Alice@example.com\n", "")
    [message] = write(None, calendar(MASTER, override))
    assert [str(e["ORGANIZER"]) for e in vevents(message)] == ["mailto:Alice@example.com"] * 2
