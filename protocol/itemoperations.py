"""The ItemOperations command's request and response (MS-ASCMD 2.2.1.10).

A request holds operations, answered in request order inside ``Response``
after a top-level Status (statuses 2.2.3.177.8):

* ``Fetch`` (2.2.3.67.1): ``Store`` (``Mailbox`` or ``DocumentLibrary``)
  and one of ``AirSync:CollectionId`` + ``AirSync:ServerId``,
  ``Search:LongId`` (an item found by Search), ``AirSyncBase:FileReference``
  (an attachment) or ``DocumentLibrary:LinkId``; ``Options`` with
  ``AirSyncBase:BodyPreference`` (MS-ASAIRS 2.2.2.7), Schema, Range,
  credentials (read and ignored here). The answer carries the same ids,
  ``AirSync:Class`` and ``Properties``: the item's elements as Sync renders
  its ApplicationData.
* ``EmptyFolderContents`` (2.2.3.58): ``AirSync:CollectionId`` and
  ``Options/DeleteSubFolders``.
* ``Move`` (2.2.3.117.1, 14.0+): a conversation (``ConversationId``, OPAQUE)
  to ``DstFldId``.

A document that is not an ItemOperations request at all gets the top-level
Status 2 (protocol error, raised as :class:`~protocol.status.EasStatusError`);
an operation that cannot be read (no Store, no id, a bad BodyPreference, Move
before 14.0) becomes an :class:`InvalidOperation` answered with its own
Status 2 while the others proceed.

Multipart (2.2.1.10.1): when the response says ``multipart``, each
``AirSyncBase:Body/AirSyncBase:Data`` in a Fetch's Properties is replaced by an
``ItemOperations:Part`` element (MS-ASAIRS 2.2.2.33: Part replaces Data) and
the text goes into that part of a :class:`~protocol.multipart.MultipartBody`.
"""

from __future__ import annotations

import base64
import binascii
import copy
import enum
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from lxml import etree

from protocol.multipart import MultipartBody
from protocol.status import EasStatusError
from protocol.sync import BodyPreference
from protocol.wbxml import MARKER_NS

__all__ = [
    "EmptyFolderContentsRequest",
    "EmptyFolderContentsResult",
    "FetchRequest",
    "FetchResult",
    "InvalidOperation",
    "ItemOperationsRequest",
    "ItemOperationsResponse",
    "ItemOperationsStatus",
    "MoveRequest",
    "MoveResult",
    "Operation",
    "parse_item_operations_request",
    "render_item_operations_response",
]

NS: Final = "ItemOperations:"
AIRSYNC: Final = "AirSync:"
AIRSYNCBASE: Final = "AirSyncBase:"
SEARCH: Final = "Search:"
DOCUMENT_LIBRARY: Final = "DocumentLibrary:"
_OPAQUE: Final = f"{{{MARKER_NS}}}opaque"
#: Ids are at most 64 characters (MS-ASCMD 2.2.3.166.8); a LinkId is a UNC path or URL.
MAX_ID_LENGTH: Final = 64
MAX_LINK_LENGTH: Final = 2048


class ItemOperationsStatus(enum.IntEnum):
    """ItemOperations statuses (MS-ASCMD 2.2.3.177.8)."""

    Success = 1
    ProtocolError = 2
    ServerError = 3
    DocumentLibraryBadUri = 4
    DocumentLibraryAccessDenied = 5
    ObjectNotFound = 6
    DocumentLibraryConnectionFailed = 7
    InvalidByteRange = 8
    UnknownStore = 9
    FileEmpty = 10
    DataTooLarge = 11
    IoFailure = 12
    ConversionFailed = 14
    InvalidAttachment = 15
    AccessDenied = 16
    PartialSuccess = 17
    CredentialsRequired = 18
    MissingElements = 155
    ActionNotSupported = 156


# --- request models ---------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class FetchRequest:
    store: str
    collection_id: str | None = None
    server_id: str | None = None
    long_id: str | None = None
    file_reference: str | None = None
    link_id: str | None = None
    body_preferences: tuple[BodyPreference, ...] = ()
    mime_support: int | None = None
    range: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class EmptyFolderContentsRequest:
    collection_id: str
    delete_sub_folders: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class MoveRequest:
    conversation_id: bytes
    dst_fld_id: str
    move_always: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class InvalidOperation:
    """An operation that could not be read: answered with Status 2."""

    name: str  # "Fetch" | "EmptyFolderContents" | "Move"
    reason: str


Operation = FetchRequest | EmptyFolderContentsRequest | MoveRequest | InvalidOperation


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemOperationsRequest:
    operations: tuple[Operation, ...]


# --- response models --------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class FetchResult:
    """One Fetch answer, in 2.2.3.67.2's order: Status, the ids, Class, Properties."""

    status: ItemOperationsStatus
    collection_id: str | None = None
    server_id: str | None = None
    long_id: str | None = None
    file_reference: str | None = None
    link_id: str | None = None
    class_name: str | None = None
    #: The Properties children (the item's elements); None: no Properties.
    properties: tuple[etree._Element, ...] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class EmptyFolderContentsResult:
    status: ItemOperationsStatus
    collection_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class MoveResult:
    status: ItemOperationsStatus
    conversation_id: bytes | None = None


Result = FetchResult | EmptyFolderContentsResult | MoveResult


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemOperationsResponse:
    status: ItemOperationsStatus = ItemOperationsStatus.Success
    results: tuple[Result, ...] = ()
    #: Send Fetch content as parts of a multipart body (2.2.1.10.1).
    multipart: bool = False


# --- parsing --------------------------------------------------------------------------


class _Unreadable(ValueError):
    """An operation that cannot be read (becomes an InvalidOperation)."""


def _children(element: etree._Element) -> Iterator[tuple[str, str, etree._Element]]:
    for child in element:
        tag = str(child.tag)  # a comment's tag is a function: never "{...}"
        if tag.startswith("{"):
            namespace, _, name = tag[1:].partition("}")
            yield namespace, name, child


def _text(element: etree._Element, limit: int = MAX_ID_LENGTH) -> str:
    text = (element.text or "").strip()
    if not text or len(text) > limit:
        raise _Unreadable(f"{element.tag}: expected 1..{limit} characters")
    return text


def _int(element: etree._Element, low: int, high: int) -> int:
    text = (element.text or "").strip()
    if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
        raise _Unreadable(f"{element.tag}: expected an integer {low}..{high}")
    return int(text)


def _flag(element: etree._Element) -> bool:
    text = (element.text or "").strip()
    if text not in {"", "0", "1"}:
        raise _Unreadable(f"{element.tag}: expected 0 or 1")
    return text != "0"


def _body_preference(element: etree._Element) -> BodyPreference:
    values: dict[str, int | bool] = {}
    for namespace, name, child in _children(element):
        if namespace != AIRSYNCBASE:
            continue
        if name == "Type":
            values["type"] = _int(child, 1, 4)
        elif name == "TruncationSize":
            values["truncation_size"] = _int(child, 0, 2**32 - 1)
        elif name == "AllOrNone":
            values["all_or_none"] = _flag(child)
        elif name == "Preview":
            values["preview"] = _int(child, 0, 255)
    if "type" not in values:
        raise _Unreadable("BodyPreference without Type")
    return BodyPreference(**values)  # type: ignore[arg-type]


def _fetch_options(element: etree._Element, values: dict[str, object]) -> None:
    preferences: list[BodyPreference] = []
    for namespace, name, child in _children(element):
        if (namespace, name) == (AIRSYNCBASE, "BodyPreference"):
            preferences.append(_body_preference(child))
        elif (namespace, name) == (AIRSYNC, "MIMESupport"):
            values["mime_support"] = _int(child, 0, 2)
        elif (namespace, name) == (NS, "Range"):
            values["range"] = _text(child)
        # Schema, BodyPartPreference, UserName, Password, RightsManagementSupport: unused.
    values["body_preferences"] = tuple(preferences)


_FETCH_IDS: Final = {
    (NS, "Store"): ("store", MAX_ID_LENGTH),
    (AIRSYNC, "CollectionId"): ("collection_id", MAX_ID_LENGTH),
    (AIRSYNC, "ServerId"): ("server_id", MAX_ID_LENGTH),
    (SEARCH, "LongId"): ("long_id", MAX_ID_LENGTH),
    (AIRSYNCBASE, "FileReference"): ("file_reference", MAX_LINK_LENGTH),
    (DOCUMENT_LIBRARY, "LinkId"): ("link_id", MAX_LINK_LENGTH),
}


def _fetch(element: etree._Element) -> FetchRequest:
    values: dict[str, object] = {}
    for namespace, name, child in _children(element):
        field = _FETCH_IDS.get((namespace, name))
        if field is not None:
            values[field[0]] = _text(child, field[1])
        elif (namespace, name) == (NS, "Options"):
            _fetch_options(child, values)
    if "store" not in values:
        raise _Unreadable("Fetch without Store")
    if not any(k in values for k in ("server_id", "long_id", "file_reference", "link_id")):
        raise _Unreadable("Fetch names no item (ServerId, LongId, FileReference or LinkId)")
    return FetchRequest(**values)  # type: ignore[arg-type]


def _empty_folder_contents(element: etree._Element) -> EmptyFolderContentsRequest:
    collection_id: str | None = None
    delete_sub_folders = False
    for namespace, name, child in _children(element):
        if (namespace, name) == (AIRSYNC, "CollectionId"):
            collection_id = _text(child)
        elif (namespace, name) == (NS, "Options"):
            delete_sub_folders = any(n == "DeleteSubFolders" for _ns, n, _c in _children(child))
    if collection_id is None:
        raise _Unreadable("EmptyFolderContents without CollectionId")
    return EmptyFolderContentsRequest(
        collection_id=collection_id, delete_sub_folders=delete_sub_folders
    )


def _opaque(element: etree._Element) -> bytes:
    text = element.text or ""
    if element.get(_OPAQUE) != "1":
        return text.encode()
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise _Unreadable("ConversationId is not valid base64") from None


def _move(element: etree._Element, version: str) -> MoveRequest:
    if _version(version) < (14, 0):
        raise _Unreadable("Move is a 14.0+ operation")
    values: dict[str, object] = {}
    for namespace, name, child in _children(element):
        if (namespace, name) == (NS, "ConversationId"):
            values["conversation_id"] = _opaque(child)
        elif (namespace, name) == (NS, "DstFldId"):
            values["dst_fld_id"] = _text(child)
        elif (namespace, name) == (NS, "Options"):
            values["move_always"] = any(n == "MoveAlways" for _ns, n, _c in _children(child))
    if "conversation_id" not in values or "dst_fld_id" not in values:
        raise _Unreadable("Move needs ConversationId and DstFldId")
    return MoveRequest(**values)  # type: ignore[arg-type]


def _version(version: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in version.split("."))
    except ValueError:
        return (0,)


def _operation(name: str, element: etree._Element, version: str) -> Operation:
    try:
        if name == "Fetch":
            return _fetch(element)
        if name == "EmptyFolderContents":
            return _empty_folder_contents(element)
        return _move(element, version)
    except _Unreadable as exc:
        return InvalidOperation(name=name, reason=str(exc))


def parse_item_operations_request(
    tree: etree._Element | None, version: str
) -> ItemOperationsRequest:
    """The request; the top-level Status 2 when it is not one."""
    if tree is None or tree.tag != f"{{{NS}}}ItemOperations":
        raise EasStatusError(ItemOperationsStatus.ProtocolError, "expected ItemOperations")
    operations: list[Operation] = []
    for namespace, name, child in _children(tree):
        if namespace != NS or name not in {"Fetch", "EmptyFolderContents", "Move"}:
            raise EasStatusError(ItemOperationsStatus.ProtocolError, f"unexpected {name}")
        operations.append(_operation(name, child, version))
    if not operations:
        raise EasStatusError(ItemOperationsStatus.ProtocolError, "no operation")
    return ItemOperationsRequest(operations=tuple(operations))


# --- rendering ------------------------------------------------------------------------


def _leaf(parent: etree._Element, namespace: str, name: str, text: str | None) -> None:
    if text is not None:
        etree.SubElement(parent, f"{{{namespace}}}{name}").text = text


def _render_fetch(parent: etree._Element, result: FetchResult) -> None:
    element = etree.SubElement(parent, f"{{{NS}}}Fetch")
    _leaf(element, NS, "Status", str(int(result.status)))
    _leaf(element, AIRSYNC, "CollectionId", result.collection_id)
    _leaf(element, AIRSYNC, "ServerId", result.server_id)
    _leaf(element, SEARCH, "LongId", result.long_id)
    _leaf(element, DOCUMENT_LIBRARY, "LinkId", result.link_id)
    _leaf(element, AIRSYNCBASE, "FileReference", result.file_reference)
    _leaf(element, AIRSYNC, "Class", result.class_name)
    if result.properties is not None:
        properties = etree.SubElement(element, f"{{{NS}}}Properties")
        for child in result.properties:
            copied = copy.deepcopy(child)
            copied.tail = None
            properties.append(copied)


def _render_result(parent: etree._Element, result: Result) -> None:
    if isinstance(result, FetchResult):
        _render_fetch(parent, result)
        return
    name = "Move" if isinstance(result, MoveResult) else "EmptyFolderContents"
    element = etree.SubElement(parent, f"{{{NS}}}{name}")
    _leaf(element, NS, "Status", str(int(result.status)))
    if isinstance(result, EmptyFolderContentsResult):
        _leaf(element, AIRSYNC, "CollectionId", result.collection_id)
    elif result.conversation_id is not None:
        conversation = etree.SubElement(element, f"{{{NS}}}ConversationId")
        conversation.text = base64.b64encode(result.conversation_id).decode()
        conversation.set(_OPAQUE, "1")


def _split_parts(root: etree._Element) -> MultipartBody:
    """Move each Fetch body's Data into a part, leaving a Part index (2.2.3.130)."""
    parts: list[bytes] = []
    path = f"{{{NS}}}Response/{{{NS}}}Fetch/{{{NS}}}Properties/{{{AIRSYNCBASE}}}Body"
    for body in root.iterfind(path):
        data = body.find(f"{{{AIRSYNCBASE}}}Data")
        if data is None:
            continue
        parts.append((data.text or "").encode())
        part = etree.Element(f"{{{NS}}}Part")
        part.text = str(len(parts))  # part 0 is the WBXML itself
        body.replace(data, part)
    return MultipartBody(root=root, parts=tuple(parts))


def render_item_operations_response(
    response: ItemOperationsResponse, version: str
) -> etree._Element | MultipartBody:
    """``ItemOperations``: Status, then Response with one answer per operation;
    a :class:`MultipartBody` when the response is ``multipart``."""
    del version
    root = etree.Element(f"{{{NS}}}ItemOperations", nsmap={"ItemOperations": NS})
    _leaf(root, NS, "Status", str(int(response.status)))
    if response.results:
        answers = etree.SubElement(root, f"{{{NS}}}Response")
        for result in response.results:
            _render_result(answers, result)
    return _split_parts(root) if response.multipart else root
