"""MoveItems over loopback HTTP at 14.1 and 16.1: two devices, two calendars."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from easgw.app import GATEWAY, create_app
from tests.e2e.folder_phone import ALICE, FolderPhone, command_count, commands, event
from tests.harness import Answer, add_user, make_config

ClientFactory = Callable[..., Awaitable[TestClient]]  # type: ignore[type-arg]
VERSIONS = ["14.1", "16.1"]


@pytest.fixture
async def client(aiohttp_client: ClientFactory, tmp_path: Path) -> TestClient:  # type: ignore[type-arg]
    config = make_config(tmp_path, "[policy]\nrequired = false\n")
    await add_user(config, "alice", "secret", "alice@example.com")
    app = create_app(config)
    test_client = await aiohttp_client(app)
    await app[GATEWAY].store.create_calendar(ALICE, "Work")
    return test_client


def move_xml(*moves: tuple[str, str, str]) -> str:
    body = "".join(
        f"<Move><SrcMsgId>{item}</SrcMsgId><SrcFldId>{src}</SrcFldId>"
        f"<DstFldId>{dst}</DstFldId></Move>"
        for item, src, dst in moves
    )
    return f'<MoveItems xmlns="Move:">{body}</MoveItems>'


def results(answer: Answer) -> list[dict[str, str]]:
    assert answer.status == 200, answer.body
    return [
        {str(child.tag).split("}")[1]: child.text or "" for child in response}
        for response in answer.findall("/Move:MoveItems/Move:Response")
    ]


async def calendar_uids(client: TestClient) -> dict[str, list[str]]:  # type: ignore[type-arg]
    store = client.app[GATEWAY].store
    return {
        ("default" if calendar.is_default else calendar.display_name): sorted(
            ref.uid for ref in await store.list_items(ALICE, calendar.id)
        )
        for calendar in await store.list_calendars(ALICE)
    }


@pytest.mark.parametrize("version", VERSIONS)
async def test_move_keeps_uid_and_only_other_devices_see_it(
    client: TestClient,  # type: ignore[type-arg]
    version: str,
) -> None:
    mover, other = (
        FolderPhone.of(client, version, "MOVER"),
        FolderPhone.of(client, version, "OTHER"),
    )
    await mover.start("default", "Work")
    await other.start("default", "Work")
    add = f"<Add><ClientId>c1</ClientId>{event(version, 'Review', 'move-1@example.com')}</Add>"
    added = await mover.sync("default", add)
    src_msg_id = added.find("//AirSync:Responses/AirSync:Add/AirSync:ServerId")
    assert src_msg_id
    assert list(commands(await other.sync("default"), "Add")) == [src_msg_id]
    assert command_count(await other.sync("Work")) == 0
    (uid,) = (await calendar_uids(client))["default"]

    default, work = mover.folders["default"], mover.folders["Work"]
    (result,) = results(await mover.eas.command("MoveItems", move_xml((src_msg_id, default, work))))
    assert result["SrcMsgId"] == src_msg_id
    assert result["Status"] == "3"
    dst_msg_id = result["DstMsgId"]
    assert dst_msg_id.startswith(f"{work}:") and len(dst_msg_id) <= 64
    assert await calendar_uids(client) == {"default": [], "Work": [uid]}

    # The moving device already knows: nothing comes back to it.
    assert command_count(await mover.sync("default")) == 0
    assert command_count(await mover.sync("Work")) == 0
    # The other device sees the move as Delete + Add.
    assert list(commands(await other.sync("default"), "Delete")) == [src_msg_id]
    moved = commands(await other.sync("Work"), "Add")
    assert list(moved) == [dst_msg_id]
    assert moved[dst_msg_id]["Subject"] == "Review"
    assert moved[dst_msg_id]["UID"] == uid

    # A retry (the device lost our answer) answers the same and duplicates nothing.
    (again,) = results(await mover.eas.command("MoveItems", move_xml((src_msg_id, default, work))))
    assert again == result
    assert await calendar_uids(client) == {"default": [], "Work": [uid]}
    assert command_count(await mover.sync("Work")) == 0
    assert command_count(await other.sync("Work")) == 0

    # Moving it back gives the device its old ServerId again (ids are per store item).
    (back,) = results(await mover.eas.command("MoveItems", move_xml((dst_msg_id, work, default))))
    assert back["Status"] == "3"
    assert await calendar_uids(client) == {"default": [uid], "Work": []}
    assert command_count(await mover.sync("default")) == 0
    assert command_count(await mover.sync("Work")) == 0
    assert list(commands(await other.sync("Work"), "Delete")) == [dst_msg_id]
    assert list(commands(await other.sync("default"), "Add")) == [back["DstMsgId"]]


@pytest.mark.parametrize("version", VERSIONS)
async def test_bad_source_and_destination_statuses(
    client: TestClient,  # type: ignore[type-arg]
    version: str,
) -> None:
    phone = FolderPhone.of(client, version, "DEV")
    await phone.start("default", "Work")
    add = f"<Add><ClientId>c1</ClientId>{event(version, 'Stay', 'stay@example.com')}</Add>"
    added = await phone.sync("default", add)
    item = added.find("//AirSync:Responses/AirSync:Add/AirSync:ServerId") or ""
    default, work, inbox = phone.folders["default"], phone.folders["Work"], phone.folders["inbox"]
    answer = await phone.eas.command(
        "MoveItems",
        move_xml(
            (item, "999", work),  # unknown source folder
            (item, work, default),  # the item is not in that folder
            (f"{default}:999999", default, work),  # no such item
            (item, default, "999"),  # unknown destination
            (item, default, inbox),  # a mail folder cannot hold calendar items
            (item, default, default),  # source and destination the same
        ),
    )
    assert [(r["SrcMsgId"], r["Status"], r.get("DstMsgId")) for r in results(answer)] == [
        (item, "1", None),
        (item, "1", None),
        (f"{default}:999999", "1", None),
        (item, "2", None),
        (item, "2", None),
        (item, "4", None),
    ]
    missing = '<MoveItems xmlns="Move:"><Move><SrcMsgId>x</SrcMsgId></Move></MoveItems>'
    assert [r["Status"] for r in results(await phone.eas.command("MoveItems", missing))] == ["1"]
    no_destination = (
        f'<MoveItems xmlns="Move:"><Move><SrcMsgId>{item}</SrcMsgId>'
        f"<SrcFldId>{default}</SrcFldId></Move></MoveItems>"
    )
    statuses = [r["Status"] for r in results(await phone.eas.command("MoveItems", no_destination))]
    assert statuses == ["2"]
    assert (await calendar_uids(client))["Work"] == []
    assert command_count(await phone.sync("default")) == 0


async def test_malformed_request_is_status_103(client: TestClient) -> None:  # type: ignore[type-arg]
    phone = FolderPhone.of(client, "14.1", "DEV")
    await phone.folder_sync()
    wrong_root = await phone.eas.command("MoveItems", '<Sync xmlns="AirSync:"/>')
    assert wrong_root.find("/Move:MoveItems/Move:Status") == "103"
    empty = await phone.eas.command("MoveItems", '<MoveItems xmlns="Move:"/>')
    assert empty.find("/Move:MoveItems/Move:Status") == "103"
    no_body = await phone.eas.command("MoveItems")
    assert no_body.find("/Move:MoveItems/Move:Status") == "103"


async def test_a_move_interrupted_after_the_copy_completes_without_duplicates(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    """A crash between step 1 (the copy) and step 3 (the delete): the retry finds
    the UID in the destination and only removes the source."""
    phone = FolderPhone.of(client, "14.1", "DEV")
    await phone.start("default", "Work")
    add = f"<Add><ClientId>c1</ClientId>{event('14.1', 'Half', 'half@example.com')}</Add>"
    src_msg_id = (await phone.sync("default", add)).find("//AirSync:Responses//AirSync:ServerId")
    assert src_msg_id
    store = client.app[GATEWAY].store
    calendars = {c.display_name: c for c in await store.list_calendars(ALICE)}
    default = next(c for c in calendars.values() if c.is_default)
    (item,) = await store.get_items(
        ALICE, default.id, [ref.id for ref in await store.list_items(ALICE, default.id)]
    )
    await store.put_item(ALICE, calendars["Work"].id, item.ical, if_none_match=True)  # the copy

    move = move_xml((src_msg_id, phone.folders["default"], phone.folders["Work"]))
    (result,) = results(await phone.eas.command("MoveItems", move))
    assert result["Status"] == "3"
    assert await calendar_uids(client) == {"default": [], "Work": ["half@example.com"]}
    assert command_count(await phone.sync("default")) == 0
    assert command_count(await phone.sync("Work")) == 0
