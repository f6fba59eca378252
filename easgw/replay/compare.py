"""Comparing an answer with a step's expectation: templates, trees, diffs."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from lxml import etree

from easgw.replay.scenario import ScenarioError, Step
from protocol import wbxml

__all__ = [
    "CLOCK_ELEMENTS",
    "StepFailure",
    "check_answer",
    "compare_trees",
    "match_text",
    "render_tree",
    "substitute",
    "substitute_tree",
]

WBXML_TYPE = "application/vnd.ms-sync.wbxml"
#: Elements whose date-time text the server takes from its clock.
CLOCK_ELEMENTS = frozenset({"DtStamp", "DateReceived", "LastModifiedDate", "LastVerbExecutionTime"})
_DATE_TIME = re.compile(r"\d{8}T\d{6}Z|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z")
_TEMPLATE = re.compile(r"\{\{(capture:)?([A-Za-z_][A-Za-z0-9_.-]*)\}\}")
XML_PARSER = etree.XMLParser(remove_comments=True, resolve_entities=False, no_network=True)


class StepFailure(Exception):
    """A step that cannot even be sent as written (an unbound capture)."""


def substitute(text: str, captures: Mapping[str, str]) -> str:
    """``{{NAME}}`` replaced by its captured value."""

    def value(match: re.Match[str]) -> str:
        if match[1]:
            raise StepFailure(f"{match[0]} belongs in an expected body, not in a request")
        if match[2] not in captures:
            raise StepFailure(f"{{{{{match[2]}}}}} was never captured")
        return captures[match[2]]

    return _TEMPLATE.sub(value, text)


def match_text(expected: str, actual: str, captures: dict[str, str]) -> bool:
    """Does ``actual`` fit ``expected`` (with templates)? Binds new captures on a match."""
    if "{{" not in expected:
        return expected == actual
    pattern: list[str] = []
    names: list[str] = []
    last = 0
    for match in _TEMPLATE.finditer(expected):
        pattern.append(re.escape(expected[last : match.start()]))
        if match[1]:
            pattern.append(f"(?P<c{len(names)}>.*?)")
            names.append(match[2])
        elif match[2] in captures:
            pattern.append(re.escape(captures[match[2]]))
        else:
            return False
        last = match.end()
    pattern.append(re.escape(expected[last:]))
    found = re.fullmatch("".join(pattern), actual, re.DOTALL)
    if found is None:
        return False
    for index, name in enumerate(names):
        captures[name] = found[f"c{index}"]
    return True


def substitute_tree(root: etree._Element, captures: Mapping[str, str]) -> bool:
    changed = False
    for element in root.iter(etree.Element):
        if element.text and "{{" in element.text:
            element.text = substitute(element.text, captures)
            changed = True
    return changed


# --------------------------------------------------------------------------
# Trees: canonical rendering, forgiving walk, diff


def _qname(tag: str) -> str:
    namespace, _, local = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
    if namespace == wbxml.MARKER_NS:
        return f"w:{local}"
    if namespace.endswith(":") and "/" not in namespace:
        return f"{namespace}{local}"
    return f"{{{namespace}}}{local}" if namespace else local


def render_tree(root: etree._Element | None) -> list[str]:
    """One line per element, indented, prefixes = page names: what the diff shows."""
    lines: list[str] = []
    if root is None:
        return lines
    stack: list[tuple[etree._Element, int, bool]] = [(root, 0, False)]
    while stack:
        element, depth, closing = stack.pop()
        indent, name = "  " * depth, _qname(element.tag)
        if closing:
            lines.append(f"{indent}</{name}>")
            continue
        attrs = "".join(
            f" {_qname(str(k))}={quoteattr(str(v))}" for k, v in sorted(element.attrib.items())
        )
        children = [child for child in element if isinstance(child.tag, str)]
        if children:
            lines.append(f"{indent}<{name}{attrs}>")
            stack.append((element, depth, True))
            stack.extend((child, depth + 1, False) for child in reversed(children))
        elif element.text is None:
            lines.append(f"{indent}<{name}{attrs}/>")
        else:
            lines.append(f"{indent}<{name}{attrs}>{escape(element.text)}</{name}>")
    return lines


def _path_matches(pattern: str, path: Sequence[str]) -> bool:
    """``ignore`` paths: names from the root split by ``/`` (``Page:Tag`` or a bare
    local name, ``*`` = any one element); a leading ``//`` = anywhere below."""
    anywhere = pattern.startswith("//")
    parts = [p for p in pattern.strip("/").split("/") if p]
    if len(parts) > len(path) or (not anywhere and len(parts) != len(path)):
        return False
    for part, qname in zip(parts, path[len(path) - len(parts) :], strict=True):
        local = qname.rsplit(":", 1)[-1]
        if part not in ("*", qname, local):
            return False
    return True


@dataclass
class _Walk:
    captures: dict[str, str]
    ignore: Sequence[str]

    def forgive(
        self, expected: etree._Element, actual: etree._Element, path: tuple[str, ...]
    ) -> None:
        """Give ``expected`` (a copy) the actual value wherever a difference is forgiven."""
        if expected.tag != actual.tag:
            return
        here = (*path, _qname(actual.tag))
        if any(_path_matches(pattern, here) for pattern in self.ignore):
            expected.text, expected[:] = actual.text, [_copy(child) for child in actual]
            expected.attrib.clear()
            expected.attrib.update(actual.attrib)
            return
        children = [c for c in expected if isinstance(c.tag, str)]
        if not children and self._text_fits(expected, actual):
            expected.text = actual.text
        for mine, theirs in zip(
            children, [c for c in actual if isinstance(c.tag, str)], strict=False
        ):
            self.forgive(mine, theirs, here)

    def _text_fits(self, expected: etree._Element, actual: etree._Element) -> bool:
        want, got = expected.text or "", actual.text or ""
        local = etree.QName(actual).localname
        if local in CLOCK_ELEMENTS and _DATE_TIME.fullmatch(want) and _DATE_TIME.fullmatch(got):
            return True
        return "{{" in want and match_text(want, got, self.captures)


def _copy(element: etree._Element) -> etree._Element:
    return etree.fromstring(etree.tostring(element))


def compare_trees(
    expected: etree._Element | None,
    actual: etree._Element | None,
    captures: dict[str, str],
    ignore: Sequence[str],
) -> list[str]:
    """The unified diff between expected and actual (empty when they agree)."""
    if expected is not None and actual is not None:
        expected = _copy(expected)
        _Walk(captures, ignore).forgive(expected, actual, ())
    want, got = render_tree(expected), render_tree(actual)
    if want == got:
        return []
    return list(difflib.unified_diff(want, got, "expected", "actual", lineterm=""))


def _expected_body(step: Step) -> etree._Element | bytes | None:
    name = step.expect.get("body")
    if name is None:
        return None
    data = (step.folder / str(name)).read_bytes()
    try:
        if name.endswith(".wbxml"):
            return wbxml.decode(data)
        if name.endswith(".xml"):
            tree: etree._Element = etree.fromstring(data, XML_PARSER)
            return tree
    except (wbxml.WbxmlError, etree.XMLSyntaxError) as exc:
        raise ScenarioError(f"{step.folder / name}: {exc}") from None
    return data


def _actual_tree(data: bytes, content_type: str, xml_too: bool) -> etree._Element | str | None:
    """The answer's body as a tree, None when it carries none, or why it cannot be read."""
    if content_type == WBXML_TYPE or data.startswith(wbxml.HEADER[:2]):
        try:
            return wbxml.decode(data)
        except wbxml.WbxmlError as exc:
            return f"the body is not valid WBXML: {exc}"
    if xml_too and data.strip():
        try:
            return etree.fromstring(data, XML_PARSER)
        except etree.XMLSyntaxError as exc:
            return f"the body is not XML: {exc}"
    return None


def check_answer(
    step: Step,
    *,
    status: int,
    headers: Mapping[str, str],
    data: bytes,
    content_type: str,
    captures: dict[str, str],
) -> list[str]:
    """Every way the answer misses the expectation (empty when it passes)."""
    expect, problems = step.expect, []
    if status != expect["status"]:
        problems.append(f"status: expected {expect['status']}, got {status}")
    for name, want in (expect.get("headers") or {}).items():
        got = headers.get(name)
        if got is None:
            problems.append(f"header {name}: missing")
        elif want is not None and not match_text(str(want), got, captures):
            problems.append(f"header {name}: expected {want!r}, got {got!r}")
    expected = _expected_body(step)
    if isinstance(expected, bytes):
        if expected != data:
            problems.append(
                f"body: expected {len(expected)} bytes, got {len(data)} different bytes"
            )
        return problems
    actual = _actual_tree(data, content_type, xml_too=expected is not None)
    if isinstance(actual, str):
        return [*problems, f"body: {actual}"]
    diff = compare_trees(expected, actual, captures, list(expect.get("ignore") or []))
    if diff:
        problems.append("body differs:")
        problems.extend(diff)
    return problems
