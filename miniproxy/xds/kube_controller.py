"""Kubernetes mode: informers on the API server feed the translator; each change is pushed.

Mirrors istio pilot/pkg/serviceregistry/kube/controller/controller.go (informers on Services,
EndpointSlices and Pods — pods for the labels a DestinationRule subset selects), the CRD
client of pilot/pkg/config/kube/crdclient (VirtualService and DestinationRule read as
unstructured objects) and the debounce of pilot/pkg/xds/discovery.go (events within
`debounce` seconds are merged into one push; a full push recomputes every resource and
XdsServer.set_resources bumps only the versions of the types that changed).
The Istio kinds are watched only when the API server serves networking.istio.io/v1 at
start-up. A VirtualService or DestinationRule that cannot be translated is logged and
skipped; should the result still be refused, the previous snapshot stays in force.
`namespace` limits every informer to one namespace (Istio's discoverySelectors, simplified).
Omitted: incremental (EDS-only) pushes, per-proxy scoping, re-discovering CRDs later.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from miniapi import errors
from miniapi.core.v1 import Pod, Service
from miniapi.discovery.v1 import EndpointSlice
from miniapi.runtime import GroupVersionResource
from miniclient.cache.controller import ResourceEventHandlerFuncs
from miniclient.informers import SharedInformerFactory
from miniclient.rest import Client
from miniproxy.envoy.config import EnvoyException
from miniproxy.xds.push_context import PushContext
from miniproxy.xds.server import XdsServer
from miniproxy.xds.translator import TranslateOptions, translate

log = logging.getLogger("miniproxy.xds.kube")

ISTIO_GROUP_VERSION = "/apis/networking.istio.io/v1"
VIRTUAL_SERVICES = GroupVersionResource("networking.istio.io", "v1", "virtualservices")
DESTINATION_RULES = GroupVersionResource("networking.istio.io", "v1", "destinationrules")


async def istio_served(client: Client) -> bool:
    """Whether the API server knows networking.istio.io/v1 (its CRDs are installed)."""
    try:
        await client.request("GET", ISTIO_GROUP_VERSION)
        return True
    except errors.StatusError as e:
        if e.status.code == 404:
            return False
        raise


class KubeController:
    """Watches the cluster and keeps `server`'s snapshot equal to translate(cluster)."""

    def __init__(self, client: Client, server: XdsServer, opts: TranslateOptions,
                 debounce: float = 0.1, istio: bool = True, namespace: str = "") -> None:  # fmt: skip
        self.server = server
        self.opts = opts
        self.debounce = debounce
        # One namespace (informers' WithNamespace) or, when empty, the whole cluster.
        self.factory = SharedInformerFactory(client, namespace=namespace)
        self.kinds: list[Any] = [Service, EndpointSlice, Pod]
        if istio:
            self.kinds += [VIRTUAL_SERVICES, DESTINATION_RULES]
        self.dirty = asyncio.Event()
        self.pushes = 0
        self.errors: list[str] = []
        handler = ResourceEventHandlerFuncs(
            add_func=self._changed,
            update_func=lambda old, new: self._changed(new),
            delete_func=self._changed,
        )
        for kind in self.kinds:
            self.factory.for_resource(kind).add_event_handler(handler)

    def _changed(self, obj: Any) -> None:
        self.dirty.set()

    def push_context(self) -> PushContext:
        lists = [self.factory.objects(k) for k in self.kinds]
        lists += [[]] * (5 - len(lists))
        return PushContext.of(*lists)

    def push(self) -> bool:
        """One full push; False (previous snapshot kept) if the translation failed."""
        errors: list[str] = []
        try:
            resources = translate(self.push_context(), self.opts, errors)
            snap = self.server.set_resources(resources)
        except (EnvoyException, ValueError, KeyError, TypeError) as e:
            log.error("keeping the previous snapshot: %s", e)
            return False
        for message in errors:
            log.warning("ignored: %s", message)
        self.errors = errors
        self.pushes += 1
        log.info("push %d: versions %s", self.pushes,
                 {t.rsplit(".", 1)[-1]: v for t, v in snap.versions.items()})  # fmt: skip
        return True

    async def run(self, stop: asyncio.Event) -> None:
        """Start the informers, push once synced, then once per debounced burst of events."""
        self.factory.start()
        waiter = asyncio.ensure_future(stop.wait())
        try:
            # Racing `stop` so that a cluster that never lists does not block shutdown.
            if await self._until(self.factory.wait_for_cache_sync(), waiter):
                self.dirty.clear()
                self.push()
            while not stop.is_set():
                if not await self._until(self.dirty.wait(), waiter):
                    break
                await asyncio.sleep(self.debounce)
                self.dirty.clear()
                self.push()
        finally:
            waiter.cancel()
            await self.factory.shutdown()

    @staticmethod
    async def _until(coro: Any, waiter: asyncio.Future) -> bool:
        """Await coro unless waiter (stop) fires first; True if coro finished."""
        task = asyncio.ensure_future(coro)
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            return True
        task.cancel()
        return False
