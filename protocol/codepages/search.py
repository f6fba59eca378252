"""Code page 15: Search (MS-ASWBXML 2.1.2.1.16)."""

from protocol.codepages.page import CodePage

PAGE = CodePage(
    number=15,
    name="Search",
    tags={
        0x05: "Search",
        0x07: "Store",
        0x08: "Name",
        0x09: "Query",
        0x0A: "Options",
        0x0B: "Range",
        0x0C: "Status",
        0x0D: "Response",
        0x0E: "Result",
        0x0F: "Properties",
        0x10: "Total",
        0x11: "EqualTo",
        0x12: "Value",
        0x13: "And",
        0x14: "Or",
        0x15: "FreeText",
        0x17: "DeepTraversal",
        0x18: "LongId",
        0x19: "RebuildResults",
        0x1A: "LessThan",
        0x1B: "GreaterThan",
        0x1C: "Schema",  # legacy (early spec)
        0x1D: "Supported",  # legacy (early spec)
        0x1E: "UserName",  # 12.1+
        0x1F: "Password",  # 12.1+
        0x20: "ConversationId",  # 14.0+
        0x21: "Picture",  # 14.1+
        0x22: "MaxSize",  # 14.1+
        0x23: "MaxPictures",  # 14.1+
    },
)
