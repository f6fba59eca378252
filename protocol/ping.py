"""The Ping command's request and response (MS-ASCMD 2.2.1.13).

Server side: :func:`parse_ping_request` (tree or no body -> typed request)
and :func:`render_ping_response` (typed response -> tree).

Request (MS-ASCMD 6.29): ``Ping`` with an optional ``HeartbeatInterval``
(seconds) and optional ``Folders`` holding one or more ``Folder`` (``Id``, at
most 64 characters, and ``Class``). A request with no body, or a ``Ping``
with neither element, is an *empty* Ping: the server reuses what it cached
(3.1.5.8); each field the request leaves out is None here.

Response (MS-ASCMD 6.30): ``Status``, then ``Folders/Folder`` (the changed
folders' ids, Status 2), ``MaxFolders`` (Status 6) or ``HeartbeatInterval``
(the bound crossed, Status 5), in that order.

Statuses (2.2.3.177.11): a body that is not a well-formed Ping (another root,
a non-integer HeartbeatInterval, a Folder without an Id, an Id over 64
characters, an empty Folders, the same Id twice: 2.2.3.90) is Status 4,
raised as :class:`~protocol.status.EasStatusError`. Bounds (Status 5) and the
number of folders (Status 6) are the server's business: it knows its limits.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from lxml import etree

from protocol.status import EasStatusError

__all__ = [
    "PingFolder",
    "PingRequest",
    "PingResponse",
    "PingStatus",
    "parse_ping_request",
    "render_ping_response",
]

NS: Final = "Ping:"
#: Id: at most 64 characters (MS-ASCMD 2.2.3.90).
MAX_ID_LENGTH: Final = 64
#: Class is an enumeration (Email, Calendar, Contacts, Tasks, Notes); any short
#: string is kept, as the server only echoes nothing of it back.
MAX_CLASS_LENGTH: Final = 64
#: A HeartbeatInterval longer than this many digits is out of every range: it
#: is read as this ceiling, so the server answers Status 5 with its maximum.
_MAX_DIGITS: Final = 10
_CEILING: Final = 10**_MAX_DIGITS


class PingStatus(enum.IntEnum):
    """Ping statuses (MS-ASCMD 2.2.3.177.11)."""

    Expired = 1
    ChangesFound = 2
    MissingParameters = 3
    SyntaxError = 4
    HeartbeatOutOfRange = 5
    TooManyFolders = 6
    FolderHierarchySyncRequired = 7
    ServerError = 8


@dataclass(frozen=True, slots=True, kw_only=True)
class PingFolder:
    """One monitored folder: its ServerId and content class ("" when absent)."""

    id: str
    class_name: str = ""

    def __post_init__(self) -> None:
        if not 0 < len(self.id) <= MAX_ID_LENGTH:
            raise ValueError(f"a folder Id has 1..{MAX_ID_LENGTH} characters")


@dataclass(frozen=True, slots=True, kw_only=True)
class PingRequest:
    """A Ping; None = left out (the server uses its cached value)."""

    heartbeat_interval: int | None = None
    folders: tuple[PingFolder, ...] | None = None

    def __post_init__(self) -> None:
        if self.heartbeat_interval is not None and self.heartbeat_interval < 0:
            raise ValueError("a heartbeat is never negative")
        if self.folders is not None:
            ids = [folder.id for folder in self.folders]
            if not ids or len(set(ids)) != len(ids):
                raise ValueError("Folders holds one or more distinct folders")

    @property
    def empty(self) -> bool:
        return self.heartbeat_interval is None and self.folders is None


@dataclass(frozen=True, slots=True, kw_only=True)
class PingResponse:
    """The answer. ``folders``: the changed folders (Status 2);
    ``max_folders`` (Status 6); ``heartbeat_interval``: the bound (Status 5)."""

    status: PingStatus
    folders: tuple[str, ...] = ()
    max_folders: int | None = None
    heartbeat_interval: int | None = None


# --- parsing ------------------------------------------------------------------------


def _malformed(message: str) -> EasStatusError:
    return EasStatusError(PingStatus.SyntaxError, message)


def _children(element: etree._Element) -> Iterator[tuple[str, etree._Element]]:
    """(local name, child) of the Ping-namespace element children; others are ignored."""
    for child in element:
        tag = str(child.tag)  # a comment's tag is a function: never "{...}"
        if tag.startswith(f"{{{NS}}}"):
            yield tag[len(NS) + 2 :], child


def _heartbeat(element: etree._Element) -> int:
    text = (element.text or "").strip()
    if not (text.isascii() and text.isdigit()):
        raise _malformed(f"HeartbeatInterval: expected an integer, got {text[:20]!r}")
    return _CEILING if len(text) > _MAX_DIGITS else int(text)


def _folder(element: etree._Element) -> PingFolder:
    values: dict[str, str] = {}
    for name, child in _children(element):
        if name in ("Id", "Class"):
            if name in values:
                raise _malformed(f"Folder: {name} given twice")
            values[name] = (child.text or "").strip()
    folder_id = values.get("Id", "")
    if not 0 < len(folder_id) <= MAX_ID_LENGTH:
        raise _malformed(f"Folder: expected an Id of 1..{MAX_ID_LENGTH} characters")
    class_name = values.get("Class", "")
    if len(class_name) > MAX_CLASS_LENGTH:
        raise _malformed("Folder: Class too long")
    return PingFolder(id=folder_id, class_name=class_name)


def _folders(element: etree._Element) -> tuple[PingFolder, ...]:
    folders = tuple(_folder(child) for name, child in _children(element) if name == "Folder")
    if not folders:
        raise _malformed("Folders: expected one or more Folder elements")
    ids = [folder.id for folder in folders]
    if len(set(ids)) != len(ids):
        raise _malformed("Folders: the same Id twice (MS-ASCMD 2.2.3.90)")
    return folders


def parse_ping_request(tree: etree._Element | None, version: str) -> PingRequest:
    """The request (no body: an empty Ping); Status 4 when malformed."""
    del version  # the same at every version
    if tree is None:
        return PingRequest()
    if tree.tag != f"{{{NS}}}Ping":
        raise _malformed("expected a Ping element")
    heartbeat: int | None = None
    folders: tuple[PingFolder, ...] | None = None
    for name, child in _children(tree):
        if name == "HeartbeatInterval":
            if heartbeat is not None:
                raise _malformed("HeartbeatInterval given twice")
            heartbeat = _heartbeat(child)
        elif name == "Folders":
            if folders is not None:
                raise _malformed("Folders given twice")
            folders = _folders(child)
    return PingRequest(heartbeat_interval=heartbeat, folders=folders)


# --- rendering ------------------------------------------------------------------------


def _leaf(parent: etree._Element, name: str, text: str) -> None:
    etree.SubElement(parent, f"{{{NS}}}{name}").text = text


def render_ping_response(response: PingResponse, version: str) -> etree._Element:
    """``Ping``: Status, then Folders, MaxFolders, HeartbeatInterval (MS-ASCMD 6.30)."""
    del version
    root = etree.Element(f"{{{NS}}}Ping", nsmap={"Ping": NS})
    _leaf(root, "Status", str(int(response.status)))
    if response.folders:
        folders = etree.SubElement(root, f"{{{NS}}}Folders")
        for folder_id in response.folders:
            _leaf(folders, "Folder", folder_id)
    if response.max_folders is not None:
        _leaf(root, "MaxFolders", str(response.max_folders))
    if response.heartbeat_interval is not None:
        _leaf(root, "HeartbeatInterval", str(response.heartbeat_interval))
    return root
