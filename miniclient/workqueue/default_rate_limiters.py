"""Rate limiters that decide how long a failed item waits before its retry.

Mirrors k8s.io/client-go/util/workqueue/default_rate_limiters.go
(ItemExponentialFailureRateLimiter, BucketRateLimiter over golang.org/x/time/rate,
ItemFastSlowRateLimiter, MaxOfRateLimiter, DefaultControllerRateLimiter).
Pure: `when(item)` returns a delay in seconds; the bucket reads an injected clock.
Omitted: WithMaxWaitRateLimiter.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Protocol

__all__ = [
    "RateLimiter",
    "ItemExponentialFailureRateLimiter",
    "ItemFastSlowRateLimiter",
    "BucketRateLimiter",
    "MaxOfRateLimiter",
    "default_controller_rate_limiter",
]


class RateLimiter(Protocol):
    """when: the delay before item may be retried; forget: reset its history."""

    def when(self, item: Hashable) -> float: ...

    def forget(self, item: Hashable) -> None: ...

    def num_requeues(self, item: Hashable) -> int: ...


class ItemExponentialFailureRateLimiter:
    """base * 2**failures per item, capped at max_delay (the n-th retry waits base*2**n)."""

    def __init__(self, base_delay: float, max_delay: float) -> None:
        self.base_delay = base_delay
        self.max_delay = max_delay
        self._failures: dict[Hashable, int] = {}

    def when(self, item: Hashable) -> float:
        exp = self._failures.get(item, 0)
        self._failures[item] = exp + 1
        # Past 2**62 the product overflows int64 upstream; the cap applies there too.
        if exp > 62:
            return self.max_delay
        return min(self.base_delay * (2**exp), self.max_delay)

    def num_requeues(self, item: Hashable) -> int:
        return self._failures.get(item, 0)

    def forget(self, item: Hashable) -> None:
        self._failures.pop(item, None)


class ItemFastSlowRateLimiter:
    """fast_delay for the first max_fast_attempts retries of an item, slow_delay after."""

    def __init__(self, fast_delay: float, slow_delay: float, max_fast_attempts: int) -> None:
        self.fast_delay = fast_delay
        self.slow_delay = slow_delay
        self.max_fast_attempts = max_fast_attempts
        self._failures: dict[Hashable, int] = {}

    def when(self, item: Hashable) -> float:
        self._failures[item] = self._failures.get(item, 0) + 1
        if self._failures[item] <= self.max_fast_attempts:
            return self.fast_delay
        return self.slow_delay

    def num_requeues(self, item: Hashable) -> int:
        return self._failures.get(item, 0)

    def forget(self, item: Hashable) -> None:
        self._failures.pop(item, None)


class BucketRateLimiter:
    """An overall token bucket (qps, burst) shared by all items, like rate.Limiter.Reserve."""

    def __init__(self, qps: float, burst: int, now: Callable[[], float]) -> None:
        self.qps = qps
        self.burst = burst
        self._now = now
        self._tokens = float(burst)
        self._last: float | None = None

    def when(self, item: Hashable) -> float:
        now = self._now()
        if self._last is not None and now > self._last:
            self._tokens = min(float(self.burst), self._tokens + (now - self._last) * self.qps)
        self._last = max(now, self._last if self._last is not None else now)
        self._tokens -= 1.0
        # A reservation taken on credit: the caller waits until the debt is repaid.
        return 0.0 if self._tokens >= 0 else -self._tokens / self.qps

    def num_requeues(self, item: Hashable) -> int:
        return 0

    def forget(self, item: Hashable) -> None:
        return None


class MaxOfRateLimiter:
    """The longest delay any of its limiters asks for; forget resets all of them."""

    def __init__(self, *limiters: RateLimiter) -> None:
        self.limiters = limiters

    def when(self, item: Hashable) -> float:
        return max(limiter.when(item) for limiter in self.limiters)

    def num_requeues(self, item: Hashable) -> int:
        return max(limiter.num_requeues(item) for limiter in self.limiters)

    def forget(self, item: Hashable) -> None:
        for limiter in self.limiters:
            limiter.forget(item)


def default_controller_rate_limiter(now: Callable[[], float]) -> MaxOfRateLimiter:
    """5ms..1000s per-item exponential, and 10 qps / 100 burst overall (upstream's defaults)."""
    return MaxOfRateLimiter(
        ItemExponentialFailureRateLimiter(0.005, 1000.0),
        BucketRateLimiter(10.0, 100, now),
    )
