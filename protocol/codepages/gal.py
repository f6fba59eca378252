"""Code page 16: GAL (MS-ASWBXML 2.1.2.1.17)."""

from protocol.codepages.page import CodePage

PAGE = CodePage(
    number=16,
    name="GAL",
    tags={
        0x05: "DisplayName",
        0x06: "Phone",
        0x07: "Office",
        0x08: "Title",
        0x09: "Company",
        0x0A: "Alias",
        0x0B: "FirstName",
        0x0C: "LastName",
        0x0D: "HomePhone",
        0x0E: "MobilePhone",
        0x0F: "EmailAddress",
        0x10: "Picture",  # 14.1+
        0x11: "Status",  # 14.1+
        0x12: "Data",  # 14.1+
    },
)
