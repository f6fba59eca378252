"""Code page 8: MeetingResponse (MS-ASWBXML 2.1.2.1.9)."""

from protocol.codepages.page import CodePage

PAGE = CodePage(
    number=8,
    name="MeetingResponse",
    tags={
        0x05: "CalendarId",
        0x06: "CollectionId",
        0x07: "MeetingResponse",
        0x08: "RequestId",
        0x09: "Request",
        0x0A: "Result",
        0x0B: "Status",
        0x0C: "UserResponse",
        0x0D: "Version",  # legacy (early spec)
        0x0E: "InstanceId",  # 14.1+
        0x10: "ProposedStartTime",  # 16.1
        0x11: "ProposedEndTime",  # 16.1
        0x12: "SendResponse",  # 16.0+
    },
)
