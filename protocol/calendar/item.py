"""The EAS calendar item model (MS-ASCAL 2.2.2), 12.0..16.1, and Calendar date-times.

:class:`CalendarItem` and its parts; its ApplicationData codec and the public
import path for all of these is :mod:`protocol.calendar.model`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from protocol.calendar.recurrence import ExceptionData, Recurrence
from protocol.calendar.timezone import TimeZoneInfo

__all__ = [
    "Attendee",
    "Body",
    "BodyPreference",
    "CalendarItem",
    "ConversionError",
    "format_datetime",
    "parse_datetime",
    "version_tuple",
]


class ConversionError(ValueError):
    """A calendar value that cannot be read or converted (Sync item Status 6)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Attendee:
    """Calendar:Attendee (MS-ASCAL 2.2.2.3): AttendeeType 1 required, 2 optional, 3 resource."""

    email: str
    name: str = ""
    status: int | None = None
    type: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Body:
    """AirSyncBase:Body (MS-ASAIRS 2.2.2.9): Type 1 plain, 2 HTML, 3 RTF, 4 MIME."""

    type: int
    data: str
    estimated_size: int | None = None
    truncated: bool = False
    preview: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class BodyPreference:
    """AirSyncBase:BodyPreference (MS-ASAIRS 2.2.2.7) of a Sync or Fetch."""

    type: int
    truncation_size: int | None = None
    all_or_none: bool = False
    preview: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CalendarItem:
    """Every top-level MS-ASCAL element, 12.0..16.1; None = absent.

    Times are aware UTC datetimes; in 16.x an all-day event's StartTime and
    EndTime are dates. ``instance_id`` is the 16.x AirSyncBase:InstanceId of a
    Change that targets one occurrence. ``present`` names the elements a
    request carried (local names: ``"Location"``, ``"Body"``, ...).
    """

    timezone: TimeZoneInfo | None = None
    all_day: bool | None = None
    start_time: datetime | date | None = None
    end_time: datetime | date | None = None
    dt_stamp: datetime | None = None
    subject: str | None = None
    location: str | None = None
    body: Body | None = None
    organizer_name: str | None = None
    organizer_email: str | None = None
    attendees: tuple[Attendee, ...] | None = None
    busy_status: int | None = None
    sensitivity: int | None = None
    reminder: int | None = None
    categories: tuple[str, ...] | None = None
    meeting_status: int | None = None
    response_requested: bool | None = None
    response_type: int | None = None
    appointment_reply_time: datetime | None = None
    disallow_new_time_proposal: bool | None = None
    uid: str | None = None
    client_uid: str | None = None
    recurrence: Recurrence | None = None
    exceptions: tuple[ExceptionData, ...] | None = None
    online_meeting_conf_link: str | None = None
    online_meeting_external_link: str | None = None
    native_body_type: int | None = None
    instance_id: datetime | None = None
    present: frozenset[str] = field(default=frozenset())


def version_tuple(version: str) -> tuple[int, int]:
    """``"14.1"`` -> ``(14, 1)``."""
    major, _, minor = version.partition(".")
    return int(major), int(minor or 0)


_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z")
_EXTENDED = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,3})?Z")


def parse_datetime(text: str) -> datetime:
    """``YYYYMMDDTHHMMSSZ`` (Calendar) or ``YYYY-MM-DDTHH:MM:SS.000Z`` -> aware UTC datetime."""
    value = text.strip()
    match = _COMPACT.fullmatch(value) or _EXTENDED.fullmatch(value)
    if match is None:
        raise ConversionError(f"unreadable date-time {text[:40]!r}")
    year, month, day, hour, minute, second = (int(part) for part in match.groups())
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError as exc:
        raise ConversionError(f"invalid date-time {value!r}") from exc


def format_datetime(value: datetime | date) -> str:
    """A Calendar date-time: ``YYYYMMDDTHHMMSSZ``; a date as its UTC midnight (16.x all-day)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return value.strftime("%Y%m%dT000000Z")
