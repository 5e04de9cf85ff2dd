"""PodTopologySpread: keep matching pods within maxSkew across topology domains.

Mirrors pkg/scheduler/framework/plugins/podtopologyspread/ (common.go, filtering.go,
scoring.go, plugin.go). Filter (DoNotSchedule): skew = matching pods in the node's
domain + self-match − the global minimum (0 when fewer than minDomains domains exist)
must stay ≤ maxSkew. Score (ScheduleAnyway, or the cluster default constraints):
Σ cnt × log(domains + 2) + (maxSkew − 1), rounded, then reversed min-max to 0..100.
nodeAffinityPolicy (default Honor) and nodeTaintsPolicy (default Ignore) pick the
nodes that count. Queueing hints (over the pod's DoNotSchedule constraints): an assigned
pod of the same namespace added/deleted whose labels match a selector, or relabelled into
or out of one; the pod's own new tolerations when a constraint honours taints; a node
added/deleted that has every topology key, or updated so that it gains/loses them, or
changes a key's value or its taints. Omitted: default selectors from ReplicaSets and
StatefulSets (Services only, from handle.services).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from miniapi import labels as klabels
from miniapi.core.v1 import TAINT_EFFECT_NO_EXECUTE, TAINT_EFFECT_NO_SCHEDULE, Pod
from minischeduler.framework.cycle_state import CycleState
from minischeduler.framework.interface import unresolvable, unschedulable
from minischeduler.framework.status import MAX_NODE_SCORE, Code, Status
from minischeduler.framework.types import NodeInfo, PodInfo
from minischeduler.internal.events import (
    ADD,
    DELETE,
    NODE,
    POD,
    QUEUE,
    QUEUE_SKIP,
    UPDATE_NODE_LABEL,
    UPDATE_NODE_TAINT,
    UPDATE_POD_LABEL,
    UPDATE_POD_TOLERATIONS,
    ClusterEvent,
    ClusterEventWithHint,
    QueueingHint,
)
from minischeduler.plugins.helper import (
    find_matching_untolerated_taint,
    required_node_affinity_match,
)

ERR_REASON_CONSTRAINTS = "node(s) didn't match pod topology spread constraints"
ERR_REASON_NODE_LABEL = ERR_REASON_CONSTRAINTS + " (missing required label)"
LABEL_HOSTNAME = "kubernetes.io/hostname"
SYSTEM_DEFAULT_CONSTRAINTS = [
    {"topologyKey": LABEL_HOSTNAME, "whenUnsatisfiable": "ScheduleAnyway", "maxSkew": 3},
    {
        "topologyKey": "topology.kubernetes.io/zone",
        "whenUnsatisfiable": "ScheduleAnyway",
        "maxSkew": 5,
    },
]


@dataclass(slots=True)
class Constraint:
    """topologySpreadConstraint: the API constraint with its selector parsed."""

    max_skew: int
    topology_key: str
    selector: klabels.Selector
    min_domains: int
    node_affinity_policy: str
    node_taints_policy: str

    def match_node_inclusion_policies(self, pod: Pod, node) -> bool:
        if self.node_affinity_policy == "Honor" and not required_node_affinity_match(pod, node):
            return False
        if self.node_taints_policy == "Honor":
            effects = (TAINT_EFFECT_NO_SCHEDULE, TAINT_EFFECT_NO_EXECUTE)
            if find_matching_untolerated_taint(node.spec.taints, pod.spec.tolerations, effects):
                return False
        return True


def _constraints(pod: Pod, action: str) -> list[Constraint]:
    out = []
    for c in pod.spec.topology_spread_constraints:
        if c.when_unsatisfiable != action:
            continue
        sel = klabels.label_selector_as_selector(c.label_selector)
        for key in c.match_label_keys:
            if key in pod.metadata.labels:
                sel = sel.add(klabels.new_requirement(key, "in", [pod.metadata.labels[key]]))
        out.append(
            Constraint(
                c.max_skew,
                c.topology_key,
                sel,
                c.min_domains or 1,
                c.node_affinity_policy or "Honor",
                c.node_taints_policy or "Ignore",
            )
        )
    return out


def count_pods_match_selector(pods: list[PodInfo], selector, namespace: str) -> int:
    """Pods of the namespace, not terminating, whose labels match."""
    if selector.empty():
        return 0
    n = 0
    for pi in pods:
        p = pi.pod
        if (
            p.metadata.namespace == namespace
            and p.metadata.deletion_timestamp is None
            and selector.matches(p.metadata.labels)
        ):
            n += 1
    return n


def _has_all_keys(labels: dict[str, str], constraints: list[Constraint]) -> bool:
    return all(c.topology_key in labels for c in constraints)


def _involved_in_topology_spreading(incoming: Pod, pod: Pod) -> bool:
    """involvedInTopologySpreading: the pod itself, or an assigned pod of its namespace."""
    return incoming.metadata.uid == pod.metadata.uid or (
        bool(incoming.spec.node_name) and incoming.metadata.namespace == pod.metadata.namespace
    )


class _PreFilterState:
    def __init__(self, constraints: list[Constraint]) -> None:
        self.constraints = constraints
        # per constraint: domain value -> matching pods
        self.tp_value_to_match_num: list[dict[str, int]] = [{} for _ in constraints]

    def clone(self) -> _PreFilterState:
        c = _PreFilterState(self.constraints)
        c.tp_value_to_match_num = [dict(d) for d in self.tp_value_to_match_num]
        return c

    def min_match_num(self, i: int) -> int:
        d = self.tp_value_to_match_num[i]
        if len(d) < self.constraints[i].min_domains:
            return 0
        return min(d.values()) if d else 0

    def update_with_pod(self, pod: Pod, existing: Pod, node, delta: int) -> None:
        if existing.metadata.namespace != pod.metadata.namespace:
            return
        labels = node.metadata.labels
        if not _has_all_keys(labels, self.constraints):
            return
        for i, c in enumerate(self.constraints):
            if not c.match_node_inclusion_policies(pod, node):
                continue
            if c.selector.matches(existing.metadata.labels):
                d = self.tp_value_to_match_num[i]
                v = labels[c.topology_key]
                d[v] = d.get(v, 0) + delta


class PodTopologySpread:
    name = "PodTopologySpread"

    def __init__(self, handle, args: dict | None = None) -> None:
        self.handle = handle
        args = args or {}
        self.defaulting_type = args.get("defaultingType", "System")
        self.default_constraints = args.get("defaultConstraints") or []
        if self.defaulting_type == "System":
            self.default_constraints = SYSTEM_DEFAULT_CONSTRAINTS

    def events_to_register(self) -> list[ClusterEventWithHint]:
        pod_actions = ADD | UPDATE_POD_LABEL | UPDATE_POD_TOLERATIONS | DELETE
        node_actions = ADD | DELETE | UPDATE_NODE_LABEL | UPDATE_NODE_TAINT
        return [
            ClusterEventWithHint(
                ClusterEvent(POD, pod_actions), self.is_schedulable_after_pod_change
            ),
            ClusterEventWithHint(
                ClusterEvent(NODE, node_actions), self.is_schedulable_after_node_change
            ),
        ]

    def is_schedulable_after_pod_change(self, pod: Pod, old, new) -> QueueingHint:
        if (new is not None and not _involved_in_topology_spreading(new, pod)) or (
            old is not None and not _involved_in_topology_spreading(old, pod)
        ):
            return QUEUE_SKIP
        constraints = _constraints(pod, "DoNotSchedule")
        if old is not None and new is not None:
            if (
                new.metadata.uid == pod.metadata.uid
                and new.spec.tolerations != old.spec.tolerations
                and any(c.node_taints_policy == "Honor" for c in constraints)
            ):
                return QUEUE  # more nodes may count now that the pod tolerates more
            if new.metadata.labels == old.metadata.labels:
                return QUEUE_SKIP
            for c in constraints:
                if c.selector.matches(old.metadata.labels) != c.selector.matches(
                    new.metadata.labels
                ):
                    return QUEUE
            return QUEUE_SKIP
        labels = (new if new is not None else old).metadata.labels
        return QUEUE if any(c.selector.matches(labels) for c in constraints) else QUEUE_SKIP

    def is_schedulable_after_node_change(self, pod: Pod, old, new) -> QueueingHint:
        constraints = _constraints(pod, "DoNotSchedule")
        old_ok = old is not None and _has_all_keys(old.metadata.labels, constraints)
        new_ok = new is not None and _has_all_keys(new.metadata.labels, constraints)
        if old is not None and new is not None:
            if old_ok != new_ok:
                return QUEUE
            changed = any(
                old.metadata.labels.get(c.topology_key) != new.metadata.labels.get(c.topology_key)
                for c in constraints
            )
            if new_ok and (changed or old.spec.taints != new.spec.taints):
                return QUEUE
            return QUEUE_SKIP
        return QUEUE if (new_ok if new is not None else old_ok) else QUEUE_SKIP

    def pre_filter(self, state: CycleState, pod: Pod):
        constraints = _constraints(pod, "DoNotSchedule")
        if not constraints:
            return None, Status(Code.SKIP)
        s = _PreFilterState(constraints)
        for ni in self.handle.snapshot.list():
            node = ni.node
            if not _has_all_keys(node.metadata.labels, constraints):
                continue
            for i, c in enumerate(constraints):
                if not c.match_node_inclusion_policies(pod, node):
                    continue
                v = node.metadata.labels[c.topology_key]
                d = s.tp_value_to_match_num[i]
                d[v] = d.get(v, 0) + count_pods_match_selector(
                    ni.pods, c.selector, pod.metadata.namespace
                )
        state.write("PreFilterPodTopologySpread", s)
        return None, None

    def add_pod(self, state: CycleState, pod: Pod, pi: PodInfo, ni: NodeInfo) -> Status | None:
        state.read("PreFilterPodTopologySpread").update_with_pod(pod, pi.pod, ni.node, 1)
        return None

    def remove_pod(self, state: CycleState, pod: Pod, pi: PodInfo, ni: NodeInfo) -> Status | None:
        state.read("PreFilterPodTopologySpread").update_with_pod(pod, pi.pod, ni.node, -1)
        return None

    def filter(self, state: CycleState, pod: Pod, ni: NodeInfo) -> Status | None:
        s: _PreFilterState = state.read("PreFilterPodTopologySpread")
        labels = ni.node.metadata.labels
        for i, c in enumerate(s.constraints):
            v = labels.get(c.topology_key)
            if v is None:
                return unresolvable(ERR_REASON_NODE_LABEL)
            self_match = 1 if c.selector.matches(pod.metadata.labels) else 0
            match_num = s.tp_value_to_match_num[i].get(v, 0)
            skew = match_num + self_match - s.min_match_num(i)
            if skew > c.max_skew:
                return unschedulable(ERR_REASON_CONSTRAINTS)
        return None

    def _score_constraints(self, pod: Pod) -> tuple[list[Constraint], bool]:
        cs = _constraints(pod, "ScheduleAnyway")
        if pod.spec.topology_spread_constraints:
            return cs, True
        selector = self._default_selector(pod)
        if selector is None:
            return [], False
        out = [
            Constraint(int(d["maxSkew"]), d["topologyKey"], selector, 1, "Honor", "Ignore")
            for d in self.default_constraints
            if d.get("whenUnsatisfiable", "ScheduleAnyway") == "ScheduleAnyway"
        ]
        return out, self.defaulting_type != "System"

    def _default_selector(self, pod: Pod) -> klabels.Selector | None:
        """DefaultSelector: the selectors of Services selecting the pod, merged."""
        reqs = []
        for svc in self.handle.services.values():
            if svc.metadata.namespace != pod.metadata.namespace or not svc.spec.selector:
                continue
            sel = klabels.selector_from_validated_set(svc.spec.selector)
            if sel.matches(pod.metadata.labels):
                reqs.extend(sel.requirements()[0])
        return klabels.Selector(reqs) if reqs else None

    def pre_score(self, state: CycleState, pod: Pod, nodes: list[NodeInfo]) -> Status | None:
        constraints, require_all = self._score_constraints(pod)
        if not constraints:
            return Status(Code.SKIP)
        ignored: set[str] = set()
        counts: list[dict[str, int] | None] = []
        for c in constraints:
            counts.append(None if c.topology_key == LABEL_HOSTNAME else {})
        for ni in nodes:
            labels = ni.node.metadata.labels
            if require_all and not _has_all_keys(labels, constraints):
                ignored.add(ni.name)
                continue
            for i, c in enumerate(constraints):
                if counts[i] is not None and c.topology_key in labels:
                    counts[i].setdefault(labels[c.topology_key], 0)
        weights = []
        for i, _c in enumerate(constraints):
            size = len(nodes) - len(ignored) if counts[i] is None else len(counts[i])
            weights.append(math.log(size + 2))
        for ni in self.handle.snapshot.list():
            node = ni.node
            if require_all and not _has_all_keys(node.metadata.labels, constraints):
                continue
            for i, c in enumerate(constraints):
                d = counts[i]
                if d is None or not c.match_node_inclusion_policies(pod, node):
                    continue
                v = node.metadata.labels.get(c.topology_key)
                if v in d:
                    d[v] += count_pods_match_selector(ni.pods, c.selector, pod.metadata.namespace)
        state.write("PreScorePodTopologySpread", (constraints, counts, weights, ignored))
        return None

    def score(self, state: CycleState, pod: Pod, ni: NodeInfo) -> tuple[int, Status | None]:
        constraints, counts, weights, ignored = state.read("PreScorePodTopologySpread")
        if ni.name in ignored:
            return 0, None
        labels = ni.node.metadata.labels
        score = 0.0
        for i, c in enumerate(constraints):
            v = labels.get(c.topology_key)
            if v is None:
                continue
            if counts[i] is None:
                cnt = count_pods_match_selector(ni.pods, c.selector, pod.metadata.namespace)
            else:
                cnt = counts[i][v]
            score += cnt * weights[i] + (c.max_skew - 1)
        return int(math.floor(score + 0.5)), None

    def normalize_score(self, state: CycleState, pod: Pod, scores) -> Status | None:
        ignored = state.read("PreScorePodTopologySpread")[3]
        valid = [s.score for s in scores if s.name not in ignored]
        lo, hi = (min(valid), max(valid)) if valid else (0, 0)
        for s in scores:
            if s.name in ignored:
                s.score = 0
            elif hi == 0:
                s.score = MAX_NODE_SCORE
            else:
                s.score = MAX_NODE_SCORE * (hi + lo - s.score) // hi
        return None
