"""Change notifications across gateway processes: PostgreSQL LISTEN/NOTIFY (DESIGN.md, Scale).

Many gateway processes serve one PostgreSQL database; a device's held Ping sits
in one process while another device's write may go through another. Each
process's :class:`~easgw.push.hub.ChangeHub` hears of its own writes (the
store's change feed, after the commit); this bridge carries them to the others:

- ``publish(ref)`` (called by the gateway right after its own hub was notified,
  so after the commit) queues ``pg_notify('easgw_changes', '<origin> <ref>')``;
  one sender task sends them in order on the bridge's connection (asyncpg runs
  one statement at a time per connection), dropping duplicates still queued.
- every process LISTENs on the channel and feeds ``hub.notify(ref)`` for the
  payloads of the *other* processes (``origin``: a random token per process; its
  own changes reached its hub already).

A woken hold still decides from the database what concerns its device (the
echo rule, easgw/commands/sync/pending.py), so a notification is only ever a
hint: a lost one delays an answer to the heartbeat, a duplicate costs one read.
The connection is re-opened when it drops (1 s, doubling to 30 s): a change
made while it was down reaches the held Pings of this process at their next
wake or heartbeat, as on a single process without the bridge.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from easgw.push.hub import ChangeHub

__all__ = ["APPLICATION_NAME", "CHANNEL", "PgBridge", "is_postgresql"]

log = logging.getLogger(__name__)

CHANNEL = "easgw_changes"
#: How the bridge's connection shows in pg_stat_activity.
APPLICATION_NAME = "easgw-change-bridge"
#: A NOTIFY payload must stay under 8000 bytes; store refs are far shorter.
_LONGEST_REF = 4000
_FIRST_RETRY = 1.0
_LONGEST_RETRY = 30.0
#: A quiet connection is checked this often (a dropped TCP link says nothing).
_CHECK_SECONDS = 30.0


def is_postgresql(url: str) -> bool:
    return make_url(url).get_backend_name() == "postgresql"


def _dsn(url: str) -> str:
    """The asyncpg DSN of an SQLAlchemy URL (``postgresql+asyncpg://`` -> ``postgresql://``)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class PgBridge:
    """One LISTEN/NOTIFY connection per process, feeding the process's hub."""

    def __init__(self, url: str, hub: ChangeHub) -> None:
        self._dsn = _dsn(url)
        self._hub = hub
        self.origin = secrets.token_hex(8)
        self._queue: dict[str, None] = {}  # refs to send, in order, without duplicates
        self._pending = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._idle = asyncio.Event()  # nothing queued and nothing being sent
        self._idle.set()
        #: Notifications received from other processes (for tests and logs).
        self.received = 0
        #: Connections opened (1 + the re-connections after a drop).
        self.connections = 0

    async def start(self) -> None:
        """Connect (waiting up to 5 s for the first connection) and keep connected."""
        self._task = asyncio.create_task(self._run(), name="pg-change-bridge")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._connected.wait(), 5)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def publish(self, ref: str) -> None:
        """Tell the other processes that ``ref`` changed (after its commit)."""
        if len(ref) > _LONGEST_REF:
            return
        self._queue[ref] = None
        self._idle.clear()
        self._pending.set()

    async def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every published ref is sent (a short-lived process, e.g. the
        CLI, before it closes); False when that took longer than ``timeout``."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def _next(self, lost: asyncio.Event) -> bool:
        """Wait for something to send (True), the check interval (False) or the
        connection's end (raises ConnectionError)."""
        pending = asyncio.ensure_future(self._pending.wait())
        gone = asyncio.ensure_future(lost.wait())
        try:
            done, _ = await asyncio.wait(
                {pending, gone}, timeout=_CHECK_SECONDS, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            pending.cancel()
            gone.cancel()
        if gone in done or lost.is_set():
            raise ConnectionError("the server ended the connection")
        return pending in done

    def _received(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        origin, _, ref = payload.partition(" ")
        if origin == self.origin or not ref:
            return  # our own change: the hub heard of it already
        self.received += 1
        self._hub.notify(ref)

    async def _run(self) -> None:
        wait = _FIRST_RETRY
        while True:
            try:
                connection = await asyncpg.connect(
                    self._dsn, server_settings={"application_name": APPLICATION_NAME}
                )
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("change bridge: cannot connect", extra={"reason": str(exc)[:200]})
                await asyncio.sleep(wait)
                wait = min(wait * 2, _LONGEST_RETRY)
                continue
            wait = _FIRST_RETRY
            self.connections += 1
            lost = asyncio.Event()
            connection.add_termination_listener(lambda _connection, ended=lost: ended.set())
            try:
                await connection.add_listener(CHANNEL, self._received)
                self._connected.set()
                await self._send_loop(connection, lost)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                # ConnectionError is an OSError: the server ended the connection.
                log.warning("change bridge: connection lost", extra={"reason": str(exc)[:200]})
            finally:
                self._connected.clear()
                with contextlib.suppress(Exception):
                    await asyncio.shield(connection.close(timeout=2))

    async def _send_loop(self, connection: asyncpg.Connection, lost: asyncio.Event) -> None:
        """Send what is published, until the connection is gone (raises: the server
        ended it, or the check of a quiet connection every ``_CHECK_SECONDS`` failed)."""
        while True:
            if not await self._next(lost):
                await connection.execute("SELECT 1")  # a quiet while: is it still there?
                continue
            self._pending.clear()
            while self._queue:
                ref = next(iter(self._queue))
                await connection.execute(
                    "SELECT pg_notify($1, $2)", CHANNEL, f"{self.origin} {ref}"
                )
                self._queue.pop(ref, None)
            if not self._queue:
                self._idle.set()
