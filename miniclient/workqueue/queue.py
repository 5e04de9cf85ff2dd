"""The deduplicating work queue every controller drains.

Mirrors k8s.io/client-go/util/workqueue/queue.go (Type, New, Add, Get, Done,
ShutDown, ShutDownWithDrain). Contract: an item is in the queue at most once
(the `dirty` set), and never handed to two workers at once (the `processing`
set): an item added while it is processed is queued again only when `done()`
is called for it. `get_nowait()` is the pure core; `get()` awaits it.
Omitted: the Go generics, the configurable Queue interface (a list is the queue).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Hashable

from miniclient.workqueue.metrics import QueueMetrics

__all__ = ["Queue"]


class Queue:
    """FIFO of distinct items with the dirty/processing bookkeeping of workqueue.Type."""

    def __init__(self, name: str = "", now: Callable[[], float] | None = None) -> None:
        self.name = name
        self._queue: deque[Hashable] = deque()
        # Items that need processing (queued, or re-added while processing).
        self._dirty: set[Hashable] = set()
        # Items handed out by get() and not yet done().
        self._processing: set[Hashable] = set()
        self._shutting_down = False
        self._changed = asyncio.Event()
        self.metrics = QueueMetrics(name, now or (lambda: 0.0))

    def add(self, item: Hashable) -> None:
        """Mark item as needing processing; duplicates collapse."""
        if self._shutting_down or item in self._dirty:
            return
        self.metrics.add(item)
        self._dirty.add(item)
        if item in self._processing:
            # done() will requeue it: a second worker must not see it now.
            return
        self._queue.append(item)
        self._changed.set()

    def __len__(self) -> int:
        return len(self._queue)

    def get_nowait(self) -> tuple[Hashable | None, bool]:
        """(item, shutdown): the next item or None when empty; shutdown once drained."""
        if not self._queue:
            return None, self._shutting_down
        item = self._queue.popleft()
        self.metrics.get(item)
        self._processing.add(item)
        self._dirty.discard(item)
        return item, False

    async def get(self) -> tuple[Hashable | None, bool]:
        """Block until an item is available or the queue is shut down."""
        while True:
            item, shutdown = self.get_nowait()
            if item is not None or shutdown:
                return item, shutdown
            self._changed.clear()
            await self._changed.wait()

    def done(self, item: Hashable) -> None:
        """The worker finished item; if it was re-added meanwhile, queue it again."""
        self.metrics.done(item)
        self._processing.discard(item)
        if item in self._dirty:
            self._queue.append(item)
        self._changed.set()

    def shut_down(self) -> None:
        """Stop accepting adds; get() returns shutdown once the queue is empty."""
        self._shutting_down = True
        self._changed.set()

    async def shut_down_with_drain(self) -> None:
        """Shut down and wait until every item in processing is done."""
        self.shut_down()
        while self._processing:
            self._changed.clear()
            await self._changed.wait()

    def shutting_down(self) -> bool:
        return self._shutting_down

    def processing(self) -> frozenset[Hashable]:
        return frozenset(self._processing)
