"""The conference link in a phone's outgoing invitation (issue 8, part 1).

Phones before EAS 16 send meeting invitations themselves, with SendMail: a
message whose text/calendar part (METHOD:REQUEST or CANCEL) carries the event.
The stored event already has its link (the Sync Add normally arrives first;
easgw/conference.py), so the invitation must carry the same one:

* each VEVENT of the calendar part whose UID (and RECURRENCE-ID) has an active
  link in the registry gets it embedded exactly as the stored event has it
  (CONFERENCE, X- properties, the description block);
* the text/plain and text/html bodies get the block once (never twice: the
  block has stable markers and is stripped before it is put back);
* the conference resource is no guest: its ATTENDEE is removed from the
  calendar part sent to the others, and its address from To/Cc/Bcc, hence
  from the SMTP recipients.

An invitation that arrives BEFORE its Sync Add (no registry row yet) and
invites a resource gets its link made here, through the same policy and
registry: the Sync Add then embeds that same link in the stored event.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formataddr, getaddresses
from typing import TYPE_CHECKING

import icalendar

from easgw.conference import Speaking
from easgw.conference_rules import recurrence_key
from protocol.calendar.conference import EmbeddedLink, embed_html, embed_link, embed_text
from protocol.calendar.ical_parse import parse_calendar_text

if TYPE_CHECKING:
    from easgw.gateway import RequestContext

__all__ = ["add_conference_links"]

_METHODS = frozenset({"REQUEST", "CANCEL"})


async def add_conference_links(ctx: RequestContext, message: EmailMessage) -> EmailMessage:
    """``message`` with the links of its invitation's events, and without the resource."""
    conferencing = ctx.gateway.conference
    if not conferencing.enabled:
        return message
    parts = [
        part
        for part in message.walk()
        if part.get_content_type() == "text/calendar" and not part.is_multipart()
    ]
    links: list[EmbeddedLink] = []
    owner = Speaking(ctx.user, ctx.language)
    for part in parts:
        assert isinstance(part, EmailMessage)
        found = await _calendar_part(ctx, part, owner, conferencing.resources)
        links.extend(found)
    _drop_recipients(message, conferencing.resources)
    if links:
        _bodies(message, links[0].text)
    return message


async def _calendar_part(
    ctx: RequestContext, part: EmailMessage, owner: Speaking, resources: frozenset[str]
) -> list[EmbeddedLink]:
    try:
        calendar = parse_calendar_text(str(part.get_content()))
    except (ValueError, KeyError, LookupError):
        return []  # not ours to repair: relayed as written
    method = str(calendar.get("METHOD", "")).upper()
    if method not in _METHODS:
        return []
    if method == "REQUEST" and _invites(calendar, resources):
        await _link_first(ctx, owner, calendar)
    links: list[EmbeddedLink] = []
    async with ctx.gateway.database.sessions() as session:
        for event in calendar.walk("VEVENT"):
            _drop_attendees(event, resources)
            uid = str(event.get("UID", ""))
            if not uid:
                continue
            conferencing = ctx.gateway.conference
            link = await conferencing.active_link(session, owner, uid, recurrence_key(event))
            if link is not None:
                embed_link(event, link)
                links.append(link)
    part.set_content(
        calendar.to_ical().decode("utf-8"), subtype="calendar", params={"method": method}
    )
    return links


def _invites(calendar: icalendar.Component, resources: frozenset[str]) -> bool:
    for event in calendar.walk("VEVENT"):
        attendees = event.get("ATTENDEE")
        listed = attendees if isinstance(attendees, list) else [attendees] if attendees else []
        if any(str(a).lower().removeprefix("mailto:") in resources for a in listed):
            return True
    return False


async def _link_first(ctx: RequestContext, owner: Speaking, calendar: icalendar.Component) -> None:
    """The invitation arrived before its Sync Add: the link is made now, through
    the same policy and registry (the row is keyed by UID), so the Sync Add that
    follows finds and embeds the same link. Committed before the relay."""
    async with ctx.gateway.database.sessions.begin() as session:
        await ctx.gateway.conference.on_write(session, owner, calendar.to_ical().decode("utf-8"))


def _drop_attendees(event: icalendar.Component, resources: frozenset[str]) -> None:
    attendees = event.get("ATTENDEE")
    if attendees is None:
        return
    listed = attendees if isinstance(attendees, list) else [attendees]
    kept = [a for a in listed if str(a).lower().removeprefix("mailto:") not in resources]
    if len(kept) == len(listed):
        return
    del event["ATTENDEE"]
    for attendee in kept:
        event.add("ATTENDEE", attendee)


def _drop_recipients(message: EmailMessage, resources: frozenset[str]) -> None:
    for header in ("To", "Cc", "Bcc"):
        values = message.get_all(header)
        if not values:
            continue
        pairs = getaddresses([str(v) for v in values])
        kept = [(name, address) for name, address in pairs if address.lower() not in resources]
        if len(kept) == len(pairs):
            continue
        del message[header]
        if kept:
            message[header] = ", ".join(formataddr(pair) for pair in kept)


def _bodies(message: EmailMessage, text: str) -> None:
    """The block at the top of the plain and HTML bodies (not of attachments)."""
    for part in message.walk():
        if part.is_multipart() or part.get_content_disposition() == "attachment":
            continue
        assert isinstance(part, EmailMessage)
        kind = part.get_content_type()
        if kind not in ("text/plain", "text/html"):
            continue
        try:
            body = str(part.get_content())
        except (LookupError, ValueError):
            continue
        updated = embed_text(body, text) if kind == "text/plain" else embed_html(body, text)
        part.set_content(updated, subtype=kind.split("/")[1])
