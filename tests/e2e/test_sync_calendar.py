"""Calendar specifics of Sync over loopback HTTP: the FilterType window (what enters,
what leaves, recurring series counted once) and 16.x edits and deletes of one
occurrence by InstanceId.

The Phone client, the gateway fixtures and the event helpers come from test_sync.py."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from easgw.app import GATEWAY
from tests.e2e.test_sync import (
    ALICE,
    _phone,
    _vevent,
    client,
    command_count,
    commands,
    config,
    stored,
    subjects_of,
)
from tests.harness import Answer

# Fixtures are found by name (client needs config): listing them keeps the imports.
__all__ = ["client", "config"]


async def test_filter_type_window_and_change(client: TestClient) -> None:  # type: ignore[type-arg]
    a = _phone(client, "14.1", "DEVA")
    store = client.app[GATEWAY].store
    calendar = next(c for c in await store.list_calendars(ALICE) if c.is_default)
    await store.put_item(ALICE, calendar.id, _vevent("old", "20200101T100000Z"))
    await store.put_item(ALICE, calendar.id, _vevent("soon", "20301201T100000Z"))
    await store.put_item(
        ALICE,
        calendar.id,
        _vevent("weekly", "20200106T100000Z", "RRULE:FREQ=WEEKLY\r\n"),  # endless series
    )
    await store.put_item(
        ALICE,
        calendar.id,
        _vevent("ended", "20200106T100000Z", "RRULE:FREQ=WEEKLY;UNTIL=20200301T000000Z\r\n"),
    )

    def subjects(answer: Answer, kind: str = "Add") -> set[str]:
        return {texts["Subject"] for texts in commands(answer, kind).values()}

    two_weeks = "<Options><FilterType>4</FilterType></Options>"
    await a.start(extra=two_weeks)
    assert subjects(await a.sync(extra=two_weeks)) == {"soon", "weekly"}
    everything = "<Options><FilterType>0</FilterType></Options>"
    assert subjects(await a.sync(extra=everything)) == {"old", "ended"}
    narrowed = await a.sync(extra=two_weeks)
    assert len(narrowed.findall("//AirSync:Commands/AirSync:SoftDelete")) == 2
    assert command_count(await a.sync(extra=two_weeks)) == 0


async def test_sixteen_instance_edit_and_delete(client: TestClient) -> None:  # type: ignore[type-arg]
    new, old = _phone(client, "16.1", "NEW"), _phone(client, "14.1", "OLD")
    store = client.app[GATEWAY].store
    calendar = next(c for c in await store.list_calendars(ALICE) if c.is_default)
    series = _vevent(
        "series", "20261207T100000Z", "DTEND:20261207T110000Z\r\nRRULE:FREQ=WEEKLY;COUNT=4\r\n"
    )
    ref = await store.put_item(ALICE, calendar.id, series)
    await new.start()
    await old.start()
    (server_id,) = commands(await new.sync(), "Add")
    await old.sync()
    edit = (
        f"<Change><ServerId>{server_id}</ServerId><B:InstanceId>20261214T100000Z</B:InstanceId>"
        "<ApplicationData><C:Subject>Moved once</C:Subject></ApplicationData></Change>"
    )
    assert (await new.sync(edit)).findall("//AirSync:Responses/*") == []
    (item,) = await store.get_items(ALICE, calendar.id, [ref.id])
    assert "RECURRENCE-ID" in item.ical and "Moved once" in item.ical
    assert "RRULE:FREQ=WEEKLY;COUNT=4" in item.ical
    changed = await old.sync()
    exception = changed.findall("//AirSync:Change//Calendar:Exception")
    assert [e.findtext("{Calendar:}Subject") for e in exception] == ["Moved once"]
    assert command_count(await new.sync()) == 0

    drop = (
        f"<Delete><ServerId>{server_id}</ServerId>"
        "<B:InstanceId>20261221T100000Z</B:InstanceId></Delete>"
    )
    await new.sync(drop)
    (item,) = await store.get_items(ALICE, calendar.id, [ref.id])
    assert "EXDATE" in item.ical
    assert len(await stored(client)) == 1
    deleted = [
        e.findtext("{Calendar:}Deleted")
        for e in (await old.sync()).findall("//AirSync:Change//Calendar:Exception")
    ]
    assert "1" in deleted


async def test_filter_type_window_bounds_count_series(client: TestClient) -> None:  # type: ignore[type-arg]
    """A series bounded by COUNT is in the window exactly while its last instance is."""
    from datetime import UTC, datetime, timedelta

    a = _phone(client, "14.1", "DEVC")
    store = client.app[GATEWAY].store
    calendar = next(c for c in await store.list_calendars(ALICE) if c.is_default)
    now = datetime.now(UTC)
    ended = f"{now - timedelta(days=74):%Y%m%dT100000Z}"  # the third week: 60 days ago
    running = f"{now - timedelta(days=60):%Y%m%dT100000Z}"
    for uid, start, count in (("ended", ended, 3), ("running", running, 300)):
        rule = f"RRULE:FREQ=WEEKLY;COUNT={count}\r\n"
        await store.put_item(ALICE, calendar.id, _vevent(uid, start, rule))
    thirty_days = "<Options><FilterType>5</FilterType></Options>"
    await a.start(extra=thirty_days)
    assert subjects_of(await a.sync(extra=thirty_days)) == {"running"}
    everything = "<Options><FilterType>0</FilterType></Options>"
    assert subjects_of(await a.sync(extra=everything)) == {"ended"}
