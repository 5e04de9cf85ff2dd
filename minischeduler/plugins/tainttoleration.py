"""TaintToleration: reject untolerated NoSchedule/NoExecute taints; score PreferNoSchedule.

Mirrors pkg/scheduler/framework/plugins/tainttoleration/taint_toleration.go.
Score counts the node's PreferNoSchedule taints the pod does not tolerate (only
tolerations with an empty or PreferNoSchedule effect count); NormalizeScore then
reverses DefaultNormalizeScore so the fewest intolerable taints scores 100.
Queueing hints: a node added or re-tainted so that the pod now tolerates all of its
NoSchedule/NoExecute taints (and did not before), or the pod's own tolerations changed.
"""

from __future__ import annotations

from miniapi.core.v1 import (
    TAINT_EFFECT_NO_EXECUTE,
    TAINT_EFFECT_NO_SCHEDULE,
    TAINT_EFFECT_PREFER_NO_SCHEDULE,
    Pod,
)
from minischeduler.framework.cycle_state import CycleState
from minischeduler.framework.interface import unresolvable
from minischeduler.framework.status import MAX_NODE_SCORE, Status
from minischeduler.framework.types import NodeInfo
from minischeduler.internal.events import (
    ADD,
    NODE,
    POD,
    QUEUE,
    QUEUE_SKIP,
    UPDATE_NODE_TAINT,
    UPDATE_POD_TOLERATIONS,
    ClusterEvent,
    ClusterEventWithHint,
    QueueingHint,
)
from minischeduler.plugins.helper import (
    default_normalize_score,
    find_matching_untolerated_taint,
    tolerates_taint,
)

_FILTER_EFFECTS = (TAINT_EFFECT_NO_SCHEDULE, TAINT_EFFECT_NO_EXECUTE)
_KEY = "PreScoreTaintToleration"


class TaintToleration:
    name = "TaintToleration"

    def events_to_register(self) -> list[ClusterEventWithHint]:
        return [
            ClusterEventWithHint(
                ClusterEvent(NODE, ADD | UPDATE_NODE_TAINT), self.is_schedulable_after_node_change
            ),
            ClusterEventWithHint(
                ClusterEvent(POD, UPDATE_POD_TOLERATIONS),
                self.is_schedulable_after_pod_toleration_change,
            ),
        ]

    def is_schedulable_after_node_change(self, pod: Pod, old, new) -> QueueingHint:
        """Queue when the node went from an untolerated taint to none (added counts as was)."""
        tol = pod.spec.tolerations
        was = old is None or find_matching_untolerated_taint(old.spec.taints, tol, _FILTER_EFFECTS)
        now = find_matching_untolerated_taint(new.spec.taints, tol, _FILTER_EFFECTS)
        return QUEUE if was and now is None else QUEUE_SKIP

    def is_schedulable_after_pod_toleration_change(self, pod: Pod, old, new) -> QueueingHint:
        """Queue when the rejected pod itself got new tolerations."""
        return QUEUE if new.metadata.uid == pod.metadata.uid else QUEUE_SKIP

    def filter(self, state: CycleState, pod: Pod, ni: NodeInfo) -> Status | None:
        taints = ni.node.spec.taints
        if not taints:
            return None
        taint = find_matching_untolerated_taint(taints, pod.spec.tolerations, _FILTER_EFFECTS)
        if taint is None:
            return None
        return unresolvable(f"node(s) had untolerated taint {{{taint.key}: {taint.value}}}")

    def pre_score(self, state: CycleState, pod: Pod, nodes) -> Status | None:
        state.write(
            _KEY,
            [t for t in pod.spec.tolerations if t.effect in ("", TAINT_EFFECT_PREFER_NO_SCHEDULE)],
        )
        return None

    def score(self, state: CycleState, pod: Pod, ni: NodeInfo) -> tuple[int, Status | None]:
        taints = ni.node.spec.taints
        if not taints:
            return 0, None
        tolerations = state.read(_KEY)
        count = 0
        for taint in taints:
            if taint.effect != TAINT_EFFECT_PREFER_NO_SCHEDULE:
                continue
            if not any(tolerates_taint(t, taint) for t in tolerations):
                count += 1
        return count, None

    def normalize_score(self, state: CycleState, pod: Pod, scores) -> Status | None:
        default_normalize_score(MAX_NODE_SCORE, True, scores)
        return None
