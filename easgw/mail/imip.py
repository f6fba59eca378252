"""The e-mail that carries an iTIP message (iMIP, RFC 6047).

:mod:`protocol.calendar.itip` decides who gets what; this wraps one message in
the mail an attendee's client understands: a multipart/alternative of a short
readable text, its HTML twin and the ``text/calendar`` part whose ``method``
parameter equals the object's METHOD (RFC 6047 2.4: clients act on the part,
and a mismatch makes them ignore it). The text parts repeat the event's
DESCRIPTION, which holds the conference block, so a reader without calendar
support still finds the link. Exchange's ``Content-Class`` header marks the mail
as a meeting message for Outlook.

Bodies are 8bit when every line fits SMTP's 998-octet limit (RFC 5322 2.1.1),
else base64: a description pasted from elsewhere may have one very long line.
"""

from __future__ import annotations

import html
from datetime import UTC, date, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

import icalendar

from protocol.calendar.ical_fields import unescape_text
from protocol.calendar.ical_parse import parse_calendar_text
from protocol.calendar.itip import ItipMessage

__all__ = ["imip_message"]

_SUBJECTS = {
    "REQUEST": "Invitation",
    "CANCEL": "Cancelled",
    "ACCEPTED": "Accepted",
    "TENTATIVE": "Tentative",
    "DECLINED": "Declined",
    "COUNTER": "New time proposed",
}
_LONGEST_LINE = 998  # octets, RFC 5322 2.1.1


def imip_message(
    message: ItipMessage,
    *,
    from_email: str,
    from_name: str = "",
    now: datetime | None = None,
    domain: str = "easgw.invalid",
) -> EmailMessage:
    """The iMIP mail of ``message``, from the organizer (REQUEST, CANCEL) or the
    attendee (REPLY) = ``from_email``/``from_name``, to its recipients."""
    mail = EmailMessage(policy=policy.SMTP)
    mail["From"] = Address(display_name=_one_line(from_name), addr_spec=from_email)
    mail["To"] = [Address(addr_spec=address) for address in message.recipients]
    mail["Subject"] = _subject(message)
    mail["Date"] = format_datetime((now or datetime.now(UTC)).astimezone(UTC))
    mail["Message-ID"] = make_msgid(domain=domain)
    event = _master(message.ical)
    text = _plain(message, event, from_email, from_name)
    alt = _text(event, "X-ALT-DESC")
    page = unescape_text(alt) if alt else _html_of(text)
    _set(mail, text, "plain", {})
    _add(mail, page, "html", {})
    _add(mail, message.ical, "calendar", {"method": message.method})
    for part in mail.iter_parts():
        del part["MIME-Version"]  # the email package repeats it in each part; once is enough
    mail["Content-Class"] = (
        "urn:content-classes:calendarmessage"  # after: set_content clears Content-*
    )
    return mail


def _one_line(text: str) -> str:
    """Header text: a title may hold line breaks (iCalendar's escaped \\n), a header
    may not (RFC 5322 2.2; the stdlib raises on them): any whitespace run is a space."""
    return " ".join(text.split())


def _subject(message: ItipMessage) -> str:
    title = _one_line(message.summary) or "(no title)"
    if message.method == "REPLY":
        return f"{_SUBJECTS.get(message.partstat, 'Reply')}: {title}"
    if message.method == "REQUEST" and message.update:
        return f"Updated invitation: {title}"
    return f"{_SUBJECTS.get(message.method, message.method.title())}: {title}"


def _master(ical: str) -> icalendar.Component:
    calendar = parse_calendar_text(ical)
    events = [c for c in calendar.subcomponents if c.name == "VEVENT"]
    if not events:
        raise ValueError("an iTIP message without VEVENT")
    return next((e for e in events if "RECURRENCE-ID" not in e), events[0])


def _text(event: icalendar.Component, name: str) -> str:
    value = event.get(name)
    if isinstance(value, list):
        value = value[0] if value else None
    return "" if value is None else str(value)


def _when(value: Any) -> str:
    """A DTSTART/DTEND as written (with its zone), plus UTC for a zoned time."""
    moment = getattr(value, "dt", None)
    if isinstance(moment, datetime):
        shown = moment.strftime("%Y-%m-%d %H:%M")
        if moment.tzinfo is None:
            return shown  # floating: the reader's own clock (RFC 5545 3.3.5)
        utc = moment.astimezone(UTC)
        if moment.utcoffset() == utc.utcoffset() and not value.params.get("TZID"):
            return f"{shown} UTC"
        zone = value.params.get("TZID") or moment.tzname() or ""
        return f"{shown} {zone} ({utc:%Y-%m-%d %H:%M} UTC)"
    if isinstance(moment, date):
        return f"{moment:%Y-%m-%d} (all day)"
    return str(value) if value is not None else ""


def _plain(message: ItipMessage, event: icalendar.Component, sender: str, name: str) -> str:
    lines = [message.summary or "(no title)", ""]
    if message.method == "REPLY":
        lines.insert(0, f"{name or sender} answered: {message.partstat.lower()}")
    if message.method == "CANCEL":
        lines.insert(0, "This meeting has been cancelled.")
    start, end = event.get("DTSTART"), event.get("DTEND")
    if start is not None:
        lines.append(f"When: {_when(start)}" + (f" - {_when(end)}" if end is not None else ""))
    location = _text(event, "LOCATION")
    if location:
        lines.append(f"Where: {location}")
    description = _text(event, "DESCRIPTION").replace("\r\n", "\n")
    if description:
        lines += ["", description]
    return "\n".join(lines).rstrip("\n") + "\n"


def _html_of(text: str) -> str:
    body = html.escape(text)
    style = "white-space: pre-wrap; font-family: inherit"
    return f'<!DOCTYPE html>\n<html><body><pre style="{style}">{body}</pre></body></html>\n'


def _cte(text: str) -> str:
    longest = max((len(line.encode("utf-8")) for line in text.splitlines()), default=0)
    return "8bit" if longest <= _LONGEST_LINE else "base64"


def _set(mail: EmailMessage, text: str, subtype: str, params: dict[str, str]) -> None:
    mail.set_content(text, subtype=subtype, charset="utf-8", cte=_cte(text), params=params)


def _add(mail: EmailMessage, text: str, subtype: str, params: dict[str, str]) -> None:
    mail.add_alternative(text, subtype=subtype, charset="utf-8", cte=_cte(text), params=params)
