"""Code page 6: GetItemEstimate (MS-ASWBXML 2.1.2.1.7)."""

from protocol.codepages.page import CodePage

PAGE = CodePage(
    number=6,
    name="GetItemEstimate",
    tags={
        0x05: "GetItemEstimate",
        0x06: "Version",  # legacy (early spec)
        0x07: "Collections",
        0x08: "Collection",
        0x09: "Class",  # <= 12.1 only
        0x0A: "CollectionId",
        0x0B: "DateTime",  # legacy (early spec)
        0x0C: "Estimate",
        0x0D: "Response",
        0x0E: "Status",
    },
)
