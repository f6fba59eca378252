"""Test harness: a real gateway on loopback (aiohttp's test server) and an EAS client.

``EasClient`` speaks like a phone: plain or base64 query, Basic auth, the
protocol version and policy key headers, WBXML bodies built from XML text.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from lxml import etree

from easgw.config import Config, load_config
from easgw.gateway import Gateway
from easgw.users import Users
from protocol import wbxml
from protocol.ashttp import Command, encode_base64_query

EAS = "/Microsoft-Server-ActiveSync"


def make_config(tmp_path: Path, text: str = "", database_url: str | None = None) -> Config:
    """A configuration on a fresh data dir (and optionally another database)."""
    overrides: dict[str, dict[str, Any]] = {"server": {"data_dir": str(tmp_path / "data")}}
    if database_url:
        overrides["database"] = {"url": database_url}
    return load_config(None, env={}, overrides=overrides, text=text)


async def add_user(
    config: Config, login: str, password: str | None = "secret", email: str | None = None
) -> None:
    gateway = Gateway(config)
    try:
        await gateway.open()
        async with gateway.database.sessions.begin() as session:
            await Users(session).add(
                login,
                email=email or f"{login}@example.com",
                display_name=login.title(),
                password=password,
            )
    finally:
        await gateway.close()


@dataclass
class Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes
    tree: etree._Element | None

    def find(self, path: str) -> str | None:
        """Text of the first element at an XPath-like path with page prefixes, e.g.
        ``"//FolderHierarchy:Status"``."""
        assert self.tree is not None, f"no WBXML body (HTTP {self.status}: {self.body[:200]!r})"
        found = self.tree.xpath(path, namespaces=NAMESPACES)
        if not found:
            return None
        first = found[0]
        return first.text if isinstance(first, etree._Element) else str(first)

    def findall(self, path: str) -> list[etree._Element]:
        assert self.tree is not None
        return list(self.tree.xpath(path, namespaces=NAMESPACES))


NAMESPACES = {
    name: f"{name}:"
    for name in [
        "AirSync", "Contacts", "Email", "Calendar", "Move", "GetItemEstimate", "FolderHierarchy",
        "MeetingResponse", "Tasks", "ResolveRecipients", "ValidateCert", "Ping", "Provision",
        "Search", "GAL", "AirSyncBase", "Settings", "ItemOperations", "ComposeMail", "Email2",
        "Find",
    ]
}  # fmt: skip


@dataclass
class EasClient:
    """A phone talking to the gateway under test."""

    client: TestClient  # type: ignore[type-arg]
    user: str = "alice"
    password: str = "secret"
    device_id: str = "DEV1"
    device_type: str = "iPhone"
    user_agent: str = "Apple-iPhone15C2/2104.112"
    version: str = "16.1"
    policy_key: int | None = None
    base64_query: bool = False
    extra_headers: dict[str, str] = field(default_factory=dict)

    def auth_header(self) -> str:
        raw = f"{self.user}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode()

    def _query(self, command: str, parameters: Mapping[str, str]) -> str:
        if self.base64_query:
            return encode_base64_query(
                command=Command[command],
                version=self.version,
                device_id=self.device_id,
                device_type=self.device_type,
                user=self.user,
                policy_key=self.policy_key,
                parameters=parameters,
            )
        pairs = {
            "Cmd": command,
            "User": self.user,
            "DeviceId": self.device_id,
            "DeviceType": self.device_type,
            **parameters,
        }
        return "&".join(f"{k}={v}" for k, v in pairs.items())

    async def options(self) -> Answer:
        response = await self.client.options(
            EAS, headers={"Authorization": self.auth_header(), "User-Agent": self.user_agent}
        )
        return Answer(response.status, response.headers, await response.read(), None)

    async def command(
        self,
        command: str,
        xml: str | bytes | None = None,
        *,
        body: bytes | None = None,
        parameters: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        """POST a command; ``xml`` is encoded to WBXML (or ``body`` sent raw)."""
        if xml is not None:
            text = xml.encode() if isinstance(xml, str) else xml
            body = wbxml.encode(etree.fromstring(text))
        sent: dict[str, str] = {
            "Authorization": self.auth_header(),
            "User-Agent": self.user_agent,
            "Content-Type": "application/vnd.ms-sync.wbxml",
        }
        if not self.base64_query:
            sent["MS-ASProtocolVersion"] = self.version
            if self.policy_key is not None:
                sent["X-MS-PolicyKey"] = str(self.policy_key)
        sent.update(self.extra_headers)
        sent.update(headers or {})
        query = self._query(command, parameters or {})
        payload: bytes | io.BytesIO = body or b""
        if len(payload) > 1024 * 1024:  # aiohttp wants large bodies as a stream
            payload = io.BytesIO(payload)
        response = await self.client.post(f"{EAS}?{query}", data=payload, headers=sent)
        data = await response.read()
        tree = None
        if data and response.content_type == "application/vnd.ms-sync.wbxml":
            tree = wbxml.decode(data)
        return Answer(response.status, response.headers, data, tree)
