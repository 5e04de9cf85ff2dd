"""Deployment status and history: what the controller reports and keeps.

Mirrors k8s.io/kubernetes/pkg/controller/deployment/sync.go (calculateStatus,
syncRolloutStatus's conditions, cleanupDeployment) and progress.go
(Progressing: NewReplicaSetCreated, FoundNewReplicaSet, ReplicaSetUpdated,
NewReplicaSetAvailable, ProgressDeadlineExceeded; Available:
MinimumReplicasAvailable / MinimumReplicasUnavailable). Pure.
Omitted: the ReplicaFailure condition.
"""

from __future__ import annotations

from datetime import datetime

from miniapi.apps import v1 as appsv1
from miniapi.base import replace
from minicontroller.deployment.util import (
    deployment_complete,
    deployment_progressing,
    deployment_timed_out,
    get_available_replica_count,
    get_condition,
    get_ready_replica_count,
    max_unavailable,
    new_condition,
    replicas,
    revision,
    set_condition,
)

__all__ = ["calculate_status", "old_replica_sets_to_delete", "rollout_status"]


def calculate_status(
    d: appsv1.Deployment,
    all_rss: list[appsv1.ReplicaSet],
    new_rs: appsv1.ReplicaSet | None,
    now: datetime,
) -> appsv1.DeploymentStatus:
    available = get_available_replica_count(all_rss)
    status = replace(
        d.status,
        observed_generation=d.metadata.generation or 0,
        replicas=sum(rs.status.replicas for rs in all_rss),
        updated_replicas=new_rs.status.replicas if new_rs is not None else 0,
        ready_replicas=get_ready_replica_count(all_rss),
        available_replicas=available,
        unavailable_replicas=max(replicas(d) - available, 0),
    )
    if available >= replicas(d) - max_unavailable(d):
        cond = new_condition(
            appsv1.DEPLOYMENT_AVAILABLE, "True", "MinimumReplicasAvailable",
            "Deployment has minimum availability.", now,
        )  # fmt: skip
    else:
        cond = new_condition(
            appsv1.DEPLOYMENT_AVAILABLE, "False", "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.", now,
        )  # fmt: skip
    return set_condition(status, cond)


def rollout_status(
    d: appsv1.Deployment,
    all_rss: list[appsv1.ReplicaSet],
    new_rs: appsv1.ReplicaSet | None,
    now: datetime,
) -> appsv1.DeploymentStatus:
    """calculate_status plus the Progressing condition (when a deadline is set)."""
    status = calculate_status(d, all_rss, new_rs, now)
    if d.spec.progress_deadline_seconds is None:
        return replace(
            status,
            conditions=[c for c in status.conditions if c.type != appsv1.DEPLOYMENT_PROGRESSING],
        )
    name = new_rs.metadata.name if new_rs is not None else ""
    current = get_condition(status, appsv1.DEPLOYMENT_PROGRESSING)
    if new_rs is not None and deployment_complete(d, status):
        cond = new_condition(
            appsv1.DEPLOYMENT_PROGRESSING, "True", "NewReplicaSetAvailable",
            f'ReplicaSet "{name}" has successfully progressed.', now,
        )  # fmt: skip
        return set_condition(status, cond)
    if new_rs is not None and deployment_progressing(d, status):
        cond = new_condition(
            appsv1.DEPLOYMENT_PROGRESSING, "True", "ReplicaSetUpdated",
            f'ReplicaSet "{name}" is progressing.', now,
        )  # fmt: skip
        if current is not None and current.status == "True":
            # Progress refreshes lastUpdateTime (the deadline's start), not the transition.
            cond = replace(cond, last_transition_time=current.last_transition_time)
        others = [c for c in status.conditions if c.type != appsv1.DEPLOYMENT_PROGRESSING]
        return replace(status, conditions=[*others, cond])
    if new_rs is not None and deployment_timed_out(d, status, now):
        cond = new_condition(
            appsv1.DEPLOYMENT_PROGRESSING, "False", "ProgressDeadlineExceeded",
            f'ReplicaSet "{name}" has timed out progressing.', now,
        )  # fmt: skip
        return set_condition(status, cond)
    return status


def old_replica_sets_to_delete(
    d: appsv1.Deployment, old_rss: list[appsv1.ReplicaSet]
) -> list[appsv1.ReplicaSet]:
    """Scaled-to-zero old sets beyond revisionHistoryLimit, oldest revision first."""
    limit = d.spec.revision_history_limit
    if limit is None:
        return []
    cleanable = [
        rs
        for rs in old_rss
        if rs.metadata.deletion_timestamp is None
        and (rs.spec.replicas or 0) == 0
        and rs.status.replicas == 0
        and rs.status.observed_generation >= (rs.metadata.generation or 0)
    ]
    diff = len(cleanable) - limit
    if diff <= 0:
        return []
    return sorted(cleanable, key=lambda rs: (revision(rs), rs.metadata.name))[:diff]
