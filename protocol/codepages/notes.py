"""Code page 23: Notes (MS-ASWBXML 2.1.2.1.24)."""

from protocol.codepages.page import CodePage

PAGE = CodePage(
    number=23,
    name="Notes",
    tags={
        0x05: "Subject",
        0x06: "MessageClass",
        0x07: "LastModifiedDate",
        0x08: "Categories",
        0x09: "Category",
    },
)
