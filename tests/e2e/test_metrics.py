"""``GET /metrics`` over loopback: the Prometheus text a scraper reads (easgw/metrics.py)."""

from __future__ import annotations

import asyncio

from aiohttp.test_utils import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.test_conference import add_meeting, client, phone
from tests.e2e.test_ping import ping

__all__ = ["client"]  # the fixture, imported for pytest


async def scrape(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:  # type: ignore[type-arg]
    """Every sample by (name, sorted labels), parsed by prometheus-client's own parser."""
    answer = await client.get("/metrics")
    assert answer.status == 200
    assert answer.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    text = await answer.text()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_metrics_count_requests_links_held_pings_and_the_outbox(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    before = await scrape(client)
    assert before[("easgw_held_requests", ())] == 0
    assert before[("easgw_conference_links_total", (("event", "created"),))] == 0
    assert before[("easgw_mail_outbox", (("state", "queued"),))] == 0

    device = await phone(client, "14.1", "DEVA")
    await device.sync(add_meeting("14.1", "c1", "Budget"))
    await device.sync()  # the link comes back as a Change; then nothing is pending
    waiting = asyncio.create_task(ping(device, [device.calendar], heartbeat=300))
    for _ in range(100):
        now = await scrape(client)
        if now[("easgw_held_requests", ())] == 1:
            break
        await asyncio.sleep(0.02)
    assert now[("easgw_held_requests", ())] == 1
    assert now[("easgw_conference_links_total", (("event", "created"),))] == 1
    syncs = now[("easgw_eas_requests_total", (("command", "Sync"), ("status", "200")))]
    assert syncs >= 3  # the initial Sync, the Add, the Change
    assert now[("easgw_eas_requests_total", (("command", "FolderSync"), ("status", "200")))] == 1
    waiting.cancel()


async def test_no_user_data_in_labels_and_no_auth_needed(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    device = await phone(client, "16.1", "DEVA")
    await device.sync(add_meeting("16.1", "c1", "Secret project"))
    text = await (await client.get("/metrics")).text()
    for private in ("alice", "DEVA", "Secret", "example.com"):
        assert private not in text
    assert (await client.post("/metrics")).status == 404
