"""A Change merged into the event the store already holds (ghosting per version, the
Supported list, properties EAS cannot carry), and stored text the gateway cannot read.

The merge has to keep what the phone never saw (X- properties, alarms, attachments,
attendee replies) while applying what it did send: the Supported list (MS-ASCMD
2.2.3.179) and the ghosting rules (MS-ASCAL 3.1.5.3) decide what an omitted element means.
Split from test_calendar_ical.py by theme; shared helpers are imported from there."""

from __future__ import annotations

from datetime import UTC, date, datetime

import icalendar
import pytest
from lxml import etree

from protocol import wbxml
from protocol.calendar.ical import ical_to_item, item_to_ical
from protocol.calendar.model import (
    Body,
    CalendarItem,
    ConversionError,
    parse_calendar,
    render_calendar,
)
from protocol.calendar.timezone import tzinfo_for_zone
from tests.protocol.test_calendar_ical import (
    CAL,
    NOW,
    VERSIONS,
    _all_day_14,
    _event,
    _meeting,
    _to_ical,
)

# --------------------------------------------------------------------------
# Change: merge with the stored event, ghosting per version

STORED = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//other//EN
BEGIN:VEVENT
UID:stored-uid-1
DTSTAMP:20261101T000000Z
DTSTART;TZID=Europe/Berlin:20261125T110000
DTEND;TZID=Europe/Berlin:20261125T120000
SUMMARY:Project review
LOCATION:Room 4.12
DESCRIPTION:Join: https://meet.example.com/abc
CATEGORIES:Work
CLASS:PRIVATE
CONFERENCE;VALUE=URI;FEATURE=VIDEO:https://meet.example.com/abc
ATTACH:https://files.example.com/agenda.pdf
X-FOO:bar
X-MICROSOFT-ONLINEMEETINGCONFLINK:sip:alice@example.com;gruu
BEGIN:VALARM
ACTION:DISPLAY
DESCRIPTION:Reminder
TRIGGER:-PT10M
END:VALARM
END:VEVENT
END:VCALENDAR
"""


def _change(version: str, *children: etree._Element) -> CalendarItem:
    root = etree.Element("{AirSync:}ApplicationData")
    root.extend(children)
    return parse_calendar(wbxml.decode(wbxml.encode(root)), version)


def _leaf(name: str, text: str | None) -> etree._Element:
    element = etree.Element(f"{CAL}{name}")
    element.text = text
    return element


def _location(version: str, text: str) -> etree._Element:
    if version.startswith("16"):
        element = etree.Element("{AirSyncBase:}Location")
        name = etree.SubElement(element, "{AirSyncBase:}DisplayName")
        name.text = text
        return element
    return _leaf("Location", text)


def _merge(version: str, item: CalendarItem, supported: frozenset[str] | None) -> icalendar.Event:
    text = item_to_ical(item, version=version, stored=STORED, supported=supported, now=NOW)
    return _event(text)


@pytest.mark.parametrize("version", VERSIONS)
def test_unrepresentable_properties_survive_a_change(version: str) -> None:
    event = _merge(version, _change(version, _leaf("Subject", "Renamed")), None)
    assert event["SUMMARY"] == "Renamed"
    assert event["X-FOO"] == "bar"
    assert str(event["CONFERENCE"]) == "https://meet.example.com/abc"
    assert str(event["ATTACH"]) == "https://files.example.com/agenda.pdf"
    assert event["X-MICROSOFT-ONLINEMEETINGCONFLINK"] == "sip:alice@example.com;gruu"
    assert event["UID"] == "stored-uid-1"
    assert event.decoded("DTSTART") == datetime(2026, 11, 25, 10, tzinfo=UTC)
    assert event["DTSTART"].params["TZID"] == "Europe/Berlin"


@pytest.mark.parametrize("version", ["16.0", "16.1"])
def test_sixteen_ghosts_every_omitted_element(version: str) -> None:
    event = _merge(version, _change(version, _leaf("Subject", "Renamed")), None)
    assert event["LOCATION"] == "Room 4.12"
    assert event["CATEGORIES"].cats == ["Work"]
    assert event["CLASS"] == "PRIVATE"
    assert len(event.walk("VALARM")) == 1


@pytest.mark.parametrize("version", ["12.0", "12.1", "14.0", "14.1"])
def test_without_a_supported_list_omitted_elements_are_deleted(version: str) -> None:
    event = _merge(version, _change(version, _leaf("Subject", "Renamed")), None)
    assert "LOCATION" not in event
    assert "CATEGORIES" not in event
    assert "CLASS" not in event
    assert not event.walk("VALARM")
    assert "DESCRIPTION" not in event
    assert "X-FOO" in event  # server-owned and unrepresentable: kept whatever the rule


@pytest.mark.parametrize("version", ["12.1", "14.1"])
def test_supported_list_decides_what_an_omission_deletes(version: str) -> None:
    supported = frozenset({"Location", "Categories"})
    event = _merge(version, _change(version, _leaf("Subject", "Renamed")), supported)
    assert "LOCATION" not in event  # declared and omitted: deleted
    assert "CATEGORIES" not in event
    assert event["CLASS"] == "PRIVATE"  # not declared: ghosted, kept
    assert event["DESCRIPTION"] == "Join: https://meet.example.com/abc"
    assert len(event.walk("VALARM")) == 1


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("supported", [None, frozenset({"Subject"})])
def test_a_phone_can_clear_the_location(version: str, supported: frozenset[str] | None) -> None:
    item = _change(version, _location(version, ""))
    assert item.location == ""
    event = _merge(version, item, supported)
    assert "LOCATION" not in event
    assert ("SUMMARY" in event) == version.startswith("16")  # omitted: kept only in 16.x
    assert event["X-FOO"] == "bar"


def test_a_truncated_body_does_not_overwrite_the_stored_text() -> None:
    item = CalendarItem(
        body=Body(type=1, data="Join: https://me", truncated=True),
        present=frozenset({"Body"}),
    )
    event = _merge("16.1", item, None)
    assert event["DESCRIPTION"] == "Join: https://meet.example.com/abc"


def test_moving_the_event_keeps_the_stored_zone_name() -> None:
    item = _change(
        "14.1",
        _leaf("Timezone", tzinfo_for_zone("Europe/Berlin", 2026).to_base64()),
        _leaf("StartTime", "20261126T090000Z"),
        _leaf("EndTime", "20261126T100000Z"),
    )
    event = _merge("14.1", item, frozenset())
    assert event["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert event.decoded("DTSTART") == datetime(2026, 11, 26, 9, tzinfo=UTC)


def test_sixteen_add_gets_a_server_uid_and_keeps_the_client_uid() -> None:
    item = CalendarItem(
        start_time=datetime(2026, 11, 26, 12, tzinfo=UTC),
        end_time=datetime(2026, 11, 26, 13, tzinfo=UTC),
        client_uid="F7C1E5B2-0A9D",
        subject="Lunch",
    )
    event = _event(_to_ical(item, "16.1"))
    assert event["UID"]
    assert event["X-EASGW-CLIENT-UID"] == "F7C1E5B2-0A9D"
    back = ical_to_item(_to_ical(item, "16.1"), version="16.1", body_preference=None)
    uid_element = [e for e in render_calendar(back, "16.1") if etree.QName(e).localname == "UID"]
    assert uid_element
    assert uid_element[0].text


def test_server_owned_links_reach_the_phone() -> None:
    item = ical_to_item(STORED, version="14.1", body_preference=None)
    assert item.online_meeting_external_link == "https://meet.example.com/abc"
    assert item.online_meeting_conf_link == "sip:alice@example.com;gruu"
    names = [etree.QName(e).localname for e in render_calendar(item, "14.1")]
    assert names[-2:] == ["OnlineMeetingConfLink", "OnlineMeetingExternalLink"]
    assert "OnlineMeetingExternalLink" not in [
        etree.QName(e).localname for e in render_calendar(item, "14.0")
    ]


def test_rescheduling_bumps_sequence_and_last_modified() -> None:
    item = _change("16.1", _leaf("StartTime", "20261126T090000Z"))
    event = _merge("16.1", item, None)
    assert event["SEQUENCE"] == 1
    assert event.decoded("LAST-MODIFIED") == NOW
    renamed = _merge("16.1", _change("16.1", _leaf("Subject", "x")), None)
    assert "SEQUENCE" not in renamed
    # A phone resends StartTime with every Change (14.1: the whole item): the same
    # time again is no rescheduling.
    moved = item_to_ical(item, version="16.1", stored=STORED, supported=None, now=NOW)
    again = item_to_ical(
        _change("16.1", _leaf("StartTime", "20261126T090000Z"), _leaf("Subject", "y")),
        version="16.1",
        stored=moved,
        supported=None,
        now=NOW,
    )
    assert _event(again)["SEQUENCE"] == 1 and _event(again)["SUMMARY"] == "y"


def test_a_body_without_data_keeps_the_stored_text() -> None:
    body = etree.Element("{AirSyncBase:}Body")
    etree.SubElement(body, "{AirSyncBase:}Type").text = "1"
    item = _change("14.1", body, _leaf("Subject", "Renamed"))
    assert "Body" in item.present
    event = _merge("14.1", item, None)
    assert event["DESCRIPTION"] == "Join: https://meet.example.com/abc"
    empty = etree.Element("{AirSyncBase:}Body")
    etree.SubElement(empty, "{AirSyncBase:}Data").text = ""
    cleared = _merge("14.1", _change("14.1", empty), None)
    assert "DESCRIPTION" not in cleared


@pytest.mark.parametrize("zone", ["Pacific/Auckland", "America/Los_Angeles", "Pacific/Kiritimati"])
def test_sixteen_all_day_move_without_all_day_flag_keeps_the_date(zone: str) -> None:
    """A 16.x Change sends StartTime/EndTime (UTC midnight dates) and ghosts AllDayEvent."""
    stored = _to_ical(_all_day_14(zone, date(2026, 1, 15)), "14.1")
    item = _change(
        "16.1", _leaf("StartTime", "20260120T000000Z"), _leaf("EndTime", "20260121T000000Z")
    )
    event = _event(item_to_ical(item, version="16.1", stored=stored, supported=None, now=NOW))
    assert event.decoded("DTSTART") == date(2026, 1, 20)
    assert event.decoded("DTEND") == date(2026, 1, 21)


def test_attendees_resent_without_status_keep_their_replies() -> None:
    stored = _to_ical(_meeting())
    attendees = etree.Element(f"{CAL}Attendees")
    for email in ("bob@example.com", "eve@example.com"):
        attendee = etree.SubElement(attendees, f"{CAL}Attendee")
        etree.SubElement(attendee, f"{CAL}Email").text = email
        etree.SubElement(attendee, f"{CAL}Name").text = email[:3]
    item = _change("14.1", attendees)
    event = _event(item_to_ical(item, version="14.1", stored=stored, supported=None, now=NOW))
    params = {str(a): a.params for a in event["ATTENDEE"]}
    assert params["mailto:bob@example.com"]["PARTSTAT"] == "ACCEPTED"
    assert "PARTSTAT" not in params["mailto:eve@example.com"]
    assert "mailto:carla@example.com" not in params


# --------------------------------------------------------------------------
# Unreadable input, and stored text read by a rule (floating times are UTC)


def test_unreadable_ical_is_a_conversion_error() -> None:
    with pytest.raises(ConversionError):
        ical_to_item("this is not a calendar", version="14.1", body_preference=None)
    with pytest.raises(ConversionError):
        ical_to_item(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n",
            version="14.1",
            body_preference=None,
        )


def test_an_add_without_start_time_is_a_conversion_error() -> None:
    with pytest.raises(ConversionError):
        _to_ical(CalendarItem(subject="When?"))


@pytest.mark.parametrize(
    "stored",
    [
        "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:garbage\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    ],
)
def test_broken_stored_events_are_conversion_errors(stored: str) -> None:
    with pytest.raises(ConversionError):
        ical_to_item(stored, version="14.1", body_preference=None)


def test_floating_times_are_read_as_utc() -> None:
    text = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:f\r\n"
        "DTSTAMP:20260101T000000Z\r\nDTSTART:20260105T090000\r\nDTEND:20260105T100000\r\n"
        "SUMMARY:Floating\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    item = ical_to_item(text, version="14.1", body_preference=None)
    assert item.start_time == datetime(2026, 1, 5, 9, tzinfo=UTC)
    assert item.end_time == datetime(2026, 1, 5, 10, tzinfo=UTC)
