"""Deployment arithmetic: template hashes, revisions, surge and unavailability.

Mirrors k8s.io/kubernetes/pkg/controller/deployment/util/deployment_util.go
(ComputeHash via controller.ComputeHash + rand.SafeEncodeString,
EqualIgnoreHash, FindNewReplicaSet, FindOldReplicaSets, Revision, MaxRevision,
SetNewReplicaSetAnnotations, ResolveFenceposts, MaxUnavailable, MaxSurge,
NewRSNewReplicas, GetReplicaCountForReplicaSets, GetAvailableReplicaCountForReplicaSets,
DeploymentComplete, DeploymentProgressing, DeploymentTimedOut, condition helpers).
Pure. The template hash hashes our canonical JSON of the template, so its
value differs from upstream's for the same template (same shape, same alphabet).
Omitted: proportional scaling's annotations beyond desired/max replicas.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta

import msgspec

from miniapi.apps import v1 as appsv1
from miniapi.base import replace
from miniapi.codec import enc_hook
from miniapi.core import v1 as corev1

__all__ = [
    "REVISION_ANNOTATION",
    "compute_hash",
    "equal_ignore_hash",
    "find_new_replica_set",
    "find_old_replica_sets",
    "max_revision",
    "max_surge",
    "max_unavailable",
    "new_rs_new_replicas",
    "resolve_fenceposts",
    "revision",
]

REVISION_ANNOTATION = "deployment.kubernetes.io/revision"
DESIRED_REPLICAS_ANNOTATION = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS_ANNOTATION = "deployment.kubernetes.io/max-replicas"
HASH_KEY = appsv1.DEFAULT_DEPLOYMENT_UNIQUE_LABEL_KEY
_ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"


def _fnv32a(data: bytes) -> int:
    h = 0x811C9DC5
    for b in data:
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return h


def safe_encode_string(s: str) -> str:
    """rand.SafeEncodeString: digits mapped onto letters that never spell words."""
    return "".join(_ALPHANUMS[ord(c) % len(_ALPHANUMS)] for c in s)


def compute_hash(template: corev1.PodTemplateSpec, collision_count: int | None) -> str:
    data = json.dumps(_plain(template), sort_keys=True)
    if collision_count:
        data += str(collision_count)
    return safe_encode_string(str(_fnv32a(data.encode())))


def _plain(template: corev1.PodTemplateSpec) -> object:
    return msgspec.to_builtins(template, enc_hook=enc_hook)


def _without_hash(t: corev1.PodTemplateSpec) -> corev1.PodTemplateSpec:
    lbls = {k: v for k, v in t.metadata.labels.items() if k != HASH_KEY}
    return replace(t, metadata=replace(t.metadata, labels=lbls))


def equal_ignore_hash(a: corev1.PodTemplateSpec, b: corev1.PodTemplateSpec) -> bool:
    return _without_hash(a) == _without_hash(b)


def find_new_replica_set(
    d: appsv1.Deployment, rs_list: list[appsv1.ReplicaSet]
) -> appsv1.ReplicaSet | None:
    """The oldest ReplicaSet whose template equals the Deployment's (ignoring the hash)."""
    for rs in sorted(rs_list, key=_created):
        if equal_ignore_hash(rs.spec.template, d.spec.template):
            return rs
    return None


def find_old_replica_sets(
    d: appsv1.Deployment, rs_list: list[appsv1.ReplicaSet]
) -> tuple[list[appsv1.ReplicaSet], list[appsv1.ReplicaSet]]:
    """(old sets that still have pods, all old sets)."""
    new = find_new_replica_set(d, rs_list)
    old = [rs for rs in rs_list if new is None or rs.metadata.uid != new.metadata.uid]
    return [rs for rs in old if (rs.spec.replicas or 0) != 0], old


def _created(rs: appsv1.ReplicaSet) -> tuple:
    t = rs.metadata.creation_timestamp
    return (t.timestamp() if t else 0.0, rs.metadata.name)


def revision(obj) -> int:
    try:
        return int(obj.metadata.annotations.get(REVISION_ANNOTATION, "0"))
    except ValueError:
        return 0


def max_revision(rs_list: list[appsv1.ReplicaSet]) -> int:
    return max((revision(rs) for rs in rs_list), default=0)


def _scaled(value: int | str | None, total: int, round_up: bool) -> int:
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    if value.endswith("%"):
        fraction = int(value[:-1]) * total / 100
        return math.ceil(fraction) if round_up else math.floor(fraction)
    return int(value)


def resolve_fenceposts(
    surge: int | str | None, unavailable: int | str | None, desired: int
) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) as pod counts; never both zero (then unavailable is 1)."""
    s = _scaled(surge, desired, True)
    u = _scaled(unavailable, desired, False)
    if s == 0 and u == 0:
        u = 1
    return s, u


def _rolling(d: appsv1.Deployment) -> appsv1.RollingUpdateDeployment:
    return d.spec.strategy.rolling_update or appsv1.RollingUpdateDeployment(
        max_surge="25%", max_unavailable="25%"
    )


def replicas(obj) -> int:
    return obj.spec.replicas if obj.spec.replicas is not None else 1


def max_unavailable(d: appsv1.Deployment) -> int:
    if d.spec.strategy.type != appsv1.ROLLING_UPDATE_DEPLOYMENT_STRATEGY or replicas(d) == 0:
        return 0
    r = _rolling(d)
    return min(resolve_fenceposts(r.max_surge, r.max_unavailable, replicas(d))[1], replicas(d))


def max_surge(d: appsv1.Deployment) -> int:
    if d.spec.strategy.type != appsv1.ROLLING_UPDATE_DEPLOYMENT_STRATEGY:
        return 0
    r = _rolling(d)
    return resolve_fenceposts(r.max_surge, r.max_unavailable, replicas(d))[0]


def get_replica_count(rs_list: list[appsv1.ReplicaSet]) -> int:
    return sum(rs.spec.replicas or 0 for rs in rs_list)


def get_actual_replica_count(rs_list: list[appsv1.ReplicaSet]) -> int:
    return sum(rs.status.replicas for rs in rs_list)


def get_available_replica_count(rs_list: list[appsv1.ReplicaSet]) -> int:
    return sum(rs.status.available_replicas for rs in rs_list)


def get_ready_replica_count(rs_list: list[appsv1.ReplicaSet]) -> int:
    return sum(rs.status.ready_replicas for rs in rs_list)


def new_rs_new_replicas(
    d: appsv1.Deployment, all_rss: list[appsv1.ReplicaSet], new_rs: appsv1.ReplicaSet
) -> int:
    """How many replicas the new set may have now: up to replicas+maxSurge pods in total."""
    if d.spec.strategy.type != appsv1.ROLLING_UPDATE_DEPLOYMENT_STRATEGY:
        return replicas(d)
    current = get_replica_count(all_rss)
    max_total = replicas(d) + max_surge(d)
    if current >= max_total:
        return new_rs.spec.replicas or 0
    scale_up = min(max_total - current, replicas(d) - (new_rs.spec.replicas or 0))
    return (new_rs.spec.replicas or 0) + max(scale_up, 0)


def deployment_complete(d: appsv1.Deployment, status: appsv1.DeploymentStatus) -> bool:
    return (
        status.updated_replicas == replicas(d)
        and status.replicas == replicas(d)
        and status.available_replicas == replicas(d)
        and status.observed_generation >= (d.metadata.generation or 0)
    )


def deployment_progressing(d: appsv1.Deployment, status: appsv1.DeploymentStatus) -> bool:
    old = d.status
    old_count = old.replicas - old.updated_replicas
    new_count = status.replicas - status.updated_replicas
    return (
        status.updated_replicas > old.updated_replicas
        or new_count < old_count
        or status.ready_replicas > old.ready_replicas
        or status.available_replicas > old.available_replicas
    )


def get_condition(status: appsv1.DeploymentStatus, kind: str) -> appsv1.DeploymentCondition | None:
    return next((c for c in status.conditions if c.type == kind), None)


def set_condition(
    status: appsv1.DeploymentStatus, cond: appsv1.DeploymentCondition
) -> appsv1.DeploymentStatus:
    """Replace the condition of that type; keep lastTransitionTime if status is unchanged."""
    current = get_condition(status, cond.type)
    if current is not None and current.status == cond.status and current.reason == cond.reason:
        return status
    if current is not None and current.status == cond.status:
        cond = replace(cond, last_transition_time=current.last_transition_time)
    others = [c for c in status.conditions if c.type != cond.type]
    return replace(status, conditions=[*others, cond])


def new_condition(kind: str, status: str, reason: str, message: str, now: datetime):
    return appsv1.DeploymentCondition(
        type=kind,
        status=status,
        reason=reason,
        message=message,
        last_update_time=now,
        last_transition_time=now,
    )


def deployment_timed_out(
    d: appsv1.Deployment, status: appsv1.DeploymentStatus, now: datetime
) -> bool:
    deadline = d.spec.progress_deadline_seconds
    cond = get_condition(status, appsv1.DEPLOYMENT_PROGRESSING)
    if deadline is None or cond is None or cond.reason == "NewReplicaSetAvailable":
        return False
    if cond.reason == "ProgressDeadlineExceeded":
        return True
    since = cond.last_update_time
    return since is not None and since + timedelta(seconds=deadline) < now
