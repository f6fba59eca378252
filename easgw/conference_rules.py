"""The conference-link rules, pure: which provider an event asks for, and what to do.

See easgw/conference.py for the policy these serve. Nothing here does I/O.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import icalendar

from easgw.state.conference_models import LinkStatus
from protocol.calendar.conference import attendee_emails, organizer_email
from providers.conference import EventContext, Person, ProviderSettings

__all__ = [
    "Action",
    "EventFacts",
    "choose_provider",
    "decide",
    "event_context",
    "may_book",
    "names",
    "recurrence_key",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class EventFacts:
    """What the rules look at in one VEVENT (addresses lower-cased)."""

    organizer: str | None
    attendees: tuple[str, ...] = ()
    location: str = ""

    @classmethod
    def of(cls, component: icalendar.Component, organizer: str | None = None) -> EventFacts:
        return cls(
            organizer=organizer_email(component) or organizer,
            attendees=tuple(attendee_emails(component)),
            location=str(component.get("LOCATION", "") or ""),
        )


def names(entries: Iterable[str], login: str, email: str) -> bool:
    login, email = login.lower(), email.lower()
    domain = "@" + email.rpartition("@")[2]
    return any(entry in (login, email, domain) for entry in entries)


def may_book(settings: ProviderSettings, login: str, email: str) -> bool:
    """``allowed`` empty = everyone; else the user's login, address or @domain."""
    return not settings.allowed or names(settings.allowed, login, email)


def _has_keyword(location: str, keywords: Sequence[str]) -> bool:
    return any(
        word and re.search(rf"(?<!\w){re.escape(word)}(?!\w)", location, re.IGNORECASE)
        for word in keywords
    )


def choose_provider(
    facts: EventFacts, providers: Sequence[ProviderSettings], *, login: str, email: str
) -> ProviderSettings | None:
    """The provider whose link this event asks for, or None (see the module docstring)."""
    if facts.organizer is not None and facts.organizer != email.lower():
        return None  # an attendee's copy
    bookable = [p for p in providers if may_book(p, login, email)]
    by_resource = {p.resource: p for p in bookable}
    for address in facts.attendees:
        if address in by_resource:
            return by_resource[address]
    for settings in bookable:
        if _has_keyword(facts.location, settings.keywords):
            return settings
    if facts.attendees:
        for settings in bookable:
            if names(settings.always_for, login, email):
                return settings
    return None


class Action(enum.Enum):
    """What :func:`decide` asks for."""

    NONE = "none"  # no link wanted, none registered
    CREATE = "create"  # ask the provider (a new row, or the pending one)
    KEEP = "keep"  # re-embed the active link
    REUSE = "reuse"  # re-activate a removed link that is still valid
    REMOVE = "remove"  # take the link off the event
    REPLACE = "replace"  # another provider now: remove, then create


def decide(
    chosen: ProviderSettings | None,
    *,
    row_status: str | None,
    row_provider: str | None,
    row_has_link: bool,
) -> Action:
    """The action for one event (or occurrence) given its newest non-revoked row."""
    live = row_status in (LinkStatus.ACTIVE, LinkStatus.PENDING)
    if chosen is None:
        return Action.REMOVE if live else Action.NONE
    if row_status is None:
        return Action.CREATE
    if row_provider != chosen.id:
        return Action.REPLACE if live else Action.CREATE
    if row_status == LinkStatus.ACTIVE and row_has_link:
        return Action.KEEP
    if row_status == LinkStatus.REMOVED and row_has_link and not chosen.delete_on_remove:
        return Action.REUSE
    return Action.CREATE


# --------------------------------------------------------------------------
# Provider context


def _aware(value: date | datetime) -> datetime:
    if not isinstance(value, datetime):
        return datetime.combine(value, time(), tzinfo=UTC)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def event_context(
    component: icalendar.Component, *, uid: str, organizer: Person, skip: Iterable[str] = ()
) -> EventContext:
    """What a provider is told about an event (attendees in ``skip`` left out)."""
    raw_start = component.decoded("DTSTART")
    start = _aware(raw_start)
    if "DTEND" in component:
        end = _aware(component.decoded("DTEND"))
    elif "DURATION" in component:
        end = start + component.decoded("DURATION")
    else:
        end = start + (timedelta(days=1) if not isinstance(raw_start, datetime) else timedelta())
    zone = getattr(start.tzinfo, "key", None) or "UTC"
    rrule = component.get("RRULE")
    rrule_text = (
        bytes(rrule.to_ical()).decode()  # type: ignore[no-untyped-call]
        if isinstance(rrule, icalendar.vRecur)
        else None
    )
    skipped = {address.lower() for address in skip}
    attendees = tuple(
        Person(email=address, name=str(getattr(value, "params", {}).get("CN", "")))
        for value, address in zip(
            _values(component, "ATTENDEE"), attendee_emails(component), strict=True
        )
        if address not in skipped
    )
    return EventContext(
        uid=uid,
        summary=str(component.get("SUMMARY", "") or ""),
        start=start,
        end=max(end, start),
        timezone=zone,
        recurring=rrule_text is not None,
        rrule=rrule_text,
        organizer=organizer,
        attendees=attendees,
    )


def _values(component: icalendar.Component, name: str) -> list[Any]:
    value = component.get(name)
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def recurrence_key(component: icalendar.Component) -> str:
    value = component.get("RECURRENCE-ID")
    return value.to_ical().decode() if value is not None else ""
