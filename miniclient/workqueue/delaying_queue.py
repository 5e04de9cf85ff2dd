"""A work queue that can hold an item back until a later time.

Mirrors k8s.io/client-go/util/workqueue/delaying_queue.go (DelayingInterface,
AddAfter, the waitingForQueue heap and its dedup of waiting entries).
Upstream runs a waitingLoop goroutine; here the move of due items into the
queue is a pure step (`move_ready`) done on every get, and get() sleeps on the
injected clock until the earliest deadline or the next add.
Omitted: the heartbeat (the sleep ends exactly at the next deadline).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Hashable

from miniclient.clock import Clock, RealClock
from miniclient.workqueue.queue import Queue

__all__ = ["DelayingQueue"]


class DelayingQueue(Queue):
    """Queue plus add_after(item, seconds); an item waits at most once, at its earliest time."""

    def __init__(self, name: str = "", clock: Clock | None = None) -> None:
        self.clock: Clock = clock or RealClock()
        super().__init__(name, self._now)
        self._waiting: list[tuple[float, int, Hashable]] = []
        self._ready_at: dict[Hashable, float] = {}
        self._seq = itertools.count()

    def _now(self) -> float:
        return self.clock.now()

    def add_after(self, item: Hashable, seconds: float) -> None:
        """Add item once `seconds` have passed on the clock (now if seconds <= 0)."""
        if self.shutting_down():
            return
        if seconds <= 0:
            self.add(item)
            return
        ready_at = self.clock.now() + seconds
        known = self._ready_at.get(item)
        if known is not None and known <= ready_at:
            return
        # An earlier deadline wins; the stale heap entry is skipped when popped.
        self._ready_at[item] = ready_at
        heapq.heappush(self._waiting, (ready_at, next(self._seq), item))
        self._changed.set()

    def waiting(self) -> int:
        return len(self._ready_at)

    def move_ready(self) -> None:
        """Move every item whose time has come into the queue."""
        now = self.clock.now()
        while self._waiting and self._waiting[0][0] <= now:
            ready_at, _, item = heapq.heappop(self._waiting)
            if self._ready_at.get(item) != ready_at:
                continue
            del self._ready_at[item]
            self.add(item)

    def get_nowait(self) -> tuple[Hashable | None, bool]:
        self.move_ready()
        return super().get_nowait()

    def _next_deadline(self) -> float | None:
        while self._waiting and self._ready_at.get(self._waiting[0][2]) != self._waiting[0][0]:
            heapq.heappop(self._waiting)
        return self._waiting[0][0] if self._waiting else None

    async def get(self) -> tuple[Hashable | None, bool]:
        while True:
            item, shutdown = self.get_nowait()
            if item is not None or shutdown:
                return item, shutdown
            self._changed.clear()
            deadline = self._next_deadline()
            if deadline is None:
                await self._changed.wait()
                continue
            waits = [
                asyncio.ensure_future(self._changed.wait()),
                asyncio.ensure_future(self.clock.sleep(deadline - self.clock.now())),
            ]
            try:
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for w in waits:
                    w.cancel()
