"""The change hub, the shared hold and the Status-12 counter (easgw/push/)."""

from __future__ import annotations

import asyncio

import pytest

from easgw.push import ChangeHub, Ended, HierarchyMisses
from easgw.push.hold import hold


def _deadline(seconds: float) -> float:
    return asyncio.get_running_loop().time() + seconds


async def test_notify_wakes_only_the_watches_of_that_ref() -> None:
    hub = ChangeHub()
    with hub.watch(["calendar:a", "calendar:b"]) as both, hub.watch(["calendar:c"]) as other:
        waiting = asyncio.create_task(both.wait(_deadline(5)))
        await asyncio.sleep(0)
        hub.notify("calendar:b")
        hub.notify("calendar:x")  # nobody watches it
        assert await asyncio.wait_for(waiting, 1) == {"calendar:b"}
        assert other.changed is None
        hub.notify("calendar:a")  # before the next wait: returned at once
        assert await both.wait(_deadline(5)) == {"calendar:a"}
        assert hub.watching("calendar:a") == 1
    assert (hub.watching("calendar:a"), hub.watching("calendar:c"), len(hub)) == (0, 0, 0)


async def test_a_watch_expires_at_its_deadline() -> None:
    hub = ChangeHub()
    with hub.watch(["calendar:a"]) as watch:
        started = asyncio.get_running_loop().time()
        assert await watch.wait(_deadline(0.05)) is Ended.EXPIRED
        assert asyncio.get_running_loop().time() - started >= 0.04
        assert await watch.wait(_deadline(-1)) is Ended.EXPIRED  # already past


async def test_the_newest_watch_of_an_owner_ends_the_older() -> None:
    hub = ChangeHub()
    older = hub.watch(["calendar:a"], owner=7)
    waiting = asyncio.create_task(older.wait(_deadline(5)))
    await asyncio.sleep(0)
    newer = hub.watch(["calendar:b"], owner=7)
    assert await asyncio.wait_for(waiting, 1) is Ended.SUPERSEDED
    assert (hub.watching("calendar:a"), hub.watching("calendar:b")) == (0, 1)
    older.close()  # closing the ended one leaves the newer registered
    assert hub.watching("calendar:b") == 1
    other_owner = hub.watch(["calendar:b"], owner=8)
    assert newer.ended is None and hub.watching("calendar:b") == 2
    newer.close()
    other_owner.close()
    assert len(hub) == 0


async def test_close_ends_every_watch_and_refuses_new_ones() -> None:
    hub = ChangeHub()
    watches = [hub.watch(["calendar:a"], owner=n) for n in range(3)] + [hub.watch(["calendar:b"])]
    waiting = [asyncio.create_task(w.wait(_deadline(5))) for w in watches]
    await asyncio.sleep(0)
    hub.close()
    assert await asyncio.gather(*waiting) == [Ended.CLOSED] * 4
    late = hub.watch(["calendar:a"], owner=1)
    assert await late.wait(_deadline(5)) is Ended.CLOSED
    assert len(hub) == 0


async def test_a_cancelled_waiter_leaves_nothing_registered() -> None:
    hub = ChangeHub()

    async def held() -> None:
        with hub.watch(["calendar:a"], owner=1) as watch:
            await watch.wait(_deadline(30))

    task = asyncio.create_task(held())
    await asyncio.sleep(0)
    assert hub.watching("calendar:a") == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(hub) == 0
    hub.notify("calendar:a")  # nothing left to wake


async def test_the_memo_is_dropped_by_the_next_notify() -> None:
    hub = ChangeHub()
    generation = hub.generation("calendar:a")
    hub.memo_put("calendar:a", "token-1", generation, "answer")
    assert hub.memo_get("calendar:a", "token-1", generation) == "answer"
    assert hub.memo_get("calendar:a", "token-2", generation) is None
    hub.notify("calendar:a")
    assert hub.memo_get("calendar:a", "token-1", generation) is None
    assert hub.memo_get("calendar:a", "token-1", hub.generation("calendar:a")) is None
    # A value computed across a notify is stale: it is not kept.
    hub.memo_put("calendar:a", "token-1", generation, "stale")
    assert hub.memo_get("calendar:a", "token-1", hub.generation("calendar:a")) is None
    for n in range(100):  # bounded per ref
        hub.memo_put("calendar:a", n, hub.generation("calendar:a"), n)
    assert hub.memo_get("calendar:a", 0, hub.generation("calendar:a")) is None
    assert hub.memo_get("calendar:a", 99, hub.generation("calendar:a")) == 99


async def test_hold_checks_first_then_only_the_notified_folders() -> None:
    hub = ChangeHub()
    asked: list[str] = []
    news = {"1": False, "2": False}

    async def pending(collection_id: str, _ref: str) -> bool:
        asked.append(collection_id)
        return news[collection_id]

    folders = {"1": "calendar:a", "2": "calendar:b"}
    task = asyncio.create_task(hold(hub, owner=1, folders=folders, seconds=5, pending=pending))
    await asyncio.sleep(0.01)
    assert asked == ["1", "2"]  # the first check covers every folder
    hub.notify("calendar:a")  # a change that does not concern the device: held on
    await asyncio.sleep(0.01)
    assert asked == ["1", "2", "1"] and not task.done()
    news["2"] = True
    hub.notify("calendar:b")
    result = await asyncio.wait_for(task, 1)
    assert (result.changed, result.ended) == (("2",), None)
    assert len(hub) == 0


async def test_hold_answers_at_once_when_something_is_already_pending() -> None:
    hub = ChangeHub()

    async def pending(_collection_id: str, _ref: str) -> bool:
        return True

    result = await hold(hub, owner=1, folders={"5": "calendar:a"}, seconds=30, pending=pending)
    assert result.changed == ("5",)
    expired = await hold(hub, owner=1, folders={}, seconds=0.01, pending=pending)
    assert (expired.changed, expired.ended) == ((), Ended.EXPIRED)


def test_hierarchy_misses_reach_the_limit_then_start_again() -> None:
    misses = HierarchyMisses(limit=3)
    for _ in range(2):
        misses.record(1)
    misses.record(2)
    assert not misses.take(1)
    misses.record(1)
    assert misses.take(1)
    assert not misses.take(1)  # the count restarted
    assert not misses.take(2)
