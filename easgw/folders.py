"""The user's folders: the store's calendars plus five (empty) mail folders.

Every folder has a short, stable EAS ServerId from the ``folders`` table (the
folder map): per user, never per device, so every device of a user sees the
same ids; never the raw store id. Ids are decimal strings allocated from 1
("0" is the root in ParentId). A row is never deleted, so a calendar that
disappears and comes back with the same store id keeps its ServerId; and a
FolderSync at key 0 hands out the ids the device already knew (MS-ASCMD
3.1.5.3: "Existing ServerId values do not change when the client
resynchronizes").

Calendars: the store's default one is Type 8 (default Calendar), the others
Type 13 (user-created calendar); all sit at the root (ParentId "0"): the store
has no nesting. Mail folders: Inbox 2, Drafts 3, Deleted Items 4, Sent Items 5,
Outbox 6 (MS-ASCMD 2.2.3.186.3), advertised because clients expect them and
synced as empty folders by the item commands.

The hierarchy snapshot a device holds (``HierarchyState.snapshot``) maps
ServerId -> [ParentId, DisplayName, Type]; :func:`hierarchy_changes` is the pure
diff between two snapshots.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from sqlalchemy import BindParameter, Select, bindparam, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from easgw.state.models import Folder
from protocol.folders import FolderChanges, FolderEntry, FolderType

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from easgw.gateway import RequestContext

__all__ = [
    "MAIL_FOLDERS",
    "ROOT_ID",
    "FolderMap",
    "MailFolder",
    "Snapshot",
    "UserFolder",
    "calendar_ref",
    "find_folder",
    "hierarchy_changes",
    "list_folders",
    "mail_ref",
    "snapshot_of",
]

log = logging.getLogger(__name__)

ROOT_ID: Final = "0"
#: ServerId -> [ParentId, DisplayName, Type], as stored in HierarchyState (JSON).
Snapshot = dict[str, list[str | int]]

_DECIMAL = re.compile(r"[1-9][0-9]*")
_ALLOCATION_ATTEMPTS: Final = 5
_DEFAULT_CALENDAR_NAME: Final = "Calendar"


@dataclass(frozen=True, slots=True, kw_only=True)
class MailFolder:
    role: str
    display_name: str
    type: FolderType


MAIL_FOLDERS: Final = (
    MailFolder(role="inbox", display_name="Inbox", type=FolderType.Inbox),
    MailFolder(role="drafts", display_name="Drafts", type=FolderType.Drafts),
    MailFolder(role="deleted", display_name="Deleted Items", type=FolderType.DeletedItems),
    MailFolder(role="sent", display_name="Sent Items", type=FolderType.SentItems),
    MailFolder(role="outbox", display_name="Outbox", type=FolderType.Outbox),
)


def calendar_ref(calendar_id: str) -> str:
    """The folder map's store reference of a store calendar."""
    return f"calendar:{calendar_id}"


def mail_ref(role: str) -> str:
    """The folder map's store reference of a mail folder (``inbox``, ``sent``, ...)."""
    return f"mail:{role}"


@dataclass(frozen=True, slots=True, kw_only=True)
class UserFolder:
    """One folder as the gateway presents it to every device of its user."""

    server_id: str
    store_ref: str
    display_name: str
    type: FolderType
    parent_id: str = ROOT_ID
    #: The store's calendar id; None for a mail folder.
    calendar_id: str | None = None

    @property
    def is_calendar(self) -> bool:
        return self.calendar_id is not None

    @property
    def is_special(self) -> bool:
        """A default folder (types 2-11): the client may not rename or delete it."""
        return self.type is not FolderType.UserCalendar

    def entry(self) -> FolderEntry:
        return FolderEntry(
            server_id=self.server_id,
            parent_id=self.parent_id,
            display_name=self.display_name,
            type=self.type,
        )


class FolderMap:
    """The user's ServerId <-> store reference map (the ``folders`` table)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], user_id: int) -> None:
        self._sessions = sessions
        self._user_id = user_id

    async def server_ids(self, store_refs: Sequence[str]) -> dict[str, str]:
        """The ServerId of each reference, allocating the missing ones.

        Allocation commits in its own short transaction: ids are per user and
        idempotent, so a concurrent request that allocated first (a unique
        constraint violation here) is simply read back on the next attempt.
        """
        for attempt in range(_ALLOCATION_ATTEMPTS):
            try:
                async with self._sessions.begin() as session:
                    return await self._allocate(session, store_refs)
            except IntegrityError:
                log.info("folder id allocation raced; retrying", extra={"attempt": attempt})
        async with self._sessions.begin() as session:
            return await self._allocate(session, store_refs)

    async def _allocate(self, session: AsyncSession, store_refs: Sequence[str]) -> dict[str, str]:
        rows = (
            await session.execute(
                select(Folder.server_id, Folder.store_ref).where(Folder.user_id == self._user_id)
            )
        ).all()
        by_ref = {store_ref: server_id for server_id, store_ref in rows}
        missing = [ref for ref in dict.fromkeys(store_refs) if ref not in by_ref]
        if missing:
            numbers = [int(sid) for sid, _ in rows if _DECIMAL.fullmatch(sid)]
            next_number = max(numbers, default=0) + 1
            for ref in missing:
                by_ref[ref] = str(next_number)
                session.add(
                    Folder(user_id=self._user_id, server_id=str(next_number), store_ref=ref)
                )
                next_number += 1
            await session.flush()
        return {ref: by_ref[ref] for ref in store_refs}

    async def store_ref(self, server_id: str) -> str | None:
        """The store reference behind a ServerId, None for an unknown one."""
        async with self._sessions() as session:
            result = await session.execute(_store_ref_query(self._user_id, server_id))
            return result.scalar_one_or_none()


def _store_ref_query(
    user_id: int | BindParameter[int], server_id: str | BindParameter[str]
) -> Select[str]:
    return select(Folder.store_ref).where(Folder.user_id == user_id, Folder.server_id == server_id)


_STORE_REF = _store_ref_query(bindparam("user_id"), bindparam("server_id"))  # built once


def find_store_ref(connection: Connection, user_id: int, server_id: str) -> str | None:
    """``FolderMap.store_ref`` as a read for ``Database.reader``."""
    ref: str | None = connection.scalar(_STORE_REF, {"user_id": user_id, "server_id": server_id})
    return ref


async def list_folders(ctx: RequestContext) -> list[UserFolder]:
    """The user's folders now: calendars (default first), then the mail folders.

    StoreUnavailable from the store propagates (the boundary answers 503).
    """
    listed = await ctx.gateway.store.list_calendars(ctx.store_user)
    calendars = sorted(listed, key=lambda calendar: not calendar.is_default)  # stable sort
    refs = [calendar_ref(c.id) for c in calendars] + [mail_ref(m.role) for m in MAIL_FOLDERS]
    ids = await FolderMap(ctx.gateway.database.sessions, ctx.user.id).server_ids(refs)
    folders: list[UserFolder] = []
    default_seen = False
    for calendar in calendars:
        is_default = calendar.is_default and not default_seen
        default_seen = default_seen or is_default
        ref = calendar_ref(calendar.id)
        folders.append(
            UserFolder(
                server_id=ids[ref],
                store_ref=ref,
                display_name=calendar.display_name or _DEFAULT_CALENDAR_NAME,
                type=FolderType.Calendar if is_default else FolderType.UserCalendar,
                calendar_id=calendar.id,
            )
        )
    for mail in MAIL_FOLDERS:
        ref = mail_ref(mail.role)
        folders.append(
            UserFolder(
                server_id=ids[ref], store_ref=ref, display_name=mail.display_name, type=mail.type
            )
        )
    return folders


def find_folder(folders: Sequence[UserFolder], server_id: str) -> UserFolder | None:
    return next((folder for folder in folders if folder.server_id == server_id), None)


def snapshot_of(folders: Sequence[UserFolder]) -> Snapshot:
    """The snapshot a device holds once it has seen ``folders``."""
    return {f.server_id: [f.parent_id, f.display_name, int(f.type)] for f in folders}


def _entry(server_id: str, value: Sequence[str | int]) -> FolderEntry:
    parent_id, display_name, folder_type = value
    return FolderEntry(
        server_id=server_id,
        parent_id=str(parent_id),
        display_name=str(display_name),
        type=FolderType(int(folder_type)),
    )


def hierarchy_changes(held: Mapping[str, Sequence[str | int]], current: Snapshot) -> FolderChanges:
    """What a device holding ``held`` must apply to reach ``current``: an Update
    for a folder whose parent, name or type differs, a Delete for a folder
    gone, an Add for a new one (in ``current``'s order, parents first)."""
    update = tuple(
        _entry(sid, value)
        for sid, value in current.items()
        if sid in held and list(held[sid]) != list(value)
    )
    delete = tuple(sid for sid in held if sid not in current)
    add = tuple(_entry(sid, value) for sid, value in current.items() if sid not in held)
    return FolderChanges(update=update, delete=delete, add=add)
