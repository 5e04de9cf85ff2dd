"""The Namespace controller: terminating namespaces are emptied and finalized.

Mirrors k8s.io/kubernetes/pkg/controller/namespace/namespace_controller.go
(a Namespace informer whose add/update handlers queue namespaces that have a
deletionTimestamp, workers calling the deleter, and a requeue with backoff
while content remains). The work itself is in namespaced_resources_deleter.py.
Omitted: the periodic resync and the estimate-based requeue delay (the
backoff alone paces retries).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from miniapi import errors
from miniapi.core import v1 as corev1
from miniclient.cache.controller import ResourceEventHandlerFuncs
from miniclient.informers import SharedInformerFactory
from miniclient.rest import Client
from miniclient.workqueue import ItemExponentialFailureRateLimiter, RateLimitingQueue
from minicontroller.namespace.namespaced_resources_deleter import (
    ContentRemaining,
    NamespacedResourcesDeleter,
)

__all__ = ["NamespaceController"]

log = logging.getLogger("minicontroller.namespace")


class NamespaceController:
    def __init__(self, client: Client, factory: SharedInformerFactory) -> None:
        self.deleter = NamespacedResourcesDeleter(client)
        self.informer = factory.for_resource(corev1.Namespace)
        # Upstream's namespace queue: per-item exponential backoff, 5 ms up to 60 s.
        self.queue = RateLimitingQueue(
            ItemExponentialFailureRateLimiter(0.005, 60.0), name="namespace"
        )
        self.informer.add_event_handler(
            ResourceEventHandlerFuncs(
                self.enqueue_namespace, lambda old, cur: self.enqueue_namespace(cur), None
            )
        )

    def enqueue_namespace(self, obj: Any) -> None:
        # Only terminating namespaces need work.
        if obj.metadata.deletion_timestamp is not None:
            self.queue.add(obj.metadata.name)

    async def run(self, workers: int) -> None:
        while not self.informer.has_synced():
            await asyncio.sleep(0.05)
        tasks = [asyncio.ensure_future(self.worker()) for _ in range(workers)]
        try:
            await asyncio.gather(*tasks)
        finally:
            self.queue.shut_down()
            for t in tasks:
                t.cancel()

    async def worker(self) -> None:
        while True:
            name, shutdown = await self.queue.get()
            if shutdown:
                return
            try:
                await self.deleter.delete(name)
                self.queue.forget(name)
            except (errors.StatusError, ContentRemaining, OSError, TimeoutError) as e:
                log.info("deletion of namespace %s not finished, requeued: %s", name, e)
                self.queue.add_rate_limited(name)
            except Exception:
                log.exception("deletion of namespace %s failed unexpectedly, requeued", name)
                self.queue.add_rate_limited(name)
            finally:
                self.queue.done(name)
