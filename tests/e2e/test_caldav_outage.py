"""Radicale down mid-conversation, and the gateway killed between the CalDAV
write and its state commit (issue 6 part 5).

* Radicale stopped: Sync and FolderSync answer HTTP 503 with Retry-After and
  no key moves; after the restart the phone resends at the same key and
  converges (its Add stored once, the other device gets it once).
* A real ``easgw serve`` process against Radicale through a small TCP relay
  that passes every request on but holds back the answer to a PUT: Radicale
  has stored the event, the gateway waits for the answer before it commits
  its state; the test kills the process (SIGKILL) right then, restarts it
  and resends the same Add (same SyncKey, same ClientId): exactly one event
  in Radicale, the device gets its ServerId, and the next Sync neither loses
  nor doubles. (Holding SQLite's write lock instead does not get there: the
  Sync takes the write lock before it writes to the store.)
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from easgw.config import load_config
from tests.e2e.test_caldav_sync import (
    ClientFactory,
    Phone,
    add_xml,
    added_id,
    make_setup,
)
from tests.e2e.test_sync import NS, command_count, commands
from tests.harness import EasClient, add_user
from tests.providers.radicale import RadicaleServer, free_port

FOLDER_SYNC = '<FolderSync xmlns="FolderHierarchy:"><SyncKey>{}</SyncKey></FolderSync>'


@pytest.fixture
def own_radicale(tmp_path: Path) -> Iterator[RadicaleServer]:
    """A Radicale this test may stop and start."""
    server = RadicaleServer(tmp_path / "own-radicale")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize("version", ["14.1", "16.1"])
async def test_radicale_down_mid_conversation_then_converges(
    aiohttp_client: ClientFactory, tmp_path: Path, own_radicale: RadicaleServer, version: str
) -> None:
    setup = await make_setup(aiohttp_client, tmp_path, own_radicale)
    a, b = setup.phone(version, "DEVA"), setup.phone(version, "DEVB")
    await a.start()
    await b.start()
    first = await a.eas.command("FolderSync", FOLDER_SYNC.format(0))
    folder_key = first.find("//FolderHierarchy:SyncKey")
    key_a, key_b = a.keys[a.calendar], b.keys[b.calendar]
    adding = add_xml(version, "c1", "During the outage", "outage-1@example.com")

    own_radicale.stop()
    for answer in (
        await a.eas.command("Sync", _sync_xml(a, adding)),
        await b.eas.command("Sync", _sync_xml(b)),
        await a.eas.command("FolderSync", FOLDER_SYNC.format(folder_key)),
    ):
        assert answer.status == 503, answer.body
        assert int(answer.headers["Retry-After"]) > 0
    own_radicale.start()

    assert setup.calendar_files() == []  # nothing the refused request carried was applied
    server_id = added_id(await a.sync(adding))  # the same key, the same ClientId
    assert a.keys[a.calendar] == str(int(key_a) + 1)
    assert len(setup.calendar_files()) == 1
    got = await b.sync()
    assert b.keys[b.calendar] == str(int(key_b) + 1)
    assert [d["Subject"] for d in commands(got, "Add").values()] == ["During the outage"]
    assert server_id in commands(got, "Add")
    assert command_count(await a.sync()) == 0
    assert command_count(await b.sync()) == 0
    after = await a.eas.command("FolderSync", FOLDER_SYNC.format(folder_key))
    assert after.find("//FolderHierarchy:Status") == "1"
    assert after.findall("//FolderHierarchy:Add") == []


def _sync_xml(phone: Phone, commands_xml: str = "") -> str:
    body = f"<Commands>{commands_xml}</Commands>" if commands_xml else ""
    return (
        f"<Sync {NS}><Collections><Collection><SyncKey>{phone.keys[phone.calendar]}</SyncKey>"
        f"<CollectionId>{phone.calendar}</CollectionId>{body}</Collection></Collections></Sync>"
    )


# -- the crash between the CalDAV write and the state commit ---------------------------


class Served:
    """``easgw serve`` as a process on a data dir (restartable)."""

    def __init__(self, tmp_path: Path, config: Path) -> None:
        self.tmp_path = tmp_path
        self.config = config
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "easgw", "serve", "--listen", f"127.0.0.1:{self.port}",
             "--config", str(self.config), "--data-dir", str(self.tmp_path / "data")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=self.tmp_path,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip

    async def ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as session:
            while True:
                try:
                    async with session.get(f"http://127.0.0.1:{self.port}/healthz") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                assert self.process is not None and self.process.poll() is None
                assert time.monotonic() < deadline, "easgw serve did not start"
                await asyncio.sleep(0.1)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None


class HoldingRelay:
    """127.0.0.1:``port`` -> Radicale; the answer to a PUT never goes back while ``hold``."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self.hold = True
        self.put_sent = asyncio.Event()
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> HoldingRelay:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_exc: object) -> None:
        assert self._server is not None
        self._server.close()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        put = asyncio.Event()

        async def upstream() -> None:
            while data := await reader.read(65536):
                if data.startswith(b"PUT ") and self.hold:
                    put.set()
                up_writer.write(data)
                await up_writer.drain()

        async def downstream() -> None:
            while data := await up_reader.read(65536):
                if put.is_set():
                    self.put_sent.set()  # Radicale answered: it has the event
                    return  # ... and the gateway never hears it
                writer.write(data)
                await writer.drain()

        try:
            await asyncio.gather(upstream(), downstream())
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            up_writer.close()


async def _wait_for_files(directory: Path, count: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while len(list(directory.glob("*/*.ics"))) < count:
        assert time.monotonic() < deadline, "Radicale never received the PUT"
        await asyncio.sleep(0.005)


@pytest.mark.parametrize("version", ["14.1", "16.1"])
async def test_killed_between_the_caldav_write_and_the_state_commit(
    tmp_path: Path, own_radicale: RadicaleServer, version: str
) -> None:
    login, password = own_radicale.add_user()
    relay = HoldingRelay(own_radicale.port)
    await relay.__aenter__()
    config = tmp_path / "easgw.toml"
    config.write_text(
        f'[store]\ntype = "caldav"\nurl = "http://127.0.0.1:{relay.port}/"\n'
        "[policy]\nrequired = false\n",
        encoding="utf-8",
    )
    loaded = load_config(config, env={}, overrides={"server": {"data_dir": str(tmp_path / "data")}})
    await add_user(loaded, login, password=None, email=f"{login}@example.com")
    served = Served(tmp_path, config)
    served.start()
    home = own_radicale.collections / login
    try:
        await served.ready()
        async with aiohttp.ClientSession(base_url=f"http://127.0.0.1:{served.port}") as http:
            phone = Phone(EasClient(http, user=login, password=password, version=version))  # type: ignore[arg-type]
            await phone.start()
            key = phone.keys[phone.calendar]
            adding = add_xml(version, "crash-1", "Written, not committed", "crash-1@example.com")
            sending = asyncio.create_task(phone.eas.command("Sync", _sync_xml(phone, adding)))
            await asyncio.wait_for(relay.put_sent.wait(), 10)
            assert len(list(home.glob("*/*.ics"))) == 1  # the CalDAV write is done
            assert not sending.done()  # the state commit is not
            served.kill()
            with pytest.raises(aiohttp.ClientError):
                await sending
        relay.hold = False

        served.start()
        await served.ready()
        async with aiohttp.ClientSession(base_url=f"http://127.0.0.1:{served.port}") as http:
            phone.eas.client = http  # type: ignore[assignment]
            assert phone.keys[phone.calendar] == key
            added_id(await phone.sync(adding))  # resent: same key, same ClientId: Status 1
            files = list(home.glob("*/*.ics"))
            assert len(files) == 1, [(f.name, f.read_text()) for f in files]  # exactly one event
            assert command_count(await phone.sync()) == 0  # not sent back as an Add
            other = Phone(
                EasClient(http, user=login, password=password, device_id="OTHER", version=version)
            )  # type: ignore[arg-type]
            got = await other.start()
            assert [d["Subject"] for d in commands(got, "Add").values()] == [
                "Written, not committed"
            ]
    finally:
        served.kill()
        await relay.__aexit__()
