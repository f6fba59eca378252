"""Helpers for codec tests: tree comparison and Hypothesis strategies over real tags."""

from __future__ import annotations

import base64

from hypothesis import strategies as st
from lxml import etree

from protocol.codepages import PAGES
from protocol.wbxml import MARKER_NS

W = f"{{{MARKER_NS}}}"
ALL_TAGS = [f"{{{page.namespace}}}{name}" for page in PAGES for name in page.tags.values()]


def describe(element: etree._Element) -> tuple[object, ...]:
    """A comparable value of a tree: tag, text, attributes and children, recursively."""
    children = tuple(describe(child) for child in element if isinstance(child.tag, str))
    text = element.text
    if children and text is not None and text.isspace():
        text = None  # indentation between children
    return (element.tag, text, tuple(sorted(element.attrib.items())), children)


# Text a WBXML string can carry and XML can hold: no NUL, no C0 controls but tab,
# newline and carriage return, no surrogates or non-characters.
xml_text = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs",),
        blacklist_characters="\x00\ufffe\uffff",
        min_codepoint=0x09,
    ).filter(lambda c: c in "\t\n\r" or ord(c) >= 0x20),
    min_size=1,
    max_size=40,
)

_leaf_kinds = st.sampled_from(["none", "content", "empty", "text", "opaque"])


@st.composite
def leaves(draw: st.DrawFn) -> etree._Element:
    element = etree.Element(draw(st.sampled_from(ALL_TAGS)))
    kind = draw(_leaf_kinds)
    if kind == "content":
        element.set(W + "content", "1")
    elif kind == "empty":
        element.set(W + "empty", "1")
        element.text = ""
    elif kind == "text":
        element.text = draw(xml_text)
    elif kind == "opaque":
        element.set(W + "opaque", "1")
        raw = draw(st.binary(min_size=1, max_size=300))
        element.text = base64.b64encode(raw).decode("ascii")
    return element


def _parent(children: list[etree._Element]) -> st.SearchStrategy[etree._Element]:
    @st.composite
    def build(draw: st.DrawFn) -> etree._Element:
        element = etree.Element(draw(st.sampled_from(ALL_TAGS)))
        for child in children:
            element.append(child)
        return element

    return build()


trees: st.SearchStrategy[etree._Element] = st.recursive(
    leaves(),
    lambda inner: st.lists(inner, min_size=1, max_size=6).flatmap(_parent),
    max_leaves=40,
)
