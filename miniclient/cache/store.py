"""Keys for objects, and the Store: a keyed cache with indices.

Mirrors k8s.io/client-go/tools/cache/store.go (KeyFunc, MetaNamespaceKeyFunc,
SplitMetaNamespaceKey, the cache type behind NewStore/NewIndexer) and the
key handling of DeletedFinalStateUnknown (DeletionHandlingMetaNamespaceKeyFunc).
Keys are "namespace/name", or "name" for cluster-scoped objects.
Omitted: ExplicitKey, the cache's error returns for key-function failures.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from miniclient.cache.index import NAMESPACE_INDEX, Indexers, meta_namespace_index_func, object_meta
from miniclient.cache.thread_safe_store import ThreadSafeStore

__all__ = [
    "DeletedFinalStateUnknown",
    "KeyFunc",
    "Store",
    "deletion_handling_meta_namespace_key_func",
    "meta_namespace_key_func",
    "new_indexer",
    "new_store",
    "split_meta_namespace_key",
]

KeyFunc = Callable[[Any], str]


@dataclass(frozen=True)
class DeletedFinalStateUnknown:
    """A deletion the client missed (seen only as absence after a relist): key + last state."""

    key: str
    obj: Any


def meta_namespace_key_func(obj: Any) -> str:
    """'namespace/name', or 'name' when the object has no namespace."""
    if isinstance(obj, str):
        return obj
    namespace, name, _ = object_meta(obj)
    return f"{namespace}/{name}" if namespace else name


def deletion_handling_meta_namespace_key_func(obj: Any) -> str:
    """meta_namespace_key_func that also accepts a DeletedFinalStateUnknown."""
    if isinstance(obj, DeletedFinalStateUnknown):
        return obj.key
    return meta_namespace_key_func(obj)


def split_meta_namespace_key(key: str) -> tuple[str, str]:
    """(namespace, name) from a key; ValueError for more than one '/'."""
    parts = key.split("/")
    if len(parts) == 1:
        return "", parts[0]
    if len(parts) == 2:
        return parts[0], parts[1]
    raise ValueError(f'unexpected key format: "{key}"')


class Store:
    """An Indexer: objects by key over a ThreadSafeStore, with named indices."""

    def __init__(self, key_func: KeyFunc, indexers: Indexers | None = None) -> None:
        self.key_func = key_func
        self.cache_storage = ThreadSafeStore(indexers or {})

    def add(self, obj: Any) -> None:
        self.cache_storage.add(self.key_func(obj), obj)

    def update(self, obj: Any) -> None:
        self.cache_storage.update(self.key_func(obj), obj)

    def delete(self, obj: Any) -> None:
        self.cache_storage.delete(self.key_func(obj))

    def list(self) -> list[Any]:
        return self.cache_storage.list()

    def list_keys(self) -> list[str]:
        return self.cache_storage.list_keys()

    def get(self, obj: Any) -> Any | None:
        return self.cache_storage.get(self.key_func(obj))

    def get_by_key(self, key: str) -> Any | None:
        return self.cache_storage.get(key)

    def replace(self, objs: list[Any], resource_version: str = "") -> None:
        self.cache_storage.replace({self.key_func(o): o for o in objs})

    def resync(self) -> None:
        return None

    def index(self, index_name: str, obj: Any) -> list[Any]:
        return self.cache_storage.index(index_name, obj)

    def by_index(self, index_name: str, indexed_value: str) -> list[Any]:
        return self.cache_storage.by_index(index_name, indexed_value)

    def index_keys(self, index_name: str, indexed_value: str) -> list[str]:
        return self.cache_storage.index_keys(index_name, indexed_value)

    def list_index_func_values(self, index_name: str) -> list[str]:
        return self.cache_storage.list_index_func_values(index_name)

    def add_indexers(self, indexers: Indexers) -> None:
        self.cache_storage.add_indexers(indexers)


def new_store(key_func: KeyFunc = deletion_handling_meta_namespace_key_func) -> Store:
    """A Store without indices."""
    return Store(key_func)


def new_indexer(key_func: KeyFunc, indexers: Indexers | None = None) -> Store:
    """A Store with the given indices (the namespace index when none are given)."""
    return Store(key_func, indexers or {NAMESPACE_INDEX: meta_namespace_index_func})
