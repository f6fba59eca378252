"""A phone's first contact with a real `easgw serve` process, as the server-core issue states it.

`easgw users add` makes the user; the phone then does OPTIONS -> Provision (twice) ->
Settings -> FolderSync over HTTP on loopback, with the plain query at 12.0, 12.1, 14.1 and
16.1 and the base64 query at 12.1+ (MS-ASHTTP 2.2.1.1.1.1).
"""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import aiohttp
import pytest
from lxml import etree

from protocol import wbxml
from protocol.ashttp import Command, encode_base64_query
from tests.e2e.test_serve import _free_port, _wait_for
from tests.harness import NAMESPACES

PASSWORD = "correct horse battery staple"

PROVISION = """<Provision xmlns="Provision:" xmlns:settings="Settings:">{device}
  <Policies><Policy><PolicyType>MS-EAS-Provisioning-WBXML</PolicyType>{ack}</Policy></Policies>
</Provision>"""
DEVICE_INFORMATION = """<settings:DeviceInformation><settings:Set>
  <settings:Model>iPhone15,2</settings:Model><settings:OS>iOS 17.1</settings:OS>
  <settings:OSLanguage>en</settings:OSLanguage>
  <settings:FriendlyName>Alice's iPhone</settings:FriendlyName>
</settings:Set></settings:DeviceInformation>"""
SETTINGS = '<Settings xmlns="Settings:"><UserInformation><Get/></UserInformation></Settings>'
FOLDERSYNC = '<FolderSync xmlns="FolderHierarchy:"><SyncKey>0</SyncKey></FolderSync>'


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("first-contact") / "data"
    added = subprocess.run(
        [sys.executable, "-m", "easgw", "users", "add", "alice", "--email", "alice@example.com",
         "--display-name", "Alice Example", "--password-stdin", "--data-dir", str(data)],
        input=f"{PASSWORD}\n".encode(), capture_output=True, timeout=120, check=False,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "easgw", "serve", "--listen", f"127.0.0.1:{port}",
         "--data-dir", str(data)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        _wait_for(f"http://127.0.0.1:{port}/healthz")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
        assert b"Traceback" not in stderr, stderr.decode()


class Phone:
    def __init__(self, session: aiohttp.ClientSession, url: str, version: str, b64: bool) -> None:
        self.session, self.url, self.version, self.b64 = session, url, version, b64
        self.device_id = f"FC{version.replace('.', '')}{'B' if b64 else 'P'}"
        self.policy_key: int | None = None
        token = base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
        self.headers = {"Authorization": f"Basic {token}", "User-Agent": "Apple-iPhone15C2/2104"}

    async def options(self) -> list[str]:
        async with self.session.options(
            f"{self.url}/Microsoft-Server-ActiveSync", headers=self.headers
        ) as response:
            assert response.status == 200
            return response.headers["MS-ASProtocolVersions"].split(",")

    async def post(self, command: str, xml: str) -> etree._Element:
        headers = {**self.headers, "Content-Type": "application/vnd.ms-sync.wbxml"}
        if self.b64:
            query = encode_base64_query(
                command=Command[command], version=self.version, device_id=self.device_id,
                device_type="iPhone", user="alice", policy_key=self.policy_key,
            )  # fmt: skip
        else:
            query = f"Cmd={command}&User=alice&DeviceId={self.device_id}&DeviceType=iPhone"
            headers["MS-ASProtocolVersion"] = self.version
            if self.policy_key is not None:
                headers["X-MS-PolicyKey"] = str(self.policy_key)
        body = wbxml.encode(etree.fromstring(xml.encode()))
        async with self.session.post(
            f"{self.url}/Microsoft-Server-ActiveSync?{query}", data=body, headers=headers
        ) as response:
            assert response.status == 200, await response.text()
            assert response.content_type == "application/vnd.ms-sync.wbxml"
            return wbxml.decode(await response.read())


def _text(tree: etree._Element, path: str) -> list[str]:
    return [str(e.text) for e in tree.xpath(path, namespaces=NAMESPACES)]


CASES = [("12.0", False), ("12.1", False), ("14.1", False), ("16.1", False),
         ("12.1", True), ("14.1", True), ("16.1", True)]  # fmt: skip


@pytest.mark.parametrize(
    ("version", "b64"), CASES, ids=[f"{v}-{'b64' if b else 'plain'}" for v, b in CASES]
)
async def test_first_contact(server: str, version: str, b64: bool) -> None:
    async with aiohttp.ClientSession() as session:
        phone = Phone(session, server, version, b64)
        assert version in await phone.options()

        device = DEVICE_INFORMATION if version in ("14.1", "16.1") else ""
        first = await phone.post("Provision", PROVISION.format(device=device, ack=""))
        assert _text(first, "/Provision:Provision/Provision:Status") == ["1"]
        assert _text(first, "//Provision:Policy/Provision:Status") == ["1"]
        assert first.xpath("//Provision:EASProvisionDoc", namespaces=NAMESPACES)
        (temporary,) = _text(first, "//Provision:Policy/Provision:PolicyKey")

        phone.policy_key = int(temporary)
        ack = f"<PolicyKey>{temporary}</PolicyKey><Status>1</Status>"
        second = await phone.post("Provision", PROVISION.format(device="", ack=ack))
        (final,) = _text(second, "//Provision:Policy/Provision:PolicyKey")
        assert final != temporary
        phone.policy_key = int(final)

        settings = await phone.post("Settings", SETTINGS)
        assert _text(settings, "/Settings:Settings/Settings:Status") == ["1"]
        assert "alice@example.com" in _text(settings, "//Settings:SMTPAddress")

        folders = await phone.post("FolderSync", FOLDERSYNC)
        assert _text(folders, "/FolderHierarchy:FolderSync/FolderHierarchy:Status") == ["1"]
        types = {
            add.findtext("{FolderHierarchy:}DisplayName"): add.findtext("{FolderHierarchy:}Type")
            for add in folders.iter("{FolderHierarchy:}Add")
        }
        assert "8" in types.values()
        assert types.get("Inbox") == "2"


async def test_stale_policy_key_after_first_contact(server: str) -> None:
    async with aiohttp.ClientSession() as session:
        phone = Phone(session, server, "14.1", False)
        phone.device_id = "STALE"
        phone.policy_key = 12345
        answer = await phone.post("FolderSync", FOLDERSYNC)
        assert _text(answer, "//FolderHierarchy:Status") in (["142"], ["144"])
