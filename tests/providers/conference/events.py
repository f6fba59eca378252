"""The event the conference provider tests make links for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from providers.conference import EventContext, Person

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def event(**changes: object) -> EventContext:
    """A weekly-planning meeting; keyword arguments replace fields."""
    values: dict[str, object] = {
        "uid": "0f8c1a3e-planning@example.com",
        "summary": "Weekly planning",
        "start": START,
        "end": START + timedelta(hours=1),
        "timezone": "Europe/Paris",
        "organizer": Person(email="alice@example.com", name="Alice Martin"),
        "attendees": (Person(email="bob@example.com", name="Bob"),),
    }
    values.update(changes)
    return EventContext(**values)  # type: ignore[arg-type]
