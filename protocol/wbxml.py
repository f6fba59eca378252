"""WBXML 1.3 codec for Exchange ActiveSync (MS-ASWBXML), sans-IO.

``decode(bytes) -> lxml element`` and ``encode(element) -> bytes``, exactly as
CONTRACTS.md section 1 pins them:

* one XML namespace per code page, ``<PageName>:`` (``AirSync:``, ``Calendar:``);
* markers in the ``urn:easgw:wbxml`` namespace keep every byte-level choice:
  ``w:content="1"`` (content bit set, nothing inside: Exchange's ``57 01``),
  ``w:empty="1"`` (``STR_I ""``), ``w:opaque="1"`` (OPAQUE, text = base64);
* an element with text and no marker is ``STR_I``; an element with neither
  text nor children is a tag without the content bit.

Hence ``encode(decode(b)) == b`` for every document made of those tokens
(no string table, one string or opaque per element).  A string table and
``STR_T`` are read; ``encode`` never writes one.

Decoding builds the XML text in one pass and lets lxml parse it once: an order
of magnitude fewer Python-to-C crossings than building the tree element by
element (see bench/codec.py).  Every malformed input raises
:class:`WbxmlError` with the byte offset; nothing here allocates more than a
constant factor of the input's size, and nothing recurses.
"""

from __future__ import annotations

import base64
import re
from typing import Final, NoReturn

from lxml import etree

from protocol.codepages import PAGES, CodePage
from protocol.wbxml_encode import encode
from protocol.wbxml_tokens import (
    _CHARSETS,
    _EMPTY,
    _END,
    _NOT_XML_CHARS,
    _OPAQUE_TOKEN,
    _STR_I,
    _STR_T,
    _SWITCH_PAGE,
    _UNSUPPORTED,
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_DEPTH,
    HEADER,
    MARKER_NS,
    WbxmlEncodeError,
    WbxmlError,
    namespace_of,
)

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_DEPTH",
    "HEADER",
    "MARKER_NS",
    "WbxmlEncodeError",
    "WbxmlError",
    "decode",
    "decode_fragment",
    "encode",
    "namespace_of",
]

# --------------------------------------------------------------------------
# Decode tables: per page, per tag byte, the XML text to emit.


def _prefix(page: CodePage) -> str:
    """The prefix decode gives a page's namespace: the page's own name."""
    return page.name


_Row = tuple[tuple[bytes, bytes, bytes, bytes] | None, ...]


def _tag_tables() -> tuple[_Row, ...]:
    """Per page, 64 entries: token -> (open tag start, empty tag, close tag, open tag)."""
    tables = []
    for page in PAGES:
        row: list[tuple[bytes, bytes, bytes, bytes] | None] = [None] * 64
        for token, name in page.tags.items():
            qname = f"{_prefix(page)}:{name}".encode("ascii")
            row[token] = (
                b"<" + qname,
                b"<" + qname + b"/>",
                b"</" + qname + b">",
                b"<" + qname + b">",
            )
        tables.append(tuple(row))
    return tuple(tables)


_TAGS: Final = _tag_tables()


_NEEDS_ESCAPE: Final = re.compile(b"[&<>\r]").search


def _escape(text: bytes) -> bytes:
    """Escape UTF-8 text for XML content; ``\r`` too, which a parser would normalise."""
    if b"&" in text:
        text = text.replace(b"&", b"&amp;")
    if b"<" in text:
        text = text.replace(b"<", b"&lt;")
    if b">" in text:
        text = text.replace(b">", b"&gt;")
    if b"\r" in text:
        text = text.replace(b"\r", b"&#13;")
    return text


# Element states while decoding.
_FRESH: Final = 0  # open tag written without its ">", nothing inside yet
_CHILDREN: Final = 1
_TEXT: Final = 2
_OPAQUE_STATE: Final = 3


class _Reader:
    """Bounds-checked primitives over the input bytes."""

    __slots__ = ("data", "end")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.end = len(data)

    def byte(self, pos: int, what: str) -> int:
        if pos >= self.end:
            raise WbxmlError(pos, f"truncated: {what} expected")
        return self.data[pos]

    def mb_u_int32(self, pos: int, what: str) -> tuple[int, int]:
        """A WBXML multi-byte unsigned integer (at most 5 bytes, < 2**32)."""
        value = 0
        for count in range(5):
            b = self.byte(pos + count, what)
            value = (value << 7) | (b & 0x7F)
            if not b & 0x80:
                if value > 0xFFFFFFFF:
                    raise WbxmlError(pos, f"{what}: mb_u_int32 exceeds 32 bits")
                return value, pos + count + 1
        raise WbxmlError(pos, f"{what}: mb_u_int32 longer than 5 bytes")


def _check_text(raw: bytes, pos: int, what: str) -> str:
    """Decode one string strictly, naming the offset of the first bad character."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WbxmlError(pos + exc.start, f"{what} is not valid UTF-8") from None
    bad = _NOT_XML_CHARS.search(text)
    if bad is not None:
        offset = pos + len(text[: bad.start()].encode("utf-8", "surrogatepass"))
        raise WbxmlError(offset, f"{what} holds U+{ord(bad.group()):04X}, which XML cannot carry")
    return text


def _header(reader: _Reader) -> tuple[bytes, int]:
    """Parse the header; return the string table and the body's offset."""
    version = reader.byte(0, "WBXML version")
    if version not in (0x01, 0x02, 0x03):
        raise WbxmlError(0, f"unsupported WBXML version byte {version:#04x}")
    public_id, pos = reader.mb_u_int32(1, "public identifier")
    if public_id == 0:  # the public id is a string-table index
        _, pos = reader.mb_u_int32(pos, "public identifier index")
    charset, pos = reader.mb_u_int32(pos, "charset")
    if charset not in _CHARSETS:
        raise WbxmlError(pos - 1, f"unsupported charset MIBenum {charset}")
    length, pos = reader.mb_u_int32(pos, "string table length")
    if length > reader.end - pos:
        raise WbxmlError(pos, f"string table length {length} runs past the end")
    return reader.data[pos : pos + length], pos + length


def decode(
    data: bytes,
    *,
    max_depth: int = DEFAULT_MAX_DEPTH,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> etree._Element:
    """Decode a complete WBXML document (header included) into an lxml tree."""
    if len(data) > max_bytes:
        raise WbxmlError(max_bytes, f"document of {len(data)} bytes exceeds the {max_bytes} limit")
    reader = _Reader(bytes(data))
    string_table, pos = _header(reader)
    try:
        return _decode_body(reader, pos, string_table, max_depth=max_depth, careful=False)
    except etree.XMLSyntaxError as exc:
        # Fast path failed: a string holds bytes XML cannot carry.  A careful pass
        # that checks every string names the offset; it always raises.
        _decode_body(reader, pos, string_table, max_depth=max_depth, careful=True)
        raise WbxmlError(0, f"document cannot be represented as XML: {exc}") from None


def decode_fragment(
    data: bytes,
    *,
    max_depth: int = DEFAULT_MAX_DEPTH,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> etree._Element:
    """Decode a header-less sequence of sibling elements (as in Horde's fixtures).

    The elements are returned as the children of an ``AirSync:ApplicationData``
    element, the wrapper ../shared/vectors/PROVENANCE.md prescribes.
    """
    if len(data) > max_bytes:
        raise WbxmlError(max_bytes, f"fragment of {len(data)} bytes exceeds the {max_bytes} limit")
    # 0x5D = AirSync ApplicationData (0x1D) with the content bit.
    wrapped = HEADER + b"\x5d" + bytes(data) + b"\x01"
    try:
        return decode(wrapped, max_depth=max_depth + 1, max_bytes=max_bytes + len(HEADER) + 2)
    except WbxmlError as exc:  # report offsets relative to the fragment
        raise WbxmlError(max(exc.offset - len(HEADER) - 1, 0), exc.reason) from None


def _decode_body(  # noqa: C901, PLR0915 - one flat token loop is the fast path
    reader: _Reader,
    pos: int,
    string_table: bytes,
    *,
    max_depth: int,
    careful: bool,
) -> etree._Element:
    """Scan the tokens, writing XML text (UTF-8), and parse it once.

    Strings are copied as raw bytes; lxml validates them.  With ``careful``,
    every string is checked here first, so that a bad one is reported with
    its offset (the fast path's parser error cannot say where it was).
    """
    data = reader.data
    end = reader.end
    out: list[bytes] = []
    append = out.append
    closes: list[bytes] = []  # close tag of each open element
    states: list[int] = []  # state of each open element
    texts: list[bytes] = []  # pieces of the innermost element's text
    page = 0
    tags = _TAGS[0]
    pages_used: set[int] = set()
    new_page = True
    markers = False
    empties = False
    root_done = False

    while pos < end:
        b = data[pos]
        low = b & 0x3F
        if low >= 0x05:  # a tag
            if root_done:
                raise WbxmlError(pos, "a second root element")
            if b & 0x80:
                raise WbxmlError(pos, "attributes are not used by EAS and not supported")
            entry = tags[low]
            if entry is None:
                raise WbxmlError(
                    pos, f"unknown tag {low:#04x} on code page {page} ({PAGES[page].name})"
                )
            if new_page:
                pages_used.add(page)
                new_page = False
            if states:
                state = states[-1]
                if state == _FRESH:
                    append(b">")
                    states[-1] = _CHILDREN
                elif state != _CHILDREN:
                    raise WbxmlError(pos, "an element holds both text and elements")
                if len(states) >= max_depth:
                    raise WbxmlError(pos, f"nesting deeper than {max_depth}")
            if b & 0x40:
                # Fast path for the commonest shape, a leaf with one string:
                # tag STR_I text 00 END -> <tag>text</tag> in one step.
                if pos + 1 < end and data[pos + 1] == _STR_I:
                    stop = data.find(b"\x00", pos + 2)
                    if stop > pos + 2 and stop + 1 < end and data[stop + 1] == _END:
                        piece = data[pos + 2 : stop]
                        if careful:
                            _check_text(piece, pos + 2, "inline string")
                        if _NEEDS_ESCAPE(piece):
                            piece = _escape(piece)
                        append(entry[3] + piece + entry[2])
                        if not states:
                            root_done = True
                        pos = stop + 2
                        continue
                append(entry[0])
                closes.append(entry[2])
                states.append(_FRESH)
            else:
                append(entry[1])
                if not states:
                    root_done = True
            pos += 1
            continue
        if b == _END:
            if not states:
                raise WbxmlError(pos, "END outside any element")
            state = states.pop()
            close = closes.pop()
            if state == _FRESH:
                append(b' w:content="1"/>')
                markers = True
            elif state == _TEXT:
                text = texts[0] if len(texts) == 1 else b"".join(texts)
                texts.clear()
                if text:
                    if _NEEDS_ESCAPE(text):
                        text = _escape(text)
                    append(b">" + text + close)
                else:
                    append(b' w:empty="1">' + close)
                    markers = empties = True
            else:
                append(close)
            if not states:
                root_done = True
            pos += 1
            continue
        if b == _SWITCH_PAGE:
            number = reader.byte(pos + 1, "code page number")
            if number >= len(PAGES):
                raise WbxmlError(pos + 1, f"unknown code page {number}")
            if number != page:
                page = number
                tags = _TAGS[number]
                new_page = True
            pos += 2
            continue
        if b in (_STR_I, _STR_T):
            if b == _STR_I:
                stop = data.find(b"\x00", pos + 1)
                if stop < 0:
                    raise WbxmlError(pos, "unterminated inline string")
                piece = data[pos + 1 : stop]
                if careful:
                    _check_text(piece, pos + 1, "inline string")
                next_pos = stop + 1
            else:
                index, next_pos = reader.mb_u_int32(pos + 1, "string table reference")
                piece = _table_string(string_table, index, pos)
            if not states:
                _outside_root(pos, root_done)
            if states[-1] == _FRESH:
                states[-1] = _TEXT
            elif states[-1] != _TEXT:
                raise WbxmlError(pos, "an element holds both text and elements")
            texts.append(piece)
            pos = next_pos
            continue
        if b == _OPAQUE_TOKEN:
            length, start = reader.mb_u_int32(pos + 1, "opaque length")
            if length > end - start:
                raise WbxmlError(pos, f"opaque length {length} runs past the end")
            if not states:
                _outside_root(pos, root_done)
            if states[-1] != _FRESH:
                raise WbxmlError(pos, "opaque data must be an element's only content")
            states[-1] = _OPAQUE_STATE
            append(b' w:opaque="1">' + base64.b64encode(data[start : start + length]))
            markers = True
            pos = start + length
            continue
        raise WbxmlError(pos, f"global token {_UNSUPPORTED.get(b, hex(b))} is not supported in EAS")

    if states:
        raise WbxmlError(end, f"truncated: {len(states)} element(s) not closed")
    if not out:
        raise WbxmlError(end, "no root element")
    return _parse(out, pages_used, markers=markers, empties=empties)


def _outside_root(pos: int, root_done: bool) -> NoReturn:
    where = "after the root element" if root_done else "before the root element"
    raise WbxmlError(pos, f"character data {where}")


def _table_string(table: bytes, index: int, pos: int) -> bytes:
    if index >= len(table):
        raise WbxmlError(pos, f"string table reference {index} past the table's end")
    stop = table.find(b"\x00", index)
    if stop < 0:
        raise WbxmlError(pos, f"string table entry {index} is unterminated")
    raw = table[index:stop]
    _check_text(raw, pos, "string table entry")
    return raw


_PARSER: Final = etree.XMLParser(
    resolve_entities=False, no_network=True, huge_tree=False, remove_blank_text=False
)


def _parse(
    out: list[bytes], pages_used: set[int], *, markers: bool, empties: bool
) -> etree._Element:
    """Declare the namespaces on the root and parse the XML text once.

    Raises lxml's XMLSyntaxError when a string holds what XML cannot carry.
    """
    declarations = "".join(
        f' xmlns:{_prefix(PAGES[number])}="{PAGES[number].namespace}"'
        for number in sorted(pages_used)
    )
    if markers:
        declarations += f' xmlns:w="{MARKER_NS}"'
    first = out[0]
    # Insert the declarations right after the root's qualified name.
    # The first piece is "<qname", "<qname/>" or "<qname>text</qname>".
    cut = first.find(b">")
    if cut < 0:
        cut = len(first)
    elif first[cut - 1] == ord("/"):
        cut -= 1
    out[0] = first[:cut] + declarations.encode("ascii") + first[cut:]
    root = etree.fromstring(b"".join(out), _PARSER)
    if empties:
        for element in root.iter():
            if element.get(_EMPTY) == "1":
                element.text = ""
    return root


# --------------------------------------------------------------------------
