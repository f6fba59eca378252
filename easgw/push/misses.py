"""``HierarchyMisses``: how many Status 12 (folder hierarchy changed) answers
each device got since it was last told to run FolderSync.

A device whose Ping names a folder its Syncs keep answering 12 for can loop
Ping -> Sync(12) -> Ping forever (EAS-NOTES "Ping": Z-Push's loop detector).
Sync records each 12 here; once a device has ``LIMIT`` of them, its next Ping
answers Status 7 (hierarchy sync required) and the count starts again.

In memory, per process: a single process is enough to break the loop (the
device's requests go to one process in turn or another's counter gets there
later). Scale-out may move it into the database.
"""

from __future__ import annotations

from typing import Final

__all__ = ["HierarchyMisses"]

#: Status 12 answers after which the next Ping answers 7.
LIMIT: Final = 3
#: Devices remembered at most (the oldest entries are forgotten first).
_MAX_DEVICES: Final = 100_000


class HierarchyMisses:
    """Status 12 answers per device (by the device's primary key)."""

    def __init__(self, limit: int = LIMIT) -> None:
        self.limit = limit
        self._counts: dict[int, int] = {}

    def record(self, device_pk: int) -> None:
        """The device just got a Status 12."""
        if device_pk not in self._counts and len(self._counts) >= _MAX_DEVICES:
            self._counts.pop(next(iter(self._counts)))
        self._counts[device_pk] = self._counts.get(device_pk, 0) + 1

    def take(self, device_pk: int) -> bool:
        """Has the device reached the limit? If so the count restarts."""
        if self._counts.get(device_pk, 0) < self.limit:
            return False
        del self._counts[device_pk]
        return True
