"""The store protocol: what easgw needs from a groupware calendar store.

Exception tree (every store translates its library's errors at its own edge)::

    StoreError
    ├── StoreUnavailable        the backend is down, slow or answered 5xx: retry later
    ├── AuthenticationFailed    the backend refused the user's credentials
    ├── NotFound                no such calendar or item
    ├── PreconditionFailed      If-Match / If-None-Match did not hold (a conflict)
    ├── ReadOnly                the calendar or item cannot be written by this user
    └── InvalidData             the iCalendar object was refused as malformed

Stores keep no EAS sync state: the gateway owns all of it (STYLE.md 7).
Optional abilities are separate protocols (``SupportsSharedSession``,
``SupportsChangeFeed``, ``SupportsLogin``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "AuthenticationFailed",
    "Calendar",
    "ChangeListener",
    "Changes",
    "InvalidData",
    "Item",
    "ItemRef",
    "NotFound",
    "PreconditionFailed",
    "ReadOnly",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "StoreUser",
    "SupportsChangeFeed",
    "SupportsLogin",
    "SupportsPrincipalEmail",
    "SupportsSharedSession",
]


class StoreError(Exception):
    """Base of every store error."""


class StoreUnavailable(StoreError):
    """The backend cannot answer now (down, timeout, 5xx); the caller may retry."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class AuthenticationFailed(StoreError):
    """The backend refused the user's credentials."""


class NotFound(StoreError):
    """No such calendar or item."""


class PreconditionFailed(StoreError):
    """An If-Match / If-None-Match precondition failed: someone else wrote first."""


class ReadOnly(StoreError):
    """The user may not write this calendar or item."""


class InvalidData(StoreError):
    """The store refused the iCalendar object as malformed."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StoreUser:
    """Who a store call acts for. ``password`` is set only for stores that
    authenticate each user themselves (CalDAV); it is never logged."""

    login: str
    email: str
    display_name: str = ""
    password: str | None = None

    def __repr__(self) -> str:
        return f"StoreUser(login={self.login!r}, email={self.email!r})"


@dataclass(frozen=True, slots=True, kw_only=True)
class Calendar:
    """A calendar collection. ``id`` is the store's stable identifier (an
    opaque string; for CalDAV the collection href)."""

    id: str
    display_name: str
    is_default: bool = False
    read_only: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemRef:
    """An item's identity and version. ``id`` is stable for the item's life in
    its calendar (for CalDAV the resource href); ``etag`` changes on every write."""

    id: str
    uid: str
    etag: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Item:
    """An item with its iCalendar text (one VCALENDAR holding one UID)."""

    ref: ItemRef
    ical: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Changes:
    """What changed in a calendar since a token: items added or modified
    (with their new etags) and ids of items deleted, plus the new token.
    ``complete`` is False when the store could not answer from the old token
    (expired or unknown) and ``changed`` then lists every item."""

    token: str
    changed: Sequence[ItemRef]
    deleted: Sequence[str]
    complete: bool = True


class Store(Protocol):
    """A calendar store, one call per operation, each acting for one user."""

    async def list_calendars(self, user: StoreUser) -> list[Calendar]:
        """The user's calendars; a user with none gets a default one created."""
        ...

    async def create_calendar(self, user: StoreUser, display_name: str) -> Calendar:
        """Create a calendar."""
        ...

    async def rename_calendar(
        self, user: StoreUser, calendar_id: str, display_name: str
    ) -> Calendar:
        """Rename a calendar; NotFound if it does not exist."""
        ...

    async def delete_calendar(self, user: StoreUser, calendar_id: str) -> None:
        """Delete a calendar and its items; NotFound if it does not exist."""
        ...

    async def list_items(self, user: StoreUser, calendar_id: str) -> list[ItemRef]:
        """Every item of a calendar with its etag."""
        ...

    async def get_items(
        self, user: StoreUser, calendar_id: str, item_ids: Sequence[str]
    ) -> list[Item]:
        """The items asked for that exist (missing ids are left out)."""
        ...

    async def put_item(
        self,
        user: StoreUser,
        calendar_id: str,
        ical: str,
        *,
        item_id: str | None = None,
        if_match: str | None = None,
        if_none_match: bool = False,
    ) -> ItemRef:
        """Create or replace an item.

        ``item_id`` None creates a new item (its id derived from the UID).
        ``if_match`` = an etag: replace only that version (else PreconditionFailed).
        ``if_none_match`` True: create only if no item has this id or UID
        (else PreconditionFailed).
        """
        ...

    async def delete_item(
        self, user: StoreUser, calendar_id: str, item_id: str, *, if_match: str | None = None
    ) -> None:
        """Delete an item; NotFound if absent, PreconditionFailed on etag mismatch."""
        ...

    async def changes_since(self, user: StoreUser, calendar_id: str, token: str | None) -> Changes:
        """Changes since ``token`` (None: everything, as ``changed``)."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


@runtime_checkable
class SupportsSharedSession(Protocol):
    """A store that can join the caller's database transaction (the embedded
    SQL store), so a store write and the gateway's sync state commit together.

    ``joined(session)`` returns a context manager; inside it every call of
    this store in the current task uses ``session`` and does not commit.
    """

    def joined(self, session: Any) -> AbstractAsyncContextManager[None]:
        """Use ``session`` (an SQLAlchemy AsyncSession) for calls inside the block."""
        ...


#: Called with a calendar id once a change to that calendar has committed.
ChangeListener = Callable[[str], None]


@runtime_checkable
class SupportsChangeFeed(Protocol):
    """A store that tells when a calendar changed (the embedded SQL store does
    for writes made through it), so held Pings wake without polling.

    Each listener is called on the event loop's thread with the calendar's id,
    only after the write has committed (inside ``joined``: after the caller's
    transaction commits; never when it rolls back). Listeners must be quick
    and must not raise.
    """

    def add_change_listener(self, listener: ChangeListener) -> None:
        """Call ``listener(calendar_id)`` after each committed change."""
        ...

    def remove_change_listener(self, listener: ChangeListener) -> None:
        """Stop calling ``listener`` (a listener never added is ignored)."""
        ...


@runtime_checkable
class SupportsUidLookup(Protocol):
    """A store that finds an item by its UID without listing the calendar (the
    embedded SQL store: an index on (calendar, UID)). :func:`find_uid` falls
    back to a listing for the others."""

    async def find_uid(self, user: StoreUser, calendar_id: str, uid: str) -> ItemRef | None:
        """The calendar's item with this UID, None when there is none."""
        ...


async def find_uid(store: Store, user: StoreUser, calendar_id: str, uid: str) -> ItemRef | None:
    """The item of ``calendar_id`` whose UID is ``uid`` (one UID is one item,
    RFC 4791 4.1), by the store's lookup when it has one, else by listing."""
    if isinstance(store, SupportsUidLookup):
        return await store.find_uid(user, calendar_id, uid)
    for ref in await store.list_items(user, calendar_id):
        if ref.uid == uid:
            return ref
    return None


@runtime_checkable
class SupportsPrincipalEmail(Protocol):
    """A store that knows each user's own address (CalDAV: a ``mailto:`` in
    the principal's calendar-user-address-set, RFC 6638 2.4.1)."""

    async def principal_email(self, user: StoreUser) -> str | None:
        """The user's address, None when the store has none."""
        ...


@runtime_checkable
class SupportsLogin(Protocol):
    """A store that authenticates each user itself (CalDAV): the gateway
    verifies a device's login by asking the store, and keeps no password."""

    async def verify_login(self, user: StoreUser) -> bool:
        """Whether the backend accepts ``user.login`` with ``user.password``;
        StoreUnavailable when it cannot say now."""
        ...
