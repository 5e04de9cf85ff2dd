"""Rolling update and recreate: which ReplicaSet to scale, and by how much.

Mirrors k8s.io/kubernetes/pkg/controller/deployment/rolling.go
(rolloutRolling, reconcileNewReplicaSet, reconcileOldReplicaSets,
cleanupUnhealthyReplicas, scaleDownOldReplicaSetsForRollingUpdate) and
recreate.go (rolloutRecreate). Pure planning: each function takes the
Deployment and its ReplicaSets and returns the new replica counts wanted, as
{rs uid: replicas}; the controller writes them.
Invariant of a rolling update: the sum of spec.replicas never exceeds
replicas + maxSurge, and old pods are only scaled down while at least
replicas - maxUnavailable pods stay available.
Omitted: proportional scaling of several active sets when replicas change mid-rollout.
"""

from __future__ import annotations

from miniapi.apps import v1 as appsv1
from minicontroller.deployment.util import (
    get_available_replica_count,
    get_replica_count,
    max_unavailable,
    new_rs_new_replicas,
    replicas,
)

__all__ = ["reconcile_new_replica_set", "reconcile_old_replica_sets"]


def _by_age(rss: list[appsv1.ReplicaSet]) -> list[appsv1.ReplicaSet]:
    def key(rs):
        t = rs.metadata.creation_timestamp
        return (t.timestamp() if t else 0.0, rs.metadata.name)

    return sorted(rss, key=key)


def reconcile_new_replica_set(
    d: appsv1.Deployment, all_rss: list[appsv1.ReplicaSet], new_rs: appsv1.ReplicaSet
) -> int | None:
    """The new set's next replica count, or None when it is already right."""
    current = new_rs.spec.replicas or 0
    if current == replicas(d):
        return None
    if current > replicas(d):
        return replicas(d)
    wanted = new_rs_new_replicas(d, all_rss, new_rs)
    return None if wanted == current else wanted


def reconcile_old_replica_sets(
    d: appsv1.Deployment,
    all_rss: list[appsv1.ReplicaSet],
    old_rss: list[appsv1.ReplicaSet],
    new_rs: appsv1.ReplicaSet,
) -> dict[str, int]:
    """Scale-downs of old sets allowed now: unhealthy replicas first, then by age."""
    if get_replica_count(old_rss) == 0:
        return {}
    all_pods = get_replica_count(all_rss)
    min_available = replicas(d) - max_unavailable(d)
    new_unavailable = (new_rs.spec.replicas or 0) - new_rs.status.available_replicas
    max_scaled_down = all_pods - min_available - new_unavailable
    if max_scaled_down <= 0:
        return {}
    counts = {rs.metadata.uid: rs.spec.replicas or 0 for rs in old_rss}
    # Old replicas that are not available cost no availability: remove them first.
    cleaned = 0
    for rs in _by_age(old_rss):
        if cleaned >= max_scaled_down:
            break
        unhealthy = (rs.spec.replicas or 0) - rs.status.available_replicas
        if unhealthy <= 0:
            continue
        n = min(max_scaled_down - cleaned, unhealthy)
        counts[rs.metadata.uid] -= n
        cleaned += n
    available = get_available_replica_count(all_rss)
    budget = available - min_available
    for rs in _by_age(old_rss):
        if budget <= 0:
            break
        n = min(counts[rs.metadata.uid], budget)
        counts[rs.metadata.uid] -= n
        budget -= n
    return {uid: c for uid, c in counts.items() if c != _spec(old_rss, uid)}


def _spec(rss: list[appsv1.ReplicaSet], uid: str) -> int:
    return next(rs.spec.replicas or 0 for rs in rss if rs.metadata.uid == uid)
