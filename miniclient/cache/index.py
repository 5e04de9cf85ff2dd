"""Index functions: named ways to look objects up besides their key.

Mirrors k8s.io/client-go/tools/cache/index.go (Indexers, IndexFunc,
MetaNamespaceIndexFunc, NamespaceIndex) and the accessor role of
apimachinery's meta.Accessor for typed objects and unstructured dicts.
Omitted: the Indexer interface type itself (see thread_safe_store.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = [
    "IndexFunc",
    "Indexers",
    "NAMESPACE_INDEX",
    "meta_namespace_index_func",
    "object_meta",
]

IndexFunc = Callable[[Any], list[str]]
Indexers = dict[str, IndexFunc]

NAMESPACE_INDEX = "namespace"


def object_meta(obj: Any) -> tuple[str, str, str]:
    """(namespace, name, resourceVersion) of a typed object or an unstructured dict."""
    if isinstance(obj, dict):
        m = obj.get("metadata") or {}
        return m.get("namespace") or "", m.get("name") or "", m.get("resourceVersion") or ""
    m = obj.metadata
    return m.namespace or "", m.name or "", m.resource_version or ""


def meta_namespace_index_func(obj: Any) -> list[str]:
    """Index objects by their namespace (the index every informer gets)."""
    return [object_meta(obj)[0]]
