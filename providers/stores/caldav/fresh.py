"""The calendars' change tags as last polled, for answering a no-change
``changes_since`` without a round trip.

The gateway's poller (easgw/push/caldav_poller.py) reads each watched
calendar's ``DAV:sync-token`` and ``CS:getctag`` every ``store.poll_seconds``
(``CalDavStore.poll_version``); the values are kept here by calendar URL with
the time the PROPFIND was *sent*. While that is at most ``seconds`` ago, a
token equal to them means "no change" (a change made by another CalDAV
client is then at most ``seconds`` late: the issue's bargain).

A write made through the store (PUT, DELETE) forgets the calendar's entry at
once and bumps its generation: a poll that was in flight across the write
cannot record its (older) answer, so changes made through easgw are never
hidden.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

__all__ = ["FreshTokens", "Seen"]

_MAX_ENTRIES = 10_000


@dataclass(frozen=True, slots=True, kw_only=True)
class Seen:
    """A calendar's change tags as one PROPFIND answered them ("" when absent)."""

    sync_token: str
    ctag: str


class FreshTokens:
    """Calendar URL -> the last polled tags and when; see the module docstring."""

    def __init__(self, seconds: float) -> None:
        """``seconds`` <= 0 disables the answers (every call goes to the server)."""
        self.seconds = seconds
        self._seen: dict[str, tuple[float, Seen]] = {}
        self._generations: dict[str, int] = {}

    def begin(self, url: str) -> tuple[int, float]:
        """Call before sending a poll: (the URL's write generation, the time now)."""
        return self._generations.get(url, 0), time.monotonic()

    def record(self, url: str, started: tuple[int, float], seen: Seen) -> None:
        """Keep ``seen`` unless a write to ``url`` happened since ``begin``."""
        generation, at = started
        if self.seconds <= 0 or generation != self._generations.get(url, 0):
            return
        if url not in self._seen and len(self._seen) >= _MAX_ENTRIES:
            self._seen.pop(next(iter(self._seen)))
        self._seen[url] = (at, seen)

    def get(self, url: str) -> Seen | None:
        """The tags polled at most ``seconds`` ago with no write since, else None."""
        entry = self._seen.get(url)
        if entry is None:
            return None
        at, seen = entry
        if time.monotonic() - at > self.seconds:
            return None
        return seen

    def forget(self, url: str) -> None:
        """A write to ``url`` went through: drop its entry, void polls in flight."""
        self._seen.pop(url, None)
        if url not in self._generations and len(self._generations) >= _MAX_ENTRIES:
            self._generations.pop(next(iter(self._generations)))
        self._generations[url] = self._generations.get(url, 0) + 1
