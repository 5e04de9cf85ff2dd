"""The Cacher's watchers, indexed so an event reaches only the watchers it can concern.

Mirrors k8s.io/apiserver/pkg/storage/cacher/cacher.go: indexedWatchers (allWatchers by
scope, valueWatchers by trigger value), indexedTriggerFunc, triggerValuesThreadUnsafe and
the watchersBuffer that startDispatching fills. A resource may name one indexed trigger
(the pod registry: spec.nodeName → NodeNameTriggerFunc). A watcher whose field selector
pins that field to one value (MatcherIndex) waits under that value; every other watcher
sees every event. An event goes to the watchers under the trigger values of its object
and of its previous object, plus the unindexed ones; each watcher still filters, so the
index only skips watchers whose filter could not pass. Watchers of one object (a key
without a trailing slash) are kept by that key, as upstream keeps them by namespace/name.
Omitted: namespace-scoped buckets for collection watches (they share one bucket).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from miniapiserver.storage.interfaces import Obj

COLLECTION = ""  # the scope of watchers on a key prefix


@dataclass(frozen=True)
class IndexedTrigger:
    """indexedTriggerFunc: the index name and the function reading its value off an object."""

    index_name: str
    indexer_func: Callable[[Obj], str]


def trigger_values(trigger: IndexedTrigger, obj: Obj, prev: Obj | None) -> list[str]:
    """triggerValuesThreadUnsafe: the object's value, and the previous object's if it differs."""
    values = [trigger.indexer_func(obj)]
    if prev is not None:
        before = trigger.indexer_func(prev)
        if before != values[0]:
            values.append(before)
    return values


class IndexedWatchers:
    """allWatchers (by scope) and valueWatchers (by trigger value) of one Cacher."""

    def __init__(self) -> None:
        self.all_watchers: dict[str, set[Any]] = {}
        self.value_watchers: dict[str, set[Any]] = {}
        self._where: dict[Any, tuple[dict[str, set[Any]], str]] = {}

    def __len__(self) -> int:
        return len(self._where)

    def __iter__(self) -> Iterator[Any]:
        return iter(list(self._where))

    def __contains__(self, w: Any) -> bool:
        return w in self._where

    def clear(self) -> None:
        self.all_watchers.clear()
        self.value_watchers.clear()
        self._where.clear()

    def add_watcher(self, w: Any, scope: str, value: str | None) -> None:
        """value None: not indexed (allWatchers under scope); else valueWatchers[value]."""
        table, bucket = (
            (self.all_watchers, scope) if value is None else (self.value_watchers, value)
        )
        table.setdefault(bucket, set()).add(w)
        self._where[w] = (table, bucket)

    def delete_watcher(self, w: Any) -> None:
        where = self._where.pop(w, None)
        if where is None:
            return
        table, bucket = where
        members = table.get(bucket)
        if members is not None:
            members.discard(w)
            if not members:
                del table[bucket]

    discard = delete_watcher  # the set-like name the watch handlers call

    def watchers_for(self, key: str, values: list[str] | None) -> list[Any]:
        """The watchersBuffer for one event on key; values None: the trigger is unsupported."""
        out = list(self.all_watchers.get(COLLECTION, ()))
        out.extend(self.all_watchers.get(key, ()))
        if values is None:
            for members in self.value_watchers.values():
                out.extend(members)
            return out
        for v in values:
            out.extend(self.value_watchers.get(v, ()))
        return out
