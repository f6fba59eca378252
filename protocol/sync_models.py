"""The Sync command's models (MS-ASCMD 2.2.1.21; statuses 2.2.3.177.17).

Frozen request and response models, and :class:`SyncStatus`. The WBXML codec
for them, and the public import path, is :mod:`protocol.sync`.
"""

from __future__ import annotations

import copy
import enum
from dataclasses import dataclass
from typing import Final

from lxml import etree

__all__ = [
    "AIRSYNC",
    "AIRSYNCBASE",
    "MAX_ID_LENGTH",
    "AddResponse",
    "ApplicationData",
    "BodyPreference",
    "ClientAdd",
    "ClientChange",
    "ClientCommand",
    "ClientDelete",
    "ClientFetch",
    "CollectionRequest",
    "CollectionResponse",
    "EncodedCollection",
    "FetchResponse",
    "ItemResponse",
    "ServerCommand",
    "SyncOptions",
    "SyncRequest",
    "SyncResponse",
    "SyncStatus",
]

AIRSYNC: Final = "AirSync:"
AIRSYNCBASE: Final = "AirSyncBase:"
#: SyncKey, CollectionId, ServerId, ClientId: at most 64 characters (MS-ASCMD 2.2.3.166.8).
MAX_ID_LENGTH: Final = 64


class SyncStatus(enum.IntEnum):
    """Sync statuses (MS-ASCMD 2.2.3.177.17)."""

    Success = 1
    InvalidSyncKey = 3
    ProtocolError = 4
    ServerError = 5
    ConversionError = 6
    Conflict = 7
    ObjectNotFound = 8
    CannotComplete = 9
    FolderHierarchyChanged = 12
    IncompleteRequest = 13
    InvalidWaitOrHeartbeat = 14
    InvalidSyncCommand = 15
    Retry = 16


def _q(name: str, namespace: str = AIRSYNC) -> str:
    return f"{{{namespace}}}{name}"


def _copy(element: etree._Element) -> etree._Element:
    """A detached copy (lxml's C-level deep copy), without the original's tail."""
    copied = copy.deepcopy(element)
    copied.tail = None
    return copied


# --- request models ---------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ApplicationData:
    """An item's data, opaque to the Sync layer: the ApplicationData children."""

    elements: tuple[etree._Element, ...] = ()

    def element(self) -> etree._Element:
        """A fresh ``AirSync:ApplicationData`` element holding copies of the children."""
        root = etree.Element(_q("ApplicationData"))
        for child in self.elements:
            root.append(_copy(child))
        return root


@dataclass(frozen=True, slots=True, kw_only=True)
class BodyPreference:
    """AirSyncBase:BodyPreference (MS-ASAIRS 2.2.2.7): Type 1 plain, 2 HTML, 3 RTF, 4 MIME."""

    type: int
    truncation_size: int | None = None
    all_or_none: bool | None = None
    preview: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncOptions:
    """Options (MS-ASCMD 2.2.3.125.6). ``conflict``: 0 client wins, 1 server wins."""

    filter_type: int | None = None
    body_preferences: tuple[BodyPreference, ...] = ()
    conflict: int | None = None
    mime_support: int | None = None
    mime_truncation: int | None = None
    max_items: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientAdd:
    client_id: str
    application_data: ApplicationData


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientChange:
    server_id: str
    application_data: ApplicationData
    instance_id: str | None = None  # 16.x, AirSyncBase:InstanceId


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientDelete:
    server_id: str
    instance_id: str | None = None  # 16.x


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientFetch:
    server_id: str


ClientCommand = ClientAdd | ClientChange | ClientDelete | ClientFetch


@dataclass(frozen=True, slots=True, kw_only=True)
class CollectionRequest:
    """One Collection of a Sync request. ``get_changes`` None = absent (true
    with a non-zero key, MS-ASCMD 2.2.3.84); ``supported`` None = no Supported."""

    sync_key: str
    collection_id: str
    supported: tuple[str, ...] | None = None
    deletes_as_moves: bool | None = None
    get_changes: bool | None = None
    window_size: int | None = None
    options: SyncOptions | None = None
    commands: tuple[ClientCommand, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncRequest:
    """A Sync request. ``collections`` None = an empty request (no body, or no
    Collections element): the server reuses its cached request (2.2.1.21.1)."""

    collections: tuple[CollectionRequest, ...] | None = None
    wait: int | None = None
    heartbeat_interval: int | None = None
    window_size: int | None = None
    partial: bool = False


# --- response models ------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerCommand:
    """Add, Change, Delete or SoftDelete sent to the device (Commands)."""

    kind: str  # "Add" | "Change" | "Delete" | "SoftDelete"
    server_id: str
    application_data: ApplicationData | None = None

    def __post_init__(self) -> None:
        if self.kind not in {"Add", "Change", "Delete", "SoftDelete"}:
            raise ValueError(f"not a Sync command: {self.kind}")


@dataclass(frozen=True, slots=True, kw_only=True)
class AddResponse:
    """Responses/Add: ClientId, ServerId (on success), Status, and in 16.x the
    calendar UID in ApplicationData."""

    client_id: str
    status: SyncStatus
    server_id: str | None = None
    application_data: ApplicationData | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemResponse:
    """Responses/Change or Responses/Delete: ServerId, Status."""

    kind: str  # "Change" | "Delete"
    server_id: str
    status: SyncStatus


@dataclass(frozen=True, slots=True, kw_only=True)
class FetchResponse:
    server_id: str
    status: SyncStatus
    application_data: ApplicationData | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CollectionResponse:
    """One Collection of the answer, rendered in the order MS-ASCMD 2.2.3.29.2
    lists: SyncKey, CollectionId, Status, MoreAvailable, Commands, Responses."""

    collection_id: str
    status: SyncStatus
    sync_key: str | None = None
    more_available: bool = False
    commands: tuple[ServerCommand, ...] = ()
    responses: tuple[AddResponse | ItemResponse | FetchResponse, ...] = ()
    #: Nothing received, nothing to send, the key unchanged (2.2.1.21.2).
    unchanged: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class EncodedCollection:
    """A Collection answer already sent once, replayed byte for byte."""

    wbxml: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncResponse:
    """A Sync answer: either a top-level Status (with Limit for Status 14) or
    the collections."""

    status: SyncStatus | None = None
    limit: int | None = None
    collections: tuple[CollectionResponse | EncodedCollection, ...] = ()

    @property
    def empty(self) -> bool:
        """Every collection is unchanged: MS-ASCMD 2.2.1.21.2 allows an empty
        Sync response (HTTP 200, no body) here, which the boundary may send
        instead of rendering this answer."""
        return bool(self.collections) and all(
            isinstance(c, CollectionResponse) and c.unchanged for c in self.collections
        )
