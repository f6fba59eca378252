"""`easgw links list|show|revoke|stats` as an admin runs them (subprocesses), on the
registry a phone's meeting filled through a real server on loopback."""

from __future__ import annotations

from pathlib import Path

from aiohttp.test_utils import TestClient

from easgw.app import GATEWAY, create_app
from easgw.config import load_config
from tests.e2e.test_conference import (
    BASE_CONFIG,
    ROOM,
    add_meeting,
    phone,
    stored_icals,
    unfolded,
)
from tests.e2e.test_sync import ALICE, ClientFactory, commands
from tests.easgw.test_cli_providers import easgw
from tests.harness import add_user

UID = "leaked-meeting-1"


async def _server(aiohttp_client: ClientFactory, tmp_path: Path) -> tuple[TestClient, str]:  # type: ignore[type-arg]
    path = tmp_path / "easgw.toml"
    path.write_text(
        BASE_CONFIG.replace("[server]\n", f'[server]\ndata_dir = "{tmp_path / "data"}"\n', 1)
    )
    config = load_config(str(path), env={})
    await add_user(config, "alice", "secret", "alice@example.com")
    return await aiohttp_client(create_app(config)), str(path)


async def test_list_show_stats_and_revoke_a_leaked_link(
    aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    client, config = await _server(aiohttp_client, tmp_path)
    device = await phone(client, "14.1", "DEVA")
    added = await device.sync(add_meeting("14.1", "c1", "Budget", uid=UID))
    server_id = added.find("//AirSync:Responses/AirSync:Add/AirSync:ServerId")
    assert server_id
    first = commands(await device.sync(), "Change")[server_id]["OnlineMeetingExternalLink"]
    assert ROOM.fullmatch(first)

    status, out, err = await easgw("links", "list", "--config", config)
    assert status == 0, err
    assert out.splitlines() == [f"{UID}\talice\tjitsi\tactive\t{first}"]
    status, out, err = await easgw("links", "list", "--user", "alice", "--config", config)
    assert status == 0, err
    assert out.count("\n") == 1
    status, out, err = await easgw("links", "list", "--user", "nobody", "--config", config)
    assert status == 2
    assert "no user nobody" in err

    status, out, err = await easgw("links", "show", UID, "--config", config)
    assert status == 0, err
    fields = dict(line.split(": ", 1) for line in out.splitlines())
    assert fields["calendar_url"] == first
    assert fields["conference_id"] == first.rpartition("/")[2]
    assert fields["summary"] == "Budget"
    assert fields["organizer"] == "alice@example.com"
    assert fields["status"] == "active"
    assert fields["join_via_gateway"] == "no"

    status, out, err = await easgw("links", "stats", "--config", config)
    assert status == 0, err
    assert "created: 1\n" in out
    assert "revoked: 0\n" in out

    # Revoke: the stored event is re-written at once with a new link.
    status, out, err = await easgw("links", "revoke", UID, "--config", config)
    assert status == 0, err
    assert "revoked 1 link(s)" in out
    assert "the event now carries a new link" in out
    status, out, err = await easgw("links", "list", "--config", config)
    assert status == 0, err
    old, new = (line.split("\t") for line in out.splitlines())
    assert old == [UID, "alice", "jitsi", "revoked", first]
    assert new[:4] == [UID, "alice", "jitsi", "active"]
    second = new[4]
    assert ROOM.fullmatch(second)
    assert second != first
    [ical] = await stored_icals(client)
    assert first not in unfolded(ical)
    assert unfolded(ical).count(f"X-EASGW-CONFERENCE:{second}") == 1
    assert unfolded(ical).count("Video conference ~") == 1

    # The phone gets the new link as a Change on its next Sync.
    got = commands(await device.sync(), "Change")[server_id]
    assert got["OnlineMeetingExternalLink"] == second
    assert got["Data"].count(second) == 1
    assert first not in got["Data"]

    status, out, err = await easgw("links", "stats", "--config", config)
    assert status == 0, err
    stats = dict(line.split(": ") for line in out.splitlines())
    assert stats["created"] == "2"
    assert stats["revoked"] == "1"
    assert stats["active"] == "1"
    assert stats["rows"] == "2"

    # An event gone from the store (deleted elsewhere): the row is revoked, the next
    # save of the event (if it comes back) makes the new link.
    await device.sync(add_meeting("14.1", "c2", "Gone", uid="gone-1"))
    store = client.app[GATEWAY].store
    [calendar] = [c for c in await store.list_calendars(ALICE) if c.is_default]
    [gone] = [r for r in await store.list_items(ALICE, calendar.id) if r.uid == "gone-1"]
    await store.delete_item(ALICE, calendar.id, gone.id)
    status, out, err = await easgw(
        "links", "revoke", "gone-1", "--user", "alice", "--config", config
    )
    assert status == 0, err
    assert "revoked 1 link(s) of gone-1" in out
    assert "the next save of the event makes a new link" in out
    status, out, err = await easgw("links", "list", "--config", config)
    assert [line.split("\t")[3] for line in out.splitlines()] == ["revoked", "active", "revoked"]

    # Nothing live left to revoke under another UID; unknown UIDs are one-line errors.
    status, out, err = await easgw("links", "revoke", "no-such-uid", "--config", config)
    assert status == 2
    assert err.startswith("easgw links: no live conference link")
    status, out, err = await easgw("links", "show", "no-such-uid", "--config", config)
    assert status == 2
    assert "Traceback" not in err
