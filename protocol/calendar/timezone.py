"""The EAS Calendar ``Timezone`` blob <-> IANA zones, and VTIMEZONE components.

MS-ASCAL 2.2.2.46 Timezone carries, base64-encoded, the 172-byte Windows
TIME_ZONE_INFORMATION (MS-ASDTYPE 2.7): a bias and, for standard and daylight
time, a name, a bias and a transition date (a yearly rule or an absolute date).
Its fields and bytes are :mod:`protocol.calendar.timezone_blob`, re-exported here.

The blob describes one year's rules only.  :func:`tzinfo_for_zone` derives them
from tzdata for a given year; :func:`zone_for_tzinfo` goes back by comparing
what the blob means in a year (its UTC offsets and transition instants) with
what every canonical zone would send for that year.
"""

from __future__ import annotations

import calendar
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from importlib import resources
from pathlib import Path

import icalendar

from protocol.calendar.timezone_blob import BLOB_SIZE, SystemTime, TimeZoneInfo

__all__ = [
    "BLOB_SIZE",
    "PREFERENCE",
    "SystemTime",
    "TimeZoneInfo",
    "tzinfo_for_zone",
    "vtimezone",
    "zone_for_tzinfo",
]

#: Wall clocks are handled as UTC-labelled datetimes and converted by hand.
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SCAN_STEP = 7 * 86400  # seconds between offset samples while looking for changes
_YEARS = (1900, 2500)  # the years blobs are matched in
_NEAR = 56 * 86400  # a transition this close to a zone's still counts as "near"

_PREFERRED = """
    UTC Europe/London Europe/Paris Europe/Berlin Europe/Helsinki Europe/Moscow
    America/New_York America/Chicago America/Denver America/Phoenix America/Los_Angeles
    America/Anchorage Pacific/Honolulu America/Halifax America/St_Johns America/Mexico_City
    America/Bogota America/Sao_Paulo America/Argentina/Buenos_Aires Africa/Johannesburg
    Africa/Cairo Africa/Lagos Asia/Jerusalem Asia/Dubai Asia/Karachi Asia/Kolkata
    Asia/Bangkok Asia/Shanghai Asia/Singapore Asia/Tokyo Asia/Seoul Australia/Perth
    Australia/Adelaide Australia/Darwin Australia/Brisbane Australia/Sydney Pacific/Auckland
"""
#: Preferred answers when several zones share a year's rules (first wins).
PREFERENCE = tuple(_PREFERRED.split())
_RANK = {name: index for index, name in enumerate(PREFERENCE)}


# -- IANA zone -> blob ------------------------------------------------------------------

_Offsets = tuple[int, list[tuple[int, int]], dict[int, str]]


def _epoch(moment: datetime) -> int:
    return int((moment - _EPOCH).total_seconds())


def _offset(zone: zoneinfo.ZoneInfo, instant: int) -> int:
    """Seconds east of UTC in ``zone`` at epoch second ``instant``."""
    offset = datetime.fromtimestamp(instant, zone).utcoffset()
    return int(offset.total_seconds()) if offset else 0


def _abbreviation(zone: zoneinfo.ZoneInfo, instant: int) -> str:
    return datetime.fromtimestamp(instant, zone).tzname() or ""


def _scan(zone: zoneinfo.ZoneInfo, year: int) -> _Offsets:
    """The zone over UTC year ``year``: (offset at its start, [(instant, new offset)],
    {offset: abbreviation}); offsets in seconds east of UTC, instants in epoch seconds.
    Offsets are sampled weekly, each change bisected to the second."""
    start = _epoch(datetime(year, 1, 1, tzinfo=UTC))
    end = _epoch(datetime(year + 1, 1, 1, tzinfo=UTC))
    initial = current = _offset(zone, start)
    names = {initial: _abbreviation(zone, start)}
    changes: list[tuple[int, int]] = []
    low = start
    for sample in [*range(start + _SCAN_STEP, end, _SCAN_STEP), end - 1]:
        while _offset(zone, sample) != current:
            high = sample  # offset(low) == current != offset(high)
            while high - low > 1:
                middle = (low + high) // 2
                low, high = (middle, high) if _offset(zone, middle) == current else (low, middle)
            current = _offset(zone, high)
            names.setdefault(current, _abbreviation(zone, high))
            changes.append((high, current))
            low = high
        low = sample
    return initial, changes, names


def _segments(initial: int, changes: list[tuple[int, int]], year: int) -> list[list[int]]:
    end = _epoch(datetime(year + 1, 1, 1, tzinfo=UTC))
    bounds = [(_epoch(datetime(year, 1, 1, tzinfo=UTC)), initial), *changes]
    return [
        [begin, bounds[i + 1][0] if i + 1 < len(bounds) else end, offset]
        for i, (begin, offset) in enumerate(bounds)
    ]


def _two_offsets(segments: list[list[int]]) -> tuple[int, int]:
    """(standard, daylight): the two offsets in force longest; daylight is the larger."""
    weight: dict[int, int] = {}
    for begin, end, offset in segments:
        weight[offset] = weight.get(offset, 0) + end - begin
    first, second = sorted(weight, key=lambda offset: (-weight[offset], offset))[:2]
    return min(first, second), max(first, second)


def _rule(wall: datetime) -> SystemTime:
    """The yearly rule "n-th weekday of the month" for this wall-clock instant."""
    days = calendar.monthrange(wall.year, wall.month)[1]
    nth = 5 if wall.day + 7 > days else (wall.day - 1) // 7 + 1
    return SystemTime(
        month=wall.month,
        day_of_week=(wall.weekday() + 1) % 7,
        day=nth,
        hour=wall.hour,
        minute=wall.minute,
        second=wall.second,
        millisecond=wall.microsecond // 1000,
    )


def _wall(instant: int, offset: int) -> datetime:
    return _EPOCH + timedelta(seconds=instant + offset)


def _year_start(year: int) -> SystemTime:
    """Jan 1 00:00: "the year begins in daylight time" (the Windows dynamic-DST idiom)."""
    return _rule(datetime(year, 1, 1, tzinfo=UTC))


def _year_end(year: int) -> SystemTime:
    """Dec 31 23:59:59.999: "daylight time lasts to the end of the year"."""
    return _rule(datetime(year, 12, 31, 23, 59, 59, 999000, tzinfo=UTC))


def _daylight_rules(segments: list[list[int]], std: int, dst: int) -> tuple[SystemTime, ...]:
    """(daylight_date, standard_date) for the year's daylight period(s)."""
    daylight = [seg for seg in segments if abs(seg[2] - dst) < abs(seg[2] - std)]
    first, last = segments[0], segments[-1]
    year = _wall(first[0], 0).year
    if len(daylight) >= 2 and daylight[0] is first and daylight[-1] is last:
        # southern hemisphere: the year starts and ends in daylight time
        return _rule(_wall(last[0], std)), _rule(_wall(first[1], dst))
    begin, end, _ = max(daylight, key=lambda seg: seg[1] - seg[0])
    start_rule = _year_start(year) if begin == first[0] else _rule(_wall(begin, std))
    end_rule = _year_end(year) if end == last[1] else _rule(_wall(end, dst))
    return start_rule, end_rule


def tzinfo_for_zone(zone: str, year: int) -> TimeZoneInfo:
    """The blob describing IANA ``zone`` in ``year`` (ValueError for an unknown zone).

    Zones without a change that year get zero transition dates.  Daylight time is
    the larger of the two offsets (so DaylightBias is negative, as Windows sends).
    A year with one change uses the Windows idiom of a daylight period that starts
    on Jan 1 00:00 or ends on Dec 31 23:59:59.999; a year with more changes than a
    blob can hold keeps its longest daylight period.  Names are the abbreviations.
    Years are clamped to 1900..2500.
    """
    return _tzinfo_for_zone(zone, min(max(year, _YEARS[0]), _YEARS[1]))


@lru_cache(maxsize=8192)
def _tzinfo_for_zone(zone: str, year: int) -> TimeZoneInfo:
    initial, changes, names = _scan(_load(zone), year)
    if not changes:
        return TimeZoneInfo(bias=-_minutes(initial), standard_name=names[initial])
    segments = _segments(initial, changes, year)
    std, dst = _two_offsets(segments)
    daylight_date, standard_date = _daylight_rules(segments, std, dst)
    return TimeZoneInfo(
        bias=-_minutes(std),
        standard_name=names.get(std, ""),
        standard_date=standard_date,
        daylight_name=names.get(dst, ""),
        daylight_date=daylight_date,
        daylight_bias=_minutes(std) - _minutes(dst),
    )


def _minutes(seconds: int) -> int:
    return round(seconds / 60)


@lru_cache(maxsize=1024)
def _load(zone: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ValueError(f"unknown time zone {zone!r}") from exc


# -- blob -> IANA zone --------------------------------------------------------------------

#: What a blob means in a year: (offset in force first, ((instant, new offset), ...)),
#: offsets in minutes east of UTC, instants in epoch seconds.
_Key = tuple[int, tuple[tuple[int, int], ...]]


def _resolve(when: SystemTime, year: int) -> datetime | None:
    """The local wall-clock time of a transition in ``year`` (None: not that year/invalid)."""
    if not 1 <= when.month <= 12:
        return None
    if when.year:
        if when.year != year:
            return None
        try:
            day = date(year, when.month, when.day)
        except ValueError:
            return None
    else:
        if not (1 <= when.day <= 5 and 0 <= when.day_of_week <= 6):
            return None
        first = date(year, when.month, 1)
        number = 1 + (when.day_of_week - (first.weekday() + 1)) % 7 + 7 * (when.day - 1)
        while number > calendar.monthrange(year, when.month)[1]:
            number -= 7
        day = first.replace(day=number)
    clock = timedelta(
        hours=when.hour, minutes=when.minute, seconds=when.second, milliseconds=when.millisecond
    )
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + clock


def _key(info: TimeZoneInfo, year: int) -> _Key:
    std, dst = info.standard_offset, info.daylight_offset
    starts = _resolve(info.daylight_date, year)
    ends = _resolve(info.standard_date, year)
    if std == dst or starts is None or ends is None:
        return std, ()
    changes = sorted(
        [
            (_epoch(starts) - std * 60, dst),
            (_epoch(ends) - dst * 60, std),
        ]
    )
    if changes[0][0] == changes[1][0]:
        return std, ()
    return changes[1][1], (changes[0], changes[1])


def _blob_year(info: TimeZoneInfo, year: int) -> int:
    """Absolute transition dates (wYear != 0) are matched in their own year; years
    beyond tzdata's reach are clamped (nothing a client sends may raise)."""
    absolute = info.daylight_date.year or info.standard_date.year
    return min(max(absolute if _YEARS[0] <= absolute <= _YEARS[1] else year, _YEARS[0]), _YEARS[1])


def _canonical_names() -> set[str]:
    """Zone (not link) names from tzdata.zi, beside the zone files zoneinfo reads."""
    texts = [Path(folder) / "tzdata.zi" for folder in zoneinfo.TZPATH]
    for candidate in texts:
        if candidate.is_file():
            return _zones_in(candidate.read_text(encoding="utf-8"))
    try:
        text = resources.files("tzdata").joinpath("zoneinfo", "tzdata.zi").read_text("utf-8")
    except (ModuleNotFoundError, OSError):
        return set(zoneinfo.available_timezones())
    return _zones_in(text)


def _zones_in(text: str) -> set[str]:
    return {line.split()[1] for line in text.splitlines() if line.startswith("Z ")}


@lru_cache(maxsize=1)
def _pool() -> tuple[str, ...]:
    """Candidate answers: canonical Area/Location zones, the preference list and UTC."""
    available = zoneinfo.available_timezones()
    names = {
        name
        for name in _canonical_names()
        if "/" in name and not name.startswith(("Etc/", "posix/", "right/", "SystemV/"))
    }
    return tuple(sorted((names | set(PREFERENCE)) & (available | {"UTC"})))


@dataclass(frozen=True, slots=True)
class _YearIndex:
    """Every candidate zone's offsets (minutes) on the 15th of each month at noon UTC.

    Sampling is cheap; the full rules (a scan of the year) are computed only for the
    zones whose samples agree with the blob's, and cached.
    """

    instants: tuple[int, ...]
    by_samples: dict[tuple[int, ...], list[str]]
    by_offsets: dict[frozenset[int], list[str]]


@lru_cache(maxsize=128)
def _year_index(year: int) -> _YearIndex:
    instants = tuple(_epoch(datetime(year, month, 15, 12, tzinfo=UTC)) for month in range(1, 13))
    index = _YearIndex(instants, {}, {})
    for zone in _pool():
        tz = _load(zone)
        samples = tuple(_minutes(_offset(tz, instant)) for instant in instants)
        index.by_samples.setdefault(samples, []).append(zone)
        index.by_offsets.setdefault(frozenset(samples), []).append(zone)
    return index


def _sampled(key: _Key, instants: tuple[int, ...]) -> tuple[int, ...]:
    initial, changes = key
    return tuple(
        next((new for when, new in reversed(changes) if when <= instant), initial)
        for instant in instants
    )


@lru_cache(maxsize=16384)
def _zone_key(zone: str, year: int) -> _Key | None:
    try:
        return _key(_tzinfo_for_zone(zone, year), year)
    except ValueError:
        return None


def zone_for_tzinfo(info: TimeZoneInfo, *, year: int, preferred: str | None = None) -> str:
    """The IANA zone whose offsets in ``year`` are those the blob describes.

    Order: ``preferred`` when it matches exactly; the all-zero blob -> "UTC"; the
    exact matches, those that also match in ``year + 1`` first, then by
    :data:`PREFERENCE`, then alphabetically; zones with the same offsets whose
    transitions are each within 8 weeks of the blob's (a blob from another year's
    rules): ``preferred``, then :data:`PREFERENCE`, then the closest; finally a
    fixed offset ("Etc/GMT+5" is UTC-5) from the standard bias.  Absolute
    transition dates are matched in their own year.
    """
    year = _blob_year(info, year)
    key = _key(info, year)
    if preferred and _zone_key(preferred, year) == key:
        return preferred
    if info.is_zero:
        return "UTC"
    index = _year_index(year)
    candidates = index.by_samples.get(_sampled(key, index.instants), [])
    if exact := [zone for zone in candidates if _zone_key(zone, year) == key]:
        following = _following(info, year, exact)
        return min(exact, key=lambda zone: (zone not in following, _RANK.get(zone, 999), zone))
    return _near(index, key, year, preferred) or _fixed(index, info.standard_offset)


def _following(info: TimeZoneInfo, year: int, zones: list[str]) -> set[str]:
    """Those of ``zones`` the blob's yearly rules still match the next year."""
    if len(zones) < 2 or info.daylight_date.year or info.standard_date.year:
        return set()
    key = _key(info, year + 1)
    return {zone for zone in zones if _zone_key(zone, year + 1) == key}


def _near(index: _YearIndex, key: _Key, year: int, preferred: str | None) -> str | None:
    """Same offsets, same order, each transition within 8 weeks: the blob is some other
    year's rules (or a sloppy client's), so ``preferred`` and well-known zones come
    before the closest one."""
    initial, changes = key
    if len(changes) != 2:
        return None
    best: tuple[bool, int, int, str] | None = None
    for zone in index.by_offsets.get(frozenset((initial, changes[0][1])), ()):
        other = _zone_key(zone, year)
        if other is None or other[0] != initial or len(other[1]) != 2:
            continue
        gaps = [abs(a[0] - b[0]) for a, b in zip(changes, other[1], strict=True)]
        candidate = (zone != preferred, _RANK.get(zone, 999), sum(gaps), zone)
        if max(gaps) <= _NEAR and (best is None or candidate < best):
            best = candidate
    return best[3] if best else None


def _fixed(index: _YearIndex, offset: int) -> str:
    hours, minutes = divmod(offset, 60)
    if not minutes and -12 <= hours <= 14:
        return f"Etc/GMT{-hours:+d}" if hours else "UTC"  # POSIX sign: Etc/GMT+5 is UTC-5
    zones = [
        zone
        for offsets, group in index.by_offsets.items()
        if min(offsets) == offset
        for zone in group
    ]
    return min(zones, key=lambda zone: (_RANK.get(zone, 999), zone)) if zones else "UTC"


# -- VTIMEZONE ----------------------------------------------------------------------------


def vtimezone(zone: str, start: datetime, end: datetime) -> icalendar.Timezone:
    """A VTIMEZONE for IANA ``zone`` covering whole years from ``start`` to ``end``.

    Built by icalendar's ``Timezone.from_tzid`` (its transitions as listed
    STANDARD/DAYLIGHT components) and cached per (zone, years); each call returns
    a fresh component.  ValueError for an unknown zone.
    """
    first, last = sorted((start.year, end.year))
    component = icalendar.Timezone.from_ical(_vtimezone_text(zone, first, last))
    if not isinstance(component, icalendar.Timezone):  # from_ical's declared type is wider
        raise TypeError("icalendar did not parse its own VTIMEZONE")
    return component


@lru_cache(maxsize=256)
def _vtimezone_text(zone: str, first: int, last: int) -> bytes:
    _load(zone)
    component = icalendar.Timezone.from_tzid(
        zone, first_date=date(first, 1, 1), last_date=date(min(last + 1, 9999), 1, 1)
    )
    text: bytes = component.to_ical()
    return text
