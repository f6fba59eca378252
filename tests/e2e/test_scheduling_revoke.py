"""A revoked (leaked) link is replaced for the attendees too, not only on the organizer's event.

`easgw links revoke` runs as an admin runs it (a child process on the server's
data dir): Bob's copy on the embedded store gets the new link, and Bob and
Carol get an updated iMIP REQUEST with it (no phone would send that one), from
the real SMTP server on loopback.
"""

from __future__ import annotations

from pathlib import Path

from easgw.app import create_app
from easgw.config import load_config
from tests.e2e.test_conference import BASE_CONFIG, ROOM, stored_icals, unfolded
from tests.e2e.test_scheduling import CAROL, add, bobs_icals, calendar_part, phone
from tests.e2e.test_sync import ClientFactory
from tests.easgw.test_cli_providers import easgw
from tests.harness import add_user
from tests.mail_server import MailServer, smtp_config_text

UID = "leaked-2"


async def test_a_revoked_link_is_replaced_in_the_attendees_copies_and_mail(
    aiohttp_client: ClientFactory, tmp_path: Path, mail_server: MailServer
) -> None:
    path = tmp_path / "easgw.toml"
    data_dir = f'[server]\ndata_dir = "{tmp_path / "data"}"\n'
    path.write_text(BASE_CONFIG.replace("[server]\n", data_dir, 1) + smtp_config_text(mail_server))
    config = load_config(str(path), env={})
    await add_user(config, "alice", "secret", "alice@example.com")
    await add_user(config, "bob", "secret", "bob@example.com")
    client = await aiohttp_client(create_app(config))
    alice = await phone(client, "alice")
    await alice.sync(add("16.1", "c1", "Budget review", uid=UID))
    (invitation,) = await mail_server.wait_for(1)
    (first,) = set(ROOM.findall(calendar_part(invitation)))
    (copy,) = await bobs_icals(client)
    assert first in unfolded(copy)
    [stored] = await stored_icals(client)
    uid = next(x for x in unfolded(stored).splitlines() if x.startswith("UID:"))[4:]

    status, out, err = await easgw("links", "revoke", uid, "--config", str(path))
    assert status == 0, err
    assert "the event now carries a new link" in out
    update = (await mail_server.wait_for(2))[1]
    assert sorted(update.rcpt_tos) == sorted(["bob@example.com", CAROL])
    assert update.message["Subject"] == "Updated invitation: Budget review"
    (second,) = set(ROOM.findall(calendar_part(update)))
    assert second != first
    (copy,) = await bobs_icals(client)
    assert second in unfolded(copy) and first not in unfolded(copy)
