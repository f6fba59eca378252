"""The GetItemEstimate command's request and response (MS-ASCMD 2.2.1.9).

Server side: :func:`parse_get_item_estimate_request` (tree -> typed request)
and :func:`render_get_item_estimate_response` (typed response -> tree).

Where a Collection's elements live depends on the version (MS-ASCMD 2.2.3.27.2
Class, 2.2.3.68.1 FilterType, 2.2.3.125.2 Options):

* 12.x: ``GetItemEstimate:Class``, ``GetItemEstimate:CollectionId``,
  ``AirSync:FilterType`` and ``AirSync:SyncKey`` are children of Collection
  (the form Microsoft's Remote Connectivity Analyzer sends at 12.0);
* 14.0+: ``AirSync:SyncKey``, ``GetItemEstimate:CollectionId``,
  ``AirSync:ConversationMode`` and ``AirSync:Options`` (``AirSync:Class``,
  ``AirSync:FilterType``, ``AirSync:MaxItems``).

Both forms are read at every version and in any order (devices differ; the
values mean the same). The first Options block counts: a calendar has one
class of items.

Statuses (MS-ASCMD 2.2.3.177.7): per collection 2 (unknown collection),
3 (the device never primed the collection with a Sync at SyncKey 0),
4 (a SyncKey the next Sync would not accept). GetItemEstimate defines no
protocol-error status of its own: a request that is not a GetItemEstimate
document of 1..300 collections, or whose values are malformed, gets the common
Status 103 InvalidXML (MS-ASCMD 2.2.2), raised as
:class:`~protocol.status.EasStatusError`, as MoveItems and MeetingResponse do.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from lxml import etree

from protocol.status import CommonStatus, EasStatusError

__all__ = [
    "CollectionEstimate",
    "EstimateCollection",
    "GetItemEstimateRequest",
    "GetItemEstimateResponse",
    "GetItemEstimateStatus",
    "parse_get_item_estimate_request",
    "render_get_item_estimate_response",
]

NS: Final = "GetItemEstimate:"
AIRSYNC: Final = "AirSync:"
#: Collections per request (MS-ASCMD 2.2.3.31.1: one to 300).
MAX_COLLECTIONS: Final = 300
#: CollectionId and SyncKey: at most 64 characters (2.2.3.30.2, 2.2.3.181.3).
MAX_ID_LENGTH: Final = 64


class GetItemEstimateStatus(enum.IntEnum):
    """GetItemEstimate statuses (MS-ASCMD 2.2.3.177.7)."""

    Success = 1
    InvalidCollection = 2
    SyncStateNotPrimed = 3
    InvalidSyncKey = 4


@dataclass(frozen=True, slots=True, kw_only=True)
class EstimateCollection:
    """One Collection of the request. ``sync_key`` None: the element was absent."""

    collection_id: str
    sync_key: str | None = None
    filter_type: int | None = None
    class_name: str | None = None
    conversation_mode: bool | None = None
    max_items: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class GetItemEstimateRequest:
    collections: tuple[EstimateCollection, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class CollectionEstimate:
    """One Response: the collection's Status and, on success, its Estimate."""

    collection_id: str
    status: GetItemEstimateStatus
    estimate: int | None = None

    def __post_init__(self) -> None:
        if self.estimate is not None and self.estimate < 0:
            raise ValueError("an estimate is never negative")


@dataclass(frozen=True, slots=True, kw_only=True)
class GetItemEstimateResponse:
    """The answer: a top-level ``status`` alone (the whole request failed) or
    one Response per requested collection, in request order."""

    responses: tuple[CollectionEstimate, ...] = ()
    status: GetItemEstimateStatus | None = None


# --- parsing ------------------------------------------------------------------------


def _malformed(message: str) -> EasStatusError:
    return EasStatusError(CommonStatus.InvalidXML, message)


def _children(element: etree._Element) -> Iterator[tuple[str, str, etree._Element]]:
    """(namespace, local name, child) of the element children (comments skipped)."""
    for child in element:
        tag = str(child.tag)  # a comment's tag is a function: never "{...}"
        if tag.startswith("{"):
            namespace, _, name = tag[1:].partition("}")
            yield namespace, name, child


def _text(element: etree._Element, what: str) -> str:
    text = (element.text or "").strip()
    if not text or len(text) > MAX_ID_LENGTH:
        raise _malformed(f"{what}: expected 1..{MAX_ID_LENGTH} characters")
    return text


def _int(element: etree._Element, what: str, high: int) -> int:
    text = (element.text or "").strip()
    if not (text.isascii() and text.isdigit()) or int(text) > high:
        raise _malformed(f"{what}: expected an integer 0..{high}, got {text[:20]!r}")
    return int(text)


def _flag(element: etree._Element) -> bool:
    text = (element.text or "").strip()
    if text not in {"", "0", "1"}:
        raise _malformed(f"ConversationMode: expected 0 or 1, got {text[:20]!r}")
    return text != "0"


def _options(element: etree._Element, values: dict[str, object]) -> None:
    for namespace, name, child in _children(element):
        if namespace != AIRSYNC:
            continue
        if name == "FilterType":
            values["filter_type"] = _int(child, name, 8)
        elif name == "Class":
            values["class_name"] = _text(child, name)
        elif name == "MaxItems":
            values["max_items"] = _int(child, name, 2**31 - 1)


def _collection(element: etree._Element) -> EstimateCollection:
    values: dict[str, object] = {}
    options_seen = False
    for namespace, name, child in _children(element):
        if (namespace, name) == (AIRSYNC, "SyncKey"):
            values["sync_key"] = _text(child, name)
        elif name == "CollectionId" and namespace in {NS, AIRSYNC}:
            values["collection_id"] = _text(child, name)
        elif (namespace, name) == (NS, "Class"):  # 12.x
            values["class_name"] = _text(child, name)
        elif (namespace, name) == (AIRSYNC, "FilterType"):  # 12.x
            values["filter_type"] = _int(child, name, 8)
        elif (namespace, name) == (AIRSYNC, "ConversationMode"):
            values["conversation_mode"] = _flag(child)
        elif (namespace, name) == (AIRSYNC, "Options"):
            if not options_seen:
                _options(child, values)
            options_seen = True
        # Anything else (the legacy Version and DateTime, foreign pages): ignored.
    if "collection_id" not in values:
        raise _malformed("a Collection needs a CollectionId")
    return EstimateCollection(**values)  # type: ignore[arg-type]


def parse_get_item_estimate_request(
    tree: etree._Element | None, version: str
) -> GetItemEstimateRequest:
    """The request; the common Status 103 when it is not a well-formed GetItemEstimate."""
    del version  # both element placements are read at every version (module docstring)
    if tree is None or tree.tag != f"{{{NS}}}GetItemEstimate":
        raise _malformed("expected a GetItemEstimate element")
    lists = [c for ns, n, c in _children(tree) if (ns, n) == (NS, "Collections")]
    if len(lists) != 1:
        raise _malformed("expected one Collections element")
    collections = [c for ns, n, c in _children(lists[0]) if (ns, n) == (NS, "Collection")]
    if not 1 <= len(collections) <= MAX_COLLECTIONS:
        raise _malformed(f"expected 1..{MAX_COLLECTIONS} collections")
    return GetItemEstimateRequest(collections=tuple(_collection(c) for c in collections))


# --- rendering ------------------------------------------------------------------------


def _leaf(parent: etree._Element, name: str, text: str) -> None:
    etree.SubElement(parent, f"{{{NS}}}{name}").text = text


def render_get_item_estimate_response(
    response: GetItemEstimateResponse, version: str
) -> etree._Element:
    """``GetItemEstimate`` with a Status alone, or a Response per collection
    (Status, then Collection/CollectionId and Estimate: MS-ASCMD 6.21)."""
    del version
    root = etree.Element(f"{{{NS}}}GetItemEstimate", nsmap={"GetItemEstimate": NS})
    if response.status is not None:
        _leaf(root, "Status", str(int(response.status)))
        return root
    for result in response.responses:
        element = etree.SubElement(root, f"{{{NS}}}Response")
        _leaf(element, "Status", str(int(result.status)))
        collection = etree.SubElement(element, f"{{{NS}}}Collection")
        _leaf(collection, "CollectionId", result.collection_id)
        if result.estimate is not None:
            _leaf(collection, "Estimate", str(result.estimate))
    return root
