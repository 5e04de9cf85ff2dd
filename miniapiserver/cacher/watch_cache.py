"""The watch cache: the current objects of one resource plus a ring of recent events.

Mirrors k8s.io/apiserver/pkg/storage/cacher/watch_cache.go (watchCache:
processEvent, the cyclic buffer `cache` with startIndex/endIndex and its
resizeCacheLocked, GetAllEventsSince, List/WaitUntilFreshAndList, the store elements'
precomputed labels and fields) and watch_cache_interval.go.
Pure: events go in through `process_event`/`replace` (with the caller's clock reading),
reads come out; no I/O. A watch from a revision older than the ring's first event gets the
410 "too old resource version" error, exactly as upstream. The ring also
answers exact-revision lists (store_snapshotter.go's role): the state at any
revision from `oldest_rv()` on is the current state with the later events
undone, so a LIST and a WATCH at the same revision get the same verdict.
The ring grows (doubling, up to UPPER_BOUND_CAPACITY) while it would drop events younger
than EVENT_FRESH_DURATION and shrinks back when a quarter of it is older, as upstream's
dynamic sizing does: a busy resource keeps enough history for watchers to resume.
Omitted: indexers (lists filter the precomputed attributes instead).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from miniapiserver.storage import errors
from miniapiserver.storage.interfaces import ADDED, DELETED, MODIFIED, Event, Obj

EVENT_FRESH_DURATION = 75.0  # seconds (eventFreshDuration)
UPPER_BOUND_CAPACITY = 100 * 1024  # upperBoundCapacity

Attrs = tuple[dict[str, str], dict[str, str]]


@dataclass(frozen=True)
class CacheEvent:
    """watchCacheEvent: the event, the object before it, and the key it touched."""

    type: str
    key: str
    object: Obj
    prev_object: Obj | None
    rv: int
    # Serializations of `object`, filled by the first watcher that writes it.
    cache: dict[str, bytes] = field(default_factory=dict, compare=False)
    # (labels, fields) of `object` (key False) and `prev_object` (key True), computed by
    # the first watcher whose selector needs them (ObjLabels/ObjFields upstream).
    attrs: dict[bool, Attrs] = field(default_factory=dict, compare=False)
    record_time: float = field(default=0.0, compare=False)
    # The watch.Event values made from it, by type: one per type for all its watchers.
    shared: dict[str, Event] = field(default_factory=dict, compare=False)


class WatchCache:
    """Objects by key at `resource_version`, and the last `capacity` events."""

    def __init__(self, capacity: int = 1000, upper_bound: int = 0) -> None:
        """upper_bound: how far the ring may grow (UPPER_BOUND_CAPACITY upstream); 0: fixed."""
        self.capacity = self.lower_bound = capacity
        self.upper_bound = max(upper_bound, capacity)
        self.store: dict[str, Obj] = {}
        # Per key, the attrs dict of the last event that wrote it: attrs[False] are the
        # stored object's (labels, fields) once someone computed them (storeElement).
        self.element_attrs: dict[str, dict[bool, Attrs]] = {}
        self.events: deque[CacheEvent] = deque(maxlen=capacity)
        self.resource_version = 0
        # The oldest revision the ring can replay from: events after it are all kept.
        self.list_resource_version = 0

    def replace(self, objects: dict[str, Obj], rv: int) -> None:
        """A fresh LIST: the ring starts over at its revision (watchCache.Replace)."""
        self.store = dict(objects)
        self.element_attrs = {}
        self.events = deque(maxlen=self.capacity)
        self.resource_version = rv
        self.list_resource_version = rv

    def process_event(self, kind: str, key: str, obj: Obj, rv: int, now: float = 0.0) -> CacheEvent:
        """Apply one event from the store to the objects and append it to the ring.

        now is the caller's clock when the event arrived (its RecordTime), for resizing.
        """
        prev = self.store.get(key)
        event = CacheEvent(kind, key, obj, prev, rv, record_time=now)
        old_attrs = self.element_attrs.pop(key, {})
        if False in old_attrs:
            event.attrs[True] = old_attrs[False]  # the previous object's, already computed
            if kind == DELETED:
                event.attrs[False] = old_attrs[False]  # a delete carries the last state
        if kind == DELETED:
            self.store.pop(key, None)
        else:
            self.store[key] = obj
            self.element_attrs[key] = event.attrs
            if prev is None:
                event = CacheEvent(ADDED, key, obj, None, rv, attrs=event.attrs, record_time=now)
            elif kind == ADDED:
                event = CacheEvent(MODIFIED, key, obj, prev, rv, attrs=event.attrs, record_time=now)
        self._resize(now)
        full = len(self.events) == self.capacity
        self.events.append(event)  # a full deque drops its oldest event
        if full:
            # Remembered for when the ring grows and is no longer full.
            self.list_resource_version = self.events[0].rv - 1
        self.resource_version = max(self.resource_version, rv)
        return event

    def _resize(self, now: float) -> None:
        """resizeCacheLocked: grow while fresh events would be dropped, shrink when stale."""
        if len(self.events) < self.capacity or not now:
            return
        if now - self.events[0].record_time < EVENT_FRESH_DURATION:
            capacity = min(self.capacity * 2, self.upper_bound)
        elif now - self.events[-(self.capacity // 4) or -1].record_time > EVENT_FRESH_DURATION:
            capacity = max(self.capacity // 2, self.lower_bound)
        else:
            return
        if capacity != self.capacity:
            # Shrinking keeps the newest events; the oldest revision moves up with them.
            kept = list(self.events)[-capacity:]
            if len(kept) < len(self.events):
                self.list_resource_version = kept[0].rv - 1
            self.capacity = capacity
            self.events = deque(kept, maxlen=capacity)

    def object_attrs(self, key: str, obj: Obj, get_attrs: Callable[[Obj], Attrs]) -> Attrs:
        """The stored object's (labels, fields), computed at most once per version."""
        holder = self.element_attrs.setdefault(key, {})
        attrs = holder.get(False)
        if attrs is None:
            attrs = holder[False] = get_attrs(obj)
        return attrs

    def bump(self, rv: int) -> None:
        """The store is known to be at rv with no change to this resource (a progress notify)."""
        self.resource_version = max(self.resource_version, rv)

    def oldest_rv(self) -> int:
        """The revision a watch may start from at the earliest."""
        if len(self.events) == self.capacity:
            return self.events[0].rv - 1
        return self.list_resource_version

    def not_fresh(self, rv: int) -> bool:
        """notFresh: the cache has not yet seen revision rv."""
        return rv > self.resource_version

    def can_serve_exact(self, rv: int) -> bool:
        """CanServeExactRV: rv lies between the oldest replayable revision and now."""
        return self.oldest_rv() <= rv <= self.resource_version

    def list_at(self, rv: int, prefix: str = "") -> list[tuple[str, Obj]]:
        """The (key, object) pairs under prefix as they were at revision rv, by key.

        Walks the ring backwards undoing every event newer than rv: an event with no
        previous object was a creation (undo: remove), any other restores prev_object.
        The caller checks can_serve_exact(rv) first.
        """
        state = {k: o for k, o in self.store.items() if k.startswith(prefix)}
        for ev in reversed(self.events):
            if ev.rv <= rv:
                break
            if not ev.key.startswith(prefix):
                continue
            if ev.prev_object is None:
                state.pop(ev.key, None)
            else:
                state[ev.key] = ev.prev_object
        return sorted(state.items())

    def events_since(self, rv: int) -> list[CacheEvent]:
        """GetAllEventsSince: rv 0 replays the current objects as ADDED events."""
        if rv == 0:
            return [
                CacheEvent(
                    ADDED, key, obj, None, self.resource_version,
                    attrs=self.element_attrs.setdefault(key, {}),
                )
                for key, obj in sorted(self.store.items())
            ]  # fmt: skip
        oldest = self.oldest_rv()
        if rv < oldest:
            raise errors.too_old_resource_version(rv, oldest)
        return [e for e in self.events if e.rv > rv]

    def list(self, prefix: str = "") -> list[Obj]:
        """The current objects under a key prefix, sorted by key like an etcd range."""
        return [obj for _, obj in self.list_pairs(prefix)]

    def list_pairs(self, prefix: str = "") -> list[tuple[str, Obj]]:
        """(key, object) under a key prefix, sorted by key."""
        return sorted((k, o) for k, o in self.store.items() if k.startswith(prefix))

    def get(self, key: str) -> Obj | None:
        return self.store.get(key)
