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
import binascii
import re
from typing import Final

from lxml import etree

from protocol.codepages import PAGES, CodePage

__all__ = [
    "HEADER",
    "MARKER_NS",
    "WbxmlEncodeError",
    "WbxmlError",
    "decode",
    "decode_fragment",
    "encode",
    "namespace_of",
]

#: Namespace of the byte-level markers (CONTRACTS.md section 1).
MARKER_NS: Final = "urn:easgw:wbxml"
_CONTENT: Final = f"{{{MARKER_NS}}}content"
_EMPTY: Final = f"{{{MARKER_NS}}}empty"
_OPAQUE: Final = f"{{{MARKER_NS}}}opaque"

#: WBXML 1.3, public id 1 (unknown), charset 106 (UTF-8), empty string table:
#: the header every EAS client and server writes (MS-ASWBXML 2.1.1).
HEADER: Final = b"\x03\x01\x6a\x00"

DEFAULT_MAX_DEPTH: Final = 64
DEFAULT_MAX_BYTES: Final = 16 * 1024 * 1024

# Global tokens (WBXML 1.3, section 7.1).
_SWITCH_PAGE: Final = 0x00
_END: Final = 0x01
_STR_I: Final = 0x03
_STR_T: Final = 0x83
_OPAQUE_TOKEN: Final = 0xC3
_UNSUPPORTED: Final = {
    0x02: "ENTITY",
    0x04: "LITERAL",
    0x40: "EXT_I_0",
    0x41: "EXT_I_1",
    0x42: "EXT_I_2",
    0x43: "PI",
    0x44: "LITERAL_C",
    0x80: "EXT_T_0",
    0x81: "EXT_T_1",
    0x82: "EXT_T_2",
    0x84: "LITERAL_A",
    0xC0: "EXT_0",
    0xC1: "EXT_1",
    0xC2: "EXT_2",
    0xC4: "LITERAL_AC",
}

# Charsets accepted in the header (IANA MIBenum): UTF-8, and US-ASCII, which
# is a subset of it.  0 ("unknown") is read as UTF-8, as libwbxml does.
_CHARSETS: Final = frozenset({0, 3, 106})

# Characters XML 1.0 cannot carry (section 2.2), which a WBXML string could.
_NOT_XML_CHARS: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class WbxmlError(ValueError):
    """A document that is not valid EAS WBXML, or a tree that cannot be encoded.

    ``offset`` is the byte offset in the input (decode) or output (encode)
    where the problem was found; ``reason`` says what it is.
    """

    def __init__(self, offset: int, reason: str) -> None:
        super().__init__(offset, reason)
        self.offset = offset
        self.reason = reason

    def __str__(self) -> str:
        return f"invalid WBXML at byte {self.offset}: {self.reason}"


class WbxmlEncodeError(WbxmlError):
    """A tree that cannot be encoded; ``element`` is the offending element."""

    def __init__(self, offset: int, reason: str, element: etree._Element) -> None:
        super().__init__(offset, reason)
        self.element = element

    def __str__(self) -> str:
        return f"cannot encode: {self.reason}"


def namespace_of(page: int) -> str:
    """The XML namespace of code page ``page``."""
    return PAGES[page].namespace


# --------------------------------------------------------------------------
# Decode tables: per page, per tag byte, the XML text to emit.


def _prefix(page: CodePage) -> str:
    """The prefix decode gives a page's namespace: the page's own name."""
    return page.name


_Row = tuple[tuple[str, str, str] | None, ...]


def _tag_tables() -> tuple[_Row, ...]:
    """Per page, 64 entries: token -> (open tag start, empty tag, close tag)."""
    tables = []
    for page in PAGES:
        row: list[tuple[str, str, str] | None] = [None] * 64
        for token, name in page.tags.items():
            qname = f"{_prefix(page)}:{name}"
            row[token] = (f"<{qname}", f"<{qname}/>", f"</{qname}>")
        tables.append(tuple(row))
    return tuple(tables)


_TAGS: Final = _tag_tables()


def _escape(text: str) -> str:
    """Escape text for XML content; ``\r`` too, which a parser would normalise."""
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    if "\r" in text:
        text = text.replace("\r", "&#13;")
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

    def cstring(self, pos: int, what: str) -> tuple[str, int]:
        end = self.data.find(b"\x00", pos)
        if end < 0:
            raise WbxmlError(pos, f"unterminated {what}")
        return _text(self.data[pos:end], pos, what), end + 1


def _text(raw: bytes, pos: int, what: str) -> str:
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
    return _decode_body(reader, pos, string_table, max_depth=max_depth)


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


def _decode_body(  # noqa: C901, PLR0912, PLR0915 - one flat token loop is the fast path
    reader: _Reader,
    pos: int,
    string_table: bytes,
    *,
    max_depth: int,
) -> etree._Element:
    data = reader.data
    end = reader.end
    out: list[str] = []
    append = out.append
    closes: list[str] = []  # close tag of each open element
    states: list[int] = []  # state of each open element
    texts: list[str] = []  # pieces of the innermost element's text
    page = 0
    tags = _TAGS[0]
    pages_used = {0}
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
            if states:
                state = states[-1]
                if state == _FRESH:
                    append(">")
                    states[-1] = _CHILDREN
                elif state != _CHILDREN:
                    raise WbxmlError(pos, "an element holds both text and elements")
                if len(states) >= max_depth:
                    raise WbxmlError(pos, f"nesting deeper than {max_depth}")
            if b & 0x40:
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
                append(' w:content="1"/>')
                markers = True
            elif state == _TEXT:
                text = texts[0] if len(texts) == 1 else "".join(texts)
                texts.clear()
                if text:
                    append(">" + _escape(text) + close)
                else:
                    append(' w:empty="1">' + close)
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
            page = number
            tags = _TAGS[number]
            pages_used.add(number)
            pos += 2
            continue
        if b in (_STR_I, _STR_T):
            if b == _STR_I:
                stop = data.find(b"\x00", pos + 1)
                if stop < 0:
                    raise WbxmlError(pos, "unterminated inline string")
                raw = data[pos + 1 : stop]
                piece = _text(raw, pos + 1, "inline string") if raw else ""
                next_pos = stop + 1
            else:
                index, next_pos = reader.mb_u_int32(pos + 1, "string table reference")
                piece = _table_string(string_table, index, pos)
            _in_text_position(states, pos, root_done)
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
            _in_text_position(states, pos, root_done)
            if states[-1] != _FRESH:
                raise WbxmlError(pos, "opaque data must be an element's only content")
            states[-1] = _OPAQUE_STATE
            append(
                ' w:opaque="1">' + base64.b64encode(data[start : start + length]).decode("ascii")
            )
            markers = True
            pos = start + length
            continue
        raise WbxmlError(pos, f"global token {_UNSUPPORTED.get(b, hex(b))} is not supported in EAS")

    if states:
        raise WbxmlError(end, f"truncated: {len(states)} element(s) not closed")
    if not out:
        raise WbxmlError(end, "no root element")
    return _parse(out, pages_used, markers=markers, empties=empties)


def _in_text_position(states: list[int], pos: int, root_done: bool) -> None:
    if not states:
        where = "after the root element" if root_done else "before the root element"
        raise WbxmlError(pos, f"character data {where}")


def _table_string(table: bytes, index: int, pos: int) -> str:
    if index >= len(table):
        raise WbxmlError(pos, f"string table reference {index} past the table's end")
    stop = table.find(b"\x00", index)
    if stop < 0:
        raise WbxmlError(pos, f"string table entry {index} is unterminated")
    return _text(table[index:stop], pos, "string table entry")


_PARSER: Final = etree.XMLParser(
    resolve_entities=False, no_network=True, huge_tree=False, remove_blank_text=False
)


def _parse(out: list[str], pages_used: set[int], *, markers: bool, empties: bool) -> etree._Element:
    declarations = "".join(
        f' xmlns:{_prefix(PAGES[number])}="{PAGES[number].namespace}"'
        for number in sorted(pages_used)
    )
    if markers:
        declarations += f' xmlns:w="{MARKER_NS}"'
    first = out[0]
    # Insert the declarations right after the root's qualified name.
    cut = len(first) - 2 if first.endswith("/>") else len(first)
    out[0] = first[:cut] + declarations + first[cut:]
    text = "".join(out)
    try:
        root = etree.fromstring(text, _PARSER)
    except etree.XMLSyntaxError as exc:  # e.g. lxml's own depth limit
        raise WbxmlError(0, f"document cannot be represented as XML: {exc}") from None
    if empties:
        for element in root.iter():
            if element.get(_EMPTY) == "1":
                element.text = ""
    return root


# --------------------------------------------------------------------------
# Encode.

_TOKENS: Final = {
    f"{{{page.namespace}}}{name}": (page.number, token)
    for page in PAGES
    for token, name in page.tags.items()
}
_MARKER_ATTRIBUTES: Final = frozenset({_CONTENT, _EMPTY, _OPAQUE})


def encode(root: etree._Element) -> bytes:
    """Encode a tree in the contract's form as a WBXML 1.3 document.

    Comments and processing instructions are skipped (the ``.xml`` twins of
    fixtures cite spec sections in comments), and so is whitespace around
    child elements (pretty-printed input).
    """
    out = bytearray(HEADER)
    page = 0
    tokens = _TOKENS
    needs_end: list[bool] = []
    for event, element in etree.iterwalk(root, events=("start", "end")):
        tag = element.tag
        if not isinstance(tag, str):  # comments and processing instructions
            continue
        if event == "end":
            if needs_end.pop():
                out.append(_END)
            continue
        found = tokens.get(tag)
        if found is None:
            raise WbxmlEncodeError(len(out), f"unknown tag {tag}", element)
        number, token = found
        if number != page:
            out += bytes((_SWITCH_PAGE, number))
            page = number
        needs_end.append(_encode_start(out, element, token))
        tail = element.tail
        if tail and element is not root and not tail.isspace():
            raise WbxmlEncodeError(len(out), "text between elements", element)
    return bytes(out)


def _has_children(element: etree._Element) -> bool:
    if not len(element):
        return False
    return any(isinstance(child.tag, str) for child in element)


def _encode_start(out: bytearray, element: etree._Element, token: int) -> bool:
    """Write an element's tag and any text; True when an END must follow its children."""
    keys: list[str] = element.keys()  # type: ignore[assignment]  # lxml-stubs: str|bytes
    text = element.text
    if keys:
        marker = _encode_marked(out, element, token, keys)
        if marker is not None:
            return marker
    if _has_children(element):
        if text is not None and not text.isspace():
            raise WbxmlEncodeError(len(out), "an element holds both text and elements", element)
        out.append(token | 0x40)
        return True
    if text is None:
        out.append(token)
        return False
    raw = text.encode("utf-8")
    if b"\x00" in raw:
        raise WbxmlEncodeError(len(out), "text holds U+0000", element)
    out.append(token | 0x40)
    out.append(_STR_I)
    out += raw
    out.append(0)
    return True


def _encode_marked(
    out: bytearray, element: etree._Element, token: int, keys: list[str]
) -> bool | None:
    """Write a marked element; None when no marker applies."""
    extra = [name for name in keys if name not in _MARKER_ATTRIBUTES]
    if extra:
        raise WbxmlEncodeError(len(out), f"attribute {extra[0]} has no WBXML form", element)
    content, empty, opaque = (element.get(name) == "1" for name in (_CONTENT, _EMPTY, _OPAQUE))
    if content + empty + opaque > 1:
        raise WbxmlEncodeError(len(out), "more than one marker on an element", element)
    if not (content or empty or opaque):
        return None
    if _has_children(element):
        raise WbxmlEncodeError(len(out), "a marked element cannot have children", element)
    text = element.text
    if content:
        if text:
            raise WbxmlEncodeError(len(out), "a w:content element must be empty", element)
        out += bytes((token | 0x40, _END))
        return False
    if empty:
        if text:
            raise WbxmlEncodeError(len(out), "a w:empty element must be empty", element)
        out += bytes((token | 0x40, _STR_I, 0))
        return True
    try:
        raw = base64.b64decode(text or "", validate=True)
    except (binascii.Error, ValueError):
        raise WbxmlEncodeError(len(out), "opaque content is not base64", element) from None
    out.append(token | 0x40)
    out.append(_OPAQUE_TOKEN)
    out += _mb_u_int32(len(raw))
    out += raw
    return True


def _mb_u_int32(value: int) -> bytes:
    """A WBXML multi-byte unsigned integer."""
    chunks = [value & 0x7F]
    value >>= 7
    while value:
        chunks.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(chunks))
