"""ItemOperations over loopback HTTP: Fetch of calendar items, multipart, statuses."""

from __future__ import annotations

import struct
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from lxml import etree

from easgw.app import create_app
from easgw.config import Config
from protocol import wbxml
from tests.e2e.calendar_phone import Phone
from tests.harness import Answer, add_user, make_config

ClientFactory = Callable[..., Awaitable[TestClient]]  # type: ignore[type-arg]
VERSIONS = ["12.1", "14.1", "16.1"]
AGENDA = "Agenda: " + "review the quarter, plan the next one. " * 8
ROOT = (
    '<ItemOperations xmlns="ItemOperations:" xmlns:A="AirSync:" xmlns:B="AirSyncBase:" '
    'xmlns:S="Search:" xmlns:D="DocumentLibrary:" xmlns:w="urn:easgw:wbxml">'
)


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path, "[policy]\nrequired = false\n")


@pytest.fixture
async def client(aiohttp_client: ClientFactory, config: Config) -> TestClient:  # type: ignore[type-arg]
    await add_user(config, "alice", "secret", "alice@example.com")
    return await aiohttp_client(create_app(config))


def preference(kind: int, size: int | None = None, all_or_none: bool = False) -> str:
    truncation = "" if size is None else f"<B:TruncationSize>{size}</B:TruncationSize>"
    whole = "<B:AllOrNone>1</B:AllOrNone>" if all_or_none else ""
    return f"<B:BodyPreference><B:Type>{kind}</B:Type>{truncation}{whole}</B:BodyPreference>"


def fetch(server_id: str, collection_id: str | None = None, options: str = "") -> str:
    collection = (
        "" if collection_id is None else f"<A:CollectionId>{collection_id}</A:CollectionId>"
    )
    return (
        f"<Fetch><Store>Mailbox</Store>{collection}<A:ServerId>{server_id}</A:ServerId>"
        f"<Options>{options}</Options></Fetch>"
    )


async def operations(phone: Phone, *parts: str, multipart: bool = False) -> Answer:
    headers = {"MS-ASAcceptMultiPart": "T"} if multipart else {}
    answer = await phone.eas.command(
        "ItemOperations", ROOT + "".join(parts) + "</ItemOperations>", headers=headers
    )
    assert answer.status == 200, answer.body
    return answer


def fetches(answer: Answer) -> list[etree._Element]:
    assert answer.find("/ItemOperations:ItemOperations/ItemOperations:Status") == "1"
    return answer.findall("//ItemOperations:Response/*")


def texts(element: etree._Element, path: str) -> str | None:
    return element.findtext(path)


async def two_phones(client: TestClient, version: str) -> tuple[Phone, Phone, str]:  # type: ignore[type-arg]
    a, b = Phone.of(client, version, "DEVA"), Phone.of(client, version, "DEVB")
    await a.start()
    await b.start()
    server_id = await a.add("Planning", "planning@example.com", body=AGENDA)
    return a, b, server_id


@pytest.mark.parametrize("version", VERSIONS)
async def test_fetch_with_body_preferences(client: TestClient, version: str) -> None:  # type: ignore[type-arg]
    _a, b, server_id = await two_phones(client, version)
    plain, html, bare = fetches(
        await operations(
            b,
            fetch(server_id, b.calendar, preference(1, 20)),
            fetch(server_id, b.calendar, preference(2)),
            fetch(server_id),  # the ServerId alone names its folder
        )
    )
    for element in (plain, html, bare):
        assert texts(element, "{ItemOperations:}Status") == "1"
        assert texts(element, "{AirSync:}CollectionId") == b.calendar
        assert texts(element, "{AirSync:}ServerId") == server_id
        assert texts(element, "{AirSync:}Class") == "Calendar"
        assert texts(element, "{ItemOperations:}Properties/{Calendar:}Subject") == "Planning"
    body = "{ItemOperations:}Properties/{AirSyncBase:}Body/{AirSyncBase:}"
    assert texts(plain, body + "Type") == "1"
    assert texts(plain, body + "Data") == AGENDA[:20]
    assert texts(plain, body + "Truncated") == "1"
    assert texts(plain, body + "EstimatedDataSize") == str(len(AGENDA))
    assert texts(html, body + "Type") == "2"
    assert "<" in (texts(html, body + "Data") or "") and "review the quarter" in (
        texts(html, body + "Data") or ""
    )
    assert texts(html, body + "Truncated") is None
    assert texts(bare, body + "Data") == AGENDA  # no preference: the whole plain text


@pytest.mark.parametrize("version", VERSIONS)
async def test_properties_are_what_sync_sends(client: TestClient, version: str) -> None:  # type: ignore[type-arg]
    _a, b, server_id = await two_phones(client, version)
    synced = await b.sync(extra=f"<Options>{preference(1, 32)}</Options>")  # B: is AirSyncBase
    (data,) = synced.findall("//AirSync:Commands/AirSync:Add/AirSync:ApplicationData")
    (fetched,) = fetches(await operations(b, fetch(server_id, b.calendar, preference(1, 32))))
    properties = fetched.find("{ItemOperations:}Properties")
    assert properties is not None
    assert [shape(e) for e in properties] == [shape(e) for e in data]
    assert "Planning" in str(shape(properties)) and "Body" in str(shape(properties))


def shape(element: etree._Element) -> tuple[object, ...]:
    """Tag, text and children, recursively (namespace declarations aside)."""
    return (element.tag, element.text, tuple(shape(child) for child in element))


def parse_multipart(body: bytes) -> list[bytes]:
    """MS-ASCMD 2.2.1.10.1.1: PartsCount, (Offset, Length) per part, then the parts."""
    (count,) = struct.unpack_from("<i", body, 0)
    parts = []
    for index in range(count):
        offset, length = struct.unpack_from("<ii", body, 4 + 8 * index)
        assert offset >= 0 and offset + length <= len(body)
        parts.append(body[offset : offset + length])
    return parts


@pytest.mark.parametrize("version", VERSIONS)
async def test_multipart_fetch(client: TestClient, version: str) -> None:  # type: ignore[type-arg]
    _a, b, server_id = await two_phones(client, version)
    answer = await operations(
        b,
        fetch(server_id, b.calendar, preference(1, 20)),
        fetch("1:999999", b.calendar),
        fetch(server_id, b.calendar, preference(2)),
        multipart=True,
    )
    assert answer.headers["Content-Type"] == "application/vnd.ms-sync.multipart"
    first, *parts = parse_multipart(answer.body)
    tree = wbxml.decode(first)
    found = tree.findall("{ItemOperations:}Response/{ItemOperations:}Fetch")
    assert [f.findtext("{ItemOperations:}Status") for f in found] == ["1", "6", "1"]
    bodies = [f.find("{ItemOperations:}Properties/{AirSyncBase:}Body") for f in found[::2]]
    assert all(b is not None and b.find("{AirSyncBase:}Data") is None for b in bodies)
    indexes = [int(b.findtext("{ItemOperations:}Part") or "0") for b in bodies if b is not None]
    assert indexes == [1, 2]
    assert parts[0] == AGENDA[:20].encode()
    assert b"review the quarter" in parts[1] and parts[1].startswith(b"<")
    assert bodies[0] is not None and bodies[0].findtext("{AirSyncBase:}Truncated") == "1"


@pytest.mark.parametrize("version", VERSIONS)
async def test_statuses(client: TestClient, version: str) -> None:  # type: ignore[type-arg]
    _a, b, server_id = await two_phones(client, version)
    answer = await operations(
        b,
        fetch("1:999999", b.calendar),  # unknown ServerId
        fetch(server_id, "999"),  # unknown collection
        fetch("x:1", b.inbox),  # a mail folder holds nothing
        "<Fetch><Store>Mailbox</Store><S:LongId>RgAAAAD5%2b</S:LongId></Fetch>",
        "<Fetch><Store>Mailbox</Store><B:FileReference>5%3a1%3a0</B:FileReference></Fetch>",
        "<Fetch><Store>DocumentLibrary</Store><D:LinkId>\\\\srv\\doc.docx</D:LinkId></Fetch>",
        f"<Fetch><A:CollectionId>{b.calendar}</A:CollectionId><A:ServerId>{server_id}</A:ServerId></Fetch>",
        fetch(server_id, b.calendar, preference(9)),  # no such body type (MS-ASAIRS 2.2.2.22)
        f"<EmptyFolderContents><A:CollectionId>{b.inbox}</A:CollectionId></EmptyFolderContents>",
        f"<EmptyFolderContents><A:CollectionId>{b.calendar}</A:CollectionId></EmptyFolderContents>",
        "<EmptyFolderContents><A:CollectionId>999</A:CollectionId></EmptyFolderContents>",
        '<Move><ConversationId w:opaque="1">fCqeSx8NTGqOO11/mhwuQA==</ConversationId>'
        "<DstFldId>1</DstFldId></Move>",
    )
    results = fetches(answer)
    statuses = [texts(r, "{ItemOperations:}Status") for r in results]
    move = "2" if version.startswith("12") else "6"  # Move is 14.0+
    assert statuses == ["6", "6", "6", "6", "15", "9", "2", "2", "1", "156", "6", move]
    assert texts(results[3], "{Search:}LongId") == "RgAAAAD5%2b"
    assert texts(results[9], "{AirSync:}CollectionId") == b.calendar
    if move == "6":
        assert texts(results[11], "{ItemOperations:}ConversationId") == "fCqeSx8NTGqOO11/mhwuQA=="
    # The calendar is untouched by the refused EmptyFolderContents.
    (still,) = fetches(await operations(b, fetch(server_id, b.calendar)))
    assert texts(still, "{ItemOperations:}Status") == "1"


async def test_malformed_request_is_status_two(client: TestClient) -> None:  # type: ignore[type-arg]
    phone = Phone.of(client, "14.1", "DEVA")
    await phone.start()
    for xml in (
        '<ItemOperations xmlns="ItemOperations:"/>',
        '<ItemOperations xmlns="ItemOperations:"><Store>Mailbox</Store></ItemOperations>',
        '<Sync xmlns="AirSync:"/>',
    ):
        answer = await phone.eas.command("ItemOperations", xml)
        assert answer.status == 200
        assert answer.find("/ItemOperations:ItemOperations/ItemOperations:Status") == "2"
        assert answer.findall("//ItemOperations:Response") == []
    empty = await phone.eas.command("ItemOperations")
    assert empty.find("/ItemOperations:ItemOperations/ItemOperations:Status") == "2"
