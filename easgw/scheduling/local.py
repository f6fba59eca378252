"""Attendees who are easgw users of the embedded store (issue 8): the gateway as
their scheduling agent, inside the store (RFC 6638 3.2 "the server ... delivers
the scheduling message to the attendee's calendar", done without mail).

- :func:`deliver_local`: the organizer's Sync wrote (or deleted) a meeting; every
  local attendee's default calendar gets their copy (easgw/scheduling/local_copy.py
  builds it), or their copy is cancelled. Called inside the organizer's Sync
  transaction, within ``store.joined(session)``: the copies commit with the
  organizer's write and sync state, or not at all.
- :func:`update_organizer_copy`: a local attendee answered (MeetingResponse);
  the organizer's copy gets their PARTSTAT (RFC 5546 3.2.3). Normal store calls.

Users are read through ``Database.reader`` (providers/stores/sql/reader.py):
read-only, it sees what is committed and never waits for the Sync's open
write transaction (SQLite WAL: a reader never waits for the writer;
PostgreSQL: MVCC), so the joined session needs no passing around. Users are
never written in a Sync, so the committed rows are the current ones.

A cancelled copy is kept, STATUS:CANCELLED (RFC 5546 3.2.5), as Exchange keeps
a cancelled meeting until the attendee removes it: the phone shows MeetingStatus
7 "received and cancelled" (MS-ASCAL 2.2.2.29; ical_fields.owner_view).

The conference policy (easgw/conference.py) never acts here: these are store
writes, not client writes; and on a later client write of the copy by the
attendee's phone it leaves an event another user organizes alone.

Push: the embedded store's change feed fires after the commit of the joined
session for every calendar written in it (SqlStore._changed registers each
calendar id on the session), so the attendees' held Pings wake without more.
"""

from __future__ import annotations

import logging
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from easgw.scheduling.local_copy import (
    attendee_copy,
    cancelled_copy,
    is_cancelled,
    organizer_of,
    recipients,
    sequence_of,
)
from easgw.scheduling.local_reply import with_partstat
from easgw.state.models import User
from protocol.calendar.ical_parse import parse_calendar_text
from providers.stores.base import (
    InvalidData,
    Item,
    NotFound,
    PreconditionFailed,
    ReadOnly,
    Store,
    StoreUser,
    find_uid,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

    from easgw.gateway import Gateway

__all__ = ["deliver_local", "update_organizer_copy"]

log = logging.getLogger(__name__)

#: If-Match attempts on the organizer's copy before giving up (a concurrent writer).
_ATTEMPTS = 3
#: What reading an unusual stored event may raise (icalendar's errors are ValueErrors).
_EVENT_ERRORS = (ValueError, KeyError, IndexError, TypeError, AttributeError, AssertionError)


# --- users -----------------------------------------------------------------------------


def _users_by_email(connection: Connection, emails: frozenset[str]) -> list[StoreUser]:
    """The users with these addresses (case-insensitive; the oldest account of an
    address shared by two, as ``Users.by_email``'s first row), for ``Database.reader``."""
    statement = (
        select(User).where(func.lower(User.email).in_(sorted(emails))).order_by(User.id.desc())
    )
    with Session(bind=connection) as session:
        found = {
            user.email.strip().lower(): StoreUser(
                login=user.login, email=user.email, display_name=user.display_name
            )
            for user in session.scalars(statement)
        }
    return list(found.values())


async def _local_users(gateway: Gateway, emails: Iterable[str]) -> list[StoreUser]:
    wanted = frozenset(e.strip().lower() for e in emails if e.strip())
    if not wanted:
        return []
    return await gateway.database.reader.run(partial(_users_by_email, emails=wanted))


# --- the store -------------------------------------------------------------------------


async def _find(store: Store, user: StoreUser, uid: str) -> tuple[str, Item] | None:
    """The user's item with this UID, in any of their calendars (calendar id, item)."""
    for calendar in await store.list_calendars(user):
        ref = await find_uid(store, user, calendar.id, uid)
        if ref is not None:
            items = await store.get_items(user, calendar.id, [ref.id])
            if items:
                return calendar.id, items[0]
    return None


async def _default_calendar(store: Store, user: StoreUser) -> str:
    calendars = await store.list_calendars(user)
    default = next((c for c in calendars if c.is_default), None) or calendars[0]
    return default.id


# --- delivery --------------------------------------------------------------------------


async def deliver_local(
    gateway: Gateway,
    organizer: StoreUser,
    before: str | None,
    after: str | None,
    *,
    skip: frozenset[str],
) -> list[str]:
    """Write or cancel the copies of ``organizer``'s meeting in its local
    attendees' calendars (module docstring); the store calendar ids written.

    ``before``/``after``: the organizer's stored event before and after the
    write (None: new / deleted). Nothing for an event ``organizer`` does not
    organize. A copy the store refuses is skipped (logged); an unavailable store
    propagates (the Sync's transaction rolls back and the phone retries)."""
    email = organizer.email.strip().lower()
    current = after if after is not None else before
    if current is None:
        return []
    try:
        if organizer_of(current) != email:
            return []
        invited = set() if after is None or is_cancelled(after) else _recipients(after, email, skip)
        previously = _recipients(before, email, skip) if before is not None else set()
        uid = _uid_of(current)
    except _EVENT_ERRORS:
        log.warning("no local delivery: the event cannot be read")
        return []
    users = await _local_users(gateway, invited | previously)
    written: list[str] = []
    for user in sorted(users, key=lambda u: u.login):
        try:
            if user.email.strip().lower() in invited:
                assert after is not None
                calendar_id = await _deliver(gateway.store, user, uid, after, before)
            else:
                calendar_id = await _cancel(gateway.store, user, uid, after)
        except (InvalidData, ReadOnly, PreconditionFailed, NotFound) as exc:
            # Refused before any statement ran (the shared transaction is intact):
            # one attendee's calendar never costs the organizer their save.
            log.warning(
                "a local attendee's copy was refused",
                extra={"attendee": user.login, "kind": type(exc).__name__},
            )
            continue
        if calendar_id is not None:
            written.append(calendar_id)
    return written


def _recipients(text: str, organizer: str, skip: frozenset[str]) -> set[str]:
    return recipients(text, organizer=organizer, skip=frozenset(s.lower() for s in skip))


def _uid_of(text: str) -> str:
    for event in parse_calendar_text(text).walk("VEVENT"):
        uid = str(event.get("UID", ""))
        if uid:
            return uid
    raise ValueError("no UID")


async def _deliver(
    store: Store, user: StoreUser, uid: str, after: str, before: str | None
) -> str | None:
    """Create or update the user's copy; the calendar id written (None: nothing written)."""
    found = await _find(store, user, uid)
    existing = found[1].ical if found is not None else None
    try:
        copy = attendee_copy(after, before, existing, user.email)
    except _EVENT_ERRORS:
        log.warning("a local attendee's copy cannot be built", extra={"attendee": user.login})
        return None
    if copy is None or copy == existing:
        return None
    if found is None:
        calendar_id = await _default_calendar(store, user)
        await store.put_item(user, calendar_id, copy)
        log.info("meeting delivered to a local attendee", extra={"attendee": user.login})
        return calendar_id
    calendar_id, item = found
    await store.put_item(user, calendar_id, copy, item_id=item.ref.id, if_match=item.ref.etag)
    log.info("meeting updated for a local attendee", extra={"attendee": user.login})
    return calendar_id


async def _cancel(store: Store, user: StoreUser, uid: str, after: str | None) -> str | None:
    """Mark the user's copy cancelled (none: nothing); the calendar id written."""
    found = await _find(store, user, uid)
    if found is None:
        return None
    calendar_id, item = found
    try:
        copy = cancelled_copy(item.ical, sequence_of(after) if after is not None else None)
    except _EVENT_ERRORS:
        log.warning("a local attendee's copy cannot be read; not cancelled")
        return None
    if copy == item.ical:
        return None
    await store.put_item(user, calendar_id, copy, item_id=item.ref.id, if_match=item.ref.etag)
    log.info("meeting cancelled for a local attendee", extra={"attendee": user.login})
    return calendar_id


# --- answers ---------------------------------------------------------------------------


async def update_organizer_copy(
    gateway: Gateway,
    attendee: StoreUser,
    ical: str | None,
    *,
    uid: str,
    partstat: str,
    recurrence_id: datetime | None = None,
) -> bool:
    """Set ``attendee``'s PARTSTAT (ACCEPTED / TENTATIVE / DECLINED) on the
    organizer's copy when the organizer of ``ical`` (the attendee's event) is an
    easgw user: for the series, or with ``recurrence_id`` for that occurrence
    (its override, created from the series if needed). If-Match on the etag,
    retried on a concurrent write. True when written."""
    if ical is None:
        return False
    try:
        organizer_email = organizer_of(ical)
    except _EVENT_ERRORS:
        return False
    if organizer_email is None or organizer_email == attendee.email.strip().lower():
        return False
    found_users = await _local_users(gateway, [organizer_email])
    if not found_users:
        return False
    organizer = found_users[0]
    store = gateway.store
    for _attempt in range(_ATTEMPTS):
        found = await _find(store, organizer, uid)
        if found is None:
            return False
        calendar_id, item = found
        try:
            text = with_partstat(
                item.ical,
                organizer=organizer_email,
                attendee=attendee.email,
                partstat=partstat,
                recurrence_id=recurrence_id,
            )
        except _EVENT_ERRORS:
            log.warning("the organizer's copy cannot be read; answer not recorded")
            return False
        if text is None:
            return False
        try:
            await store.put_item(
                organizer, calendar_id, text, item_id=item.ref.id, if_match=item.ref.etag
            )
        except (PreconditionFailed, NotFound):
            continue  # written or removed concurrently: read it again
        log.info("answer recorded on the organizer's copy", extra={"organizer": organizer.login})
        return True
    log.warning("answer not recorded: the organizer's copy kept changing")
    return False
