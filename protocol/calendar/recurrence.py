"""Calendar recurrences and exceptions: EAS (MS-ASCAL) <-> iCalendar (RFC 5545).

Models
    ``Recurrence`` (Calendar:Recurrence, MS-ASCAL 2.2.2.39) and ``ExceptionData``
    (Calendar:Exception, MS-ASCAL 2.2.2.21). All datetimes are aware UTC.

WBXML trees
    ``parse_recurrence`` / ``render_recurrence`` (and, in
    protocol/calendar/exceptions_wbxml.py, ``parse_exceptions`` /
    ``render_exceptions``). Parsing is lenient about versions (a child a version
    does not define is still read); rendering follows the version rules. Malformed values
    raise ``RecurrenceError`` (a ``ValueError``: the caller answers item Status 6).
    Attendees inside an Exception are converted by the caller's callbacks
    (``parse_attendees`` / ``render_attendees``): the Attendee model lives in
    protocol/calendar/model.py, so ``ExceptionData.attendees`` is an opaque tuple here.
    ``render_exceptions(..., uid=)`` adds the series UID that a 16.x Exception carries.

RRULE
    ``recurrence_to_rrule(rec, start=, zone=, all_day=)`` and
    ``rrule_to_recurrence(rrule, start=, zone=, all_day=)``; ``start`` is the master's
    DTSTART (aware datetime, or a date for all-day events), ``zone`` its IANA zone
    (the rule is evaluated in local wall time there). ``rrule_to_recurrence`` returns
    None when EAS cannot express the rule (the caller then sends no Recurrence).
    A Type 0 rule with a DayOfWeek mask (phones send 62 = every weekday) maps to
    ``FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR`` (valid RFC 5545, what Thunderbird writes) and
    back to Type 0, so it round-trips unchanged. Until is day-granular as in Exchange:
    an Until earlier than that day's occurrence still includes it (UNTIL moves onto the
    occurrence), and an UNTIL earlier than its day's occurrence becomes the previous
    day's occurrence. No WKST is implied when FirstDayOfWeek is absent.

Exceptions <-> iCalendar (the MODEL helper calls these; field conversion is its job)
    ``exceptions_to_ical(master, exceptions, zone=, all_day=, make_override=)``
        returns ``(exdates, overrides)``. Deleted occurrences become EXDATE values
        (aware datetimes in ``zone``, or dates for all-day events) for the caller to
        add to the master (``master.add("EXDATE", value)`` for each). Each modified
        occurrence becomes a VEVENT: a copy of the master's properties (without
        RRULE/RDATE/EXDATE, DTSTAMP kept), UID kept, RECURRENCE-ID = the original
        start in the master's zone, DTSTART/DTEND = the exception's times (or the
        original occurrence's), then every property and subcomponent of
        ``make_override(exception)`` replaces the master's of the same name. So
        ``make_override`` returns an Event holding only the overridden non-time
        fields (SUMMARY, LOCATION, DESCRIPTION, TRANSP, CLASS, VALARM, ATTENDEE...).
    ``ical_to_exceptions(master, overrides, zone=, all_day=, read_override=)``
        returns a tuple of ``ExceptionData`` sorted by original start: the master's
        EXDATEs (and overrides with STATUS:CANCELLED) as deleted ones; each override
        with only the fields that differ from the master. ``read_override(event)``
        maps a VEVENT's non-time properties to ``ExceptionData`` field names
        (``{"subject": ..., "location": ..., "reminder": ...}``); it is applied to
        the master and to each override, and only differing values are kept.
        start_time/end_time/all_day are computed here from DTSTART/DTEND.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

import icalendar
from lxml import etree

__all__ = [
    "ExceptionData",
    "Recurrence",
    "RecurrenceError",
    "RecurrenceType",
    "format_compact",
    "parse_compact",
    "parse_recurrence",
    "recurrence_to_rrule",
    "render_recurrence",
    "rrule_to_recurrence",
]

CAL_NS = "Calendar:"
BASE_NS = "AirSyncBase:"
_WEEKDAYS = ("SU", "MO", "TU", "WE", "TH", "FR", "SA")  # bit i of DayOfWeek; WKST index
_ALL_DAYS = 127


class RecurrenceError(ValueError):
    """A Recurrence or Exception the phone sent cannot be read."""


class RecurrenceType(enum.IntEnum):
    """MS-ASCAL 2.2.2.45 Type (4 is not defined)."""

    DAILY = 0
    WEEKLY = 1
    MONTHLY = 2
    MONTHLY_NTH = 3
    YEARLY = 5
    YEARLY_NTH = 6


_RANGES = {
    "interval": (1, 999),
    "occurrences": (1, 999),
    "day_of_week": (1, 127),
    "day_of_month": (1, 31),
    "week_of_month": (1, 5),
    "month_of_year": (1, 12),
    "first_day_of_week": (0, 6),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Recurrence:
    """Calendar:Recurrence. ``day_of_week`` is a mask (1 Sunday .. 64 Saturday);
    ``week_of_month`` 5 means the last; ``first_day_of_week`` 0 = Sunday (14.1+)."""

    type: RecurrenceType
    interval: int = 1
    until: datetime | None = None
    occurrences: int | None = None
    day_of_week: int | None = None
    day_of_month: int | None = None
    week_of_month: int | None = None
    month_of_year: int | None = None
    first_day_of_week: int | None = None
    calendar_type: int | None = None
    is_leap_month: bool | None = None

    def __post_init__(self) -> None:
        for name, (low, high) in _RANGES.items():
            value = getattr(self, name)
            if value is not None and not low <= value <= high:
                raise RecurrenceError(f"Recurrence {name}={value} outside {low}..{high}")
        if self.until is not None and self.until.tzinfo is None:
            raise RecurrenceError("Recurrence until must be aware")


@dataclass(frozen=True, slots=True, kw_only=True)
class ExceptionData:
    """Calendar:Exception: one modified or deleted occurrence (MS-ASCAL 2.2.2.21).

    ``original_start`` is ExceptionStartTime (<= 14.1) or AirSyncBase:InstanceId
    (16.x). None means "not overridden"; ``attendees`` holds the caller's models.
    """

    original_start: datetime
    deleted: bool = False
    subject: str | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    body: str | None = None
    body_type: int | None = None
    location: str | None = None
    categories: tuple[str, ...] | None = None
    sensitivity: int | None = None
    busy_status: int | None = None
    all_day: bool | None = None
    reminder: int | None = None
    dt_stamp: datetime | None = None
    meeting_status: int | None = None
    attendees: tuple[Any, ...] | None = None
    appointment_reply_time: datetime | None = None
    response_type: int | None = None
    online_meeting_conf_link: str | None = None
    online_meeting_external_link: str | None = None

    def __post_init__(self) -> None:
        if self.original_start.tzinfo is None:
            raise RecurrenceError("Exception original_start must be aware")


_OVERRIDABLE = tuple(
    f.name for f in fields(ExceptionData) if f.name not in {"original_start", "deleted"}
)


# --- Compact DateTime (MS-ASDTYPE 2.7.2) --------------------------------------------


def parse_compact(text: str) -> datetime:
    """``YYYYMMDDTHHMMSSZ`` (also without Z, or ``YYYY-MM-DDTHH:MM:SS.fffZ``) -> UTC."""
    raw = text.strip().replace("-", "").replace(":", "").removesuffix("Z")
    raw = raw.split(".", 1)[0]
    try:
        return datetime.strptime(raw, "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        raise RecurrenceError(f"bad date-time {text!r}") from None


def format_compact(value: datetime) -> str:
    """An aware datetime -> ``YYYYMMDDTHHMMSSZ``."""
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _version(version: str) -> tuple[int, int]:
    major, _, minor = version.partition(".")
    return int(major), int(minor or 0)


# --- Recurrence <-> WBXML tree --------------------------------------------------------

# MS-ASCAL 2.2.2.39: Exchange's order; (element, field, minimum version).
_RECURRENCE_ORDER: tuple[tuple[str, str, tuple[int, int]], ...] = (
    ("Type", "type", (2, 5)),
    ("Occurrences", "occurrences", (2, 5)),
    ("Interval", "interval", (2, 5)),
    ("WeekOfMonth", "week_of_month", (2, 5)),
    ("DayOfWeek", "day_of_week", (2, 5)),
    ("MonthOfYear", "month_of_year", (2, 5)),
    ("Until", "until", (2, 5)),
    ("DayOfMonth", "day_of_month", (2, 5)),
    ("CalendarType", "calendar_type", (14, 0)),
    ("IsLeapMonth", "is_leap_month", (14, 0)),
    ("FirstDayOfWeek", "first_day_of_week", (14, 1)),
)


def _int(text: str | None, name: str) -> int:
    try:
        return int((text or "").strip())
    except ValueError:
        raise RecurrenceError(f"{name}: not an integer: {text!r}") from None


def parse_recurrence(element: etree._Element, version: str) -> Recurrence:
    """A Calendar:Recurrence element -> Recurrence (children read whatever the version)."""
    del version  # lenient: phones send 14.x children at lower versions too
    values: dict[str, Any] = {}
    by_name = {name: field for name, field, _ in _RECURRENCE_ORDER}
    for child in element:
        qname = etree.QName(child)
        field = by_name.get(qname.localname)
        if qname.namespace != CAL_NS or field is None:
            continue
        if field == "until":
            values[field] = parse_compact(child.text or "")
        elif field == "is_leap_month":
            values[field] = _int(child.text, qname.localname) != 0
        else:
            values[field] = _int(child.text, qname.localname)
    if "type" not in values:
        raise RecurrenceError("Recurrence without Type")
    try:
        values["type"] = RecurrenceType(values["type"])
    except ValueError:
        raise RecurrenceError(f"unknown Recurrence Type {values['type']}") from None
    if values.get("interval") == 0:
        values["interval"] = 1  # some phones send 0 for "every"
    return Recurrence(**values)


def render_recurrence(rec: Recurrence, version: str) -> etree._Element:
    """Recurrence -> Calendar:Recurrence, children in Exchange's order for ``version``."""
    wanted = _version(version)
    root = etree.Element(f"{{{CAL_NS}}}Recurrence", nsmap={"Calendar": CAL_NS})
    for name, field, since in _RECURRENCE_ORDER:
        value = getattr(rec, field)
        if value is None or wanted < since:
            continue
        text = format_compact(value) if isinstance(value, datetime) else str(int(value))
        etree.SubElement(root, f"{{{CAL_NS}}}{name}").text = text
    return root


# --- Recurrence <-> RRULE -------------------------------------------------------------

_RRULE_KEYS = frozenset(
    {"FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTHDAY", "BYMONTH", "BYSETPOS", "WKST"}
)


def _local_start(start: date | datetime, zone: str) -> datetime:
    tz = ZoneInfo(zone)
    if isinstance(start, datetime):
        return start.replace(tzinfo=tz) if start.tzinfo is None else start.astimezone(tz)
    return datetime.combine(start, time(), tz)


def _day_bit(day: date) -> int:
    return 1 << ((day.weekday() + 1) % 7)  # Python: Monday 0; EAS: Sunday bit 0


def _mask_days(mask: int) -> list[str]:
    return [name for bit, name in enumerate(_WEEKDAYS) if mask & (1 << bit)]


def _nth_parts(parts: dict[str, Any], mask: int, week: int) -> None:
    position = -1 if week == 5 else week  # WeekOfMonth 5 = the last (MS-ASCAL 2.2.2.48)
    days = _mask_days(mask)
    if len(days) == 1:
        parts["BYDAY"] = [f"{position}{days[0]}"]
    else:  # 62 weekday, 65 weekend day, 127 day: the nth of that set
        parts["BYDAY"] = days
        parts["BYSETPOS"] = [position]


def _pattern_parts(rec: Recurrence, local: datetime) -> dict[str, Any]:
    mask = rec.day_of_week
    week = rec.week_of_month or (local.day - 1) // 7 + 1
    kind = rec.type
    if kind is RecurrenceType.DAILY:
        if mask is not None and mask != _ALL_DAYS:  # "every weekday" (Type 0 + 62)
            return {"FREQ": "DAILY", "BYDAY": _mask_days(mask)}
        return {"FREQ": "DAILY"}
    if kind is RecurrenceType.WEEKLY:
        return {"FREQ": "WEEKLY", "BYDAY": _mask_days(mask or _day_bit(local))}
    if kind is RecurrenceType.MONTHLY:
        return {"FREQ": "MONTHLY", "BYMONTHDAY": [rec.day_of_month or local.day]}
    month = rec.month_of_year or local.month
    if kind is RecurrenceType.YEARLY:
        return {"FREQ": "YEARLY", "BYMONTH": [month], "BYMONTHDAY": [rec.day_of_month or local.day]}
    parts: dict[str, Any] = {"FREQ": "MONTHLY"}
    if kind is RecurrenceType.YEARLY_NTH:
        parts = {"FREQ": "YEARLY", "BYMONTH": [month]}
    _nth_parts(parts, mask or _day_bit(local), week)
    return parts


def _rrule_until(until: datetime, local: datetime, all_day: bool) -> date | datetime:
    day = until.astimezone(local.tzinfo).date()
    if all_day:
        return day
    return max(until.astimezone(UTC), _occurrence_on(day, local))


def _occurrence_on(day: date, local: datetime) -> datetime:
    """The UTC time of the series' wall-clock start time on ``day``."""
    return datetime.combine(day, local.timetz()).astimezone(UTC)


def recurrence_to_rrule(
    rec: Recurrence, *, start: date | datetime, zone: str, all_day: bool
) -> icalendar.vRecur:
    """Recurrence -> RRULE evaluated in ``zone`` from ``start`` (the master's DTSTART).

    UNTIL is a UTC date-time for timed events and the local date for all-day ones
    (RFC 5545 3.3.10: UNTIL has DTSTART's value type). COUNT wins over UNTIL.
    Exchange keeps the end of a series as a date (MS-OXOCAL 2.2.1.44.1 EndDate), so an
    Until before that day's occurrence (a phone's local midnight) still includes it.
    """
    local = _local_start(start, zone)
    parts = _pattern_parts(rec, local)
    if rec.interval > 1:
        parts["INTERVAL"] = [rec.interval]
    if rec.occurrences is not None:
        parts["COUNT"] = [rec.occurrences]
    elif rec.until is not None:
        parts["UNTIL"] = [_rrule_until(rec.until, local, all_day)]
    if rec.first_day_of_week is not None:
        parts["WKST"] = [_WEEKDAYS[rec.first_day_of_week]]
    # Through text, so the values carry icalendar's own types (as a parsed RRULE does).
    text: bytes = icalendar.vRecur(parts).to_ical()  # type: ignore[no-untyped-call]
    return cast("icalendar.vRecur", icalendar.vRecur.from_ical(text.decode()))


def _parse_byday(values: Iterable[object]) -> list[tuple[int | None, int]] | None:
    """``["-1FR", "MO"]`` -> [(-1, 5), (None, 1)] (weekday as EAS bit index)."""
    result: list[tuple[int | None, int]] = []
    for value in values:
        text = str(value).strip().upper()
        day, number = text[-2:], text[:-2]
        if day not in _WEEKDAYS:
            return None
        try:
            result.append((int(number) if number not in {"", "+"} else None, _WEEKDAYS.index(day)))
        except ValueError:
            return None
    return result


def _nth_from(byday: list[tuple[int | None, int]], bysetpos: list[int]) -> tuple[int, int] | None:
    """BYDAY (+ BYSETPOS) -> (WeekOfMonth, DayOfWeek mask), or None."""
    mask = sum(1 << day for _, day in byday)
    ordinals = {ordinal for ordinal, _ in byday}
    if bysetpos:
        if len(bysetpos) != 1 or ordinals != {None}:
            return None
        position = bysetpos[0]
    elif len(byday) == 1 and None not in ordinals:
        position = byday[0][0] or 0
    else:
        return None
    if position == -1:
        return 5, mask
    return (position, mask) if 1 <= position <= 4 else None


def _until_from(value: object, local: datetime, all_day: bool) -> datetime:
    """RRULE UNTIL -> Until. EAS ends a series on a day (see ``_rrule_until``), so an
    UNTIL before its day's occurrence becomes the previous day's occurrence time."""
    tz = local.tzinfo
    if isinstance(value, datetime):
        moment = (value.replace(tzinfo=tz) if value.tzinfo is None else value).astimezone(UTC)
    elif isinstance(value, date):  # all-day: that day's start; timed: the day's end
        moment = datetime.combine(value, time() if all_day else time(23, 59, 59), tz)
        moment = moment.astimezone(UTC)
    else:
        raise RecurrenceError(f"bad UNTIL {value!r}")
    if all_day:
        return moment
    day = moment.astimezone(tz).date()
    if moment < _occurrence_on(day, local):
        return _occurrence_on(day - timedelta(days=1), local)
    return moment


def _ints(rule: dict[str, list[Any]], key: str) -> list[int]:
    return [int(value) for value in rule.get(key, [])]


def _weekly(freq: str, byday: list[tuple[int | None, int]], local: datetime) -> dict[str, Any]:
    mask = sum(1 << day for _, day in byday) or None
    if freq == "DAILY":  # with BYDAY: "every weekday" and the like
        return {"type": RecurrenceType.DAILY, "day_of_week": None if mask == _ALL_DAYS else mask}
    return {"type": RecurrenceType.WEEKLY, "day_of_week": mask or _day_bit(local)}


def _pattern_from(rule: dict[str, list[Any]], local: datetime) -> dict[str, Any] | None:
    freq = str(rule["FREQ"][0]).upper()
    byday = _parse_byday(rule.get("BYDAY", []))
    monthdays, months, setpos = (_ints(rule, k) for k in ("BYMONTHDAY", "BYMONTH", "BYSETPOS"))
    if byday is None or len(months) > 1 or len(monthdays) > 1:
        return None
    if freq in {"DAILY", "WEEKLY"}:
        plain = all(ordinal is None for ordinal, _ in byday)
        return None if monthdays or months or setpos or not plain else _weekly(freq, byday, local)
    if freq not in {"MONTHLY", "YEARLY"} or (freq == "MONTHLY" and months):
        return None
    yearly = freq == "YEARLY"
    if yearly and not months and (monthdays or byday):  # every month, or nth of the year
        return None
    month = {"month_of_year": months[0] if months else local.month} if yearly else {}
    if monthdays:
        if byday or setpos:
            return None
        if monthdays[0] == -1 and not yearly:  # the last day of the month
            return {"type": RecurrenceType.MONTHLY_NTH, "week_of_month": 5, "day_of_week": 127}
        if not 1 <= monthdays[0] <= 31:
            return None
        kind = RecurrenceType.YEARLY if yearly else RecurrenceType.MONTHLY
        return {"type": kind, "day_of_month": monthdays[0], **month}
    if byday:
        nth = _nth_from(byday, setpos)
        if nth is None:
            return None
        kind = RecurrenceType.YEARLY_NTH if yearly else RecurrenceType.MONTHLY_NTH
        return {"type": kind, "week_of_month": nth[0], "day_of_week": nth[1], **month}
    if setpos:
        return None
    kind = RecurrenceType.YEARLY if yearly else RecurrenceType.MONTHLY
    return {"type": kind, "day_of_month": local.day, **month}


def rrule_to_recurrence(
    rrule: icalendar.vRecur, *, start: date | datetime, zone: str, all_day: bool
) -> Recurrence | None:
    """RRULE -> Recurrence, or None when EAS cannot express it."""
    rule = {
        str(key).upper(): list(values) if isinstance(values, list | tuple) else [values]
        for key, values in rrule.items()
    }
    if not rule.get("FREQ") or set(rule) - _RRULE_KEYS:
        return None
    local = _local_start(start, zone)
    try:
        pattern = _pattern_from(rule, local)
        interval = int(rule.get("INTERVAL", [1])[0])
        count = int(rule["COUNT"][0]) if rule.get("COUNT") else None
        until = _until_from(rule["UNTIL"][0], local, all_day) if rule.get("UNTIL") else None
    except (ValueError, TypeError):
        return None
    wkst = str(rule["WKST"][0]).upper() if rule.get("WKST") else None
    if pattern is None or not 1 <= interval <= 999 or (wkst and wkst not in _WEEKDAYS):
        return None
    if count is not None and not 1 <= count <= 999:
        return None
    return Recurrence(
        **pattern,
        interval=interval,
        occurrences=count,
        until=None if count is not None else until,
        first_day_of_week=_WEEKDAYS.index(wkst) if wkst else None,
    )
