"""The pure decision of the taint eviction controller: when must a pod go.

Mirrors k8s.io/kubernetes/pkg/controller/tainteviction/taint_eviction.go
(getNoExecuteTaints, getMinTolerationTime, processPodOnNode) and the toleration
matching of k8s.io/api/core/v1/toleration.go (ToleratesTaint). A pod that does
not tolerate every NoExecute taint of its node is evicted now; one that does is
evicted after the smallest tolerationSeconds among the matching tolerations,
counted from when its eviction was first scheduled; never if none sets seconds.
Omitted: events and the pod DisruptionTarget condition written before deletion.
"""

from __future__ import annotations

from collections.abc import Sequence

from miniapi.core.v1 import Pod, Taint, Toleration

NO_EXECUTE = "NoExecute"


def tolerates_taint(toleration: Toleration, taint: Taint) -> bool:
    """ToleratesTaint: effect, key and (for Equal) value must match; empty means any."""
    if toleration.effect and toleration.effect != taint.effect:
        return False
    if toleration.key and toleration.key != taint.key:
        return False
    if toleration.operator in ("", "Equal"):
        return toleration.value == taint.value
    return toleration.operator == "Exists"


def get_no_execute_taints(taints: Sequence[Taint]) -> list[Taint]:
    return [t for t in taints if t.effect == NO_EXECUTE]


def get_matching_tolerations(
    taints: Sequence[Taint], tolerations: Sequence[Toleration]
) -> list[Toleration] | None:
    """The tolerations matching some taint, or None if one taint is not tolerated."""
    matching: list[Toleration] = []
    for taint in taints:
        found = [t for t in tolerations if tolerates_taint(t, taint)]
        if not found:
            return None
        matching.extend(found)
    return matching


def get_min_toleration_time(tolerations: Sequence[Toleration]) -> float:
    """Smallest tolerationSeconds (0 if negative); -1 means tolerated forever."""
    seconds = [t.toleration_seconds for t in tolerations if t.toleration_seconds is not None]
    if not seconds:
        return -1.0
    return float(max(0, min(seconds)))


def eviction_delay(pod: Pod, taints: Sequence[Taint]) -> float | None:
    """Seconds until the pod must be deleted; None if it may stay (no timer at all)."""
    no_execute = get_no_execute_taints(taints)
    if not no_execute:
        return None
    matching = get_matching_tolerations(no_execute, pod.spec.tolerations)
    if matching is None:
        return 0.0
    delay = get_min_toleration_time(matching)
    return None if delay < 0 else delay


def eviction_time(scheduled_at: float | None, now: float, delay: float | None) -> float | None:
    """processPodOnNode: fire time of the pod's timer; an earlier schedule keeps its start."""
    if delay is None:
        return None
    start = now if scheduled_at is None else scheduled_at
    return start + delay
