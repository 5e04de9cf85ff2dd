"""Proportional scaling: a Deployment resized while several ReplicaSets are active.

Mirrors k8s.io/kubernetes/pkg/controller/deployment/sync.go (isScalingEvent,
scale) and util/deployment_util.go (FindActiveOrLatest, IsSaturated,
GetProportion, getReplicaSetFraction), with controller_utils.go's
ReplicaSetsBySizeNewer / ReplicaSetsBySizeOlder orderings.

Why proportional: mid-rollout, `kubectl scale --replicas=20` on a Deployment
with an old set of 8 and a new set of 5 should not pour all the new pods into
one of them (that would silently speed up or undo the rollout). Each active set
grows by its share, computed from the max-replicas annotation that records the
size the Deployment had when the set was last scaled; the rounding leftover
goes to the largest set. Pure: returns {rs uid: replicas}; the controller writes.
"""

from __future__ import annotations

from miniapi.apps import v1 as appsv1
from minicontroller.deployment.util import (
    DESIRED_REPLICAS_ANNOTATION,
    MAX_REPLICAS_ANNOTATION,
    max_surge,
    replicas,
)

__all__ = ["find_active_or_latest", "is_saturated", "is_scaling_event", "plan_scale"]


def _annotation_int(rs: appsv1.ReplicaSet, key: str) -> int | None:
    try:
        return int(rs.metadata.annotations[key])
    except (KeyError, ValueError):
        return None


def _active(rss: list[appsv1.ReplicaSet | None]) -> list[appsv1.ReplicaSet]:
    """FilterActiveReplicaSets: the sets asking for at least one pod."""
    return [rs for rs in rss if rs is not None and (rs.spec.replicas or 0) > 0]


def _created(rs: appsv1.ReplicaSet) -> tuple[float, str]:
    t = rs.metadata.creation_timestamp
    return (t.timestamp() if t else 0.0, rs.metadata.name)


def is_scaling_event(d: appsv1.Deployment, rss: list[appsv1.ReplicaSet | None]) -> bool:
    """True when an active set was last scaled for a different Deployment size."""
    for rs in _active(rss):
        desired = _annotation_int(rs, DESIRED_REPLICAS_ANNOTATION)
        if desired is not None and desired != replicas(d):
            return True
    return False


def find_active_or_latest(
    new_rs: appsv1.ReplicaSet | None, old_rss: list[appsv1.ReplicaSet]
) -> appsv1.ReplicaSet | None:
    """The one active set, else the new one, else the newest old one; None if several."""
    if new_rs is None and not old_rss:
        return None
    newest_first = sorted(old_rss, key=_created, reverse=True)
    active = _active([*newest_first, new_rs])
    if len(active) == 1:
        return active[0]
    if not active:
        return new_rs if new_rs is not None else newest_first[0]
    return None


def is_saturated(d: appsv1.Deployment, rs: appsv1.ReplicaSet | None) -> bool:
    """The set alone runs the whole Deployment, all of it available."""
    if rs is None:
        return False
    want = replicas(d)
    return (
        (rs.spec.replicas or 0) == want
        and _annotation_int(rs, DESIRED_REPLICAS_ANNOTATION) == want
        and rs.status.available_replicas == want
    )


def _round_half_away(x: float) -> int:
    """Go's math.Round, not Python's banker's round()."""
    return int(x + 0.5) if x >= 0 else -int(-x + 0.5)


def get_replica_set_fraction(rs: appsv1.ReplicaSet, d: appsv1.Deployment) -> int:
    """How many replicas rs should gain (or lose) for the Deployment's new size."""
    size = rs.spec.replicas or 0
    if replicas(d) == 0:
        return -size
    deployment_replicas = replicas(d) + max_surge(d)
    annotated = _annotation_int(rs, MAX_REPLICAS_ANNOTATION)
    if annotated is None:
        annotated = d.status.replicas
    if annotated == 0:
        return 0  # Go divides to +Inf and its int32 conversion is undefined; stay put
    return _round_half_away(size * deployment_replicas / annotated) - size


def get_proportion(rs: appsv1.ReplicaSet, d: appsv1.Deployment, to_add: int, added: int) -> int:
    """rs's share of to_add, never overshooting what is left to hand out."""
    if (rs.spec.replicas or 0) == 0 or to_add == 0 or to_add == added:
        return 0
    fraction = get_replica_set_fraction(rs, d)
    allowed = to_add - added
    return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)


def _order(rss: list[appsv1.ReplicaSet], newer_first: bool) -> list[appsv1.ReplicaSet]:
    """BySizeNewer (scaling up) or BySizeOlder (scaling down): largest first."""
    by_age = sorted(rss, key=_created, reverse=newer_first)
    return sorted(by_age, key=lambda rs: -(rs.spec.replicas or 0))


def plan_scale(
    d: appsv1.Deployment, new_rs: appsv1.ReplicaSet | None, old_rss: list[appsv1.ReplicaSet]
) -> dict[str, int]:
    """sync.go scale(): the replica count each set should have, by uid."""
    target = find_active_or_latest(new_rs, old_rss)
    if target is not None:
        return {target.metadata.uid: replicas(d)}
    if is_saturated(d, new_rs):
        return {rs.metadata.uid: 0 for rs in _active(old_rss)}
    if d.spec.strategy.type != appsv1.ROLLING_UPDATE_DEPLOYMENT_STRATEGY:
        return {}
    active = _active([*old_rss, new_rs])
    allowed_size = replicas(d) + max_surge(d) if replicas(d) > 0 else 0
    to_add = allowed_size - sum(rs.spec.replicas or 0 for rs in active)
    if to_add == 0:
        return {rs.metadata.uid: rs.spec.replicas or 0 for rs in active}
    ordered = _order(active, newer_first=to_add > 0)
    sizes: dict[str, int] = {}
    added = 0
    for rs in ordered:
        share = get_proportion(rs, d, to_add, added)
        sizes[rs.metadata.uid] = (rs.spec.replicas or 0) + share
        added += share
    largest = ordered[0].metadata.uid
    sizes[largest] = max(sizes[largest] + to_add - added, 0)
    return sizes
