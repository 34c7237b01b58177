"""PostgreSQL's cached reads share their SELECT of versions (kit/cache.SharedVersionReads):
fewer round trips under load, and still never an answer older than a write acknowledged
before the read began."""

import asyncio
import gc
import sys

import pytest

from homeroom.kit.cache import SharedVersionReads


class Versions:
    """A versions table whose fetches can be held open, recording what each one was asked."""

    def __init__(self) -> None:
        self.value = 1
        self.asked: list[list[str]] = []
        self.release = asyncio.Event()
        self.release.set()
        self.fail: Exception | None = None

    async def fetch(self, tags: list[str]) -> dict[str, int]:
        self.asked.append(tags)
        seen = self.value  # what the SELECT sees: the state when it started
        await self.release.wait()
        if self.fail is not None:
            raise self.fail
        return dict.fromkeys(tags, seen)


async def sent(table: Versions, count: int) -> None:
    """Until `count` SELECTs have been sent."""
    for _ in range(100):
        if len(table.asked) >= count:
            return
        await asyncio.sleep(0)
    raise AssertionError(f"{count} SELECTs were not sent: {table.asked}")


async def test_one_read_alone_is_one_select() -> None:
    table = Versions()
    reads = SharedVersionReads(table.fetch)
    assert await reads.read(["a", "b"]) == {"a": 1, "b": 1}
    assert table.asked == [["a", "b"]]


async def test_reads_that_arrive_together_share_the_next_select() -> None:
    table = Versions()
    reads = SharedVersionReads(table.fetch)
    table.release.clear()
    first = asyncio.create_task(reads.read(["a"]))
    await sent(table, 1)  # the first SELECT is sent and held open
    later = [asyncio.create_task(reads.read([f"t{i}", "a"])) for i in range(10)]
    await asyncio.sleep(0)
    table.release.set()
    await asyncio.gather(first, *later)
    # Eleven reads, two round trips: the ten that came in while the first ran share one.
    assert table.asked == [["a"], ["a", *sorted(f"t{i}" for i in range(10))]]


async def test_a_read_never_joins_a_select_already_sent() -> None:
    """A write acknowledged while a SELECT is in flight: a read that starts after it must see
    it, so it may not take the in-flight SELECT's answer."""
    table = Versions()
    reads = SharedVersionReads(table.fetch)
    table.release.clear()
    before = asyncio.create_task(reads.read(["a"]))
    await sent(table, 1)
    table.value = 2  # a write commits and is acknowledged
    after = asyncio.create_task(reads.read(["a"]))
    await asyncio.sleep(0)
    table.release.set()
    assert await before == {"a": 1}
    assert await after == {"a": 2}


async def test_a_cancelled_read_leaves_the_others_their_answer() -> None:
    table = Versions()
    reads = SharedVersionReads(table.fetch)
    table.release.clear()
    gone = asyncio.create_task(reads.read(["a"]))
    stays = asyncio.create_task(reads.read(["a"]))
    await asyncio.sleep(0)
    gone.cancel()
    table.release.set()
    assert await stays == {"a": 1}
    with pytest.raises(asyncio.CancelledError):
        await gone
    assert await reads.read(["a"]) == {"a": 1}


async def test_a_failed_select_fails_its_reads_and_the_next_one_works() -> None:
    table = Versions()
    reads = SharedVersionReads(table.fetch)
    table.fail = TimeoutError("statement timeout")
    table.release.clear()
    waiting = [asyncio.create_task(reads.read(["a"])) for _ in range(3)]
    await asyncio.sleep(0)
    table.release.set()
    results = await asyncio.gather(*waiting, return_exceptions=True)
    assert all(isinstance(r, TimeoutError) for r in results)
    table.fail = None
    assert await reads.read(["a"]) == {"a": 1}


def test_a_batch_left_on_a_closed_event_loop_does_not_hold_the_next_loops_reads() -> None:
    table = Versions()
    reads = SharedVersionReads(table.fetch)
    left: list[asyncio.Task[dict[str, int]]] = []

    async def stranded() -> None:
        table.release.clear()
        left.append(asyncio.get_running_loop().create_task(reads.read(["a"])))
        await sent(table, 1)  # the loop ends with this SELECT still open

    async def later() -> dict[str, int]:
        table.release = asyncio.Event()  # an Event of this loop, already set
        table.release.set()
        return await reads.read(["b"])

    first = asyncio.new_event_loop()
    first.run_until_complete(stranded())
    first.close()
    assert asyncio.run(later()) == {"b": 1}
    # The closed loop's tasks, collected: they can no longer run their ends (expected here).
    unraisable: list[str] = []
    hook, sys.unraisablehook = sys.unraisablehook, lambda u: unraisable.append(str(u.exc_value))
    try:
        left.clear()
        reads = SharedVersionReads(table.fetch)
        gc.collect()
    finally:
        sys.unraisablehook = hook
    assert set(unraisable) <= {"Event loop is closed"}
