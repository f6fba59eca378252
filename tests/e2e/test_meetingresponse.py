"""MeetingResponse over loopback HTTP at 14.1 and 16.1: invitations held in the calendar."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from easgw.app import GATEWAY, create_app
from providers.stores.base import Item
from tests.e2e.folder_phone import ALICE, FolderPhone, command_count, commands
from tests.harness import Answer, add_user, make_config

ClientFactory = Callable[..., Awaitable[TestClient]]  # type: ignore[type-arg]
VERSIONS = ["14.1", "16.1"]


@pytest.fixture
async def client(aiohttp_client: ClientFactory, tmp_path: Path) -> TestClient:  # type: ignore[type-arg]
    config = make_config(tmp_path, "[policy]\nrequired = false\n")
    await add_user(config, "alice", "secret", "alice@example.com")
    return await aiohttp_client(create_app(config))


def invitation(uid: str, *, organizer: str = "bob@example.com", extra: str = "") -> str:
    """Bob's meeting as it sits in Alice's calendar, not answered yet."""
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20261125T120000Z\r\nDTSTART:20261207T100000Z\r\n"
        f"DTEND:20261207T110000Z\r\nSUMMARY:Planning\r\n{extra}"
        f"ORGANIZER;CN=Bob:mailto:{organizer}\r\n"
        "ATTENDEE;CN=Alice;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:alice@example.com\r\n"
        "ATTENDEE;CN=Bob;PARTSTAT=ACCEPTED:mailto:bob@example.com\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )


async def seed(client: TestClient, ical: str) -> tuple[str, str]:  # type: ignore[type-arg]
    """Store ``ical`` in the default calendar: (calendar id, item id)."""
    store = client.app[GATEWAY].store
    calendar = next(c for c in await store.list_calendars(ALICE) if c.is_default)
    ref = await store.put_item(ALICE, calendar.id, ical)
    return calendar.id, ref.id


async def stored(client: TestClient, calendar_id: str, item_id: str) -> Item | None:  # type: ignore[type-arg]
    found = await client.app[GATEWAY].store.get_items(ALICE, calendar_id, [item_id])
    return found[0] if found else None


def respond_xml(answer: int, collection: str, request_id: str, extra: str = "") -> str:
    return (
        '<MeetingResponse xmlns="MeetingResponse:" xmlns:B="AirSyncBase:"><Request>'
        f"<UserResponse>{answer}</UserResponse><CollectionId>{collection}</CollectionId>"
        f"<RequestId>{request_id}</RequestId>{extra}</Request></MeetingResponse>"
    )


def results(answer: Answer) -> list[dict[str, str]]:
    assert answer.status == 200, answer.body
    return [
        {str(child.tag).split("}")[1]: child.text or "" for child in result}
        for result in answer.findall("/MeetingResponse:MeetingResponse/MeetingResponse:Result")
    ]


def attendee_status(data_owner: Answer, email: str) -> list[str]:
    """AttendeeStatus of ``email`` in every Attendee of the answer's Commands (series first)."""
    return [
        attendee.findtext("{Calendar:}AttendeeStatus") or ""
        for attendee in data_owner.findall("//AirSync:Commands//Calendar:Attendee")
        if attendee.findtext("{Calendar:}Email") == email
    ]


@pytest.mark.parametrize("version", VERSIONS)
async def test_accept_twice_leaves_one_accepted_event(
    client: TestClient,  # type: ignore[type-arg]
    version: str,
) -> None:
    calendar_id, item_id = await seed(client, invitation("invite-1@example.com"))
    phone, other = (
        FolderPhone.of(client, version, "PHONE"),
        FolderPhone.of(client, version, "OTHER"),
    )
    await phone.start("default")
    await other.start("default")
    added = commands(await phone.sync("default"), "Add")
    (request_id,) = added
    # Before any answer, the invitation reads as received and not yet answered
    # (MS-ASCAL MeetingStatus 3, ResponseType 5), from the attendee's PARTSTAT.
    assert (added[request_id]["MeetingStatus"], added[request_id]["ResponseType"]) == ("3", "5")
    await other.sync("default")
    default = phone.folders["default"]

    first = results(await phone.eas.command("MeetingResponse", respond_xml(1, default, request_id)))
    assert first == [{"RequestId": request_id, "Status": "1", "CalendarId": request_id}]
    accepted = await stored(client, calendar_id, item_id)
    assert accepted is not None
    assert "PARTSTAT=ACCEPTED:mailto:alice@example.com" in accepted.ical.replace("\r\n ", "")
    assert "RSVP" not in accepted.ical

    # iOS sends it twice: the same answer, and the event is left exactly as it was.
    again = results(await phone.eas.command("MeetingResponse", respond_xml(1, default, request_id)))
    assert again == first
    assert await stored(client, calendar_id, item_id) == accepted
    assert len(await client.app[GATEWAY].store.list_items(ALICE, calendar_id)) == 1

    for device in (phone, other):
        changed = await device.sync("default")
        data = commands(changed, "Change")[request_id]
        assert data["ResponseType"] == "3"
        assert data["MeetingStatus"] == "3"
        assert data["BusyStatus"] == "2"
        assert attendee_status(changed, "alice@example.com") == ["3"]
        assert command_count(await device.sync("default")) == 0


@pytest.mark.parametrize("version", VERSIONS)
async def test_tentative_then_decline_removes_the_meeting(
    client: TestClient,  # type: ignore[type-arg]
    version: str,
) -> None:
    calendar_id, item_id = await seed(client, invitation("invite-2@example.com"))
    phone = FolderPhone.of(client, version, "PHONE")
    await phone.start("default")
    (request_id,) = commands(await phone.sync("default"), "Add")
    default = phone.folders["default"]

    tentative = await phone.eas.command("MeetingResponse", respond_xml(2, default, request_id))
    assert results(tentative)[0]["Status"] == "1"
    data = commands(await phone.sync("default"), "Change")[request_id]
    assert (data["ResponseType"], data["BusyStatus"]) == ("2", "1")

    # Decline: MS-ASCMD says the server deletes the calendar item; no CalendarId.
    declined = results(
        await phone.eas.command("MeetingResponse", respond_xml(3, default, request_id))
    )
    assert declined == [{"RequestId": request_id, "Status": "1"}]
    assert await stored(client, calendar_id, item_id) is None
    again = results(await phone.eas.command("MeetingResponse", respond_xml(3, default, request_id)))
    assert again == declined
    assert list(commands(await phone.sync("default"), "Delete")) == [request_id]
    # Accepting a meeting no longer there names nothing.
    gone = results(await phone.eas.command("MeetingResponse", respond_xml(1, default, request_id)))
    assert gone == [{"RequestId": request_id, "Status": "2"}]


async def test_sixteen_instance_answer_makes_one_override(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    series = invitation("weekly-1@example.com", extra="RRULE:FREQ=WEEKLY;COUNT=4\r\n")
    calendar_id, item_id = await seed(client, series)
    phone, other = FolderPhone.of(client, "16.1", "PHONE"), FolderPhone.of(client, "14.1", "OTHER")
    await phone.start("default")
    await other.start("default")
    added = commands(await phone.sync("default"), "Add")
    (request_id,) = added
    # Before any answer, the invitation reads as received and not yet answered
    # (MS-ASCAL MeetingStatus 3, ResponseType 5), from the attendee's PARTSTAT.
    assert (added[request_id]["MeetingStatus"], added[request_id]["ResponseType"]) == ("3", "5")
    await other.sync("default")
    default = phone.folders["default"]
    instance = "<InstanceId>2026-12-14T10:00:00.000Z</InstanceId>"

    xml = respond_xml(2, default, request_id, instance)
    first = results(await phone.eas.command("MeetingResponse", xml))
    assert first == [
        {
            "RequestId": request_id,
            "Status": "1",
            "CalendarId": request_id,
            "InstanceId": "2026-12-14T10:00:00.000Z",
        }
    ]
    answered = await stored(client, calendar_id, item_id)
    assert answered is not None
    text = answered.ical.replace("\r\n ", "")
    assert text.count("RECURRENCE-ID") == 1
    assert "RECURRENCE-ID:20261214T100000Z" in text
    assert "PARTSTAT=TENTATIVE:mailto:alice@example.com" in text
    assert "PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:alice@example.com" in text  # the series
    assert results(await phone.eas.command("MeetingResponse", xml)) == first
    assert await stored(client, calendar_id, item_id) == answered  # no second override

    changed = await other.sync("default")
    (exception,) = changed.findall("//AirSync:Change//Calendar:Exception")
    statuses = {
        a.findtext("{Calendar:}Email"): a.findtext("{Calendar:}AttendeeStatus")
        for a in exception.iter("{Calendar:}Attendee")
    }
    assert statuses["alice@example.com"] == "2"
    assert exception.findtext("{Calendar:}ExceptionStartTime") == "20261214T100000Z"

    # Declining another occurrence removes just that one.
    other_instance = respond_xml(
        3, default, request_id, "<InstanceId>20261221T100000Z</InstanceId>"
    )
    declined = results(await phone.eas.command("MeetingResponse", other_instance))
    assert declined[0]["Status"] == "1" and "CalendarId" not in declined[0]
    after = await stored(client, calendar_id, item_id)
    assert after is not None and "EXDATE:20261221T100000Z" in after.ical
    assert results(await phone.eas.command("MeetingResponse", other_instance)) == declined

    # No such occurrence: Status 2.
    wrong = respond_xml(1, default, request_id, "<InstanceId>2026-12-15T10:00:00.000Z</InstanceId>")
    assert results(await phone.eas.command("MeetingResponse", wrong))[0]["Status"] == "2"


@pytest.mark.parametrize("version", VERSIONS)
async def test_requests_that_name_no_meeting(
    client: TestClient,  # type: ignore[type-arg]
    version: str,
) -> None:
    await seed(client, invitation("single@example.com"))
    await seed(client, invitation("mine@example.com", organizer="alice@example.com"))
    phone = FolderPhone.of(client, version, "PHONE")
    await phone.start("default")
    added = commands(await phone.sync("default"), "Add")
    by_uid = {data["UID"]: server_id for server_id, data in added.items()}
    default, inbox = phone.folders["default"], phone.folders["inbox"]
    single, mine = by_uid["single@example.com"], by_uid["mine@example.com"]
    cases = [
        respond_xml(1, inbox, "1:1"),  # a mail folder: easgw holds no meeting requests
        respond_xml(1, "999", single),  # no such folder
        respond_xml(1, default, f"{default}:999999"),  # no such item
        respond_xml(1, default, mine),  # the user is the organizer
        respond_xml(4, default, single),  # no such UserResponse
    ]
    for xml in cases:
        assert results(await phone.eas.command("MeetingResponse", xml))[0]["Status"] == "2", xml
    instance = "<InstanceId>2026-12-07T10:00:00.000Z</InstanceId>"
    not_recurring = results(
        await phone.eas.command("MeetingResponse", respond_xml(1, default, single, instance))
    )
    assert not_recurring[0]["Status"] == "146"
    bad_time = respond_xml(1, default, single, "<InstanceId>yesterday</InstanceId>")
    assert results(await phone.eas.command("MeetingResponse", bad_time))[0]["Status"] == "104"
    assert command_count(await phone.sync("default")) == 0  # nothing was written


async def test_send_response_is_accepted_at_sixteen(client: TestClient) -> None:  # type: ignore[type-arg]
    calendar_id, item_id = await seed(client, invitation("reply@example.com"))
    phone = FolderPhone.of(client, "16.1", "PHONE")
    await phone.start("default")
    (request_id,) = commands(await phone.sync("default"), "Add")
    send = (
        "<SendResponse><B:Body><B:Type>1</B:Type><B:Data>See you there</B:Data></B:Body>"
        "</SendResponse>"
    )
    xml = respond_xml(1, phone.folders["default"], request_id, send)
    assert results(await phone.eas.command("MeetingResponse", xml))[0]["Status"] == "1"
    item = await stored(client, calendar_id, item_id)
    assert item is not None and "PARTSTAT=ACCEPTED" in item.ical
