"""The pure core of Sync: key transitions and the listing/snapshot diff."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
from dateutil.rrule import rruleset, rrulestr
from hypothesis import assume, given
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
            _at("2026-03-01T10:00"),  # the last instance (28 Feb, 10:00) and a day
        ),
        (["DTSTART:20260101T100000Z", "RRULE:FREQ=DAILY"], None),  # endless
        (["DTSTART:20260101T100000Z", "RRULE:FREQ=DAILY;COUNT=3"], _at("2026-01-04T10:00")),
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


# -- span_end of recurring series (window.py, series_end.py) --------------------------

_SERIES = ["DTSTART:20260105T090000Z", "DTEND:20260105T100000Z"]  # Monday 5 January 2026
_OVERRIDE = "BEGIN:VEVENT\r\nUID:x\r\nRECURRENCE-ID:20260119T090000Z\r\n{}\r\nEND:VEVENT"


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ([*_SERIES, "RRULE:FREQ=DAILY;COUNT=10"], _at("2026-01-15T10:00")),
        # Mon 5, Wed 7, Fri 9, Mon 12, Wed 14, Fri 16, Mon 19
        ([*_SERIES, "RRULE:FREQ=WEEKLY;BYDAY=MO,WE,FR;COUNT=7"], _at("2026-01-20T10:00")),
        # the last weekday of the month: Fri 30 Jan, Fri 27 Feb, Tue 31 Mar
        (
            [
                "DTSTART:20260130T090000Z",
                "DURATION:PT1H",
                "RRULE:FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;COUNT=3",
            ],
            _at("2026-04-01T10:00"),
        ),
        (["DTSTART:20260315T090000Z", "RRULE:FREQ=YEARLY;COUNT=3"], _at("2028-03-16T09:00")),
        ([*_SERIES, "RRULE:FREQ=DAILY;UNTIL=20260110"], _at("2026-01-11T10:00")),  # whole day
        ([*_SERIES, "RRULE:FREQ=DAILY;UNTIL=20260110T080000Z"], _at("2026-01-10T10:00")),
        (
            ["DTSTART:20260105T090000", "RRULE:FREQ=DAILY;UNTIL=20260107T090000Z"],
            _at("2026-01-08T09:00"),
        ),
        ([*_SERIES, "RRULE:FREQ=DAILY;COUNT=3", "RDATE:20260601T090000Z"], _at("2026-06-02T10:00")),
        (
            [*_SERIES, "RRULE:FREQ=DAILY;COUNT=3", "RDATE;VALUE=PERIOD:20260301T090000Z/PT5H"],
            _at("2026-03-02T14:00"),
        ),
        (
            [*_SERIES, "RRULE:FREQ=DAILY;COUNT=3", "EXDATE:20260107T090000Z"],
            _at("2026-01-07T10:00"),
        ),
        (
            [*_SERIES, "RRULE:FREQ=DAILY;COUNT=3", "EXDATE:20260106T090000Z,20260107T090000Z"],
            _at("2026-01-06T10:00"),
        ),
        # an override moved past the series' end counts; one moved earlier replaces the last
        (
            [*_SERIES, "RRULE:FREQ=WEEKLY;COUNT=3", _OVERRIDE.format("DTSTART:20260301T090000Z")],
            _at("2026-03-02T09:00"),
        ),
        (
            [
                *_SERIES,
                "RRULE:FREQ=WEEKLY;COUNT=3",
                _OVERRIDE.format("DTSTART:20260113T090000Z\r\nDTEND:20260113T093000Z"),
            ],
            _at("2026-01-14T09:30"),
        ),
        (
            [
                "DTSTART;VALUE=DATE:20260105",
                "DTEND;VALUE=DATE:20260106",
                "RRULE:FREQ=WEEKLY;COUNT=4",
            ],
            _at("2026-01-29T00:00"),  # 26 January, all day, and two days
        ),
        (["DTSTART;VALUE=DATE:20260105", "RRULE:FREQ=YEARLY;COUNT=2"], _at("2027-01-08T00:00")),
        # 10:00 in Paris is 09:00Z in winter, 08:00Z from 29 March (DST)
        (
            [
                "DTSTART;TZID=Europe/Paris:20260302T100000",
                "DTEND;TZID=Europe/Paris:20260302T110000",
                "RRULE:FREQ=WEEKLY;COUNT=5",
            ],
            _at("2026-03-31T09:00"),
        ),
        # too many to expand: arithmetic where exact, UNTIL as the bound, else unbounded
        (
            [*_SERIES, "RRULE:FREQ=DAILY;COUNT=100000"],
            _at("2026-01-06T10:00") + 99_999 * 86_400,
        ),
        (
            ["DTSTART:20260105T090000Z", "RRULE:FREQ=SECONDLY;COUNT=100000000"],
            _at("2026-01-06T09:00") + 99_999_999,
        ),
        (
            ["DTSTART:20260105T090000Z", "RRULE:FREQ=MINUTELY;UNTIL=20260201T000000Z"],
            _at("2026-02-02T00:00"),
        ),
        ([*_SERIES, "RRULE:FREQ=MONTHLY;BYMONTHDAY=1,15;COUNT=100000"], None),
        ([*_SERIES, "RRULE:FREQ=MONTHLY;COUNT=100000;BYMONTHDAY=31"], None),
        # day filters that never match a daily rule: not scanned to year 9999
        ([*_SERIES, "RRULE:FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30;COUNT=1"], None),
        ([*_SERIES, "RRULE:FREQ=HOURLY;BYDAY=SU;INTERVAL=168;COUNT=2"], None),
        ([*_SERIES, "RRULE:FREQ=WEEKLY;BYDAY=MO"], None),  # endless
        (
            [
                *_SERIES,
                "RRULE:FREQ=DAILY;COUNT=3",
                _OVERRIDE.format("DTSTART:20260301T090000Z").replace(
                    "RECURRENCE-ID", "RECURRENCE-ID;RANGE=THISANDFUTURE"
                ),
            ],
            None,
        ),
    ],
)
def test_span_end_of_series(lines: list[str], expected: int | None) -> None:
    assert span_end(_ical(*lines)) == expected


@pytest.mark.parametrize(
    "lines",
    [
        ["DTSTART:garbage", "RRULE:FREQ=DAILY;COUNT=2"],
        ["DTSTART:20260105T090000Z", "RRULE:FREQ=FORTNIGHTLY;COUNT=2"],
        ["DTSTART:20260105T090000Z", "RRULE:COUNT=2"],
        ["DTSTART:20260105T090000Z", "RRULE:FREQ=DAILY;COUNT=-1"],
        ["DTSTART:20260105T090000Z", "RRULE:FREQ=DAILY;COUNT=2;X-ODD=1"],
        ["DTSTART:20260105T090000Z", "RRULE:FREQ=DAILY;COUNT=2", "EXDATE:soon"],
        ["DTSTART:20260105T090000Z", "RRULE:FREQ=YEARLY;COUNT=99999999999999"],
        ["DURATION:PT1H", "RRULE:FREQ=DAILY;COUNT=2"],
    ],
)
def test_span_end_of_broken_series_is_unbounded(lines: list[str]) -> None:
    assert span_end(_ical(*lines)) is None


_ZONES = [None, UTC, ZoneInfo("Europe/Paris"), ZoneInfo("America/New_York")]
_DAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
_EPOCH = datetime.combine(date(2020, 1, 1), time())


@st.composite
def _rules(draw: st.DrawFn) -> str:
    """Small RRULEs (without COUNT/UNTIL) whose instances dateutil finds quickly."""
    freq = draw(st.sampled_from(["YEARLY", "MONTHLY", "WEEKLY", "DAILY", "HOURLY"]))
    parts = {"FREQ": freq, "INTERVAL": str(draw(st.integers(1, 3)))}
    days = draw(st.lists(st.sampled_from(_DAYS), min_size=1, max_size=7, unique=True))
    shape = draw(st.integers(0, 3))
    if freq == "YEARLY" and shape == 1:
        parts["BYMONTH"] = str(draw(st.integers(1, 12)))
        parts["BYMONTHDAY"] = str(draw(st.sampled_from([1, 15, 28, -1])))
    elif freq in ("YEARLY", "MONTHLY") and shape == 2:
        parts["BYDAY"] = f"{draw(st.sampled_from([1, 2, 3, 4, -1]))}{days[0]}"
    elif freq == "MONTHLY" and shape == 3:
        parts["BYDAY"] = ",".join(days)
        parts["BYSETPOS"] = str(draw(st.sampled_from([1, 2, 3, -1, -2])))
    elif freq == "MONTHLY" and shape == 1:
        monthdays = draw(st.sets(st.integers(1, 31), min_size=1, max_size=3))
        parts["BYMONTHDAY"] = ",".join(map(str, sorted(monthdays)))
    elif freq in ("WEEKLY", "DAILY") and shape > 0:
        parts["BYDAY"] = ",".join(days)
    parts["WKST"] = draw(st.sampled_from(["MO", "SU"]))
    return ";".join(f"{key}={value}" for key, value in parts.items())


@st.composite
def _starts(draw: st.DrawFn) -> date | datetime:
    """A DTSTART: a DATE, or a floating, UTC or zoned date-time, 2020..2030."""
    moment = _EPOCH + timedelta(minutes=draw(st.integers(0, 10 * 365 * 24 * 60)))
    if draw(st.booleans()):
        return moment.date()
    return moment.replace(tzinfo=draw(st.sampled_from(_ZONES)))


def _limit(anchor: datetime, all_day: bool, bound: int | timedelta) -> str:
    if isinstance(bound, int):
        return f"COUNT={bound}"
    until = anchor + bound
    if all_day:
        return f"UNTIL={until:%Y%m%d}"
    if until.tzinfo is None:
        return f"UNTIL={until:%Y%m%dT%H%M%S}"
    return f"UNTIL={until.astimezone(UTC):%Y%m%dT%H%M%SZ}"


def _seconds_with_margin(end: datetime, all_day: bool) -> int:
    if all_day:
        return int(end.replace(tzinfo=UTC).timestamp()) + 2 * 86_400
    aware = end.replace(tzinfo=UTC) if end.tzinfo is None else end.astimezone(UTC)
    return int(aware.timestamp()) + 86_400


@given(
    _rules(),
    _starts(),
    st.one_of(st.integers(1, 40), st.integers(1, 60).map(lambda days: timedelta(days=days))),
    st.integers(0, 3 * 24 * 60).map(lambda minutes: timedelta(minutes=minutes)),
    st.data(),
)
def test_span_end_matches_a_full_expansion(
    rule: str,
    first: date | datetime,
    bound: int | timedelta,
    length: timedelta,
    data: st.DataObject,
) -> None:
    """span_end agrees with dateutil's own rruleset over every instance, with
    DTSTART, EXDATEs (often the last instances) and RDATEs."""
    all_day = not isinstance(first, datetime)
    assume(not (all_day and "FREQ=HOURLY" in rule))  # a DATE series has whole days only
    anchor = first if isinstance(first, datetime) else datetime.combine(first, time())
    text = f"{rule};{_limit(anchor, all_day, bound)}"
    full = rruleset()
    full.rrule(rrulestr(text, dtstart=anchor))
    full.rdate(anchor)
    instances = list(full)
    dropped = data.draw(st.lists(st.sampled_from(instances[-3:]), max_size=3))
    offsets = st.integers(-400, 400).map(lambda days: anchor + timedelta(days=days))
    added = data.draw(st.lists(offsets, max_size=2))
    if all_day:
        length = timedelta(days=max(1, length.days))
    event = icalendar.Event()
    event.add("uid", "x")
    event.add("dtstart", first)
    event.add("dtend" if all_day else "duration", first + length if all_day else length)
    event.add("rrule", icalendar.vRecur.from_ical(text))
    for name, moments, apply in (("exdate", dropped, full.exdate), ("rdate", added, full.rdate)):
        for moment in moments:
            event.add(name, moment.date() if all_day else moment)
            apply(moment)
    calendar = icalendar.Calendar()
    calendar.add("version", "2.0")
    calendar.add_component(event)
    last = max(full, default=None)
    expected = None if last is None else _seconds_with_margin(last + length, all_day)
    assert span_end(calendar.to_ical().decode()) == expected
