"""WebDAV / CalDAV XML: request bodies and the multistatus answer.

Answers are parsed with lxml without entity resolution and without network
access (no DTD loading): a server's XML is untrusted input.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from lxml import etree

__all__ = [
    "CALDAV",
    "CS",
    "DAV",
    "EASGW",
    "DavResponse",
    "DavXmlError",
    "Multistatus",
    "calendar_data",
    "calendar_multiget",
    "calendar_query",
    "child_hrefs",
    "element_names",
    "mkcalendar",
    "parse_error_conditions",
    "parse_multistatus",
    "propertyupdate",
    "propfind",
    "sync_collection",
    "tag",
    "text_of",
]

DAV = "DAV:"
CALDAV = "urn:ietf:params:xml:ns:caldav"
CS = "http://calendarserver.org/ns/"
#: easgw's own dead property: marks the calendar easgw chose as the default.
EASGW = "urn:x-easgw:"
_NSMAP = {"d": DAV, "c": CALDAV, "cs": CS, "e": EASGW}
_STATUS = re.compile(r"HTTP/\d(?:\.\d)?\s+(\d{3})")


class DavXmlError(ValueError):
    """The server's XML answer could not be read."""


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def _tag(name: str) -> str:
    """``"d:getetag"`` -> ``"{DAV:}getetag"``."""
    prefix, _, local = name.partition(":")
    return f"{{{_NSMAP[prefix]}}}{local}"


def _serialize(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")


def _root(name: str) -> etree._Element:
    return etree.Element(_tag(name), nsmap={"d": DAV, "c": CALDAV, "cs": CS, "e": EASGW})


def _add_props(parent: etree._Element, names: Iterable[str]) -> None:
    prop = etree.SubElement(parent, _tag("d:prop"))
    for name in names:
        if name == "c:calendar-data-uid":
            prop.append(calendar_data(uid_only=True))
        else:
            etree.SubElement(prop, _tag(name))


def calendar_data(*, uid_only: bool) -> etree._Element:
    """A ``calendar-data`` request element; ``uid_only`` asks for the UIDs alone
    (RFC 4791 9.6 partial retrieval; servers may send everything anyway)."""
    element = etree.Element(_tag("c:calendar-data"))
    if uid_only:
        calendar = etree.SubElement(element, _tag("c:comp"), name="VCALENDAR")
        for kind in ("VEVENT", "VTODO", "VJOURNAL"):
            component = etree.SubElement(calendar, _tag("c:comp"), name=kind)
            etree.SubElement(component, _tag("c:prop"), name="UID")
    return element


def propfind(*names: str) -> bytes:
    """A PROPFIND body asking for ``names`` (``"d:displayname"``, ...)."""
    root = _root("d:propfind")
    _add_props(root, names)
    return _serialize(root)


def _set_props(parent: etree._Element, values: dict[str, str]) -> None:
    prop = etree.SubElement(etree.SubElement(parent, _tag("d:set")), _tag("d:prop"))
    for name, value in values.items():
        etree.SubElement(prop, _tag(name)).text = value


def propertyupdate(values: dict[str, str]) -> bytes:
    """A PROPPATCH body setting text properties."""
    root = _root("d:propertyupdate")
    _set_props(root, values)
    return _serialize(root)


def mkcalendar(display_name: str, *, default: bool) -> bytes:
    """An MKCALENDAR body (RFC 4791 5.3.1): events and tasks; ``default``
    marks the calendar as easgw's default."""
    root = _root("c:mkcalendar")
    values = {"d:displayname": display_name}
    if default:
        values["e:default-calendar"] = "1"
    _set_props(root, values)
    prop = root[0][0]
    components = etree.SubElement(prop, _tag("c:supported-calendar-component-set"))
    for kind in ("VEVENT", "VTODO"):
        etree.SubElement(components, _tag("c:comp"), name=kind)
    return _serialize(root)


def sync_collection(token: str, *names: str) -> bytes:
    """A sync-collection REPORT body (RFC 6578 3.2); ``token`` "" for all."""
    root = _root("d:sync-collection")
    etree.SubElement(root, _tag("d:sync-token")).text = token
    etree.SubElement(root, _tag("d:sync-level")).text = "1"
    _add_props(root, names)
    return _serialize(root)


def calendar_query(*names: str) -> bytes:
    """A calendar-query REPORT body matching every object (RFC 4791 7.8)."""
    root = _root("c:calendar-query")
    _add_props(root, names)
    etree.SubElement(
        etree.SubElement(root, _tag("c:filter")), _tag("c:comp-filter"), name="VCALENDAR"
    )
    return _serialize(root)


def calendar_multiget(hrefs: Sequence[str], *names: str) -> bytes:
    """A calendar-multiget REPORT body (RFC 4791 7.9)."""
    root = _root("c:calendar-multiget")
    _add_props(root, names)
    for href in hrefs:
        etree.SubElement(root, _tag("d:href")).text = href
    return _serialize(root)


@dataclass(frozen=True, slots=True, kw_only=True)
class DavResponse:
    """One ``response`` of a multistatus: its href, its own status (set for
    e.g. a deleted member in sync-collection) and the properties found."""

    href: str
    status: int | None = None
    props: dict[str, etree._Element] = field(default_factory=dict)

    def text(self, name: str) -> str | None:
        element = self.props.get(_tag(name))
        return None if element is None else text_of(element)


@dataclass(frozen=True, slots=True, kw_only=True)
class Multistatus:
    responses: tuple[DavResponse, ...]
    sync_token: str | None = None


def _parse(data: bytes) -> etree._Element:
    try:
        return etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise DavXmlError(f"malformed XML: {exc}") from exc


def _is_element(node: etree._Element) -> bool:
    """False for comments and processing instructions (their tag is not a str)."""
    tag: object = getattr(node, "tag", None)
    return isinstance(tag, str)


def _status(element: etree._Element | None) -> int | None:
    if element is None or element.text is None:
        return None
    match = _STATUS.search(element.text)
    return int(match[1]) if match else None


def parse_multistatus(data: bytes) -> Multistatus:
    """The responses of a ``207 Multi-Status`` body (RFC 4918 14.16)."""
    root = _parse(data)
    if root.tag != _tag("d:multistatus"):
        raise DavXmlError(f"expected a multistatus, got {root.tag!r}")
    responses = []
    for response in root.iterfind("d:response", _NSMAP):
        href = response.findtext("d:href", namespaces=_NSMAP)
        if not href:
            continue
        props: dict[str, etree._Element] = {}
        for propstat in response.iterfind("d:propstat", _NSMAP):
            status = _status(propstat.find("d:status", _NSMAP))
            prop = propstat.find("d:prop", _NSMAP)
            if prop is None or status is None or not 200 <= status < 300:
                continue
            props.update((child.tag, child) for child in prop if _is_element(child))
        status = _status(response.find("d:status", _NSMAP))
        responses.append(DavResponse(href=href.strip(), status=status, props=props))
    token = root.findtext("d:sync-token", namespaces=_NSMAP)
    return Multistatus(responses=tuple(responses), sync_token=token.strip() if token else None)


def parse_error_conditions(data: bytes) -> set[str]:
    """The Clark names of the conditions in a ``DAV:error`` body (RFC 4918
    16), or an empty set for anything else."""
    try:
        root = _parse(data)
    except DavXmlError:
        return set()
    if root.tag != _tag("d:error"):
        return set()
    return {child.tag for child in root if _is_element(child)}


def text_of(element: etree._Element) -> str:
    """The text content of an element (children included), stripped."""
    return "".join(str(text) for text in element.itertext()).strip()


def child_hrefs(element: etree._Element | None) -> list[str]:
    """The ``DAV:href`` texts inside ``element``."""
    if element is None:
        return []
    return [href.text.strip() for href in element.iterfind(".//d:href", _NSMAP) if href.text]


def element_names(element: etree._Element | None, *, attribute: str | None = None) -> set[str]:
    """Clark names of the descendants of ``element`` (or their ``attribute``
    values, e.g. the ``name`` of each ``comp``)."""
    if element is None:
        return set()
    found = set()
    for child in element.iter():
        if child is element or not _is_element(child):
            continue
        if attribute is None:
            found.add(child.tag)
        elif (value := child.get(attribute)) is not None:
            found.add(value.upper())
    return found


def tag(name: str) -> str:
    """The Clark name for a prefixed name (``"c:calendar"``)."""
    return _tag(name)
