"""workqueue.Type: dedup, the dirty/processing sets, shutdown (util/workqueue/queue_test.go)."""

from __future__ import annotations

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from miniclient.workqueue import Queue


def test_add_deduplicates_and_keeps_fifo_order():
    q = Queue()
    for item in ["a", "b", "a", "c", "b"]:
        q.add(item)
    assert len(q) == 3
    assert [q.get_nowait()[0] for _ in range(3)] == ["a", "b", "c"]


def test_item_added_while_processing_waits_for_done():
    q = Queue()
    q.add("a")
    item, _ = q.get_nowait()
    q.add("a")
    # Not handed out again while a worker holds it.
    assert q.get_nowait() == (None, False)
    q.done(item)
    assert q.get_nowait() == ("a", False)


def test_shutdown_drains_then_reports_shutdown():
    q = Queue()
    q.add("a")
    q.shut_down()
    q.add("b")
    assert q.get_nowait() == ("a", False)
    assert q.get_nowait() == (None, True)


def test_blocked_get_wakes_on_add_and_on_shutdown():
    async def main():
        q = Queue()
        waiter = asyncio.ensure_future(q.get())
        await asyncio.sleep(0)
        assert not waiter.done()
        q.add("x")
        assert await waiter == ("x", False)
        waiter = asyncio.ensure_future(q.get())
        await asyncio.sleep(0)
        q.shut_down()
        assert await waiter == (None, True)

    asyncio.run(main())


def test_shut_down_with_drain_waits_for_processing_items():
    async def main():
        q = Queue()
        q.add("x")
        item, _ = q.get_nowait()
        drain = asyncio.ensure_future(q.shut_down_with_drain())
        await asyncio.sleep(0)
        assert not drain.done()
        q.done(item)
        await asyncio.wait_for(drain, 5)

    asyncio.run(main())


def test_metrics_count_adds_depth_and_retries():
    now = [0.0]
    q = Queue("m", lambda: now[0])
    q.add("a")
    q.add("a")
    q.add("b")
    assert (q.metrics.adds_total, q.metrics.depth) == (2, 2)
    now[0] = 2.0
    item, _ = q.get_nowait()
    now[0] = 5.0
    q.done(item)
    assert q.metrics.depth == 1
    assert q.metrics.queue_duration_sum == 2.0
    assert q.metrics.work_duration_sum == 3.0


class QueueMachine(RuleBasedStateMachine):
    """Workers get/done while producers add: no item is ever held by two workers."""

    def __init__(self) -> None:
        super().__init__()
        self.q = Queue()
        self.held: list[int] = []
        # Items added after their last get started: they must be processed again.
        self.owed: set[int] = set()

    @rule(item=st.integers(0, 5))
    def add(self, item: int) -> None:
        self.q.add(item)
        self.owed.add(item)

    @rule()
    def get(self) -> None:
        item, shutdown = self.q.get_nowait()
        assert not shutdown
        if item is None:
            assert all(i in self.held for i in self.owed)
            return
        assert item not in self.held, "item handed to two workers at once"
        self.held.append(item)
        self.owed.discard(item)

    @precondition(lambda self: self.held)
    @rule(index=st.integers(0, 10))
    def done(self, index: int) -> None:
        self.q.done(self.held.pop(index % len(self.held)))

    @invariant()
    def queue_has_no_duplicates(self) -> None:
        queued = list(self.q._queue)
        assert len(queued) == len(set(queued))
        assert not set(queued) & set(self.held)

    def teardown(self) -> None:
        # Liveness: once every worker finishes, every owed item comes out again.
        for item in list(self.held):
            self.q.done(item)
        seen = set()
        while True:
            item, _ = self.q.get_nowait()
            if item is None:
                break
            seen.add(item)
            self.q.done(item)
        assert self.owed <= seen


TestQueueMachine = QueueMachine.TestCase
TestQueueMachine.settings = settings(max_examples=30, stateful_step_count=30, deadline=None)


@given(st.lists(st.integers(0, 20)))
def test_len_is_number_of_distinct_items(items):
    q = Queue()
    for item in items:
        q.add(item)
    assert len(q) == len(set(items))
