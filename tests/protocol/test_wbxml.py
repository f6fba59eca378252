"""The WBXML codec: contract markers, hostile input, limits, encode errors."""

from __future__ import annotations

import base64

import pytest
from lxml import etree

from protocol import wbxml, wbxml_encode
from protocol.wbxml import HEADER, WbxmlEncodeError, WbxmlError, decode, encode
from tests.protocol.wbxml_trees import W, describe

AS = "{AirSync:}"
CAL = "{Calendar:}"


def doc(body: str) -> bytes:
    """A document: the EAS header, then the body given as hex."""
    return HEADER + bytes.fromhex(body.replace(" ", ""))


# --- decoding ----------------------------------------------------------------


def test_decode_sync_key() -> None:
    # Sync(content) SyncKey(content) STR_I "1" END END
    root = decode(doc("45 4b 03 31 00 01 01"))
    assert root.tag == AS + "Sync"
    assert [(child.tag, child.text) for child in root] == [(AS + "SyncKey", "1")]


def test_tag_without_content_bit_is_childless_and_textless() -> None:
    root = decode(doc("45 14 01"))  # Sync > MoreAvailable (0x14, no content)
    (child,) = root
    assert child.tag == AS + "MoreAvailable"
    assert child.text is None
    assert child.attrib == {}


def test_content_bit_with_nothing_inside_keeps_marker() -> None:
    # Exchange writes 57 01 (a tag with the content bit, then END).
    root = decode(doc("45 57 01 01"))
    (child,) = root
    assert child.get(W + "content") == "1"
    assert child.text is None
    assert len(child) == 0
    assert encode(root) == doc("45 57 01 01")


def test_empty_inline_string_keeps_marker_and_empty_text() -> None:
    root = decode(doc("45 4b 03 00 01 01"))
    (child,) = root
    assert child.text == ""
    assert child.get(W + "empty") == "1"
    assert encode(root) == doc("45 4b 03 00 01 01")


def test_opaque_is_base64_text_with_marker() -> None:
    payload = bytes(range(256))
    body = HEADER + b"\x45\x4b\xc3" + bytes([0x82, 0x00]) + payload + b"\x01\x01"
    root = decode(body)
    (child,) = root
    assert child.get(W + "opaque") == "1"
    assert base64.b64decode(child.text or "") == payload
    assert encode(root) == body


def test_page_switch_and_namespaces() -> None:
    # Sync > (page 4) Subject "Hi" > back on page 0: SyncKey "2"
    data = doc("45 00 04 66 03 48 69 00 01 00 00 4b 03 32 00 01 01")
    root = decode(data)
    assert [child.tag for child in root] == [CAL + "Subject", AS + "SyncKey"]
    assert root.nsmap["Calendar"] == "Calendar:"
    assert encode(root) == data


def test_special_characters_survive() -> None:
    text = "a & b < c > d\r\ne\t\"'\u00e9\U0001f600"
    element = etree.Element(AS + "SyncKey")
    element.text = text
    root = decode(encode(element))
    assert root.text == text


def test_string_table_and_str_t_are_read() -> None:
    # header with a 4-byte string table "ab\0" + pad, then SyncKey STR_T 0
    data = b"\x03\x01\x6a\x04ab\x00\x00" + bytes.fromhex("4b 83 00 01")
    assert decode(data).text == "ab"


def test_public_id_as_string_table_index() -> None:
    data = b"\x03\x00\x00\x6a\x02x\x00" + bytes.fromhex("4b 03 31 00 01")
    assert decode(data).text == "1"


def test_consecutive_strings_are_joined() -> None:
    assert decode(doc("4b 03 61 00 03 62 00 01")).text == "ab"


# --- hostile input -------------------------------------------------------------

BAD = [
    ("empty input", b"", 0, "truncated"),
    ("bad version", b"\x09\x01\x6a\x00\x45\x01", 0, "version"),
    ("header only", HEADER, 4, "no root"),
    ("truncated header", b"\x03\x01", 2, "truncated"),
    ("unknown charset", b"\x03\x01\x04\x00\x45\x01", 2, "charset"),
    ("string table past end", b"\x03\x01\x6a\x7f\x45", 4, "string table"),
    ("mb_u_int32 too long", b"\x03\x81\x81\x81\x81\x81\x01", 1, "mb_u_int32"),
    ("mb_u_int32 over 32 bits", b"\x03\x9f\xff\xff\xff\x7f\x6a\x00", 1, "32 bits"),
    ("truncated element", doc("45 4b 03 31 00 01"), 10, "not closed"),
    ("unknown page", doc("00 63 45 01"), 5, "unknown code page 99"),
    ("unknown token", doc("45 3f 01"), 5, "unknown tag 0x3f"),
    ("attributes", doc("c5 01"), 4, "attributes"),
    ("LITERAL", doc("45 04 00 01"), 5, "LITERAL"),
    ("ENTITY", doc("45 02 41 01"), 5, "ENTITY"),
    ("EXT_I_0", doc("45 40 41 00 01"), 5, "EXT_I_0"),
    ("EXT_T_0", doc("45 80 00 01"), 5, "EXT_T_0"),
    ("EXT_0", doc("45 c0 01"), 5, "EXT_0"),
    ("PI", doc("45 43 01"), 5, "PI"),
    ("LITERAL_AC", doc("45 c4 00 01"), 5, "LITERAL_AC"),
    ("unterminated string", doc("4b 03 31 32"), 5, "unterminated"),
    ("opaque past end", doc("4b c3 7f 00 01"), 5, "opaque length 127"),
    ("truncated opaque length", doc("4b c3"), 6, "opaque length"),
    ("second root", doc("4b 03 31 00 01 0b"), 9, "second root"),
    ("second root after empty tag", doc("0b 0b"), 5, "second root"),
    ("text before root", doc("03 31 00"), 4, "before the root"),
    ("text after root", doc("0b 03 31 00"), 5, "after the root"),
    ("END outside", doc("01"), 4, "END outside"),
    ("mixed content", doc("45 03 31 00 0b 01"), 8, "both text and elements"),
    ("text after child", doc("45 0b 03 31 00 01"), 6, "both text and elements"),
    ("opaque after text", doc("4b 03 31 00 c3 01 41 01"), 8, "only content"),
    ("invalid UTF-8", doc("4b 03 c3 28 00 01"), 6, "UTF-8"),
    ("control character", doc("4b 03 41 01 00 01"), 7, "U+0001"),
    ("bad string table ref", b"\x03\x01\x6a\x02a\x00" + bytes.fromhex("4b 83 05 01"), 7, "past"),
    ("switch page truncated", doc("45 00"), 6, "truncated"),
]


@pytest.mark.parametrize(
    ("data", "offset", "reason"), [b[1:] for b in BAD], ids=[b[0] for b in BAD]
)
def test_hostile_input_raises_wbxml_error(data: bytes, offset: int, reason: str) -> None:
    with pytest.raises(WbxmlError) as info:
        decode(data)
    assert info.value.offset == offset
    assert reason in info.value.reason
    assert str(offset) in str(info.value) and reason in str(info.value)
    assert isinstance(info.value, ValueError)


def test_depth_limit() -> None:
    deep = doc("45" * 65 + "01" * 65)
    with pytest.raises(WbxmlError, match="deeper than 64"):
        decode(deep)
    assert decode(doc("45" * 64 + "01" * 64)) is not None
    with pytest.raises(WbxmlError, match="deeper than 3"):
        decode(doc("45 45 45 0b 01 01 01"), max_depth=3)


def test_very_deep_input_is_an_error_not_a_recursion_error() -> None:
    depth = 200_000
    with pytest.raises(WbxmlError, match="deeper"):
        decode(HEADER + b"\x45" * depth + b"\x01" * depth)


def test_size_limit() -> None:
    data = doc("4b 03" + "41" * 100 + "00 01")
    with pytest.raises(WbxmlError, match="exceeds"):
        decode(data, max_bytes=50)
    assert decode(data, max_bytes=len(data)).text == "A" * 100


def test_huge_declared_opaque_allocates_nothing() -> None:
    # An opaque length of 2**32-1 with no data behind it fails at once.
    with pytest.raises(WbxmlError, match="runs past the end"):
        decode(doc("4b c3 8f ff ff ff 7f"))


# --- encoding ------------------------------------------------------------------


def test_encode_unknown_tag() -> None:
    root = etree.Element(AS + "Sync")
    etree.SubElement(root, "{AirSync:}NoSuchTag")
    with pytest.raises(WbxmlEncodeError, match="unknown tag") as info:
        encode(root)
    assert info.value.element.tag == "{AirSync:}NoSuchTag"


def test_encode_rejects_stray_attributes_and_bad_markers() -> None:
    root = etree.Element(AS + "Sync", foo="bar")
    with pytest.raises(WbxmlEncodeError, match="attribute foo"):
        encode(root)
    root = etree.Element(AS + "Sync")
    root.set(W + "opaque", "1")
    root.text = "!!not base64!!"
    with pytest.raises(WbxmlEncodeError, match="base64"):
        encode(root)
    root = etree.Element(AS + "Sync")
    root.set(W + "content", "1")
    root.text = "x"
    with pytest.raises(WbxmlEncodeError, match="must be empty"):
        encode(root)
    root = etree.Element(AS + "Sync")
    root.text = "text"
    etree.SubElement(root, AS + "SyncKey")
    with pytest.raises(WbxmlEncodeError, match="both text and elements"):
        encode(root)
    root = etree.Element(AS + "Sync")
    child = etree.SubElement(root, AS + "SyncKey")
    child.tail = "stray"
    with pytest.raises(WbxmlEncodeError, match="between elements"):
        encode(root)


def test_encode_skips_comments_and_indentation() -> None:
    xml = b"""<Sync xmlns="AirSync:">
  <!-- MS-ASCMD 2.2.1.21 -->
  <SyncKey>1</SyncKey>
  <MoreAvailable/>
</Sync>"""
    root = etree.fromstring(xml)
    assert encode(root) == doc("45 4b 03 31 00 01 14 01")


def test_encode_nul_in_text() -> None:
    # lxml refuses NUL in text itself; the codec's own check is the last line.
    element = etree.Element(AS + "SyncKey")
    with pytest.raises(ValueError, match="XML compatible"):
        element.text = "a\x00b"


def test_mb_u_int32_encoding() -> None:
    assert wbxml_encode._mb_u_int32(0) == b"\x00"
    assert wbxml_encode._mb_u_int32(0x7F) == b"\x7f"
    assert wbxml_encode._mb_u_int32(0x80) == b"\x81\x00"
    assert wbxml_encode._mb_u_int32(0xFFFFFFFF) == b"\x8f\xff\xff\xff\x7f"


def test_decode_encode_tree_equality_on_nested_document() -> None:
    xml = f"""<Sync xmlns="AirSync:" xmlns:c="Calendar:" xmlns:w="{wbxml.MARKER_NS}">
<Collections><Collection><SyncKey>5</SyncKey><CollectionId>1</CollectionId>
<Commands><Add><ServerId>1:1</ServerId><ApplicationData>
<c:Subject>Team</c:Subject><c:Location w:empty="1"></c:Location><c:Attendees w:content="1"/>
<c:Timezone w:opaque="1">AAAA</c:Timezone>
</ApplicationData></Add></Commands></Collection></Collections></Sync>"""
    root = etree.fromstring(xml.encode())
    # XML cannot tell <a></a> from <a/>: the w:empty marker carries "" through.
    (location,) = root.iter("{Calendar:}Location")
    assert location.text is None
    location.text = ""
    again = decode(encode(root))
    assert describe(again) == describe(root)
    assert encode(again) == encode(root)
