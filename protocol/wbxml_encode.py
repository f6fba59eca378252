"""The WBXML encoder: an lxml tree in the contract's form -> WBXML 1.3 bytes.

Public through protocol/wbxml.py (``from protocol.wbxml import encode``).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from typing import Final

from lxml import etree

from protocol.codepages import PAGES
from protocol.wbxml_tokens import (
    _CONTENT,
    _EMPTY,
    _END,
    _OPAQUE,
    _OPAQUE_TOKEN,
    _STR_I,
    _SWITCH_PAGE,
    HEADER,
    WbxmlEncodeError,
)

__all__ = ["encode"]

# Per tag (Clark notation): page, token, and the bytes that start it as a
# leaf with text (tag with content bit, STR_I), precomputed for the hot loop.
_TOKENS: Final = {
    f"{{{page.namespace}}}{name}": (page.number, token, bytes((token | 0x40, _STR_I)))
    for page in PAGES
    for token, name in page.tags.items()
}
_MARKER_ATTRIBUTES: Final = frozenset({_CONTENT, _EMPTY, _OPAQUE})
_STRING_END: Final = b"\x00\x01"  # the string's terminator and the leaf's END


def encode(root: etree._Element) -> bytes:
    """Encode a tree in the contract's form as a WBXML 1.3 document.

    Comments and processing instructions are skipped (the ``.xml`` twins of
    fixtures cite spec sections in comments), and so is whitespace around
    child elements (pretty-printed input).

    The walk keeps a stack of child iterators and writes a leaf (the
    commonest element) in one step, without descending into it.
    """
    out = bytearray(HEADER)
    page = 0
    tokens = _TOKENS
    # Comments make len() count nodes that are not elements; check the slow way then.
    exact = next(root.iter(etree.Comment, etree.ProcessingInstruction), None) is not None
    stack: list[Iterator[etree._Element]] = []
    siblings: Iterator[etree._Element] = iter((root,))
    while True:
        for element in siblings:
            tag = element.tag
            if tag.__class__ is not str:  # a comment or processing instruction
                continue
            found = tokens.get(tag)
            if found is None:
                raise WbxmlEncodeError(len(out), f"unknown tag {tag}", element)
            number, token, leaf = found
            if number != page:
                out += bytes((_SWITCH_PAGE, number))
                page = number
            tail = element.tail
            if tail is not None and element is not root and not tail.isspace():
                raise WbxmlEncodeError(len(out), "text between elements", element)
            if len(element) and (not exact or _has_children(element)):
                _encode_parent(out, element, token)
                stack.append(siblings)
                siblings = iter(element)
                break
            keys: list[str] = element.keys()  # type: ignore[assignment]  # stubs: str|bytes
            if keys and _encode_marked(out, element, token, keys):
                continue
            text = element.text
            if text is None:
                out.append(token)
                continue
            raw = text.encode("utf-8")
            if b"\x00" in raw:
                raise WbxmlEncodeError(len(out), "text holds U+0000", element)
            out += leaf
            out += raw
            out += _STRING_END
        else:
            if not stack:
                return bytes(out)
            out.append(_END)
            siblings = stack.pop()


def _has_children(element: etree._Element) -> bool:
    return any(isinstance(child.tag, str) for child in element)


def _encode_parent(out: bytearray, element: etree._Element, token: int) -> None:
    """Write the tag of an element with child elements (its END comes after them)."""
    names = element.keys()
    if names:
        extra = [name for name in names if name not in _MARKER_ATTRIBUTES]
        if extra:
            raise WbxmlEncodeError(len(out), f"attribute {extra[0]!s} has no WBXML form", element)
        if any(element.get(name) == "1" for name in _MARKER_ATTRIBUTES):
            raise WbxmlEncodeError(len(out), "a marked element cannot have children", element)
    text = element.text
    if text is not None and not text.isspace():
        raise WbxmlEncodeError(len(out), "an element holds both text and elements", element)
    out.append(token | 0x40)


def _encode_marked(out: bytearray, element: etree._Element, token: int, keys: list[str]) -> bool:
    """Write a marked leaf, END included; False when no marker applies."""
    extra = [name for name in keys if name not in _MARKER_ATTRIBUTES]
    if extra:
        raise WbxmlEncodeError(len(out), f"attribute {extra[0]} has no WBXML form", element)
    content, empty, opaque = (element.get(name) == "1" for name in (_CONTENT, _EMPTY, _OPAQUE))
    if content + empty + opaque > 1:
        raise WbxmlEncodeError(len(out), "more than one marker on an element", element)
    if not (content or empty or opaque):
        return False
    text = element.text
    if content:
        if text:
            raise WbxmlEncodeError(len(out), "a w:content element must be empty", element)
        out += bytes((token | 0x40, _END))
        return True
    if empty:
        if text:
            raise WbxmlEncodeError(len(out), "a w:empty element must be empty", element)
        out += bytes((token | 0x40, _STR_I, 0, _END))
        return True
    try:
        raw = base64.b64decode(text or "", validate=True)
    except (binascii.Error, ValueError):
        raise WbxmlEncodeError(len(out), "opaque content is not base64", element) from None
    out.append(token | 0x40)
    out.append(_OPAQUE_TOKEN)
    out += _mb_u_int32(len(raw))
    out += raw
    out.append(_END)
    return True


def _mb_u_int32(value: int) -> bytes:
    """A WBXML multi-byte unsigned integer."""
    chunks = [value & 0x7F]
    value >>= 7
    while value:
        chunks.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(chunks))
