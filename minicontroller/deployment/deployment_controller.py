"""The Deployment controller: roll a pod template out through ReplicaSets.

Mirrors k8s.io/kubernetes/pkg/controller/deployment/deployment_controller.go
(handlers addReplicaSet/updateReplicaSet/deleteReplicaSet, syncDeployment,
getReplicaSetsForDeployment) and sync.go (getAllReplicaSetsAndSyncRevision,
getNewReplicaSet with pod-template-hash and revision annotations,
scaleReplicaSet with its ScalingReplicaSet event, sync for paused deployments
and resizes, cleanupDeployment); the scaling decisions are in
rolling.py and scale.py (proportional scaling), status and history in sync.py.
Rollback is kubectl's job (`rollout undo` copies an old ReplicaSet's template
into the Deployment), as in current upstream.
Omitted: the deprecated rollbackTo field.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from miniapi import errors, labels
from miniapi.apps import v1 as appsv1
from miniapi.base import replace
from miniapi.meta import v1 as metav1
from miniclient.cache.controller import ResourceEventHandlerFuncs
from miniclient.cache.shared_informer import wait_for_cache_sync
from miniclient.cache.store import DeletedFinalStateUnknown
from miniclient.informers import SharedInformerFactory
from miniclient.record import EVENT_TYPE_NORMAL, EventRecorder
from miniclient.rest import Client
from miniclient.workqueue import RateLimitingQueue
from minicontroller.controller_ref_manager import claim_pods, owner_reference
from minicontroller.controller_utils import get_controller_of
from minicontroller.deployment import util
from minicontroller.deployment.rolling import (
    reconcile_new_replica_set,
    reconcile_old_replica_sets,
)
from minicontroller.deployment.scale import is_scaling_event, plan_scale
from minicontroller.deployment.sync import old_replica_sets_to_delete, rollout_status
from minicontroller.worker import run_workers

__all__ = ["DeploymentController"]

log = logging.getLogger("minicontroller.deployment")


def _key(obj: Any) -> str:
    return f"{obj.metadata.namespace}/{obj.metadata.name}"


class DeploymentController:
    """Informers on Deployments and ReplicaSets; a queue of Deployment keys."""

    def __init__(
        self,
        client: Client,
        factory: SharedInformerFactory,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.d_client = client.resource(appsv1.Deployment)
        self.rs_client = client.resource(appsv1.ReplicaSet)
        self.d_informer = factory.for_resource(appsv1.Deployment)
        self.rs_informer = factory.for_resource(appsv1.ReplicaSet)
        self.d_lister = factory.lister(appsv1.Deployment)
        self.rs_lister = factory.lister(appsv1.ReplicaSet)
        self.queue = RateLimitingQueue(name="deployment")
        self.recorder = EventRecorder(client, "deployment-controller")
        self.wall = wall
        enqueue = self.enqueue
        self.d_informer.add_event_handler(
            ResourceEventHandlerFuncs(enqueue, lambda old, cur: enqueue(cur), enqueue)
        )
        self.rs_informer.add_event_handler(
            ResourceEventHandlerFuncs(self.on_rs, self.on_rs_update, self.on_rs)
        )

    def enqueue(self, obj: Any) -> None:
        d = obj.obj if isinstance(obj, DeletedFinalStateUnknown) else obj
        self.queue.add(_key(d))

    def _owner_key(self, rs: appsv1.ReplicaSet) -> str | None:
        ref = get_controller_of(rs)
        if ref is None or ref.kind != "Deployment":
            return None
        d = self.d_informer.indexer.get_by_key(f"{rs.metadata.namespace}/{ref.name}")
        return _key(d) if d is not None and d.metadata.uid == ref.uid else None

    def _deployments_for(self, rs: appsv1.ReplicaSet) -> list[str]:
        out = []
        for d in self.d_lister.by_namespace(rs.metadata.namespace).list():
            sel = labels.label_selector_as_selector(d.spec.selector)
            if not sel.empty() and sel.matches(rs.metadata.labels):
                out.append(_key(d))
        return out

    def on_rs(self, obj: Any) -> None:
        rs = obj.obj if isinstance(obj, DeletedFinalStateUnknown) else obj
        if rs is None:
            return
        key = self._owner_key(rs)
        keys = [key] if key else ([] if get_controller_of(rs) else self._deployments_for(rs))
        for k in keys:
            self.queue.add(k)

    def on_rs_update(self, old: appsv1.ReplicaSet, cur: appsv1.ReplicaSet) -> None:
        if old.metadata.resource_version == cur.metadata.resource_version:
            return
        for rs in (old, cur):
            self.on_rs(rs)

    async def run(self, workers: int) -> None:
        await wait_for_cache_sync(self.d_informer, self.rs_informer)
        await run_workers(self.queue, self.sync_deployment, workers, log)

    async def get_replica_sets_for_deployment(self, d: appsv1.Deployment) -> list:
        """The ReplicaSets d controls, adopting matching orphans and releasing strays."""
        selector = labels.label_selector_as_selector(d.spec.selector)
        rss = self.rs_lister.by_namespace(d.metadata.namespace).list()

        async def can_adopt() -> None:
            fresh = await self.d_client.get(d.metadata.name, d.metadata.namespace)
            if fresh.metadata.uid != d.metadata.uid or fresh.metadata.deletion_timestamp:
                raise errors.new_conflict(
                    self.d_client.gvr.group_resource, d.metadata.name, "cannot adopt"
                )

        ref = owner_reference(d, "apps/v1", "Deployment")
        return await claim_pods(self.rs_client, d, ref, selector, rss, can_adopt)

    async def sync_deployment(self, key: str) -> None:
        d = self.d_informer.indexer.get_by_key(key)
        if d is None:
            return
        if not d.spec.selector or labels.label_selector_as_selector(d.spec.selector).empty():
            return  # upstream: an empty selector matches everything; refuse to act
        rs_list = await self.get_replica_sets_for_deployment(d)
        if d.metadata.deletion_timestamp is not None:
            await self.sync_status(d, rs_list, create=False)
            return
        if d.spec.paused or await self.is_scaling_event(d, rs_list):
            await self.sync(d, rs_list)
        elif d.spec.strategy.type == appsv1.RECREATE_DEPLOYMENT_STRATEGY:
            await self.rollout_recreate(d, rs_list)
        else:
            await self.rollout_rolling(d, rs_list)

    async def get_all_replica_sets(self, d, rs_list, create: bool):
        _, all_old = util.find_old_replica_sets(d, rs_list)
        new_rs = await self.get_new_replica_set(d, rs_list, all_old, create)
        return new_rs, [
            rs for rs in all_old if new_rs is None or rs.metadata.uid != new_rs.metadata.uid
        ]

    async def get_new_replica_set(self, d, rs_list, old_rss, create: bool):
        """The set for the current template, its revision bumped; created if asked."""
        existing = util.find_new_replica_set(d, rs_list)
        new_revision = str(util.max_revision(old_rss) + 1)
        if existing is not None:
            if util.revision(existing) < int(new_revision):
                annotations = {
                    **existing.metadata.annotations,
                    util.REVISION_ANNOTATION: new_revision,
                }
                meta = replace(existing.metadata, annotations=annotations)
                return await self.rs_client.update(replace(existing, metadata=meta))
            return existing
        if not create:
            return None
        template_hash = util.compute_hash(d.spec.template, d.status.collision_count)
        lbls = {**d.spec.template.metadata.labels, util.HASH_KEY: template_hash}
        template = replace(d.spec.template, metadata=replace(d.spec.template.metadata, labels=lbls))
        selector = replace(
            d.spec.selector,
            match_labels={**d.spec.selector.match_labels, util.HASH_KEY: template_hash},
        )
        new_rs = appsv1.ReplicaSet(
            metadata=metav1.ObjectMeta(
                name=f"{d.metadata.name}-{template_hash}",
                namespace=d.metadata.namespace,
                labels=lbls,
                owner_references=[owner_reference(d, "apps/v1", "Deployment")],
                annotations=self._replica_annotations(d, new_revision),
            ),
            spec=appsv1.ReplicaSetSpec(
                replicas=0,
                min_ready_seconds=d.spec.min_ready_seconds,
                selector=selector,
                template=template,
            ),
        )
        new_rs = replace(
            new_rs, spec=replace(new_rs.spec, replicas=util.new_rs_new_replicas(d, old_rss, new_rs))
        )
        try:
            return await self.rs_client.create(new_rs)
        except errors.StatusError as e:
            if not errors.is_already_exists(e):
                raise
            found = await self.rs_client.get(new_rs.metadata.name, d.metadata.namespace)
            owner = get_controller_of(found)
            if (
                owner is not None
                and owner.uid == d.metadata.uid
                and util.equal_ignore_hash(found.spec.template, d.spec.template)
            ):
                return found
            # A hash collision: bump collisionCount so the next sync picks another name.
            bumped = replace(d.status, collision_count=(d.status.collision_count or 0) + 1)
            await self.d_client.update_status(replace(d, status=bumped))
            raise

    def _replica_annotations(self, d, revision: str) -> dict[str, str]:
        return {
            util.REVISION_ANNOTATION: revision,
            util.DESIRED_REPLICAS_ANNOTATION: str(util.replicas(d)),
            util.MAX_REPLICAS_ANNOTATION: str(util.replicas(d) + util.max_surge(d)),
        }

    async def scale_replica_set(self, rs, count: int, d) -> None:
        """Resize rs and stamp the Deployment's size on it; an event when the size moved."""
        annotations = {
            **rs.metadata.annotations,
            util.DESIRED_REPLICAS_ANNOTATION: str(util.replicas(d)),
            util.MAX_REPLICAS_ANNOTATION: str(util.replicas(d) + util.max_surge(d)),
        }
        old = rs.spec.replicas or 0
        if old == count and annotations == rs.metadata.annotations:
            return
        updated = replace(
            rs,
            metadata=replace(rs.metadata, annotations=annotations),
            spec=replace(rs.spec, replicas=count),
        )
        await self.rs_client.update(updated)
        if old != count:
            await self.recorder.eventf(
                d, EVENT_TYPE_NORMAL, "ScalingReplicaSet", "Scaled %s replica set %s from %d to %d",
                "up" if old < count else "down", rs.metadata.name, old, count,
            )  # fmt: skip

    async def is_scaling_event(self, d, rs_list) -> bool:
        new_rs, old_rss = await self.get_all_replica_sets(d, rs_list, create=False)
        return is_scaling_event(d, [*old_rss, new_rs])

    async def sync(self, d, rs_list) -> None:
        """A paused Deployment or a resize: scale the active sets proportionally, no rollout."""
        new_rs, old_rss = await self.get_all_replica_sets(d, rs_list, create=False)
        all_rss = [*old_rss, *([new_rs] if new_rs else [])]
        sizes = plan_scale(d, new_rs, old_rss)
        for rs in all_rss:
            if rs.metadata.uid in sizes:
                await self.scale_replica_set(rs, sizes[rs.metadata.uid], d)
        if d.spec.paused:
            await self.cleanup_deployment(d, old_rss)
        await self.sync_rollout_status(d, all_rss, new_rs)

    async def rollout_rolling(self, d, rs_list) -> None:
        new_rs, old_rss = await self.get_all_replica_sets(d, rs_list, create=True)
        all_rss = [*old_rss, new_rs]
        wanted = reconcile_new_replica_set(d, all_rss, new_rs)
        if wanted is not None:
            await self.scale_replica_set(new_rs, wanted, d)
            await self.sync_rollout_status(d, all_rss, new_rs)
            return
        active_old = [rs for rs in old_rss if (rs.spec.replicas or 0) > 0]
        downs = reconcile_old_replica_sets(d, all_rss, active_old, new_rs)
        for rs in active_old:
            if rs.metadata.uid in downs:
                await self.scale_replica_set(rs, downs[rs.metadata.uid], d)
        if downs:
            await self.sync_rollout_status(d, all_rss, new_rs)
            return
        await self.finish(d, all_rss, old_rss, new_rs)

    async def rollout_recreate(self, d, rs_list) -> None:
        new_rs, old_rss = await self.get_all_replica_sets(d, rs_list, create=False)
        active_old = [rs for rs in old_rss if (rs.spec.replicas or 0) > 0]
        for rs in active_old:
            await self.scale_replica_set(rs, 0, d)
        if active_old or any(rs.status.replicas > 0 for rs in old_rss):
            # Recreate: no new pod starts while an old one still runs.
            await self.sync_rollout_status(d, [*old_rss, *([new_rs] if new_rs else [])], new_rs)
            return
        if new_rs is None:
            new_rs, old_rss = await self.get_all_replica_sets(d, rs_list, create=True)
        if (new_rs.spec.replicas or 0) != util.replicas(d):
            await self.scale_replica_set(new_rs, util.replicas(d), d)
            await self.sync_rollout_status(d, [*old_rss, new_rs], new_rs)
            return
        await self.finish(d, [*old_rss, new_rs], old_rss, new_rs)

    async def finish(self, d, all_rss, old_rss, new_rs) -> None:
        status = rollout_status(d, all_rss, new_rs, self.wall())
        if util.deployment_complete(d, status):
            await self.cleanup_deployment(d, old_rss)
        await self.sync_rollout_status(d, all_rss, new_rs)

    async def cleanup_deployment(self, d, old_rss) -> None:
        for rs in old_replica_sets_to_delete(d, old_rss):
            try:
                await self.rs_client.delete(rs.metadata.name, rs.metadata.namespace)
            except errors.StatusError as e:
                if not errors.is_not_found(e):
                    raise

    async def sync_status(self, d, rs_list, create: bool) -> None:
        new_rs, old_rss = await self.get_all_replica_sets(d, rs_list, create=create)
        await self.sync_rollout_status(d, [*old_rss, *([new_rs] if new_rs else [])], new_rs)

    async def sync_rollout_status(self, d, all_rss, new_rs) -> None:
        status = rollout_status(d, all_rss, new_rs, self.wall())
        deadline = d.spec.progress_deadline_seconds
        if deadline and not util.deployment_complete(d, status) and not d.spec.paused:
            # Nothing else wakes us when the deadline passes: check back then.
            self.queue.add_after(_key(d), float(deadline))
        if new_rs is not None:
            d = await self.sync_revision_annotation(d, new_rs)
        if status != d.status:
            await self.d_client.update_status(replace(d, status=status))

    async def sync_revision_annotation(self, d, new_rs):
        """The Deployment carries its current revision (SetDeploymentRevision)."""
        want = new_rs.metadata.annotations.get(util.REVISION_ANNOTATION)
        if not want or d.metadata.annotations.get(util.REVISION_ANNOTATION) == want:
            return d
        annotations = {**d.metadata.annotations, util.REVISION_ANNOTATION: want}
        return await self.d_client.update(
            replace(d, metadata=replace(d.metadata, annotations=annotations))
        )
