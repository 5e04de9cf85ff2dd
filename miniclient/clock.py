"""Clocks that the queues, reflector and leader election read instead of the wall.

Mirrors k8s.io/utils/clock (Clock, RealClock) and clock/testing (FakeClock).
`now()` is seconds on a monotonic scale; `sleep()` is awaitable. FakeClock only
moves when a test calls `step()`, which wakes every sleeper whose deadline passed,
so timer-driven code runs deterministically without real waiting.
Omitted: Ticker and Timer objects (the callers use sleep loops).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from typing import Protocol

__all__ = ["Clock", "RealClock", "FakeClock"]


class Clock(Protocol):
    """What the cores need from time: a reading and a way to wait."""

    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class RealClock:
    """The event loop's monotonic clock."""

    def now(self) -> float:
        return asyncio.get_running_loop().time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class FakeClock:
    """A clock that only advances by step(); sleepers wake in deadline order."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._seq = itertools.count()
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []

    def now(self) -> float:
        return self._now

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._now + seconds, next(self._seq), fut))
        await fut

    def has_waiters(self) -> bool:
        return any(not f.done() for _, _, f in self._sleepers)

    def step(self, seconds: float) -> None:
        """Advance time and wake every sleeper whose deadline is now due."""
        self._now += seconds
        while self._sleepers and self._sleepers[0][0] <= self._now:
            _, _, fut = heapq.heappop(self._sleepers)
            if not fut.done():
                fut.set_result(None)
