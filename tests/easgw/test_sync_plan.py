"""The pure core of Sync: key transitions and the listing/snapshot diff."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from easgw.commands.sync.plan import (
    Held,
    KeyDecision,
    Listed,
    classify_key,
    find_candidates,
    held_from_json,
    held_to_json,
    next_snapshot,
    take_window,
)
from easgw.commands.sync.window import cutoff, span_end


@pytest.mark.parametrize(
    ("request_key", "current", "previous", "decision"),
    [
        ("0", 0, None, KeyDecision.INITIAL),
        ("0", 7, 6, KeyDecision.INITIAL),
        ("7", 7, 6, KeyDecision.CURRENT),
        ("6", 7, 6, KeyDecision.RETRANSMISSION),
        ("5", 7, 6, KeyDecision.INVALID),
        ("8", 7, 6, KeyDecision.INVALID),
        ("1", 0, None, KeyDecision.INVALID),  # no state yet: only 0 starts
        ("0", 0, 0, KeyDecision.INITIAL),
        ("07", 7, None, KeyDecision.INVALID),  # keys compare as the strings handed out
        ("{junk}", 7, 6, KeyDecision.INVALID),
    ],
)
def test_classify_key(
    request_key: str, current: int, previous: int | None, decision: KeyDecision
) -> None:
    assert classify_key(request_key, current, previous) is decision


def _listed(sid: str, etag: str = "e1") -> Listed:
    return Listed(server_id=sid, item_id=f"item-{sid}", etag=etag)


def _held(sid: str, hash_: str = "h1", etag: str | None = "e1") -> Held:
    return Held(item_id=f"item-{sid}", hash=hash_, etag=etag)


def test_candidates_table() -> None:
    snapshot = {
        "1:1": _held("1:1"),  # unchanged
        "1:2": _held("1:2"),  # etag moved: a suspect
        "1:3": _held("1:3"),  # gone: Delete
        "1:4": _held("1:4", etag=None),  # the device's own write: render once
        "1:5": _held("1:5", hash_=""),  # skipped as broken, unchanged: quiet
        "1:6": _held("1:6", hash_=""),  # skipped as broken, changed: offered as Add
        "1:7": _held("1:7", hash_=""),  # skipped as broken, gone: no Delete
    }
    listing = [
        _listed("1:1"),
        _listed("1:2", "e2"),
        _listed("1:4"),
        _listed("1:5"),
        _listed("1:6", "e2"),
        _listed("1:8"),  # new: Add
    ]
    found = find_candidates(snapshot, listing)
    assert found.deletes == ("1:3",)
    assert [s.server_id for s in found.suspects] == ["1:2", "1:4"]
    assert [a.server_id for a in found.adds] == ["1:6", "1:8"]


def test_excluded_items_never_appear() -> None:
    snapshot = {"1:1": _held("1:1"), "1:2": _held("1:2")}
    listing = [_listed("1:1", "e9"), _listed("1:3")]
    found = find_candidates(snapshot, listing, exclude={"1:1", "1:2", "1:3"})
    assert (found.deletes, found.suspects, found.adds) == ((), (), ())


def test_echo_rule_same_hash_only_refreshes_etag() -> None:
    snapshot = {"1:1": _held("1:1", "device-hash", None), "1:2": _held("1:2", "old")}
    found = find_candidates(snapshot, [_listed("1:1", "e5"), _listed("1:2", "e5")])
    window = take_window(found, snapshot, {"1:1": "device-hash", "1:2": "new"}, 10)
    assert [c.server_id for c in window.changes] == ["1:2"]
    assert [r.server_id for r in window.refreshed] == ["1:1"]
    after = next_snapshot(snapshot, window, {"1:1": "device-hash", "1:2": "new"})
    assert after["1:1"] == Held(item_id="item-1:1", hash="device-hash", etag="e5")
    assert after["1:2"] == Held(item_id="item-1:2", hash="new", etag="e5")


def test_unrenderable_suspect_keeps_the_device_copy() -> None:
    snapshot = {"1:1": _held("1:1")}
    found = find_candidates(snapshot, [_listed("1:1", "e2")])
    window = take_window(found, snapshot, {}, 10)
    assert window.changes == ()
    assert next_snapshot(snapshot, window, {})["1:1"] == _held("1:1", etag="e2")


def test_unrenderable_add_is_held_as_skipped() -> None:
    found = find_candidates({}, [_listed("1:1")])
    window = take_window(found, {}, {}, 10)
    after = next_snapshot({}, window, {})
    assert after == {"1:1": Held(item_id="item-1:1", hash="", etag="e1")}
    assert not after["1:1"].on_device
    again = find_candidates(after, [_listed("1:1")])
    assert (again.adds, again.suspects) == ((), ())


def test_window_order_and_more_available() -> None:
    snapshot = {"1:1": _held("1:1"), "1:2": _held("1:2")}
    listing = [_listed("1:2", "e2"), _listed("1:3"), _listed("1:4")]
    found = find_candidates(snapshot, listing)
    window = take_window(found, snapshot, {"1:2": "h2"}, 2)
    assert window.deletes == ("1:1",)
    assert [c.server_id for c in window.changes] == ["1:2"]
    assert window.adds == ()
    assert window.more_available


ITEMS = [f"1:{n}" for n in range(8)]
held_entries = st.tuples(st.sampled_from(["h1", "h2", ""]), st.sampled_from([None, "e1", "e2"]))


@st.composite
def states(draw: st.DrawFn) -> tuple[dict[str, Held], list[Listed], dict[str, str]]:
    """A snapshot, a listing and each listed item's rendering, consistent in
    the one way reality is: an item held at the etag it has now holds that
    etag's rendering (or was skipped as broken)."""
    held = draw(st.dictionaries(st.sampled_from(ITEMS), held_entries))
    listed = draw(st.dictionaries(st.sampled_from(ITEMS), st.sampled_from(["e1", "e2"])))
    rendered = {sid: f"render-{etag}" for sid, etag in listed.items()}
    snapshot: dict[str, Held] = {}
    for sid, (drawn_hash, drawn_etag) in sorted(held.items()):
        hash_, etag = drawn_hash, drawn_etag
        if etag is not None and listed.get(sid) == etag:
            if hash_:
                hash_ = rendered[sid]
            else:
                etag = "e0"  # skipped as broken at an older version
        snapshot[sid] = Held(item_id=f"item-{sid}", hash=hash_, etag=etag)
    listing = [
        Listed(server_id=sid, item_id=f"item-{sid}", etag=etag)
        for sid, etag in sorted(listed.items())
    ]
    return snapshot, listing, rendered


@given(states(), st.integers(min_value=1, max_value=5))
def test_repeated_windows_converge_to_the_store(
    state: tuple[dict[str, Held], list[Listed], dict[str, str]], size: int
) -> None:
    """Syncing window after window reaches a snapshot holding exactly the
    store's items at their renderings, each window at most ``size`` commands,
    and then nothing more goes out."""
    snapshot, listing, rendered = state
    for _ in range(30):
        found = find_candidates(snapshot, listing)
        window = take_window(found, snapshot, rendered, size)
        assert window.count <= size
        snapshot = next_snapshot(snapshot, window, rendered)
        if not window.more_available:
            break
    final = find_candidates(snapshot, listing)
    assert take_window(final, snapshot, rendered, size).count == 0
    assert {sid for sid, held in snapshot.items() if held.on_device} == {
        entry.server_id for entry in listing
    }
    for entry in listing:
        assert snapshot[entry.server_id].hash == rendered[entry.server_id]


@given(states())
def test_snapshot_json_round_trip(
    state: tuple[dict[str, Held], list[Listed], dict[str, str]],
) -> None:
    snapshot = state[0]
    assert held_from_json(held_to_json(snapshot)) == snapshot


def _ical(*lines: str) -> str:
    body = "\r\n".join(lines)
    head = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:x\r\n"
    return f"{head}{body}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"


def _at(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["DTSTART:20260101T100000Z", "DTEND:20260101T110000Z"], _at("2026-01-02T11:00")),
        (["DTSTART:20260101T100000Z", "DURATION:PT2H"], _at("2026-01-02T12:00")),
        (["DTSTART;VALUE=DATE:20260101", "DTEND;VALUE=DATE:20260102"], _at("2026-01-04T00:00")),
        (["DTSTART:20260101T100000", "DTEND:20260101T110000"], _at("2026-01-02T11:00")),  # floating
        (
            ["DTSTART:20260101T100000Z", "RRULE:FREQ=DAILY;UNTIL=20260301T000000Z"],
            _at("2026-03-02"),
        ),
        (["DTSTART:20260101T100000Z", "RRULE:FREQ=DAILY"], None),  # endless
        (["DTSTART:20260101T100000Z", "RRULE:FREQ=DAILY;COUNT=3"], None),  # not expanded
        (["SUMMARY:no start"], None),
    ],
)
def test_span_end(lines: list[str], expected: int | None) -> None:
    assert span_end(_ical(*lines)) == expected


def test_span_end_of_garbage_is_unbounded() -> None:
    assert span_end("not a calendar") is None


@pytest.mark.parametrize(
    ("filter_type", "days"), [(None, None), (0, None), (1, 1), (4, 14), (7, 180), (8, None)]
)
def test_cutoff(filter_type: int | None, days: int | None) -> None:
    now = datetime(2026, 11, 25, 12, tzinfo=UTC)
    expected = None if days is None else int((now - timedelta(days=days)).timestamp())
    assert cutoff(filter_type, now) == expected
