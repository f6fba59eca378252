"""The ``Retry-After`` header of an HTTP answer, in seconds (RFC 9110 10.2.3).

Shared by the edges that turn a 429/503 into "unavailable, try again in N s"
(the CalDAV client, the conference providers' HTTP edge).
"""

from __future__ import annotations

import email.utils
import time
from datetime import UTC

__all__ = ["retry_after_seconds"]


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait: delta-seconds, or an HTTP-date (always GMT: a date without
    a zone is read as UTC); None when absent or unreadable, 0 for a past date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))
