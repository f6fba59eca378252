"""easgw.mail.imip: the iMIP mail (RFC 6047) around an iTIP message, read back as bytes."""

from __future__ import annotations

import email.policy
from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesParser

import icalendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from easgw.mail.imip import imip_message
from protocol.calendar.itip import (
    ItipMessage,
    messages_for_delete,
    messages_for_write,
)
from protocol.calendar.itip_reply import reply_message

URL = "https://meet.example/j/123-456"
EVENT = f"""BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VTIMEZONE
TZID:Europe/Paris
BEGIN:STANDARD
DTSTART:19701025T030000
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
END:VTIMEZONE
BEGIN:VEVENT
UID:imip-1
DTSTAMP:20260101T000000Z
DTSTART;TZID=Europe/Paris:20260105T100000
DTEND;TZID=Europe/Paris:20260105T110000
SUMMARY:Réunion d'équipe
LOCATION:Salle 3
DESCRIPTION:~~~ Video conference ~~~\\nJoin: {URL}\\n~~~\\n\\nOrdre du jour
ORGANIZER;CN=Alice:mailto:alice@example.com
ATTENDEE;CN=Bob:mailto:bob@example.org
ATTENDEE;CN=Carol:mailto:carol@example.net
ATTENDEE;CUTYPE=RESOURCE:mailto:conf@example.com
X-EASGW-CONFERENCE:{URL}
X-ALT-DESC;FMTTYPE=text/html:<html><body><p>Join: <a href="{URL}">{URL}</a></p></body></html>
END:VEVENT
END:VCALENDAR
""".replace("\n", "\r\n")
SKIP = ("conf@example.com",)
NOW = datetime(2026, 1, 2, 8, 30, tzinfo=UTC)


def request(text: str = EVENT) -> ItipMessage:
    [message] = messages_for_write(None, text, organizer="alice@example.com", skip=SKIP)
    return message


def round_trip(message: ItipMessage, **kwargs: str) -> EmailMessage:
    mail = imip_message(
        message, from_email=kwargs.pop("from_email", "alice@example.com"), now=NOW, **kwargs
    )
    data = mail.as_bytes(policy=email.policy.SMTP)
    assert all(len(line) <= 998 for line in data.split(b"\r\n"))
    assert b"\n" not in data.replace(b"\r\n", b"")
    parsed = BytesParser(policy=email.policy.default).parsebytes(data)
    assert isinstance(parsed, EmailMessage)
    return parsed


def parts(mail: EmailMessage) -> dict[str, EmailMessage]:
    assert mail.get_content_type() == "multipart/alternative"
    found = {part.get_content_type(): part for part in mail.iter_parts()}
    assert list(found) == ["text/plain", "text/html", "text/calendar"]
    return found  # type: ignore[return-value]


def test_invitation_headers_and_parts() -> None:
    mail = round_trip(request(), from_name="Alice Émile", domain="gw.example.com")
    assert mail["From"].addresses[0].addr_spec == "alice@example.com"
    assert mail["From"].addresses[0].display_name == "Alice Émile"
    assert [a.addr_spec for a in mail["To"].addresses] == ["bob@example.org", "carol@example.net"]
    assert str(mail["Subject"]) == "Invitation: Réunion d'équipe"
    assert mail["Date"].datetime == NOW
    assert str(mail["Message-ID"]).endswith("@gw.example.com>")
    assert mail["MIME-Version"] == "1.0"
    assert mail["Content-Class"] == "urn:content-classes:calendarmessage"
    found = parts(mail)
    calendar_part = found["text/calendar"]
    assert calendar_part.get_param("method") == "REQUEST"
    assert calendar_part.get_content_charset() == "utf-8"
    calendar = icalendar.Calendar.from_ical(calendar_part.get_content())
    assert str(calendar["METHOD"]) == calendar_part.get_param("method")
    assert str(calendar.walk("VEVENT")[0]["X-EASGW-CONFERENCE"]) == URL
    text = found["text/plain"].get_content()
    assert "Réunion d'équipe" in text and "Salle 3" in text and "Ordre du jour" in text
    assert "2026-01-05 10:00 Europe/Paris (2026-01-05 09:00 UTC)" in text
    for part in found.values():
        assert URL in part.get_content()  # the link reaches every kind of reader
        assert part["Content-Transfer-Encoding"] in ("7bit", "8bit", "base64")
    assert f'<a href="{URL}">' in found["text/html"].get_content()  # the X-ALT-DESC


def test_html_without_alt_desc_is_the_escaped_text() -> None:
    text = EVENT.replace("Salle 3", "<Salle & 3>")
    text = "\r\n".join(x for x in text.split("\r\n") if not x.startswith("X-ALT-DESC"))
    page = parts(round_trip(request(text)))["text/html"].get_content()
    assert "&lt;Salle &amp; 3&gt;" in page and URL in page


def test_update_subject() -> None:
    [message] = messages_for_write(
        EVENT,
        EVENT.replace("T110000", "T120000"),
        organizer="alice@example.com",
        skip=SKIP,
    )
    mail = round_trip(message)
    assert str(mail["Subject"]) == "Updated invitation: Réunion d'équipe"
    assert parts(mail)["text/calendar"].get_param("method") == "REQUEST"


def test_cancel() -> None:
    [message] = messages_for_delete(EVENT, organizer="alice@example.com", skip=SKIP)
    mail = round_trip(message)
    assert str(mail["Subject"]) == "Cancelled: Réunion d'équipe"
    found = parts(mail)
    assert found["text/calendar"].get_param("method") == "CANCEL"
    assert "cancelled" in found["text/plain"].get_content()


@pytest.mark.parametrize(
    ("partstat", "prefix"),
    [("ACCEPTED", "Accepted"), ("TENTATIVE", "Tentative"), ("DECLINED", "Declined")],
)
def test_reply(partstat: str, prefix: str) -> None:
    message = reply_message(EVENT, attendee="bob@example.org", partstat=partstat)
    assert message is not None
    mail = round_trip(message, from_email="bob@example.org", from_name="Bob")
    assert str(mail["Subject"]) == f"{prefix}: Réunion d'équipe"
    assert [a.addr_spec for a in mail["To"].addresses] == ["alice@example.com"]
    assert mail["From"].addresses[0].addr_spec == "bob@example.org"
    calendar_part = parts(mail)["text/calendar"]
    assert calendar_part.get_param("method") == "REPLY"
    event = icalendar.Calendar.from_ical(calendar_part.get_content()).walk("VEVENT")[0]
    assert event["ATTENDEE"].params["PARTSTAT"] == partstat


def test_long_lines_and_non_ascii_survive_smtp() -> None:
    long_title = "Überprüfung " + "x" * 300
    long_line = "ü" * 1200  # 2400 octets on one line: base64 for this part
    text = EVENT.replace("SUMMARY:Réunion d'équipe", f"SUMMARY:{long_title}")
    text = text.replace("Ordre du jour", long_line)
    text = "\r\n".join(x for x in text.split("\r\n") if not x.startswith("X-ALT-DESC"))
    mail = round_trip(request(text))
    assert str(mail["Subject"]) == f"Invitation: {long_title}"
    found = parts(mail)
    assert found["text/plain"]["Content-Transfer-Encoding"] == "base64"
    assert long_line in found["text/plain"].get_content()
    assert long_line in found["text/html"].get_content()
    assert found["text/calendar"]["Content-Transfer-Encoding"] == "8bit"  # folded at 75
    event = icalendar.Calendar.from_ical(found["text/calendar"].get_content()).walk("VEVENT")[0]
    assert long_line in str(event["DESCRIPTION"])


def test_untitled() -> None:
    text = EVENT.replace("SUMMARY:Réunion d'équipe\r\n", "")
    assert str(round_trip(request(text))["Subject"]) == "Invitation: (no title)"


@settings(max_examples=60)
@given(title=st.text(max_size=120), name=st.text(max_size=60))
def test_any_title_and_name_make_a_message_without_header_injection(title: str, name: str) -> None:
    """A phone's Subject may hold line breaks (SUMMARY's escaped \\n) and anything else:
    the mail is still written, on one Subject line, and adds no header."""
    event = icalendar.Event()
    event.add("UID", "fuzz-1")
    event.add("DTSTAMP", datetime(2026, 1, 1, tzinfo=UTC))
    event.add("DTSTART", datetime(2026, 1, 5, 10, tzinfo=UTC))
    event.add("SUMMARY", title)
    event.add("ORGANIZER", "mailto:alice@example.com")
    event.add("ATTENDEE", "mailto:bob@example.org")
    calendar = icalendar.Calendar()
    calendar.add("VERSION", "2.0")
    calendar.add("PRODID", "-//test//EN")
    calendar.add_component(event)
    (message,) = messages_for_write(
        None, calendar.to_ical().decode(), organizer="alice@example.com", skip=()
    )
    mail = imip_message(message, from_email="alice@example.com", from_name=name)
    data = mail.as_bytes(policy=email.policy.SMTP)
    parsed = BytesParser(policy=email.policy.default).parsebytes(data)
    assert "\n" not in str(parsed["Subject"]) and "\r" not in str(parsed["Subject"])
    assert sorted(parsed.keys()) == sorted(mail.keys())  # nothing smuggled in
    assert [a.addr_spec for a in parsed["To"].addresses] == ["bob@example.org"]
