"""Code page 3: AirNotify (MS-ASWBXML 2.1.2.1.4).

No longer used by any protocol version; the tokens stay defined so old
traffic still decodes.
"""

from protocol.codepages.page import CodePage

PAGE = CodePage(
    number=3,
    name="AirNotify",
    tags={
        0x05: "Notify",
        0x06: "Notification",
        0x07: "Version",
        0x08: "LifeTime",
        0x09: "DeviceInfo",
        0x0A: "Enable",
        0x0B: "Folder",
        0x0C: "ServerId",
        0x0D: "DeviceAddress",
        0x0E: "ValidCarrierProfiles",
        0x0F: "CarrierProfile",
        0x10: "Status",
        0x11: "Responses",
        0x12: "Devices",
        0x13: "Device",
        0x14: "Id",
        0x15: "Expiry",
        0x16: "NotifyGUID",
        0x17: "DeviceFriendlyName",
    },
)
