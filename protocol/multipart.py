"""The multipart response body (MS-ASCMD 2.2.1.10.1, ItemOperations).

A client that sends ``MS-ASAcceptMultiPart: T`` (or the base64 query's
AcceptMultiPart option) gets its Fetch content outside the WBXML: the body is
a MultiPartResponse (2.2.1.10.1.1): PartsCount (int32), then PartsCount
PartMetaData entries (2.2.1.10.1.1.1: Offset and Length, int32 each, the
offset counted from the start of the body), then the parts. Part 0 is the
WBXML document; a ``Part`` element in it holds the index of the part that
carries the content it stands for. Integers are little-endian, as every
integer on the EAS wire. Content type ``application/vnd.ms-sync.multipart``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

from lxml import etree

from protocol import wbxml

__all__ = ["CONTENT_TYPE", "MultipartBody", "encode_multipart"]

CONTENT_TYPE: Final = "application/vnd.ms-sync.multipart"
_INT: Final = struct.Struct("<i")
_ENTRY: Final = struct.Struct("<ii")


@dataclass(frozen=True, slots=True, kw_only=True)
class MultipartBody:
    """A rendered answer to send in multipart form: the WBXML tree (part 0)
    and the parts its ``Part`` elements point at (parts 1..n)."""

    root: etree._Element
    parts: tuple[bytes, ...] = ()

    def encode(self) -> bytes:
        return encode_multipart((wbxml.encode(self.root), *self.parts))


def encode_multipart(parts: tuple[bytes, ...]) -> bytes:
    """The MultiPartResponse holding ``parts`` in order."""
    offset = _INT.size + _ENTRY.size * len(parts)
    table = bytearray(_INT.pack(len(parts)))
    for part in parts:
        table += _ENTRY.pack(offset, len(part))
        offset += len(part)
    return bytes(table) + b"".join(parts)
