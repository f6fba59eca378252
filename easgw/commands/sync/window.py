"""FilterType windows for calendars (MS-ASCMD 2.2.3.68.2).

A calendar item is in the window when it (its last occurrence) ends after
``now - FilterType days``. The end is cached per store item and etag in
``item_ids.span_end`` (UNIX seconds; None = unbounded or unknown, always in
the window). Every end gets a margin for floating times and zones: a day for
date-times, two for all-day dates.

Recurring series (RFC 5545 3.8.5): the end is that of the last occurrence,
found by expanding the master's RRULEs with python-dateutil (DTSTART's own
zone, so wall-clock times hold across DST), adding its RDATEs (PERIOD values
end on their own), and removing its EXDATEs and the instances that overrides
(RECURRENCE-ID) replace; each override counts with its own DTSTART/DTEND.
A series without UNTIL or COUNT is endless: None. The expansion is capped
(series_end.py): past the cap the end is computed arithmetically where that
is exact, bounded by UNTIL, or else None -- so a series is never wrongly left
out, at worst an old one is sent too.

Items leaving the window reach the device as SoftDelete (MS-ASCMD 2.2.3.162);
a FilterType change is just a different window at the same key: the next
diff adds or soft-deletes what differs, once, with no Status 3 and no loop.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

import icalendar

from easgw.commands.sync.series_end import Unbounded, object_end

__all__ = ["FILTER_DAYS", "cutoff", "span_end"]

#: FilterType -> days back (0 = no filter; 8 = incomplete tasks: not for calendars).
FILTER_DAYS: Final = {1: 1, 2: 3, 3: 7, 4: 14, 5: 30, 6: 90, 7: 180}


def cutoff(filter_type: int | None, now: datetime) -> int | None:
    """The earliest end (UNIX seconds) an item may have to be synced; None: all."""
    days = FILTER_DAYS.get(filter_type or 0)
    if days is None:
        return None
    return int((now - timedelta(days=days)).timestamp())


def span_end(ical: str) -> int | None:
    """When the stored object ends (UNIX seconds, margin included): the end of
    the last occurrence of any of its VEVENTs; None when unbounded or unreadable."""
    try:
        calendar = icalendar.Calendar.from_ical(ical)
        return object_end(calendar.walk("VEVENT"))
    except (Unbounded, ValueError, TypeError, KeyError, AttributeError, OverflowError):
        return None
