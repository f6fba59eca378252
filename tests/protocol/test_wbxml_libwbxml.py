"""libwbxml 0.11.8 (Debian's libwbxml2-utils) as an independent oracle for codec and code pages.

What is compared, always by (code page, token), never by tag name:

a) libwbxml's own table, read once per module from ``wbxml2xml`` itself: for each page 0..24 a
   document holding every token 0x05..0x3F as an empty tag (libwbxml prints a token it does not
   know as ``<unknown/>``), and one holding every token with OPAQUE content (libwbxml prints the
   bytes as base64 only for the tags it treats as binary, and raw otherwise). Page 25 (Find,
   16.1) is missing from libwbxml 0.11.8. Our code pages must agree with that table except for
   the spellings listed in ``LIBWBXML_SPELLINGS`` (libwbxml predates MS-ASWBXML's names) and the
   tokens listed in ``ONLY_IN_MS_ASWBXML``.
b) every corpus document (tests/protocol/corpus) encoded by ``wbxml.encode`` and read back by
   ``wbxml2xml`` must give the same tree;
c) the same document rewritten in libwbxml's XML form and encoded by ``xml2wbxml`` must decode to
   the same tree with ``wbxml.decode``, and, where nothing below applies, to the same bytes;
d) libwbxml's own ActiveSync test documents (../shared/vectors/libwbxml) encoded by ``xml2wbxml``
   must decode to their source tree.

This module checks (a); (b), (c) and (d) are in test_wbxml_libwbxml_corpus.py, which imports
the oracle, the tree normalisers and the skip marker from here.

Known, legitimate differences between the two encoders (why (c) compares trees, and bytes only
where none of them applies):

* libwbxml's XML form cannot tell a tag with the content bit and nothing inside (``w:content``)
  or an empty inline string (``w:empty``) from a tag without content: both become ``<X/>`` and
  ``xml2wbxml`` writes the bare tag. The trees agree once "no text" and "empty text" are one.
* libwbxml treats eight tags as binary (``Oracle.binary``, found by probing: ComposeMail Mime,
  AirSyncBase Content, GAL and ResolveRecipients Data, the Search, ItemOperations and Email2
  ConversationId, Email2 ConversationIndex): wbxml2xml shows their content, OPAQUE or inline
  string, as base64, and xml2wbxml base64-decodes their text and always writes OPAQUE. Where
  the corpus carries such a value as an inline string (MS-ASCMD types the GAL photo as a string;
  some clients send Mime as one), the bytes differ (``03 ... 00`` against ``C3 len ...``) and
  the content does not; the trees therefore hold the base64 of the bytes carried for these tags.
* Any other OPAQUE content is written raw by wbxml2xml (not XML); documents with such content
  are left out, as are those using tags libwbxml 0.11.8 lacks (Find, the 16.1 additions).
* Without ``-k`` xml2wbxml strips leading and trailing blanks of every text (so MIME and body
  data would lose their final CRLF); (c) therefore runs it with ``-k`` on compact XML, and (d),
  whose sources are indented, without it, comparing stripped texts.
* Texts are read from ``wbxml2xml -m 2`` (canonical mode, which escapes CR, LF and tab): the
  compact and indented modes strip blanks from texts (compact keeps them with ``-k``) and write
  CR raw, which an XML parser turns into LF.
"""

from __future__ import annotations

import base64
import binascii
import shlex
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import pytest
from lxml import etree

from protocol import wbxml
from protocol.codepages import PAGES, page_by_namespace

WBXML2XML: Final = shutil.which("wbxml2xml")
XML2WBXML: Final = shutil.which("xml2wbxml")

pytestmark = pytest.mark.skipif(
    WBXML2XML is None or XML2WBXML is None,
    reason="libwbxml's wbxml2xml/xml2wbxml are not installed (Debian: libwbxml2-utils)",
)

CORPUS: Final = Path(__file__).resolve().parent / "corpus"
SHARED: Final = Path(__file__).resolve().parents[2].parent / "shared"
VECTORS: Final = SHARED / "vectors" / "libwbxml"
PROVENANCE: Final = SHARED / "vectors" / "PROVENANCE.md"

W: Final = f"{{{wbxml.MARKER_NS}}}"
HEADER: Final = wbxml.HEADER
DOCTYPE: Final = (
    '<!DOCTYPE ActiveSync PUBLIC "-//MICROSOFT//DTD ActiveSync//EN" "http://www.microsoft.com/">'
)
#: Pages libwbxml 0.11.8 knows; 25 (Find) came with EAS 16.1, after its last release.
LIBWBXML_PAGES: Final = range(25)
#: wbxml2xml options: ActiveSync tables whatever the public id, canonical output (exact texts).
WBXML2XML_ARGS: Final = ("-l", "ACTIVESYNC", "-m", "2")
#: xml2wbxml options: keep blanks, anonymous (public id 1), no string table, WBXML 1.3.
XML2WBXML_ARGS: Final = ("-k", "-a", "-n", "-v", "1.3")
#: As the brief for the vectors says: indented sources, so blanks are dropped.
XML2WBXML_VECTOR_ARGS: Final = ("-a", "-n", "-v", "1.3")

_PARSER: Final = etree.XMLParser(
    resolve_entities=False, load_dtd=False, no_network=True, remove_comments=True
)

#: (page, token) -> libwbxml 0.11.8's name, where it differs from MS-ASWBXML's (our pages').
LIBWBXML_SPELLINGS: Final[dict[tuple[int, int], str]] = {
    (1, 0x07): "AssistantTelephoneNumber",  # AssistantPhoneNumber
    (1, 0x0D): "BusinessCity",  # BusinessAddressCity
    (1, 0x0E): "BusinessCountry",  # BusinessAddressCountry
    (1, 0x0F): "BusinessPostalCode",  # BusinessAddressPostalCode
    (1, 0x10): "BusinessState",  # BusinessAddressState
    (1, 0x11): "BusinessStreet",  # BusinessAddressStreet
    (1, 0x21): "HomeCity",  # HomeAddressCity
    (1, 0x22): "HomeCountry",  # HomeAddressCountry
    (1, 0x23): "HomePostalCode",  # HomeAddressPostalCode
    (1, 0x24): "HomeState",  # HomeAddressState
    (1, 0x25): "HomeStreet",  # HomeAddressStreet
    (1, 0x2D): "OtherCity",  # OtherAddressCity
    (1, 0x2E): "OtherCountry",  # OtherAddressCountry
    (1, 0x2F): "OtherPostalCode",  # OtherAddressPostalCode
    (1, 0x30): "OtherState",  # OtherAddressState
    (1, 0x31): "OtherStreet",  # OtherAddressStreet
    (2, 0x09): "AttOId",  # Att0Id (MS-ASWBXML writes a zero)
    (2, 0x19): "Reply-To",  # ReplyTo
    (2, 0x1D): "DTStamp",  # DtStamp
    (2, 0x29): "Recurrence_Type",  # Type
    (2, 0x2A): "Recurrence_Until",  # Until
    (2, 0x2B): "Recurrence_Occurrences",  # Occurrences
    (2, 0x2C): "Recurrence_Interval",  # Interval
    (2, 0x2D): "Recurrence_DayOfWeek",  # DayOfWeek
    (2, 0x2E): "Recurrence_DayOfMonth",  # DayOfMonth
    (2, 0x2F): "Recurrence_WeekOfMonth",  # WeekOfMonth
    (2, 0x30): "Recurrence_MonthOfYear",  # MonthOfYear
    (2, 0x3B): "FlagStatus",  # Status
    (4, 0x05): "TimeZone",  # Timezone
    (4, 0x09): "Attendee_Email",  # Email
    (4, 0x0A): "Attendee_Name",  # Name
    (4, 0x11): "DTStamp",  # DtStamp
    (4, 0x15): "Exception_Deleted",  # Deleted
    (4, 0x16): "Exception_StartTime",  # ExceptionStartTime
    (4, 0x19): "Organizer_Email",  # OrganizerEmail
    (4, 0x1A): "Organizer_Name",  # OrganizerName
    (4, 0x1C): "Recurrence_Type",  # Type
    (4, 0x1D): "Recurrence_Until",  # Until
    (4, 0x1E): "Recurrence_Occurrences",  # Occurrences
    (4, 0x1F): "Recurrence_Interval",  # Interval
    (4, 0x20): "Recurrence_DayOfWeek",  # DayOfWeek
    (4, 0x21): "Recurrence_DayOfMonth",  # DayOfMonth
    (4, 0x22): "Recurrence_WeekOfMonth",  # WeekOfMonth
    (4, 0x23): "Recurrence_MonthOfYear",  # MonthOfYear
    (4, 0x29): "Attendee_Status",  # AttendeeStatus
    (4, 0x2A): "Attendee_Type",  # AttendeeType
    (9, 0x0D): "UTCDueDate",  # UtcDueDate
    (9, 0x10): "Recurrence_Type",  # Type
    (9, 0x11): "Recurrence_Start",  # Start
    (9, 0x12): "Recurrence_Until",  # Until
    (9, 0x13): "Recurrence_Occurrences",  # Occurrences
    (9, 0x14): "Recurrence_Interval",  # Interval
    (9, 0x15): "Recurrence_DayOfMonth",  # DayOfMonth
    (9, 0x16): "Recurrence_DayOfWeek",  # DayOfWeek
    (9, 0x17): "Recurrence_WeekOfMonth",  # WeekOfMonth
    (9, 0x18): "Recurrence_MonthOfYear",  # MonthOfYear
    (9, 0x19): "Recurrence_Regenerate",  # Regenerate
    (9, 0x1A): "Recurrence_DeadOccur",  # DeadOccur
    (9, 0x1F): "UTCStartDate",  # UtcStartDate
    (14, 0x10): "DeviceEncryptionEnabled",  # RequireStorageCardEncryption
    (18, 0x1F): "SmtpAddress",  # SMTPAddress
    (18, 0x2B): "ihsManagementInformation",  # RightsManagementInformation (libwbxml typo)
    (21, 0x10): "MIME",  # Mime
    (24, 0x12): "RMOwner",  # Owner
    (24, 0x18): "RemoveRightsManagementDistribution",  # RemoveRightsManagementProtection
}

#: Tags of pages 0..24 that MS-ASWBXML has and libwbxml 0.11.8 lacks (16.x additions).
ONLY_IN_MS_ASWBXML: Final = frozenset(
    {
        (8, 0x10),  # MeetingResponse ProposedStartTime (16.1)
        (8, 0x11),  # MeetingResponse ProposedEndTime (16.1)
        (14, 0x3B),  # Provision AccountOnlyRemoteWipe (16.1)
    }
)

#: libwbxml spells the GAL page's namespace "Gal:".
LIBWBXML_NAMESPACES: Final = {16: "Gal:"}

Key = tuple[int, int]


@dataclass(frozen=True, slots=True)
class Node:
    """One element as both sides must agree on it: page, token, text, children."""

    page: int
    token: int
    text: str | None
    children: tuple[Node, ...] = ()

    def lines(self, depth: int = 0) -> Iterator[str]:
        """A readable outline, one element a line, for assertion messages."""
        name = PAGES[self.page].tags.get(self.token, "?")
        text = "" if self.text is None else f" {self.text[:60]!r}"
        yield f"{'  ' * depth}{self.page}:{self.token:#04x} {name}{text}"
        for child in self.children:
            yield from child.lines(depth + 1)


@dataclass(frozen=True, slots=True)
class Oracle:
    """libwbxml's view of the ActiveSync code pages, read from wbxml2xml."""

    names: dict[Key, str]
    namespaces: dict[int, str]
    binary: frozenset[Key]
    keys: dict[tuple[str, str], Key] = field(init=False)

    def __post_init__(self) -> None:
        keys = {
            (self.namespaces[page], name): (page, token)
            for (page, token), name in self.names.items()
        }
        object.__setattr__(self, "keys", keys)

    def qname(self, key: Key) -> str:
        return f"{{{self.namespaces[key[0]]}}}{self.names[key]}"


# --------------------------------------------------------------------------- helpers


def _run_batch(
    tool: str | None, options: Sequence[str], jobs: Sequence[tuple[Path, Path]]
) -> set[str]:
    """Run ``tool OPTIONS -o OUT IN`` for every (IN, OUT) in one shell; the inputs it rejected."""
    assert tool is not None
    if not jobs:
        return set()
    command = shlex.join([tool, *options])
    script = (
        'while [ "$#" -gt 0 ]; do '
        f'{command} -o "$2" "$1" >/dev/null 2>&1 || printf "%s\\n" "$1"; '
        "shift 2; done"
    )
    arguments = [str(path) for job in jobs for path in job]
    done = subprocess.run(
        ["sh", "-c", script, "sh", *arguments],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return set(done.stdout.splitlines())


def _canonical_base64(text: str) -> str:
    """Base64 text re-encoded canonically (whitespace dropped); the text itself if not base64."""
    try:
        raw = base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        return text
    return base64.b64encode(raw).decode("ascii")


def _elements(element: etree._Element) -> list[etree._Element]:
    return [child for child in element if isinstance(child.tag, str)]


def _our_key(element: etree._Element) -> Key:
    qname = etree.QName(element)
    page = page_by_namespace(qname.namespace or "")
    assert page is not None, f"no code page for namespace {qname.namespace!r}"
    assert qname.localname in page.tokens, f"{qname.localname} is not on page {page.name}"
    return page.number, page.tokens[qname.localname]


def _content_bytes(element: etree._Element) -> bytes:
    """What a leaf carries on the wire: the OPAQUE bytes, or the inline string's UTF-8."""
    text = element.text or ""
    if element.get(W + "opaque") == "1":
        return base64.b64decode(text, validate=True)
    return text.encode("utf-8")


def our_tree(element: etree._Element, binary: frozenset[Key] = frozenset()) -> Node:
    """A tree in the contract's form (markers included) as (page, token, text) nodes.

    ``w:content`` and ``w:empty`` both read as "no text", as libwbxml's XML cannot tell them
    from a tag without content. In libwbxml's ``binary`` tags the text is the base64 of the
    bytes carried, OPAQUE or inline string alike (that is how libwbxml shows them); elsewhere
    opaque content is its base64 text and an inline string its text.
    """
    key = _our_key(element)
    children = _elements(element)
    if children:
        return Node(*key, None, tuple(our_tree(child, binary) for child in children))
    if key in binary and element.text:
        return Node(*key, base64.b64encode(_content_bytes(element)).decode("ascii"))
    return Node(*key, element.text or None)


def libwbxml_tree(element: etree._Element, oracle: Oracle, *, strip: bool = False) -> Node:
    """A tree in libwbxml's XML form as (page, token, text) nodes, through the oracle's table."""
    qname = etree.QName(element)
    key = oracle.keys.get((qname.namespace or "", qname.localname))
    assert key is not None, f"libwbxml element {qname} is not in libwbxml's own table"
    children = _elements(element)
    if children:
        return Node(
            *key, None, tuple(libwbxml_tree(child, oracle, strip=strip) for child in children)
        )
    text = element.text
    if text is not None and strip:
        text = text.strip()
    if text and key in oracle.binary:
        text = _canonical_base64(text)
    return Node(*key, text or None)


def to_libwbxml(element: etree._Element, oracle: Oracle) -> etree._Element:
    """Rewrite a contract-form tree in libwbxml's XML form (its names and namespaces)."""
    key = _our_key(element)
    # The page's namespace as the default one, as libwbxml writes it (lxml-stubs types nsmap
    # keys as str, but None is lxml's key for the default namespace).
    nsmap: dict[Any, str] = {None: oracle.namespaces[key[0]]}
    out = etree.Element(oracle.qname(key), nsmap=nsmap)
    children = _elements(element)
    if children:
        out.extend(to_libwbxml(child, oracle) for child in children)
    elif element.text and key in oracle.binary:  # libwbxml base64-decodes these
        out.text = base64.b64encode(_content_bytes(element)).decode("ascii")
    elif element.text:
        out.text = element.text
    return out


def _diff(expected: Node, actual: Node) -> str:
    return "\n".join(["expected:", *expected.lines(1), "actual:", *actual.lines(1)])


def _keys(element: etree._Element) -> set[Key]:
    return {_our_key(e) for e in element.iter() if isinstance(e.tag, str)}


def _parse(path: Path) -> etree._Element:
    return etree.parse(str(path), _PARSER).getroot()


# --------------------------------------------------------------------------- the oracle's table


def _probe_documents(page: int) -> tuple[bytes, bytes]:
    """Two documents for one page: every token bare, and every token holding OPAQUE b"ABC"."""
    tokens = range(0x05, 0x40)
    bare = HEADER + bytes((0x00, page, 0x45, *tokens, 0x01))
    opaque = HEADER + bytes((0x00, page, 0x45))
    for token in tokens:
        opaque += bytes((token | 0x40, 0xC3, 0x03)) + b"ABC" + b"\x01"
    return bare, opaque + b"\x01"


@pytest.fixture(scope="module")
def oracle(tmp_path_factory: pytest.TempPathFactory) -> Oracle:
    folder = tmp_path_factory.mktemp("libwbxml-table")
    jobs: list[tuple[Path, Path]] = []
    for page in LIBWBXML_PAGES:
        for kind, document in zip(("bare", "opaque"), _probe_documents(page), strict=True):
            source = folder / f"{page}-{kind}.wbxml"
            source.write_bytes(document)
            jobs.append((source, source.with_suffix(".xml")))
    failed = _run_batch(WBXML2XML, WBXML2XML_ARGS, jobs)
    assert not failed, f"wbxml2xml rejected its own probe documents: {sorted(failed)}"
    names: dict[Key, str] = {}
    namespaces: dict[int, str] = {}
    binary: set[Key] = set()
    for page in LIBWBXML_PAGES:
        bare = _parse(folder / f"{page}-bare.xml")
        opaque = _parse(folder / f"{page}-opaque.xml")
        namespaces[page] = etree.QName(bare).namespace or ""
        for token, tag, holder in zip(range(0x05, 0x40), bare, opaque, strict=True):
            name = etree.QName(tag).localname
            if name == "unknown":  # how wbxml2xml prints a token missing from its table
                continue
            names[page, token] = name
            if holder.text == "QUJD":  # b"ABC" printed as base64: a binary tag
                binary.add((page, token))
        page_names = [name for (p, _), name in names.items() if p == page]
        assert len(set(page_names)) == len(page_names), f"libwbxml page {page} repeats a name"
    return Oracle(names, namespaces, frozenset(binary))


def test_oracle_table_is_complete(oracle: Oracle) -> None:
    assert set(oracle.namespaces) == set(LIBWBXML_PAGES)
    for page in LIBWBXML_PAGES:
        expected = LIBWBXML_NAMESPACES.get(page, PAGES[page].namespace)
        assert oracle.namespaces[page] == expected
    assert len(oracle.names) > 600
    assert (21, 0x10) in oracle.binary  # ComposeMail Mime


def test_code_pages_agree_with_libwbxml(oracle: Oracle) -> None:
    ours = {(page.number, token): name for page in PAGES for token, name in page.tags.items()}
    ours = {key: name for key, name in ours.items() if key[0] in LIBWBXML_PAGES}
    problems = []
    for key in sorted(set(ours) & set(oracle.names)):
        expected = LIBWBXML_SPELLINGS.get(key, ours[key])
        if oracle.names[key] != expected:
            problems.append(
                f"{key[0]}:{key[1]:#04x} ours {ours[key]!r}, libwbxml {oracle.names[key]!r}"
            )
    only_libwbxml = sorted(set(oracle.names) - set(ours))
    problems += [
        f"{p}:{t:#04x} {oracle.names[p, t]!r} missing from our pages" for p, t in only_libwbxml
    ]
    only_ours = set(ours) - set(oracle.names)
    problems += [
        f"{p}:{t:#04x} {ours[p, t]!r} unknown to libwbxml"
        for p, t in sorted(only_ours - ONLY_IN_MS_ASWBXML)
    ]
    stale = sorted(set(LIBWBXML_SPELLINGS) - (set(ours) & set(oracle.names)))
    stale += sorted(ONLY_IN_MS_ASWBXML - only_ours)
    problems += [f"{p}:{t:#04x} listed here but not a difference" for p, t in stale]
    assert not problems, "\n".join(problems)
