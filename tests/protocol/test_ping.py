"""Ping models: the spec's request and responses, empty Pings, bad input, rendering."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from protocol import wbxml
from protocol.ping import (
    PingFolder,
    PingRequest,
    PingResponse,
    PingStatus,
    parse_ping_request,
    render_ping_response,
)
from protocol.status import EasStatusError

CORPUS = Path(__file__).parent / "corpus"
HEAD = '<Ping xmlns="Ping:">'
TAIL = "</Ping>"


def _wire(tree: etree._Element) -> etree._Element:
    return wbxml.decode(wbxml.encode(tree))


def _corpus(name: str) -> etree._Element:
    return _wire(etree.parse(str(CORPUS / name)).getroot())


def _parse(inner: str) -> PingRequest:
    return parse_ping_request(_wire(etree.fromstring(HEAD + inner + TAIL)), "14.1")


def _folder(folder_id: str, class_name: str = "Calendar") -> str:
    return f"<Folder><Id>{folder_id}</Id><Class>{class_name}</Class></Folder>"


def test_the_spec_request_from_the_corpus() -> None:
    request = parse_ping_request(_corpus("ping-request.xml"), "14.1")
    assert request == PingRequest(
        heartbeat_interval=900,
        folders=(
            PingFolder(id="2", class_name="Calendar"),
            PingFolder(id="5", class_name="Email"),
            PingFolder(id="3", class_name="Contacts"),
            PingFolder(id="7", class_name="Tasks"),
        ),
    )
    assert not request.empty


PARSED = [
    ("", PingRequest()),  # a Ping with neither element: the cached values
    ("<HeartbeatInterval>480</HeartbeatInterval>", PingRequest(heartbeat_interval=480)),
    (
        f"<Folders>{_folder('1')}</Folders>",
        PingRequest(folders=(PingFolder(id="1", class_name="Calendar"),)),
    ),
    (  # any order (MS-ASCMD 6.29: xs:all), Class left out, whitespace around values
        (
            "<Folders><Folder><Id> 4 </Id></Folder></Folders>"
            "<HeartbeatInterval> 60 </HeartbeatInterval>"
        ),
        PingRequest(heartbeat_interval=60, folders=(PingFolder(id="4"),)),
    ),
    (  # unknown ids are the server's business (field: "InvalidTaskID"), not a syntax error
        f"<Folders>{_folder('InvalidTaskID', 'Tasks')}{_folder('1')}</Folders>",
        PingRequest(
            folders=(
                PingFolder(id="InvalidTaskID", class_name="Tasks"),
                PingFolder(id="1", class_name="Calendar"),
            )
        ),
    ),
    (  # far out of every range: read as the ceiling, so the server answers Status 5
        "<HeartbeatInterval>123456789012345678901234567890</HeartbeatInterval>",
        PingRequest(heartbeat_interval=10**10),
    ),
    ("<HeartbeatInterval>0</HeartbeatInterval>", PingRequest(heartbeat_interval=0)),
]


@pytest.mark.parametrize(("inner", "expected"), PARSED)
def test_parse_table(inner: str, expected: PingRequest) -> None:
    assert _parse(inner) == expected


def test_no_body_is_an_empty_ping() -> None:
    request = parse_ping_request(None, "16.1")
    assert request == PingRequest()
    assert request.empty


BAD = [
    ("<HeartbeatInterval>soon</HeartbeatInterval>", "not an integer"),
    ("<HeartbeatInterval>-5</HeartbeatInterval>", "negative"),
    ("<HeartbeatInterval></HeartbeatInterval>", "empty"),
    ("<HeartbeatInterval>60</HeartbeatInterval>" * 2, "twice"),
    ("<Folders></Folders>", "no Folder"),
    (f"<Folders>{_folder('1')}</Folders>" * 2, "Folders twice"),
    ("<Folders><Folder><Class>Calendar</Class></Folder></Folders>", "no Id"),
    (f"<Folders>{_folder('x' * 65)}</Folders>", "Id over 64 characters"),
    (f"<Folders>{_folder('1')}{_folder('1', 'Email')}</Folders>", "the same Id twice"),
    ("<Folders><Folder><Id>1</Id><Id>2</Id></Folder></Folders>", "two Ids in one Folder"),
    (f"<Folders><Folder><Id>1</Id><Class>{'C' * 65}</Class></Folder></Folders>", "long Class"),
]


@pytest.mark.parametrize(("inner", "why"), BAD)
def test_bad_input_is_status_4(inner: str, why: str) -> None:
    with pytest.raises(EasStatusError) as raised:
        _parse(inner)
    assert raised.value.status == PingStatus.SyntaxError, why


def test_another_root_is_status_4() -> None:
    with pytest.raises(EasStatusError) as raised:
        parse_ping_request(etree.fromstring('<Sync xmlns="AirSync:"/>'), "14.1")
    assert raised.value.status == PingStatus.SyntaxError


def test_models_refuse_what_the_wire_cannot_carry() -> None:
    with pytest.raises(ValueError, match="Id"):
        PingFolder(id="")
    with pytest.raises(ValueError, match="distinct"):
        PingRequest(folders=(PingFolder(id="1"), PingFolder(id="1")))
    with pytest.raises(ValueError, match="distinct"):
        PingRequest(folders=())
    with pytest.raises(ValueError, match="negative"):
        PingRequest(heartbeat_interval=-1)


RENDERED = [
    (PingResponse(status=PingStatus.ChangesFound, folders=("2", "5")), "ping-response-changes.xml"),
    (
        PingResponse(status=PingStatus.HeartbeatOutOfRange, heartbeat_interval=1740),
        "ping-response-heartbeat.xml",
    ),
    (PingResponse(status=PingStatus.TooManyFolders, max_folders=200), "ping-response-limits.xml"),
]


@pytest.mark.parametrize(("response", "name"), RENDERED)
def test_rendering_matches_the_spec_examples(response: PingResponse, name: str) -> None:
    expected = etree.parse(str(CORPUS / name)).getroot()
    assert wbxml.encode(render_ping_response(response, "14.1")) == wbxml.encode(expected)


def test_rendering_a_plain_status_and_the_element_order() -> None:
    root = render_ping_response(PingResponse(status=PingStatus.Expired), "16.1")
    assert [child.tag for child in root] == ["{Ping:}Status"]
    assert root.findtext("{Ping:}Status") == "1"
    everything = PingResponse(
        status=PingStatus.ChangesFound, folders=("9",), max_folders=3, heartbeat_interval=60
    )
    tags = [child.tag.split("}")[1] for child in render_ping_response(everything, "14.1")]
    assert tags == ["Status", "Folders", "MaxFolders", "HeartbeatInterval"]


_NAMES = st.sampled_from(
    ["Ping", "HeartbeatInterval", "Folders", "Folder", "Id", "Class", "Status"]
)
_TEXT = st.text(st.characters(exclude_categories=("Cs", "Cc", "Cn")), max_size=8) | st.sampled_from(
    ["0", "1", "60", "900", "3540", "x" * 70, "9" * 40]
)


@st.composite
def _documents(draw: st.DrawFn) -> etree._Element:
    root = etree.Element(f"{{Ping:}}{draw(st.sampled_from(['Ping', 'Ping', 'Folders']))}")
    for _ in range(draw(st.integers(0, 10))):
        parent = draw(st.sampled_from(list(root.iter())))
        namespace = draw(st.sampled_from(["Ping:", "Ping:", "Ping:", "AirSync:"]))
        child = etree.SubElement(parent, f"{{{namespace}}}{draw(_NAMES)}")
        child.text = draw(st.one_of(st.none(), _TEXT))
    return root


@given(_documents(), st.sampled_from(["12.1", "14.1", "16.1"]))
def test_any_tree_parses_or_is_status_4(tree: etree._Element, version: str) -> None:
    try:
        request = parse_ping_request(tree, version)
    except EasStatusError as exc:
        assert exc.status == PingStatus.SyntaxError
        return
    if request.folders is not None:
        ids = [folder.id for folder in request.folders]
        assert ids and len(set(ids)) == len(ids)
        assert all(0 < len(folder_id) <= 64 for folder_id in ids)
    assert request.heartbeat_interval is None or request.heartbeat_interval >= 0
