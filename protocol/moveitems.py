"""MoveItems (MS-ASCMD 2.2.1.12): move items from one folder to another.

Request::

    <MoveItems xmlns="Move:">
      <Move><SrcMsgId>3:7</SrcMsgId><SrcFldId>3</SrcFldId><DstFldId>9</DstFldId></Move>
      ...
    </MoveItems>

Response (MS-ASCMD 4.15.2): one ``Response`` per ``Move``, in order, with
``SrcMsgId``, ``Status`` and, on success, ``DstMsgId`` (the item's ServerId in
the destination folder, MS-ASCMD 2.2.3.52). Statuses: MS-ASCMD 2.2.3.177.10.

A ``Move`` missing a child is not a malformed request: its ``Response``
carries Status 1 (no SrcMsgId or SrcFldId) or 2 (no DstFldId), as the spec's
statuses for an unknown source or destination say. A request that is not a
MoveItems tree, has no ``Move`` or another child, or more than
:data:`MAX_MOVES` moves, is answered with the common Status 103 (MS-ASCMD
2.2.2, and the limit of MS-ASCMD 3.1.5.10).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

from lxml import etree

from protocol.status import CommonStatus, EasStatusError

__all__ = [
    "MAX_MOVES",
    "NAMESPACE",
    "Move",
    "MoveItemsRequest",
    "MoveItemsResponse",
    "MoveItemsStatus",
    "MoveResult",
    "parse_move_items_request",
    "parse_move_items_response",
    "render_move_items_request",
    "render_move_items_response",
]

NAMESPACE: Final = "Move:"
#: MS-ASCMD 3.1.5.10: at most 1000 Move elements, else Status 103.
MAX_MOVES: Final = 1000
#: ServerIds and folder ids have at most 64 characters (MS-ASCMD 2.2.3.174/175).
MAX_ID_LENGTH: Final = 64


class MoveItemsStatus(enum.IntEnum):
    """MoveItems statuses (MS-ASCMD 2.2.3.177.10)."""

    #: The source folder is unknown, or the item is not (any more) in it.
    InvalidSource = 1
    InvalidDestination = 2
    Success = 3
    SameSourceAndDestination = 4
    #: The item cannot be moved (more than one item at once, or locked).
    Failure = 5
    #: The source or destination item was locked: transient, retry.
    Locked = 7


@dataclass(frozen=True, slots=True, kw_only=True)
class Move:
    """One ``Move``; an element the device left out is ``""``."""

    src_msg_id: str
    src_fld_id: str
    dst_fld_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class MoveItemsRequest:
    moves: tuple[Move, ...]

    def __post_init__(self) -> None:
        if not 1 <= len(self.moves) <= MAX_MOVES:
            raise ValueError(f"a MoveItems request holds 1..{MAX_MOVES} moves")


@dataclass(frozen=True, slots=True, kw_only=True)
class MoveResult:
    """One ``Response``: DstMsgId only on success."""

    src_msg_id: str
    status: MoveItemsStatus
    dst_msg_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class MoveItemsResponse:
    results: tuple[MoveResult, ...]


def _q(name: str) -> str:
    return f"{{{NAMESPACE}}}{name}"


def _local(element: etree._Element) -> str | None:
    tag = str(element.tag)  # a comment's tag is a function: never in the namespace
    prefix = f"{{{NAMESPACE}}}"
    return tag[len(prefix) :] if tag.startswith(prefix) else None


def _malformed(reason: str) -> EasStatusError:
    return EasStatusError(CommonStatus.InvalidXML, reason)


_MOVE_FIELDS: Final = {"SrcMsgId": "src_msg_id", "SrcFldId": "src_fld_id", "DstFldId": "dst_fld_id"}


def _parse_move(element: etree._Element) -> Move:
    values = dict.fromkeys(_MOVE_FIELDS.values(), "")
    seen: set[str] = set()
    for child in element:
        name = _local(child)
        if name not in _MOVE_FIELDS or name in seen or len(child):
            raise _malformed(f"unexpected {child.tag} in Move")
        seen.add(name)
        values[_MOVE_FIELDS[name]] = (child.text or "").strip()
    return Move(**values)


def parse_move_items_request(tree: etree._Element | None, version: str) -> MoveItemsRequest:
    """The request; Status 103 when it is not a MoveItems of 1..1000 Moves."""
    del version
    if tree is None or tree.tag != _q("MoveItems"):
        raise _malformed("expected a MoveItems element")
    moves: list[Move] = []
    for child in tree:
        if _local(child) != "Move":
            raise _malformed(f"unexpected {child.tag} in MoveItems")
        moves.append(_parse_move(child))
        if len(moves) > MAX_MOVES:
            raise _malformed(f"more than {MAX_MOVES} moves")
    if not moves:
        raise _malformed("no Move")
    return MoveItemsRequest(moves=tuple(moves))


def _leaf(parent: etree._Element, name: str, text: str) -> None:
    etree.SubElement(parent, _q(name)).text = text


def render_move_items_response(response: MoveItemsResponse, version: str) -> etree._Element:
    """``Response``: SrcMsgId, Status, DstMsgId (MS-ASCMD 6.28 and 4.15.2)."""
    del version
    root = etree.Element(_q("MoveItems"), nsmap={"Move": NAMESPACE})
    for result in response.results:
        element = etree.SubElement(root, _q("Response"))
        _leaf(element, "SrcMsgId", result.src_msg_id)
        _leaf(element, "Status", str(int(result.status)))
        if result.dst_msg_id is not None:
            _leaf(element, "DstMsgId", result.dst_msg_id)
    return root


# --- the client side (tests, fixtures, replay) ----------------------------------------


def render_move_items_request(request: MoveItemsRequest, version: str) -> etree._Element:
    del version
    root = etree.Element(_q("MoveItems"), nsmap={"Move": NAMESPACE})
    for move in request.moves:
        element = etree.SubElement(root, _q("Move"))
        _leaf(element, "SrcMsgId", move.src_msg_id)
        _leaf(element, "SrcFldId", move.src_fld_id)
        _leaf(element, "DstFldId", move.dst_fld_id)
    return root


def parse_move_items_response(tree: etree._Element, version: str) -> MoveItemsResponse:
    """A response (client side); ValueError when it is not one."""
    del version
    if tree.tag != _q("MoveItems"):
        raise ValueError(f"expected MoveItems, got {tree.tag}")
    results: list[MoveResult] = []
    for element in tree.iterchildren(_q("Response")):
        texts = {_local(child): child.text or "" for child in element}
        results.append(
            MoveResult(
                src_msg_id=texts.get("SrcMsgId", ""),
                status=MoveItemsStatus(int(texts.get("Status") or "0")),
                dst_msg_id=texts.get("DstMsgId"),
            )
        )
    return MoveItemsResponse(results=tuple(results))
