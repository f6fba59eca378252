"""Property and fuzz tests of the codec (Hypothesis)."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from lxml import etree

from protocol.wbxml import HEADER, WbxmlError, decode, decode_fragment, encode
from tests.conftest import VECTORS
from tests.protocol.wbxml_trees import describe, trees


@given(trees)
def test_decode_of_encode_is_the_tree(tree: etree._Element) -> None:
    data = encode(tree)
    again = decode(data)
    assert describe(again) == describe(tree)
    # and the bytes of any document made of the contract's tokens come back exactly
    assert encode(again) == data


@given(trees)
def test_pretty_printed_xml_encodes_to_the_same_bytes(tree: etree._Element) -> None:
    data = encode(tree)
    text = etree.tostring(decode(data), pretty_print=True)
    assert encode(etree.fromstring(text)) == data


def _accepts_only_tree_or_error(data: bytes) -> None:
    try:
        root = decode(data)
    except WbxmlError as exc:
        assert 0 <= exc.offset <= max(len(data), 16 * 1024 * 1024)
        return
    assert isinstance(root, etree._Element)
    # whatever decodes must encode again
    encode(root)


@given(st.binary(max_size=400))
@example(b"")
def test_random_bytes_give_a_tree_or_wbxml_error(data: bytes) -> None:
    _accepts_only_tree_or_error(data)


@given(st.binary(max_size=300))
def test_random_bodies_behind_a_valid_header(body: bytes) -> None:
    _accepts_only_tree_or_error(HEADER + body)


def _corpus() -> list[bytes]:
    documents = []
    folder = VECTORS / "bluemind"
    if folder.is_dir():
        documents = [path.read_bytes() for path in sorted(folder.glob("*.wbxml"))]
    corpus = Path(__file__).parent / "corpus"
    for path in sorted(corpus.glob("*.xml")):
        try:
            documents.append(encode(etree.parse(str(path)).getroot()))
        except WbxmlError:
            continue
    return documents or [HEADER + b"\x45\x4b\x03\x31\x00\x01\x01"]


CORPUS = _corpus()


@given(
    st.sampled_from(CORPUS),
    st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), min_size=1, max_size=8),
)
def test_mutated_documents_give_a_tree_or_wbxml_error(
    data: bytes, mutations: list[tuple[int, int]]
) -> None:
    mutated = bytearray(data)
    for position, value in mutations:
        mutated[position % len(mutated)] = value
    _accepts_only_tree_or_error(bytes(mutated))


@given(st.sampled_from(CORPUS), st.integers(min_value=0))
def test_truncated_documents_raise(data: bytes, cut: int) -> None:
    cut = cut % len(data)
    with pytest.raises(WbxmlError):
        decode(data[:cut])


@given(st.binary(max_size=200))
def test_random_fragments_give_a_tree_or_wbxml_error(data: bytes) -> None:
    with contextlib.suppress(WbxmlError):
        decode_fragment(data)
