"""ItemOperations models and the multipart body: the spec's examples, bad input, rendering."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from protocol import wbxml
from protocol.itemoperations import (
    EmptyFolderContentsRequest,
    EmptyFolderContentsResult,
    FetchRequest,
    FetchResult,
    InvalidOperation,
    ItemOperationsResponse,
    ItemOperationsStatus,
    MoveRequest,
    MoveResult,
    parse_item_operations_request,
    render_item_operations_response,
)
from protocol.multipart import CONTENT_TYPE, MultipartBody, encode_multipart
from protocol.status import EasStatusError
from protocol.sync import BodyPreference

CORPUS = Path(__file__).parent / "corpus"
HEAD = (
    '<ItemOperations xmlns="ItemOperations:" xmlns:A="AirSync:" xmlns:B="AirSyncBase:" '
    'xmlns:S="Search:" xmlns:w="urn:easgw:wbxml">'
)
CONVERSATION = bytes.fromhex("7c2a9e4b1f0d4c6a8e3b5d7f9a1c2e40")


def _wire(tree: etree._Element) -> etree._Element:
    return wbxml.decode(wbxml.encode(tree))


def _parse(operations: str, version: str = "14.1") -> tuple[object, ...]:
    tree = _wire(etree.fromstring(HEAD + operations + "</ItemOperations>"))
    return parse_item_operations_request(tree, version).operations


def test_corpus_request() -> None:
    tree = _wire(etree.parse(str(CORPUS / "itemoperations-request.xml")).getroot())
    empty, mailbox, attachment, library, move = parse_item_operations_request(
        tree, "14.1"
    ).operations
    assert empty == EmptyFolderContentsRequest(collection_id="4", delete_sub_folders=True)
    assert mailbox == FetchRequest(
        store="Mailbox",
        collection_id="5",
        server_id="5:311",
        body_preferences=(BodyPreference(type=2),),
    )
    assert attachment == FetchRequest(store="Mailbox", file_reference="5%3a311%3a0", range="0-56")
    assert isinstance(library, FetchRequest) and library.store == "DocumentLibrary"
    assert library.link_id == "\\\\fileserver\\projects\\2027\\plan.docx"
    assert move == MoveRequest(conversation_id=CONVERSATION, dst_fld_id="11", move_always=True)


PARSED = [
    (
        (
            "<Fetch><Store>Mailbox</Store><A:ServerId>3:7</A:ServerId><Options>"
            "<B:BodyPreference><B:Type>1</B:Type><B:TruncationSize>100</B:TruncationSize>"
            "<B:AllOrNone>1</B:AllOrNone></B:BodyPreference>"
            "<B:BodyPreference><B:Type>2</B:Type></B:BodyPreference>"
            "<A:MIMESupport>0</A:MIMESupport></Options></Fetch>"
        ),
        FetchRequest(
            store="Mailbox",
            server_id="3:7",
            body_preferences=(
                BodyPreference(type=1, truncation_size=100, all_or_none=True),
                BodyPreference(type=2),
            ),
            mime_support=0,
        ),
    ),
    (
        "<Fetch><Store>Mailbox</Store><S:LongId>RgAAAA%2b</S:LongId></Fetch>",
        FetchRequest(store="Mailbox", long_id="RgAAAA%2b"),
    ),
    (
        "<Fetch><Store>Mailbox</Store></Fetch>",
        InvalidOperation(name="Fetch", reason="Fetch names no item"),
    ),
    (
        "<Fetch><A:ServerId>1:1</A:ServerId></Fetch>",
        InvalidOperation(name="Fetch", reason="Fetch without Store"),
    ),
    (
        (
            "<Fetch><Store>Mailbox</Store><A:ServerId>1:1</A:ServerId><Options>"
            "<B:BodyPreference><B:Type>5</B:Type></B:BodyPreference></Options></Fetch>"
        ),
        InvalidOperation(name="Fetch", reason="Type"),
    ),
    (
        (
            "<Fetch><Store>Mailbox</Store><A:ServerId>1:1</A:ServerId><Options>"
            "<B:BodyPreference><B:TruncationSize>5</B:TruncationSize></B:BodyPreference>"
            "</Options></Fetch>"
        ),
        InvalidOperation(name="Fetch", reason="BodyPreference without Type"),
    ),
    (
        "<EmptyFolderContents><A:CollectionId>4</A:CollectionId></EmptyFolderContents>",
        EmptyFolderContentsRequest(collection_id="4"),
    ),
    (
        "<EmptyFolderContents><Options><DeleteSubFolders/></Options></EmptyFolderContents>",
        InvalidOperation(name="EmptyFolderContents", reason="without CollectionId"),
    ),
    (
        "<Move><ConversationId>abc</ConversationId><DstFldId>2</DstFldId></Move>",
        MoveRequest(conversation_id=b"abc", dst_fld_id="2"),
    ),
    (
        "<Move><DstFldId>2</DstFldId></Move>",
        InvalidOperation(name="Move", reason="needs ConversationId"),
    ),
]


@pytest.mark.parametrize(("xml", "expected"), PARSED)
def test_parse_table(xml: str, expected: object) -> None:
    (parsed,) = _parse(xml)
    if isinstance(expected, InvalidOperation):
        assert isinstance(parsed, InvalidOperation)
        assert parsed.name == expected.name
        assert expected.reason in parsed.reason
    else:
        assert parsed == expected


def test_move_is_fourteen_and_later() -> None:
    move = "<Move><ConversationId>abc</ConversationId><DstFldId>2</DstFldId></Move>"
    (parsed,) = _parse(move, "12.1")
    assert isinstance(parsed, InvalidOperation)
    assert isinstance(_parse(move, "16.1")[0], MoveRequest)


@pytest.mark.parametrize(
    "xml",
    [
        None,
        '<Sync xmlns="AirSync:"/>',
        '<ItemOperations xmlns="ItemOperations:"/>',
        '<ItemOperations xmlns="ItemOperations:"><Store>Mailbox</Store></ItemOperations>',
        '<ItemOperations xmlns="ItemOperations:"><Fetch xmlns="AirSync:"/></ItemOperations>',
    ],
)
def test_not_a_request_is_status_two(xml: str | None) -> None:
    tree = None if xml is None else etree.fromstring(xml)
    with pytest.raises(EasStatusError) as raised:
        parse_item_operations_request(tree, "14.1")
    assert raised.value.status == ItemOperationsStatus.ProtocolError


def _properties() -> tuple[etree._Element, ...]:
    subject = etree.Element("{Calendar:}Subject")
    subject.text = "Planning"
    body = etree.Element("{AirSyncBase:}Body")
    for name, text in (("Type", "1"), ("EstimatedDataSize", "12"), ("Data", "Hello, Ünï!")):
        etree.SubElement(body, f"{{AirSyncBase:}}{name}").text = text
    return subject, body


RESPONSE = ItemOperationsResponse(
    results=(
        EmptyFolderContentsResult(status=ItemOperationsStatus.Success, collection_id="4"),
        FetchResult(
            status=ItemOperationsStatus.Success,
            collection_id="1",
            server_id="1:2",
            class_name="Calendar",
            properties=_properties(),
        ),
        FetchResult(status=ItemOperationsStatus.ObjectNotFound, long_id="RgAA"),
        MoveResult(status=ItemOperationsStatus.ObjectNotFound, conversation_id=CONVERSATION),
    )
)


def _shape(element: etree._Element) -> list[tuple[str, str | None]]:
    return [(str(e.tag), e.text) for e in element.iter()]


def test_render_inline() -> None:
    root = render_item_operations_response(RESPONSE, "14.1")
    assert isinstance(root, etree._Element)
    decoded = wbxml.decode(wbxml.encode(root))
    assert _shape(decoded) == [
        ("{ItemOperations:}ItemOperations", None),
        ("{ItemOperations:}Status", "1"),
        ("{ItemOperations:}Response", None),
        ("{ItemOperations:}EmptyFolderContents", None),
        ("{ItemOperations:}Status", "1"),
        ("{AirSync:}CollectionId", "4"),
        ("{ItemOperations:}Fetch", None),
        ("{ItemOperations:}Status", "1"),
        ("{AirSync:}CollectionId", "1"),
        ("{AirSync:}ServerId", "1:2"),
        ("{AirSync:}Class", "Calendar"),
        ("{ItemOperations:}Properties", None),
        ("{Calendar:}Subject", "Planning"),
        ("{AirSyncBase:}Body", None),
        ("{AirSyncBase:}Type", "1"),
        ("{AirSyncBase:}EstimatedDataSize", "12"),
        ("{AirSyncBase:}Data", "Hello, Ünï!"),
        ("{ItemOperations:}Fetch", None),
        ("{ItemOperations:}Status", "6"),
        ("{Search:}LongId", "RgAA"),
        ("{ItemOperations:}Move", None),
        ("{ItemOperations:}Status", "6"),
        ("{ItemOperations:}ConversationId", "fCqeSx8NTGqOO11/mhwuQA=="),
    ]
    assert wbxml.encode(decoded).count(b"\xc3\x10" + CONVERSATION) == 1  # OPAQUE, 16 bytes


def test_render_multipart_moves_bodies_into_parts() -> None:
    multipart = ItemOperationsResponse(results=RESPONSE.results, multipart=True)
    body = render_item_operations_response(multipart, "14.1")
    assert isinstance(body, MultipartBody)
    assert body.parts == ("Hello, Ünï!".encode(),)
    fetched = body.root.find("{ItemOperations:}Response/{ItemOperations:}Fetch")
    assert fetched is not None
    (rendered_body,) = fetched.iterfind("{ItemOperations:}Properties/{AirSyncBase:}Body")
    assert [(str(e.tag), e.text) for e in rendered_body] == [
        ("{AirSyncBase:}Type", "1"),
        ("{AirSyncBase:}EstimatedDataSize", "12"),
        ("{ItemOperations:}Part", "1"),
    ]
    original = RESPONSE.results[1]  # the model's elements are untouched
    assert isinstance(original, FetchResult) and original.properties is not None
    assert original.properties[1].find("{AirSyncBase:}Data") is not None


def _split(data: bytes) -> list[bytes]:
    (count,) = struct.unpack_from("<i", data)
    table = [struct.unpack_from("<ii", data, 4 + 8 * i) for i in range(count)]
    return [data[offset : offset + length] for offset, length in table]


def test_multipart_layout() -> None:
    assert CONTENT_TYPE == "application/vnd.ms-sync.multipart"
    table = struct.pack("<i", 3) + struct.pack("<iiiiii", 28, 2, 30, 0, 30, 3)
    assert encode_multipart((b"ab", b"", b"xyz")) == table + b"abxyz"
    root = etree.Element("{ItemOperations:}ItemOperations")
    etree.SubElement(root, "{ItemOperations:}Status").text = "1"
    first, second = _split(MultipartBody(root=root, parts=(b"body",)).encode())
    assert wbxml.decode(first).findtext("{ItemOperations:}Status") == "1"
    assert second == b"body"


@given(st.lists(st.binary(max_size=64), max_size=6))
def test_multipart_round_trip(parts: list[bytes]) -> None:
    assert _split(encode_multipart(tuple(parts))) == parts


_NAMES = st.sampled_from(
    ["Fetch", "Store", "Options", "EmptyFolderContents", "Move", "ConversationId", "DstFldId"]
)
_FOREIGN = st.sampled_from(
    ["{AirSync:}ServerId", "{AirSync:}CollectionId", "{AirSyncBase:}BodyPreference",
     "{AirSyncBase:}Type", "{Search:}LongId", "{AirSyncBase:}TruncationSize"]
)  # fmt: skip
_TEXT = st.text(st.characters(exclude_categories=("Cs", "Cc", "Cn")), max_size=8)


@st.composite
def _documents(draw: st.DrawFn) -> etree._Element:
    root = etree.Element("{ItemOperations:}ItemOperations")
    if draw(st.booleans()):
        fetch = etree.SubElement(root, "{ItemOperations:}Fetch")
        etree.SubElement(fetch, "{ItemOperations:}Store").text = "Mailbox"
    for _ in range(draw(st.integers(0, 8))):
        parent = draw(st.sampled_from(list(root.iter())))
        tag = draw(st.one_of(_NAMES.map(lambda n: f"{{ItemOperations:}}{n}"), _FOREIGN))
        child = etree.SubElement(parent, tag)
        child.text = draw(st.one_of(st.none(), _TEXT, st.sampled_from(["1", "2", "1:1"])))
    return root


@given(_documents(), st.sampled_from(["12.1", "14.1", "16.1"]))
def test_any_tree_parses_or_is_status_two(tree: etree._Element, version: str) -> None:
    try:
        request = parse_item_operations_request(tree, version)
    except EasStatusError as exc:
        assert exc.status == ItemOperationsStatus.ProtocolError
    else:
        assert request.operations
        kinds = (FetchRequest, EmptyFolderContentsRequest, MoveRequest, InvalidOperation)
        assert all(isinstance(op, kinds) for op in request.operations)
