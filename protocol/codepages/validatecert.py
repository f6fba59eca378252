"""Code page 11: ValidateCert (MS-ASWBXML 2.1.2.1.12)."""

from protocol.codepages.page import CodePage

PAGE = CodePage(
    number=11,
    name="ValidateCert",
    tags={
        0x05: "ValidateCert",
        0x06: "Certificates",
        0x07: "Certificate",
        0x08: "CertificateChain",
        0x09: "CheckCRL",  # MS-ASCMD's XSD spells it CheckCrl
        0x0A: "Status",
    },
)
