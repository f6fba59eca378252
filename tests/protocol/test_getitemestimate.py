"""GetItemEstimate models: the spec's examples in both version forms, bad input, rendering."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from protocol import wbxml
from protocol.getitemestimate import (
    CollectionEstimate,
    EstimateCollection,
    GetItemEstimateRequest,
    GetItemEstimateResponse,
    GetItemEstimateStatus,
    parse_get_item_estimate_request,
    render_get_item_estimate_response,
)
from protocol.status import CommonStatus, EasStatusError

CORPUS = Path(__file__).parent / "corpus"
HEAD = '<GetItemEstimate xmlns="GetItemEstimate:" xmlns:A="AirSync:"><Collections>'
TAIL = "</Collections></GetItemEstimate>"


def _wire(tree: etree._Element) -> etree._Element:
    return wbxml.decode(wbxml.encode(tree))


def _corpus(name: str) -> etree._Element:
    return _wire(etree.parse(str(CORPUS / name)).getroot())


def _parse(collections: str, version: str = "14.1") -> GetItemEstimateRequest:
    return parse_get_item_estimate_request(
        _wire(etree.fromstring(HEAD + collections + TAIL)), version
    )


def test_fourteen_form_from_the_corpus() -> None:
    request = parse_get_item_estimate_request(_corpus("getitemestimate-request.xml"), "14.1")
    assert request.collections == (
        EstimateCollection(collection_id="2", sync_key="1417342519", filter_type=4),
        EstimateCollection(
            collection_id="5",
            sync_key="857264138",
            filter_type=3,
            class_name="Email",
            conversation_mode=True,
        ),
    )


def test_twelve_form_from_the_corpus() -> None:
    request = parse_get_item_estimate_request(_corpus("getitemestimate-request-12.xml"), "12.0")
    assert request.collections == (
        EstimateCollection(collection_id="5", sync_key="1", filter_type=1, class_name="Email"),
    )


PARSED = [
    # 14.0+: Options; only the first Options block counts; MaxItems read.
    (
        (
            "<Collection><A:SyncKey>7</A:SyncKey><CollectionId>3</CollectionId>"
            "<A:Options><A:FilterType>0</A:FilterType><A:MaxItems>50</A:MaxItems></A:Options>"
            "<A:Options><A:Class>SMS</A:Class><A:FilterType>5</A:FilterType></A:Options>"
            "</Collection>"
        ),
        EstimateCollection(collection_id="3", sync_key="7", filter_type=0, max_items=50),
    ),
    # No SyncKey: the handler answers it (Status 4), the parse does not fail.
    (
        "<Collection><CollectionId>3</CollectionId></Collection>",
        EstimateCollection(collection_id="3"),
    ),
    # The 12.x elements in any order; legacy and unknown elements are ignored.
    (
        (
            "<Collection><A:SyncKey>2</A:SyncKey><A:FilterType>3</A:FilterType>"
            "<CollectionId>9</CollectionId><Class>Calendar</Class><DateTime>x</DateTime>"
            "</Collection>"
        ),
        EstimateCollection(collection_id="9", sync_key="2", filter_type=3, class_name="Calendar"),
    ),
    (
        (
            "<Collection><A:SyncKey>2</A:SyncKey><CollectionId>9</CollectionId>"
            "<A:ConversationMode>0</A:ConversationMode></Collection>"
        ),
        EstimateCollection(collection_id="9", sync_key="2", conversation_mode=False),
    ),
]


@pytest.mark.parametrize(("xml", "expected"), PARSED)
def test_parse_table(xml: str, expected: EstimateCollection) -> None:
    assert _parse(xml).collections == (expected,)


BAD = [
    ("", "no Collection"),
    ("<Collection><A:SyncKey>1</A:SyncKey></Collection>", "no CollectionId"),
    ("<Collection><CollectionId></CollectionId></Collection>", "empty CollectionId"),
    (f"<Collection><CollectionId>{'9' * 65}</CollectionId></Collection>", "too long"),
    (
        "<Collection><CollectionId>1</CollectionId><A:FilterType>9</A:FilterType></Collection>",
        "FilterType out of range",
    ),
    (
        (
            "<Collection><CollectionId>1</CollectionId><A:Options><A:FilterType>-1</A:FilterType>"
            "</A:Options></Collection>"
        ),
        "negative FilterType",
    ),
    (
        (
            "<Collection><CollectionId>1</CollectionId><A:ConversationMode>2</A:ConversationMode>"
            "</Collection>"
        ),
        "ConversationMode not a flag",
    ),
    ("<Collection><CollectionId>1</CollectionId></Collection>" * 301, "over 300 collections"),
]


@pytest.mark.parametrize(("xml", "why"), BAD)
def test_bad_input_is_status_103(xml: str, why: str) -> None:
    with pytest.raises(EasStatusError) as raised:
        _parse(xml)
    assert raised.value.status == CommonStatus.InvalidXML, why


@pytest.mark.parametrize(
    "xml",
    [
        None,
        '<Sync xmlns="AirSync:"/>',
        '<GetItemEstimate xmlns="GetItemEstimate:"/>',
        '<GetItemEstimate xmlns="GetItemEstimate:"><Collections/><Collections/></GetItemEstimate>',
    ],
)
def test_not_a_request_is_status_103(xml: str | None) -> None:
    tree = None if xml is None else etree.fromstring(xml)
    with pytest.raises(EasStatusError) as raised:
        parse_get_item_estimate_request(tree, "16.1")
    assert raised.value.status == CommonStatus.InvalidXML


def test_render_matches_the_corpus_response() -> None:
    response = GetItemEstimateResponse(
        responses=(
            CollectionEstimate(collection_id="2", status=GetItemEstimateStatus.Success, estimate=4),
            CollectionEstimate(collection_id="5", status=GetItemEstimateStatus.Success, estimate=0),
            CollectionEstimate(collection_id="99", status=GetItemEstimateStatus.InvalidCollection),
        )
    )
    rendered = wbxml.encode(render_get_item_estimate_response(response, "14.1"))
    assert rendered == wbxml.encode(_corpus("getitemestimate-response.xml"))


def test_render_top_level_status() -> None:
    response = GetItemEstimateResponse(status=GetItemEstimateStatus.InvalidCollection)
    root = render_get_item_estimate_response(response, "12.1")
    assert [(c.tag, c.text) for c in root] == [("{GetItemEstimate:}Status", "2")]


def test_estimate_is_never_negative() -> None:
    with pytest.raises(ValueError, match="negative"):
        CollectionEstimate(collection_id="1", status=GetItemEstimateStatus.Success, estimate=-1)


_NAMES = st.sampled_from(
    ["Collection", "CollectionId", "Class", "Options", "Collections", "Estimate", "Status"]
)
_TEXT = st.text(st.characters(exclude_categories=("Cs", "Cc", "Cn")), max_size=8) | st.sampled_from(
    ["0", "1", "4", "8", "9", "300"]
)
_AIRSYNC = st.sampled_from(["SyncKey", "FilterType", "Options", "Class", "MaxItems"])


@st.composite
def _documents(draw: st.DrawFn) -> etree._Element:
    root = etree.Element("{GetItemEstimate:}GetItemEstimate")
    if draw(st.booleans()):
        collections = etree.SubElement(root, "{GetItemEstimate:}Collections")
        etree.SubElement(collections, "{GetItemEstimate:}Collection")
    for _ in range(draw(st.integers(0, 8))):
        parent = draw(st.sampled_from(list(root.iter())))
        if draw(st.booleans()):
            child = etree.SubElement(parent, f"{{GetItemEstimate:}}{draw(_NAMES)}")
        else:
            child = etree.SubElement(parent, f"{{AirSync:}}{draw(_AIRSYNC)}")
        child.text = draw(st.one_of(st.none(), _TEXT))
    return root


@given(_documents(), st.sampled_from(["12.1", "14.1", "16.1"]))
def test_any_tree_parses_or_is_status_103(tree: etree._Element, version: str) -> None:
    try:
        request = parse_get_item_estimate_request(tree, version)
    except EasStatusError as exc:
        assert exc.status == CommonStatus.InvalidXML
    else:
        assert 1 <= len(request.collections) <= 300
