"""Listers: read-only, selector-filtered views over an informer's Indexer.

Mirrors k8s.io/client-go/tools/cache/listers.go (ListAll, ListAllByNamespace,
GenericLister, GenericNamespaceLister) and the shape of the generated typed
listers (PodLister.Pods(ns).Get(name)). Reads never touch the API server.
Omitted: the per-type generated listers (one generic lister serves all kinds).
"""

from __future__ import annotations

from typing import Any

from miniapi import errors, labels
from miniapi.runtime import GroupResource
from miniclient.cache.index import NAMESPACE_INDEX, object_meta
from miniclient.cache.store import Store

__all__ = ["GenericLister", "GenericNamespaceLister", "list_all", "list_all_by_namespace"]


def _labels_of(obj: Any) -> dict[str, str]:
    if isinstance(obj, dict):
        return (obj.get("metadata") or {}).get("labels") or {}
    return obj.metadata.labels


def list_all(store: Store, selector: labels.Selector) -> list[Any]:
    """Every cached object whose labels match selector."""
    return [o for o in store.list() if selector.matches(_labels_of(o))]


def list_all_by_namespace(store: Store, namespace: str, selector: labels.Selector) -> list[Any]:
    """Matching objects of one namespace ('' means all), through the namespace index."""
    if not namespace:
        return list_all(store, selector)
    try:
        items = store.by_index(NAMESPACE_INDEX, namespace)
    except KeyError:
        # No namespace index: fall back to a scan, as upstream does (with a warning).
        items = [o for o in store.list() if object_meta(o)[0] == namespace]
    return [o for o in items if selector.matches(_labels_of(o))]


class GenericLister:
    """list / get / by_namespace over one resource's Indexer."""

    def __init__(self, indexer: Store, resource: GroupResource) -> None:
        self.indexer = indexer
        self.resource = resource

    def list(self, selector: labels.Selector | None = None) -> list[Any]:
        return list_all(self.indexer, selector or labels.everything())

    def get(self, name: str) -> Any:
        """A cluster-scoped object by name; NotFound as the server would say it."""
        obj = self.indexer.get_by_key(name)
        if obj is None:
            raise errors.new_not_found(self.resource, name)
        return obj

    def by_namespace(self, namespace: str) -> GenericNamespaceLister:
        return GenericNamespaceLister(self.indexer, self.resource, namespace)


class GenericNamespaceLister:
    """list / get within one namespace."""

    def __init__(self, indexer: Store, resource: GroupResource, namespace: str) -> None:
        self.indexer = indexer
        self.resource = resource
        self.namespace = namespace

    def list(self, selector: labels.Selector | None = None) -> list[Any]:
        return list_all_by_namespace(self.indexer, self.namespace, selector or labels.everything())

    def get(self, name: str) -> Any:
        obj = self.indexer.get_by_key(f"{self.namespace}/{name}")
        if obj is None:
            raise errors.new_not_found(self.resource, name)
        return obj
