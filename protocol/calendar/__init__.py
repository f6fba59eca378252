"""EAS Calendar (MS-ASCAL) <-> iCalendar (RFC 5545), sans-IO.

Modules, imported by their full path:

* :mod:`protocol.calendar.model` -- the CalendarItem model, ``parse_calendar`` and
  ``render_calendar`` over a Sync ApplicationData tree (the model classes live
  in :mod:`protocol.calendar.item`);
* :mod:`protocol.calendar.ical` -- ``item_to_ical`` (with the ghosting merge on
  Change) and ``ical_to_item`` (DTSTART/DTEND in :mod:`protocol.calendar.ical_times`);
* :mod:`protocol.calendar.ical_fields` -- the per-property writers and readers;
* :mod:`protocol.calendar.instances` -- 16.x edits and deletes of one occurrence;
* :mod:`protocol.calendar.body` -- plain text <-> HTML and BodyPreference;
* :mod:`protocol.calendar.timezone` -- the 172-byte TIME_ZONE_INFORMATION blob
  (its codec in :mod:`protocol.calendar.timezone_blob`) <-> IANA zones, VTIMEZONE;
* :mod:`protocol.calendar.recurrence` -- Recurrence and Exceptions <-> RRULE,
  EXDATE and RECURRENCE-ID overrides.
"""
