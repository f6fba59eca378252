"""``easgw links list|show|revoke|stats``: the conference-link registry for an admin.

- ``list [--user U]``: one row a line, tab-separated: ``UID USER PROVIDER STATUS URL``
  (URL is the one the calendar carries; ``-`` while pending), oldest first.
- ``show UID``: every field of every row of that event UID (``key: value`` lines,
  rows separated by a blank line).
- ``revoke UID [--user U]``: for a leaked link. The event's live rows (pending or
  active) become ``revoked`` and the stored event is re-written at once through the
  store with the link policy applied (easgw/conference.py ``on_write``): the revoked
  row no longer counts, so a new row and a new link replace the old one on the event,
  and the phones get the new link on their next Sync (the stored event changed, so it
  goes out as a Change; on PostgreSQL the command announces the change to the
  running gateway processes over LISTEN/NOTIFY, so a Ping they hold answers at once;
  on SQLite a held Ping answers at its heartbeat). With
  ``store.scheduling = "gateway"`` the attendees get the new link too: their copies
  on the embedded store are re-written and an updated iMIP REQUEST is relayed
  (easgw/scheduling/outgoing.py ``schedule_write``). If the event cannot be
  re-written now (the store refuses, needs the user's own password, or the event is
  gone), the row stays revoked and the next save of the event makes the new link; the
  command says so.
- ``stats``: counters summed over the registry's rows, so they include every
  process's work (a separate process cannot see a server's in-memory
  :class:`easgw.conference.LinkCounters`; each row counts its own events in the
  transaction that writes it, so no shared counter row serializes the writers):
  ``created`` (rows that got a link), ``reused`` (saves that kept, re-activated or
  adopted a link: sum of ``reuse_count``), ``removed`` (removals: sum of
  ``removal_count``), ``failed`` (provider create or update calls that failed: sum of
  ``failure_count``), then the rows by status now (``active``, ``pending``,
  ``revoked``; ``removed_now``) and ``rows``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from easgw.cli.common import add_common, config_from, with_gateway
from easgw.cli.errors import CliError
from easgw.commands.sync.ids import begin_immediate
from easgw.conference_registry import LIVE, list_rows, set_status
from easgw.gateway import Gateway
from easgw.mail.outbox import Outbox
from easgw.push.pg_bridge import PgBridge, is_postgresql
from easgw.scheduling.outgoing import schedule_write
from easgw.state.conference_models import ConferenceLinkRow, LinkStatus
from easgw.state.models import User
from easgw.users import UserError, Users
from providers.stores.base import StoreError, StoreUser, SupportsSharedSession, find_uid

__all__ = ["add_parsers"]


async def _logins(session: AsyncSession) -> dict[int, User]:
    return {user.id: user for user in (await session.execute(select(User))).scalars()}


async def _rows(
    session: AsyncSession, login: str | None, uid: str | None = None
) -> Sequence[ConferenceLinkRow]:
    user_id = (await Users(session).require(login)).id if login else None
    return await list_rows(session, user_id=user_id, uid=uid)


def _run(args: argparse.Namespace, work: Callable[[Gateway], Awaitable[None]]) -> None:
    try:
        asyncio.run(with_gateway(config_from(args), work))
    except UserError as exc:
        raise CliError(str(exc)) from None


def cmd_list(args: argparse.Namespace, stdin: BinaryIO, stdout: BinaryIO) -> int:
    del stdin

    async def work(gateway: Gateway) -> None:
        async with gateway.database.sessions() as session:
            users = await _logins(session)
            for row in await _rows(session, args.user):
                login = users[row.user_id].login if row.user_id in users else "?"
                line = f"{row.uid}\t{login}\t{row.provider_id}\t{row.status}\t"
                stdout.write(f"{line}{row.calendar_url or '-'}\n".encode())

    _run(args, work)
    return 0


def _fields(row: ConferenceLinkRow, login: str) -> dict[str, object]:
    return {
        "uid": row.uid,
        "recurrence_id": row.recurrence_id or "-",
        "user": login,
        "organizer": row.organizer,
        "provider": row.provider_id,
        "status": row.status,
        "calendar_url": row.calendar_url or "-",
        "provider_url": row.url or "-",
        "conference_id": row.conference_id or "-",
        "join_via_gateway": "yes" if row.join_via_gateway else "no",
        "summary": row.summary,
        "starts": row.starts.isoformat() if row.starts else "-",
        "ends": row.ends.isoformat() if row.ends else "-",
        "failures": row.failures,
        "reuse_count": row.reuse_count,
        "removal_count": row.removal_count,
        "failure_count": row.failure_count,
        "created": row.created.isoformat(),
        "updated": row.updated.isoformat(),
        "text": (row.text or "-").replace("\n", "\\n"),
    }


def cmd_show(args: argparse.Namespace, stdin: BinaryIO, stdout: BinaryIO) -> int:
    del stdin

    async def work(gateway: Gateway) -> None:
        async with gateway.database.sessions() as session:
            rows = await _rows(session, args.user, args.uid)
            if not rows:
                raise CliError(f"no conference link for UID {args.uid!r}")
            users = await _logins(session)
            blocks = []
            for row in rows:
                login = users[row.user_id].login if row.user_id in users else "?"
                fields = _fields(row, login)
                blocks.append("".join(f"{key}: {value}\n" for key, value in fields.items()))
            stdout.write("\n".join(blocks).encode())

    _run(args, work)
    return 0


async def _rewrite(
    gateway: Gateway, session: AsyncSession, user: User, uid: str, *, joined: bool
) -> bool:
    """Re-write the user's stored event ``uid`` with the link policy applied; found?

    The attendees hear of the new link as of any organizer's change
    (easgw/scheduling/outgoing.py): local copies re-written, an updated iMIP
    REQUEST queued (no phone will send that one)."""
    store, who = gateway.store, StoreUser(login=user.login, email=user.email)
    for calendar in await store.list_calendars(who):
        ref = await find_uid(store, who, calendar.id, uid)
        if ref is None:
            continue
        found = await store.get_items(who, calendar.id, [ref.id])
        if not found:
            return False
        ical = await gateway.conference.on_write(session, user, found[0].ical)
        await store.put_item(
            who, calendar.id, ical, item_id=found[0].ref.id, if_match=found[0].ref.etag
        )
        await schedule_write(
            gateway, session, user, found[0].ical, ical, joined=joined, send_mail=True
        )
        return True
    return False


async def _revoke(gateway: Gateway, args: argparse.Namespace) -> tuple[int, int]:
    """(rows revoked, events re-written) in one transaction."""
    async with gateway.database.sessions() as session, session.begin():
        await begin_immediate(session)
        rows = [r for r in await _rows(session, args.user, args.uid) if r.status in LIVE]
        if not rows:
            raise CliError(f"no live conference link for UID {args.uid!r}")
        for row in rows:
            set_status(row, LinkStatus.REVOKED)
        await session.flush()
        users = await _logins(session)
        rewritten = 0
        store = gateway.store
        for user_id in sorted({row.user_id for row in rows}):
            shared = isinstance(store, SupportsSharedSession) and (
                getattr(store, "engine", None) is gateway.database.engine
            )
            try:
                if shared:
                    assert isinstance(store, SupportsSharedSession)
                    async with store.joined(session):
                        rewritten += await _rewrite(
                            gateway, session, users[user_id], args.uid, joined=True
                        )
                else:
                    rewritten += await _rewrite(
                        gateway, session, users[user_id], args.uid, joined=False
                    )
            except StoreError:
                pass  # the row stays revoked: the event's next save makes the new link
        return len(rows), rewritten


@contextlib.asynccontextmanager
async def _announcing(gateway: Gateway) -> AsyncIterator[None]:
    """On PostgreSQL, the running gateway processes hear of the re-written events
    (easgw/push/pg_bridge.py), so the phones' held Pings answer at once."""
    if not is_postgresql(gateway.config.database_url):
        yield
        return
    bridge = PgBridge(gateway.config.database_url, gateway.hub)
    await bridge.start()
    gateway.bridge = bridge
    try:
        yield
        await bridge.flush()
    finally:
        gateway.bridge = None
        await bridge.close()


def cmd_revoke(args: argparse.Namespace, stdin: BinaryIO, stdout: BinaryIO) -> int:
    del stdin

    async def work(gateway: Gateway) -> None:
        async with _announcing(gateway):
            revoked, rewritten = await _revoke(gateway, args)
        if rewritten and gateway.config.smtp.host:  # the attendees' updated invitations
            await Outbox(gateway.database, gateway.config.smtp).retry_due()
        stdout.write(f"revoked {revoked} link(s) of {args.uid}\n".encode())
        if rewritten:
            stdout.write(b"the event now carries a new link\n")
        else:
            stdout.write(b"event not re-written now: the next save of the event makes a new link\n")

    _run(args, work)
    return 0


def cmd_stats(args: argparse.Namespace, stdin: BinaryIO, stdout: BinaryIO) -> int:
    del stdin

    async def work(gateway: Gateway) -> None:
        async with gateway.database.sessions() as session:
            rows = await _rows(session, args.user)
        statuses = Counter(row.status for row in rows)
        counts = {
            "created": sum(1 for row in rows if row.url),
            "reused": sum(row.reuse_count for row in rows),
            "removed": sum(row.removal_count for row in rows),
            "failed": sum(row.failure_count for row in rows),
            "active": statuses[LinkStatus.ACTIVE.value],
            "pending": statuses[LinkStatus.PENDING.value],
            "revoked": statuses[LinkStatus.REVOKED.value],
            "removed_now": statuses[LinkStatus.REMOVED.value],
            "rows": len(rows),
        }
        stdout.write("".join(f"{key}: {value}\n" for key, value in counts.items()).encode())

    _run(args, work)
    return 0


def add_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    links = commands.add_parser("links", help="the conference-link registry")
    actions = links.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="UID USER PROVIDER STATUS URL, one a line")
    listing.set_defaults(handler=cmd_list)
    show = actions.add_parser("show", help="every field of an event's links")
    show.add_argument("uid", metavar="UID")
    show.set_defaults(handler=cmd_show)
    revoke = actions.add_parser("revoke", help="withdraw a leaked link; a new one replaces it")
    revoke.add_argument("uid", metavar="UID")
    revoke.set_defaults(handler=cmd_revoke)
    stats = actions.add_parser("stats", help="links created, reused, removed, failed; by status")
    stats.set_defaults(handler=cmd_stats)
    for parser in (listing, show, revoke, stats):
        parser.add_argument("--user", metavar="LOGIN", help="only this user's links")
        add_common(parser)
