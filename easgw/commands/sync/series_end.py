"""The end of a stored calendar object's last occurrence, for window.py.

RFC 5545 3.8.5: a VEVENT's occurrences are DTSTART, the RRULE expansions and
the RDATEs, minus the EXDATEs; an override (RECURRENCE-ID, 3.8.4.4) replaces
the master's instance with its own DTSTART/DTEND. Every occurrence lasts the
master's DTEND - DTSTART (or DURATION; a day for a DATE start, none for a
date-time start); RDATE PERIODs carry their own end. RRULEs are expanded by
python-dateutil in DTSTART's own zone (wall-clock times across DST) or
floating; floating times count as UTC (the margin covers the difference).

Cost guard: a rule with neither UNTIL nor COUNT is endless (:class:`Unbounded`).
At most :data:`MAX_OCCURRENCES` instances are expanded per rule; past that the
last start is computed arithmetically where that is exact (no BY* parts),
bounded by UNTIL, or unknown (:class:`Unbounded`). dateutil scans period after
period until year 9999 when a rule's day filters never match, so rules that
could starve that way at a daily or finer step (BYMONTH, BYMONTHDAY, BYSETPOS,
... on a WEEKLY/DAILY/sub-daily rule) take the same fallback; YEARLY and
MONTHLY rules scan at most ~100,000 periods and are always expanded.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from itertools import islice
from typing import Final

import icalendar
from dateutil.relativedelta import relativedelta
from dateutil.rrule import rrule, rrulestr

__all__ = ["MAX_OCCURRENCES", "Unbounded", "object_end"]

#: Instances of one RRULE expanded at most (a daily series over five years).
MAX_OCCURRENCES: Final = 2000
_MARGIN: Final = timedelta(days=1)
_WEEKDAYS: Final = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_SUB_DAILY: Final = frozenset({"HOURLY", "MINUTELY", "SECONDLY"})
#: Day filters that may match rarely or never (dateutil then scans to year 9999).
_DAY_FILTERS: Final = frozenset({"BYMONTH", "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYSETPOS"})
#: Parts that leave a rule a plain arithmetic progression.
_PLAIN: Final = frozenset({"FREQ", "INTERVAL", "COUNT", "UNTIL", "WKST"})
_STEP: Final = {
    "WEEKLY": timedelta(weeks=1),
    "DAILY": timedelta(days=1),
    "HOURLY": timedelta(hours=1),
    "MINUTELY": timedelta(minutes=1),
    "SECONDLY": timedelta(seconds=1),
}


class Unbounded(Exception):
    """No end can be computed exactly and cheaply: the object is always in the window."""


def object_end(events: Sequence[icalendar.cal.Component]) -> int | None:
    """UNIX seconds (margin included) when the last occurrence of ``events``
    (one object's master and overrides) ends; None when there is none."""
    replaced: list[object] = []
    for event in events:
        recurrence_id = event.get("RECURRENCE-ID")
        if recurrence_id is None:
            continue
        if str(recurrence_id.params.get("RANGE", "")).upper() == "THISANDFUTURE":
            raise Unbounded  # shifts every later instance: not worth modelling
        replaced.append(recurrence_id.dt)
    ends = [_event_end(event, [] if "RECURRENCE-ID" in event else replaced) for event in events]
    found = [end for end in ends if end is not None]
    return max(found) if found else None


def _event_end(event: icalendar.cal.Component, replaced: Sequence[object]) -> int | None:
    start, all_day = _anchor(event)
    duration = _duration(event, start, all_day)
    excluded = {_align(value, start, all_day) for value in [*_values(event, "EXDATE"), *replaced]}
    starts = {start}
    ends: list[datetime] = []
    for recur in _listed(event.get("RRULE")):
        exact, bound = _rule_starts(recur, start, all_day)
        starts.update(exact)
        if bound is not None:
            ends.append(bound + duration)  # an upper bound: EXDATEs no longer apply
    for value in _values(event, "RDATE"):
        if isinstance(value, tuple):  # PERIOD: (start, end) or (start, duration)
            begin = _align(value[0], start, all_day)
            if begin not in excluded:
                last = value[1]
                ends.append(
                    begin + last if isinstance(last, timedelta) else _align(last, start, all_day)
                )
        else:
            starts.add(_align(value, start, all_day))
    ends.extend(moment + duration for moment in starts - excluded)
    return max(_seconds(end, all_day) for end in ends) if ends else None


def _anchor(event: icalendar.cal.Component) -> tuple[datetime, bool]:
    """DTSTART as dateutil expands it (naive midnight for a DATE) and whether all-day."""
    prop = event.get("DTSTART")
    value = None if prop is None else prop.dt
    if isinstance(value, datetime):
        return value, False
    if isinstance(value, date):
        return datetime.combine(value, time()), True
    raise Unbounded


def _duration(event: icalendar.cal.Component, start: datetime, all_day: bool) -> timedelta:
    end = event.get("DTEND")
    if end is not None:
        return max(_align(end.dt, start, all_day) - start, timedelta(0))
    duration = event.get("DURATION")
    if duration is not None and isinstance(duration.dt, timedelta):
        return max(duration.dt, timedelta(0))
    return timedelta(days=1) if all_day else timedelta(0)  # RFC 5545 3.6.1


def _align(value: object, anchor: datetime, all_day: bool, *, until: bool = False) -> datetime:
    """``value`` (a date or date-time) as the kind of datetime ``anchor`` is:
    aware when it is, naive midnight for all-day series. A DATE against a
    date-time series means that day's instance, or (UNTIL) all of that day."""
    if isinstance(value, datetime):
        if all_day:
            return datetime.combine(value.date(), time())
        if anchor.tzinfo is None:
            return value if value.tzinfo is None else value.astimezone(UTC).replace(tzinfo=None)
        return value if value.tzinfo is not None else value.replace(tzinfo=anchor.tzinfo)
    if isinstance(value, date):
        clock = time(23, 59, 59) if until and not all_day else anchor.time()
        return datetime.combine(value, clock, tzinfo=anchor.tzinfo)
    raise TypeError(f"not a date or date-time: {value!r}")


def _rule_starts(
    recur: icalendar.vRecur, start: datetime, all_day: bool
) -> tuple[list[datetime], datetime | None]:
    """The starts of one RRULE's instances, or past the cap an upper bound of the last."""
    parts = {str(key).upper(): list(value) for key, value in recur.items()}
    freq = str(parts["FREQ"][0]).upper()
    count = int(parts["COUNT"][0]) if "COUNT" in parts else None
    until = _align(parts["UNTIL"][0], start, all_day, until=True) if "UNTIL" in parts else None
    if (count is None and until is None) or (count is not None and count < 1):
        raise Unbounded  # endless, or a broken COUNT
    if (count is not None and count > MAX_OCCURRENCES) or _may_starve(parts, freq, start):
        return [], _beyond_cap(parts, freq, start, count, until)
    # COUNT is applied here rather than by dateutil, which warns on COUNT with UNTIL.
    text = ";".join(
        f"{key}={','.join(str(item) for item in value)}"
        for key, value in parts.items()
        if key not in ("COUNT", "UNTIL")
    )
    if "WKST" not in parts:
        text += ";WKST=MO"  # the RFC's default; dateutil's is the process locale's
    rule = rrulestr(text, dtstart=start)
    if not isinstance(rule, rrule):  # one RRULE line gives one rule (no RDATE/EXDATE here)
        return [], until
    if until is not None:
        rule = rule.replace(until=until)
    limit = MAX_OCCURRENCES if count is None else count
    starts: list[datetime] = list(islice(rule, limit + 1))
    if count is None and len(starts) > MAX_OCCURRENCES:
        return [], until
    return starts[:limit], None


def _may_starve(parts: dict[str, list[object]], freq: str, start: datetime) -> bool:
    """Whether dateutil might scan years of daily (or finer) periods for an instance."""
    if freq in ("YEARLY", "MONTHLY"):
        return False
    if freq in _SUB_DAILY:
        return bool(parts.keys() & (_DAY_FILTERS | {"BYDAY"}))
    if parts.keys() & _DAY_FILTERS:
        return True
    if freq == "DAILY" and "BYDAY" in parts:  # a 7n-day step only ever sees one weekday
        interval = int(str(parts.get("INTERVAL", [1])[0]))
        days = {str(day).upper()[-2:] for day in parts["BYDAY"]}
        return interval % 7 == 0 and _WEEKDAYS[start.weekday()] not in days
    return False


def _beyond_cap(
    parts: dict[str, list[object]],
    freq: str,
    start: datetime,
    count: int | None,
    until: datetime | None,
) -> datetime:
    if until is not None:
        return until  # no instance starts after UNTIL
    if count is None or not parts.keys() <= _PLAIN:
        raise Unbounded
    steps = (count - 1) * int(str(parts.get("INTERVAL", [1])[0]))
    shifted: datetime
    if freq == "YEARLY" and (start.month, start.day) != (2, 29):
        shifted = start + relativedelta(years=steps)
        return shifted
    if freq == "MONTHLY" and start.day <= 28:  # later days skip the shorter months
        shifted = start + relativedelta(months=steps)
        return shifted
    if freq in _STEP:
        return start + _STEP[freq] * steps  # wall-clock steps, as dateutil takes them
    raise Unbounded


def _seconds(moment: datetime, all_day: bool) -> int:
    if all_day:
        return int((moment.replace(tzinfo=UTC) + 2 * _MARGIN).timestamp())
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return int((aware + _MARGIN).timestamp())


def _listed(props: object) -> list[icalendar.vRecur]:
    if props is None:
        return []
    return list(props) if isinstance(props, list) else [props]  # type: ignore[list-item]


def _values(event: icalendar.cal.Component, name: str) -> list[object]:
    """The values of every ``name`` (RDATE, EXDATE) property, each a list."""
    props = event.get(name)
    if props is None:
        return []
    lists: Iterable[icalendar.prop.vDDDLists] = props if isinstance(props, list) else [props]
    return [item.dt for prop in lists for item in prop.dts]
