"""Push benchmarks (issue 5): held Pings in one process, and one change fanned out.

Against a real `easgw serve` process on loopback (embedded store, SQLite):

1. Memory per held Ping: 10,000 Pings held at once across many users and
   devices (by default one user with 1,000 devices plus 90 users with 100 each),
   every device having run FolderSync first. The server's resident memory
   (VmRSS) is read once it has gone idle before the Pings and once it has gone
   idle holding them; the difference over the number held. Target: at most
   25 KB per held Ping (a bare aiohttp handler parked on an event measures
   12.4 KB per request on this machine kind).
2. Fan-out: 1,000 of those Pings (the devices of one user, each synced to a
   settled key) watch that user's calendar; another device of the user adds an
   event with Sync. The time from sending that Sync to the last of the 1,000
   Ping answers (each must be Status 2 naming the calendar). Target: under 1 s.

Then the server is stopped (SIGTERM): the 9,000 Pings still held must all be
answered Status 1 by the graceful shutdown.

Run: `make bench-ping` or `.venv/bin/python bench/ping.py [--watchers N] [--users N]
[--devices N] [--check]`.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import aiohttp  # noqa: E402
from lxml import etree  # noqa: E402

from protocol import wbxml  # noqa: E402

PASSWORD = "bench-password"  # noqa: S105 - throwaway users of a throwaway data dir
VERSION = "14.1"
HEARTBEAT = 1800
FAN_USER = "fan"
NS = {"as": "AirSync:", "fh": "FolderHierarchy:", "p": "Ping:"}
KB = 1024


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _seed(data_dir: Path, users: list[str]) -> None:
    from easgw.config import load_config
    from easgw.gateway import Gateway
    from easgw.users import Users

    config = load_config(env={}, overrides={"server": {"data_dir": str(data_dir)}})
    gateway = Gateway(config)
    await gateway.open()
    try:
        async with gateway.database.sessions.begin() as session:
            for login in users:
                await Users(session).add(login, email=f"{login}@example.com", password=PASSWORD)
    finally:
        await gateway.close()


@dataclass
class Device:
    user: str
    device_id: str
    calendar: str = ""
    key: str = "0"
    #: loop time the Ping answer arrived, and its Status and Folders.
    answered_at: float = 0.0
    status: str = ""
    folders: list[str] = field(default_factory=list)


class Client:
    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session = session
        self.url = url
        self.auth: dict[str, str] = {}

    def _headers(self, user: str) -> dict[str, str]:
        if user not in self.auth:
            token = base64.b64encode(f"{user}:{PASSWORD}".encode()).decode()
            self.auth[user] = f"Basic {token}"
        return {
            "Authorization": self.auth[user],
            "MS-ASProtocolVersion": VERSION,
            "Content-Type": "application/vnd.ms-sync.wbxml",
            "User-Agent": "Apple-iPhone15C2/2104",
        }

    async def post(self, device: Device, command: str, xml: str) -> etree._Element | None:
        query = (
            f"/Microsoft-Server-ActiveSync?Cmd={command}&User={device.user}"
            f"&DeviceId={device.device_id}&DeviceType=iPhone"
        )
        body = wbxml.encode(etree.fromstring(xml.encode()))
        async with self.session.post(
            self.url + query, data=body, headers=self._headers(device.user)
        ) as response:
            data = await response.read()
            if response.status != 200:
                raise SystemExit(f"{command}: HTTP {response.status}: {data[:200]!r}")
            return wbxml.decode(data) if data else None

    async def folder_sync(self, device: Device) -> None:
        tree = await self.post(
            device,
            "FolderSync",
            '<FolderSync xmlns="FolderHierarchy:"><SyncKey>0</SyncKey></FolderSync>',
        )
        assert tree is not None
        device.calendar = next(
            str(add.findtext("{FolderHierarchy:}ServerId"))
            for add in tree.iter("{FolderHierarchy:}Add")
            if add.findtext("{FolderHierarchy:}Type") == "8"
        )

    async def sync(self, device: Device, commands: str = "") -> etree._Element | None:
        body = f"<Commands>{commands}</Commands>" if commands else ""
        tree = await self.post(
            device,
            "Sync",
            f'<Sync xmlns="AirSync:" xmlns:C="Calendar:"><Collections><Collection>'
            f"<SyncKey>{device.key}</SyncKey><CollectionId>{device.calendar}</CollectionId>"
            f"{body}</Collection></Collections></Sync>",
        )
        if tree is not None:
            device.key = str(tree.xpath("string(//as:SyncKey)", namespaces=NS)) or device.key
        return tree

    async def ping(self, device: Device) -> None:
        try:
            tree = await self.post(
                device,
                "Ping",
                f'<Ping xmlns="Ping:"><HeartbeatInterval>{HEARTBEAT}</HeartbeatInterval>'
                f"<Folders><Folder><Id>{device.calendar}</Id><Class>Calendar</Class></Folder>"
                "</Folders></Ping>",
            )
        except (SystemExit, aiohttp.ClientError) as exc:
            device.status = f"error: {str(exc)[:60]}"
            return
        device.answered_at = time.perf_counter()
        assert tree is not None
        device.status = str(tree.xpath("string(/p:Ping/p:Status)", namespaces=NS))
        device.folders = [str(f.text) for f in tree.iterfind(".//{Ping:}Folder")]


def _event_add(n: int) -> str:
    blob = base64.b64encode(bytes(172)).decode()
    return (
        f"<Add><ClientId>bench-{n}</ClientId><ApplicationData><C:Timezone>{blob}</C:Timezone>"
        "<C:AllDayEvent>0</C:AllDayEvent><C:StartTime>20261201T100000Z</C:StartTime>"
        "<C:EndTime>20261201T110000Z</C:EndTime><C:Subject>Fan-out</C:Subject>"
        f"<C:UID>bench-fan-{n}@example.com</C:UID><C:BusyStatus>2</C:BusyStatus>"
        "<C:MeetingStatus>0</C:MeetingStatus></ApplicationData></Add>"
    )


async def _run_all(coroutines: list, concurrency: int) -> None:  # type: ignore[type-arg]
    semaphore = asyncio.Semaphore(concurrency)

    async def one(coroutine) -> None:  # type: ignore[no-untyped-def]
        async with semaphore:
            await coroutine

    await asyncio.gather(*(one(c) for c in coroutines))


def _proc_stat(pid: int) -> tuple[int, int]:
    """(CPU ticks, resident bytes) of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    rss_pages = int(fields[21])
    return ticks, rss_pages * resource.getpagesize()


async def _idle(pid: int, quiet_for: float = 1.0) -> int:
    """Wait until the server has used no CPU for ``quiet_for`` seconds; its RSS then."""
    ticks, _ = _proc_stat(pid)
    while True:
        await asyncio.sleep(quiet_for)
        now, rss = _proc_stat(pid)
        if now - ticks <= 1:
            return rss
        ticks = now


@dataclass
class Server:
    """The `easgw serve` process; SIGTERM is sent once (a second one would cut
    the graceful shutdown short)."""

    process: subprocess.Popen[bytes]
    stopping: bool = False

    def stop(self) -> None:
        if not self.stopping and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        self.stopping = True


@dataclass
class Results:
    held: int = 0
    per_ping: float = 0.0
    fan_seconds: float = 0.0
    fan_answered: int = 0
    shutdown_seconds: float = 0.0
    at_shutdown: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


async def _prepare(client: Client, synced: list[Device], others: list[Device]) -> None:
    """FolderSync every device; ``synced`` ones also Sync their calendar to a settled key."""
    started = time.perf_counter()

    async def prepare(device: Device, sync: bool) -> None:
        await client.folder_sync(device)
        if sync:
            await client.sync(device)  # key 0
            await client.sync(device)  # settled: the store token is kept

    await _run_all([prepare(d, True) for d in synced] + [prepare(d, False) for d in others], 8)
    print(f"prepared {len(synced) + len(others)} devices in "
          f"{time.perf_counter() - started:.1f} s", flush=True)  # fmt: skip


async def _hold_all(
    client: Client, everyone: list[Device], pid: int, rate: int, results: Results
) -> list[asyncio.Task[None]]:
    """Start a Ping per device at ``rate`` per second; the memory each held one costs."""
    baseline = await _idle(pid)
    tasks: list[asyncio.Task[None]] = []
    step = max(rate // 10, 1)
    for first in range(0, len(everyone), step):  # phones reconnecting at --rate per second
        tasks += [asyncio.create_task(client.ping(d)) for d in everyone[first : first + step]]
        await asyncio.sleep(0.1)
    holding = await _idle(pid)
    if any(task.done() for task in tasks):
        early = [d.status for d in everyone if d.status]
        results.failures.append(f"{len(early)} Pings answered early: {sorted(set(early))}")
    results.held = sum(not task.done() for task in tasks)
    results.per_ping = (holding - baseline) / max(results.held, 1)
    return tasks


async def _fan_out(
    client: Client,
    writer: Device,
    fan: list[Device],
    tasks: list[asyncio.Task[None]],
    results: Results,
) -> None:
    """The writer adds an event: how long until every watcher has its Status 2."""
    gc.collect()
    gc.disable()  # the client's own collector must not delay the answers it times
    sent = time.perf_counter()
    await client.sync(writer, _event_add(1))
    await asyncio.wait(tasks, timeout=30)
    gc.enable()
    answered = [d for d in fan if d.answered_at]
    results.fan_answered = sum(d.status == "2" and d.folders == [d.calendar] for d in answered)
    if answered:
        results.fan_seconds = max(d.answered_at for d in answered) - sent
    if results.fan_answered != len(fan):
        results.failures.append(f"{results.fan_answered} of {len(fan)} watchers got Status 2")


async def _shutdown(
    server: Server, others: list[Device], tasks: list[asyncio.Task[None]], results: Results
) -> None:
    """SIGTERM: every Ping still held must get Status 1."""
    if any(task.done() for task in tasks):
        results.failures.append("a Ping on another user's calendar answered")
    stopping = time.perf_counter()
    server.stop()
    await asyncio.wait(tasks, timeout=30)
    results.shutdown_seconds = time.perf_counter() - stopping
    for device in others:
        status = device.status or "none"
        results.at_shutdown[status] = results.at_shutdown.get(status, 0) + 1
    if results.at_shutdown != {"1": len(others)}:
        results.failures.append(f"at shutdown: {results.at_shutdown}, expected all Status 1")


async def _bench(url: str, server: Server, args: argparse.Namespace) -> Results:
    results = Results()
    fan = [Device(FAN_USER, f"FAN{n:05d}") for n in range(args.watchers)]
    writer = Device(FAN_USER, "WRITER")
    others = [
        Device(f"user{u:03d}", f"DEV{u:03d}x{d:04d}")
        for u in range(args.users)
        for d in range(args.devices)
    ]
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=None)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        client = Client(session, url)
        await _prepare(client, [*fan, writer], others)
        tasks = await _hold_all(client, fan + others, server.process.pid, args.rate, results)
        await _fan_out(client, writer, fan, tasks[: len(fan)], results)
        await _shutdown(server, others, tasks[len(fan) :], results)
    return results


def _print(results: Results, args: argparse.Namespace) -> list[str]:
    failures = list(results.failures)
    print()
    print("benchmark                                          value        target")
    print("-" * 76)
    print(f"memory per held Ping ({results.held:,} held)             "
          f"{results.per_ping / KB:6.1f} KB    <= 25 KB")  # fmt: skip
    print(f"one change -> {args.watchers:,} Ping answers (Status 2)        "
          f"{results.fan_seconds:6.3f} s     < 1 s"
          f"   ({results.fan_answered:,} answered)")  # fmt: skip
    print(f"shutdown answers the other {sum(results.at_shutdown.values()):,} Pings "
          f"    {results.shutdown_seconds:6.2f} s     ({results.at_shutdown})")  # fmt: skip
    if results.per_ping > 25 * KB:
        failures.append("more than 25 KB per held Ping")
    if not 0 < results.fan_seconds < 1:
        failures.append(f"{args.watchers} Ping answers took 1 s or more")
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--watchers", type=int, default=1000, help="devices of the fan-out user")
    parser.add_argument("--users", type=int, default=90, help="other users")
    parser.add_argument("--devices", type=int, default=100, help="devices per other user")
    parser.add_argument("--rate", type=int, default=200, help="Pings started per second")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    wanted = args.watchers + args.users * args.devices + 1000
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))
    workdir = Path(tempfile.mkdtemp(prefix="easgw-bench-ping-"))
    data_dir = workdir / "data"
    users = [FAN_USER] + [f"user{u:03d}" for u in range(args.users)]
    asyncio.run(_seed(data_dir, users))
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = workdir / "server.log"  # a file: a full pipe would stall the server
    log_file = log_path.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "easgw", "serve", "--listen", f"127.0.0.1:{port}",
         "--data-dir", str(data_dir)],
        stdout=subprocess.DEVNULL, stderr=log_file,
        env={**os.environ, "EASGW_POLICY__REQUIRED": "false",
             "EASGW_DEVICES__MAX_PER_USER": str(max(args.watchers, args.devices) + 10),
             "EASGW_PING__MAX_HEARTBEAT": "3540"},
    )  # fmt: skip
    server = Server(process)
    try:
        for _ in range(150):
            try:
                urllib.request.urlopen(f"{url}/healthz", timeout=1).read()  # noqa: S310
                break
            except OSError:
                time.sleep(0.2)
        results = asyncio.run(_bench(url, server, args))
        failures = _print(results, args)
    finally:
        server.stop()
        process.wait(timeout=60)
        log_file.close()
        errors = [line for line in log_path.read_text().splitlines() if " ERROR " in line]
        shutil.rmtree(workdir, ignore_errors=True)
    if process.returncode not in (0, -signal.SIGTERM):
        failures.append(f"the server exited with {process.returncode}")
    if errors:
        failures.append(f"the server logged {len(errors)} errors, the first: {errors[0][:300]}")
    print()
    for failure in failures:
        print(f"FAIL  {failure}")
    if not failures:
        print("PASS  every target")
    return 1 if failures and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
