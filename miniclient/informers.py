"""SharedInformerFactory: one shared informer per resource for a whole program.

Mirrors k8s.io/client-go/informers/factory.go (sharedInformerFactory:
InformerFor, Start, WaitForCacheSync, Shutdown, WithNamespace) and the generic
lister accessor (ForResource(...).Lister()). Every controller that asks for
pods gets the same informer, hence one watch on the API server.
Omitted: per-group typed accessors (factory.Core().V1().Pods()), tweak-list-options.
"""

from __future__ import annotations

import random
from typing import Any

from miniapi import scheme
from miniapi.runtime import GroupResource, GroupVersionResource
from miniclient.cache.listers import GenericLister
from miniclient.cache.reflector import ListWatch
from miniclient.cache.shared_informer import SharedIndexInformer, wait_for_cache_sync
from miniclient.clock import Clock
from miniclient.rest import Client

__all__ = ["SharedInformerFactory"]


class SharedInformerFactory:
    """Hands out shared informers keyed by resource; starts and syncs them together."""

    def __init__(
        self,
        client: Client,
        default_resync: float = 0.0,
        namespace: str = "",
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.client = client
        self.default_resync = default_resync
        self.namespace = namespace
        self.clock = clock
        self.rng = rng or random.Random()
        self.informers: dict[GroupVersionResource, SharedIndexInformer] = {}

    def for_resource(
        self, kind: type | GroupVersionResource, namespaced: bool = True
    ) -> SharedIndexInformer:
        """The shared informer of a typed kind (by class) or an unstructured GVR."""
        resource = self.client.resource(kind, namespaced)
        informer = self.informers.get(resource.gvr)
        if informer is None:
            lw = ListWatch(resource, self.namespace if resource.namespaced else "")
            informer = SharedIndexInformer(
                lw,
                self.default_resync,
                name=str(resource.gvr.resource),
                clock=self.clock,
                rng=random.Random(self.rng.random()),
            )
            self.informers[resource.gvr] = informer
        return informer

    def lister(self, kind: type | GroupVersionResource, namespaced: bool = True) -> GenericLister:
        informer = self.for_resource(kind, namespaced)
        if isinstance(kind, GroupVersionResource):
            gr = kind.group_resource
        else:
            gr = scheme.SCHEME.resource_for_kind(scheme.SCHEME.object_kind(kind)).group_resource
        return GenericLister(informer.indexer, GroupResource(gr.group, gr.resource))

    def start(self) -> None:
        """Run every informer asked for so far (later ones need another start())."""
        for informer in self.informers.values():
            informer.run()

    async def wait_for_cache_sync(self) -> dict[GroupVersionResource, bool]:
        await wait_for_cache_sync(*self.informers.values())
        return {gvr: i.has_synced() for gvr, i in self.informers.items()}

    async def shutdown(self) -> None:
        for informer in self.informers.values():
            await informer.stop()

    def __repr__(self) -> str:
        return f"SharedInformerFactory({sorted(str(g) for g in self.informers)!r})"

    def objects(self, kind: type | GroupVersionResource) -> list[Any]:
        return self.for_resource(kind).indexer.list()
