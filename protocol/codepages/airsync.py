"""Code page 0: AirSync (MS-ASWBXML 2.1.2.1.1)."""

from protocol.codepages.page import CodePage

PAGE = CodePage(
    number=0,
    name="AirSync",
    tags={
        0x05: "Sync",
        0x06: "Responses",
        0x07: "Add",
        0x08: "Change",
        0x09: "Delete",
        0x0A: "Fetch",
        0x0B: "SyncKey",
        0x0C: "ClientId",
        0x0D: "ServerId",
        0x0E: "Status",
        0x0F: "Collection",
        0x10: "Class",
        0x11: "Version",  # legacy (early spec)
        0x12: "CollectionId",
        0x13: "GetChanges",
        0x14: "MoreAvailable",
        0x15: "WindowSize",
        0x16: "Commands",
        0x17: "Options",
        0x18: "FilterType",
        0x19: "Truncation",  # 2.5 only
        0x1A: "RTFTruncation",  # legacy (early spec)
        0x1B: "Conflict",
        0x1C: "Collections",
        0x1D: "ApplicationData",
        0x1E: "DeletesAsMoves",
        0x1F: "NotifyGUID",  # legacy (early spec)
        0x20: "Supported",
        0x21: "SoftDelete",
        0x22: "MIMESupport",
        0x23: "MIMETruncation",
        0x24: "Wait",  # 12.1+
        0x25: "Limit",  # 12.1+
        0x26: "Partial",  # 12.1+
        0x27: "ConversationMode",  # 14.0+
        0x28: "MaxItems",  # 14.0+
        0x29: "HeartbeatInterval",  # 14.0+
    },
)
