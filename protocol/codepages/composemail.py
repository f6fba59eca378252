"""Code page 21: ComposeMail (MS-ASWBXML 2.1.2.1.22)."""

from protocol.codepages.page import CodePage

PAGE = CodePage(
    number=21,
    name="ComposeMail",
    tags={
        0x05: "SendMail",
        0x06: "SmartForward",
        0x07: "SmartReply",
        0x08: "SaveInSentItems",
        0x09: "ReplaceMime",
        0x0B: "Source",
        0x0C: "FolderId",
        0x0D: "ItemId",
        0x0E: "LongId",
        0x0F: "InstanceId",
        0x10: "Mime",
        0x11: "ClientId",
        0x12: "Status",
        0x13: "AccountId",  # 14.1+
        0x15: "Forwardees",  # 16.0+
        0x16: "Forwardee",  # 16.0+
        0x17: "ForwardeeName",  # 16.0+; MS-ASCMD's XML element is Name
        0x18: "ForwardeeEmail",  # 16.0+; MS-ASCMD's XML element is Email
    },
)
