"""The NodeLifecycle controller: silent nodes go Unknown, get tainted, lose their pods.

Mirrors k8s.io/kubernetes/pkg/controller/nodelifecycle/node_lifecycle_controller.go
(Run: every --node-monitor-period monitorNodeHealth reads each node and its
kube-node-lease Lease, writes Unknown conditions past --node-monitor-grace-period,
then doNoExecuteTaintingPass swaps the unreachable / not-ready NoExecute taints) and
pkg/controller/tainteviction/taint_eviction.go (node and pod updates queue a node;
each pod on it gets a timer that deletes it when its toleration runs out). The
decisions are in node_health.py and taint_eviction.py. Omitted: zone states and
eviction rate limits, the startup grace period, events, and the DefaultTolerationSeconds
admission (pods are taken as they are).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from msgspec.structs import replace

from miniapi import errors
from miniapi.coordination.v1 import Lease
from miniapi.core import v1 as corev1
from miniclient.cache.controller import ResourceEventHandlerFuncs
from miniclient.cache.store import DeletedFinalStateUnknown
from miniclient.informers import SharedInformerFactory
from miniclient.rest import Client
from miniclient.workqueue import ItemExponentialFailureRateLimiter, RateLimitingQueue
from minicontroller.nodelifecycle import node_health, taint_eviction

__all__ = ["NodeLifecycleController"]

log = logging.getLogger("minicontroller.nodelifecycle")
NODE_LEASE_NAMESPACE = "kube-node-lease"


def wall_clock() -> datetime:
    return datetime.now(UTC)


class NodeLifecycleController:
    def __init__(
        self,
        client: Client,
        factory: SharedInformerFactory,
        node_monitor_period: float = 5.0,
        node_monitor_grace_period: float = 50.0,
        clock: Callable[[], datetime] = wall_clock,
    ) -> None:
        self.nodes = client.resource(corev1.Node, namespaced=False)
        self.pods = client.resource(corev1.Pod)
        self.node_informer = factory.for_resource(corev1.Node, namespaced=False)
        self.pod_informer = factory.for_resource(corev1.Pod)
        self.lease_informer = factory.for_resource(Lease)
        self.node_lister = factory.lister(corev1.Node, namespaced=False)
        self.pod_lister = factory.lister(corev1.Pod)
        self.lease_lister = factory.lister(Lease).by_namespace(NODE_LEASE_NAMESPACE)
        self.period = node_monitor_period
        self.grace_period = node_monitor_grace_period
        self.clock = clock
        self.health: dict[str, node_health.NodeHealthData] = {}
        # Pod key -> (loop time its eviction was first scheduled, timer): taint_eviction's
        # TimedWorkers.
        self.timers: dict[str, tuple[float, asyncio.TimerHandle]] = {}
        # Running deletions, held so the loop's weak references do not drop them.
        self.evictions: set[asyncio.Task] = set()
        self.queue = RateLimitingQueue(
            ItemExponentialFailureRateLimiter(0.005, 10.0), name="noexec_taint_node"
        )
        self.node_informer.add_event_handler(
            ResourceEventHandlerFuncs(
                lambda n: self.queue.add(n.metadata.name),
                lambda old, cur: self.queue.add(cur.metadata.name),
                self.node_deleted,
            )
        )
        self.pod_informer.add_event_handler(
            ResourceEventHandlerFuncs(
                self.pod_changed, lambda old, cur: self.pod_changed(cur), self.pod_deleted
            )
        )

    def node_deleted(self, obj: Any) -> None:
        # A tombstone (DeletedFinalStateUnknown) carries the key; the node's pods lose timers.
        name = obj.key if isinstance(obj, DeletedFinalStateUnknown) else obj.metadata.name
        self.health.pop(name, None)
        self.queue.add(name)

    def pod_deleted(self, obj: Any) -> None:
        pod = obj.obj if isinstance(obj, DeletedFinalStateUnknown) else obj
        timer = self.timers.pop(f"{pod.metadata.namespace}/{pod.metadata.name}", None)
        if timer is not None:
            timer[1].cancel()

    def pod_changed(self, pod: Any) -> None:
        if pod.spec.node_name:
            self.queue.add(pod.spec.node_name)

    async def run(self, workers: int) -> None:
        while not all(
            i.has_synced() for i in (self.node_informer, self.pod_informer, self.lease_informer)
        ):
            await asyncio.sleep(0.05)
        tasks = [asyncio.ensure_future(self.worker()) for _ in range(workers)]
        tasks.append(asyncio.ensure_future(self.monitor_loop()))
        try:
            await asyncio.gather(*tasks)
        finally:
            self.queue.shut_down()
            for t in tasks:
                t.cancel()
            for _, handle in self.timers.values():
                handle.cancel()

    async def monitor_loop(self) -> None:
        while True:
            for node in self.node_lister.list():
                try:
                    await self.monitor_node_health(node)
                except (errors.StatusError, OSError, TimeoutError) as e:
                    # A conflict or a dropped connection: the next pass tries again.
                    log.info("node %s health update failed: %s", node.metadata.name, e)
            await asyncio.sleep(self.period)

    async def monitor_node_health(self, node: corev1.Node) -> None:
        name = node.metadata.name
        now = self.clock()
        try:
            lease = self.lease_lister.get(name)
        except errors.StatusError:
            lease = None
        health = node_health.observe(self.health.get(name), node, lease, now)
        self.health[name] = health
        updated = node_health.try_update_node_health(node, health, now, self.grace_period)
        if updated is not None:
            log.info("node %s silent past the grace period: Ready=Unknown", name)
            node = await self.nodes.update_status(updated)
        taints = node_health.swap_no_execute_taints(node, now)
        if taints is not None:
            await self.nodes.update(replace(node, spec=replace(node.spec, taints=taints)))

    async def worker(self) -> None:
        while True:
            name, shutdown = await self.queue.get()
            if shutdown:
                return
            try:
                self.handle_node(name)
                self.queue.forget(name)
            except Exception:
                log.exception("taint eviction pass of node %s failed, requeued", name)
                self.queue.add_rate_limited(name)
            finally:
                self.queue.done(name)

    def handle_node(self, name: str) -> None:
        """handleNodeUpdate: (re)schedule or cancel the eviction of each pod on the node."""
        try:
            taints = self.node_lister.get(name).spec.taints
        except errors.StatusError:
            taints = []
        on_node = [p for p in self.pod_lister.list() if p.spec.node_name == name]
        live = set()
        for pod in on_node:
            key = f"{pod.metadata.namespace}/{pod.metadata.name}"
            live.add(key)
            delay = taint_eviction.eviction_delay(pod, taints)
            if pod.metadata.deletion_timestamp is not None:
                delay = None
            self.schedule(key, delay)
        for key in [k for k in self.timers if k not in live and self.pod_on(k, name)]:
            self.schedule(key, None)

    def pod_on(self, key: str, node_name: str) -> bool:
        ns, _, pod_name = key.partition("/")
        try:
            return self.pod_lister.by_namespace(ns).get(pod_name).spec.node_name == node_name
        except errors.StatusError:
            return True

    def schedule(self, key: str, delay: float | None) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        previous = self.timers.pop(key, None)
        if previous is not None:
            previous[1].cancel()
        fire = taint_eviction.eviction_time(previous[0] if previous else None, now, delay)
        if fire is None:
            return
        start = previous[0] if previous else now
        handle = loop.call_at(fire, self.start_eviction, key)
        self.timers[key] = (start, handle)

    def start_eviction(self, key: str) -> None:
        task = asyncio.ensure_future(self.evict(key))
        self.evictions.add(task)
        task.add_done_callback(self.evictions.discard)

    async def evict(self, key: str) -> None:
        self.timers.pop(key, None)
        ns, _, name = key.partition("/")
        log.info("taint eviction: deleting pod %s", key)
        try:
            await self.pods.delete(name, namespace=ns)
        except errors.StatusError as e:
            if not errors.is_not_found(e):
                log.info("deleting pod %s failed: %s", key, e)
                self.queue.add_rate_limited(self.pod_node(ns, name))
        except (OSError, TimeoutError) as e:
            log.info("deleting pod %s failed: %s", key, e)

    def pod_node(self, ns: str, name: str) -> str:
        try:
            return self.pod_lister.by_namespace(ns).get(name).spec.node_name
        except errors.StatusError:
            return ""
