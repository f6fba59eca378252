"""Code page 19: DocumentLibrary (MS-ASWBXML 2.1.2.1.20)."""

from protocol.codepages.page import CodePage

PAGE = CodePage(
    number=19,
    name="DocumentLibrary",
    tags={
        0x05: "LinkId",
        0x06: "DisplayName",
        0x07: "IsFolder",
        0x08: "CreationDate",
        0x09: "LastModifiedDate",
        0x0A: "IsHidden",
        0x0B: "ContentLength",
        0x0C: "ContentType",
    },
)
