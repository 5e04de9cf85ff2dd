"""Helpers every workload controller shares: expectations, pod ranking, slow start.

Mirrors k8s.io/kubernetes/pkg/controller/controller_utils.go
(ControllerExpectations, UIDTrackingControllerExpectations with its
ExpectationsTimeout, SlowStartBatch, FilterActivePods, IsPodActive,
ActivePodsWithRanks.Less, GetPodFromTemplate's labels and owner references).
Expectations exist because the informer cache lags the writes a controller
makes: after asking for N creations, the controller does not act again until
its informer has seen them (or five minutes pass), so it never over-creates.
Omitted: the readiness-time buckets in the ranking, the pod-deletion-cost
annotation, PodControl's event recording.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from miniapi.core import v1 as corev1
from miniapi.meta import v1 as metav1

__all__ = [
    "EXPECTATIONS_TIMEOUT",
    "ControllerExpectations",
    "filter_active_pods",
    "get_controller_of",
    "is_pod_active",
    "is_pod_ready",
    "pod_deletion_rank",
    "slow_start_batch",
]

EXPECTATIONS_TIMEOUT = 5 * 60.0
SLOW_START_INITIAL_BATCH_SIZE = 1


@dataclass
class _Expectee:
    add: int = 0
    delete_keys: set[str] = field(default_factory=set)
    timestamp: float = 0.0

    def fulfilled(self) -> bool:
        return self.add <= 0 and not self.delete_keys


class ControllerExpectations:
    """Per-controller-key counts of creations and pod keys of deletions still unseen."""

    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now
        self._store: dict[str, _Expectee] = {}

    def satisfied_expectations(self, key: str) -> bool:
        """Sync may act: nothing pending, expectations expired, or never set."""
        exp = self._store.get(key)
        if exp is None:
            return True
        return exp.fulfilled() or self._now() - exp.timestamp > EXPECTATIONS_TIMEOUT

    def expect_creations(self, key: str, adds: int) -> None:
        self._store[key] = _Expectee(add=adds, timestamp=self._now())

    def expect_deletions(self, key: str, pod_keys: list[str]) -> None:
        self._store[key] = _Expectee(delete_keys=set(pod_keys), timestamp=self._now())

    def creation_observed(self, key: str) -> None:
        exp = self._store.get(key)
        if exp is not None:
            exp.add -= 1

    def deletion_observed(self, key: str, pod_key: str) -> None:
        """Only a pod this controller asked to delete counts (UIDTracking upstream)."""
        exp = self._store.get(key)
        if exp is not None:
            exp.delete_keys.discard(pod_key)

    def lower_expectations(self, key: str, adds: int, pod_keys: list[str] = ()) -> None:
        exp = self._store.get(key)
        if exp is not None:
            exp.add -= adds
            exp.delete_keys -= set(pod_keys)

    def delete_expectations(self, key: str) -> None:
        self._store.pop(key, None)

    def get(self, key: str) -> tuple[int, int] | None:
        exp = self._store.get(key)
        return None if exp is None else (exp.add, len(exp.delete_keys))


def get_controller_of(obj: Any) -> metav1.OwnerReference | None:
    """The ownerReference with controller=true, if any."""
    for ref in obj.metadata.owner_references:
        if ref.controller:
            return ref
    return None


def is_pod_active(pod: corev1.Pod) -> bool:
    return (
        pod.status.phase not in ("Succeeded", "Failed") and pod.metadata.deletion_timestamp is None
    )


def filter_active_pods(pods: list[corev1.Pod]) -> list[corev1.Pod]:
    return [p for p in pods if is_pod_active(p)]


def is_pod_ready(pod: corev1.Pod) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions)


_PHASE_ORDER = {"Pending": 0, "Unknown": 1, "Running": 2}


def pod_deletion_rank(pod: corev1.Pod, colocated: int) -> tuple:
    """Sort key: the pod to delete first sorts first (ActivePodsWithRanks.Less).

    Unassigned before assigned; Pending before Unknown before Running; not ready
    before ready; more pods of the set on its node first; more restarts first;
    newer first.
    """
    restarts = sum(s.restart_count or 0 for s in pod.status.container_statuses)
    created = pod.metadata.creation_timestamp
    return (
        pod.spec.node_name != "",
        _PHASE_ORDER.get(pod.status.phase, 0),
        is_pod_ready(pod),
        -colocated,
        -restarts,
        -(created.timestamp() if created else 0.0),
    )


async def slow_start_batch(
    count: int, initial_batch_size: int, fn: Callable[[], Awaitable[None]]
) -> tuple[int, BaseException | None]:
    """Call fn count times in doubling batches; stop after the first batch with an error.

    Returns (successes, first error). A quota or admission error thus costs one
    failed call, not count of them.
    """
    remaining, successes, batch = count, 0, min(count, initial_batch_size)
    while batch > 0:
        results = await asyncio.gather(*(fn() for _ in range(batch)), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        successes += batch - len(errors)
        if errors:
            return successes, errors[0]
        remaining -= batch
        batch = min(2 * batch, remaining)
    return successes, None
