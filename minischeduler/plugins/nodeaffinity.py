"""NodeAffinity: spec.nodeSelector + required node affinity (filter), preferred (score).

Mirrors pkg/scheduler/framework/plugins/nodeaffinity/node_affinity.go. PreFilter
narrows the candidate nodes when every required term pins metadata.name with In;
Score sums the weights of matching preferred terms, normalized by the maximum.
The profile's addedAffinity (NodeAffinityArgs) is enforced on top of the pod's own.
Queueing hint: a node added that matches the pod's nodeSelector and required affinity
(and addedAffinity), or a node whose labels changed from not matching to matching.
"""

from __future__ import annotations

import msgspec

from miniapi.codec import dec_hook
from miniapi.core.v1 import NodeAffinity as NodeAffinitySpec
from miniapi.core.v1 import Pod
from minischeduler.framework.cycle_state import CycleState
from minischeduler.framework.interface import PreFilterResult, unresolvable
from minischeduler.framework.status import MAX_NODE_SCORE, Code, Status
from minischeduler.framework.types import NodeInfo
from minischeduler.internal.events import (
    ADD,
    NODE,
    QUEUE,
    QUEUE_SKIP,
    UPDATE_NODE_LABEL,
    ClusterEvent,
    ClusterEventWithHint,
    QueueingHint,
)
from minischeduler.plugins.helper import (
    default_normalize_score,
    node_matches_node_selector_terms,
    required_node_affinity_match,
    term_matches,
)

ERR_REASON_POD = "node(s) didn't match Pod's node affinity/selector"
ERR_REASON_ENFORCED = "node(s) didn't match scheduler-enforced node affinity"


def _preferred(pod: Pod):
    aff = pod.spec.affinity
    na = aff.node_affinity if aff else None
    return na.preferred_during_scheduling_ignored_during_execution if na else []


def _required(pod: Pod):
    aff = pod.spec.affinity
    na = aff.node_affinity if aff else None
    return na.required_during_scheduling_ignored_during_execution if na else None


class NodeAffinity:
    name = "NodeAffinity"

    def __init__(self, args: dict | None = None) -> None:
        added = (args or {}).get("addedAffinity")
        self.added: NodeAffinitySpec | None = (
            msgspec.convert(added, NodeAffinitySpec, dec_hook=dec_hook) if added else None
        )

    def events_to_register(self) -> list[ClusterEventWithHint]:
        return [
            ClusterEventWithHint(
                ClusterEvent(NODE, ADD | UPDATE_NODE_LABEL), self.is_schedulable_after_node_change
            )
        ]

    def is_schedulable_after_node_change(self, pod: Pod, old, new) -> QueueingHint:
        """isSchedulableAfterNodeChange: the node matches now and (if updated) did not before."""
        if self.added is not None:
            req = self.added.required_during_scheduling_ignored_during_execution
            if req is not None and not node_matches_node_selector_terms(
                req.node_selector_terms, new
            ):
                return QUEUE_SKIP
        if not required_node_affinity_match(pod, new):
            return QUEUE_SKIP
        if old is None:
            return QUEUE
        return QUEUE_SKIP if required_node_affinity_match(pod, old) else QUEUE

    def pre_filter(self, state: CycleState, pod: Pod):
        req = _required(pod)
        if req is None and not pod.spec.node_selector and self.added is None:
            return None, Status(Code.SKIP)
        if req is None:
            return None, None
        names: set[str] = set()
        for term in req.node_selector_terms:
            pinned = None
            for f in term.match_fields:
                if f.key == "metadata.name" and f.operator == "In":
                    vals = set(f.values)
                    pinned = vals if pinned is None else pinned & vals
            if pinned is None:
                return None, None  # one unpinned term: any node may match
            names |= pinned
        if not names:
            return None, unresolvable(ERR_REASON_POD)
        return PreFilterResult(names), None

    def filter(self, state: CycleState, pod: Pod, ni: NodeInfo) -> Status | None:
        node = ni.node
        added = self.added
        if added is not None:
            req = added.required_during_scheduling_ignored_during_execution
            if req is not None and not node_matches_node_selector_terms(
                req.node_selector_terms, node
            ):
                return unresolvable(ERR_REASON_ENFORCED)
        if not required_node_affinity_match(pod, node):
            return unresolvable(ERR_REASON_POD)
        return None

    def pre_score(self, state: CycleState, pod: Pod, nodes) -> Status | None:
        terms = list(_preferred(pod))
        if self.added is not None:
            terms += self.added.preferred_during_scheduling_ignored_during_execution
        if not terms:
            return Status(Code.SKIP)
        state.write("PreScoreNodeAffinity", terms)
        return None

    def score(self, state: CycleState, pod: Pod, ni: NodeInfo) -> tuple[int, Status | None]:
        try:
            terms = state.read("PreScoreNodeAffinity")
        except KeyError:
            terms = _preferred(pod)
        labels, name = ni.node.metadata.labels, ni.name
        total = 0
        for t in terms:
            if t.weight != 0 and term_matches(t.preference, labels, name):
                total += t.weight
        return total, None

    def normalize_score(self, state: CycleState, pod: Pod, scores) -> Status | None:
        default_normalize_score(MAX_NODE_SCORE, False, scores)
        return None
