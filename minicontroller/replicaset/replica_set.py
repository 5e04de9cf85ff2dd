"""The ReplicaSet controller: keep spec.replicas pods matching the selector.

Mirrors k8s.io/kubernetes/pkg/controller/replicaset/replica_set.go
(NewReplicaSetController's handlers addPod/updatePod/deletePod, syncReplicaSet,
manageReplicas, getPodsToDelete, the worker loop). It talks to the API server
only through its informers (reads) and the REST client (writes).
A sync: skip if expectations are unsatisfied (the cache has not yet seen our
last writes); claim pods (adopt/release); create missing pods in slow-start
batches or delete the surplus, most expendable first; write status.
Pod writes are reported as Events as controller_utils.go's RealPodControl does
(SuccessfulCreate "Created pod: x", FailedCreate "Error creating: ...",
SuccessfulDelete, FailedDelete). Omitted: burst-limit configuration beyond
upstream's default of 500.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from miniapi import errors, labels
from miniapi.apps import v1 as appsv1
from miniapi.core import v1 as corev1
from miniapi.meta import v1 as metav1
from miniclient.cache.controller import ResourceEventHandlerFuncs
from miniclient.cache.shared_informer import wait_for_cache_sync
from miniclient.cache.store import DeletedFinalStateUnknown, split_meta_namespace_key
from miniclient.informers import SharedInformerFactory
from miniclient.record import EVENT_TYPE_NORMAL, EVENT_TYPE_WARNING, EventRecorder
from miniclient.rest import Client
from miniclient.workqueue import RateLimitingQueue
from minicontroller.controller_ref_manager import claim_pods, owner_reference
from minicontroller.controller_utils import (
    SLOW_START_INITIAL_BATCH_SIZE,
    ControllerExpectations,
    filter_active_pods,
    get_controller_of,
    pod_deletion_rank,
    slow_start_batch,
)
from minicontroller.replicaset.replica_set_utils import (
    calculate_status,
    update_replica_set_status,
)
from minicontroller.worker import run_workers

__all__ = ["BURST_REPLICAS", "ReplicaSetController", "get_pods_to_delete"]

log = logging.getLogger("minicontroller.replicaset")

BURST_REPLICAS = 500
KIND = ("apps/v1", "ReplicaSet")


def _key(obj: Any) -> str:
    return f"{obj.metadata.namespace}/{obj.metadata.name}"


def get_pods_to_delete(
    filtered: list[corev1.Pod], related: list[corev1.Pod], diff: int
) -> list[corev1.Pod]:
    """The diff most expendable pods; colocation counts the related pods per node."""
    per_node: dict[str, int] = {}
    for pod in related:
        if pod.spec.node_name:
            per_node[pod.spec.node_name] = per_node.get(pod.spec.node_name, 0) + 1
    ranked = sorted(filtered, key=lambda p: pod_deletion_rank(p, per_node.get(p.spec.node_name, 0)))
    return ranked[:diff]


def replicas_of(rs: appsv1.ReplicaSet) -> int:
    # Defaulting makes it 1 on the server; an unset value reads the same here.
    return rs.spec.replicas if rs.spec.replicas is not None else 1


class ReplicaSetController:
    """Informers on ReplicaSets and Pods, a rate-limited queue of RS keys, workers."""

    def __init__(
        self,
        client: Client,
        factory: SharedInformerFactory,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.client = client
        self.rs_client = client.resource(appsv1.ReplicaSet)
        self.pod_client = client.resource(corev1.Pod)
        self.rs_informer = factory.for_resource(appsv1.ReplicaSet)
        self.pod_informer = factory.for_resource(corev1.Pod)
        self.rs_lister = factory.lister(appsv1.ReplicaSet)
        self.pod_lister = factory.lister(corev1.Pod)
        self.queue = RateLimitingQueue(name="replicaset")
        self.recorder = EventRecorder(client, "replicaset-controller")
        self.expectations = ControllerExpectations(self.queue.clock.now)
        self.wall = wall
        self.rs_informer.add_event_handler(
            ResourceEventHandlerFuncs(
                add_func=self.enqueue,
                update_func=lambda old, cur: self.enqueue(cur),
                delete_func=self.delete_rs,
            )
        )
        self.pod_informer.add_event_handler(
            ResourceEventHandlerFuncs(self.add_pod, self.update_pod, self.delete_pod)
        )

    def enqueue(self, rs: Any) -> None:
        self.queue.add(_key(rs))

    def delete_rs(self, obj: Any) -> None:
        rs = obj.obj if isinstance(obj, DeletedFinalStateUnknown) else obj
        self.expectations.delete_expectations(_key(rs))
        self.queue.add(_key(rs))

    def resolve_controller_ref(self, namespace: str, ref: metav1.OwnerReference) -> Any | None:
        if ref.kind != KIND[1]:
            return None
        rs = self.rs_informer.indexer.get_by_key(f"{namespace}/{ref.name}")
        return rs if rs is not None and rs.metadata.uid == ref.uid else None

    def get_pod_replica_sets(self, pod: corev1.Pod) -> list[appsv1.ReplicaSet]:
        """ReplicaSets whose selector matches an orphan pod (candidates to adopt it)."""
        out = []
        for rs in self.rs_lister.by_namespace(pod.metadata.namespace).list():
            selector = labels.label_selector_as_selector(rs.spec.selector)
            if not selector.empty() and selector.matches(pod.metadata.labels):
                out.append(rs)
        return out

    def add_pod(self, pod: corev1.Pod) -> None:
        if pod.metadata.deletion_timestamp is not None:
            # Seen for the first time already terminating (e.g. after a relist).
            self.delete_pod(pod)
            return
        ref = get_controller_of(pod)
        if ref is not None:
            rs = self.resolve_controller_ref(pod.metadata.namespace, ref)
            if rs is not None:
                self.expectations.creation_observed(_key(rs))
                self.enqueue(rs)
            return
        for rs in self.get_pod_replica_sets(pod):
            self.enqueue(rs)

    def update_pod(self, old: corev1.Pod, cur: corev1.Pod) -> None:
        if old.metadata.resource_version == cur.metadata.resource_version:
            return  # a resync: nothing changed
        label_changed = old.metadata.labels != cur.metadata.labels
        if cur.metadata.deletion_timestamp is not None:
            self.delete_pod(cur)
            if label_changed:
                self.delete_pod(old)
            return
        cur_ref, old_ref = get_controller_of(cur), get_controller_of(old)
        if old_ref is not None and old_ref != cur_ref:
            rs = self.resolve_controller_ref(old.metadata.namespace, old_ref)
            if rs is not None:
                self.enqueue(rs)
        if cur_ref is not None:
            rs = self.resolve_controller_ref(cur.metadata.namespace, cur_ref)
            if rs is not None:
                self.enqueue(rs)
            return
        if label_changed or old_ref != cur_ref:
            for rs in self.get_pod_replica_sets(cur):
                self.enqueue(rs)

    def delete_pod(self, obj: Any) -> None:
        pod = obj.obj if isinstance(obj, DeletedFinalStateUnknown) else obj
        if pod is None:
            return
        ref = get_controller_of(pod)
        if ref is None:
            return
        rs = self.resolve_controller_ref(pod.metadata.namespace, ref)
        if rs is None:
            return
        self.expectations.deletion_observed(_key(rs), _key(pod))
        self.enqueue(rs)

    async def run(self, workers: int) -> None:
        """Start workers after the caches sync; run until cancelled."""
        await wait_for_cache_sync(self.rs_informer, self.pod_informer)
        await run_workers(self.queue, self.sync_replica_set, workers, log)

    async def sync_replica_set(self, key: str) -> None:
        namespace, name = split_meta_namespace_key(key)
        rs = self.rs_informer.indexer.get_by_key(key)
        if rs is None:
            self.expectations.delete_expectations(key)
            return
        rs_needs_sync = self.expectations.satisfied_expectations(key)
        selector = labels.label_selector_as_selector(rs.spec.selector)
        all_pods = self.pod_lister.by_namespace(namespace).list()
        active = filter_active_pods(all_pods)
        ref = owner_reference(rs, *KIND)

        async def can_adopt() -> None:
            fresh = await self.rs_client.get(name, namespace)
            if fresh.metadata.uid != rs.metadata.uid:
                raise errors.new_conflict(
                    self.rs_client.gvr.group_resource, name, "original ReplicaSet is gone"
                )
            if fresh.metadata.deletion_timestamp is not None:
                raise errors.new_conflict(
                    self.rs_client.gvr.group_resource, name, "ReplicaSet is being deleted"
                )

        filtered = await claim_pods(self.pod_client, rs, ref, selector, active, can_adopt)
        manage_error: BaseException | None = None
        if rs_needs_sync and rs.metadata.deletion_timestamp is None:
            manage_error = await self.manage_replicas(filtered, rs, all_pods)
        status = calculate_status(rs, filtered, self.wall(), manage_error)
        updated = await update_replica_set_status(self.rs_client, rs, status)
        min_ready = rs.spec.min_ready_seconds
        replicas = replicas_of(rs)
        if (
            manage_error is None
            and min_ready > 0
            and updated.status.ready_replicas == replicas
            and updated.status.available_replicas != replicas
        ):
            # Nothing else will wake us when the pods become available: check back then.
            self.queue.add_after(key, float(min_ready))
        if manage_error is not None:
            raise manage_error

    async def manage_replicas(
        self, filtered: list[corev1.Pod], rs: appsv1.ReplicaSet, related: list[corev1.Pod]
    ) -> BaseException | None:
        """Create or delete pods so that len(filtered) == spec.replicas."""
        key = _key(rs)
        replicas = replicas_of(rs)
        diff = len(filtered) - replicas
        if diff < 0:
            diff = min(-diff, BURST_REPLICAS)
            # Expect before creating: the informer may report the pods before we return.
            self.expectations.expect_creations(key, diff)
            successes, err = await slow_start_batch(
                diff, SLOW_START_INITIAL_BATCH_SIZE, lambda: self.create_pod(rs)
            )
            skipped = diff - successes
            if skipped:
                # Creations that never happened will never be observed.
                self.expectations.lower_expectations(key, skipped)
            return err
        if diff > 0:
            diff = min(diff, BURST_REPLICAS)
            victims = get_pods_to_delete(filtered, related, diff)
            self.expectations.expect_deletions(key, [_key(p) for p in victims])
            results = await asyncio.gather(
                *(self.delete_pod_for(rs, p) for p in victims), return_exceptions=True
            )
            first: BaseException | None = None
            for pod, result in zip(victims, results, strict=True):
                if isinstance(result, BaseException):
                    self.expectations.deletion_observed(key, _key(pod))
                    if not (isinstance(result, errors.StatusError) and errors.is_not_found(result)):
                        first = first or result
            return first
        return None

    async def create_pod(self, rs: appsv1.ReplicaSet) -> None:
        """GetPodFromTemplate + CreatePods: template labels/annotations, controller ref."""
        template = rs.spec.template
        meta = metav1.ObjectMeta(
            generate_name=f"{rs.metadata.name}-",
            namespace=rs.metadata.namespace,
            labels=dict(template.metadata.labels),
            annotations=dict(template.metadata.annotations),
            finalizers=list(template.metadata.finalizers),
            owner_references=[owner_reference(rs, *KIND)],
        )
        try:
            pod = await self.pod_client.create(corev1.Pod(metadata=meta, spec=template.spec))
        except errors.StatusError as e:
            if errors.reason_for_error(e) == "Forbidden" and "being terminated" in str(e):
                return  # namespace terminating: creating is pointless, not an error
            await self.recorder.eventf(
                rs, EVENT_TYPE_WARNING, "FailedCreate", "Error creating: %s", e
            )
            raise
        await self.recorder.eventf(
            rs, EVENT_TYPE_NORMAL, "SuccessfulCreate", "Created pod: %s", pod.metadata.name
        )

    async def delete_pod_for(self, rs: appsv1.ReplicaSet, pod: corev1.Pod) -> None:
        """RealPodControl.DeletePod: delete, and say so in an Event."""
        name = pod.metadata.name
        try:
            await self.pod_client.delete(name, pod.metadata.namespace)
        except errors.StatusError as e:
            if not errors.is_not_found(e):
                await self.recorder.eventf(
                    rs, EVENT_TYPE_WARNING, "FailedDelete", "Error deleting: %s", e
                )
            raise
        await self.recorder.eventf(
            rs, EVENT_TYPE_NORMAL, "SuccessfulDelete", "Deleted pod: %s", name
        )
