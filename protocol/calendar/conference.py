"""A conference link inside an iCalendar VEVENT: embedding, reading and stripping (pure).

What easgw writes for one link (``embed_link``), all keyed by the link's URL so a
later strip removes exactly what was written and nothing a user or another
server put there:

- ``CONFERENCE;VALUE=URI;FEATURE=VIDEO;LABEL=<resource name>:<url>`` (RFC 7986
  5.11), placed before any other CONFERENCE (the phone's OnlineMeetingExternalLink
  is the first http(s) CONFERENCE, :mod:`protocol.calendar.ical_fields`);
- ``X-EASGW-CONFERENCE`` (the URL), ``X-EASGW-CONFERENCE-ID`` (the provider's id),
  ``X-EASGW-CONFERENCE-PROVIDER`` (the configured provider's id);
- ``X-MICROSOFT-SKYPETEAMSMEETINGURL`` (the Join button of Outlook/OWA);
- the rendered text as a block at the top of DESCRIPTION, and of
  ``X-ALT-DESC;FMTTYPE=text/html`` when the event has an HTML body;
- LOCATION = the URL when the provider's ``location`` is ``if-empty`` and the
  event has none. A LOCATION equal to the URL is the server's and goes with the
  link; any other location is the user's and is never touched.

The block. EAS bodies are often plain text and phones send back what they hold
(perhaps with CRLF line ends, perhaps from an HTML body converted to text), so the
block is delimited by two plain-text marker lines, :data:`MARK_START` and
:data:`MARK_END`, that survive all of that. ``strip_text`` removes every block
(a marker line matches whatever surrounds it with blanks), so ``embed_text``
(strip, then put one block on top) never duplicates one; a START without its
END (a body cut short) loses the START line, the lines up to the next blank
line and that blank line. In HTML the block is
``<div id="easgw-conference"><p>START<br>...END</p></div>``, whose visible text is
the same marker lines, so an HTML body a phone converts to text still carries a
block ``strip_text`` recognises. Embedding keeps the
description's own line ends (CRLF if it uses them), so a phone that sends the
block back unchanged sees no change.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import icalendar

from protocol.calendar.ical_fields import html_property, unescape_text

__all__ = [
    "CONFERENCE_PROPERTIES",
    "MARK_END",
    "MARK_START",
    "CarriedLink",
    "EmbeddedLink",
    "attendee_emails",
    "carried_link",
    "embed_html",
    "embed_link",
    "embed_text",
    "mark_unscheduled",
    "organizer_email",
    "render_block",
    "render_block_html",
    "strip_html",
    "strip_link",
    "strip_text",
]

MARK_START = "~~~~~~~~~~ Video conference ~~~~~~~~~~"
MARK_END = "~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~"
URL_PROPERTY = "X-EASGW-CONFERENCE"
ID_PROPERTY = "X-EASGW-CONFERENCE-ID"
PROVIDER_PROPERTY = "X-EASGW-CONFERENCE-PROVIDER"
TEAMS_PROPERTY = "X-MICROSOFT-SKYPETEAMSMEETINGURL"
#: Properties that only ever hold easgw's link (CONFERENCE may hold others' too).
CONFERENCE_PROPERTIES = (URL_PROPERTY, ID_PROPERTY, PROVIDER_PROPERTY)
HTML_BLOCK_ID = "easgw-conference"

_BLANK = r"[ \t\u00a0]*"
_START_LINE = rf"^{_BLANK}{re.escape(MARK_START)}{_BLANK}\r?$"
_END_LINE = rf"^{_BLANK}{re.escape(MARK_END)}{_BLANK}\r?$"
# A whole block, then the line break after it and one blank line (the separator).
_BLOCK = re.compile(
    rf"{_START_LINE}\n.*?{_END_LINE}(?:\n|\Z)(?:{_BLANK}\r?(?:\n|\Z))?", re.MULTILINE | re.DOTALL
)
# A START whose END is gone: the START line and the lines up to a blank one.
_OPEN_BLOCK = re.compile(
    rf"{_START_LINE}(?:\n|\Z)(?:^.*\S.*(?:\n|\Z))*(?:{_BLANK}\r?(?:\n|\Z))?", re.MULTILINE
)
_LONE_END = re.compile(rf"{_END_LINE}(?:\n|\Z)", re.MULTILINE)
_HTML_BLOCK = re.compile(
    rf"(?:<div[^>]*{HTML_BLOCK_ID}[^>]*>\s*)?(?:<p[^>]*>\s*)?{re.escape(MARK_START)}"
    rf".*?{re.escape(MARK_END)}(?:\s*</p>)?(?:\s*</div>)?",
    re.DOTALL | re.IGNORECASE,
)
_BODY_TAG = re.compile(r"<body[^>]*>", re.IGNORECASE)
_URL = re.compile(r"https?://[^\s<>\"']+")


@dataclass(frozen=True, slots=True, kw_only=True)
class EmbeddedLink:
    """One link as the event carries it.

    ``url``: what the calendar shows (the provider's URL, or the gateway's
    ``/conf/<token>`` redirect). ``text``: the rendered block text (plain, lines).
    ``fill_location``: put the URL in an empty LOCATION.
    """

    url: str
    conference_id: str
    provider_id: str
    label: str
    text: str
    fill_location: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class CarriedLink:
    """The easgw link an event already carries (from its X-EASGW-* properties)."""

    url: str
    conference_id: str | None
    provider_id: str | None


# --------------------------------------------------------------------------
# The description block


def render_block(text: str, newline: str = "\n") -> str:
    """The block for ``text``: START, the text's non-empty lines, END."""
    lines = [line.rstrip() for line in text.splitlines() if line.strip()]
    return newline.join([MARK_START, *lines, MARK_END])


def strip_text(description: str) -> str:
    """``description`` without any block (see the module docstring)."""
    stripped = _BLOCK.sub("", description)
    stripped = _OPEN_BLOCK.sub("", stripped)
    return _LONE_END.sub("", stripped)


def embed_text(description: str | None, text: str) -> str:
    """One block on top of ``description`` (stripped of any earlier block first)."""
    rest = strip_text(description or "")
    newline = "\r\n" if "\r\n" in (description or "") else "\n"
    block = render_block(text, newline)
    return block + newline + newline + rest if rest else block


def _html_line(line: str) -> str:
    escaped = html.escape(line, quote=False)
    return _URL.sub(lambda m: f'<a href="{html.escape(m.group(0))}">{m.group(0)}</a>', escaped)


def render_block_html(text: str) -> str:
    """The HTML block: its visible text is :func:`render_block`'s lines."""
    lines = [_html_line(line.rstrip()) for line in text.splitlines() if line.strip()]
    inner = "<br>".join([MARK_START, *lines, MARK_END])
    # One line: the block reads the same in any HTML body it is put into.
    return f'<div id="{HTML_BLOCK_ID}"><p>{inner}</p></div>'


def strip_html(document: str) -> str:
    """An HTML body without any block."""
    return _HTML_BLOCK.sub("", document)


def embed_html(document: str, text: str) -> str:
    """One HTML block at the top of the body of ``document``."""
    rest = strip_html(document)
    block = render_block_html(text)
    body = _BODY_TAG.search(rest)
    if body is None:
        return block + rest
    return rest[: body.end()] + block + rest[body.end() :]


# --------------------------------------------------------------------------
# Properties


def _values(component: icalendar.Component, name: str) -> list[Any]:
    value = component.get(name)
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _text(component: icalendar.Component, name: str) -> str | None:
    values = _values(component, name)
    return str(values[0]) if values else None


def _remove(component: icalendar.Component, name: str) -> None:
    while name in component:
        del component[name]


def _keep_only(component: icalendar.Component, name: str, drop: str) -> list[Any]:
    """Remove ``name`` values equal to ``drop``; return the others (still in place)."""
    values = _values(component, name)
    kept = [value for value in values if str(value) != drop]
    if len(kept) != len(values):
        _remove(component, name)
        for value in kept:
            component.add(name, value)
    return kept


def _email(address: Any) -> str:
    text = str(address).strip()
    return (text[7:] if text.lower().startswith("mailto:") else text).lower()


def organizer_email(component: icalendar.Component) -> str | None:
    """The ORGANIZER's address, lower-cased; None when there is none."""
    organizer = component.get("ORGANIZER")
    if isinstance(organizer, list):
        organizer = organizer[0] if organizer else None
    return _email(organizer) if organizer is not None else None


def attendee_emails(component: icalendar.Component) -> list[str]:
    """Every ATTENDEE address, lower-cased, in order."""
    return [_email(address) for address in _values(component, "ATTENDEE")]


def mark_unscheduled(component: icalendar.Component, addresses: Iterable[str]) -> None:
    """``SCHEDULE-AGENT=NONE`` on the ATTENDEEs with these addresses (RFC 6638 7.1):
    neither a scheduling CalDAV server nor easgw's mail sends them anything."""
    wanted = {address.lower() for address in addresses}
    for attendee in _values(component, "ATTENDEE"):
        if _email(attendee) in wanted and hasattr(attendee, "params"):
            attendee.params["SCHEDULE-AGENT"] = "NONE"


def carried_link(component: icalendar.Component) -> CarriedLink | None:
    """The easgw link ``component`` carries, if any."""
    url = _text(component, URL_PROPERTY)
    if not url:
        return None
    return CarriedLink(
        url=url,
        conference_id=_text(component, ID_PROPERTY),
        provider_id=_text(component, PROVIDER_PROPERTY),
    )


def strip_link(component: icalendar.Component, url: str | None = None) -> None:
    """Remove the link at ``url`` (default: the one the X-EASGW properties name),
    its properties, every block, and a LOCATION equal to the URL."""
    carried = carried_link(component)
    url = url or (carried.url if carried else None)
    for name in CONFERENCE_PROPERTIES:
        _remove(component, name)
    _strip_description(component)
    if url is None:
        return
    _keep_only(component, "CONFERENCE", url)
    _keep_only(component, TEAMS_PROPERTY, url)
    if (_text(component, "LOCATION") or "").strip() == url:
        _remove(component, "LOCATION")


def _strip_description(component: icalendar.Component) -> None:
    description = _text(component, "DESCRIPTION")
    if description is not None:
        stripped = strip_text(description)
        if stripped != description:
            _remove(component, "DESCRIPTION")
            if stripped.strip():
                component.add("DESCRIPTION", stripped)
    for value in _values(component, "X-ALT-DESC"):
        params = dict(getattr(value, "params", {}))
        document = unescape_text(str(value))
        stripped = strip_html(document)
        if stripped != document:
            _remove(component, "X-ALT-DESC")
            component.add("X-ALT-DESC", html_property(stripped), parameters=params)
        break


def embed_link(
    component: icalendar.Component, link: EmbeddedLink, *, describe: bool = True
) -> None:
    """Write ``link`` into ``component`` (any earlier easgw link and block are removed).

    ``describe=False`` (an override that inherits the series' text): the block goes
    only into a DESCRIPTION the component already has."""
    previous = carried_link(component)
    if previous is not None and previous.url != link.url:
        strip_link(component, previous.url)
    others = _keep_only(component, "CONFERENCE", link.url)
    _remove(component, "CONFERENCE")
    parameters = {"VALUE": "URI", "FEATURE": "VIDEO", "LABEL": link.label}
    component.add("CONFERENCE", link.url, parameters=parameters)
    for value in others:
        component.add("CONFERENCE", value)
    for name, value in (
        (URL_PROPERTY, link.url),
        (ID_PROPERTY, link.conference_id),
        (PROVIDER_PROPERTY, link.provider_id),
        (TEAMS_PROPERTY, link.url),
    ):
        _remove(component, name)
        component.add(name, value)
    description = _text(component, "DESCRIPTION")
    if describe or description is not None:
        _remove(component, "DESCRIPTION")
        component.add("DESCRIPTION", embed_text(description, link.text))
    html_values = _values(component, "X-ALT-DESC")
    if html_values:
        first = html_values[0]
        params = dict(getattr(first, "params", {}))
        if str(params.get("FMTTYPE", "")).lower() == "text/html":
            _remove(component, "X-ALT-DESC")
            document = embed_html(unescape_text(str(first)), link.text)
            component.add("X-ALT-DESC", html_property(document), parameters=params)
    if link.fill_location and not (_text(component, "LOCATION") or "").strip():
        _remove(component, "LOCATION")
        component.add("LOCATION", link.url)
