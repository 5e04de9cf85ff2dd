"""SchedulingGates: keep a pod out of activeQ while .spec.schedulingGates is not empty.

Mirrors pkg/scheduler/framework/plugins/schedulinggates/scheduling_gates.go.
A PreEnqueue plugin: the queue parks a gated pod among the unschedulable pods; its
queueing hint for UpdatePodSchedulingGatesEliminated queues the pod whose last gate
was removed, and the queue re-runs PreEnqueue on the way to activeQ.
"""

from __future__ import annotations

from miniapi.core.v1 import Pod
from minischeduler.framework.interface import unresolvable
from minischeduler.framework.status import Status
from minischeduler.internal.events import (
    POD,
    QUEUE,
    QUEUE_SKIP,
    UPDATE_POD_SCHEDULING_GATES_ELIMINATED,
    ClusterEvent,
    ClusterEventWithHint,
    QueueingHint,
)

NAME = "SchedulingGates"


class SchedulingGates:
    """Rejects, before queueing, every pod that still carries a scheduling gate."""

    name = NAME

    def pre_enqueue(self, pod: Pod) -> Status | None:
        if not pod.spec.scheduling_gates:
            return None
        # Go's %v of a []string: "[a b]".
        gates = " ".join(g.name for g in pod.spec.scheduling_gates)
        return unresolvable(f"waiting for scheduling gates: [{gates}]")

    def events_to_register(self) -> list[ClusterEventWithHint]:
        return [
            ClusterEventWithHint(
                ClusterEvent(POD, UPDATE_POD_SCHEDULING_GATES_ELIMINATED),
                self.is_schedulable_after_update_pod_scheduling_gates_eliminated,
            )
        ]

    def is_schedulable_after_update_pod_scheduling_gates_eliminated(
        self, pod: Pod, old, new
    ) -> QueueingHint:
        """Only the gated pod's own update can ungate it."""
        return QUEUE if new.metadata.uid == pod.metadata.uid else QUEUE_SKIP
