"""The RBAC authorizer's listers, read from the API server's own watch caches.

Mirrors the informer-backed listers kube-apiserver hands the RBAC authorizer
(pkg/registry/rbac/validation's RoleGetter, RoleBindingLister, ClusterRoleGetter,
ClusterRoleBindingLister, fed by the shared informers): reads are in memory and
eventually consistent, so a new binding takes effect once its watch event arrives.
The Node authorizer reads the pods the same way (its graph is fed by the pod informer).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from miniapiserver.registry.store import RegistryStore

RBAC_GROUP = "rbac.authorization.k8s.io"


class CachePolicySource:
    """A PolicySource over the roles / bindings registries' watch caches."""

    def __init__(self, stores: dict[str, RegistryStore]) -> None:
        self.roles = stores[f"{RBAC_GROUP}/roles"]
        self.role_bindings_store = stores[f"{RBAC_GROUP}/rolebindings"]
        self.cluster_roles = stores[f"{RBAC_GROUP}/clusterroles"]
        self.cluster_role_bindings_store = stores[f"{RBAC_GROUP}/clusterrolebindings"]

    @staticmethod
    def _list(store: RegistryStore, namespace: str) -> list[dict[str, Any]]:
        return store.cacher.cache.list(store.collection_key(namespace).strip("/") + "/")

    @staticmethod
    def _get(store: RegistryStore, namespace: str, name: str) -> dict[str, Any] | None:
        return store.cacher.cache.get(store.key(namespace, name).strip("/"))

    def cluster_role_bindings(self) -> Iterable[dict[str, Any]]:
        return self._list(self.cluster_role_bindings_store, "")

    def role_bindings(self, namespace: str) -> Iterable[dict[str, Any]]:
        return self._list(self.role_bindings_store, namespace)

    def cluster_role(self, name: str) -> dict[str, Any] | None:
        return self._get(self.cluster_roles, "", name)

    def role(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self._get(self.roles, namespace, name)


class CachePods:
    """Every pod in the pods registry's watch cache, for the Node authorizer."""

    def __init__(self, stores: dict[str, RegistryStore]) -> None:
        self.store = stores["/pods"]

    def __call__(self) -> list[dict[str, Any]]:
        return CachePolicySource._list(self.store, "")
