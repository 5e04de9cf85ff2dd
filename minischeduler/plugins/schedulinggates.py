"""SchedulingGates: keep a pod out of activeQ while .spec.schedulingGates is not empty.

Mirrors pkg/scheduler/framework/plugins/schedulinggates/scheduling_gates.go.
A PreEnqueue plugin: the queue parks a gated pod among the unschedulable pods, and
re-runs PreEnqueue when the pod is updated, so removing the last gate lets it in.
Omitted: the queueing hint for UpdatePodSchedulingGatesEliminated (our queue
re-checks PreEnqueue on every pod spec update instead).
"""

from __future__ import annotations

from miniapi.core.v1 import Pod
from minischeduler.framework.interface import unresolvable
from minischeduler.framework.status import Status

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
