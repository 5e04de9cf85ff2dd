"""Delaying queue over a fake clock, and the rate limiters (default_rate_limiters_test.go)."""

from __future__ import annotations

import asyncio

from hypothesis import given
from hypothesis import strategies as st

from miniclient.clock import FakeClock
from miniclient.workqueue import (
    BucketRateLimiter,
    DelayingQueue,
    ItemExponentialFailureRateLimiter,
    ItemFastSlowRateLimiter,
    MaxOfRateLimiter,
    RateLimitingQueue,
    default_controller_rate_limiter,
)


@given(
    base=st.floats(0.001, 1.0),
    cap=st.floats(1.0, 1000.0),
    failures=st.integers(0, 80),
)
def test_exponential_backoff_doubles_per_failure_up_to_the_cap(base, cap, failures):
    limiter = ItemExponentialFailureRateLimiter(base, cap)
    delays = [limiter.when("k") for _ in range(failures + 1)]
    assert delays == [min(base * 2**n, cap) for n in range(failures + 1)]
    assert limiter.num_requeues("k") == failures + 1
    # Another item has its own history, and forget starts over.
    assert limiter.when("other") == base
    limiter.forget("k")
    assert limiter.when("k") == base


def test_fast_slow_switches_after_max_fast_attempts():
    limiter = ItemFastSlowRateLimiter(0.005, 10.0, 3)
    assert [limiter.when("a") for _ in range(5)] == [0.005, 0.005, 0.005, 10.0, 10.0]


@given(qps=st.floats(1.0, 100.0), burst=st.integers(1, 20), n=st.integers(1, 60))
def test_bucket_allows_burst_then_spaces_by_one_over_qps(qps, burst, n):
    clock = FakeClock()
    limiter = BucketRateLimiter(qps, burst, clock.now)
    delays = [limiter.when(i) for i in range(n)]
    for i, delay in enumerate(delays):
        expected = 0.0 if i < burst else (i - burst + 1) / qps
        assert abs(delay - expected) < 1e-9


def test_bucket_refills_with_time():
    clock = FakeClock()
    limiter = BucketRateLimiter(10.0, 2, clock.now)
    assert [limiter.when(i) for i in range(3)] == [0.0, 0.0, 0.1]
    clock.step(10.0)
    assert limiter.when("x") == 0.0


def test_default_controller_limiter_is_max_of_item_and_overall():
    clock = FakeClock()
    limiter = default_controller_rate_limiter(clock.now)
    assert isinstance(limiter, MaxOfRateLimiter)
    assert [limiter.when("a") for _ in range(4)] == [0.005, 0.01, 0.02, 0.04]
    # The overall bucket (10 qps, burst 100) takes over once the burst is spent.
    delays = [limiter.when(i) for i in range(100)]
    assert abs(delays[-1] - 0.4) < 1e-9


def test_delaying_queue_releases_items_when_due_and_earliest_wins():
    clock = FakeClock()
    q = DelayingQueue(clock=clock)
    q.add_after("a", 10)
    q.add_after("b", 5)
    q.add_after("a", 2)
    q.add_after("b", 50)
    assert q.waiting() == 2
    assert q.get_nowait() == (None, False)
    clock.step(2)
    assert q.get_nowait() == ("a", False)
    clock.step(2.9)
    assert q.get_nowait() == (None, False)
    clock.step(0.1)
    assert q.get_nowait() == ("b", False)
    assert q.waiting() == 0


def test_delaying_get_sleeps_until_deadline_on_the_clock():
    async def main():
        clock = FakeClock()
        q = DelayingQueue(clock=clock)
        q.add_after("x", 1.0)
        getter = asyncio.ensure_future(q.get())
        for _ in range(5):
            await asyncio.sleep(0)
        assert not getter.done()
        clock.step(1.0)
        assert await asyncio.wait_for(getter, 5) == ("x", False)

    asyncio.run(main())


@given(st.lists(st.booleans(), min_size=1, max_size=12))
def test_rate_limited_retries_back_off_as_specified(outcomes):
    """Each failure waits base*2**n on the clock; a success forgets the history."""
    clock = FakeClock()
    limiter = ItemExponentialFailureRateLimiter(0.01, 1.0)
    q = RateLimitingQueue(limiter, clock=clock)
    q.add("key")
    failures = 0
    for failed in outcomes:
        item, _ = q.get_nowait()
        assert item == "key"
        if failed:
            q.add_rate_limited(item)
            q.done(item)
            wait = min(0.01 * 2**failures, 1.0)
            failures += 1
            assert q.num_requeues("key") == failures
            clock.step(wait * 0.999)
            assert q.get_nowait() == (None, False)
            clock.step(wait * 0.002)
        else:
            q.forget(item)
            q.done(item)
            failures = 0
            assert q.num_requeues("key") == 0
            q.add("key")
    assert q.metrics.retries_total == sum(outcomes)
