"""The Search command's request and response for the GAL store (MS-ASCMD 2.2.1.16).

Server side: :func:`parse_search_request` (tree -> typed request) and
:func:`render_search_response` (typed response -> tree). Code pages: Search (15),
GAL (16).

Request: ``Search/Store`` with ``Name`` (``GAL``, ``Mailbox`` or ``DocumentLibrary``,
MS-ASCMD 2.2.3.120.2), ``Query`` (for the GAL a string, 2.2.3.139.2) and ``Options``
(``Range`` ``m-n``, 2.2.3.143.3, default ``0-99``; 14.1+ ``Picture`` with ``MaxSize``
and ``MaxPictures``, 2.2.3.135.3). Everything else in Options (``DeepTraversal``,
``RebuildResults``, ``UserName``/``Password``, ``Schema``) is read past: it concerns
the mailbox and document-library stores only.

Response: ``Search/Status`` (1 or 3, 2.2.3.177.13), then ``Response/Store`` with its
own ``Status``, one ``Result/Properties`` a match (``GAL:DisplayName``, ``GAL:Alias``,
``GAL:EmailAddress``, ...; ``GAL:Picture`` with its Status when asked for), ``Range``
and ``Total``. No match: one empty ``Result`` and ``Total`` 0 (2.2.3.151.2).

A body that is not a Search document with one Store gets the common Status 103
(InvalidXML, MS-ASCMD 2.2.2), as other commands do; a Store without a Name, a bad
Range or an over-long Query parse to :class:`InvalidSearch`, answered with Store
Status 2 (invalid request).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from lxml import etree

from protocol.status import CommonStatus, EasStatusError

__all__ = [
    "GalEntry",
    "InvalidSearch",
    "PictureStatus",
    "SearchRequest",
    "SearchRequestError",
    "SearchResponse",
    "SearchStatus",
    "StoreStatus",
    "parse_search_request",
    "render_search_response",
]

NS: Final = "Search:"
GAL: Final = "GAL:"
#: Name and Query: at most 256 characters (2.2.3.120.2, 2.2.3.139.2).
MAX_TEXT: Final = 256
#: The most results one GAL answer returns (a Range wider than this is clipped).
MAX_RESULTS: Final = 100
DEFAULT_RANGE: Final = (0, 99)
_RANGE = re.compile(r"(\d{1,9})-(\d{1,9})")


class SearchStatus(enum.IntEnum):
    """Search/Status (MS-ASCMD 2.2.3.177.13)."""

    Success = 1
    ServerError = 3


class StoreStatus(enum.IntEnum):
    """Store/Status (MS-ASCMD 2.2.3.177.13)."""

    Success = 1
    InvalidRequest = 2
    ServerError = 3
    BadLink = 4
    AccessDenied = 5
    NotFound = 6
    ConnectionFailed = 7
    TooComplex = 8
    TimedOut = 10
    FolderSyncRequired = 11
    EndOfRetrievableRange = 12
    AccessBlocked = 13
    CredentialsRequired = 14


class PictureStatus(enum.IntEnum):
    """GAL:Picture/Status in a Search answer (MS-ASCMD 2.2.3.177.13)."""

    Success = 1
    NoPhoto = 173
    TooLarge = 174
    TooMany = 175


class SearchRequestError(ValueError):
    """A Store the server cannot read (becomes :class:`InvalidSearch`)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class InvalidSearch:
    """A Search document whose Store is unreadable: answered with Store Status 2."""

    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchRequest:
    """One Store search. ``store_name`` as sent; ``range`` inclusive (first, last)."""

    store_name: str
    query: str
    range: tuple[int, int] = DEFAULT_RANGE
    picture: bool = False

    def __post_init__(self) -> None:
        first, last = self.range
        if not 0 <= first <= last:
            raise ValueError(f"bad range {self.range}")


@dataclass(frozen=True, slots=True, kw_only=True)
class GalEntry:
    """One GAL match (MS-ASCMD 2.2.3.137 Properties; GAL page 16)."""

    display_name: str
    email_address: str
    alias: str = ""
    first_name: str = ""
    last_name: str = ""
    company: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchResponse:
    """``results`` is the requested slice; ``total`` counts every match."""

    status: SearchStatus = SearchStatus.Success
    store_status: StoreStatus = StoreStatus.Success
    results: tuple[GalEntry, ...] = ()
    first: int = 0
    total: int = 0
    picture: bool = False


# --- parsing ------------------------------------------------------------------------


def _children(element: etree._Element) -> Iterator[tuple[str, str, etree._Element]]:
    for child in element:
        tag = str(child.tag)  # a comment's tag is a function: never "{...}"
        if tag.startswith("{"):
            namespace, _, name = tag[1:].partition("}")
            yield namespace, name, child


def _text(element: etree._Element, what: str) -> str:
    text = (element.text or "").strip()
    if len(text) > MAX_TEXT:
        raise SearchRequestError(f"{what}: more than {MAX_TEXT} characters")
    return text


def _range(element: etree._Element) -> tuple[int, int]:
    found = _RANGE.fullmatch((element.text or "").strip())
    if found is None:
        raise SearchRequestError("Range: expected m-n")
    first, last = int(found.group(1)), int(found.group(2))
    if first > last:
        raise SearchRequestError("Range: m greater than n")
    return first, min(last, first + MAX_RESULTS - 1)


def parse_search_request(
    tree: etree._Element | None, version: str
) -> SearchRequest | InvalidSearch:
    """The request; the common Status 103 when the body is not a Search with one Store."""
    del version
    if tree is None or tree.tag != f"{{{NS}}}Search":
        raise EasStatusError(CommonStatus.InvalidXML, "expected a Search element")
    stores = [c for ns, n, c in _children(tree) if (ns, n) == (NS, "Store")]
    if len(stores) != 1:
        raise EasStatusError(CommonStatus.InvalidXML, "expected one Store element")
    try:
        return _store(stores[0])
    except SearchRequestError as exc:
        return InvalidSearch(reason=str(exc))


def _store(store: etree._Element) -> SearchRequest:
    values: dict[str, object] = {}
    for namespace, name, child in _children(store):
        if namespace != NS:
            continue
        if name == "Name":
            values["store_name"] = _text(child, name)
        elif name == "Query":
            values["query"] = _text(child, name)
        elif name == "Options":
            for option_ns, option, value in _children(child):
                if (option_ns, option) == (NS, "Range"):
                    values["range"] = _range(value)
                elif (option_ns, option) == (NS, "Picture"):
                    values["picture"] = True
    if not values.get("store_name"):
        raise SearchRequestError("a Store needs a Name")
    values.setdefault("query", "")
    return SearchRequest(**values)  # type: ignore[arg-type]


# --- rendering ------------------------------------------------------------------------


def _leaf(parent: etree._Element, namespace: str, name: str, text: str) -> None:
    etree.SubElement(parent, f"{{{namespace}}}{name}").text = text


def _result(store: etree._Element, entry: GalEntry, picture: bool) -> None:
    properties = etree.SubElement(etree.SubElement(store, f"{{{NS}}}Result"), f"{{{NS}}}Properties")
    _leaf(properties, GAL, "DisplayName", entry.display_name)
    for name, value in (
        ("Company", entry.company),
        ("Alias", entry.alias),
        ("FirstName", entry.first_name),
        ("LastName", entry.last_name),
    ):
        if value:
            _leaf(properties, GAL, name, value)
    _leaf(properties, GAL, "EmailAddress", entry.email_address)
    if picture:  # no photos here (14.1+, 2.2.3.135.3)
        photo = etree.SubElement(properties, f"{{{GAL}}}Picture")
        _leaf(photo, GAL, "Status", str(int(PictureStatus.NoPhoto)))


def render_search_response(response: SearchResponse, version: str) -> etree._Element:
    """``Search``: Status, then Response/Store with its Status, Results, Range, Total."""
    picture = response.picture and tuple(int(p) for p in version.split(".")[:2]) >= (14, 1)
    root = etree.Element(f"{{{NS}}}Search", nsmap={"Search": NS, "GAL": GAL})
    _leaf(root, NS, "Status", str(int(response.status)))
    if response.status is not SearchStatus.Success:
        return root
    store = etree.SubElement(etree.SubElement(root, f"{{{NS}}}Response"), f"{{{NS}}}Store")
    _leaf(store, NS, "Status", str(int(response.store_status)))
    if response.store_status is not StoreStatus.Success:
        return root
    if not response.results:
        etree.SubElement(store, f"{{{NS}}}Result")
    for entry in response.results:
        _result(store, entry, picture)
    if response.results:
        last = response.first + len(response.results) - 1
        _leaf(store, NS, "Range", f"{response.first}-{last}")
    _leaf(store, NS, "Total", str(response.total))
    return root
