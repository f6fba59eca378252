"""The pure core of Sync: SyncKey transitions and the diff of a store listing
against the device's snapshot (STYLE.md 8). No I/O here.

The snapshot is what a device holds: ServerId -> :class:`Held` (the store item
id, the hash of the EAS rendering the device holds, and the store etag that
rendering came from; ``None`` after the device's own write, so the next Sync
renders the stored item once and compares). A hash of ``""`` marks an item
skipped as unrenderable: the device does not hold it; it is offered again as an
Add once its etag moves.

The diff, in order: Deletes (held items gone from the store), then Changes
(held items whose etag moved *and* whose rendering hash differs: the echo rule
of DESIGN.md step 6), then Adds (items the device does not hold). Items the
request itself wrote (``exclude``) never appear in that response's Commands.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

__all__ = [
    "Candidates",
    "Held",
    "KeyDecision",
    "Listed",
    "Window",
    "classify_key",
    "find_candidates",
    "held_from_json",
    "held_to_json",
    "next_snapshot",
    "take_window",
]


class KeyDecision(enum.Enum):
    """What a request's SyncKey means against the collection's state."""

    INITIAL = "initial"  # "0": a new key, no items (MS-ASCMD 2.2.1.21)
    CURRENT = "current"  # the key last handed out: apply, then send changes
    RETRANSMISSION = "retransmission"  # the key before: replay the stored answer
    INVALID = "invalid"  # anything else: Status 3, the device restarts at 0


def classify_key(request_key: str, current: int, previous: int | None) -> KeyDecision:
    """Classify ``request_key`` (a decimal string) against the state's keys."""
    if request_key == "0":
        return KeyDecision.INITIAL
    if current > 0 and request_key == str(current):
        return KeyDecision.CURRENT
    if previous is not None and previous > 0 and request_key == str(previous):
        return KeyDecision.RETRANSMISSION
    return KeyDecision.INVALID


@dataclass(frozen=True, slots=True, kw_only=True)
class Held:
    """One item as the device holds it."""

    item_id: str
    hash: str
    etag: str | None = None

    @property
    def on_device(self) -> bool:
        return self.hash != ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Listed:
    """One store item now, with its (stable) ServerId."""

    server_id: str
    item_id: str
    etag: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Candidates:
    """What may go out: ``deletes`` (ServerIds), ``suspects`` (held items whose
    etag moved: render them and compare hashes), ``adds`` (not held), and
    a skipped-broken item whose etag moved counts as an Add)."""

    deletes: tuple[str, ...] = ()
    suspects: tuple[Listed, ...] = ()
    adds: tuple[Listed, ...] = ()


def find_candidates(
    snapshot: Mapping[str, Held], listing: Sequence[Listed], *, exclude: Iterable[str] = ()
) -> Candidates:
    """Split the store's listing against the snapshot (see module docstring)."""
    skip = set(exclude)
    listed_ids = {entry.server_id for entry in listing}
    deletes = tuple(
        sid
        for sid, held in snapshot.items()
        if sid not in listed_ids and sid not in skip and held.on_device
    )
    suspects: list[Listed] = []
    adds: list[Listed] = []
    for entry in listing:
        if entry.server_id in skip:
            continue
        held = snapshot.get(entry.server_id)
        if held is None:
            adds.append(entry)
        elif held.etag != entry.etag:
            (suspects if held.on_device else adds).append(entry)
    return Candidates(deletes=deletes, suspects=tuple(suspects), adds=tuple(adds))


@dataclass(frozen=True, slots=True, kw_only=True)
class Window:
    """The commands chosen for one response (at most the window size)."""

    deletes: tuple[str, ...] = ()
    changes: tuple[Listed, ...] = ()
    adds: tuple[Listed, ...] = ()
    more_available: bool = False
    #: Suspects whose rendering did not change: only their etag moves in the snapshot.
    refreshed: tuple[Listed, ...] = field(default=())

    @property
    def count(self) -> int:
        return len(self.deletes) + len(self.changes) + len(self.adds)


def take_window(
    candidates: Candidates,
    snapshot: Mapping[str, Held],
    hashes: Mapping[str, str],
    size: int,
) -> Window:
    """Choose up to ``size`` commands: Deletes, then real Changes (a suspect
    whose rendering hash, in ``hashes`` by ServerId, differs from the held
    one), then Adds. ``more_available`` when some are left for the next Sync.
    A suspect without a hash (it failed to render) is only refreshed: the
    device keeps the version it has, and it is retried on its next change."""
    changed: list[Listed] = []
    refreshed: list[Listed] = []
    for suspect in candidates.suspects:
        rendered = hashes.get(suspect.server_id)
        # No hash: the new version cannot be rendered; the device keeps the old one.
        same = rendered is None or rendered == snapshot[suspect.server_id].hash
        (refreshed if same else changed).append(suspect)
    room = max(size, 0)
    deletes = candidates.deletes[:room]
    room -= len(deletes)
    changes = tuple(changed[:room])
    room -= len(changes)
    adds = candidates.adds[:room]
    total = len(candidates.deletes) + len(changed) + len(candidates.adds)
    return Window(
        deletes=deletes,
        changes=changes,
        adds=adds,
        more_available=total > len(deletes) + len(changes) + len(adds),
        refreshed=tuple(refreshed),
    )


def next_snapshot(
    snapshot: Mapping[str, Held],
    window: Window,
    hashes: Mapping[str, str],
) -> dict[str, Held]:
    """The snapshot once the device has applied ``window``. An Add or Change
    whose hash is missing from ``hashes`` could not be rendered: it is held
    as skipped (hash ``""``) at its etag, so it is retried when it changes."""
    result = dict(snapshot)
    for server_id in window.deletes:
        result.pop(server_id, None)
    for entry in (*window.changes, *window.adds):
        result[entry.server_id] = Held(
            item_id=entry.item_id, hash=hashes.get(entry.server_id, ""), etag=entry.etag
        )
    for entry in window.refreshed:
        held = result[entry.server_id]
        result[entry.server_id] = Held(item_id=held.item_id, hash=held.hash, etag=entry.etag)
    return result


def held_to_json(snapshot: Mapping[str, Held]) -> dict[str, list[str | None]]:
    return {sid: [held.item_id, held.hash, held.etag] for sid, held in snapshot.items()}


def held_from_json(raw: Mapping[str, Sequence[str | None]]) -> dict[str, Held]:
    return {
        sid: Held(item_id=str(value[0]), hash=str(value[1] or ""), etag=value[2])
        for sid, value in raw.items()
    }
