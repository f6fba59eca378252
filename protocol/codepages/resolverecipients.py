"""Code page 10: ResolveRecipients (MS-ASWBXML 2.1.2.1.11)."""

from protocol.codepages.page import CodePage

PAGE = CodePage(
    number=10,
    name="ResolveRecipients",
    tags={
        0x05: "ResolveRecipients",
        0x06: "Response",
        0x07: "Status",
        0x08: "Type",
        0x09: "Recipient",
        0x0A: "DisplayName",
        0x0B: "EmailAddress",
        0x0C: "Certificates",
        0x0D: "Certificate",
        0x0E: "MiniCertificate",
        0x0F: "Options",
        0x10: "To",
        0x11: "CertificateRetrieval",
        0x12: "RecipientCount",
        0x13: "MaxCertificates",
        0x14: "MaxAmbiguousRecipients",
        0x15: "CertificateCount",
        0x16: "Availability",  # 14.0+
        0x17: "StartTime",  # 14.0+
        0x18: "EndTime",  # 14.0+
        0x19: "MergedFreeBusy",  # 14.0+
        0x1A: "Picture",  # 14.1+
        0x1B: "MaxSize",  # 14.1+
        0x1C: "Data",  # 14.1+
        0x1D: "MaxPictures",  # 14.1+
    },
)
