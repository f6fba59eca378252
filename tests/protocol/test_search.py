"""Search (GAL store) and ResolveRecipients models: tables, rendering, and any tree a
phone might send (Hypothesis) either parsing or ending in the documented status."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from protocol import wbxml
from protocol.resolverecipients import (
    AvailabilityStatus,
    CertificateStatus,
    Recipient,
    RecipientResult,
    ResolveRecipientsRequest,
    ResolveRecipientsResponse,
    ResolveRecipientsStatus,
    ResponseStatus,
    parse_resolve_recipients_request,
    render_resolve_recipients_response,
)
from protocol.search import (
    GalEntry,
    InvalidSearch,
    SearchRequest,
    SearchResponse,
    StoreStatus,
    parse_search_request,
    render_search_response,
)
from protocol.status import CommonStatus, EasStatusError

S = 'xmlns="Search:"'
CORPUS = Path(__file__).parent / "corpus"


def _corpus(name: str) -> etree._Element:
    """A corpus document as the wire delivers it (through WBXML, comments gone)."""
    return wbxml.decode(wbxml.encode(etree.parse(str(CORPUS / name)).getroot()))


def test_search_requests_from_the_corpus() -> None:
    gal = parse_search_request(_corpus("search-request-gal.xml"), "14.1")
    assert gal == SearchRequest(store_name="GAL", query="Mart", range=(0, 9), picture=True)
    mailbox = parse_search_request(_corpus("search-request-mailbox.xml"), "14.1")
    assert isinstance(mailbox, SearchRequest)
    assert (mailbox.store_name, mailbox.range) == ("Mailbox", (0, 4))
    library = parse_search_request(_corpus("search-request-documentlibrary.xml"), "14.1")
    assert isinstance(library, SearchRequest)
    assert library.store_name == "DocumentLibrary"


def test_resolve_request_from_the_corpus() -> None:
    request = parse_resolve_recipients_request(_corpus("resolverecipients-request.xml"), "14.1")
    assert request == ResolveRecipientsRequest(
        to=("bob.martin@example.com", "Martin"),
        certificate_retrieval=2,
        max_ambiguous_recipients=10,
        availability=True,
        picture=True,
    )


R = 'xmlns="ResolveRecipients:"'

SEARCHES = [
    (
        (
            f"<Search {S}><Store><Name>GAL</Name><Query>jit</Query>"
            "<Options><Range>0-9</Range></Options></Store></Search>"
        ),
        SearchRequest(store_name="GAL", query="jit", range=(0, 9)),
    ),
    (
        f"<Search {S}><Store><Name>GAL</Name><Query>a</Query></Store></Search>",
        SearchRequest(store_name="GAL", query="a", range=(0, 99)),
    ),
    (  # a Range wider than 100 results is clipped; Picture noted (14.1+)
        (
            f"<Search {S}><Store><Name>GAL</Name><Query>a</Query><Options><Range>5-500</Range>"
            "<Picture><MaxSize>100</MaxSize></Picture><DeepTraversal/></Options></Store></Search>"
        ),
        SearchRequest(store_name="GAL", query="a", range=(5, 104), picture=True),
    ),
    (
        (
            f"<Search {S}><Store><Name>Mailbox</Name><Query><And><FreeText>x</FreeText></And>"
            "</Query></Store></Search>"
        ),
        SearchRequest(store_name="Mailbox", query="", range=(0, 99)),
    ),
]


@pytest.mark.parametrize(("xml", "expected"), SEARCHES)
def test_search_parse_table(xml: str, expected: SearchRequest) -> None:
    assert parse_search_request(etree.fromstring(xml), "14.1") == expected


@pytest.mark.parametrize(
    "store",
    [
        "<Store><Query>x</Query></Store>",
        "<Store><Name>GAL</Name><Options><Range>9-1</Range></Options></Store>",
        "<Store><Name>GAL</Name><Options><Range>a-b</Range></Options></Store>",
        f"<Store><Name>GAL</Name><Query>{'x' * 257}</Query></Store>",
    ],
)
def test_unreadable_store_is_invalid_search(store: str) -> None:
    parsed = parse_search_request(etree.fromstring(f"<Search {S}>{store}</Search>"), "16.1")
    assert isinstance(parsed, InvalidSearch)


@pytest.mark.parametrize("xml", [None, f"<Search {S}/>", f"<Other {S}/>"])
def test_not_a_search_is_status_103(xml: str | None) -> None:
    with pytest.raises(EasStatusError) as raised:
        parse_search_request(etree.fromstring(xml) if xml else None, "16.1")
    assert raised.value.status == CommonStatus.InvalidXML


def test_search_render_results_range_total_and_wbxml() -> None:
    entry = GalEntry(display_name="Jitsi video conference", email_address="jitsi@conf.example.com")
    response = SearchResponse(results=(entry,), first=3, total=7, picture=True)
    root = render_search_response(response, "14.1")
    ns = {"s": "Search:", "g": "GAL:"}
    assert root.xpath("/s:Search/s:Status/text()", namespaces=ns) == ["1"]
    store = root.xpath("//s:Response/s:Store", namespaces=ns)[0]
    assert [str(c.tag) for c in store] == [
        "{Search:}Status", "{Search:}Result", "{Search:}Range", "{Search:}Total"
    ]  # fmt: skip
    assert store.findtext("{Search:}Range") == "3-3"
    props = store.find("{Search:}Result/{Search:}Properties")
    assert [str(c.tag) for c in props] == [
        "{GAL:}DisplayName",
        "{GAL:}EmailAddress",
        "{GAL:}Picture",
    ]
    assert props.findtext("{GAL:}Picture/{GAL:}Status") == "173"
    assert wbxml.decode(wbxml.encode(root)) is not None  # code pages 15 and 16 encode it
    # 14.0 has no GAL:Picture.
    older = render_search_response(response, "14.0")
    assert not older.xpath("//g:Picture", namespaces=ns)


def test_search_render_failed_store_has_no_results() -> None:
    root = render_search_response(SearchResponse(store_status=StoreStatus.ServerError), "16.1")
    assert root.findtext("{Search:}Response/{Search:}Store/{Search:}Status") == "3"
    assert root.find(".//{Search:}Result") is None
    assert root.find(".//{Search:}Total") is None


_SEARCH_NAMES = st.sampled_from(["Store", "Name", "Query", "Options", "Range", "Picture", "And"])
_TEXT = st.text(
    st.characters(exclude_categories=("Cs", "Cc", "Cn")), max_size=12
) | st.sampled_from(["GAL", "Mailbox", "0-9", "9-0", "0-99999", "x" * 300])


@st.composite
def _trees(
    draw: st.DrawFn, root_tag: str, ns: str, names: st.SearchStrategy[str]
) -> etree._Element:
    root = etree.Element(f"{{{ns}}}{root_tag}")
    for _ in range(draw(st.integers(0, 10))):
        parent = draw(st.sampled_from(list(root.iter())))
        child = etree.SubElement(parent, f"{{{ns}}}{draw(names)}")
        child.text = draw(st.one_of(st.none(), _TEXT))
    return root


@given(_trees("Search", "Search:", _SEARCH_NAMES), st.sampled_from(["12.1", "14.1", "16.1"]))
def test_any_search_tree_parses_or_is_status_103(tree: etree._Element, version: str) -> None:
    try:
        parsed = parse_search_request(tree, version)
    except EasStatusError as exc:
        assert exc.status == CommonStatus.InvalidXML
    else:
        if isinstance(parsed, SearchRequest):
            first, last = parsed.range
            assert parsed.store_name
            assert 0 <= first <= last < first + 100
            assert len(parsed.query) <= 256
        else:
            assert isinstance(parsed, InvalidSearch)


# --- ResolveRecipients -------------------------------------------------------------


def test_resolve_parse_options() -> None:
    xml = (
        f"<ResolveRecipients {R}><To>jitsi</To><To>bob@example.com</To><Options>"
        "<CertificateRetrieval>3</CertificateRetrieval><MaxCertificates>4</MaxCertificates>"
        "<MaxAmbiguousRecipients>2</MaxAmbiguousRecipients><Availability><StartTime>"
        "2026-12-01T10:00:00.000Z</StartTime></Availability></Options></ResolveRecipients>"
    )
    assert parse_resolve_recipients_request(etree.fromstring(xml), "14.1") == (
        ResolveRecipientsRequest(
            to=("jitsi", "bob@example.com"),
            certificate_retrieval=3,
            max_ambiguous_recipients=2,
            availability=True,
        )
    )


@pytest.mark.parametrize(
    "body",
    [
        "",
        "<To></To>",
        f"<To>{'x' * 257}</To>",
        "<To>a</To><Options><CertificateRetrieval>4</CertificateRetrieval></Options>",
        "<To>a</To><Options><MaxAmbiguousRecipients>-1</MaxAmbiguousRecipients></Options>",
        "<To>a</To>" * 101,
    ],
)
def test_bad_resolve_is_status_5(body: str) -> None:
    with pytest.raises(EasStatusError) as raised:
        parse_resolve_recipients_request(
            etree.fromstring(f"<ResolveRecipients {R}>{body}</ResolveRecipients>"), "16.1"
        )
    assert raised.value.status == ResolveRecipientsStatus.ProtocolError


def test_resolve_render_schema_order_and_wbxml() -> None:
    found = Recipient(display_name="Jitsi video conference", email_address="jitsi@conf.example.com")
    result = RecipientResult(
        to="jitsi",
        status=ResponseStatus.Success,
        recipients=(found,),
        availability=AvailabilityStatus.NoFreeBusy,
        certificates=CertificateStatus.NoValidCertificate,
        picture=True,
    )
    root = render_resolve_recipients_response(
        ResolveRecipientsResponse(responses=(result,)), "14.0"
    )
    ns = "{ResolveRecipients:}"
    response = root.find(f"{ns}Response")
    assert [str(c.tag)[len(ns) :] for c in response] == [
        "To",
        "Status",
        "RecipientCount",
        "Recipient",
    ]
    recipient = response.find(f"{ns}Recipient")
    assert [str(c.tag)[len(ns) :] for c in recipient] == [
        "Type",
        "DisplayName",
        "EmailAddress",
        "Availability",
        "Certificates",
    ]  # fmt: skip  (no Picture before 14.1)
    assert recipient.findtext(f"{ns}Type") == "1"
    assert wbxml.decode(wbxml.encode(root)) is not None


_RR_NAMES = st.sampled_from(
    ["To", "Options", "CertificateRetrieval", "MaxAmbiguousRecipients", "Availability", "Picture"]
)


@given(
    _trees("ResolveRecipients", "ResolveRecipients:", _RR_NAMES), st.sampled_from(["14.1", "16.1"])
)
def test_any_resolve_tree_parses_or_is_status_5(tree: etree._Element, version: str) -> None:
    try:
        request = parse_resolve_recipients_request(tree, version)
    except EasStatusError as exc:
        assert exc.status == ResolveRecipientsStatus.ProtocolError
    else:
        assert 1 <= len(request.to) <= 100
        assert all(0 < len(to) <= 256 for to in request.to)
        assert 1 <= request.certificate_retrieval <= 3
