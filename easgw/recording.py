"""Recording conversations as replayable scenarios (``record.dir``, CONTRACTS.md section 2).

Every EAS request (OPTIONS and POST on /Microsoft-Server-ActiveSync) of a known
user is written, with its answer, as the next step of the scenario folder
``<dir>/<user>-<deviceid>/``: ``NN-<Command>.request.json`` with the body as
``.wbxml`` and its ``.xml`` twin (``easgw decode`` output), and
``NN-<Command>.expect.json`` with the actual status, the protocol headers and
the body. An OPTIONS that names no device is written before the next request
of the same user and User-Agent.

So that the recording replays against another gateway, values the server
chooses are turned into captures: in an answer, the text of PolicyKey,
SyncKey, the id elements (ServerId, CollectionId, ...) and UID becomes
``{{capture:<Tag><n>}}`` (or ``{{<name>}}`` when that value was captured
before); in a later request the same value (body, X-MS-PolicyKey, query id
parameters, the base64 query's policy key) becomes ``{{<name>}}``.

Safety: the Authorization header is dropped and the text of every request
element whose name contains "Password" is blanked; users are written without
passwords (an in-process replay makes one up); files are mode 0600, folders
0700, since the bodies are kept (they are the point). Recording never breaks a
request: any error is logged and the answer goes out as it was.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import tomllib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from aiohttp import web
from lxml import etree

from easgw import __version__
from easgw.auth import login_candidates, parse_basic
from easgw.config import Config, render_config
from easgw.gateway import Gateway
from easgw.state.models import User
from easgw.users import Users
from protocol import wbxml
from protocol.ashttp import EasRequestLine, RequestLineError, parse_request_line

__all__ = ["Recorder"]

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

EAS_PATH = "/microsoft-server-activesync"
WBXML_TYPE = "application/vnd.ms-sync.wbxml"
#: Element local name -> kind of value: a value is substituted only within its kind.
CAPTURED: Mapping[str, str] = {
    "PolicyKey": "PolicyKey",
    "SyncKey": "SyncKey",
    "UID": "UID",
    **dict.fromkeys(
        ("ServerId", "CollectionId", "ParentId", "FolderId", "LongId", "ItemId", "SrcMsgId",
         "SrcFldId", "DstFldId", "DstMsgId"),
        "Id",
    ),
}  # fmt: skip
_QUERY_IDS = ("CollectionId", "ItemId", "LongId", "ParentId")
_DROPPED_HEADERS = frozenset(
    {
        "authorization", "proxy-authorization", "cookie", "host", "content-length",
        "connection", "keep-alive", "transfer-encoding", "accept-encoding", "forwarded",
        "x-real-ip",
    }
)  # fmt: skip
_KEPT_ANSWER_HEADERS = (
    "Content-Type", "MS-ASProtocolVersions", "MS-ASProtocolCommands", "MS-Server-ActiveSync",
    "Allow", "Public", "WWW-Authenticate", "Retry-After", "X-MS-Location", "X-MS-RP",
)  # fmt: skip
#: Configuration sections that shape answers; copied into [setup] config.
_REPLAYED_SECTIONS = ("protocol", "policy", "devices", "ping", "sync")
_SAFE = re.compile(r"[^A-Za-z0-9._-]")
_MAX_PENDING = 1000


@dataclass
class _Conversation:
    folder: Path
    number: int = 0
    version: str = ""
    known: dict[tuple[str, str], str] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


@dataclass
class _Exchange:
    """One request and its answer, as seen at the boundary."""

    method: str
    query: Mapping[str, str]
    query_string: str
    headers: Mapping[str, str]
    body: bytes
    status: int
    answer_headers: Mapping[str, str]
    answer_body: bytes | None
    line: EasRequestLine | None


class Recorder:
    """The aiohttp middleware that records (``app.py`` installs it when record.dir is set)."""

    def __init__(self, config: Config, gateway: Callable[[web.Request], Gateway]) -> None:
        assert config.record.dir
        self.root = Path(config.record.dir)
        self.config = config
        self.gateway = gateway
        self.conversations: dict[tuple[str, str], _Conversation] = {}
        self.pending: dict[tuple[str, str], _Exchange] = {}
        self.users: dict[str, User] = {}
        self.opening = asyncio.Lock()

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.rstrip("/").lower() != EAS_PATH or request.method not in (
            "OPTIONS",
            "POST",
        ):
            return await handler(request)
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            await self._safely(request, exc)
            raise
        await self._safely(request, response)
        return response

    async def _safely(self, request: web.Request, response: web.StreamResponse) -> None:
        try:
            await self.record(request, response)
        except Exception:
            log.exception("recording failed; the answer is sent unrecorded")

    async def record(self, request: web.Request, response: web.StreamResponse) -> None:
        """Write one exchange into its device's scenario folder."""
        user = await self._user(request)
        if user is None:
            return
        if response.status in (401, 429):
            return  # a refused login cannot be replayed: the password is not recorded
        exchange = await _exchange(request, response)
        device_id = exchange.line.device_id if exchange.line else exchange.query.get("DeviceId")
        agent = exchange.headers.get("User-Agent", "")
        if not device_id:
            if request.method == "OPTIONS":
                if len(self.pending) >= _MAX_PENDING:
                    self.pending.pop(next(iter(self.pending)))
                self.pending[(user.login, agent)] = exchange
            return
        conversation = await self._conversation(user, device_id, exchange)
        async with conversation.lock:
            waiting = self.pending.pop((user.login, agent), None)
            for one in (waiting, exchange):
                if one is not None:
                    await asyncio.to_thread(_write_step, conversation, user, device_id, one)
            if not conversation.version and _version_of(exchange):
                conversation.version = _version_of(exchange)
                text = self._scenario_toml(user, device_id, exchange, conversation.version)
                await asyncio.to_thread(_write, conversation.folder / "scenario.toml", text)

    async def _user(self, request: web.Request) -> User | None:
        credentials = parse_basic(request.headers.get("Authorization"))
        if credentials is None:
            return None
        login, email = login_candidates(credentials.login)
        key = email or login
        if key not in self.users:
            async with self.gateway(request).database.sessions() as session:
                users = Users(session)
                user = await users.get(login)
                if user is None and email is not None:
                    user = await users.by_email(email)
                if user is None:
                    return None
                session.expunge(user)
            self.users[key] = user
        return self.users[key]

    async def _conversation(self, user: User, device_id: str, first: _Exchange) -> _Conversation:
        key = (user.login, device_id)
        async with self.opening:
            if key in self.conversations:
                return self.conversations[key]
            folder = self.root / f"{_safe(user.login)}-{_safe(device_id)}"
            conversation = _Conversation(folder=folder)
            await asyncio.to_thread(self._open, conversation, user, device_id, first)
            self.conversations[key] = conversation
        return self.conversations[key]

    def _open(
        self, conversation: _Conversation, user: User, device_id: str, first: _Exchange
    ) -> None:
        """Create the folder and scenario.toml, or pick up where a previous run stopped."""
        _mkdir(self.root)
        _mkdir(conversation.folder)
        state = conversation.folder / ".recording.json"
        if state.is_file():
            saved = json.loads(state.read_text(encoding="utf-8"))
            conversation.number = int(saved["number"])
            conversation.counters = dict(saved["counters"])
            conversation.known = {(kind, value): name for kind, value, name in saved["known"]}
        else:
            conversation.number = len(list(conversation.folder.glob("*.request.json")))
        scenario = conversation.folder / "scenario.toml"
        if scenario.exists():
            conversation.version = tomllib.loads(scenario.read_text(encoding="utf-8"))["version"]
        else:  # rewritten with the version once a request names it (an OPTIONS does not)
            _write(scenario, self._scenario_toml(user, device_id, first, ""))

    def _scenario_toml(self, user: User, device_id: str, first: _Exchange, version: str) -> str:
        line = first.line
        device_type = line.device_type if line else first.query.get("DeviceType", "")
        agent = first.headers.get("User-Agent", "")
        started = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        description = (
            f"Recorded conversation of {user.login} on {device_id} ({device_type}, {agent})"
        )
        provenance = (
            f"recording: easgw {__version__} serve --record, started {started}; the answers are "
            "what easgw said then, not checked against the spec"
        )
        user_line = (
            f"users = [{{ name = {_toml(user.login)}, email = {_toml(user.email)}, "
            f"display_name = {_toml(user.display_name)} }}]"
        )
        return "\n".join(
            [
                f"description = {_toml(description)}",
                f"provenance = {_toml(provenance)}",
                f"version = {_toml(version)}",
                "",
                "[setup]",
                "# Users are recorded without passwords: an in-process replay makes one up;",
                "# add `password = ...` to replay against a running gateway (--url).",
                user_line,
                f"config = '''\n{_replayed_config(self.config)}'''",
                "",
            ]
        )


def _version_of(exchange: _Exchange) -> str:
    line = exchange.line
    return (line.protocol_version if line else None) or exchange.headers.get(
        "MS-ASProtocolVersion", ""
    )


async def _exchange(request: web.Request, response: web.StreamResponse) -> _Exchange:
    body = await request.read()
    line = None
    if request.method == "POST":
        try:
            line = parse_request_line(request.rel_url.raw_query_string, request.headers)
        except RequestLineError:
            line = None
    answer = response.body if isinstance(response, web.Response) else None
    if isinstance(response, web.HTTPException) and answer is None and response.text:
        answer = response.text.encode("utf-8")
    return _Exchange(
        method=request.method,
        query=dict(request.query),
        query_string=unquote(request.rel_url.raw_query_string),
        headers=dict(request.headers),
        body=body,
        status=response.status,
        answer_headers=dict(response.headers),
        answer_body=answer if isinstance(answer, bytes) else None,
        line=line,
    )


# --------------------------------------------------------------------------
# Writing one step


def _write_step(
    conversation: _Conversation, user: User, device_id: str, exchange: _Exchange
) -> None:
    conversation.number += 1
    command = (
        exchange.line.command.name
        if exchange.line
        else ("Options" if exchange.method == "OPTIONS" else "Request")
    )
    name = f"{conversation.number:02d}-{command}"
    folder = conversation.folder
    request: dict[str, Any] = {"method": exchange.method, "path": "/Microsoft-Server-ActiveSync"}
    request.update(_request_line(conversation, exchange))
    request["headers"] = _request_headers(conversation, exchange.headers)
    request["body"] = _request_body(conversation, folder, name, exchange)
    request["user"] = user.login
    request["device"] = device_id
    expect = {
        "status": exchange.status,
        "headers": {
            # The command list grows with easgw: required, but not to the letter.
            header: None if header == "MS-ASProtocolCommands" else exchange.answer_headers[header]
            for header in _KEPT_ANSWER_HEADERS
            if header in exchange.answer_headers
        },
        "body": _answer_body(conversation, folder, name, exchange),
        "ignore": [],
    }
    _write(
        folder / f"{name}.request.json", json.dumps(request, indent=2, ensure_ascii=False) + "\n"
    )
    _write(folder / f"{name}.expect.json", json.dumps(expect, indent=2, ensure_ascii=False) + "\n")
    state = {
        "number": conversation.number,
        "counters": conversation.counters,
        "known": [[kind, value, n] for (kind, value), n in conversation.known.items()],
    }
    _write(folder / ".recording.json", json.dumps(state) + "\n")


def _request_line(conversation: _Conversation, exchange: _Exchange) -> dict[str, Any]:
    line = exchange.line
    if line is not None and line.base64_form:
        result: dict[str, Any] = {"query_base64": exchange.query_string}
        known = conversation.known.get(("PolicyKey", str(line.policy_key)))
        if line.policy_key is not None and known:
            result["policy_key"] = f"{{{{{known}}}}}"
        return result
    query = {
        key: _template(conversation, "Id", value) if key in _QUERY_IDS else value
        for key, value in exchange.query.items()
    }
    return {"query": query} if query else {}


def _request_headers(conversation: _Conversation, headers: Mapping[str, str]) -> dict[str, str]:
    kept = {}
    for name, value in headers.items():
        lowered = name.lower()
        if lowered in _DROPPED_HEADERS or lowered.startswith("x-forwarded-"):
            continue
        kept[name] = (
            _template(conversation, "PolicyKey", value) if lowered == "x-ms-policykey" else value
        )
    return kept


def _template(conversation: _Conversation, kind: str, value: str) -> str:
    name = conversation.known.get((kind, value))
    return f"{{{{{name}}}}}" if name else value


def _request_body(
    conversation: _Conversation, folder: Path, name: str, exchange: _Exchange
) -> str | None:
    if not exchange.body:
        return None
    tree = _tree(exchange.body)
    if tree is None:
        extension = "eml" if "rfc822" in exchange.headers.get("Content-Type", "") else "bin"
        _write(folder / f"{name}.request.{extension}", exchange.body)
        return f"{name}.request.{extension}"
    changed = False
    for element in _leaves(tree):
        local = etree.QName(element).localname
        if "Password" in local and (element.text or len(element.attrib)):
            element.attrib.clear()
            element.text = None
            element.set(f"{{{wbxml.MARKER_NS}}}empty", "1")
            changed = True
        elif local in CAPTURED and element.text and not len(element.attrib):
            templated = _template(conversation, CAPTURED[local], element.text)
            changed = changed or templated != element.text
            element.text = templated
    return _write_twins(folder, f"{name}.request", wbxml.encode(tree) if changed else exchange.body)


def _answer_body(
    conversation: _Conversation, folder: Path, name: str, exchange: _Exchange
) -> str | None:
    data = exchange.answer_body
    if not data:
        return None
    tree = _tree(data)
    if tree is None:
        if exchange.answer_headers.get("Content-Type", "").startswith("text/"):
            return None  # a plain-text status answer: not part of the protocol
        _write(folder / f"{name}.response.bin", data)
        return f"{name}.response.bin"
    changed = False
    for element in _leaves(tree):
        local = etree.QName(element).localname
        kind = CAPTURED.get(local)
        if kind is None or not element.text or element.text == "0" or len(element.attrib):
            continue  # "0" is a protocol constant; a marked (opaque) value stays as it is
        known = conversation.known.get((kind, element.text))
        if known is None:
            count = conversation.counters.get(local, 0) + 1
            conversation.counters[local] = count
            conversation.known[(kind, element.text)] = f"{local}{count}"
            element.text = f"{{{{capture:{local}{count}}}}}"
        else:
            element.text = f"{{{{{known}}}}}"
        changed = True
    return _write_twins(folder, f"{name}.response", wbxml.encode(tree) if changed else data)


def _tree(data: bytes) -> etree._Element | None:
    if not data.startswith(wbxml.HEADER[:2]):
        return None
    try:
        return wbxml.decode(data)
    except wbxml.WbxmlError:
        return None


def _leaves(tree: etree._Element) -> list[etree._Element]:
    return [e for e in tree.iter(etree.Element) if not any(isinstance(c.tag, str) for c in e)]


def _write_twins(folder: Path, stem: str, data: bytes) -> str:
    """``stem.wbxml`` and its ``.xml`` twin, exactly as ``easgw decode`` prints it."""
    _write(folder / f"{stem}.wbxml", data)
    _write(
        folder / f"{stem}.xml",
        etree.tostring(wbxml.decode(data), pretty_print=True, encoding="utf-8"),
    )
    return f"{stem}.wbxml"


# --------------------------------------------------------------------------
# Files


def _safe(name: str) -> str:
    cleaned = _SAFE.sub("_", name).strip(".") or "_"
    return cleaned[:100]


def _mkdir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)


def _write(path: Path, content: str | bytes) -> None:
    """Write with mode 0600 whatever the umask (recordings hold message bodies)."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _toml(value: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(value, ensure_ascii=False)


def _replayed_config(config: Config) -> str:
    """The sections of the effective configuration that shape answers."""
    keep, lines = False, []
    for line in render_config(config).splitlines():
        if line.startswith("["):
            keep = line.strip("[]") in _REPLAYED_SECTIONS
        if keep and not line.startswith("#"):
            lines.append(line)
    text = "\n".join(lines).strip() + "\n"
    return text.replace("'''", "")
