"""The folder hierarchy models: FolderSync, FolderCreate, FolderUpdate, FolderDelete.

Folder types (MS-ASCMD 2.2.3.186.3), the commands' statuses (2.2.3.177.3-
2.2.3.177.6) and the frozen request/response models. The WBXML codec for them,
and the public import path, is :mod:`protocol.folders`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

__all__ = [
    "MAX_ID_LENGTH",
    "ROOT_ID",
    "EncodedResponse",
    "FolderChanges",
    "FolderCreateRequest",
    "FolderCreateResponse",
    "FolderCreateStatus",
    "FolderDeleteRequest",
    "FolderDeleteResponse",
    "FolderDeleteStatus",
    "FolderEntry",
    "FolderSyncRequest",
    "FolderSyncResponse",
    "FolderSyncStatus",
    "FolderType",
    "FolderUpdateRequest",
    "FolderUpdateResponse",
    "FolderUpdateStatus",
]

#: ServerId, ParentId and SyncKey are strings of at most 64 characters
#: (MS-ASCMD 2.2.3.166.4, 2.2.3.181.2).
MAX_ID_LENGTH: Final = 64
#: The root folder's id in ParentId (MS-ASCMD 2.2.1.3: "A parent ID of 0 (zero)
#: signifies the mailbox Root folder").
ROOT_ID: Final = "0"


class FolderType(enum.IntEnum):
    """Folder types (MS-ASCMD 2.2.3.186.3); 2-11 and 19 are the default folders."""

    UserGeneric = 1
    Inbox = 2
    Drafts = 3
    DeletedItems = 4
    SentItems = 5
    Outbox = 6
    Tasks = 7
    Calendar = 8
    Contacts = 9
    Notes = 10
    Journal = 11
    UserMail = 12
    UserCalendar = 13
    UserContacts = 14
    UserTasks = 15
    UserJournal = 16
    UserNotes = 17
    Unknown = 18
    RecipientInformationCache = 19


class FolderSyncStatus(enum.IntEnum):
    """FolderSync statuses (MS-ASCMD 2.2.3.177.5)."""

    Success = 1
    ServerError = 6
    InvalidSyncKey = 9
    MalformedRequest = 10
    UnknownError = 11
    CodeUnknown = 12


class FolderCreateStatus(enum.IntEnum):
    """FolderCreate statuses (MS-ASCMD 2.2.3.177.3)."""

    Success = 1
    FolderExists = 2
    SpecialFolder = 3
    ParentNotFound = 5
    ServerError = 6
    InvalidSyncKey = 9
    MalformedRequest = 10
    UnknownError = 11
    CodeUnknown = 12


class FolderUpdateStatus(enum.IntEnum):
    """FolderUpdate statuses (MS-ASCMD 2.2.3.177.6). 2 covers both "a folder
    with that name exists" and "the folder is a special folder"."""

    Success = 1
    FolderExistsOrSpecial = 2
    RecipientInformationFolder = 3
    FolderNotFound = 4
    ParentNotFound = 5
    ServerError = 6
    InvalidSyncKey = 9
    MalformedRequest = 10
    UnknownError = 11


class FolderDeleteStatus(enum.IntEnum):
    """FolderDelete statuses (MS-ASCMD 2.2.3.177.4)."""

    Success = 1
    SpecialFolder = 3
    FolderNotFound = 4
    ServerError = 6
    InvalidSyncKey = 9
    MalformedRequest = 10
    UnknownError = 11


def _check_id(value: str, what: str) -> None:
    if not value or len(value) > MAX_ID_LENGTH:
        raise ValueError(f"{what} must have 1..{MAX_ID_LENGTH} characters, got {len(value)}")


@dataclass(frozen=True, slots=True, kw_only=True)
class FolderSyncRequest:
    """``SyncKey``: "0" for the initial sync, else the last key the server gave."""

    sync_key: str


@dataclass(frozen=True, slots=True, kw_only=True)
class FolderEntry:
    """One folder of an ``Add`` or ``Update`` (MS-ASCMD 2.2.3.7.1, 2.2.3.187)."""

    server_id: str
    parent_id: str
    display_name: str
    type: FolderType

    def __post_init__(self) -> None:
        _check_id(self.server_id, "ServerId")
        _check_id(self.parent_id, "ParentId")


@dataclass(frozen=True, slots=True, kw_only=True)
class FolderChanges:
    """``Changes``: Count is derived (MS-ASCMD 2.2.3.37: the number of changes)."""

    update: tuple[FolderEntry, ...] = ()
    delete: tuple[str, ...] = ()
    add: tuple[FolderEntry, ...] = ()

    @property
    def count(self) -> int:
        return len(self.update) + len(self.delete) + len(self.add)


@dataclass(frozen=True, slots=True, kw_only=True)
class FolderSyncResponse:
    """Status, and on success the new SyncKey and the Changes (Count 0 when
    nothing changed)."""

    status: FolderSyncStatus = FolderSyncStatus.Success
    sync_key: str | None = None
    changes: FolderChanges | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class EncodedResponse:
    """A response already encoded, sent again byte for byte (a retransmission)."""

    wbxml: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class FolderCreateRequest:
    sync_key: str
    parent_id: str
    display_name: str
    type: FolderType


@dataclass(frozen=True, slots=True, kw_only=True)
class FolderCreateResponse:
    status: FolderCreateStatus = FolderCreateStatus.Success
    sync_key: str | None = None
    server_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class FolderUpdateRequest:
    """``ParentId`` is required by the schema; easgw accepts its absence
    (None: the parent is unchanged)."""

    sync_key: str
    server_id: str
    parent_id: str | None
    display_name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class FolderUpdateResponse:
    status: FolderUpdateStatus = FolderUpdateStatus.Success
    sync_key: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class FolderDeleteRequest:
    sync_key: str
    server_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class FolderDeleteResponse:
    status: FolderDeleteStatus = FolderDeleteStatus.Success
    sync_key: str | None = None
