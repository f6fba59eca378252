"""iCalendar texts the store tests put and expect back."""

from __future__ import annotations

__all__ = ["event", "todo"]


def event(uid: str, summary: str = "Planning", *, extra: str = "") -> str:
    """A one-event VCALENDAR with ``uid`` (``extra``: more lines inside the VEVENT)."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//easgw//tests//EN",
        "BEGIN:VEVENT",
        f"UID:{uid}",
        "DTSTAMP:20250101T090000Z",
        "DTSTART:20250110T100000Z",
        "DTEND:20250110T110000Z",
        f"SUMMARY:{summary}",
        *([extra] if extra else []),
        "END:VEVENT",
        "END:VCALENDAR",
        "",
    ]
    return "\r\n".join(lines)


def todo(uid: str, summary: str = "Write report") -> str:
    """A one-task VCALENDAR with ``uid``."""
    return "\r\n".join(
        [
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:-//easgw//tests//EN",
            "BEGIN:VTODO",
            f"UID:{uid}",
            "DTSTAMP:20250101T090000Z",
            f"SUMMARY:{summary}",
            "END:VTODO",
            "END:VCALENDAR",
            "",
        ]
    )
