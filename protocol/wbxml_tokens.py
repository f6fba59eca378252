"""WBXML 1.3 tokens, the contract's markers and the codec's errors (CONTRACTS.md section 1).

Shared by the decoder (protocol/wbxml.py) and the encoder (protocol/wbxml_encode.py).
"""

from __future__ import annotations

import re
from typing import Final

from lxml import etree

from protocol.codepages import PAGES

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
