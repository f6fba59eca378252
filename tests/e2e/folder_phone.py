"""A phone that syncs several folders (MoveItems and MeetingResponse tests)."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

from aiohttp.test_utils import TestClient

from providers.stores.base import StoreUser
from tests.harness import Answer, EasClient

ALICE = StoreUser(login="alice", email="alice@example.com")
UTC_BLOB = base64.b64encode(bytes(172)).decode()
NS = 'xmlns="AirSync:" xmlns:C="Calendar:" xmlns:B="AirSyncBase:"'


@dataclass
class FolderPhone:
    """A device: its folders by display name (the default calendar also as
    ``"default"``, the Inbox as ``"inbox"``) and a SyncKey per collection."""

    eas: EasClient
    folders: dict[str, str] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, client: TestClient, version: str, device_id: str) -> FolderPhone:  # type: ignore[type-arg]
        return cls(EasClient(client, device_id=device_id, version=version))

    @property
    def version(self) -> str:
        return self.eas.version

    async def folder_sync(self) -> None:
        answer = await self.eas.command(
            "FolderSync", '<FolderSync xmlns="FolderHierarchy:"><SyncKey>0</SyncKey></FolderSync>'
        )
        for add in answer.findall("//FolderHierarchy:Add"):
            texts = {str(c.tag).split("}")[1]: c.text or "" for c in add}
            self.folders[texts["DisplayName"]] = texts["ServerId"]
            role = {"8": "default", "2": "inbox"}.get(texts["Type"])
            if role is not None:
                self.folders[role] = texts["ServerId"]

    async def sync(self, folder: str, commands: str = "") -> Answer:
        """A Sync of the folder named ``folder`` at its current key."""
        collection = self.folders[folder]
        body = f"<Commands>{commands}</Commands>" if commands else ""
        xml = (
            f"<Sync {NS}><Collections><Collection>"
            f"<SyncKey>{self.keys.get(collection, '0')}</SyncKey>"
            f"<CollectionId>{collection}</CollectionId>{body}"
            "</Collection></Collections></Sync>"
        )
        answer = await self.eas.command("Sync", xml)
        assert answer.status == 200, answer.body
        new_key = answer.find("//AirSync:Collection/AirSync:SyncKey")
        if new_key and answer.find("//AirSync:Collection/AirSync:Status") == "1":
            self.keys[collection] = new_key
        return answer

    async def start(self, *folders: str) -> None:
        """FolderSync, then the initial Sync (key 0) of each folder named."""
        await self.folder_sync()
        for folder in folders:
            await self.sync(folder)
            assert self.keys.get(self.folders[folder], "0") != "0"


def event(version: str, subject: str, uid: str) -> str:
    """ApplicationData of a one-hour event on 1 December 2026 (UTC)."""
    sixteen = version.startswith("16")
    ident = f"<C:ClientUid>{uid}</C:ClientUid>" if sixteen else f"<C:UID>{uid}</C:UID>"
    return (
        f"<ApplicationData><C:Timezone>{UTC_BLOB}</C:Timezone><C:AllDayEvent>0</C:AllDayEvent>"
        "<C:StartTime>20261201T100000Z</C:StartTime><C:EndTime>20261201T110000Z</C:EndTime>"
        f"<C:Subject>{subject}</C:Subject>{ident}"
        "<C:BusyStatus>2</C:BusyStatus><C:MeetingStatus>0</C:MeetingStatus></ApplicationData>"
    )


def commands(answer: Answer, kind: str) -> dict[str, dict[str, str]]:
    """ServerId -> {local name: text} of the ApplicationData of each ``kind`` command."""
    found: dict[str, dict[str, str]] = {}
    for element in answer.findall(f"//AirSync:Commands/AirSync:{kind}"):
        server_id = element.findtext("{AirSync:}ServerId") or ""
        data = element.find("{AirSync:}ApplicationData")
        texts: dict[str, str] = {}
        if data is not None:
            for node in data.iter():
                texts[str(node.tag).split("}")[-1]] = node.text or ""
        found[server_id] = texts
    return found


def command_count(answer: Answer) -> int:
    return len(answer.findall("//AirSync:Commands/*"))
