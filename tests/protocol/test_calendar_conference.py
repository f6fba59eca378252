"""protocol.calendar.conference: the description block and the link's properties."""

from __future__ import annotations

import icalendar
import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.calendar.body import html_to_text
from protocol.calendar.conference import (
    MARK_END,
    MARK_START,
    EmbeddedLink,
    carried_link,
    embed_html,
    embed_link,
    embed_text,
    mark_unscheduled,
    render_block,
    render_block_html,
    strip_html,
    strip_link,
    strip_text,
)
from protocol.calendar.ical import ical_to_item
from protocol.calendar.model import render_calendar

URL = "https://meet.example.com/0123456789abcdef0123456789abcdef"
TEXT = f"Join the video conference: {URL}\nOrganizer: Alice"
BLOCK = f"{MARK_START}\nJoin the video conference: {URL}\nOrganizer: Alice\n{MARK_END}"
LINK = EmbeddedLink(
    url=URL, conference_id=URL[-32:], provider_id="jitsi", label="Jitsi video", text=TEXT
)
# Body text a user may type: anything but the markers' tilde.
USER_TEXT = st.text(st.characters(blacklist_characters="~", blacklist_categories=("Cs",)))


def test_render_block() -> None:
    assert render_block(TEXT) == BLOCK
    assert render_block("a\n\n  \nb  ") == f"{MARK_START}\na\nb\n{MARK_END}"
    assert render_block(TEXT, "\r\n") == BLOCK.replace("\n", "\r\n")


@pytest.mark.parametrize(
    ("description", "expected"),
    [
        (BLOCK, ""),
        (f"{BLOCK}\n\nAgenda", "Agenda"),
        (f"{BLOCK}\n\n\nAgenda", "\nAgenda"),
        (BLOCK.replace("\n", "\r\n") + "\r\n\r\nAgenda\r\nItem", "Agenda\r\nItem"),
        (f"  {MARK_START}  \nJoin\n\t{MARK_END}\n\nAgenda", "Agenda"),  # blanks around markers
        (f"{BLOCK}\n\n{BLOCK}\n\nAgenda", "Agenda"),  # duplicated blocks all go
        (f"Agenda\n\n{BLOCK}\n\nMore", "Agenda\n\nMore"),  # moved by a user
        (f"{MARK_START}\nJoin the video conf\n\nAgenda", "Agenda"),  # cut after START
        (f"{MARK_START}\nJoin the video conf", ""),
        (f"Agenda\n{MARK_END}\nMore", "Agenda\nMore"),  # a lone END line
        ("Agenda ~~~ not a marker", "Agenda ~~~ not a marker"),
        ("", ""),
    ],
)
def test_strip_text(description: str, expected: str) -> None:
    assert strip_text(description) == expected


@pytest.mark.parametrize(
    ("description", "expected"),
    [
        (None, BLOCK),
        ("", BLOCK),
        ("Agenda", f"{BLOCK}\n\nAgenda"),
        (f"{BLOCK}\n\nAgenda", f"{BLOCK}\n\nAgenda"),
        (f"{MARK_START}\nold link\n{MARK_END}\n\nAgenda", f"{BLOCK}\n\nAgenda"),
        ("Agenda\r\nItem", BLOCK.replace("\n", "\r\n") + "\r\n\r\nAgenda\r\nItem"),
    ],
)
def test_embed_text(description: str | None, expected: str) -> None:
    assert embed_text(description, TEXT) == expected


@given(USER_TEXT)
def test_embedding_twice_is_embedding_once(text: str) -> None:
    once = embed_text(text, TEXT)
    assert embed_text(once, TEXT) == once
    assert once.count(MARK_START) == 1


@given(USER_TEXT)
def test_strip_keeps_the_users_text(text: str) -> None:
    assert strip_text(embed_text(text, TEXT)) == text
    assert strip_text(embed_text(embed_text(text, "old"), TEXT)) == text


@given(USER_TEXT)
def test_a_phone_sending_the_body_back_with_crlf_changes_nothing(text: str) -> None:
    held = embed_text(text.replace("\r\n", "\n"), TEXT).replace("\n", "\r\n")
    assert embed_text(held, TEXT) == held


def test_the_html_block_reads_as_the_plain_block() -> None:
    block = render_block_html(TEXT)
    assert f'<a href="{URL}">{URL}</a>' in block
    assert html_to_text(block) == BLOCK
    document = "<html><body><p>Agenda</p></body></html>"
    embedded = embed_html(document, TEXT)
    assert embedded.startswith('<html><body><div id="easgw-conference">')
    assert embed_html(embedded, TEXT) == embedded
    assert strip_html(embedded) == document
    assert strip_text(html_to_text(embedded)) == "Agenda"
    assert strip_html(embed_html("<b>no body tag</b>", TEXT)) == "<b>no body tag</b>"


@given(st.text(st.characters(blacklist_characters="~", blacklist_categories=("Cs",))))
def test_html_strip_keeps_the_document(document: str) -> None:
    assert strip_html(embed_html(document, TEXT)) == document


def _event(**properties: object) -> icalendar.Event:
    event = icalendar.Event()
    event.add("UID", "u1")
    event.add("DTSTART", icalendar.vDDDTypes.from_ical("20261201T100000Z"))
    event.add("DTEND", icalendar.vDDDTypes.from_ical("20261201T110000Z"))
    for name, value in properties.items():
        event.add(name.replace("_", "-"), value)
    return event


def test_embed_link_writes_every_property_once() -> None:
    event = _event(DESCRIPTION="Agenda", CONFERENCE="https://zoom.example/j/1")
    embed_link(event, LINK)
    embed_link(event, LINK)
    text = event.to_ical().decode().replace("\r\n ", "")
    assert (
        f"CONFERENCE;FEATURE=VIDEO;LABEL=Jitsi video;VALUE=URI:{URL}\r\n"
        "CONFERENCE:https://zoom.example/j/1" in text
    )  # ours first, the foreign one kept
    for line in (
        f"X-EASGW-CONFERENCE:{URL}",
        f"X-EASGW-CONFERENCE-ID:{URL[-32:]}",
        "X-EASGW-CONFERENCE-PROVIDER:jitsi",
        f"X-MICROSOFT-SKYPETEAMSMEETINGURL:{URL}",
        f"LOCATION:{URL}",
    ):
        assert text.count(line + "\r\n") == 1
    assert str(event["DESCRIPTION"]) == f"{BLOCK}\n\nAgenda"
    carried = carried_link(event)
    assert carried is not None
    assert (carried.url, carried.conference_id, carried.provider_id) == (URL, URL[-32:], "jitsi")


def test_the_phone_gets_the_link_from_14_1() -> None:
    calendar = icalendar.Calendar()
    calendar.add("VERSION", "2.0")
    event = _event(SUMMARY="Budget")
    embed_link(event, LINK)
    calendar.add_component(event)
    ical = calendar.to_ical().decode()
    item = ical_to_item(ical, version="14.1", body_preference=None)
    assert item.online_meeting_external_link == URL
    assert item.online_meeting_conf_link is None  # a SIP GRUU, never our URL
    assert item.location == URL
    assert item.body is not None and item.body.data.startswith(BLOCK)
    names = {element.tag for element in render_calendar(item, "14.1")}
    assert "{Calendar:}OnlineMeetingExternalLink" in names
    assert "{Calendar:}OnlineMeetingExternalLink" not in {
        element.tag for element in render_calendar(item, "14.0")
    }


@pytest.mark.parametrize(
    ("location", "fill", "after_embed", "after_strip"),
    [
        (None, True, URL, None),  # filled by the server, cleared with the link
        ("Room 1", True, "Room 1", "Room 1"),  # typed by the user: never touched
        (None, False, None, None),  # location = "never"
    ],
)
def test_location(location: str | None, fill: bool, after_embed: str, after_strip: str) -> None:
    event = _event(**({"LOCATION": location} if location else {}))
    link = EmbeddedLink(
        url=URL, conference_id="c", provider_id="p", label="L", text=TEXT, fill_location=fill
    )
    embed_link(event, link)
    assert event.get("LOCATION") == after_embed
    strip_link(event)
    assert event.get("LOCATION") == after_strip


def test_strip_link_restores_the_users_event() -> None:
    event = _event(DESCRIPTION="Agenda", CONFERENCE="https://zoom.example/j/1")
    html = "<html><body>Agenda</body></html>"
    event.add("X-ALT-DESC", html, parameters={"FMTTYPE": "text/html"})
    embed_link(event, LINK)
    assert str(event["X-ALT-DESC"]).startswith('<html><body><div id="easgw-conference">')
    strip_link(event)
    assert str(event["DESCRIPTION"]) == "Agenda"
    assert str(event["X-ALT-DESC"]) == html
    assert str(event["CONFERENCE"]) == "https://zoom.example/j/1"
    for name in ("X-EASGW-CONFERENCE", "X-EASGW-CONFERENCE-ID", "LOCATION"):
        assert name not in event
    assert "X-MICROSOFT-SKYPETEAMSMEETINGURL" not in event
    assert carried_link(event) is None


def test_a_block_alone_leaves_no_description() -> None:
    event = _event()
    embed_link(event, LINK)
    strip_link(event)
    assert "DESCRIPTION" not in event


def test_embed_without_describe_leaves_an_absent_description_absent() -> None:
    override = _event()
    embed_link(override, LINK, describe=False)
    assert "DESCRIPTION" not in override
    assert str(override["X-EASGW-CONFERENCE"]) == URL


def test_a_new_link_replaces_the_old_one() -> None:
    event = _event(DESCRIPTION="Agenda")
    old = EmbeddedLink(
        url="https://meet.example.com/old", conference_id="old", provider_id="jitsi",
        label="J", text="Join: https://meet.example.com/old",
    )  # fmt: skip
    embed_link(event, old)
    embed_link(event, LINK)
    text = event.to_ical().decode().replace("\r\n ", "")
    assert "meet.example.com/old" not in text
    assert str(event["LOCATION"]) == URL
    assert str(event["DESCRIPTION"]) == f"{BLOCK}\n\nAgenda"


def test_mark_unscheduled() -> None:
    event = _event()
    for address in ("mailto:Jitsi@Conf.example.com", "mailto:bob@example.com"):
        event.add("ATTENDEE", icalendar.vCalAddress(address))
    mark_unscheduled(event, ["jitsi@conf.example.com"])
    jitsi, bob = event["ATTENDEE"]
    assert jitsi.params["SCHEDULE-AGENT"] == "NONE"
    assert "SCHEDULE-AGENT" not in bob.params
