"""Code page 5: Move (MS-ASWBXML 2.1.2.1.6)."""

from protocol.codepages.page import CodePage

PAGE = CodePage(
    number=5,
    name="Move",
    tags={
        0x05: "MoveItems",
        0x06: "Move",
        0x07: "SrcMsgId",
        0x08: "SrcFldId",
        0x09: "DstFldId",
        0x0A: "Response",
        0x0B: "Status",
        0x0C: "DstMsgId",
    },
)
