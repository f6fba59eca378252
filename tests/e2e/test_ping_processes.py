"""Two gateway processes on one PostgreSQL: a write through one wakes a Ping held by the other.

DESIGN.md (Scale): many processes serve one database behind a load balancer,
and a change made through one process wakes Pings held by another through
PostgreSQL LISTEN/NOTIFY (easgw/push/pg_bridge.py). Here the two "processes" are
two gateway applications, each with its own hub, pools and LISTEN connection,
served on loopback; device A talks to the first, device B to the second.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import asyncpg
from aiohttp.test_utils import TestClient

from easgw.app import GATEWAY, create_app
from easgw.push.pg_bridge import APPLICATION_NAME
from tests.databases import POSTGRES_HOST, POSTGRES_PORT, POSTGRES_USER
from tests.e2e.test_ping import CONFIG, calendar_ref, held, ping, status
from tests.e2e.test_sync import ClientFactory, Phone, _phone, add, commands
from tests.harness import add_user, make_config


async def _gateways(
    aiohttp_client: ClientFactory, tmp_path: Path, url: str
) -> tuple[TestClient, TestClient]:  # type: ignore[type-arg]
    first = make_config(tmp_path / "one", CONFIG, database_url=url)
    await add_user(first, "alice", "secret", "alice@example.com")
    second = make_config(tmp_path / "two", CONFIG, database_url=url)
    return await aiohttp_client(create_app(first)), await aiohttp_client(create_app(second))


async def _started(client: TestClient, version: str, device_id: str) -> Phone:  # type: ignore[type-arg]
    phone = _phone(client, version, device_id)
    await phone.start()
    await phone.sync()
    return phone


async def test_a_write_through_one_process_wakes_a_ping_held_by_another(
    aiohttp_client: ClientFactory, tmp_path: Path, postgresql_url: str
) -> None:
    one, two = await _gateways(aiohttp_client, tmp_path, postgresql_url)
    a = await _started(one, "16.1", "DEVA")
    b = await _started(two, "16.1", "DEVB")
    _, ref = await calendar_ref(two)
    waiting = asyncio.create_task(ping(b, [b.calendar], heartbeat=20))
    await held(two, ref, 1)

    added = time.monotonic()
    await a.sync(add("16.1", "c1", "Standup", uid="standup-1"))
    answer = await asyncio.wait_for(waiting, 5)
    assert time.monotonic() - added < 1
    assert status(answer) == "2"
    assert [f.text for f in answer.findall("//Ping:Folders/Ping:Folder")] == [b.calendar]
    assert two.app[GATEWAY].bridge is not None and two.app[GATEWAY].bridge.received >= 1
    got = await b.sync()
    assert [data["Subject"] for data in commands(got, "Add").values()] == ["Standup"]


async def test_the_writers_own_ping_in_another_process_stays_held(
    aiohttp_client: ClientFactory, tmp_path: Path, postgresql_url: str
) -> None:
    """The echo rule holds across processes: A writes through the first process
    while A's Ping is held by the second; the notification wakes the hold, which
    finds nothing that concerns A and goes on holding."""
    one, two = await _gateways(aiohttp_client, tmp_path, postgresql_url)
    a_one = await _started(one, "16.1", "DEVA")
    a_two = _phone(two, "16.1", "DEVA")  # the same device, through the other process
    a_two.calendar, a_two.key = a_one.calendar, a_one.key
    _, ref = await calendar_ref(two)
    waiting = asyncio.create_task(ping(a_two, [a_two.calendar], heartbeat=20))
    await held(two, ref, 1)
    await a_one.sync(add("16.1", "c1", "Mine", uid="mine-1"))
    bridge = two.app[GATEWAY].bridge
    assert bridge is not None
    for _ in range(100):  # the notification arrives...
        if bridge.received:
            break
        await asyncio.sleep(0.01)
    assert bridge.received >= 1
    await asyncio.sleep(0.3)
    assert not waiting.done()  # ...and A's own write does not answer A's Ping
    waiting.cancel()


async def test_the_bridge_reconnects_after_the_server_ends_its_connection(
    aiohttp_client: ClientFactory, tmp_path: Path, postgresql_url: str
) -> None:
    """PostgreSQL ends the LISTEN connections (an admin's pg_terminate_backend, a
    restart): each bridge opens a new one, and a write through one process wakes
    a Ping held by the other again."""
    one, two = await _gateways(aiohttp_client, tmp_path, postgresql_url)
    bridge = two.app[GATEWAY].bridge
    assert bridge is not None and bridge.connections == 1
    database = postgresql_url.rsplit("/", 1)[1]
    admin = await asyncpg.connect(
        user=POSTGRES_USER, host=POSTGRES_HOST, port=POSTGRES_PORT, database="postgres"
    )
    try:
        ended = await admin.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name = $1 AND datname = $2",
            APPLICATION_NAME,
            database,
        )
    finally:
        await admin.close()
    assert len(ended) == 2  # one bridge per gateway
    bridges = [two.app[GATEWAY].bridge, one.app[GATEWAY].bridge]
    for _ in range(300):
        if all(b is not None and b.connections == 2 for b in bridges):
            break
        await asyncio.sleep(0.01)
    assert all(b is not None and b.connections == 2 for b in bridges)

    a = await _started(one, "16.1", "DEVA")
    b = await _started(two, "16.1", "DEVB")
    _, ref = await calendar_ref(two)
    waiting = asyncio.create_task(ping(b, [b.calendar], heartbeat=20))
    await held(two, ref, 1)
    await a.sync(add("16.1", "c1", "After the restart", uid="restart-1"))
    answer = await asyncio.wait_for(waiting, 5)
    assert status(answer) == "2"
