"""Futures keyed by request ID and by applied index.

Mirrors etcd pkg/wait/wait.go (Wait: Register/Trigger by ID) and
wait_time.go (WaitTime: wake everyone waiting for an index <= the applied one).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools


class Wait:
    def __init__(self) -> None:
        self.m: dict[int, asyncio.Future] = {}

    def register(self, rid: int) -> asyncio.Future:
        fut = asyncio.get_running_loop().create_future()
        self.m[rid] = fut
        return fut

    def trigger(self, rid: int, value: object) -> None:
        fut = self.m.pop(rid, None)
        if fut is not None and not fut.done():
            fut.set_result(value)

    def fail(self, rid: int, exc: BaseException) -> None:
        fut = self.m.pop(rid, None)
        if fut is not None and not fut.done():
            fut.set_exception(exc)

    def cancel(self, rid: int) -> None:
        self.m.pop(rid, None)

    def is_registered(self, rid: int) -> bool:
        return rid in self.m


class WaitTime:
    def __init__(self) -> None:
        self.heap: list[tuple[int, int, asyncio.Future]] = []
        self.last = 0
        self.seq = itertools.count()

    def wait(self, index: int) -> asyncio.Future:
        fut = asyncio.get_running_loop().create_future()
        if index <= self.last:
            fut.set_result(None)
        else:
            heapq.heappush(self.heap, (index, next(self.seq), fut))
        return fut

    def trigger(self, index: int) -> None:
        self.last = max(self.last, index)
        while self.heap and self.heap[0][0] <= self.last:
            _, _, fut = heapq.heappop(self.heap)
            if not fut.done():
                fut.set_result(None)
