"""The Sync request/response models (MS-ASCMD 2.2.1.21)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from protocol import wbxml
from protocol.status import EasStatusError
from protocol.sync import (
    AddResponse,
    ApplicationData,
    BodyPreference,
    ClientAdd,
    ClientChange,
    ClientDelete,
    ClientFetch,
    CollectionResponse,
    EncodedCollection,
    FetchResponse,
    ItemResponse,
    ServerCommand,
    SyncResponse,
    SyncStatus,
    encode_collection,
    parse_sync_request,
    render_sync_response,
)

NS = 'xmlns="AirSync:" xmlns:C="Calendar:" xmlns:B="AirSyncBase:"'


def _tree(xml: str) -> etree._Element:
    """Through the codec, as the server receives it."""
    return wbxml.decode(wbxml.encode(etree.fromstring(xml)))


FULL = f"""<Sync {NS}><Collections><Collection>
<SyncKey>5</SyncKey><CollectionId>1</CollectionId>
<Supported><C:Subject/><C:Location/></Supported>
<DeletesAsMoves>0</DeletesAsMoves><GetChanges/><WindowSize>25</WindowSize>
<Options><FilterType>4</FilterType><Conflict>1</Conflict>
<B:BodyPreference><B:Type>2</B:Type><B:TruncationSize>5120</B:TruncationSize>
<B:AllOrNone>1</B:AllOrNone><B:Preview>100</B:Preview></B:BodyPreference>
<MIMESupport>0</MIMESupport></Options>
<Commands>
<Add><ClientId>c1</ClientId><ApplicationData><C:Subject>Hi</C:Subject></ApplicationData></Add>
<Change><ServerId>1:2</ServerId><B:InstanceId>20261201T100000Z</B:InstanceId>
<ApplicationData><C:Subject>Moved</C:Subject></ApplicationData></Change>
<Delete><ServerId>1:3</ServerId></Delete>
<Fetch><ServerId>1:4</ServerId></Fetch>
</Commands></Collection></Collections>
<WindowSize>100</WindowSize></Sync>"""


def test_parse_full_request() -> None:
    request = parse_sync_request(_tree(FULL), "16.1")
    assert request.window_size == 100
    assert request.collections is not None
    (collection,) = request.collections
    assert (collection.sync_key, collection.collection_id) == ("5", "1")
    assert collection.supported == ("Subject", "Location")
    assert collection.deletes_as_moves is False
    assert collection.get_changes is True
    assert collection.window_size == 25
    options = collection.options
    assert options is not None
    assert (options.filter_type, options.conflict, options.mime_support) == (4, 1, 0)
    assert options.body_preferences == (
        BodyPreference(type=2, truncation_size=5120, all_or_none=True, preview=100),
    )
    add, change, delete, fetch = collection.commands
    assert isinstance(add, ClientAdd) and add.client_id == "c1"
    assert [e.text for e in add.application_data.elements] == ["Hi"]
    assert isinstance(change, ClientChange)
    assert (change.server_id, change.instance_id) == ("1:2", "20261201T100000Z")
    assert delete == ClientDelete(server_id="1:3")
    assert fetch == ClientFetch(server_id="1:4")


def test_application_data_element_is_a_fresh_copy() -> None:
    request = parse_sync_request(_tree(FULL), "14.1")
    assert request.collections is not None
    add = request.collections[0].commands[0]
    assert isinstance(add, ClientAdd)
    element = add.application_data.element()
    assert element.tag == "{AirSync:}ApplicationData"
    assert element[0].tag == "{Calendar:}Subject"
    assert element[0] is not add.application_data.elements[0]


@pytest.mark.parametrize(
    ("xml", "expected"),
    [
        (f"<Sync {NS}/>", None),
        (f"<Sync {NS}><Wait>5</Wait></Sync>", None),
        (f"<Sync {NS}><Partial/></Sync>", None),
    ],
)
def test_requests_without_collections(xml: str, expected: None) -> None:
    request = parse_sync_request(_tree(xml), "14.1")
    assert request.collections is expected


def test_empty_body_is_the_empty_request() -> None:
    request = parse_sync_request(None, "14.1")
    assert request.collections is None
    assert not request.partial


def test_top_level_values() -> None:
    xml = f"<Sync {NS}><HeartbeatInterval>300</HeartbeatInterval><Partial>1</Partial></Sync>"
    request = parse_sync_request(_tree(xml), "14.1")
    assert (request.heartbeat_interval, request.partial, request.wait) == (300, True, None)


def test_get_changes_zero() -> None:
    xml = FULL.replace("<GetChanges/>", "<GetChanges>0</GetChanges>")
    request = parse_sync_request(_tree(xml), "14.1")
    assert request.collections is not None
    assert request.collections[0].get_changes is False


def _collection(inner: str, key: str = "<SyncKey>1</SyncKey>") -> str:
    return (
        f"<Sync {NS}><Collections><Collection>{key}<CollectionId>1</CollectionId>{inner}"
        "</Collection></Collections></Sync>"
    )


@pytest.mark.parametrize(
    "xml",
    [
        '<FolderSync xmlns="FolderHierarchy:"><SyncKey>0</SyncKey></FolderSync>',
        _collection("", key=""),
        _collection("<Commands><Add><ApplicationData/></Add></Commands>"),
        _collection("<Commands><Change><ServerId>1:1</ServerId></Change></Commands>"),
        _collection("<WindowSize>lots</WindowSize>"),
        _collection("", key=f"<SyncKey>{'9' * 65}</SyncKey>"),
        f"<Sync {NS}><Limit>3</Limit></Sync>",
        f"<Sync {NS}><Wait>-1</Wait></Sync>",
    ],
)
def test_malformed_requests_are_status_4(xml: str) -> None:
    with pytest.raises(EasStatusError) as caught:
        parse_sync_request(_tree(xml), "14.1")
    assert caught.value.status == SyncStatus.ProtocolError


def _names(element: etree._Element) -> list[str]:
    return [str(child.tag).split("}")[1] for child in element]


def _subject(text: str) -> ApplicationData:
    element = etree.Element("{Calendar:}Subject")
    element.text = text
    return ApplicationData(elements=(element,))


def test_render_collection_order() -> None:
    response = SyncResponse(
        collections=(
            CollectionResponse(
                collection_id="1",
                status=SyncStatus.Success,
                sync_key="6",
                more_available=True,
                commands=(
                    ServerCommand(kind="Delete", server_id="1:9"),
                    ServerCommand(kind="Add", server_id="1:5", application_data=_subject("Hi")),
                ),
                responses=(
                    AddResponse(client_id="c1", status=SyncStatus.Success, server_id="1:7"),
                    ItemResponse(kind="Change", server_id="1:2", status=SyncStatus.ObjectNotFound),
                    FetchResponse(
                        server_id="1:4", status=SyncStatus.Success, application_data=_subject("F")
                    ),
                ),
            ),
        )
    )
    root = render_sync_response(response, "14.1")
    collection = root.find("{AirSync:}Collections/{AirSync:}Collection")
    assert collection is not None
    assert _names(collection) == [
        "SyncKey",
        "CollectionId",
        "Status",
        "MoreAvailable",
        "Commands",
        "Responses",
    ]
    commands, responses = collection[4], collection[5]
    assert _names(commands) == ["Delete", "Add"]
    assert _names(commands[1]) == ["ServerId", "ApplicationData"]
    assert _names(responses) == ["Add", "Change", "Fetch"]
    assert _names(responses[0]) == ["ClientId", "ServerId", "Status"]
    assert _names(responses[2]) == ["ServerId", "Status", "ApplicationData"]
    wbxml.encode(root)  # encodable


def test_render_top_level_status_with_limit() -> None:
    root = render_sync_response(
        SyncResponse(status=SyncStatus.InvalidWaitOrHeartbeat, limit=59), "14.1"
    )
    assert _names(root) == ["Status", "Limit"]
    assert [child.text for child in root] == ["14", "59"]


def test_encoded_collection_replays_exactly() -> None:
    collection = CollectionResponse(
        collection_id="1",
        status=SyncStatus.Success,
        sync_key="3",
        commands=(ServerCommand(kind="Change", server_id="1:1", application_data=_subject("x")),),
    )
    stored = encode_collection(collection)
    fresh = wbxml.encode(render_sync_response(SyncResponse(collections=(collection,)), "14.1"))
    replayed = wbxml.encode(
        render_sync_response(SyncResponse(collections=(EncodedCollection(wbxml=stored),)), "14.1")
    )
    assert replayed == fresh == stored


def test_server_command_kind_is_checked() -> None:
    with pytest.raises(ValueError, match="not a Sync command"):
        ServerCommand(kind="Move", server_id="1:1")


AIRSYNC_TAGS = [
    "Sync", "Collections", "Collection", "SyncKey", "CollectionId", "Supported", "GetChanges",
    "WindowSize", "Options", "FilterType", "Conflict", "Commands", "Add", "Change", "Delete",
    "Fetch", "ClientId", "ServerId", "ApplicationData", "Wait", "HeartbeatInterval", "Partial",
    "DeletesAsMoves", "MIMESupport", "MaxItems", "Class",
]  # fmt: skip
BASE_TAGS = ["BodyPreference", "Type", "TruncationSize", "AllOrNone", "Preview", "InstanceId"]
texts = st.one_of(
    st.none(),
    st.sampled_from(["", "0", "1", "5", "-1", "99999999999", "²", "abc", "9" * 70]),
    st.text(max_size=8),
)
names = st.one_of(
    st.sampled_from([f"{{AirSync:}}{tag}" for tag in AIRSYNC_TAGS]),
    st.sampled_from([f"{{AirSyncBase:}}{tag}" for tag in BASE_TAGS]),
    st.just("{Calendar:}Subject"),
)


def _build(name: str, text: str | None, children: list[etree._Element]) -> etree._Element:
    element = etree.Element(name)
    if children:
        element.extend(children)
    elif text is not None:
        element.text = "".join(c for c in text if c.isprintable())
    return element


elements = st.recursive(
    st.builds(_build, names, texts, st.just([])),
    lambda inner: st.builds(_build, names, texts, st.lists(inner, max_size=4)),
    max_leaves=20,
)


@given(st.builds(_build, st.just("{AirSync:}Sync"), texts, st.lists(elements, max_size=4)))
def test_any_tree_parses_or_is_status_4(tree: etree._Element) -> None:
    """Whatever the device sends, the parser answers a model or Status 4: never a crash."""
    try:
        request = parse_sync_request(tree, "16.1")
    except EasStatusError as exc:
        assert exc.status == SyncStatus.ProtocolError
    else:
        assert request.collections is None or all(c.sync_key for c in request.collections)


def test_empty_answer() -> None:
    quiet = CollectionResponse(
        collection_id="1", status=SyncStatus.Success, sync_key="4", unchanged=True
    )
    busy = CollectionResponse(collection_id="2", status=SyncStatus.Success, sync_key="5")
    assert SyncResponse(collections=(quiet,)).empty
    assert not SyncResponse(collections=(quiet, busy)).empty
    assert not SyncResponse(collections=(quiet, EncodedCollection(wbxml=b""))).empty
    assert not SyncResponse(status=SyncStatus.IncompleteRequest).empty
