"""CalDAV store benchmarks against Radicale on loopback (issue 6 part 6).

1. Initial Sync of a 1,000-event Radicale calendar (WindowSize 100), over HTTP against a real
   `easgw serve` process with ``store.type = "caldav"``: client wall time from the first Sync
   after key 0 to the last window.
2. The no-change Sync round trip with nobody watching the calendar: the gateway asks Radicale
   (a sync-collection REPORT) every time. For comparison (about 90 ms measured when the issue
   was written; Z-Push 2.7's CalDAV backend answers a no-change Sync in about 1 s).
3. The no-change Sync round trip while another device's Ping holds the calendar: answered from
   the poller's token with no CalDAV request. Target: median under 20 ms.

The events are written straight into Radicale's collection directory as files (far faster than
1,000 PUTs). Run: `make bench-caldav` or `.venv/bin/python bench/caldav.py [--events N]
[--rounds N] [--check]`.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import aiohttp  # noqa: E402
from lxml import etree  # noqa: E402

from protocol import wbxml  # noqa: E402
from tests.providers.radicale import RadicaleServer, free_port  # noqa: E402

LOGIN, PASSWORD = "alice", "bench-password"  # a throwaway Radicale user
AUTH = "Basic " + base64.b64encode(f"{LOGIN}:{PASSWORD}".encode()).decode()
NS = {"as": "AirSync:", "fh": "FolderHierarchy:"}
TARGET_MS = 20.0


def _event(n: int, start: datetime) -> str:
    begin = start + timedelta(hours=3 * n)
    stamp = "%Y%m%dT%H%M%SZ"
    rule = "RRULE:FREQ=WEEKLY;COUNT=10\r\n" if n % 5 == 0 else ""
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:bench-{n}@example.com\r\nDTSTAMP:20261125T120000Z\r\n"
        f"DTSTART:{begin.strftime(stamp)}\r\nDTEND:{(begin + timedelta(hours=1)).strftime(stamp)}"
        f"\r\n{rule}SUMMARY:Event {n}\r\nLOCATION:Room {n % 7}\r\n"
        f"DESCRIPTION:Agenda item {n}\\, with some text to render.\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )


async def _seed(radicale: RadicaleServer, events: int) -> None:
    """Make the default calendar through the store, then drop the events in as files."""
    from providers.stores.base import StoreUser
    from providers.stores.caldav import CalDavStore

    store = CalDavStore(radicale.url)
    user = StoreUser(login=LOGIN, email=f"{LOGIN}@example.com", password=PASSWORD)
    try:
        await store.list_calendars(user)
    finally:
        await store.close()
    (calendar,) = [d for d in (radicale.collections / LOGIN).iterdir() if d.is_dir()]
    start = datetime(2026, 12, 1, 8, tzinfo=UTC)
    for n in range(events):
        (calendar / f"bench-{n}.ics").write_text(_event(n, start), encoding="utf-8")


class Phone:
    def __init__(self, session: aiohttp.ClientSession, url: str, device: str) -> None:
        self.session, self.url, self.device = session, url, device

    async def post(self, command: str, xml: str) -> etree._Element | None:
        query = (
            f"{self.url}/Microsoft-Server-ActiveSync?Cmd={command}&User={LOGIN}"
            f"&DeviceId={self.device}&DeviceType=iPhone"
        )
        headers = {
            "Authorization": AUTH,
            "MS-ASProtocolVersion": "14.1",
            "Content-Type": "application/vnd.ms-sync.wbxml",
            "User-Agent": "Apple-iPhone15C2/2104",
        }
        body = wbxml.encode(etree.fromstring(xml.encode()))
        async with self.session.post(query, data=body, headers=headers) as response:
            data = await response.read()
            if response.status != 200:
                raise SystemExit(f"{command}: HTTP {response.status}: {data[:200]!r}")
            return wbxml.decode(data) if data else None

    async def calendar(self) -> str:
        xml = '<FolderSync xmlns="FolderHierarchy:"><SyncKey>0</SyncKey></FolderSync>'
        folders = await self.post("FolderSync", xml)
        assert folders is not None
        return next(
            str(add.findtext("{FolderHierarchy:}ServerId"))
            for add in folders.iter("{FolderHierarchy:}Add")
            if add.findtext("{FolderHierarchy:}Type") == "8"
        )


def _sync_xml(key: str, collection: str, window: int = 100) -> str:
    changes = "<GetChanges/>" if key != "0" else ""
    return (
        f'<Sync xmlns="AirSync:"><Collections><Collection><SyncKey>{key}</SyncKey>'
        f"<CollectionId>{collection}</CollectionId>{changes}<WindowSize>{window}</WindowSize>"
        "</Collection></Collections></Sync>"
    )


async def _initial(phone: Phone, calendar: str) -> tuple[float, int, str]:
    answer = await phone.post("Sync", _sync_xml("0", calendar))
    assert answer is not None
    key = str(answer.xpath("string(//as:SyncKey)", namespaces=NS))
    received = 0
    started = time.perf_counter()
    while True:
        answer = await phone.post("Sync", _sync_xml(key, calendar))
        if answer is None:
            break
        key = str(answer.xpath("string(//as:SyncKey)", namespaces=NS)) or key
        received += len(answer.xpath("//as:Commands/as:Add", namespaces=NS))
        if not answer.xpath("//as:MoreAvailable", namespaces=NS):
            break
    return time.perf_counter() - started, received, key


async def _round_trips(phone: Phone, calendar: str, key: str, rounds: int) -> list[float]:
    """Milliseconds per no-change Sync (each must answer the same key, no Commands)."""
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        answer = await phone.post("Sync", _sync_xml(key, calendar))
        times.append((time.perf_counter() - started) * 1000)
        if answer is not None and answer.xpath("//as:Commands", namespaces=NS):
            raise SystemExit("a no-change Sync sent Commands")
    return times


async def _ping(phone: Phone, calendar: str) -> None:
    folder = f"<Folder><Id>{calendar}</Id><Class>Calendar</Class></Folder>"
    xml = (
        '<Ping xmlns="Ping:"><HeartbeatInterval>600</HeartbeatInterval>'
        f"<Folders>{folder}</Folders></Ping>"
    )
    await phone.post("Ping", xml)


async def _measure(url: str, rounds: int) -> tuple[list[float], int, list[float], list[float]]:
    """(initial sync seconds: first device, second device), events, uncached, polled."""
    async with aiohttp.ClientSession() as session:
        phone, watcher = Phone(session, url, "BENCH1"), Phone(session, url, "WATCH1")
        calendar = await phone.calendar()
        elapsed, received, key = await _initial(phone, calendar)
        uncached = await _round_trips(phone, calendar, key, rounds)
        watch_calendar = await watcher.calendar()
        again, _, _ = await _initial(watcher, watch_calendar)  # Radicale's item cache warm
        held = asyncio.create_task(_ping(watcher, watch_calendar))
        await asyncio.sleep(1.0)  # the Ping is held and its poller has polled once
        polled = await _round_trips(phone, calendar, key, rounds)
        held.cancel()
        await asyncio.gather(held, return_exceptions=True)
        return [elapsed, again], received, uncached, polled


def _serve(workdir: Path, radicale: RadicaleServer) -> tuple[subprocess.Popen[bytes], str]:
    config = workdir / "easgw.toml"
    config.write_text(
        f'[store]\ntype = "caldav"\nurl = "{radicale.url}"\npoll_seconds = 30\n'
        "[policy]\nrequired = false\n[ping]\nmax_heartbeat = 900\n",
        encoding="utf-8",
    )
    subprocess.run(
        [sys.executable, "-m", "easgw", "users", "add", LOGIN, "--email", f"{LOGIN}@example.com",
         "--config", str(config), "--data-dir", str(workdir / "data")],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "easgw", "serve", "--listen", f"127.0.0.1:{port}",
         "--config", str(config), "--data-dir", str(workdir / "data")],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ},
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            urllib.request.urlopen(f"{url}/healthz", timeout=1).read()  # noqa: S310
            break
        except OSError:
            time.sleep(0.2)
    return server, url


def _row(name: str, times: list[float], target: str) -> None:
    median, p95 = statistics.median(times), sorted(times)[int(len(times) * 0.95) - 1]
    print(f"{name:<40} {median:7.1f} ms  (p95 {p95:6.1f})  {target}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="easgw-bench-caldav-"))
    radicale = RadicaleServer(workdir / "radicale")
    radicale.add_user(LOGIN, PASSWORD)
    radicale.start()
    failures: list[str] = []
    server = None
    try:
        asyncio.run(_seed(radicale, args.events))
        server, url = _serve(workdir, radicale)
        elapsed, received, uncached, polled = asyncio.run(_measure(url, args.rounds))
        print()
        print("benchmark (Radicale on loopback)         median      (p95)        target")
        print("-" * 78)
        print(f"initial Sync, {received} events, window 100  {elapsed[0]:8.2f} s  (first device)")
        print(
            f"the same, a second device                {elapsed[1]:8.2f} s  (Radicale cache warm)"
        )
        _row("no-change Sync, uncached (REPORT)", uncached, "(comparison)")
        _row("no-change Sync, from the poller's token", polled, f"< {TARGET_MS:.0f} ms")
        if received != args.events:
            failures.append(f"received {received} of {args.events} events")
        if statistics.median(polled) >= TARGET_MS:
            failures.append(f"no-change Sync from the poller's token: {TARGET_MS} ms or more")
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            server.communicate(timeout=30)
        radicale.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    print()
    for failure in failures:
        print(f"FAIL  {failure}")
    if not failures:
        print("PASS  every target")
    return 1 if failures and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
