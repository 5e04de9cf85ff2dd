"""Delta FIFO queue that feeds an informer.

Mirrors k8s.io/client-go/tools/cache/delta_fifo.go (DeltaFIFO, Delta, Deltas,
queueActionLocked, dedupDeltas, Replace, Resync, Pop, HasSynced).
Contract: every change is delivered at most once, per key in first-queued order;
a popped key carries every delta since its last pop, oldest first. Two
deletions in a row collapse into one (keeping the one with the real final
state), and a relist (`replace`) turns objects that vanished unseen into
Deleted deltas carrying a DeletedFinalStateUnknown tombstone; this includes
objects still waiting in the queue and not yet in knownObjects, as newer
upstream does. `pop_nowait` is the pure core; `pop` awaits it.
Omitted: the transformer hook, the list-only (no knownObjects) variants of
Get/List helpers beyond list_keys.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from miniclient.cache.store import (
    DeletedFinalStateUnknown,
    KeyFunc,
    deletion_handling_meta_namespace_key_func,
)

__all__ = [
    "ADDED",
    "DELETED",
    "REPLACED",
    "SYNC",
    "UPDATED",
    "Delta",
    "DeltaFIFO",
    "ErrRequeue",
    "FIFOClosedError",
    "KeyListerGetter",
]

ADDED = "Added"
UPDATED = "Updated"
DELETED = "Deleted"
# Replaced: the object came from a relist; Sync: from a periodic resync.
REPLACED = "Replaced"
SYNC = "Sync"


@dataclass(frozen=True)
class Delta:
    """One change to one object: its type and the object's state after it."""

    type: str
    object: Any


class KeyListerGetter(Protocol):
    """What the FIFO needs of the informer's store (its knownObjects)."""

    def list_keys(self) -> list[str]: ...

    def get_by_key(self, key: str) -> Any | None: ...


class ErrRequeue(Exception):
    """Raised by a pop process function to put the item back."""


class FIFOClosedError(Exception):
    """Pop on a closed, empty queue (upstream's ErrFIFOClosed)."""


def _is_deletion_dup(a: Delta, b: Delta) -> Delta | None:
    if a.type != DELETED or b.type != DELETED:
        return None
    # Keep the delta with the most information: a tombstone knows less.
    return a if isinstance(b.object, DeletedFinalStateUnknown) else b


def dedup_deltas(deltas: list[Delta]) -> list[Delta]:
    """Collapse the two newest deltas if they are both deletions."""
    if len(deltas) < 2:
        return deltas
    kept = _is_deletion_dup(deltas[-2], deltas[-1])
    return deltas if kept is None else [*deltas[:-2], kept]


class DeltaFIFO:
    """Keys in arrival order, each with its accumulated Deltas."""

    def __init__(
        self,
        key_function: KeyFunc = deletion_handling_meta_namespace_key_func,
        known_objects: KeyListerGetter | None = None,
        emit_delta_type_replaced: bool = True,
    ) -> None:
        self.key_function = key_function
        self.known_objects = known_objects
        self.emit_delta_type_replaced = emit_delta_type_replaced
        self.items: dict[str, list[Delta]] = {}
        self.queue: deque[str] = deque()
        self.populated = False
        self.initial_population_count = 0
        self.closed = False
        self._changed = asyncio.Event()

    def key_of(self, obj: Any) -> str:
        if isinstance(obj, list) and obj and isinstance(obj[0], Delta):
            obj = obj[-1].object
        if isinstance(obj, DeletedFinalStateUnknown):
            return obj.key
        return self.key_function(obj)

    def has_synced(self) -> bool:
        """True once the first replace (or add) has been popped completely."""
        return self.populated and self.initial_population_count == 0

    def add(self, obj: Any) -> None:
        self.populated = True
        self._queue_action(ADDED, obj)

    def update(self, obj: Any) -> None:
        self.populated = True
        self._queue_action(UPDATED, obj)

    def delete(self, obj: Any) -> None:
        """Queue a deletion, unless the object is unknown both here and in knownObjects."""
        key = self.key_of(obj)
        self.populated = True
        known = self.known_objects.get_by_key(key) if self.known_objects else None
        if known is None and key not in self.items:
            return
        self._queue_action(DELETED, obj)

    def _will_object_be_deleted(self, key: str) -> bool:
        deltas = self.items.get(key)
        return bool(deltas) and deltas[-1].type == DELETED

    def _queue_action(self, action: str, obj: Any) -> None:
        key = self.key_of(obj)
        # A sync after a pending delete would resurrect the object.
        if action == SYNC and self._will_object_be_deleted(key):
            return
        deltas = dedup_deltas([*self.items.get(key, []), Delta(action, obj)])
        if key not in self.items:
            self.queue.append(key)
        self.items[key] = deltas
        self._changed.set()

    def list_keys(self) -> list[str]:
        return list(self.items)

    def get_by_key(self, key: str) -> list[Delta] | None:
        deltas = self.items.get(key)
        return list(deltas) if deltas is not None else None

    def is_closed(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True
        self._changed.set()

    def add_if_not_present(self, deltas: list[Delta]) -> None:
        """Put popped deltas back unless newer ones arrived meanwhile."""
        key = self.key_of(deltas)
        self.populated = True
        if key in self.items:
            return
        self.queue.append(key)
        self.items[key] = list(deltas)
        self._changed.set()

    def pop_nowait(self, process: Callable[[list[Delta], bool], None]) -> list[Delta] | None:
        """Pop the oldest key, run process(deltas, is_in_initial_list); None when empty."""
        while self.queue:
            key = self.queue.popleft()
            is_in_initial_list = not self.has_synced()
            if self.initial_population_count > 0:
                self.initial_population_count -= 1
            deltas = self.items.pop(key, None)
            if deltas is None:
                continue
            try:
                process(deltas, is_in_initial_list)
            except ErrRequeue:
                self.add_if_not_present(deltas)
            return deltas
        return None

    async def pop(self, process: Callable[[list[Delta], bool], None]) -> list[Delta]:
        """Wait for an item and process it; FIFOClosedError once closed and empty."""
        while True:
            if not self.queue and self.closed:
                raise FIFOClosedError("DeltaFIFO: manipulating with closed queue")
            popped = self.pop_nowait(process)
            if popped is not None:
                return popped
            self._changed.clear()
            await self._changed.wait()

    def replace(self, objs: list[Any], resource_version: str = "") -> None:
        """A full relist: Replaced for each object, tombstones for what disappeared."""
        action = REPLACED if self.emit_delta_type_replaced else SYNC
        keys = set()
        for obj in objs:
            keys.add(self.key_of(obj))
            self._queue_action(action, obj)
        queued_deletions = self._queue_missing_deletions(keys)
        if not self.populated:
            self.populated = True
            self.initial_population_count = len(objs) + queued_deletions

    def _queue_missing_deletions(self, keys: set[str]) -> int:
        queued = 0
        known = self.known_objects
        # Objects the informer's store holds that the relist no longer has.
        for key in known.list_keys() if known else []:
            if key not in keys:
                self._queue_action(DELETED, DeletedFinalStateUnknown(key, known.get_by_key(key)))
                queued += 1
        # Objects still waiting in this queue (never reached the store) that vanished too.
        for key, deltas in list(self.items.items()):
            if key in keys or (known is not None and known.get_by_key(key) is not None):
                continue
            if deltas[-1].type == DELETED:
                continue
            last = deltas[-1].object
            if isinstance(last, DeletedFinalStateUnknown):
                last = last.obj
            self._queue_action(DELETED, DeletedFinalStateUnknown(key, last))
            queued += 1
        return queued

    def resync(self) -> None:
        """Queue a Sync for every known object that has nothing queued already."""
        if self.known_objects is None:
            return
        for key in self.known_objects.list_keys():
            obj = self.known_objects.get_by_key(key)
            if obj is None or self.items.get(self.key_of(obj)):
                continue
            self._queue_action(SYNC, obj)
