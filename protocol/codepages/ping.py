"""Code page 13: Ping (MS-ASWBXML 2.1.2.1.14)."""

from protocol.codepages.page import CodePage

PAGE = CodePage(
    number=13,
    name="Ping",
    tags={
        0x05: "Ping",
        0x06: "AutdState",  # not used by the protocol
        0x07: "Status",
        0x08: "HeartbeatInterval",
        0x09: "Folders",
        0x0A: "Folder",
        0x0B: "Id",
        0x0C: "Class",
        0x0D: "MaxFolders",
    },
)
