"""Cacher: one store watch per resource, fanned out to many API watchers.

Mirrors k8s.io/apiserver/pkg/storage/cacher/cacher.go (Cacher, startCaching,
dispatchEvent, Watch, GetList served at resourceVersion=0) and the bookmark timer; each
watcher is a cache_watcher.py CacheWatcher (bounded buffer, per-watcher filter,
termination of a watcher that cannot keep up). The reflector lists the resource from
etcd, replaces the WatchCache and watches from the list revision; when that watch breaks
(or is compacted away) it terminates every watcher and lists again. A full watcher
buffer terminates that watcher only; its client re-lists, the rest go on.
Reads at a revision wait for the cache to reach it (waitUntilFreshAndBlock);
which LISTs the cache serves is delegator.py's decision. An event goes only to the
watchers its indexed trigger selects (indexed_watchers.py: a pod event reaches the
kubelet of its node, not all of them); each event's selectable fields are computed once
and shared by its watchers, as are the watch.Event value and its serializations
(caching_object.go's role: handlers/watch_encoder.py encodes an event once per encoding).
Omitted: the dispatch timeout budget (a full buffer ends the watcher at once), watch-list
(sendInitialEvents), consistent reads from cache.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from miniapiserver import metrics
from miniapiserver.cacher.cache_watcher import CacheWatcher, GetAttrs, filter_event, key_matches
from miniapiserver.cacher.delegator import should_delegate_list
from miniapiserver.cacher.indexed_watchers import (
    COLLECTION,
    IndexedTrigger,
    IndexedWatchers,
    trigger_values,
)
from miniapiserver.cacher.watch_cache import CacheEvent, WatchCache
from miniapiserver.storage import errors
from miniapiserver.storage.continue_token import decode_continue, encode_continue
from miniapiserver.storage.etcd3_store import ListResult, Store
from miniapiserver.storage.interfaces import (
    BOOKMARK,
    EVERYTHING,
    Event,
    Obj,
    SelectionPredicate,
)

log = logging.getLogger(__name__)

BLOCK_TIMEOUT = 3.0  # watch_cache.go's blockTimeout
PROGRESS_RETRY = 0.5  # seconds between progress requests while a read waits for the cache


class Cacher:
    """The watch cache of one resource (keys `<resource>/...`) and its watchers."""

    def __init__(
        self,
        storage: Store,
        resource_prefix: str,
        key_func: Callable[[Obj], str],
        capacity: int = 1000,
        watcher_buffer: int = 1000,
        bookmark_interval: float = 60.0,
        indexed_trigger: IndexedTrigger | None = None,
        get_attrs: GetAttrs | None = None,
        upper_bound_capacity: int = 0,
    ) -> None:
        """capacity is the ring's size; it grows up to upper_bound_capacity (0: fixed)."""
        self.storage = storage
        self.indexed_trigger = indexed_trigger
        # The resource's GetAttrs (labels and every selectable field), run once per event.
        self.get_attrs = get_attrs
        self.resource_prefix = resource_prefix.strip("/") + "/"
        self.key_func = key_func
        self.cache = WatchCache(capacity, upper_bound_capacity)
        self.watcher_buffer = watcher_buffer
        self.bookmark_interval = bookmark_interval
        self.watchers = IndexedWatchers()
        self.ready = asyncio.Event()
        self._changed = asyncio.Condition()
        self._progress: asyncio.Queue[None] = asyncio.Queue()
        self._tasks: list[asyncio.Task] = []

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._reflect(), name=f"cacher {self.resource_prefix}"),
            asyncio.create_task(self._bookmarks(), name=f"bookmarks {self.resource_prefix}"),
        ]

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self.terminate_all_watchers()

    def terminate_all_watchers(self) -> None:
        for w in list(self.watchers):
            w.stop()
        self.watchers.clear()

    async def _reflect(self) -> None:
        while True:
            self.terminate_all_watchers()
            self.ready.clear()
            try:
                listed = await self.storage.get_list(self.resource_prefix)
                objects = {self.key_func(o): o for o in listed.items}
                self.cache.replace(objects, listed.resource_version)
                self.ready.set()
                await self._notify()
                events = self.storage.watch(
                    self.resource_prefix, listed.resource_version, progress=self._progress
                )
                async for ev in events:
                    if ev.type == BOOKMARK:
                        self.cache.bump(ev.rv)
                        self._send_bookmarks()
                    else:
                        key = self.key_func(ev.object)
                        now = asyncio.get_running_loop().time()
                        self.dispatch(self.cache.process_event(ev.type, key, ev.object, ev.rv, now))
                    await self._notify()
            except asyncio.CancelledError:
                raise
            except Exception as e:  # the store went away or compacted: list again
                log.warning("watch cache of %s restarts: %s", self.resource_prefix, e)
                await asyncio.sleep(0.2)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def dispatch(self, ev: CacheEvent) -> None:
        """dispatchEvent: the event to the watchers its trigger values select."""
        values = None
        if self.indexed_trigger is not None:
            values = trigger_values(self.indexed_trigger, ev.object, ev.prev_object)
        for w in self.watchers.watchers_for(ev.key, values):
            w.add(ev)
            if w.stopped:
                self.watchers.discard(w)

    async def _bookmarks(self) -> None:
        """Ask the store for progress now and then; its answer becomes bookmarks."""
        while True:
            await asyncio.sleep(self.bookmark_interval)
            if any(w.pred.allow_watch_bookmarks for w in self.watchers) and self._progress.empty():
                self._progress.put_nowait(None)

    def _send_bookmarks(self) -> None:
        for w in list(self.watchers):
            w.bookmark(self.cache.resource_version)

    async def wait_until_fresh_and_block(self, rv: int, timeout: float = BLOCK_TIMEOUT) -> None:
        """waitUntilFreshAndBlock: wait up to 3 s for the cache to reach rv.

        Still behind after that: the storage TooLargeResourceVersion error, which the
        registry turns into upstream's 504 Timeout with retryAfterSeconds 1.
        """
        await asyncio.wait_for(self.ready.wait(), timeout=30)
        if self.cache.resource_version >= rv:
            return
        # Ask for a progress notification, which moves the cache to the store's revision
        # (RequestWatchProgress); an old etcd's answer is dropped while events are queued
        # (etcd3_watcher.py), so ask again now and then.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.cache.resource_version < rv:
            left = deadline - loop.time()
            if left <= 0:
                raise errors.too_large_resource_version(rv, self.cache.resource_version)
            if self._progress.empty():
                self._progress.put_nowait(None)
            try:
                async with self._changed:
                    await asyncio.wait_for(
                        self._changed.wait_for(lambda: self.cache.resource_version >= rv),
                        min(left, PROGRESS_RETRY),
                    )
            except TimeoutError:
                continue

    async def watch(self, key: str, rv: int, pred: SelectionPredicate = EVERYTHING) -> CacheWatcher:
        """A watcher from rv (0: the current objects as ADDED first).

        key is "pods/ns/" (a collection, trailing slash) or "pods/ns/name" (one object).
        """
        await self.wait_until_fresh_and_block(rv)
        initial: list[Event] = []
        for ev in self.cache.events_since(rv):  # raises 410 for a revision behind the ring
            out = filter_event(ev, pred, self.get_attrs) if key_matches(key, ev.key) else None
            if out is not None:
                initial.append(out)
        w = CacheWatcher(initial, pred, key, self.watcher_buffer, self.get_attrs)
        w.last_rv = max(w.last_rv, rv if rv else self.cache.resource_version)
        self.watchers.add_watcher(w, COLLECTION if key.endswith("/") else key, self._index(pred))
        return w

    def _index(self, pred: SelectionPredicate) -> str | None:
        """The trigger value a watcher waits under, or None (it sees every event)."""
        if self.indexed_trigger is None:
            return None
        index = pred.matcher_index()
        if index is None or index[0] != self.indexed_trigger.index_name:
            return None
        return index[1]

    async def get_list(
        self, key: str, pred: SelectionPredicate = EVERYTHING, rv: str = "", match: str = ""
    ) -> ListResult:
        """GetList: from memory when delegator.py allows it, else from etcd.

        key is the collection key ("pods/ns/"). An exact revision the ring still reaches
        is rebuilt from the ring (paged like etcd, with the same continue tokens);
        NotOlderThan and Any reads wait until the cache has seen rv (waitUntilFreshAndBlock).
        """
        if not self.ready.is_set() and rv in ("", "0"):
            # Not initialized and no minimal revision asked for: etcd answers at once.
            return await self.storage.get_list(key, pred, rv, match)
        await asyncio.wait_for(self.ready.wait(), timeout=30)
        decision = should_delegate_list(rv, match, pred.limit, pred.continue_, key, self.cache)
        if decision.should_delegate:
            metrics.STORAGE_LIST.labels(self.resource_prefix.rstrip("/")).inc()
            return await self.storage.get_list(key, pred, rv, match)
        metrics.CACHE_LIST.labels(self.resource_prefix.rstrip("/"), "").inc()
        if decision.exact_rv:
            return self._list_exact(key, pred, decision.exact_rv)
        await self.wait_until_fresh_and_block(int(rv))
        return ListResult(self._filter(key, pred), self.cache.resource_version)

    def _filter(self, key: str, pred: SelectionPredicate) -> list[Obj]:
        """The cached objects under key that pass pred, over their stored attributes."""
        pairs = self.cache.list_pairs(key)
        if pred.empty():
            return [o for _, o in pairs]
        if self.get_attrs is None or pred.field is None:
            return [o for _, o in pairs if pred.matches(o)]
        attrs, get = self.cache.object_attrs, self.get_attrs
        return [o for k, o in pairs if pred.matches_attrs(*attrs(k, o, get))]

    def _list_exact(self, key: str, pred: SelectionPredicate, rv: int) -> ListResult:
        """The list at exactly rv from the ring; limit/continue page it by key like etcd."""
        start = ""
        if pred.continue_:
            start, _ = decode_continue(pred.continue_, key)
        items: list[Obj] = []
        pairs = [(k, o) for k, o in self.cache.list_at(rv, key) if k >= start]
        for i, (_, obj) in enumerate(pairs):
            if not pred.matches(obj):
                continue
            if pred.limit and len(items) >= pred.limit:
                token = encode_continue(pairs[i - 1][0] + "\x00", key, rv)
                remaining = len(pairs) - i if pred.empty() else None
                return ListResult(items, rv, token, remaining)
            items.append(obj)
        return ListResult(items, rv)

    async def get(self, key: str, rv: int = 0) -> Obj | None:
        await self.wait_until_fresh_and_block(rv)
        return self.cache.get(key.strip("/"))
