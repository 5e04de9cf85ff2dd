"""The keyed map with maintained indices under every informer's cache.

Mirrors k8s.io/client-go/tools/cache/thread_safe_store.go (threadSafeMap,
storeIndex: indices are kept up to date on every add/update/delete/replace).
Python's asyncio runs one coroutine at a time, so no lock is needed; the name
is kept so readers can grep across. Objects are immutable values, so callers
must not mutate what they get (upstream's rule; typed miniapi objects are frozen).
Omitted: the lock.
"""

from __future__ import annotations

from typing import Any

from miniclient.cache.index import Indexers

__all__ = ["ThreadSafeStore"]


class ThreadSafeStore:
    """items by key; indices[name][value] = set of keys."""

    def __init__(self, indexers: Indexers) -> None:
        self._items: dict[str, Any] = {}
        self._indexers: Indexers = dict(indexers)
        self._indices: dict[str, dict[str, set[str]]] = {name: {} for name in indexers}

    def _update_indices(self, old: Any | None, new: Any | None, key: str) -> None:
        for name, func in self._indexers.items():
            old_values = set(func(old)) if old is not None else set()
            new_values = set(func(new)) if new is not None else set()
            index = self._indices[name]
            for value in old_values - new_values:
                keys = index.get(value)
                if keys is not None:
                    keys.discard(key)
                    if not keys:
                        # Drop empty sets so long-lived indices do not grow forever.
                        del index[value]
            for value in new_values - old_values:
                index.setdefault(value, set()).add(key)

    def add(self, key: str, obj: Any) -> None:
        self.update(key, obj)

    def update(self, key: str, obj: Any) -> None:
        old = self._items.get(key)
        self._items[key] = obj
        self._update_indices(old, obj, key)

    def delete(self, key: str) -> None:
        if key in self._items:
            self._update_indices(self._items.pop(key), None, key)

    def get(self, key: str) -> Any | None:
        return self._items.get(key)

    def list(self) -> list[Any]:
        return list(self._items.values())

    def list_keys(self) -> list[str]:
        return list(self._items)

    def replace(self, items: dict[str, Any]) -> None:
        self._items = dict(items)
        self._indices = {name: {} for name in self._indexers}
        for key, obj in self._items.items():
            self._update_indices(None, obj, key)

    def _index_func(self, index_name: str):
        func = self._indexers.get(index_name)
        if func is None:
            raise KeyError(f"Index with name {index_name} does not exist")
        return func

    def index(self, index_name: str, obj: Any) -> list[Any]:
        """Objects sharing any index value with obj."""
        keys: set[str] = set()
        for value in self._index_func(index_name)(obj):
            keys |= self._indices[index_name].get(value, set())
        return [self._items[k] for k in sorted(keys)]

    def index_keys(self, index_name: str, indexed_value: str) -> list[str]:
        self._index_func(index_name)
        return sorted(self._indices[index_name].get(indexed_value, set()))

    def by_index(self, index_name: str, indexed_value: str) -> list[Any]:
        return [self._items[k] for k in self.index_keys(index_name, indexed_value)]

    def list_index_func_values(self, index_name: str) -> list[str]:
        return sorted(self._indices.get(index_name, {}))

    def add_indexers(self, indexers: Indexers) -> None:
        """Add indices, built over the current items (upstream refuses once started)."""
        for name in indexers:
            if name in self._indexers:
                raise ValueError(f"indexer conflict: {name}")
        self._indexers.update(indexers)
        for name in indexers:
            self._indices[name] = {}
        for key, obj in self._items.items():
            for name, func in indexers.items():
                for value in func(obj):
                    self._indices[name].setdefault(value, set()).add(key)
