"""Autodiscover over loopback HTTP: the mobilesync answer and the documented errors."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp.test_utils import TestClient
from lxml import etree

from easgw.app import create_app
from protocol.autodiscover import (
    AUTODISCOVER_RESPONSE_NS,
    MOBILESYNC_REQUEST_NS,
    MOBILESYNC_RESPONSE_NS,
    OUTLOOK_RESPONSE_SCHEMA,
)
from tests.harness import add_user, make_config

ClientFactory = Callable[..., Awaitable[TestClient]]  # type: ignore[type-arg]
AUTH = {"Authorization": "Basic " + base64.b64encode(b"alice:secret").decode()}
XML = {"Content-Type": "text/xml"}


def _request(schema: str = MOBILESYNC_RESPONSE_NS, email: str = "alice@example.com") -> bytes:
    return f"""<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="{MOBILESYNC_REQUEST_NS}">
  <Request>
    <EMailAddress>{email}</EMailAddress>
    <AcceptableResponseSchema>{schema}</AcceptableResponseSchema>
  </Request>
</Autodiscover>""".encode()


async def _client(aiohttp_client: ClientFactory, tmp_path: Path, text: str = "") -> TestClient:  # type: ignore[type-arg]
    config = make_config(tmp_path, text)
    await add_user(config, "alice", "secret", "alice@example.com")
    return await aiohttp_client(create_app(config))


async def _post(
    client: TestClient, body: bytes, path: str = "/autodiscover/autodiscover.xml", **headers: str
) -> tuple[int, etree._Element | None, bytes]:  # type: ignore[type-arg]
    response = await client.post(path, data=body, headers={**AUTH, **XML, **headers})
    data = await response.read()
    tree = etree.fromstring(data) if response.content_type == "text/xml" else None
    return response.status, tree, data


def _server(tree: etree._Element, name: str) -> str:
    ns = {"r": MOBILESYNC_RESPONSE_NS}
    return str(
        tree.xpath(f"string(r:Response/r:Action/r:Settings/r:Server/r:{name})", namespaces=ns)
    )


def _error_code(tree: etree._Element) -> str:
    ns = {"a": AUTODISCOVER_RESPONSE_NS}
    return str(tree.xpath("string(a:Response/a:Error/a:ErrorCode)", namespaces=ns))


async def test_mobilesync_answer_derives_the_url_from_the_request(
    aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    client = await _client(aiohttp_client, tmp_path)
    host = f"{client.host}:{client.port}"
    for path in ["/autodiscover/autodiscover.xml", "/AutoDiscover/AutoDiscover.xml"]:
        status, tree, _ = await _post(client, _request(), path)
        assert status == 200
        assert tree is not None
        assert _server(tree, "Type") == "MobileSync"
        assert _server(tree, "Url") == f"http://{host}/Microsoft-Server-ActiveSync"
        assert _server(tree, "Name") == _server(tree, "Url")
        ns = {"r": MOBILESYNC_RESPONSE_NS}
        email = tree.xpath("string(r:Response/r:User/r:EMailAddress)", namespaces=ns)
        assert email == "alice@example.com"
        assert tree.xpath("string(r:Response/r:User/r:DisplayName)", namespaces=ns) == "Alice"


async def test_configured_public_url_wins(aiohttp_client: ClientFactory, tmp_path: Path) -> None:
    client = await _client(
        aiohttp_client, tmp_path, '[server]\npublic_url = "https://eas.example.com/"\n'
    )
    status, tree, _ = await _post(client, _request())
    assert status == 200
    assert tree is not None
    assert _server(tree, "Url") == "https://eas.example.com/Microsoft-Server-ActiveSync"


async def test_trusted_proxy_scheme_is_honoured(
    aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    client = await _client(
        aiohttp_client, tmp_path, '[server]\ntrusted_proxies = ["127.0.0.1/32"]\n'
    )
    status, tree, _ = await _post(
        client, _request(), **{"X-Forwarded-Proto": "https", "Host": "mail.example.org"}
    )
    assert status == 200
    assert tree is not None
    assert _server(tree, "Url") == "https://mail.example.org/Microsoft-Server-ActiveSync"


async def test_outlook_schema_gets_provider_not_found(
    aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    client = await _client(aiohttp_client, tmp_path)
    status, tree, data = await _post(client, _request(OUTLOOK_RESPONSE_SCHEMA))
    assert status == 200
    assert tree is not None
    assert tree.tag == f"{{{AUTODISCOVER_RESPONSE_NS}}}Autodiscover"
    assert _error_code(tree) == "601"
    assert b"Microsoft-Server-ActiveSync" not in data


MALFORMED = {
    "empty": b"",
    "truncated": b"<Autodiscover><Request>",
    "html": b"<html>hello</html>",
    "wbxml": b"\x03\x01\x6a\x00\x00\x07VR\x030\x00\x01\x01",
    "no-email": _request(email=""),
    "xxe": b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>',
    "oversized": _request().replace(b"<Request>", b"<Request>" + b" " * 70_000),
}


async def test_malformed_requests_get_error_600_never_500(
    aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    client = await _client(aiohttp_client, tmp_path)
    for name, body in MALFORMED.items():
        status, tree, data = await _post(client, body)
        assert status == 200, name
        assert tree is not None, name
        assert _error_code(tree) == "600", name
        assert b"root:" not in data
        assert b"Traceback" not in data


async def test_authentication_is_required(aiohttp_client: ClientFactory, tmp_path: Path) -> None:
    client = await _client(aiohttp_client, tmp_path)
    response = await client.post("/autodiscover/autodiscover.xml", data=_request())
    assert response.status == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    wrong = {"Authorization": "Basic " + base64.b64encode(b"alice:nope").decode()}
    response = await client.post("/autodiscover/autodiscover.xml", data=_request(), headers=wrong)
    assert response.status == 401
    assert b"Microsoft-Server-ActiveSync" not in await response.read()


async def test_get_and_other_methods(aiohttp_client: ClientFactory, tmp_path: Path) -> None:
    client = await _client(aiohttp_client, tmp_path)
    assert (await client.get("/autodiscover/autodiscover.xml")).status == 401
    response = await client.get("/Autodiscover/Autodiscover.xml", headers=AUTH)
    assert response.status == 200
    assert _error_code(etree.fromstring(await response.read())) == "600"
    assert (await client.put("/autodiscover/autodiscover.xml", headers=AUTH)).status == 405
