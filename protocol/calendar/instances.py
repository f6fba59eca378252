"""16.x single-occurrence edits: a Sync Change or Delete carrying AirSyncBase:InstanceId.

In 16.x the client edits or deletes one occurrence of a series with a Change
or Delete naming the occurrence by InstanceId (MS-ASCAL 3.1.5.3, MS-ASAIRS
2.2.2.26); without InstanceId the edit applies to the series.
:func:`apply_instance` rewrites the stored event accordingly.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from protocol.calendar.ical import ical_to_item, item_to_ical
from protocol.calendar.model import CalendarItem, ConversionError
from protocol.calendar.recurrence import ExceptionData

__all__ = ["apply_instance"]

_OCCURRENCE_FIELDS = (
    "subject",
    "location",
    "start_time",
    "end_time",
    "all_day",
    "busy_status",
    "sensitivity",
    "reminder",
    "categories",
    "meeting_status",
    "attendees",
    "dt_stamp",
)


def apply_instance(
    stored: str,
    item: CalendarItem,
    *,
    version: str,
    deleted: bool = False,
    now: datetime | None = None,
) -> str:
    """``stored`` with the occurrence ``item.instance_id`` changed by ``item`` (or deleted).

    16.x edits or deletes one occurrence with a Change/Delete carrying
    AirSyncBase:InstanceId (MS-ASCAL 3.1.5.3; EAS-NOTES). The fields the
    Change carries override that occurrence's (16.x ghosting: what it omits
    stays); the series itself is untouched. Other overrides are regenerated
    from their EAS form. Raises :class:`ConversionError` when the event does
    not recur or ``item`` names no instance.
    """
    if item.instance_id is None:
        raise ConversionError("no InstanceId")
    current = ical_to_item(stored, version=version, body_preference=None)
    if current.recurrence is None:
        raise ConversionError("InstanceId on an event that does not recur")
    original = item.instance_id.astimezone(UTC)
    kept = [e for e in current.exceptions or () if e.original_start != original]
    previous = next((e for e in current.exceptions or () if e.original_start == original), None)
    if deleted:
        changed = ExceptionData(original_start=original, deleted=True)
    else:
        values = {name: getattr(item, name) for name in _OCCURRENCE_FIELDS}
        if item.body is not None:
            values |= {"body": item.body.data, "body_type": item.body.type}
        base = previous if previous is not None and not previous.deleted else None
        merged: dict[str, Any] = {
            name: value if value is not None else getattr(base, name, None)
            for name, value in values.items()
        }
        merged = {
            k: v for k, v in merged.items() if not isinstance(v, date) or isinstance(v, datetime)
        }
        changed = ExceptionData(original_start=original, **merged)
    update = CalendarItem(exceptions=(*kept, changed), present=frozenset({"Exceptions"}))
    return item_to_ical(update, version="16.1", stored=stored, supported=None, now=now)
