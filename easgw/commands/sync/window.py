"""FilterType windows for calendars (MS-ASCMD 2.2.3.68.2).

A calendar item is in the window when it (its last occurrence) ends after
``now - FilterType days``. The end is cached per store item and etag in
``item_ids.span_end`` (UNIX seconds; None = unbounded or unknown, always in
the window). Recurring series: the RRULE's UNTIL bounds the series; a series
without UNTIL (endless, or bounded by COUNT) counts as unbounded, so a series
is never wrongly left out -- at worst an old COUNT series is sent too.
Every end gets a day's margin for floating times and zones.

Items leaving the window reach the device as SoftDelete (MS-ASCMD 2.2.3.162);
a FilterType change is just a different window at the same key: the next
diff adds or soft-deletes what differs, once, with no Status 3 and no loop.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Final

import icalendar

__all__ = ["FILTER_DAYS", "cutoff", "span_end"]

#: FilterType -> days back (0 = no filter; 8 = incomplete tasks: not for calendars).
FILTER_DAYS: Final = {1: 1, 2: 3, 3: 7, 4: 14, 5: 30, 6: 90, 7: 180}
_MARGIN: Final = timedelta(days=1)


def cutoff(filter_type: int | None, now: datetime) -> int | None:
    """The earliest end (UNIX seconds) an item may have to be synced; None: all."""
    days = FILTER_DAYS.get(filter_type or 0)
    if days is None:
        return None
    return int((now - timedelta(days=days)).timestamp())


def _seconds(value: object) -> int | None:
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return int((aware + _MARGIN).timestamp())
    if isinstance(value, date):
        return int(
            (datetime(value.year, value.month, value.day, tzinfo=UTC) + 2 * _MARGIN).timestamp()
        )
    return None


def _event_end(event: icalendar.cal.Component) -> int | None:
    rrule = event.get("RRULE")
    if rrule is not None:
        until = rrule.get("UNTIL")
        return _seconds(until[0]) if until else None
    for name in ("DTEND", "DUE", "DTSTART"):
        prop = event.get(name)
        if prop is not None:
            end = _seconds(prop.dt)
            duration = event.get("DURATION")
            if name == "DTSTART" and end is not None and duration is not None:
                end += int(duration.dt.total_seconds())
            return end
    return None


def span_end(ical: str) -> int | None:
    """When the stored object ends (its latest event or override), None when
    unbounded or unreadable."""
    try:
        calendar = icalendar.Calendar.from_ical(ical)
        ends = [_event_end(event) for event in calendar.walk("VEVENT")]
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    if not ends or any(end is None for end in ends):
        return None
    return max(end for end in ends if end is not None)
