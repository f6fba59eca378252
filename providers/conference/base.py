"""The conference-link provider protocol: what easgw needs to put a meeting link on an event.

A provider turns an :class:`EventContext` into a :class:`ConferenceLink`. It keeps no
state of its own: the gateway's link registry records every link (written before the
provider is called, so a retry reuses it), decides when to create, keep or remove one
(easgw/conference.py) and embeds it into the event.

Capabilities are separate protocols (STYLE.md 7), checked with ``isinstance``:

- :class:`ConferenceProvider`: ``create`` and ``close``; every provider.
- :class:`SupportsUpdate`: the provider tracks meetings server-side and wants to hear
  about a changed title, time or recurrence (StarLeaf, webhook). The others' links do
  not depend on the event, so an edit needs no call.
- :class:`SupportsDelete`: the provider can cancel a meeting (used only with
  ``delete_on_remove``; a removed link otherwise stays valid).
- :class:`SupportsJoin`: the calendar carries ``<public_url>/conf/<token>`` instead of
  the provider's URL (``ConferenceLink.join_via_gateway``), and the gateway's redirect
  asks the provider for a fresh, per-person join URL: a JWT per join for Jitsi in JWT
  mode, a checksummed ``join`` after an idempotent ``create`` for BigBlueButton.

Exception tree (each provider translates its library's errors at its own edge, so
callers only see these)::

    ProviderError               base: the link could not be made; the event is saved without it
    ├── ProviderUnavailable     down, timed out, 429 or 5xx: retry later (retry_after seconds)
    └── ProviderRejected        refused: bad configuration or credentials, a 4xx, an answer
                                that breaks the provider's documented contract

    ProviderConfigError (a ValueError, not a ProviderError): a ``[[conference.providers]]``
                                table is invalid; raised by the loader, never at run time
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

__all__ = [
    "ConferenceLink",
    "ConferenceProvider",
    "EventContext",
    "Person",
    "ProviderConfigError",
    "ProviderError",
    "ProviderRejected",
    "ProviderUnavailable",
    "SupportsDelete",
    "SupportsJoin",
    "SupportsUpdate",
]


class ProviderError(Exception):
    """Base of every conference provider error."""


class ProviderUnavailable(ProviderError):
    """The provider cannot answer now (down, timeout, 429, 5xx); the caller may retry.

    ``retry_after``: seconds the provider asked us to wait (a Retry-After header), if any.
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ProviderRejected(ProviderError):
    """The provider refused the request (configuration, credentials, 4xx, a bad answer);
    retrying the same request will not help."""


class ProviderConfigError(ValueError):
    """A ``[[conference.providers]]`` table is invalid; the message names the provider and key."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Person:
    """An organizer or attendee: a bare e-mail address and an optional display name."""

    email: str
    name: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class EventContext:
    """What a provider may know about the event a link is for.

    ``start``/``end`` are aware datetimes (for a recurring series, the first occurrence;
    for a join, the occurrence being joined). ``timezone`` is the event's IANA zone name
    (``UTC`` when the event is floating or in UTC). ``rrule`` is the RFC 5545 RRULE value
    (``FREQ=WEEKLY;COUNT=5``) when ``recurring``. ``conference_id`` is set for update,
    delete and join: the id the provider returned on create.
    """

    uid: str
    summary: str
    start: datetime
    end: datetime
    timezone: str = "UTC"
    recurring: bool = False
    rrule: str | None = None
    organizer: Person
    attendees: Sequence[Person] = field(default_factory=tuple)
    conference_id: str | None = None

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("EventContext: start and end must be timezone-aware")
        if self.end < self.start:
            raise ValueError("EventContext: end is before start")
        if self.rrule is not None and not self.recurring:
            raise ValueError("EventContext: an rrule needs recurring=True")


@dataclass(frozen=True, slots=True, kw_only=True)
class ConferenceLink:
    """A provider's answer.

    ``url``: the provider's join URL (for ``join_via_gateway`` providers, a reference to
    the meeting on the provider, not something to hand out). ``conference_id``: the
    provider's id for update/delete/join. ``text``: the provider's own invitation text
    (dial-in details), if any. ``join_via_gateway``: the calendar must carry
    ``<server.public_url>/conf/<token>`` and joins go through :class:`SupportsJoin`.
    """

    url: str
    conference_id: str
    text: str | None = None
    join_via_gateway: bool = False

    def __post_init__(self) -> None:
        if not self.url.startswith(("https://", "http://")):
            raise ValueError(f"ConferenceLink: not an http(s) URL: {self.url!r}")
        if not self.conference_id:
            raise ValueError("ConferenceLink: empty conference_id")


@runtime_checkable
class ConferenceProvider(Protocol):
    """Every provider: make a link for an event; release resources at shutdown."""

    async def create(self, context: EventContext) -> ConferenceLink:
        """A new link for ``context`` (its ``conference_id`` is ignored)."""
        ...

    async def close(self) -> None:
        """Release HTTP clients and the like; the provider is not used afterwards."""
        ...


@runtime_checkable
class SupportsUpdate(Protocol):
    """The provider tracks the meeting and is told about changes to the event."""

    async def update(self, context: EventContext) -> ConferenceLink:
        """Update meeting ``context.conference_id``; the URL and id stay the same."""
        ...


@runtime_checkable
class SupportsDelete(Protocol):
    """The provider can cancel a meeting (only used with ``delete_on_remove``)."""

    async def delete(self, context: EventContext) -> None:
        """Cancel meeting ``context.conference_id``; one already gone is not an error."""
        ...


@runtime_checkable
class SupportsJoin(Protocol):
    """Links are joined through the gateway's ``/conf/<token>`` redirect."""

    async def join_url(
        self,
        link: ConferenceLink,
        event: EventContext,
        *,
        moderator: bool,
        display_name: str,
        email: str,
    ) -> str:
        """A fresh URL for one person to join now; ``event`` gives the occurrence's times."""
        ...
