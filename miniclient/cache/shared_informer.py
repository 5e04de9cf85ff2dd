"""SharedIndexInformer: one list+watch per resource, fanned out to many handlers.

Mirrors k8s.io/client-go/tools/cache/shared_informer.go (sharedIndexInformer,
sharedProcessor, processorListener with its unbounded buffer, per-handler
resync periods, HasSynced, WaitForCacheSync). The reflector fills a DeltaFIFO
whose knownObjects is the informer's Indexer; popping it updates the Indexer
first, then notifies every listener, each draining its own queue so a slow
handler never stalls the others.
Contract: the Indexer's history for a key is a subsequence of the server's,
and it equals the server's state once events stop.
Omitted: SetWatchErrorHandler, SetTransform, handler removal.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

from miniclient.cache.controller import ResourceEventHandler, process_deltas
from miniclient.cache.delta_fifo import SYNC, Delta, DeltaFIFO
from miniclient.cache.index import NAMESPACE_INDEX, Indexers, meta_namespace_index_func
from miniclient.cache.reflector import ListerWatcher, Reflector
from miniclient.cache.store import Store, deletion_handling_meta_namespace_key_func
from miniclient.clock import Clock, RealClock

__all__ = ["SharedIndexInformer", "wait_for_cache_sync"]

# Handlers may not ask for resyncs faster than this (upstream's minimumResyncPeriod).
MINIMUM_RESYNC_PERIOD = 1.0


class ProcessorListener:
    """One handler, its pending notifications, and its resync schedule."""

    def __init__(self, handler: ResourceEventHandler, resync_period: float, now: float) -> None:
        self.handler = handler
        self.resync_period = resync_period
        self.next_resync = now + resync_period
        self.pending: asyncio.Queue[tuple[str, Any, Any]] = asyncio.Queue()

    def add(self, kind: str, a: Any, b: Any = None) -> None:
        self.pending.put_nowait((kind, a, b))

    async def run(self) -> None:
        while True:
            kind, a, b = await self.pending.get()
            if kind == "add":
                self.handler.on_add(a, b)
            elif kind == "update":
                self.handler.on_update(a, b)
            else:
                self.handler.on_delete(a)
            self.pending.task_done()


class _Distributor:
    """The ResourceEventHandler the informer gives process_deltas: fan out to listeners."""

    def __init__(self, informer: SharedIndexInformer) -> None:
        self.informer = informer
        self.is_sync = False

    def on_add(self, obj: Any, is_in_initial_list: bool) -> None:
        for listener in self.informer.listeners:
            listener.add("add", obj, is_in_initial_list)

    def on_update(self, old: Any, new: Any) -> None:
        # A resync reaches only the listeners whose own resync is due.
        targets = self.informer.syncing_listeners if self.is_sync else self.informer.listeners
        for listener in targets:
            listener.add("update", old, new)

    def on_delete(self, obj: Any) -> None:
        for listener in self.informer.listeners:
            listener.add("delete", obj)


class SharedIndexInformer:
    """A shared, indexed cache of one resource plus its event handlers."""

    def __init__(
        self,
        lister_watcher: ListerWatcher,
        resync_period: float = 0.0,
        indexers: Indexers | None = None,
        name: str = "informer",
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.lister_watcher = lister_watcher
        self.resync_check_period = resync_period
        self.default_resync_period = resync_period
        self.name = name
        self.clock: Clock = clock or RealClock()
        self.rng = rng or random.Random()
        all_indexers = {NAMESPACE_INDEX: meta_namespace_index_func, **(indexers or {})}
        self.indexer = Store(deletion_handling_meta_namespace_key_func, all_indexers)
        self.fifo = DeltaFIFO(known_objects=self.indexer)
        self.reflector: Reflector | None = None
        self.listeners: list[ProcessorListener] = []
        self.syncing_listeners: list[ProcessorListener] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._distributor = _Distributor(self)
        self.started = False

    def add_event_handler(
        self, handler: ResourceEventHandler, resync_period: float | None = None
    ) -> ProcessorListener:
        """Register handler; if already running, it first hears an add for every cached object."""
        period = self.default_resync_period if resync_period is None else resync_period
        if period:
            period = max(period, MINIMUM_RESYNC_PERIOD)
            faster = self.resync_check_period == 0 or period < self.resync_check_period
            if faster and not self.started:
                self.resync_check_period = period
        listener = ProcessorListener(handler, period, self.clock.now())
        self.listeners.append(listener)
        if self.started:
            for obj in self.indexer.list():
                listener.add("add", obj, True)
            self._tasks.append(asyncio.ensure_future(listener.run()))
        return listener

    def get_store(self) -> Store:
        return self.indexer

    def get_indexer(self) -> Store:
        return self.indexer

    def add_indexers(self, indexers: Indexers) -> None:
        self.indexer.add_indexers(indexers)

    def has_synced(self) -> bool:
        return self.fifo.has_synced()

    def last_sync_resource_version(self) -> str:
        return self.reflector.last_sync_resource_version if self.reflector else ""

    def _should_resync(self) -> None:
        now = self.clock.now()
        self.syncing_listeners = []
        for listener in self.listeners:
            if listener.resync_period and now >= listener.next_resync:
                self.syncing_listeners.append(listener)
                listener.next_resync = now + listener.resync_period

    def handle_deltas(self, deltas: list[Delta], is_in_initial_list: bool) -> None:
        self._distributor.is_sync = deltas[-1].type == SYNC
        process_deltas(self._distributor, self.indexer, deltas, is_in_initial_list)

    def _resync(self) -> None:
        self._should_resync()
        if self.syncing_listeners:
            self.fifo.resync()

    async def _process_loop(self) -> None:
        while True:
            await self.fifo.pop(self.handle_deltas)

    def run(self) -> None:
        """Start the reflector, the pop loop and every listener (as asyncio tasks)."""
        if self.started:
            return
        self.started = True
        self.reflector = Reflector(
            self.lister_watcher,
            self.fifo,
            name=self.name,
            resync_period=self.resync_check_period,
            clock=self.clock,
            rng=self.rng,
        )
        # The reflector asks the informer (not the FIFO directly) so per-listener periods apply.
        self.reflector.store = _ResyncGate(self.fifo, self._resync)
        loops = [self.reflector.run(), self._process_loop(), *(x.run() for x in self.listeners)]
        self._tasks.extend(asyncio.ensure_future(c) for c in loops)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    async def wait_idle(self) -> None:
        """Wait until every notification already queued has been handled."""
        for listener in self.listeners:
            await listener.pending.join()


class _ResyncGate:
    """The FIFO as the reflector sees it, with resync routed through the informer."""

    def __init__(self, fifo: DeltaFIFO, resync: Any) -> None:
        self.fifo = fifo
        self.add, self.update, self.delete = fifo.add, fifo.update, fifo.delete
        self.replace = fifo.replace
        self.resync = resync


async def wait_for_cache_sync(*informers: SharedIndexInformer, period: float = 0.05) -> bool:
    """Poll until every informer has synced (cancel the caller to give up)."""
    while not all(i.has_synced() for i in informers):
        await asyncio.sleep(period)
    return True
