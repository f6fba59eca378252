"""protocol.folders: the folder hierarchy models, through real WBXML bytes."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from protocol import wbxml
from protocol.folders import (
    EncodedResponse,
    FolderChanges,
    FolderCreateRequest,
    FolderCreateResponse,
    FolderCreateStatus,
    FolderDeleteRequest,
    FolderDeleteResponse,
    FolderDeleteStatus,
    FolderEntry,
    FolderSyncRequest,
    FolderSyncResponse,
    FolderSyncStatus,
    FolderType,
    FolderUpdateRequest,
    FolderUpdateResponse,
    FolderUpdateStatus,
    encode_folder_sync_response,
    parse_folder_create_request,
    parse_folder_create_response,
    parse_folder_delete_request,
    parse_folder_delete_response,
    parse_folder_sync_request,
    parse_folder_sync_response,
    parse_folder_update_request,
    parse_folder_update_response,
    render_folder_create_request,
    render_folder_create_response,
    render_folder_delete_request,
    render_folder_delete_response,
    render_folder_sync_request,
    render_folder_sync_response,
    render_folder_update_request,
    render_folder_update_response,
)
from protocol.status import EasStatusError
from tests.conftest import VECTORS

CORPUS = Path(__file__).parent / "corpus"
VERSIONS = ["12.1", "14.1", "16.1"]


def _wire(tree: etree._Element) -> etree._Element:
    """Through the codec, as a request or response travels."""
    return wbxml.decode(wbxml.encode(tree))


def _xml(text: str) -> etree._Element:
    return _wire(etree.fromstring(text.encode()))


def _corpus(name: str) -> etree._Element:
    return _wire(etree.parse(str(CORPUS / name)).getroot())


# --- corpus (MS-ASCMD examples) ----------------------------------------------------


def test_corpus_requests_parse() -> None:
    assert parse_folder_sync_request(_corpus("foldersync-request.xml"), "14.1") == (
        FolderSyncRequest(sync_key="3")
    )
    assert parse_folder_create_request(_corpus("foldercreate-request.xml"), "14.1") == (
        FolderCreateRequest(
            sync_key="4", parent_id="1", display_name="Holidays", type=FolderType.UserCalendar
        )
    )
    assert parse_folder_update_request(_corpus("folderupdate-request.xml"), "14.1") == (
        FolderUpdateRequest(
            sync_key="5", server_id="14", parent_id="1", display_name="Public holidays"
        )
    )
    assert parse_folder_delete_request(_corpus("folderdelete-request.xml"), "14.1") == (
        FolderDeleteRequest(sync_key="6", server_id="14")
    )


def test_corpus_foldersync_response_round_trips() -> None:
    model = parse_folder_sync_response(_corpus("foldersync-response.xml"), "14.1")
    assert model.status is FolderSyncStatus.Success
    assert model.sync_key == "4"
    assert model.changes is not None
    assert model.changes.count == 9
    assert [a.display_name for a in model.changes.add][:3] == ["Calendar", "Contacts", "Inbox"]
    assert model.changes.add[6] == FolderEntry(
        server_id="2", parent_id="1", display_name="Team & Projects", type=FolderType.UserCalendar
    )
    assert model.changes.update[0].type is FolderType.UserMail
    assert model.changes.delete == ("12",)
    assert parse_folder_sync_response(
        _wire(render_folder_sync_response(model, "14.1")), "14.1"
    ) == (model)


def test_corpus_short_responses_parse() -> None:
    assert parse_folder_create_response(_corpus("foldercreate-response.xml"), "14.1") == (
        FolderCreateResponse(sync_key="5", server_id="14")
    )
    assert parse_folder_update_response(_corpus("folderupdate-response.xml"), "14.1") == (
        FolderUpdateResponse(sync_key="6")
    )
    assert parse_folder_delete_response(_corpus("folderdelete-response.xml"), "14.1") == (
        FolderDeleteResponse(sync_key="7")
    )


# --- round trips ---------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_requests_round_trip(version: str) -> None:
    sync = FolderSyncRequest(sync_key="0")
    assert parse_folder_sync_request(_wire(render_folder_sync_request(sync, version)), version) == (
        sync
    )
    create = FolderCreateRequest(
        sync_key="7", parent_id="0", display_name="Été & co", type=FolderType.UserCalendar
    )
    rendered = _wire(render_folder_create_request(create, version))
    assert parse_folder_create_request(rendered, version) == create
    update = FolderUpdateRequest(sync_key="8", server_id="9", parent_id=None, display_name="X")
    rendered = _wire(render_folder_update_request(update, version))
    assert parse_folder_update_request(rendered, version) == update
    delete = FolderDeleteRequest(sync_key="9", server_id="9")
    rendered = _wire(render_folder_delete_request(delete, version))
    assert parse_folder_delete_request(rendered, version) == delete


def test_short_responses_round_trip_and_error_shape() -> None:
    create = FolderCreateResponse(sync_key="3", server_id="12")
    assert parse_folder_create_response(
        _wire(render_folder_create_response(create, "14.1")), ""
    ) == (create)
    failed = FolderCreateResponse(status=FolderCreateStatus.FolderExists)
    tree = _wire(render_folder_create_response(failed, "14.1"))
    assert [etree.QName(child).localname for child in tree] == ["Status"]
    assert parse_folder_create_response(tree, "14.1") == failed
    update = FolderUpdateResponse(status=FolderUpdateStatus.FolderNotFound)
    assert parse_folder_update_response(_wire(render_folder_update_response(update, "")), "") == (
        update
    )
    delete = FolderDeleteResponse(sync_key="4")
    assert parse_folder_delete_response(_wire(render_folder_delete_response(delete, "")), "") == (
        delete
    )


def test_foldersync_response_element_order_and_count() -> None:
    entry = FolderEntry(server_id="1", parent_id="0", display_name="C", type=FolderType.Calendar)
    changes = FolderChanges(update=(entry,), delete=("5",), add=(entry,))
    tree = render_folder_sync_response(FolderSyncResponse(sync_key="2", changes=changes), "14.1")
    assert [etree.QName(child).localname for child in tree] == ["Status", "SyncKey", "Changes"]
    container = tree[2]
    assert [etree.QName(child).localname for child in container] == [
        "Count",
        "Update",
        "Delete",
        "Add",
    ]
    assert container[0].text == "3"
    assert [etree.QName(c).localname for c in container[1]] == [
        "ServerId",
        "ParentId",
        "DisplayName",
        "Type",
    ]


def test_unchanged_hierarchy_renders_count_zero() -> None:
    tree = _wire(
        render_folder_sync_response(FolderSyncResponse(sync_key="5", changes=FolderChanges()), "")
    )
    assert tree.findtext("{FolderHierarchy:}Changes/{FolderHierarchy:}Count") == "0"
    assert tree.findtext("{FolderHierarchy:}SyncKey") == "5"


def test_encoded_response_replays_the_exact_bytes() -> None:
    entry = FolderEntry(server_id="7", parent_id="0", display_name="Ä", type=FolderType.Inbox)
    response = FolderSyncResponse(sync_key="2", changes=FolderChanges(add=(entry,)))
    data = encode_folder_sync_response(response, "14.1")
    assert data.startswith(wbxml.HEADER)
    replay = render_folder_sync_response(EncodedResponse(wbxml=data), "16.1")
    assert wbxml.encode(replay) == data
    assert encode_folder_sync_response(EncodedResponse(wbxml=data), "12.1") == data


_names = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\x00"),
    min_size=1,
    max_size=40,
)
_ids = st.from_regex(r"[0-9A-Za-z:_-]{1,64}", fullmatch=True)
_entries = st.builds(
    FolderEntry,
    server_id=_ids,
    parent_id=_ids,
    display_name=_names,
    type=st.sampled_from(FolderType),
)


@given(
    update=st.lists(_entries, max_size=4),
    delete=st.lists(_ids, max_size=4),
    add=st.lists(_entries, max_size=4),
    key=st.from_regex(r"[1-9][0-9]{0,9}", fullmatch=True),
)
def test_foldersync_response_round_trips(
    update: list[FolderEntry], delete: list[str], add: list[FolderEntry], key: str
) -> None:
    changes = FolderChanges(update=tuple(update), delete=tuple(delete), add=tuple(add))
    response = FolderSyncResponse(sync_key=key, changes=changes)
    tree = _wire(render_folder_sync_response(response, "14.1"))
    assert parse_folder_sync_response(tree, "14.1") == response


# --- malformed requests -> the command's status ---------------------------------------

FH = 'xmlns="FolderHierarchy:"'


@pytest.mark.parametrize(
    "xml",
    [
        None,
        f"<FolderSync {FH}/>",
        f"<FolderCreate {FH}><SyncKey>0</SyncKey></FolderCreate>",
        f"<FolderSync {FH}><SyncKey>1</SyncKey><SyncKey>2</SyncKey></FolderSync>",
        f"<FolderSync {FH}><SyncKey>1</SyncKey><ServerId>2</ServerId></FolderSync>",
        f"<FolderSync {FH}><SyncKey><Count>1</Count></SyncKey></FolderSync>",
        '<FolderSync xmlns="FolderHierarchy:"><Status xmlns="AirSync:">1</Status></FolderSync>',
    ],
)
def test_malformed_foldersync_is_status_10(xml: str | None) -> None:
    tree = None if xml is None else _xml(xml)
    with pytest.raises(EasStatusError) as caught:
        parse_folder_sync_request(tree, "14.1")
    assert caught.value.status == FolderSyncStatus.MalformedRequest == 10


def test_empty_sync_key_parses_and_is_left_to_the_handler() -> None:
    tree = _xml(f"<FolderSync {FH}><SyncKey/></FolderSync>")
    assert parse_folder_sync_request(tree, "14.1") == FolderSyncRequest(sync_key="")


@pytest.mark.parametrize(
    "body",
    [
        "<ParentId>0</ParentId><DisplayName>A</DisplayName><Type>13</Type>",
        "<SyncKey>1</SyncKey><DisplayName>A</DisplayName><Type>13</Type>",
        "<SyncKey>1</SyncKey><ParentId>0</ParentId><Type>13</Type>",
        "<SyncKey>1</SyncKey><ParentId>0</ParentId><DisplayName> </DisplayName><Type>13</Type>",
        "<SyncKey>1</SyncKey><ParentId>0</ParentId><DisplayName>A</DisplayName>",
        "<SyncKey>1</SyncKey><ParentId>0</ParentId><DisplayName>A</DisplayName><Type>x</Type>",
        "<SyncKey>1</SyncKey><ParentId>0</ParentId><DisplayName>A</DisplayName><Type>99</Type>",
    ],
)
def test_malformed_foldercreate_is_status_10(body: str) -> None:
    with pytest.raises(EasStatusError) as caught:
        parse_folder_create_request(_xml(f"<FolderCreate {FH}>{body}</FolderCreate>"), "14.1")
    assert caught.value.status == FolderCreateStatus.MalformedRequest == 10


@pytest.mark.parametrize(
    "body",
    [
        "<ServerId>3</ServerId><ParentId>0</ParentId><DisplayName>A</DisplayName>",
        "<SyncKey>1</SyncKey><ParentId>0</ParentId><DisplayName>A</DisplayName>",
        "<SyncKey>1</SyncKey><ServerId>3</ServerId><ParentId>0</ParentId>",
    ],
)
def test_malformed_folderupdate_is_status_10(body: str) -> None:
    with pytest.raises(EasStatusError) as caught:
        parse_folder_update_request(_xml(f"<FolderUpdate {FH}>{body}</FolderUpdate>"), "14.1")
    assert caught.value.status == FolderUpdateStatus.MalformedRequest == 10


@pytest.mark.parametrize(
    "xml",
    [
        None,
        f"<FolderDelete {FH}><SyncKey>1</SyncKey></FolderDelete>",
        f"<FolderDelete {FH}><ServerId>1</ServerId></FolderDelete>",
        f"<FolderSync {FH}><SyncKey>1</SyncKey></FolderSync>",
    ],
)
def test_malformed_folderdelete_is_status_10(xml: str | None) -> None:
    tree = None if xml is None else _xml(xml)
    with pytest.raises(EasStatusError) as caught:
        parse_folder_delete_request(tree, "14.1")
    assert caught.value.status == FolderDeleteStatus.MalformedRequest == 10


@pytest.mark.parametrize("bad", ["", "x" * 65])
def test_folder_entry_ids_are_1_to_64_characters(bad: str) -> None:
    with pytest.raises(ValueError, match="ServerId"):
        FolderEntry(server_id=bad, parent_id="0", display_name="A", type=FolderType.Calendar)
    FolderEntry(server_id="x" * 64, parent_id="0", display_name="A", type=FolderType.Calendar)


def test_real_client_request_vector_parses() -> None:
    """A Windows Mobile 6.1 FolderSync (public capture): its key is not ours."""
    vector = VECTORS / "bluemind" / "foldersync_wm61.wbxml"
    if not vector.exists():
        pytest.skip(f"{vector} is absent")
    request = parse_folder_sync_request(wbxml.decode(vector.read_bytes()), "12.1")
    assert len(request.sync_key) == 36
