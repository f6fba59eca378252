"""The folder hierarchy commands: FolderSync, FolderCreate, FolderUpdate, FolderDelete.

MS-ASCMD 2.2.1.5 (FolderSync), 2.2.1.3 (FolderCreate), 2.2.1.6 (FolderUpdate)
and 2.2.1.4 (FolderDelete); statuses in 2.2.3.177.3-2.2.3.177.6. Every element
lives in the FolderHierarchy code page (namespace ``FolderHierarchy:``).

Server side: ``parse_*_request(tree, version)`` and ``render_*_response(model,
version)``. The client side (``render_*_request``, ``parse_*_response``) serves
tests, fixtures and replay tooling. Parsing a request raises
``EasStatusError(<the command's MalformedRequest status>)`` on bad structure.

A FolderSync answer that must be replayed byte for byte (the phone lost it and
retries with the previous key) travels as :class:`EncodedResponse`: the handler
stores :func:`encode_folder_sync_response` of the answer it returns, and on a
retry hands the stored bytes back in an ``EncodedResponse``, which
:func:`render_folder_sync_response` decodes; the codec's ``encode(decode(b))
== b`` guarantee (CONTRACTS.md section 1) makes the retry's bytes identical.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, TypeVar

from lxml import etree

from protocol import wbxml
from protocol.status import EasStatusError

__all__ = [
    "NAMESPACE",
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
    "encode_folder_sync_response",
    "parse_folder_create_request",
    "parse_folder_create_response",
    "parse_folder_delete_request",
    "parse_folder_delete_response",
    "parse_folder_sync_request",
    "parse_folder_sync_response",
    "parse_folder_update_request",
    "parse_folder_update_response",
    "render_folder_create_request",
    "render_folder_create_response",
    "render_folder_delete_request",
    "render_folder_delete_response",
    "render_folder_sync_request",
    "render_folder_sync_response",
    "render_folder_update_request",
    "render_folder_update_response",
]

NAMESPACE: Final = "FolderHierarchy:"
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


# --- models -------------------------------------------------------------------


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


_Flat = TypeVar("_Flat")


# --- tree helpers -----------------------------------------------------------------


def _q(name: str) -> str:
    return f"{{{NAMESPACE}}}{name}"


def _local(element: etree._Element) -> str | None:
    tag = str(element.tag)  # a comment's tag is a function: never in the namespace
    if not tag.startswith(f"{{{NAMESPACE}}}"):
        return None
    return tag[len(NAMESPACE) + 2 :]


def _fields(
    tree: etree._Element | None, root: str, allowed: frozenset[str], status: int
) -> dict[str, str]:
    """The texts of a request's leaf children, by local name; ``status`` when
    the root is wrong, a child is unknown, repeated or has children."""
    if tree is None or tree.tag != _q(root):
        raise EasStatusError(status, f"expected a {root} element")
    found: dict[str, str] = {}
    for child in tree:
        name = _local(child)
        if name is None or name not in allowed or name in found or len(child):
            raise EasStatusError(status, f"unexpected {child.tag} in {root}")
        found[name] = child.text or ""
    return found


def _required(found: Mapping[str, str], name: str, status: int) -> str:
    value = found.get(name)
    if value is None:
        raise EasStatusError(status, f"{name} is missing")
    return value


def _folder_type(text: str, status: int) -> FolderType:
    try:
        return FolderType(int(text.strip()))
    except ValueError:
        raise EasStatusError(status, f"Type {text!r} is not a folder type") from None


def _leaf(parent: etree._Element, name: str, text: str) -> etree._Element:
    element = etree.SubElement(parent, _q(name))
    element.text = text
    return element


def _root_with(name: str, pairs: list[tuple[str, str | None]]) -> etree._Element:
    root = etree.Element(_q(name), nsmap={"FolderHierarchy": NAMESPACE})
    for tag, text in pairs:
        if text is not None:
            _leaf(root, tag, text)
    return root


# --- FolderSync -----------------------------------------------------------------------


def parse_folder_sync_request(tree: etree._Element | None, version: str) -> FolderSyncRequest:
    """A FolderSync request; Status 10 when it has no SyncKey or another child."""
    del version
    malformed = FolderSyncStatus.MalformedRequest
    found = _fields(tree, "FolderSync", frozenset({"SyncKey"}), malformed)
    return FolderSyncRequest(sync_key=_required(found, "SyncKey", malformed))


def render_folder_sync_request(request: FolderSyncRequest, version: str) -> etree._Element:
    del version
    return _root_with("FolderSync", [("SyncKey", request.sync_key)])


def _render_entry(parent: etree._Element, tag: str, entry: FolderEntry) -> None:
    element = etree.SubElement(parent, _q(tag))
    _leaf(element, "ServerId", entry.server_id)
    _leaf(element, "ParentId", entry.parent_id)
    _leaf(element, "DisplayName", entry.display_name)
    _leaf(element, "Type", str(int(entry.type)))


def render_folder_sync_response(
    response: FolderSyncResponse | EncodedResponse, version: str
) -> etree._Element:
    """Status, SyncKey, then Changes: Count, Update*, Delete*, Add* (the order
    MS-ASCMD 2.2.3.25 lists them in). An ``EncodedResponse`` decodes as sent."""
    del version
    if isinstance(response, EncodedResponse):
        return wbxml.decode(response.wbxml)
    root = _root_with(
        "FolderSync", [("Status", str(int(response.status))), ("SyncKey", response.sync_key)]
    )
    changes = response.changes
    if changes is not None:
        container = etree.SubElement(root, _q("Changes"))
        _leaf(container, "Count", str(changes.count))
        for entry in changes.update:
            _render_entry(container, "Update", entry)
        for server_id in changes.delete:
            _leaf(etree.SubElement(container, _q("Delete")), "ServerId", server_id)
        for entry in changes.add:
            _render_entry(container, "Add", entry)
    return root


def encode_folder_sync_response(
    response: FolderSyncResponse | EncodedResponse, version: str
) -> bytes:
    """The WBXML bytes the boundary sends for ``response`` (kept for a replay)."""
    return wbxml.encode(render_folder_sync_response(response, version))


def _texts(element: etree._Element) -> dict[str, str]:
    return {name: child.text or "" for child in element if (name := _local(child)) is not None}


def _parse_entry(element: etree._Element) -> FolderEntry:
    texts = _texts(element)
    return FolderEntry(
        server_id=texts.get("ServerId", ""),
        parent_id=texts.get("ParentId", ""),
        display_name=texts.get("DisplayName", ""),
        type=FolderType(int(texts.get("Type", "18"))),
    )


def _parse_changes(element: etree._Element) -> FolderChanges:
    update: list[FolderEntry] = []
    delete: list[str] = []
    add: list[FolderEntry] = []
    for child in element:
        name = _local(child)
        if name == "Update":
            update.append(_parse_entry(child))
        elif name == "Add":
            add.append(_parse_entry(child))
        elif name == "Delete":
            delete.append(_texts(child).get("ServerId", ""))
    return FolderChanges(update=tuple(update), delete=tuple(delete), add=tuple(add))


def parse_folder_sync_response(tree: etree._Element, version: str) -> FolderSyncResponse:
    """A FolderSync response (client side). ValueError when it is not one."""
    del version
    if tree.tag != _q("FolderSync"):
        raise ValueError(f"expected FolderSync, got {tree.tag}")
    texts = _texts(tree)
    changes = tree.find(_q("Changes"))
    return FolderSyncResponse(
        status=FolderSyncStatus(int(texts.get("Status", "0") or "0")),
        sync_key=texts.get("SyncKey"),
        changes=None if changes is None else _parse_changes(changes),
    )


# --- FolderCreate, FolderUpdate, FolderDelete: flat elements -----------------------------
#
# These models are flat: each field is one element, named as the field in
# CamelCase and written in field order (the order of MS-ASCMD's schemas).


def _tag_of(field_name: str) -> str:
    """``sync_key`` -> ``SyncKey``, ``server_id`` -> ``ServerId``."""
    return "".join(part.title() for part in field_name.split("_"))


def _render_flat(root: str, model: object) -> etree._Element:
    pairs: list[tuple[str, str | None]] = []
    for field in dataclasses.fields(model):  # type: ignore[arg-type]
        value = getattr(model, field.name)
        text = str(int(value)) if isinstance(value, int) else value
        pairs.append((_tag_of(field.name), text))
    return _root_with(root, pairs)


def _parse_flat_response(
    tree: etree._Element, cls: type[_Flat], status: type[enum.IntEnum]
) -> _Flat:
    """A short response (client side): Status plus optional string elements."""
    texts = _texts(tree)
    values: dict[str, object] = {
        field.name: texts.get(_tag_of(field.name))
        for field in dataclasses.fields(cls)  # type: ignore[arg-type]
        if field.name != "status"
    }
    return cls(status=status(int(texts.get("Status") or "0")), **values)  # type: ignore[call-arg]


def _parse_flat_request(
    tree: etree._Element | None,
    root: str,
    cls: type[_Flat],
    malformed: int,
    *,
    optional: frozenset[str] = frozenset(),
) -> _Flat:
    """A flat request; Status ``malformed`` when a required element is missing,
    DisplayName is blank or Type is not a folder type."""
    names = [field.name for field in dataclasses.fields(cls)]  # type: ignore[arg-type]
    found = _fields(tree, root, frozenset(_tag_of(name) for name in names), malformed)
    values: dict[str, object] = {}
    for name in names:
        tag = _tag_of(name)
        text = found.get(tag) if name in optional else _required(found, tag, malformed)
        if name == "display_name" and not (text or "").strip():
            raise EasStatusError(malformed, "DisplayName is empty")
        values[name] = _folder_type(text or "", malformed) if name == "type" else text
    return cls(**values)


def parse_folder_create_request(tree: etree._Element | None, version: str) -> FolderCreateRequest:
    del version
    malformed = FolderCreateStatus.MalformedRequest
    return _parse_flat_request(tree, "FolderCreate", FolderCreateRequest, malformed)


def parse_folder_update_request(tree: etree._Element | None, version: str) -> FolderUpdateRequest:
    """Status 10 without SyncKey (MS-ASCMD 2.2.3.181.1), ServerId or DisplayName;
    ParentId may be left out."""
    del version
    malformed = FolderUpdateStatus.MalformedRequest
    return _parse_flat_request(
        tree, "FolderUpdate", FolderUpdateRequest, malformed, optional=frozenset({"parent_id"})
    )


def parse_folder_delete_request(tree: etree._Element | None, version: str) -> FolderDeleteRequest:
    del version
    malformed = FolderDeleteStatus.MalformedRequest
    return _parse_flat_request(tree, "FolderDelete", FolderDeleteRequest, malformed)


def render_folder_create_request(request: FolderCreateRequest, version: str) -> etree._Element:
    del version
    return _render_flat("FolderCreate", request)


def render_folder_update_request(request: FolderUpdateRequest, version: str) -> etree._Element:
    del version
    return _render_flat("FolderUpdate", request)


def render_folder_delete_request(request: FolderDeleteRequest, version: str) -> etree._Element:
    del version
    return _render_flat("FolderDelete", request)


def render_folder_create_response(response: FolderCreateResponse, version: str) -> etree._Element:
    """Status, SyncKey, ServerId; a failure carries Status alone (MS-ASCMD 2.2.3.181.1)."""
    del version
    return _render_flat("FolderCreate", response)


def render_folder_update_response(response: FolderUpdateResponse, version: str) -> etree._Element:
    del version
    return _render_flat("FolderUpdate", response)


def render_folder_delete_response(response: FolderDeleteResponse, version: str) -> etree._Element:
    del version
    return _render_flat("FolderDelete", response)


def parse_folder_create_response(tree: etree._Element, version: str) -> FolderCreateResponse:
    del version
    return _parse_flat_response(tree, FolderCreateResponse, FolderCreateStatus)


def parse_folder_update_response(tree: etree._Element, version: str) -> FolderUpdateResponse:
    del version
    return _parse_flat_response(tree, FolderUpdateResponse, FolderUpdateStatus)


def parse_folder_delete_response(tree: etree._Element, version: str) -> FolderDeleteResponse:
    del version
    return _parse_flat_response(tree, FolderDeleteResponse, FolderDeleteStatus)
