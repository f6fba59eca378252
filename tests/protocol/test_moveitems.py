"""protocol.moveitems: MoveItems requests and responses, through real WBXML bytes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from protocol import wbxml
from protocol.moveitems import (
    MAX_MOVES,
    Move,
    MoveItemsRequest,
    MoveItemsResponse,
    MoveItemsStatus,
    MoveResult,
    parse_move_items_request,
    parse_move_items_response,
    render_move_items_request,
    render_move_items_response,
)
from protocol.status import EasStatusError
from tests.protocol.wbxml_trees import trees, xml_text


def _wire(tree: etree._Element) -> etree._Element:
    return wbxml.decode(wbxml.encode(tree))


def _xml(text: str) -> etree._Element:
    return _wire(etree.fromstring(text.encode()))


def test_spec_example_request_parses() -> None:
    """MS-ASCMD 4.15.1's request shape."""
    tree = _xml(
        '<MoveItems xmlns="Move:"><Move><SrcMsgId>5:1</SrcMsgId><SrcFldId>5</SrcFldId>'
        "<DstFldId>14</DstFldId></Move><Move><SrcMsgId>5:2</SrcMsgId><SrcFldId>5</SrcFldId>"
        "<DstFldId>14</DstFldId></Move></MoveItems>"
    )
    assert parse_move_items_request(tree, "14.1") == MoveItemsRequest(
        moves=(
            Move(src_msg_id="5:1", src_fld_id="5", dst_fld_id="14"),
            Move(src_msg_id="5:2", src_fld_id="5", dst_fld_id="14"),
        )
    )


def test_response_renders_the_spec_example() -> None:
    """MS-ASCMD 4.15.2: SrcMsgId, Status, DstMsgId; a failure has no DstMsgId."""
    response = MoveItemsResponse(
        results=(
            MoveResult(src_msg_id="5:1", status=MoveItemsStatus.Success, dst_msg_id="14:1"),
            MoveResult(src_msg_id="5:2", status=MoveItemsStatus.InvalidSource),
        )
    )
    tree = _wire(render_move_items_response(response, "16.1"))
    rows = [[(str(c.tag), c.text) for c in r] for r in tree]
    assert rows == [
        [("{Move:}SrcMsgId", "5:1"), ("{Move:}Status", "3"), ("{Move:}DstMsgId", "14:1")],
        [("{Move:}SrcMsgId", "5:2"), ("{Move:}Status", "1")],
    ]
    assert parse_move_items_response(tree, "16.1") == response


@pytest.mark.parametrize(
    ("children", "expected"),
    [
        ("<SrcMsgId>1:2</SrcMsgId>", Move(src_msg_id="1:2", src_fld_id="", dst_fld_id="")),
        ("<DstFldId> 3 </DstFldId>", Move(src_msg_id="", src_fld_id="", dst_fld_id="3")),
        ("", Move(src_msg_id="", src_fld_id="", dst_fld_id="")),
    ],
)
def test_missing_children_are_left_to_the_item_status(children: str, expected: Move) -> None:
    tree = _xml(f'<MoveItems xmlns="Move:"><Move>{children}</Move></MoveItems>')
    assert parse_move_items_request(tree, "14.1").moves == (expected,)


@pytest.mark.parametrize(
    "xml",
    [
        None,
        '<Sync xmlns="AirSync:"/>',
        '<MoveItems xmlns="Move:"/>',
        '<MoveItems xmlns="Move:"><Response/></MoveItems>',
        '<MoveItems xmlns="Move:"><Move><Status>1</Status></Move></MoveItems>',
        (
            '<MoveItems xmlns="Move:"><Move><SrcMsgId>a</SrcMsgId><SrcMsgId>b</SrcMsgId></Move>'
            "</MoveItems>"
        ),
        (
            '<MoveItems xmlns="Move:"><Move><SrcMsgId><SrcFldId>1</SrcFldId></SrcMsgId></Move>'
            "</MoveItems>"
        ),
    ],
)
def test_malformed_requests_are_status_103(xml: str | None) -> None:
    with pytest.raises(EasStatusError) as caught:
        parse_move_items_request(None if xml is None else _xml(xml), "14.1")
    assert caught.value.status == 103


def test_more_than_1000_moves_is_status_103() -> None:
    move = "<Move><SrcMsgId>1:1</SrcMsgId><SrcFldId>1</SrcFldId><DstFldId>2</DstFldId></Move>"
    at_limit = _xml(f'<MoveItems xmlns="Move:">{move * MAX_MOVES}</MoveItems>')
    assert len(parse_move_items_request(at_limit, "14.1").moves) == MAX_MOVES
    with pytest.raises(EasStatusError) as caught:
        parse_move_items_request(
            _xml(f'<MoveItems xmlns="Move:">{move * (MAX_MOVES + 1)}</MoveItems>'), "14.1"
        )
    assert caught.value.status == 103


_ids = st.from_regex(r"[0-9A-Za-z:]{1,64}", fullmatch=True)


@given(st.lists(st.tuples(_ids, _ids, _ids), min_size=1, max_size=5))
def test_requests_round_trip(moves: list[tuple[str, str, str]]) -> None:
    request = MoveItemsRequest(
        moves=tuple(Move(src_msg_id=a, src_fld_id=b, dst_fld_id=c) for a, b, c in moves)
    )
    tree = _wire(render_move_items_request(request, "14.1"))
    assert parse_move_items_request(tree, "14.1") == request


_move_tags = st.sampled_from(["SrcMsgId", "SrcFldId", "DstFldId", "Status", "Move", "Response"])


@st.composite
def _move_trees(draw: st.DrawFn) -> etree._Element:
    root = etree.Element("{Move:}MoveItems")
    for _ in range(draw(st.integers(0, 4))):
        move = etree.SubElement(
            root, "{Move:}" + draw(st.sampled_from(["Move", "Move", "Response"]))
        )
        for _ in range(draw(st.integers(0, 4))):
            child = etree.SubElement(move, "{Move:}" + draw(_move_tags))
            child.text = draw(st.none() | xml_text)
    return root


@given(st.one_of(_move_trees(), trees))
def test_untrusted_trees_parse_or_get_status_103(tree: etree._Element) -> None:
    try:
        request = parse_move_items_request(_wire(tree), "14.1")
    except EasStatusError as exc:
        assert exc.status == 103
    else:
        assert 1 <= len(request.moves) <= MAX_MOVES
