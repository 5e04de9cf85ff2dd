"""The EndpointSlice controller: a Service's selected pods, published as slices.

Mirrors k8s.io/kubernetes/pkg/controller/endpointslice/endpointslice_controller.go
(handlers onServiceUpdate/addPod/updatePod/deletePod/onEndpointSliceAdd...,
syncService, the worker loop) and endpointslice_tracker.go (slices this
controller wrote and the cache has not shown yet make the sync wait and retry,
so a lagging cache never yields duplicate slices).
Omitted: the Node informer and topology hints, the trigger-time annotation,
events. Slices of a deleted Service are deleted here directly, because
minicontroller has no garbage collector yet (upstream leaves them to it).
"""

from __future__ import annotations

import logging
from typing import Any

from miniapi import errors, labels
from miniapi.core import v1 as corev1
from miniapi.discovery import v1 as discoveryv1
from miniclient.cache.controller import ResourceEventHandlerFuncs
from miniclient.cache.shared_informer import wait_for_cache_sync
from miniclient.cache.store import DeletedFinalStateUnknown, split_meta_namespace_key
from miniclient.informers import SharedInformerFactory
from miniclient.rest import Client
from miniclient.workqueue import RateLimitingQueue
from minicontroller.endpointslice.reconciler import reconcile
from minicontroller.endpointslice.utils import (
    CONTROLLER_NAME,
    LABEL_MANAGED_BY,
    LABEL_SERVICE_NAME,
)
from minicontroller.worker import EXPECTED_SYNC_ERRORS, run_workers

__all__ = ["EndpointSliceController", "StaleInformerCache"]

log = logging.getLogger("minicontroller.endpointslice")


class StaleInformerCache(Exception):
    """The slice cache has not yet caught up with this controller's own writes."""


def _unwrap(obj: Any) -> Any:
    return obj.obj if isinstance(obj, DeletedFinalStateUnknown) else obj


class EndpointSliceTracker:
    """Per service: slice uid -> resourceVersion we wrote, or None for a delete."""

    def __init__(self) -> None:
        self.expected: dict[str, dict[str, str | None]] = {}

    def wrote(self, service_key: str, slice_: discoveryv1.EndpointSlice) -> None:
        self.expected.setdefault(service_key, {})[slice_.metadata.uid] = (
            slice_.metadata.resource_version
        )

    def deleted(self, service_key: str, slice_: discoveryv1.EndpointSlice) -> None:
        self.expected.setdefault(service_key, {})[slice_.metadata.uid] = None

    def stale(self, service_key: str, cached: list[discoveryv1.EndpointSlice]) -> bool:
        """Forget what the cache now shows; True while anything is still missing."""
        expected = self.expected.get(service_key, {})
        by_uid = {s.metadata.uid: s for s in cached}
        for uid, rv in list(expected.items()):
            seen = by_uid.get(uid)
            if (
                rv is None
                and seen is None
                or rv is not None
                and seen is not None
                and int(seen.metadata.resource_version) >= int(rv)
            ):
                del expected[uid]
        return bool(expected)

    def forget(self, service_key: str) -> None:
        self.expected.pop(service_key, None)


class EndpointSliceController:
    """Informers on Services, Pods and EndpointSlices; a queue of Service keys."""

    def __init__(
        self, client: Client, factory: SharedInformerFactory, max_endpoints_per_slice: int = 100
    ) -> None:
        self.slices_client = client.resource(discoveryv1.EndpointSlice)
        self.service_informer = factory.for_resource(corev1.Service)
        self.pod_informer = factory.for_resource(corev1.Pod)
        self.slice_informer = factory.for_resource(discoveryv1.EndpointSlice)
        self.service_lister = factory.lister(corev1.Service)
        self.pod_lister = factory.lister(corev1.Pod)
        self.slice_lister = factory.lister(discoveryv1.EndpointSlice)
        self.max_endpoints_per_slice = max_endpoints_per_slice
        self.queue = RateLimitingQueue(name="endpoint_slice")
        self.tracker = EndpointSliceTracker()
        self.service_informer.add_event_handler(
            ResourceEventHandlerFuncs(
                self.enqueue_service,
                lambda old, cur: self.enqueue_service(cur),
                self.enqueue_service,
            )
        )
        self.pod_informer.add_event_handler(
            ResourceEventHandlerFuncs(self.on_pod, self.on_pod_update, self.on_pod)
        )
        self.slice_informer.add_event_handler(
            ResourceEventHandlerFuncs(
                self.on_slice, lambda old, cur: self.on_slice(cur), self.on_slice
            )
        )

    def enqueue_service(self, obj: Any) -> None:
        svc = _unwrap(obj)
        self.queue.add(f"{svc.metadata.namespace}/{svc.metadata.name}")

    def services_for(self, pod: corev1.Pod) -> set[str]:
        """Keys of the services in the pod's namespace whose selector matches it."""
        keys = set()
        for svc in self.service_lister.by_namespace(pod.metadata.namespace).list():
            sel = svc.spec.selector
            if sel and all(pod.metadata.labels.get(k) == v for k, v in sel.items()):
                keys.add(f"{svc.metadata.namespace}/{svc.metadata.name}")
        return keys

    def on_pod(self, obj: Any) -> None:
        pod = _unwrap(obj)
        if pod is not None:
            for key in self.services_for(pod):
                self.queue.add(key)

    def on_pod_update(self, old: corev1.Pod, cur: corev1.Pod) -> None:
        if old.metadata.resource_version == cur.metadata.resource_version:
            return
        for key in self.services_for(old) | self.services_for(cur):
            self.queue.add(key)

    def on_slice(self, obj: Any) -> None:
        s = _unwrap(obj)
        if s is None or s.metadata.labels.get(LABEL_MANAGED_BY) != CONTROLLER_NAME:
            return
        name = s.metadata.labels.get(LABEL_SERVICE_NAME)
        if name:
            self.queue.add(f"{s.metadata.namespace}/{name}")

    async def run(self, workers: int) -> None:
        informers = (self.service_informer, self.pod_informer, self.slice_informer)
        await wait_for_cache_sync(*informers)
        expected = (*EXPECTED_SYNC_ERRORS, StaleInformerCache)
        await run_workers(self.queue, self.sync_service, workers, log, expected)

    def managed_slices(self, namespace: str, name: str) -> list[discoveryv1.EndpointSlice]:
        sel = labels.selector_from_validated_set(
            {LABEL_SERVICE_NAME: name, LABEL_MANAGED_BY: CONTROLLER_NAME}
        )
        return self.slice_lister.by_namespace(namespace).list(sel)

    async def sync_service(self, key: str) -> None:
        namespace, name = split_meta_namespace_key(key)
        slices = self.managed_slices(namespace, name)
        if self.tracker.stale(key, slices):
            raise StaleInformerCache(f"EndpointSlice informer cache is out of date for {key}")
        svc = self.service_informer.indexer.get_by_key(key)
        if svc is None or svc.spec.type == "ExternalName" or not svc.spec.selector:
            # No managed slices for these (upstream: the GC or the delete below).
            for s in slices:
                await self._delete(key, s)
            if svc is None:
                self.tracker.forget(key)
            return
        selector = labels.selector_from_validated_set(svc.spec.selector)
        pods = self.pod_lister.by_namespace(namespace).list(selector)
        plan = reconcile(svc, pods, slices, self.max_endpoints_per_slice)
        for s in plan.delete:
            await self._delete(key, s)
        for s in plan.update:
            self.tracker.wrote(key, await self.slices_client.update(s))
        for s in plan.create:
            self.tracker.wrote(key, await self.slices_client.create(s))

    async def _delete(self, key: str, s: discoveryv1.EndpointSlice) -> None:
        try:
            await self.slices_client.delete(s.metadata.name, s.metadata.namespace)
        except errors.StatusError as e:
            if not errors.is_not_found(e):
                raise
        self.tracker.deleted(key, s)
