"""The watch cache: the current objects of one resource plus a ring of recent events.

Mirrors k8s.io/apiserver/pkg/storage/cacher/watch_cache.go (watchCache:
processEvent, the cyclic buffer `cache` with startIndex/endIndex,
GetAllEventsSince, List/WaitUntilFreshAndList) and watch_cache_interval.go.
Pure: events go in through `process_event`/`replace`, reads come out; no I/O,
no clock. A watch from a revision older than the ring's first event gets the
410 "too old resource version" error, exactly as upstream. The ring also
answers exact-revision lists (store_snapshotter.go's role): the state at any
revision from `oldest_rv()` on is the current state with the later events
undone, so a LIST and a WATCH at the same revision get the same verdict.
Omitted: indexers and the capacity auto-resize.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from miniapiserver.storage import errors
from miniapiserver.storage.interfaces import ADDED, DELETED, MODIFIED, Obj


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


class WatchCache:
    """Objects by key at `resource_version`, and the last `capacity` events."""

    def __init__(self, capacity: int = 1000) -> None:
        self.capacity = capacity
        self.store: dict[str, Obj] = {}
        self.events: deque[CacheEvent] = deque(maxlen=capacity)
        self.resource_version = 0
        # The oldest revision the ring can replay from: events after it are all kept.
        self.list_resource_version = 0

    def replace(self, objects: dict[str, Obj], rv: int) -> None:
        """A fresh LIST: the ring starts over at its revision (watchCache.Replace)."""
        self.store = dict(objects)
        self.events.clear()
        self.resource_version = rv
        self.list_resource_version = rv

    def process_event(self, kind: str, key: str, obj: Obj, rv: int) -> CacheEvent:
        """Apply one event from the store to the objects and append it to the ring."""
        prev = self.store.get(key)
        if kind == DELETED:
            self.store.pop(key, None)
        else:
            self.store[key] = obj
            if prev is None:
                kind = ADDED
            elif kind == ADDED:
                kind = MODIFIED
        event = CacheEvent(kind, key, obj, prev, rv)
        self.events.append(event)  # a full deque drops its oldest event
        self.resource_version = max(self.resource_version, rv)
        return event

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
                CacheEvent(ADDED, key, obj, None, self.resource_version)
                for key, obj in sorted(self.store.items())
            ]
        oldest = self.oldest_rv()
        if rv < oldest:
            raise errors.too_old_resource_version(rv, oldest)
        return [e for e in self.events if e.rv > rv]

    def list(self, prefix: str = "") -> list[Obj]:
        """The current objects under a key prefix, sorted by key like an etcd range."""
        return [obj for key, obj in sorted(self.store.items()) if key.startswith(prefix)]

    def get(self, key: str) -> Obj | None:
        return self.store.get(key)
