"""Sync benchmarks on the embedded store (issue 4): initial sync and no-change rate.

1. Initial Sync of a 5,000-event calendar with WindowSize 100, over HTTP on loopback
   against a real `easgw serve` process; the time is the client's wall time from the
   first Sync after key 0 to the last window (it includes the client's own decode,
   so it bounds the server time from above). Target: under 10 s.
2. The no-change Sync rate: wrk (Debian's `wrk`) with a Lua script POSTing one fixed
   Sync (the current key, GetChanges) to the same server. Target: 500 or more per
   second from one process.

Run: `make bench-sync` or `.venv/bin/python bench/sync.py [--events N] [--seconds S] [--check]`.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import re
import shutil
import signal
import socket
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

PASSWORD = "bench-password"  # noqa: S105 - a throwaway user of a throwaway data dir
AUTH = "Basic " + base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
VERSION = "14.1"
NS = {"as": "AirSync:", "fh": "FolderHierarchy:"}
EAS_QUERY = (
    "/Microsoft-Server-ActiveSync?Cmd={command}&User=alice&DeviceId=BENCH1&DeviceType=iPhone"
)
BODY_PREFERENCE = (
    '<BodyPreference xmlns="AirSyncBase:"><Type>1</Type>'
    "<TruncationSize>512</TruncationSize></BodyPreference>"
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _event(n: int, start: datetime) -> str:
    begin = start + timedelta(hours=n * 7)
    end = begin + timedelta(hours=1)
    attendees = "".join(
        f"ATTENDEE;CN=Guest {k};PARTSTAT=NEEDS-ACTION:mailto:guest{k}.{n}@example.com\r\n"
        for k in range(n % 4)
    )
    rrule = "RRULE:FREQ=WEEKLY;COUNT=10\r\n" if n % 5 == 0 else ""
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//easgw bench//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:bench-{n}@example.com\r\nDTSTAMP:20261101T000000Z\r\n"
        f"DTSTART:{begin:%Y%m%dT%H%M%SZ}\r\nDTEND:{end:%Y%m%dT%H%M%SZ}\r\n"
        f"SUMMARY:Bench event {n}\r\nLOCATION:Room {n % 17}\r\n"
        f"DESCRIPTION:Agenda for meeting {n}: review\\, plan and decide.\r\n"
        f"ORGANIZER;CN=Alice:mailto:alice@example.com\r\n{attendees}{rrule}"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )


async def _seed(data_dir: Path, events: int) -> None:
    from easgw.config import load_config
    from easgw.gateway import Gateway
    from easgw.users import Users
    from providers.stores.base import StoreUser

    config = load_config(env={}, overrides={"server": {"data_dir": str(data_dir)}})
    gateway = Gateway(config)
    await gateway.open()
    try:
        async with gateway.database.sessions.begin() as session:
            await Users(session).add("alice", email="alice@example.com", password=PASSWORD)
        user = StoreUser(login="alice", email="alice@example.com")
        (calendar,) = [c for c in await gateway.store.list_calendars(user) if c.is_default]
        start = datetime(2026, 12, 1, 8, tzinfo=UTC)
        joined = getattr(gateway.store, "joined", None)
        for first in range(0, events, 500):
            async with gateway.database.sessions.begin() as session:
                if joined is None:
                    raise SystemExit("the benchmark expects the embedded store")
                async with joined(session):
                    for n in range(first, min(first + 500, events)):
                        await gateway.store.put_item(user, calendar.id, _event(n, start))
    finally:
        await gateway.close()


class Phone:
    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session = session
        self.url = url

    def query(self, command: str) -> str:
        return f"{self.url}{EAS_QUERY.format(command=command)}"

    async def post(self, command: str, xml: str) -> tuple[bytes, etree._Element | None]:
        body = wbxml.encode(etree.fromstring(xml.encode()))
        headers = {
            "Authorization": AUTH,
            "MS-ASProtocolVersion": VERSION,
            "Content-Type": "application/vnd.ms-sync.wbxml",
            "User-Agent": "Apple-iPhone15C2/2104",
        }
        async with self.session.post(self.query(command), data=body, headers=headers) as response:
            data = await response.read()
            if response.status != 200:
                raise SystemExit(f"{command}: HTTP {response.status}: {data[:200]!r}")
            return body, (wbxml.decode(data) if data else None)


def _sync_xml(key: str, collection: str, window: int, *, get_changes: bool = True) -> str:
    changes = "<GetChanges/>" if get_changes and key != "0" else ""
    options = (
        f"<Options><FilterType>0</FilterType>{BODY_PREFERENCE}</Options>" if key != "0" else ""
    )
    return (
        f'<Sync xmlns="AirSync:"><Collections><Collection><SyncKey>{key}</SyncKey>'
        f"<CollectionId>{collection}</CollectionId>{changes}<WindowSize>{window}</WindowSize>"
        f"{options}</Collection></Collections></Sync>"
    )


async def _initial_sync(url: str, window: int) -> tuple[float, int, int, str, str]:
    async with aiohttp.ClientSession() as session:
        phone = Phone(session, url)
        _, folders = await phone.post(
            "FolderSync", '<FolderSync xmlns="FolderHierarchy:"><SyncKey>0</SyncKey></FolderSync>'
        )
        assert folders is not None
        calendar = next(
            add.findtext("{FolderHierarchy:}ServerId")
            for add in folders.iter("{FolderHierarchy:}Add")
            if add.findtext("{FolderHierarchy:}Type") == "8"
        )
        _, answer = await phone.post("Sync", _sync_xml("0", str(calendar), window))
        assert answer is not None
        key = answer.xpath("string(//as:SyncKey)", namespaces=NS)
        received = requests = 0
        started = time.perf_counter()
        while True:
            _, answer = await phone.post("Sync", _sync_xml(key, str(calendar), window))
            requests += 1
            if answer is None:
                break
            key = answer.xpath("string(//as:SyncKey)", namespaces=NS) or key
            received += len(answer.xpath("//as:Commands/as:Add", namespaces=NS))
            if not answer.xpath("//as:MoreAvailable", namespaces=NS):
                break
        elapsed = time.perf_counter() - started
        return elapsed, received, requests, key, str(calendar)


def _wrk(url: str, body: bytes, seconds: int, workdir: Path) -> tuple[float, str]:
    body_file = workdir / "sync.wbxml"
    body_file.write_bytes(body)
    script = workdir / "sync.lua"
    script.write_text(
        f'local f = io.open("{body_file}", "rb")\n'
        'wrk.method = "POST"\n'
        'wrk.body = f:read("*all")\nf:close()\n'
        f'wrk.headers["Authorization"] = "{AUTH}"\n'
        f'wrk.headers["MS-ASProtocolVersion"] = "{VERSION}"\n'
        'wrk.headers["Content-Type"] = "application/vnd.ms-sync.wbxml"\n'
        'wrk.headers["User-Agent"] = "Apple-iPhone15C2/2104"\n'
    )
    result = subprocess.run(
        ["wrk", "-t1", "-c4", f"-d{seconds}s", "-s", str(script), url],
        capture_output=True, text=True, timeout=seconds + 60, check=False,
    )  # fmt: skip
    match = re.search(r"Requests/sec:\s+([\d.]+)", result.stdout)
    return (float(match.group(1)) if match else 0.0), result.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--window", type=int, default=100)
    parser.add_argument("--seconds", type=int, default=10, help="wrk duration")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="easgw-bench-sync-"))
    data_dir = workdir / "data"
    print(f"seeding {args.events} events into the embedded store ...", flush=True)
    seed_start = time.perf_counter()
    asyncio.run(_seed(data_dir, args.events))
    print(f"seeded in {time.perf_counter() - seed_start:.1f} s", flush=True)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "easgw", "serve", "--listen", f"127.0.0.1:{port}",
         "--data-dir", str(data_dir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        env={**os.environ, "EASGW_POLICY__REQUIRED": "false", "EASGW_SYNC__MAX_WINDOW": "512"},
    )  # fmt: skip
    failures: list[str] = []
    try:
        for _ in range(150):
            try:
                urllib.request.urlopen(f"{url}/healthz", timeout=1).read()  # noqa: S310
                break
            except OSError:
                time.sleep(0.2)
        elapsed, received, requests, key, calendar = asyncio.run(_initial_sync(url, args.window))
        print()
        print("benchmark                               value        target")
        print("-" * 66)
        print(f"initial Sync, {received} events, window {args.window:<4} {elapsed:8.2f} s   < 10 s"
              f"   ({requests} requests, {received / elapsed:,.0f} events/s)")  # fmt: skip
        if received != args.events:
            failures.append(f"received {received} of {args.events} events")
        if elapsed >= 10:
            failures.append("initial sync took 10 s or more")
        if shutil.which("wrk") is None:
            print("no-change Sync rate: skipped (install Debian's wrk)")
        else:
            body = wbxml.encode(etree.fromstring(_sync_xml(key, calendar, args.window).encode()))
            rate, output = _wrk(
                url + EAS_QUERY.format(command="Sync"),
                body, args.seconds, workdir,
            )  # fmt: skip
            print(f"no-change Sync (wrk, 4 connections)    {rate:8.0f} /s  >= 500 /s")
            if "Non-2xx" in output:
                failures.append("wrk saw non-2xx answers:\n" + output)
            if rate < 500:
                failures.append("no-change Sync rate under 500/s")
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)
    print()
    for failure in failures:
        print(f"FAIL  {failure}")
    if not failures:
        print("PASS  every target")
    return 1 if failures and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
