"""``SqlStore``: the embedded calendar store (SQLAlchemy 2, async).

The default store of easgw. Its tables live in the gateway's database (SQLite
file or PostgreSQL) under the ``store_`` prefix, migrated by its own alembic
history (``migrate()``). Users only ever see their own calendars (by login).

Transactions: outside ``joined(session)`` each call runs in its own session
and commits. Inside it, calls use the caller's ``AsyncSession`` and never
commit, so the caller commits the store write and its own state together.
After a ``StoreError`` from a write inside ``joined``, the caller should roll
back (on PostgreSQL a failed statement aborts the whole transaction).

Errors: database failures become ``StoreUnavailable`` and unique-constraint
races ``PreconditionFailed`` here, at the store's edge.

Change feed (``SupportsChangeFeed``): an item written or deleted, or a calendar
deleted, through this store calls the listeners with the calendar's id after
the transaction that wrote it commits (SQLAlchemy's ``after_commit`` event on
the session, the caller's inside ``joined``); a rollback drops the pending
notifications. Writes made by other processes are not seen here.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from contextvars import ContextVar
from functools import partial
from typing import Any, Self, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from providers.stores.base import (
    Calendar,
    ChangeListener,
    Changes,
    Item,
    ItemRef,
    PreconditionFailed,
    StoreUnavailable,
    StoreUser,
)
from providers.stores.sql import calendars, items, migration
from providers.stores.sql.engine import create_store_engine
from providers.stores.sql.ical_validation import uid_of
from providers.stores.sql.reader import Reader

__all__ = ["SqlStore"]

T = TypeVar("T")

log = logging.getLogger(__name__)

#: Errors meaning "the database cannot answer now" (connection lost, locked, timeout).
_UNAVAILABLE = (DBAPIError, PoolTimeoutError, OSError)
#: session.info keys: the calendars changed in the open transaction; listening.
_CHANGED = "sql_store.changed"
_LISTENING = "sql_store.listening"
_TOKEN = re.compile(r"(?P<calendar>[A-Za-z0-9_-]{1,64}):(?P<seq>[0-9]{1,18})")


class SqlStore:
    """Calendar store in SQL tables; implements ``Store``, ``SupportsSharedSession``
    and ``SupportsChangeFeed``.

    ``SqlStore(engine)`` uses an engine owned by the caller (``close()`` leaves
    it open); ``SqlStore.from_url(url)`` creates and owns one. Call
    ``await store.migrate()`` once at start-up before any other call.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._owns_engine = False
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._reader = Reader(engine)
        self._shared_session: ContextVar[AsyncSession | None] = ContextVar(
            f"sql_store_session_{id(self):x}", default=None
        )
        self._listeners: list[ChangeListener] = []

    @classmethod
    def from_url(cls, url: str) -> Self:
        """A store with its own engine for ``url`` (``sqlite+aiosqlite:///path``,
        ``postgresql+asyncpg://user@host/db``); SQLite runs in WAL mode with a
        5 s busy timeout and foreign keys on."""
        store = cls(create_store_engine(url))
        store._owns_engine = True
        return store

    @property
    def engine(self) -> AsyncEngine:
        """The engine the store runs on."""
        return self._engine

    async def migrate(self) -> None:
        """Bring the store's tables to the newest schema (alembic; idempotent)."""
        try:
            await migration.upgrade(self._engine)
        except _UNAVAILABLE as exc:
            raise StoreUnavailable(_unavailable_message(exc)) from exc

    def joined(self, session: Any) -> AbstractAsyncContextManager[None]:
        """Inside the block, calls in this task use ``session`` (an
        ``AsyncSession`` on the same database) and do not commit."""
        if not isinstance(session, AsyncSession):
            raise TypeError(f"joined() needs an AsyncSession, not {type(session).__name__}")
        return self._join(session)

    def add_change_listener(self, listener: ChangeListener) -> None:
        """Call ``listener(calendar_id)`` after each committed change (module docstring)."""
        self._listeners.append(listener)

    def remove_change_listener(self, listener: ChangeListener) -> None:
        """Stop calling ``listener``."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    async def close(self) -> None:
        """Dispose of the engine if the store created it."""
        self._reader.close()
        if self._owns_engine:
            await self._engine.dispose()

    # -- calendars --------------------------------------------------------------

    async def list_calendars(self, user: StoreUser) -> list[Calendar]:
        """The user's calendars, default first; the first call creates the default."""
        async with self._transaction() as session:
            return await calendars.list_calendars(session, user.login)

    async def create_calendar(self, user: StoreUser, display_name: str) -> Calendar:
        """Create a (non-default) calendar."""
        async with self._transaction() as session:
            return await calendars.create_calendar(session, user.login, display_name)

    async def rename_calendar(
        self, user: StoreUser, calendar_id: str, display_name: str
    ) -> Calendar:
        """Rename a calendar; NotFound if the user has no such calendar."""
        async with self._transaction() as session:
            return await calendars.rename_calendar(session, user.login, calendar_id, display_name)

    async def delete_calendar(self, user: StoreUser, calendar_id: str) -> None:
        """Delete a calendar and its items; NotFound if absent, ReadOnly for the default."""
        async with self._transaction() as session:
            await calendars.delete_calendar(session, user.login, calendar_id)
            self._changed(session, calendar_id)

    # -- items ------------------------------------------------------------------

    async def list_items(self, user: StoreUser, calendar_id: str) -> list[ItemRef]:
        """Every item of a calendar with its etag, by id."""
        async with self._transaction() as session:
            await calendars.calendar_seq(session, user.login, calendar_id)
            return await items.list_items(session, calendar_id)

    async def find_uid(self, user: StoreUser, calendar_id: str, uid: str) -> ItemRef | None:
        """The calendar's item with this UID (SupportsUidLookup), or None."""
        async with self._transaction() as session:
            await calendars.calendar_seq(session, user.login, calendar_id)
            return await items.find_uid(session, calendar_id, uid)

    async def get_items(
        self, user: StoreUser, calendar_id: str, item_ids: Sequence[str]
    ) -> list[Item]:
        """The items asked for that exist, in the order asked."""
        async with self._transaction() as session:
            await calendars.calendar_seq(session, user.login, calendar_id)
            found = await items.get_items(session, calendar_id, item_ids)
        return [Item(ref=ref, ical=ical) for ref, ical in found]

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
        """Create or replace an item (``Store.put_item``); InvalidData for an
        object that is not one VCALENDAR with one UID."""
        uid = uid_of(ical)
        async with self._transaction() as session:
            ref = await items.put_item(
                session,
                user.login,
                calendar_id,
                ical=ical,
                uid=uid,
                item_id=item_id,
                if_match=if_match,
                if_none_match=if_none_match,
            )
            self._changed(session, calendar_id)
        return ref

    async def delete_item(
        self, user: StoreUser, calendar_id: str, item_id: str, *, if_match: str | None = None
    ) -> None:
        """Delete an item; NotFound if absent, PreconditionFailed on etag mismatch."""
        async with self._transaction() as session:
            await items.delete_item(session, user.login, calendar_id, item_id, if_match=if_match)
            self._changed(session, calendar_id)

    async def changes_since(self, user: StoreUser, calendar_id: str, token: str | None) -> Changes:
        """Exact changes since ``token`` (tokens are ``"<calendar id>:<change
        counter>"``); a token this calendar did not issue
        (garbage, another calendar's, from the future) gets every item with
        ``complete=False``."""
        after = _token_seq(token, calendar_id)
        if after is not None and self._shared_session.get() is None:
            # The common poll: nothing changed. One read, no session
            # (reader.py); any other answer takes the transaction below.
            current = await self._read(
                partial(calendars.read_calendar_seq, owner=user.login, calendar_id=calendar_id)
            )
            if current == after:
                return Changes(token=f"{calendar_id}:{current}", changed=[], deleted=[])
        async with self._transaction() as session:
            seq = await calendars.calendar_seq(session, user.login, calendar_id)
            new_token = f"{calendar_id}:{seq}"
            if after is None or after > seq:
                every = await items.list_items(session, calendar_id)
                return Changes(token=new_token, changed=every, deleted=[], complete=token is None)
            changed, deleted = await items.select_changes(session, calendar_id, after, seq)
        return Changes(token=new_token, changed=changed, deleted=deleted)

    # -- plumbing ---------------------------------------------------------------

    def _changed(self, session: AsyncSession, calendar_id: str) -> None:
        """Notify the listeners of ``calendar_id`` once ``session``'s transaction commits."""
        if not self._listeners:
            return
        info = session.info
        pending: set[str] | None = info.get(_CHANGED)
        if pending is None:
            info[_CHANGED] = pending = set()
        if not info.get(_LISTENING):
            info[_LISTENING] = True
            event.listen(session.sync_session, "after_commit", self._after_commit)
            event.listen(session.sync_session, "after_rollback", _after_rollback)
        pending.add(calendar_id)

    def _after_commit(self, session: Session) -> None:
        for calendar_id in sorted(session.info.pop(_CHANGED, None) or ()):
            for listener in tuple(self._listeners):
                try:
                    listener(calendar_id)
                except Exception:  # a listener's bug must not fail a committed write
                    log.exception("change listener failed")

    async def _read(self, fn: Callable[[Connection], T]) -> T:
        try:
            return await self._reader.run(fn)
        except _UNAVAILABLE as exc:
            raise StoreUnavailable(_unavailable_message(exc)) from exc

    @asynccontextmanager
    async def _join(self, session: AsyncSession) -> AsyncIterator[None]:
        reset = self._shared_session.set(session)
        try:
            yield
        finally:
            self._shared_session.reset(reset)

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncSession]:
        """The joined session, or a new session whose transaction commits at the end;
        database errors leave as store errors."""
        shared = self._shared_session.get()
        try:
            if shared is not None:
                yield shared
            else:
                async with self._sessions() as session, session.begin():
                    yield session
        except IntegrityError as exc:
            raise PreconditionFailed("a concurrent write got there first") from exc
        except _UNAVAILABLE as exc:
            raise StoreUnavailable(_unavailable_message(exc)) from exc


def _after_rollback(session: Session) -> None:
    session.info.pop(_CHANGED, None)


def _token_seq(token: str | None, calendar_id: str) -> int | None:
    """The change counter in ``token`` if this calendar issued it, else None."""
    if token is None:
        return None
    match = _TOKEN.fullmatch(token)
    if match is None or match["calendar"] != calendar_id:
        return None
    return int(match["seq"])


def _unavailable_message(exc: BaseException) -> str:
    """A message naming the failure without the statement or its parameters."""
    original = getattr(exc, "orig", None)
    cause = type(original if original is not None else exc).__name__
    return f"the store database is unavailable ({cause})"
