"""``CalDavStore``: any RFC 4791 server as easgw's calendar store.

Every call acts with the user's own credentials (``StoreUser.password``,
the password the device sent); easgw never uses a super-user and never keeps
a password. Discovery results are cached per login in the process (they hold
no sync state); ids map to hrefs without state (ids.py).

Changes: with ``sync_method = "auto"`` a calendar that answers
``sync-collection`` (RFC 6578) gets exact changes from its sync-token; else,
or with ``"ctag"``, the token is the calendar's ``CS:getctag`` (or its
``DAV:sync-token`` as an opaque change tag): unchanged means no change,
anything else lists every item with ``complete=False`` and the gateway diffs
the etags (a token must fit 255 characters, so it cannot carry a listing).

Push (issue 6 part 4): ``poll_version`` is the cheap check the gateway's
poller makes every ``store.poll_seconds`` (one PROPFIND Depth 0); what it saw
answers a no-change ``changes_since`` with no request while it is at most
``poll_seconds`` old (fresh.py). Writes made through the store (PUT, DELETE)
call the change listeners at once (``SupportsChangeFeed``) and void that memory.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from typing import Literal, Protocol, Self

import httpx

from providers.stores.base import (
    AuthenticationFailed,
    Calendar,
    ChangeListener,
    Changes,
    Item,
    ItemRef,
    NotFound,
    ReadOnly,
    StoreUser,
)
from providers.stores.caldav import calendars, davxml, items
from providers.stores.caldav.client import DavClient
from providers.stores.caldav.discovery import Discovery, discover
from providers.stores.caldav.fresh import FreshTokens, Seen
from providers.stores.caldav.ids import (
    calendar_href,
    item_href,
    item_id_for_uid,
    make_token,
    read_token,
)
from providers.stores.sql.ical_validation import uid_of

__all__ = ["CalDavStore"]

log = logging.getLogger(__name__)

_MAX_CACHED_USERS = 10_000


class CalDavStoreConfig(Protocol):
    """What ``from_config`` reads of the gateway's ``[store]`` section."""

    @property
    def url(self) -> str | None: ...

    @property
    def sync_method(self) -> str: ...

    @property
    def poll_seconds(self) -> int: ...


class CalDavStore:
    """Calendar store on a CalDAV server; implements ``Store`` and ``SupportsLogin``."""

    def __init__(
        self,
        url: str,
        *,
        sync_method: str = "auto",
        timeout: httpx.Timeout | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        fresh_seconds: float = 0,
    ) -> None:
        """``timeout`` defaults to 5 s to connect and 30 s to read; ``transport``
        replaces httpx's (tests); ``fresh_seconds``: how long a polled change tag
        answers a no-change ``changes_since`` (0: never; the gateway sets
        ``store.poll_seconds``)."""
        if sync_method not in ("auto", "ctag"):
            raise ValueError(f"sync_method: expected auto or ctag, got {sync_method!r}")
        self._root = url if url.endswith("/") else url + "/"
        self._sync_method = sync_method
        self._client = DavClient(timeout=timeout, transport=transport)
        self._discovered: dict[str, Discovery] = {}
        #: Calendars that refused sync-collection: the ctag method is used for them.
        self._without_sync: set[str] = set()
        self._fresh = FreshTokens(fresh_seconds)
        self._listeners: list[ChangeListener] = []

    @classmethod
    def from_config(cls, config: CalDavStoreConfig) -> Self:
        """The store for the gateway's ``[store]`` section (``url``, ``sync_method``)."""
        if not config.url:
            raise ValueError("store.url is required for the CalDAV store")
        return cls(config.url, sync_method=config.sync_method, fresh_seconds=config.poll_seconds)

    # -- change feed (SupportsChangeFeed) ---------------------------------------------

    def add_change_listener(self, listener: ChangeListener) -> None:
        """Call ``listener(calendar_id)`` after each successful write through this store."""
        self._listeners.append(listener)

    def remove_change_listener(self, listener: ChangeListener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _wrote(self, url: str, calendar_id: str) -> None:
        """A PUT/DELETE on the calendar at ``url`` succeeded (the server committed it)."""
        self._fresh.forget(url)
        for listener in tuple(self._listeners):
            try:
                listener(calendar_id)
            except Exception:  # a listener's bug must not fail a committed write
                log.exception("change listener failed")

    async def close(self) -> None:
        await self._client.close()

    # -- users --------------------------------------------------------------------

    async def verify_login(self, user: StoreUser) -> bool:
        """Do the server accept ``user``'s credentials? (One discovery round.)"""
        try:
            await self._discover(user)
        except AuthenticationFailed:
            return False
        return True

    async def principal_email(self, user: StoreUser) -> str | None:
        """The ``mailto:`` address of the user's principal, if it has one."""
        return (await self._where(user)).email

    async def _discover(self, user: StoreUser) -> Discovery:
        found = await discover(self._client, user, self._root)
        if len(self._discovered) >= _MAX_CACHED_USERS:
            self._discovered.clear()
        self._discovered[user.login] = found
        return found

    async def _where(self, user: StoreUser) -> Discovery:
        found = self._discovered.get(user.login)
        return found if found is not None else await self._discover(user)

    async def _calendar_url(self, user: StoreUser, calendar_id: str) -> str:
        url = calendar_href((await self._where(user)).home, calendar_id)
        if url is None:
            raise NotFound(f"no calendar {calendar_id!r}")
        return url

    # -- calendars ------------------------------------------------------------------

    async def list_calendars(self, user: StoreUser) -> list[Calendar]:
        """The user's calendars, the default first; the default is made if missing."""
        return await calendars.list_calendars(self._client, user, await self._where(user))

    async def create_calendar(self, user: StoreUser, display_name: str) -> Calendar:
        return await calendars.create_calendar(
            self._client, user, await self._where(user), display_name
        )

    async def rename_calendar(
        self, user: StoreUser, calendar_id: str, display_name: str
    ) -> Calendar:
        return await calendars.rename_calendar(
            self._client, user, await self._where(user), calendar_id, display_name
        )

    async def delete_calendar(self, user: StoreUser, calendar_id: str) -> None:
        await calendars.delete_calendar(self._client, user, await self._where(user), calendar_id)

    # -- items ------------------------------------------------------------------------

    async def list_items(self, user: StoreUser, calendar_id: str) -> list[ItemRef]:
        url = await self._calendar_url(user, calendar_id)
        return await items.list_refs(self._client, user, url)

    async def get_items(
        self, user: StoreUser, calendar_id: str, item_ids: Sequence[str]
    ) -> list[Item]:
        if not item_ids:
            return []
        url = await self._calendar_url(user, calendar_id)
        return await items.fetch_items(self._client, user, url, item_ids)

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
        """PUT with If-Match / If-None-Match; a new item's href is ``<id>.ics``
        with the id derived from its UID, so a retried create lands on it."""
        uid = uid_of(ical)
        url = await self._calendar_url(user, calendar_id)
        target = item_id if item_id is not None else item_id_for_uid(uid)
        href = item_href(url, target)
        if href is None:
            raise NotFound(f"no item {target!r}")
        etag = await items.put(
            self._client, user, href, ical, if_match=if_match, if_none_match=if_none_match
        )
        self._wrote(url, calendar_id)
        return ItemRef(id=target, uid=uid, etag=etag)

    async def delete_item(
        self, user: StoreUser, calendar_id: str, item_id: str, *, if_match: str | None = None
    ) -> None:
        url = await self._calendar_url(user, calendar_id)
        href = item_href(url, item_id)
        if href is None:
            raise NotFound(f"no item {item_id!r}")
        await items.delete(self._client, user, href, if_match=if_match)
        self._wrote(url, calendar_id)

    # -- changes ------------------------------------------------------------------------

    async def changes_since(self, user: StoreUser, calendar_id: str, token: str | None) -> Changes:
        url = await self._calendar_url(user, calendar_id)
        unchanged = self._fresh_answer(user, calendar_id, url, token)
        if unchanged is not None:
            return unchanged
        if self._sync_method == "auto" and url not in self._without_sync:
            try:
                return await self._sync_changes(user, calendar_id, url, token)
            except items.SyncUnsupported:
                if len(self._without_sync) >= _MAX_CACHED_USERS:
                    self._without_sync.clear()
                self._without_sync.add(url)
        return await self._ctag_changes(user, calendar_id, url, token)

    async def _sync_changes(
        self, user: StoreUser, calendar_id: str, url: str, token: str | None
    ) -> Changes:
        since = read_token(token, "s", user.login, calendar_id)
        if since:
            try:
                answer = await items.sync_report(self._client, user, url, since)
            except items.InvalidSyncToken:
                pass
            else:
                new_token = self._token("s", user, calendar_id, answer.sync_token)
                return Changes(token=new_token, changed=answer.changed, deleted=answer.deleted)
        answer = await items.sync_report(self._client, user, url, "")
        new_token = self._token("s", user, calendar_id, answer.sync_token)
        return Changes(token=new_token, changed=answer.changed, deleted=[], complete=token is None)

    def _token(
        self, method: Literal["s", "c"], user: StoreUser, calendar_id: str, value: str | None
    ) -> str:
        token = make_token(method, user.login, calendar_id, value) if value else None
        if token is None:  # no sync-token, or one too long to keep
            raise items.SyncUnsupported("no usable sync-token")
        return token

    async def _ctag_changes(
        self, user: StoreUser, calendar_id: str, url: str, token: str | None
    ) -> Changes:
        ctag = await self._ctag(user, url)
        new_token = make_token("c", user.login, calendar_id, ctag)
        assert new_token is not None  # _ctag keeps it short
        if ctag and read_token(token, "c", user.login, calendar_id) == ctag:
            return Changes(token=new_token, changed=[], deleted=[])
        # The change tag was read first: a write racing the listing moves it again.
        refs = await items.list_refs(self._client, user, url)
        return Changes(token=new_token, changed=refs, deleted=[], complete=token is None)

    async def _ctag(self, user: StoreUser, url: str) -> str:
        """The calendar's change tag ("" if it offers none), at most 200 characters:
        its ``CS:getctag``, else its ``DAV:sync-token`` (asked for only then)."""
        for name in ("cs:getctag", "d:sync-token"):
            try:
                answer = await self._client.multistatus(
                    user, "PROPFIND", url, davxml.propfind(name), depth="0"
                )
            except ReadOnly as exc:  # a collection this user may not read
                raise NotFound(f"no calendar at {url}") from exc
            for response in answer.responses:
                if tag := response.text(name):
                    return _short(tag)
        return ""

    # -- polling (easgw/push/caldav_poller.py) ------------------------------------------

    async def poll_version(self, user: StoreUser, calendar_id: str) -> str:
        """The calendar's change tag now (its sync-token, else its ctag; "" if
        it has neither): one PROPFIND Depth 0. Remembered for ``fresh_seconds``."""
        url = await self._calendar_url(user, calendar_id)
        started = self._fresh.begin(url)
        try:
            answer = await self._client.multistatus(
                user, "PROPFIND", url, davxml.propfind("d:sync-token", "cs:getctag"), depth="0"
            )
        except ReadOnly as exc:  # a collection this user may not read
            raise NotFound(f"no calendar at {url}") from exc
        sync_token = ctag = ""
        for response in answer.responses:
            sync_token = sync_token or response.text("d:sync-token") or ""
            ctag = ctag or response.text("cs:getctag") or ""
        seen = Seen(sync_token=sync_token, ctag=ctag)
        self._fresh.record(url, started, seen)
        return sync_token or ctag

    def _fresh_answer(
        self, user: StoreUser, calendar_id: str, url: str, token: str | None
    ) -> Changes | None:
        """ "No change" when ``token`` holds the tag polled moments ago, else None."""
        seen = self._fresh.get(url) if token is not None else None
        if seen is None:
            return None
        if self._sync_method == "auto" and url not in self._without_sync:
            held, current = read_token(token, "s", user.login, calendar_id), seen.sync_token
        else:  # the same choice as _ctag: the ctag, else the sync-token
            held, current = (
                read_token(token, "c", user.login, calendar_id),
                _short(seen.ctag or seen.sync_token),
            )
        if not held or held != current or token is None:
            return None
        return Changes(token=token, changed=[], deleted=[])


def _short(tag: str) -> str:
    """A change tag cut to fit a token (as ``_ctag`` keeps it)."""
    return tag if len(tag) <= 200 else hashlib.sha256(tag.encode()).hexdigest()
