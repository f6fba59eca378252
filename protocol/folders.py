"""The folder hierarchy commands: FolderSync, FolderCreate, FolderUpdate, FolderDelete.

The models live in :mod:`protocol.folder_models` and are re-exported here;
this module is their WBXML codec and the import path for both.

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
from typing import Final, Generic, TypeVar

from lxml import etree

from protocol import wbxml
from protocol.folder_models import (
    MAX_ID_LENGTH,
    ROOT_ID,
    EncodedResponse,
    FolderChanges,
    FolderCreateRequest,
    FolderCreateResponse,
    FolderCreateStatus,
    FolderDeleteRequest,
    FolderDeleteResponse,
    FolderDeleteStatus,
    FolderEntry,
    FolderSyncRequest,
    FolderSyncResponse,
    FolderSyncStatus,
    FolderType,
    FolderUpdateRequest,
    FolderUpdateResponse,
    FolderUpdateStatus,
)
from protocol.status import EasStatusError

__all__ = [
    "MAX_ID_LENGTH",
    "NAMESPACE",
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

_Request = TypeVar("_Request")
_Response = TypeVar("_Response")


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


# --- FolderCreate, FolderUpdate, FolderDelete: one table-driven codec -----------------
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


@dataclass(frozen=True, slots=True, kw_only=True)
class _FlatCommand(Generic[_Request, _Response]):
    """The four codec functions of one flat command, from its models.

    Parsing a request: Status MalformedRequest when a required element is
    missing, DisplayName is blank or Type is not a folder type; ``optional``
    fields may be left out (None). A failed response carries Status alone
    (MS-ASCMD 2.2.3.181.1): the None fields are not written.
    """

    root: str
    request: type[_Request]
    response: type[_Response]
    status: type[enum.IntEnum]
    optional: frozenset[str] = frozenset()

    def parse_request(self, tree: etree._Element | None, version: str) -> _Request:
        del version
        malformed = self.status["MalformedRequest"]
        names = [field.name for field in dataclasses.fields(self.request)]  # type: ignore[arg-type]
        found = _fields(tree, self.root, frozenset(_tag_of(name) for name in names), malformed)
        values: dict[str, object] = {}
        for name in names:
            tag = _tag_of(name)
            text = found.get(tag) if name in self.optional else _required(found, tag, malformed)
            if name == "display_name" and not (text or "").strip():
                raise EasStatusError(malformed, "DisplayName is empty")
            values[name] = _folder_type(text or "", malformed) if name == "type" else text
        return self.request(**values)

    def render_request(self, request: _Request, version: str) -> etree._Element:
        del version
        return _render_flat(self.root, request)

    def render_response(self, response: _Response, version: str) -> etree._Element:
        del version
        return _render_flat(self.root, response)

    def parse_response(self, tree: etree._Element, version: str) -> _Response:
        """A short response (client side): Status plus optional string elements."""
        del version
        texts = _texts(tree)
        values: dict[str, object] = {
            field.name: texts.get(_tag_of(field.name))
            for field in dataclasses.fields(self.response)  # type: ignore[arg-type]
            if field.name != "status"
        }
        status = self.status(int(texts.get("Status") or "0"))
        return self.response(status=status, **values)  # type: ignore[call-arg]


_CREATE: Final = _FlatCommand(
    root="FolderCreate",
    request=FolderCreateRequest,
    response=FolderCreateResponse,
    status=FolderCreateStatus,
)
#: ParentId may be left out (None: the parent is unchanged); SyncKey (MS-ASCMD
#: 2.2.3.181.1), ServerId and DisplayName are required.
_UPDATE: Final = _FlatCommand(
    root="FolderUpdate",
    request=FolderUpdateRequest,
    response=FolderUpdateResponse,
    status=FolderUpdateStatus,
    optional=frozenset({"parent_id"}),
)
_DELETE: Final = _FlatCommand(
    root="FolderDelete",
    request=FolderDeleteRequest,
    response=FolderDeleteResponse,
    status=FolderDeleteStatus,
)

parse_folder_create_request = _CREATE.parse_request
parse_folder_update_request = _UPDATE.parse_request
parse_folder_delete_request = _DELETE.parse_request
render_folder_create_request = _CREATE.render_request
render_folder_update_request = _UPDATE.render_request
render_folder_delete_request = _DELETE.render_request
render_folder_create_response = _CREATE.render_response
render_folder_update_response = _UPDATE.render_response
render_folder_delete_response = _DELETE.render_response
parse_folder_create_response = _CREATE.parse_response
parse_folder_update_response = _UPDATE.parse_response
parse_folder_delete_response = _DELETE.parse_response
