"""The conference-link policy (DESIGN.md step 4): when a saved event gets, keeps or loses a link.

Runs on every client write of an event, between the EAS -> iCalendar conversion
and the store write (easgw/commands/sync/apply.py), and on a delete. The pure rules
are in easgw/conference_rules.py (``choose_provider``, ``decide``); :class:`Conferencing`
applies them with the registry (easgw/conference_registry.py) and the providers.

Rules:

- Only the organizer's own copy: ORGANIZER is the user (or absent: the user's own
  event). An attendee's copy is never touched.
- Triggers, in order: the first configured resource among the ATTENDEEs that the
  organizer may book (``allowed``: empty = everyone, else logins, addresses or
  ``@domain``s); a provider ``keyword`` found as a word in LOCATION; for a meeting
  (an event with attendees), a provider whose ``always_for`` names the organizer.
- One link per event UID for the whole series (registry key: owner, UID,
  RECURRENCE-ID ``""``). An override with attendees of its own is judged alone: one
  that invites the resource when the series does not gets its own link (key: its
  RECURRENCE-ID), one that drops it loses the link for that occurrence. Overrides
  without attendees inherit the series' link (properties, and the block when they
  carry a DESCRIPTION of their own).
- An edit never regenerates a link: an active row is re-embedded as it is (a
  ``SupportsUpdate`` provider hears of a new title or time, easgw/conference_update.py).
  This is also what keeps the link when a phone's Change lacks it (phones never send
  OnlineMeeting* back and may cut bodies): the registry's fields are re-asserted on
  every client write, the block stripped and re-rendered.
- No trigger any more -> the link, its block, its properties and a LOCATION equal to
  its URL leave the event; the row becomes ``removed`` (kept); the provider's
  ``delete`` only with ``delete_on_remove``. Adding the resource back reuses that
  link (it stayed valid) unless ``delete_on_remove`` deleted it. Deleting the
  event marks its rows ``removed`` the same way.
- The registry row is written (flushed, ``pending``) before the provider is called.
  A provider failure leaves the row ``pending``: the event is saved without a link,
  the failure logged and counted (:class:`LinkCounters`; the row's ``*_count``
  columns for ``easgw links stats``), and the next save of the
  event (any client write of it) calls the provider again with the same row. There
  is no background retry. The row is flushed in the Sync's own transaction (which
  on SQLite holds the write lock from its start, so no separate commit is
  possible): a Sync that fails as a whole takes its row and its event back together,
  and a retried Add finds the committed row by UID. The provider is called inside
  that transaction: a slow provider (``timeout_seconds``) holds the writer that long.
- Back to the phone: never in the answer to the Add/Change itself. apply.py holds
  the hash of the un-enriched conversion (what the device sent), so the enriched
  event differs and goes out as a Change on the next Sync (DESIGN.md step 6).
  ``/conf/<token>`` is served by easgw/conference_redirect.py.
- Only links whose URL starts with a configured provider's base URL (or the
  gateway's ``/conf/`` redirect), or that the registry knows, count as ours: an event
  without a trigger loses such a link (a copied or cloned event), never a foreign one.
  An event that asks for a link and carries one of ours that no registry row claims
  (the row was lost after a CalDAV write) keeps it: the row is re-created from the
  event. One that another event's row claims is a copy and gets a new link.
- The resource is not a real invitee: its ATTENDEE gets ``SCHEDULE-AGENT=NONE``
  (RFC 6638 7.1), so a scheduling CalDAV server sends it nothing, and easgw's own
  mail must skip such attendees. It stays on the event, so the phone still shows it.
- Providers with ``join_via_gateway`` (Jitsi JWT, BigBlueButton): the event carries
  ``<server.public_url>/conf/<token>`` (the row's random token), never the
  provider's URL. Without ``server.public_url`` the redirect base is
  ``http://<server.listen>``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import icalendar
from sqlalchemy.ext.asyncio import AsyncSession

from easgw.conference_owner import Owner, Speaking
from easgw.conference_registry import (
    add_row,
    current_row,
    event_rows,
    set_status,
    url_claimed,
)
from easgw.conference_rules import (
    Action,
    EventFacts,
    choose_provider,
    decide,
    event_context,
    names,
    recurrence_key,
)
from easgw.conference_update import Updated, create_link, delete_link, remember, update_link
from easgw.config import Config, ConfigError
from easgw.state.conference_models import ConferenceLinkRow, LinkStatus
from protocol.calendar.conference import (
    CarriedLink,
    EmbeddedLink,
    carried_link,
    embed_link,
    mark_unscheduled,
    organizer_email,
    strip_link,
)
from protocol.calendar.ical_parse import parse_calendar_text
from providers.conference import (
    ConfiguredProvider,
    EventContext,
    Person,
    ProviderConfigError,
    ProviderSettings,
    close_providers,
    load_providers,
)

__all__ = ["Conferencing", "LinkCounters", "Owner", "Speaking"]

log = logging.getLogger(__name__)

_UID_LINE = re.compile(r"^UID:(.*?)\r?$", re.MULTILINE)
#: What reading or writing an unusual event may raise (icalendar's parse errors are
#: ValueErrors; its writer asserts on a raw line break in a value).
_EVENT_ERRORS = (ValueError, KeyError, IndexError, TypeError, AttributeError, AssertionError)


# --------------------------------------------------------------------------
# The policy with its state


@dataclass(slots=True)
class LinkCounters:
    """Links created, reused (kept or re-activated on a save), removed, failed (create
    or update calls), and updated at the provider; this process only (the rows carry
    the same counts for ``easgw links stats``)."""

    created: int = 0
    reused: int = 0
    removed: int = 0
    failed: int = 0
    updated: int = 0


def _adopt(row: ConferenceLinkRow, carried: CarriedLink) -> None:
    row.url = row.calendar_url = carried.url
    row.conference_id = carried.conference_id
    set_status(row, LinkStatus.ACTIVE)


class Conferencing:
    """The configured providers and the policy that uses them; one per process."""

    def __init__(self, providers: Sequence[ConfiguredProvider], *, public_url: str) -> None:
        self.providers = {configured.id: configured for configured in providers}
        self.settings = tuple(configured.settings for configured in providers)
        self.public_url = public_url.rstrip("/")
        self.counters = LinkCounters()
        self._prefixes = (*self._bases(providers), f"{self.public_url}/conf/")
        self._triggers = tuple(
            word.lower() for s in self.settings for word in (s.resource, *s.keywords) if word
        )

    @classmethod
    def from_config(cls, config: Config) -> Conferencing:
        """The configured providers (built, not yet called); a bad table is a ConfigError."""
        public_url = config.server.public_url or f"http://{config.server.listen}"
        try:
            providers = load_providers(config.conference.providers)
        except ProviderConfigError as exc:
            raise ConfigError(str(exc)) from None
        return cls(providers, public_url=public_url)

    @staticmethod
    def _bases(providers: Sequence[ConfiguredProvider]) -> Iterable[str]:
        for configured in providers:
            base = getattr(configured.provider, "base_url", None)
            if isinstance(base, str) and base:
                yield base.rstrip("/") + "/"

    @property
    def enabled(self) -> bool:
        return bool(self.providers)

    async def close(self) -> None:
        await close_providers(self.providers.values())

    def ours(self, url: str, row: ConferenceLinkRow | None = None) -> bool:
        """A link easgw made: a configured base URL, the redirect, or the row's URL."""
        return url.startswith(self._prefixes) or (row is not None and row.calendar_url == url)

    def _may_concern(self, ical: str, owner: Owner) -> bool:
        """A cheap look before parsing: can any rule apply to this text?"""
        text = ical.replace("\r\n ", "").replace("\n ", "").lower()
        if "x-easgw-conference" in text or any(word in text for word in self._triggers):
            return True
        return "attendee" in text and any(
            names(s.always_for, owner.login, owner.email) for s in self.settings
        )

    @staticmethod
    async def _registered(session: AsyncSession, owner: Owner, ical: str) -> bool:
        """Does the registry hold a live link for this UID (the resource just left)?"""
        found = _UID_LINE.search(ical.replace("\r\n ", "").replace("\n ", ""))
        return found is not None and bool(await event_rows(session, owner.id, found.group(1)))

    # ------------------------------------------------------------------ writes

    async def on_write(self, session: AsyncSession, owner: Owner, ical: str) -> str:
        """The event to store for a client write of ``ical`` (unchanged when no rule applies)."""
        if not self.providers:
            return ical
        if not self._may_concern(ical, owner) and not await self._registered(session, owner, ical):
            return ical
        try:
            calendar = parse_calendar_text(ical)
        except ValueError:
            return ical
        events = [c for c in calendar.walk("VEVENT") if isinstance(c, icalendar.Event)]
        master = next((e for e in events if "RECURRENCE-ID" not in e), None)
        uid = str(master.get("UID", "")) if master is not None else ""
        if master is None or not uid or "DTSTART" not in master:
            return ical
        organizer = organizer_email(master)
        if organizer is not None and organizer != owner.email.lower():
            return ical  # an attendee's copy: never ours to change
        resources = [s.resource for s in self.settings]
        for event in events:
            mark_unscheduled(event, resources)
        try:
            before = carried_link(master)
            link = await self._settle(session, owner, master, uid, "")
            after = carried_link(master)
            # The series' link if it just left the series: it leaves the overrides too.
            gone = before.url if before and (after is None or after.url != before.url) else None
            for override in (e for e in events if "RECURRENCE-ID" in e):
                if gone is not None:
                    strip_link(override, gone)
                await self._override(session, owner, override, uid, link)
            text: bytes = calendar.to_ical()
        except _EVENT_ERRORS as exc:  # an odd event is saved as sent, never a 500
            log.warning("conference policy skipped an event", extra={"error": repr(exc)[:200]})
            return ical
        return text.decode("utf-8")

    async def _override(
        self,
        session: AsyncSession,
        owner: Owner,
        override: icalendar.Event,
        uid: str,
        series: EmbeddedLink | None,
    ) -> None:
        if "ATTENDEE" not in override:  # EAS: an exception without Attendees inherits them
            if series is not None:
                embed_link(override, replace(series, fill_location=False), describe=False)
            else:
                self._strip_ours(override, None)
            return
        facts = EventFacts.of(override, organizer_email(override))
        chosen = choose_provider(facts, self.settings, login=owner.login, email=owner.email)
        if series is not None and chosen is not None and chosen.id == series.provider_id:
            embed_link(override, replace(series, fill_location=False), describe=False)
            return
        if series is not None:  # this occurrence dropped the resource (or took another)
            strip_link(override, series.url)
        await self._settle(session, owner, override, uid, recurrence_key(override))

    async def _settle(
        self, session: AsyncSession, owner: Owner, event: icalendar.Event, uid: str, rid: str
    ) -> EmbeddedLink | None:
        """Apply :func:`decide` to one component; the link it now carries, if any."""
        chosen = choose_provider(
            EventFacts.of(event), self.settings, login=owner.login, email=owner.email
        )
        row = await current_row(session, owner.id, uid, rid)
        action = decide(
            chosen,
            row_status=row.status if row else None,
            row_provider=row.provider_id if row else None,
            row_has_link=bool(row and row.calendar_url),
        )
        if action in (Action.REMOVE, Action.REPLACE) and row is not None:
            await self._retire(row, event, owner, LinkStatus.REMOVED)
        if action in (Action.NONE, Action.REMOVE) or chosen is None:
            self._strip_ours(event, row)
            return None
        configured = self.providers[chosen.id]
        row, creating = await self._row_to_use(
            session, owner, event, key=(uid, rid), decision=(chosen, action), row=row
        )
        context = event_context(
            event, uid=uid, organizer=self._person(owner), skip=[chosen.resource]
        )
        if creating and not await self._create(row, configured, context):
            self._strip_ours(event, row)
            return None
        if action is Action.REUSE:
            set_status(row, LinkStatus.ACTIVE)
        if creating:
            remember(row, context)
        else:
            await self._update(row, configured, event, context)
        if action in (Action.KEEP, Action.REUSE):
            self._count_reuse(row)
        link = self._embedded(row, configured, owner)
        embed_link(event, link)
        return link

    async def _row_to_use(
        self,
        session: AsyncSession,
        owner: Owner,
        event: icalendar.Event,
        *,
        key: tuple[str, str],
        decision: tuple[ProviderSettings, Action],
        row: ConferenceLinkRow | None,
    ) -> tuple[ConferenceLinkRow, bool]:
        """The row to embed and whether the provider must make its link: a new row
        (written before the call), the pending one retried, or one adopted."""
        chosen, action = decision
        creating = action in (Action.CREATE, Action.REPLACE)
        adopted = await self._adoptable(session, event, chosen.id) if row is None else None
        if creating and (
            action is Action.REPLACE or row is None or row.status != LinkStatus.PENDING
        ):
            uid, rid = key
            row = await add_row(
                session,
                user_id=owner.id,
                organizer=owner.email.lower(),
                uid=uid,
                recurrence_id=rid,
                provider_id=chosen.id,
            )
        assert row is not None
        if adopted is not None:
            _adopt(row, adopted)
            creating = False
            self._count_reuse(row)
        return row, creating

    def _count_reuse(self, row: ConferenceLinkRow) -> None:
        self.counters.reused += 1
        row.reuse_count += 1

    async def _adoptable(
        self, session: AsyncSession, event: icalendar.Event, provider_id: str
    ) -> CarriedLink | None:
        """A link of ours the event carries without a registry row (the row was lost:
        a CalDAV write succeeded, the gateway's transaction did not), unless another
        event's row claims it (a copied event must not share its link)."""
        carried = carried_link(event)
        if carried is None or carried.provider_id != provider_id or not carried.conference_id:
            return None
        redirect = carried.url.startswith(f"{self.public_url}/conf/")
        if redirect or not carried.url.startswith(self._prefixes):
            return None  # a redirect's provider URL is unknown: a new link instead
        if await url_claimed(session, carried.url):
            return None
        return carried

    def _strip_ours(self, event: icalendar.Event, row: ConferenceLinkRow | None) -> None:
        carried = carried_link(event)
        if carried is not None and self.ours(carried.url, row):
            strip_link(event, carried.url)
        elif row is not None and row.calendar_url:
            strip_link(event, row.calendar_url)

    def _person(self, owner: Owner) -> Person:
        return Person(email=owner.email, name=owner.display_name)

    async def _create(
        self, row: ConferenceLinkRow, configured: ConfiguredProvider, context: EventContext
    ) -> bool:
        """Ask the provider for the row's link; False (logged, counted) when it fails."""
        made = await create_link(row, configured.provider, context, public_url=self.public_url)
        if made:
            self.counters.created += 1
        else:
            self.counters.failed += 1
        return made

    async def _update(
        self,
        row: ConferenceLinkRow,
        configured: ConfiguredProvider,
        event: icalendar.Event,
        context: EventContext,
    ) -> None:
        """Tell the provider about a moved or renamed event (easgw/conference_update.py)."""
        old_url = row.calendar_url
        outcome = await update_link(row, configured.provider, context)
        if outcome is Updated.FAILED:
            self.counters.failed += 1
        elif outcome is not Updated.NOT_NEEDED:
            self.counters.updated += 1
        if outcome is Updated.REPLACED and old_url and old_url != row.calendar_url:
            strip_link(event, old_url)  # even where the phone sent it back in LOCATION only

    def _embedded(
        self, row: ConferenceLinkRow, configured: ConfiguredProvider, owner: Owner
    ) -> EmbeddedLink:
        assert row.calendar_url is not None
        assert row.conference_id is not None
        text = configured.render_text(
            url=row.calendar_url,
            organizer=owner.display_name or owner.email,
            language=owner.language if isinstance(owner, Speaking) else None,
        )
        if row.text:
            text = f"{text}\n{row.text}" if text else row.text
        return EmbeddedLink(
            url=row.calendar_url,
            conference_id=row.conference_id,
            provider_id=row.provider_id,
            label=configured.settings.display_name,
            text=text,
            fill_location=configured.settings.location == "if-empty",
        )

    async def _retire(
        self, row: ConferenceLinkRow, event: icalendar.Event, owner: Owner, status: LinkStatus
    ) -> None:
        """Mark a live row removed; the provider's delete only with ``delete_on_remove``."""
        was_active = row.status == LinkStatus.ACTIVE
        set_status(row, status)
        self.counters.removed += 1
        row.removal_count += 1
        configured = self.providers.get(row.provider_id)
        if not (was_active and configured and configured.settings.delete_on_remove):
            return
        try:
            context = event_context(event, uid=row.uid, organizer=self._person(owner))
        except (ValueError, KeyError):
            return
        await delete_link(row, configured.provider, context)

    # ------------------------------------------------------------------ deletes

    async def active_link(
        self, session: AsyncSession, owner: Owner, uid: str, rid: str = ""
    ) -> EmbeddedLink | None:
        """The link the owner's event ``uid`` (occurrence ``rid``) carries now, from
        the registry; None when it has none (the outgoing-mail rules use it)."""
        row = await current_row(session, owner.id, uid, rid)
        if row is None or row.status != LinkStatus.ACTIVE.value or not row.calendar_url:
            return None
        configured = self.providers.get(row.provider_id)
        if configured is None:
            return None
        return self._embedded(row, configured, owner)

    @property
    def resources(self) -> frozenset[str]:
        """The configured resources' addresses, lower case."""
        return frozenset(s.resource.lower() for s in self.settings)

    async def on_delete(self, session: AsyncSession, owner: Owner, ical: str) -> None:
        """The organizer deleted the event: its live links become ``removed``."""
        if not self.providers:
            return
        try:
            calendar = parse_calendar_text(ical)
        except ValueError:
            return
        events = [c for c in calendar.walk("VEVENT") if isinstance(c, icalendar.Event)]
        master = next((e for e in events if "RECURRENCE-ID" not in e), None)
        if master is None or not master.get("UID") or "DTSTART" not in master:
            return
        organizer = organizer_email(master)
        if organizer is not None and organizer != owner.email.lower():
            return
        for row in await event_rows(session, owner.id, str(master["UID"])):
            await self._retire(row, master, owner, LinkStatus.REMOVED)
