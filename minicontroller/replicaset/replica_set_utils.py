"""ReplicaSet status: counting replicas, and writing the status subresource.

Mirrors k8s.io/kubernetes/pkg/controller/replicaset/replica_set_utils.go
(calculateStatus with its ReplicaFailure condition, updateReplicaSetStatus)
and podutil.IsPodAvailable.
A pod is available once it has been Ready for minReadySeconds; the status is
written only when it changed, retrying once against a fresh copy on conflict.
Omitted: terminatingReplicas.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from miniapi import errors
from miniapi.apps import v1 as appsv1
from miniapi.base import replace
from miniapi.core import v1 as corev1
from miniclient.rest import ResourceClient

__all__ = ["calculate_status", "is_pod_available", "update_replica_set_status"]

STATUS_UPDATE_RETRIES = 1


def is_pod_available(pod: corev1.Pod, min_ready_seconds: int, now: datetime) -> bool:
    for c in pod.status.conditions:
        if c.type == "Ready" and c.status == "True":
            if min_ready_seconds == 0:
                return True
            since = c.last_transition_time
            return since is not None and since + timedelta(seconds=min_ready_seconds) <= now
    return False


def calculate_status(
    rs: appsv1.ReplicaSet,
    filtered_pods: list[corev1.Pod],
    now: datetime,
    manage_error: BaseException | None = None,
) -> appsv1.ReplicaSetStatus:
    """Counts over the active pods the set owns, and ReplicaFailure while writes fail."""
    template_labels = rs.spec.template.metadata.labels
    fully_labeled = ready = available = 0
    for pod in filtered_pods:
        if all(pod.metadata.labels.get(k) == v for k, v in template_labels.items()):
            fully_labeled += 1
        if any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions):
            ready += 1
            if is_pod_available(pod, rs.spec.min_ready_seconds, now):
                available += 1
    return replace(
        rs.status,
        replicas=len(filtered_pods),
        fully_labeled_replicas=fully_labeled,
        ready_replicas=ready,
        available_replicas=available,
        conditions=_failure_conditions(rs, len(filtered_pods), now, manage_error),
    )


def _failure_conditions(
    rs: appsv1.ReplicaSet, active: int, now: datetime, manage_error: BaseException | None
) -> list[appsv1.ReplicaSetCondition]:
    """Set ReplicaFailure on the first failed create/delete; clear it once writes succeed."""
    others = [c for c in rs.status.conditions if c.type != appsv1.REPLICA_SET_REPLICA_FAILURE]
    current = [c for c in rs.status.conditions if c.type == appsv1.REPLICA_SET_REPLICA_FAILURE]
    if manage_error is None:
        return others
    if current:
        return rs.status.conditions
    wanted = rs.spec.replicas if rs.spec.replicas is not None else 1
    reason = "FailedCreate" if active < wanted else "FailedDelete"
    cond = appsv1.ReplicaSetCondition(
        type=appsv1.REPLICA_SET_REPLICA_FAILURE,
        status="True",
        last_transition_time=now,
        reason=reason,
        message=str(manage_error),
    )
    return [*others, cond]


async def update_replica_set_status(
    client: ResourceClient, rs: appsv1.ReplicaSet, new_status: appsv1.ReplicaSetStatus
) -> appsv1.ReplicaSet:
    """PUT status if it changed (observedGeneration included); refetch once on conflict."""
    new_status = replace(new_status, observed_generation=rs.metadata.generation or 0)
    if rs.status == new_status:
        return rs
    for attempt in range(STATUS_UPDATE_RETRIES + 1):
        try:
            return await client.update_status(replace(rs, status=new_status))
        except errors.StatusError as e:
            if not errors.is_conflict(e) or attempt == STATUS_UPDATE_RETRIES:
                raise
            rs = await client.get(rs.metadata.name, rs.metadata.namespace)
            new_status = replace(new_status, observed_generation=rs.metadata.generation or 0)
    return rs
