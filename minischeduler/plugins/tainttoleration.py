"""TaintToleration: reject untolerated NoSchedule/NoExecute taints; score PreferNoSchedule.

Mirrors pkg/scheduler/framework/plugins/tainttoleration/taint_toleration.go.
Score counts the node's PreferNoSchedule taints the pod does not tolerate (only
tolerations with an empty or PreferNoSchedule effect count); NormalizeScore then
reverses DefaultNormalizeScore so the fewest intolerable taints scores 100.
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
from minischeduler.plugins.helper import (
    default_normalize_score,
    find_matching_untolerated_taint,
    tolerates_taint,
)

_FILTER_EFFECTS = (TAINT_EFFECT_NO_SCHEDULE, TAINT_EFFECT_NO_EXECUTE)
_KEY = "PreScoreTaintToleration"


class TaintToleration:
    name = "TaintToleration"

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
