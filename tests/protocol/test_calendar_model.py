"""Calendar ApplicationData <-> CalendarItem (MS-ASCAL 2.2.2), 12.0..16.1."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from lxml import etree

from protocol import wbxml
from protocol.calendar.body import body_for_preference, html_to_text, text_to_html
from protocol.calendar.model import (
    Attendee,
    Body,
    BodyPreference,
    CalendarItem,
    ConversionError,
    parse_calendar,
    render_calendar,
)
from protocol.calendar.recurrence import ExceptionData, Recurrence, RecurrenceType
from protocol.calendar.timezone import TimeZoneInfo
from tests.conftest import VECTORS

CORPUS = Path(__file__).parent / "corpus"
VERSIONS = ("12.0", "12.1", "14.0", "14.1", "16.0", "16.1")
BERLIN = (
    "xP///1cALgAgAEUAdQByAG8AcABlACAAUwB0AGEAbgBkAGEAcgBkACAAVABpAG0AZQAAAAAAAAAAAAAAAAAAAAAAAAAA"
    "AAoAAAAFAAMAAAAAAAAAAAAAAFcALgAgAEUAdQByAG8AcABlACAARABhAHkAbABpAGcAaAB0ACAAVABpAG0AZQAAAAAA"
    "AAAAAAAAAAAAAAAAAAAAAAMAAAAFAAIAAAAAAAAAxP///w=="
)
CAL = "{Calendar:}"
BASE = "{AirSyncBase:}"


def _application_data(path: str) -> list[etree._Element]:
    tree = etree.parse(str(CORPUS / path))
    return list(tree.iter("{AirSync:}ApplicationData"))


def _wrap(children: list[etree._Element]) -> etree._Element:
    root = etree.Element("{AirSync:}ApplicationData")
    root.extend(children)
    return root


def _through_wbxml(children: list[etree._Element]) -> etree._Element:
    """Encode and decode: the tree a real device would have sent."""
    return wbxml.decode(wbxml.encode(_wrap(children)))


def _canonical(element: etree._Element) -> list[tuple[str, str]]:
    """(tag, text) for every element in document order, whitespace-only text ignored."""
    return [
        (etree.QName(e).text, (e.text or "").strip())
        for e in element.iter()
        if isinstance(e.tag, str)
    ]


def _full_item(version: str) -> CalendarItem:
    sixteen = version.startswith("16")
    return CalendarItem(
        timezone=TimeZoneInfo.from_base64(BERLIN),
        all_day=False,
        start_time=datetime(2026, 11, 25, 10, tzinfo=UTC),
        end_time=datetime(2026, 11, 25, 11, tzinfo=UTC),
        dt_stamp=datetime(2026, 11, 20, 8, 30, 12, tzinfo=UTC),
        subject="Project review & <budget>",
        location="Room 4.12 \u2013 Kurfürstendamm",
        body=Body(type=1, data="Agenda\r\n1. Status", estimated_size=17, truncated=False),
        organizer_name="Alice Schmidt",
        organizer_email="alice@example.com",
        attendees=(
            Attendee(email="bob@example.com", name="Bob", status=3, type=1),
            Attendee(email="room@example.com", name="Room", status=0, type=3),
        ),
        busy_status=2,
        sensitivity=1,
        reminder=15,
        categories=("Work", "Q1, planning"),
        meeting_status=1,
        response_requested=True,
        response_type=1,
        appointment_reply_time=datetime(2026, 11, 21, 12, tzinfo=UTC),
        disallow_new_time_proposal=False,
        uid="040000008200E00074C5B7101A82E008",
        recurrence=Recurrence(
            type=RecurrenceType.WEEKLY,
            interval=1,
            day_of_week=8,
            until=datetime(2027, 3, 31, 10, tzinfo=UTC),
        ),
        exceptions=(
            ExceptionData(original_start=datetime(2026, 12, 9, 10, tzinfo=UTC), deleted=True),
        ),
        online_meeting_conf_link="sip:alice@example.com;gruu;opaque=app:conf:focus:id:7F",
        online_meeting_external_link="https://meet.example.com/x" if not sixteen else "https://m/y",
        native_body_type=2,
    )


def _expected(item: CalendarItem, version: str) -> CalendarItem:
    """What survives rendering at ``version`` (elements the version lacks are dropped)."""
    major_minor = tuple(int(p) for p in version.split("."))
    drop: dict[str, object] = {}
    if major_minor < (14, 0):
        drop |= dict.fromkeys(
            (
                "response_requested",
                "response_type",
                "appointment_reply_time",
                "disallow_new_time_proposal",
            )
        )
    if major_minor < (14, 1):
        drop |= dict.fromkeys(("online_meeting_conf_link", "online_meeting_external_link"))
    return dataclasses.replace(item, **drop)  # type: ignore[arg-type]


def _without_present(item: CalendarItem) -> CalendarItem:
    return dataclasses.replace(item, present=frozenset())


@pytest.mark.parametrize("version", VERSIONS)
def test_every_element_round_trips(version: str) -> None:
    item = _full_item(version)
    parsed = parse_calendar(_through_wbxml(render_calendar(item, version)), version, response=True)
    assert _without_present(parsed) == _expected(item, version)


@pytest.mark.parametrize("version", VERSIONS)
def test_requests_never_carry_server_only_elements(version: str) -> None:
    item = _full_item(version)
    parsed = parse_calendar(_through_wbxml(render_calendar(item, version)), version)
    assert parsed.online_meeting_conf_link is None
    assert parsed.online_meeting_external_link is None
    assert "OnlineMeetingExternalLink" not in parsed.present
    # 16.x clients send ClientUid, never UID (MS-ASCAL 2.2.2.10): a request's UID is ignored.
    assert (parsed.uid is None) == version.startswith("16")


def test_location_element_per_version() -> None:
    item = CalendarItem(location="Café")
    (old,) = render_calendar(item, "14.1")
    (new,) = render_calendar(item, "16.1")
    assert old.tag == f"{CAL}Location"
    assert old.text == "Café"
    assert new.tag == f"{BASE}Location"
    assert new[0].tag == f"{BASE}DisplayName"
    assert new[0].text == "Café"


def test_exchange_order_14_1_matches_the_corpus() -> None:
    for application_data in _application_data("sync-response-calendar.xml"):
        item = parse_calendar(application_data, "14.1", response=True)
        rendered = render_calendar(item, "14.1")
        sent = [e for e in application_data if isinstance(e.tag, str)]
        assert [e.tag for e in rendered] == [e.tag for e in sent]
        for mine, theirs in zip(rendered, sent, strict=True):
            if mine.tag not in {f"{CAL}Exceptions", f"{CAL}Recurrence"}:  # recurrence.py's
                assert _canonical(mine) == _canonical(theirs)


def test_exchange_order_16_1_matches_the_corpus() -> None:
    (application_data,) = _application_data("sync-response-calendar-16.xml")
    item = parse_calendar(application_data, "16.1", response=True)
    rendered = [etree.QName(e).text for e in render_calendar(item, "16.1")]
    sent = [etree.QName(e).text for e in application_data if isinstance(e.tag, str)]
    assert rendered == [tag for tag in sent if tag != f"{BASE}Attachments"]
    assert item.location == "Video meeting"
    assert item.uid == "3E0A8F3C2B1D4A5E9F7C6B5A4D3E2F1A"
    assert item.exceptions is not None
    assert len(item.exceptions) == 2


def test_sixteen_request_with_client_uid_and_location() -> None:
    (application_data,) = _application_data("sync-request-calendar-add-16.xml")
    item = parse_calendar(application_data, "16.1")
    assert item.client_uid == "F7C1E5B2-0A9D-4E38-B6C4-3D2E1F0A9B8C"
    assert item.location == "Café Einstein"
    assert item.attendees == (Attendee(email="carla.diaz@example.com", name="Carla Díaz", type=1),)
    assert item.body == Body(type=1, data="Lunch with the design team.")
    assert item.start_time == datetime(2026, 11, 26, 12, tzinfo=UTC)
    assert "ClientUid" in item.present
    assert "Attachments" not in item.present


def test_change_that_clears_the_location_is_recorded_as_present() -> None:
    series, instance = _application_data("sync-request-calendar-change.xml")
    item = parse_calendar(series, "16.1")
    assert item.location == ""
    assert item.present == {"Subject", "Location", "Reminder"}
    single = parse_calendar(instance, "16.1")
    assert single.instance_id == datetime(2026, 12, 2, 10, tzinfo=UTC)
    assert single.busy_status == 1
    assert "InstanceId" in single.present


def test_empty_location_tag_from_android_is_an_empty_value() -> None:
    _series, all_day = _application_data("sync-request-calendar-add.xml")
    item = parse_calendar(all_day, "14.1")
    assert item.location == ""
    assert "Location" in item.present


def test_sixteen_all_day_uses_dates_without_timezone() -> None:
    item = CalendarItem(
        timezone=TimeZoneInfo.from_base64(BERLIN),
        all_day=True,
        start_time=date(2026, 12, 24),
        end_time=date(2026, 12, 25),
    )
    rendered = render_calendar(item, "16.1")
    names = {etree.QName(e).localname: e.text for e in rendered}
    assert "Timezone" not in names
    assert names["StartTime"] == "20261224T000000Z"
    parsed = parse_calendar(_through_wbxml(rendered), "16.1")
    assert parsed.start_time == date(2026, 12, 24)
    assert parsed.end_time == date(2026, 12, 25)


def test_sixteen_all_day_at_local_midnight_is_read_as_the_local_date() -> None:
    children = [
        _leaf("Timezone", BERLIN),
        _leaf("AllDayEvent", "1"),
        _leaf("StartTime", "20261223T230000Z"),
        _leaf("EndTime", "20261224T230000Z"),
    ]
    item = parse_calendar(_wrap(children), "16.0")
    assert item.start_time == date(2026, 12, 24)
    assert item.end_time == date(2026, 12, 25)


def _leaf(name: str, text: str, namespace: str = CAL) -> etree._Element:
    element = etree.Element(f"{namespace}{name}")
    element.text = text
    return element


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("StartTime", "2026-13-45"),
        ("StartTime", "20261332T100000Z"),
        ("DtStamp", "yesterday"),
        ("Timezone", "not base64!"),
        ("Timezone", "AAAA"),
        ("Reminder", "soon"),
        ("BusyStatus", "2.5"),
    ],
)
def test_unreadable_values_raise_conversion_error(name: str, text: str) -> None:
    with pytest.raises(ConversionError):
        parse_calendar(_wrap([_leaf(name, text)]), "14.1")


def test_bad_recurrence_is_a_conversion_error() -> None:
    recurrence = etree.Element(f"{CAL}Recurrence")
    recurrence.append(_leaf("Type", "weekly"))
    with pytest.raises(ConversionError):
        parse_calendar(_wrap([recurrence]), "14.1")


def test_extended_date_format_is_accepted() -> None:
    item = parse_calendar(_wrap([_leaf("StartTime", "2026-11-25T10:00:00.000Z")]), "14.1")
    assert item.start_time == datetime(2026, 11, 25, 10, tzinfo=UTC)


needs_vectors = pytest.mark.skipif(not VECTORS.is_dir(), reason=f"{VECTORS} is absent")


@needs_vectors
def test_horde_vectors_with_the_legacy_body() -> None:
    data = (VECTORS / "horde" / "appointment.wbxml").read_bytes()
    item = parse_calendar(wbxml.decode(wbxml.HEADER + data), "12.1")
    assert item.subject == "Event Title"
    assert item.location == "Philadelphia, PA"
    assert item.body == Body(type=1, data="Event Description")
    assert item.start_time == datetime(2011, 12, 1, 20, tzinfo=UTC)
    assert item.timezone is not None
    assert item.timezone.bias == 300


# --------------------------------------------------------------------------
# Bodies


def test_html_to_text_and_back() -> None:
    html = (
        "<html><head><style>p{}</style></head>"
        "<body><p>Hello&nbsp;<b>you</b></p>line<br>two</body></html>"
    )
    assert html_to_text(html) == "Hello\xa0you\nline\ntwo"
    assert text_to_html("a < b\nc") == "<html><body>a &lt; b<br>\nc</body></html>"


def test_body_preference_truncates_on_a_character_boundary() -> None:
    body = body_for_preference("Grüße aus Köln", None, BodyPreference(type=1, truncation_size=4))
    assert body == Body(type=1, data="Grü", estimated_size=17, truncated=True)


def test_body_preference_html_from_plain_and_all_or_none() -> None:
    html = body_for_preference("a\nb", None, BodyPreference(type=2))
    assert html.type == 2
    assert "a<br>" in html.data
    none = body_for_preference(
        "x" * 50, None, BodyPreference(type=1, truncation_size=10, all_or_none=True)
    )
    assert none.data == ""
    assert none.truncated
    assert none.estimated_size == 50


def test_body_preference_plain_from_html_and_preview() -> None:
    body = body_for_preference("", "<p>Join</p><p>now</p>", BodyPreference(type=1, preview=3))
    assert body.data == "Join\n\nnow"
    assert body.preview == "Joi"
