"""One API watch served from the watch cache: its filter, its buffer, its end.

Mirrors k8s.io/apiserver/pkg/storage/cacher/cache_watcher.go (cacheWatcher: the bounded
`input` buffer, add(), convertToWatchEvent, nonblockingAdd, stopLocked/forget) and the
watchCacheEvent fields it reads (ObjLabels/ObjFields, PrevObjLabels/PrevObjFields).
The dispatcher calls add() for every event the indexed watchers select; add() never
blocks: a watcher whose buffer is full is terminated (its client re-lists) so one slow
reader cannot hold up the others. What a watcher keeps per event is shared with every other
watcher that sees the same event: the object, its precomputed attributes, the watch.Event
value itself and its serializations (caching_object.go's role, see handlers/watch.py).
Omitted: the dispatch timeout budget (a full buffer ends the watcher at once) and
watch-list's initial-events-end bookmark.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

from miniapiserver.cacher.watch_cache import CacheEvent
from miniapiserver.storage.interfaces import (
    ADDED,
    BOOKMARK,
    DELETED,
    MODIFIED,
    Event,
    Obj,
    SelectionPredicate,
)

GetAttrs = Callable[[Obj], tuple[dict[str, str], dict[str, str]]]


def key_matches(prefix: str, key: str) -> bool:
    return key.startswith(prefix) if prefix.endswith("/") else key == prefix


def _passes(
    ev: CacheEvent, prev: bool, pred: SelectionPredicate, get_attrs: GetAttrs | None
) -> bool:
    """pred over the event's object (or previous object), attributes computed once per event.

    Upstream's watchCacheEvent carries ObjLabels/ObjFields and PrevObjLabels/PrevObjFields
    so that a thousand watchers do not each decode the same pod.
    """
    obj = ev.prev_object if prev else ev.object
    if obj is None:
        return False
    if pred.empty():
        return True
    if get_attrs is None or pred.field is None:
        return pred.matches(obj)  # labels only: read off the object, nothing to decode
    attrs = ev.attrs.get(prev)
    if attrs is None:
        attrs = ev.attrs[prev] = get_attrs(obj)
    return pred.matches_attrs(*attrs)


def shared_event(ev: CacheEvent, kind: str) -> Event:
    """The watch.Event of type kind for this cache event, one value for all its watchers.

    It carries the cache event's serialization cache, so the first watcher to write the
    event encodes it and every other watcher reuses those bytes.
    """
    out = ev.shared.get(kind)
    if out is None:
        out = ev.shared[kind] = Event(kind, ev.object, ev.rv, ev.cache)
    return out


def filter_event(
    ev: CacheEvent, pred: SelectionPredicate, get_attrs: GetAttrs | None = None
) -> Event | None:
    """The event a watcher with this selector sees (cacheWatcher.convertToWatchEvent).

    An object that enters the selection is ADDED for this watcher, one that leaves it
    DELETED (a copy of the previous object at the event's revision); the rest share the
    cache event's object and its serializations.
    """
    if ev.type != MODIFIED:
        return shared_event(ev, ev.type) if _passes(ev, False, pred, get_attrs) else None
    cur_ok = _passes(ev, False, pred, get_attrs)
    prev_ok = _passes(ev, True, pred, get_attrs)
    if cur_ok:
        return shared_event(ev, MODIFIED if prev_ok else ADDED)
    if prev_ok:
        # Copied: the cached previous object is shared by every watcher.
        prev = ev.prev_object or {}
        gone = {**prev, "metadata": {**prev.get("metadata", {}), "resourceVersion": str(ev.rv)}}
        return Event(DELETED, gone, ev.rv)
    return None


class CacheWatcher:
    """One API watch served from the cache: initial events, then a bounded buffer.

    The buffer is a deque plus one waiting future rather than an asyncio.Queue: the
    dispatcher appends to a hundred of these per event, so each add is kept to an append
    and, only when the reader is asleep, one wake-up.
    """

    def __init__(
        self,
        initial: list[Event],
        pred: SelectionPredicate,
        prefix: str,
        size: int,
        get_attrs: GetAttrs | None = None,
    ):
        self.initial = deque(initial)
        self.pred = pred
        self.get_attrs = get_attrs
        self.prefix = prefix  # "pods/ns/" for a collection, "pods/ns/name" for one object
        self.size = size
        self.buffer: deque[Event] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self.stopped = False  # no more events are taken; what is buffered is still read
        self.overflowed = False
        self.last_rv = initial[-1].rv if initial else 0

    def pending(self) -> int:
        """Events buffered and not yet read (the length of upstream's input channel)."""
        return len(self.buffer)

    def drain(self) -> list[Event]:
        """Every buffered event, without waiting."""
        out = list(self.buffer)
        self.buffer.clear()
        return out

    def add(self, ev: CacheEvent) -> None:
        if self.stopped or not key_matches(self.prefix, ev.key) or ev.rv <= self.last_rv:
            return
        out = filter_event(ev, self.pred, self.get_attrs)
        if out is not None:
            self._put(out)

    def bookmark(self, rv: int) -> None:
        """A bookmark when its time comes, never behind what this watcher already saw."""
        wanted = self.pred.allow_watch_bookmarks and rv >= self.last_rv and not self.initial
        if not self.stopped and wanted and len(self.buffer) < self.size - 1:
            self._put(Event(BOOKMARK, {"metadata": {"resourceVersion": str(rv)}}, rv))

    def _put(self, ev: Event) -> None:
        if len(self.buffer) >= self.size:
            # A watcher that cannot keep up is dropped rather than blocking the others.
            self.overflowed = True
            self.stop()
            return
        self.buffer.append(ev)
        self.last_rv = ev.rv
        self._wake()

    def _wake(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def stop(self) -> None:
        """Take no more events; the reader gets what is buffered, then the end."""
        if not self.stopped:
            self.stopped = True
            self._wake()

    async def _wait(self) -> bool:
        """Until something is buffered (True) or the watch has ended (False)."""
        while not self.buffer:
            if self.stopped:
                return False
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
        return True

    async def next_batch(
        self, most: int = 512, linger: float = 0.0, busy_until: float = 0.0
    ) -> list[Event]:
        """At least one event (waiting for it), plus whatever else is already buffered.

        An empty list means the watch has ended. Writing a batch at a time keeps a
        busy stream to one write per wake-up. When the first event comes before
        busy_until (a loop time), the batch waits `linger` seconds more and takes what
        gathered meanwhile.
        """
        out: list[Event] = []
        while self.initial and len(out) < most:
            out.append(self.initial.popleft())
        if out or not await self._wait():
            return out
        if linger and asyncio.get_running_loop().time() < busy_until:
            await asyncio.sleep(linger)
        buf = self.buffer
        if len(buf) <= most:
            out = list(buf)
            buf.clear()
            return out
        return [buf.popleft() for _ in range(most)]

    def __aiter__(self) -> CacheWatcher:
        return self

    async def __anext__(self) -> Event:
        if self.initial:
            return self.initial.popleft()
        if not await self._wait():
            raise StopAsyncIteration
        return self.buffer.popleft()
