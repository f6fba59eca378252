"""The EAS Calendar ``Timezone`` blob: TIME_ZONE_INFORMATION and its codec.

MS-ASCAL 2.2.2.46 Timezone carries, base64-encoded, the 172-byte structure of
MS-ASDTYPE 2.7 (Windows TIME_ZONE_INFORMATION), all little-endian::

    Bias          int32      minutes; UTC = local time + bias
    StandardName  WCHAR[32]  UTF-16LE, NUL padded
    StandardDate  SYSTEMTIME 8 x uint16: wYear, wMonth, wDayOfWeek, wDay,
                             wHour, wMinute, wSecond, wMilliseconds
    StandardBias  int32      added to Bias while standard time is in force
    DaylightName  WCHAR[32]
    DaylightDate  SYSTEMTIME
    DaylightBias  int32      added to Bias while daylight time is in force

A transition date with wYear 0 is a yearly rule: the wDay-th (1..5, 5 = last)
wDayOfWeek (0 = Sunday) of wMonth at the local wall-clock time wHour:wMinute
(StandardDate in daylight time, DaylightDate in standard time); wYear != 0 is an
absolute date (wDay = day of month).  wMonth 0 means "no daylight time".

Its meaning in IANA zones (both ways) is :mod:`protocol.calendar.timezone`,
which re-exports these names.
"""

from __future__ import annotations

import base64
import binascii
import struct
from dataclasses import dataclass, field
from typing import Final

__all__ = ["BLOB_SIZE", "SystemTime", "TimeZoneInfo"]

BLOB_SIZE: Final = 172
_LAYOUT: Final = struct.Struct("<i64s8Hi64s8Hi")
_NAME_BYTES: Final = 64
_FIELD_NAMES: Final = (
    "year",
    "month",
    "day_of_week",
    "day",
    "hour",
    "minute",
    "second",
    "millisecond",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class SystemTime:
    """MS-ASDTYPE 2.7.4 SYSTEMTIME, as used in a TIME_ZONE_INFORMATION transition."""

    year: int = 0
    month: int = 0
    day_of_week: int = 0
    day: int = 0
    hour: int = 0
    minute: int = 0
    second: int = 0
    millisecond: int = 0

    def __post_init__(self) -> None:
        if not all(0 <= value <= 0xFFFF for value in self.fields()):
            raise ValueError(f"SYSTEMTIME fields are uint16: {self.fields()}")

    def fields(self) -> tuple[int, ...]:
        """The eight uint16 values in wire order."""
        return tuple(getattr(self, name) for name in _FIELD_NAMES)

    @property
    def is_zero(self) -> bool:
        return not any(self.fields())


@dataclass(frozen=True, slots=True, kw_only=True)
class TimeZoneInfo:
    """MS-ASDTYPE 2.7 TIME_ZONE_INFORMATION; biases in minutes, UTC = local + bias."""

    bias: int = 0
    standard_name: str = ""
    standard_date: SystemTime = field(default_factory=SystemTime)
    standard_bias: int = 0
    daylight_name: str = ""
    daylight_date: SystemTime = field(default_factory=SystemTime)
    daylight_bias: int = 0

    def __post_init__(self) -> None:
        if not all(
            -(2**31) <= b < 2**31 for b in (self.bias, self.standard_bias, self.daylight_bias)
        ):
            raise ValueError("TIME_ZONE_INFORMATION biases are int32")

    @classmethod
    def from_bytes(cls, raw: bytes) -> TimeZoneInfo:
        if len(raw) != BLOB_SIZE:
            raise ValueError(f"TIME_ZONE_INFORMATION is {BLOB_SIZE} bytes, got {len(raw)}")
        values = _LAYOUT.unpack(raw)
        return cls(
            bias=values[0],
            standard_name=_decode_name(values[1]),
            standard_date=SystemTime(**_system_time(values[2:10])),
            standard_bias=values[10],
            daylight_name=_decode_name(values[11]),
            daylight_date=SystemTime(**_system_time(values[12:20])),
            daylight_bias=values[20],
        )

    def to_bytes(self) -> bytes:
        return _LAYOUT.pack(
            self.bias,
            _encode_name(self.standard_name),
            *self.standard_date.fields(),
            self.standard_bias,
            _encode_name(self.daylight_name),
            *self.daylight_date.fields(),
            self.daylight_bias,
        )

    @classmethod
    def from_base64(cls, text: str) -> TimeZoneInfo:
        try:
            raw = base64.b64decode("".join(text.split()), validate=True)
        except binascii.Error as exc:
            raise ValueError(f"Timezone is not base64: {exc}") from exc
        return cls.from_bytes(raw)

    def to_base64(self) -> str:
        return base64.b64encode(self.to_bytes()).decode("ascii")

    @property
    def is_zero(self) -> bool:
        """The all-zero blob several servers send (taken as UTC)."""
        return self == _ZERO

    @property
    def standard_offset(self) -> int:
        """Minutes east of UTC while standard time is in force."""
        return -(self.bias + self.standard_bias)

    @property
    def daylight_offset(self) -> int:
        """Minutes east of UTC while daylight time is in force."""
        return -(self.bias + self.daylight_bias)


_ZERO = TimeZoneInfo()


def _system_time(values: tuple[int, ...]) -> dict[str, int]:
    return dict(zip(_FIELD_NAMES, values, strict=True))


def _decode_name(raw: bytes) -> str:
    return raw.decode("utf-16-le", errors="replace").split("\0", 1)[0]


def _encode_name(name: str) -> bytes:
    data = name.encode("utf-16-le", errors="surrogatepass")
    while len(data) > _NAME_BYTES:  # truncate whole characters (a surrogate pair is 4 bytes)
        name = name[:-1]
        data = name.encode("utf-16-le", errors="surrogatepass")
    return data.ljust(_NAME_BYTES, b"\0")
