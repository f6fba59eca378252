"""Running scenarios: a fresh in-process gateway (or ``--url``), real HTTP."""

from __future__ import annotations

import base64
import binascii
import contextlib
import secrets
import struct
import tempfile
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import aiohttp
from aiohttp import web
from lxml import etree
from sqlalchemy.exc import SQLAlchemyError
from yarl import URL

from easgw.app import create_app
from easgw.config import ConfigError, load_config
from easgw.gateway import Gateway
from easgw.replay.compare import (
    WBXML_TYPE,
    XML_PARSER,
    StepFailure,
    check_answer,
    substitute,
    substitute_tree,
)
from easgw.replay.scenario import Scenario, ScenarioError, Step, find_scenarios, load_scenario
from easgw.users import UserError, Users
from protocol import wbxml
from protocol.ashttp import RequestLineError, parse_request_line
from providers.stores.base import StoreError, StoreUser

__all__ = ["EAS_PATH", "build_request", "replay", "run_scenario"]

EAS_PATH = "/Microsoft-Server-ActiveSync"


def _base64_with_policy_key(query: str, policy_key: str) -> str:
    """The base64 query (MS-ASHTTP 2.2.1.1.1.1) with its policy key replaced
    in place; every other byte stays as written."""
    try:
        raw = bytearray(base64.b64decode(query + "=" * (-len(query) % 4), validate=True))
        key = struct.pack("<I", int(policy_key))
    except (binascii.Error, ValueError, struct.error):
        raise StepFailure(f"cannot put policy key {policy_key!r} into query_base64") from None
    at = 4 + 1 + raw[4]  # version, command, locale (2), device id length + id
    if at >= len(raw) or raw[at] not in (0, 4):
        raise StepFailure("query_base64 has no policy key field")
    raw[at : at + 1 + raw[at]] = bytes([4]) + key
    rebuilt = base64.b64encode(bytes(raw)).decode("ascii")
    try:
        parse_request_line(rebuilt, {})
    except RequestLineError as exc:
        raise StepFailure(f"rebuilt query_base64 is malformed: {exc}") from None
    return rebuilt


def _query(request: Mapping[str, Any], captures: Mapping[str, str]) -> str:
    if "query_base64" in request:
        query = str(request["query_base64"])
        if request.get("policy_key") is not None:
            query = _base64_with_policy_key(query, substitute(str(request["policy_key"]), captures))
        return quote(query, safe="")  # %2B: a raw "+" may be read as a space
    pairs = [(k, substitute(str(v), captures)) for k, v in (request.get("query") or {}).items()]
    return urlencode(pairs, quote_via=quote, safe="@")


def _body(step: Step, headers: Mapping[str, str], captures: Mapping[str, str]) -> bytes | None:
    if step.request.get("body") is None:
        return None
    name = str(step.request["body"])
    data = (step.folder / name).read_bytes()
    xml_type = "xml" in headers.get("content-type", "").lower()
    if name.endswith(".wbxml") and b"{{" in data:
        tree = wbxml.decode(data)
    elif name.endswith(".xml") and not xml_type:
        tree = etree.fromstring(data, XML_PARSER)
    else:
        try:  # raw: templates only in a text body
            return substitute(data.decode(), captures).encode() if b"{{" in data else data
        except UnicodeDecodeError:
            return data
    substitute_tree(tree, captures)
    return wbxml.encode(tree)


def build_request(
    step: Step, passwords: Mapping[str, str], captures: Mapping[str, str]
) -> tuple[str, str, dict[str, str], bytes | None]:
    """(method, path?query, headers, body) of a step, templates filled in."""
    request = step.request
    headers = {
        str(k): substitute(str(v), captures) for k, v in (request.get("headers") or {}).items()
    }
    lowered = {k.lower(): v for k, v in headers.items()}
    user = request.get("user")
    if user is not None and "authorization" not in lowered:
        if user not in passwords:
            raise StepFailure(f"user {user!r} is not in [setup] users")
        token = base64.b64encode(f"{user}:{passwords[user]}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    body = _body(step, lowered, captures)
    if body and "content-type" not in lowered:
        headers["Content-Type"] = WBXML_TYPE
    query = _query(request, captures)
    target = str(request.get("path") or EAS_PATH) + (f"?{query}" if query else "")
    return str(request.get("method", "POST")).upper(), target, headers, body


@dataclass
class _Run:
    base: str
    passwords: dict[str, str]
    session: aiohttp.ClientSession
    emit: Callable[[str], None]
    captures: dict[str, str] = field(default_factory=dict)


async def _run_step(run: _Run, scenario: Scenario, step: Step) -> bool:
    label = f"{scenario.label}/{step.name}"
    try:
        method, target, headers, body = build_request(step, run.passwords, run.captures)
    except (StepFailure, wbxml.WbxmlError, etree.XMLSyntaxError) as exc:
        run.emit(f"FAIL {label}\n  {exc}")
        return False
    try:
        async with run.session.request(
            method, URL(run.base + target, encoded=True), headers=headers, data=body
        ) as response:
            data = await response.read()
            problems = check_answer(
                step,
                status=response.status,
                headers=response.headers,
                data=data,
                content_type=response.content_type,
                captures=run.captures,
            )
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise ScenarioError(
            f"{label}: {run.base} did not answer: {exc or type(exc).__name__}"
        ) from None
    if problems:
        run.emit("\n".join([f"FAIL {label}", *(f"  {line}" for line in problems)]))
        return False
    run.emit(f"PASS {label}")
    return True


@contextlib.asynccontextmanager
async def _local_gateway(scenario: Scenario, passwords: dict[str, str]) -> AsyncIterator[str]:
    """A fresh gateway on a free loopback port, set up from [setup]."""
    with tempfile.TemporaryDirectory(prefix="easgw-replay-") as data_dir:
        try:
            config = load_config(
                env={}, text=scenario.config, overrides={"server": {"data_dir": data_dir}}
            )
        except ConfigError as exc:
            raise ScenarioError(f"{scenario.label}: [setup] config: {exc}") from None
        await _set_up(Gateway(config), scenario, passwords)
        runner = web.AppRunner(create_app(config), access_log=None)
        await runner.setup()
        try:
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            host, port = runner.addresses[0][:2]
            yield f"http://{host}:{port}"
        finally:
            await runner.cleanup()


async def _set_up(gateway: Gateway, scenario: Scenario, passwords: dict[str, str]) -> None:
    try:
        await gateway.open()
        async with gateway.database.sessions.begin() as session:
            for user in scenario.users:
                await Users(session).add(
                    user.name,
                    email=user.email,
                    display_name=user.display_name,
                    password=passwords[user.name],
                )
        by_name = {user.name: user for user in scenario.users}
        for name, path in scenario.seeds:
            user = by_name[name]
            who = StoreUser(login=user.name, email=user.email, display_name=user.display_name)
            calendars = await gateway.store.list_calendars(who)
            default = next((c for c in calendars if c.is_default), calendars[0])
            await gateway.store.put_item(who, default.id, path.read_text(encoding="utf-8"))
    except (UserError, StoreError, SQLAlchemyError, OSError, IndexError) as exc:
        raise ScenarioError(f"{scenario.label}: [setup]: {exc}") from None
    finally:
        await gateway.close()


def _base_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ScenarioError(f"--url: expected http(s)://host[:port], got {url!r}")
    path = parts.path.rstrip("/")
    if path.lower().endswith(EAS_PATH.lower()):
        path = path[: -len(EAS_PATH)]
    return f"{parts.scheme}://{parts.netloc}{path}"


async def run_scenario(
    scenario: Scenario,
    *,
    emit: Callable[[str], None],
    url: str | None = None,
    timeout: float = 300,
    verify_tls: bool = True,
) -> bool:
    """Run every step of ``scenario``; True when all pass."""
    if url is None:
        passwords = {u.name: u.password or secrets.token_urlsafe(12) for u in scenario.users}
        gateway: contextlib.AbstractAsyncContextManager[str] = _local_gateway(scenario, passwords)
    else:
        missing = [u.name for u in scenario.users if u.password is None]
        if missing:
            raise ScenarioError(f"{scenario.label}: --url needs a password for {missing[0]}")
        passwords = {u.name: str(u.password) for u in scenario.users}
        if scenario.seeds:
            emit(f"NOTE {scenario.label}: seed/ is not loaded with --url; the gateway must hold it")
        gateway = contextlib.nullcontext(_base_url(url))
    async with (
        gateway as base,
        aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=timeout),
            skip_auto_headers=("User-Agent", "Content-Type"),
            connector=aiohttp.TCPConnector(ssl=verify_tls),
        ) as session,
    ):
        run = _Run(base=base, passwords=passwords, session=session, emit=emit)
        results = [await _run_step(run, scenario, step) for step in scenario.steps]
    return all(results)


async def replay(
    paths: Sequence[Path],
    *,
    emit: Callable[[str], None],
    url: str | None = None,
    timeout: float = 300,
    verify_tls: bool = True,
) -> int:
    """Replay every scenario under ``paths``: 0 all passed, 1 a mismatch.
    Raises ScenarioError (exit 2) before any step runs when a scenario is malformed."""
    scenarios = [load_scenario(folder, label) for folder, label in find_scenarios(paths)]
    passed = True
    for scenario in scenarios:
        ok = await run_scenario(
            scenario, emit=emit, url=url, timeout=timeout, verify_tls=verify_tls
        )
        passed = passed and ok
    return 0 if passed else 1
