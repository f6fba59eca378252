"""A phone that syncs the default calendar, for GetItemEstimate and ItemOperations tests."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from aiohttp.test_utils import TestClient

from tests.harness import Answer, EasClient

UTC_BLOB = base64.b64encode(bytes(172)).decode()
NS = 'xmlns="AirSync:" xmlns:C="Calendar:" xmlns:B="AirSyncBase:"'


@dataclass
class Phone:
    """A device with its calendar's and inbox's CollectionIds and its current SyncKeys."""

    eas: EasClient
    calendar: str = ""
    inbox: str = ""
    key: str = "0"

    @classmethod
    def of(cls, client: TestClient, version: str, device_id: str) -> Phone:  # type: ignore[type-arg]
        return cls(EasClient(client, device_id=device_id, version=version))

    @property
    def version(self) -> str:
        return self.eas.version

    async def folders(self) -> None:
        answer = await self.eas.command(
            "FolderSync", '<FolderSync xmlns="FolderHierarchy:"><SyncKey>0</SyncKey></FolderSync>'
        )
        for add in answer.findall("//FolderHierarchy:Add"):
            texts = {c.tag.split("}")[1]: c.text for c in add}
            if texts["Type"] == "8":
                self.calendar = texts["ServerId"] or ""
            if texts["Type"] == "2":
                self.inbox = texts["ServerId"] or ""

    async def sync(self, commands: str = "", *, key: str | None = None, extra: str = "") -> Answer:
        body = f"<Commands>{commands}</Commands>" if commands else ""
        xml = (
            f"<Sync {NS}><Collections><Collection><SyncKey>{key or self.key}</SyncKey>"
            f"<CollectionId>{self.calendar}</CollectionId>{extra}{body}"
            "</Collection></Collections></Sync>"
        )
        answer = await self.eas.command("Sync", xml)
        assert answer.status == 200, answer.body
        new_key = answer.find("//AirSync:Collection/AirSync:SyncKey")
        if new_key and answer.find("//AirSync:Collection/AirSync:Status") == "1":
            self.key = new_key
        return answer

    async def start(self) -> None:
        await self.folders()
        answer = await self.sync(key="0")
        assert answer.find("//AirSync:Collection/AirSync:Status") == "1"
        assert self.key != "0"

    async def add(self, subject: str, uid: str, body: str = "") -> str:
        """Add an event through Sync; its ServerId."""
        data = event(self.version, subject, uid=uid, body=body)
        answer = await self.sync(f"<Add><ClientId>{uid}</ClientId>{data}</Add>")
        server_id = answer.find("//AirSync:Responses/AirSync:Add/AirSync:ServerId")
        assert server_id, answer.body
        return server_id


def event(version: str, subject: str, *, uid: str, body: str = "") -> str:
    """ApplicationData of a one-hour event on 1 December 2026 (UTC)."""
    sixteen = version.startswith("16")
    ident = f"<C:ClientUid>{uid}</C:ClientUid>" if sixteen else f"<C:UID>{uid}</C:UID>"
    text = f"<B:Body><B:Type>1</B:Type><B:Data>{body}</B:Data></B:Body>" if body else ""
    return (
        f"<ApplicationData><C:Timezone>{UTC_BLOB}</C:Timezone><C:AllDayEvent>0</C:AllDayEvent>"
        "<C:StartTime>20261201T100000Z</C:StartTime><C:EndTime>20261201T110000Z</C:EndTime>"
        f"<C:Subject>{subject}</C:Subject>{ident}{text}"
        "<C:BusyStatus>2</C:BusyStatus><C:MeetingStatus>0</C:MeetingStatus></ApplicationData>"
    )
