"""InterPodAffinity: required/preferred pod affinity and anti-affinity per topology domain.

Mirrors pkg/scheduler/framework/plugins/interpodaffinity/ (filtering.go, scoring.go,
plugin.go). PreFilter counts, per (topologyKey, value): existing pods whose required
anti-affinity matches the incoming pod, and existing pods matching each of the incoming
pod's required (anti-)affinity terms. Filter then checks the node's domains.
Score adds term weights per domain (hardPodAffinityWeight for existing pods' required
affinity) and min-max normalizes to 0..100.
Queueing hints: an assigned pod added that matches all required affinity terms, updated
into matching them or out of matching all anti-affinity terms, deleted while matching
all anti-affinity terms; a node added/relabelled carrying one of the terms' topology
keys. Namespace changes always queue (no hint). As upstream's hint, a deleted pod whose
own anti-affinity blocked this pod does not queue it (the 5-minute flush does).
Namespaces come from handle.namespace_labels.
"""

from __future__ import annotations

from miniapi.core.v1 import Pod
from minischeduler.framework.cycle_state import CycleState
from minischeduler.framework.interface import unresolvable, unschedulable
from minischeduler.framework.status import MAX_NODE_SCORE, Code, Status
from minischeduler.framework.types import AffinityTerm, NodeInfo, PodInfo
from minischeduler.internal.events import (
    ADD,
    DELETE,
    NAMESPACE,
    NODE,
    POD,
    QUEUE,
    QUEUE_SKIP,
    UPDATE,
    UPDATE_NODE_LABEL,
    UPDATE_POD_LABEL,
    ClusterEvent,
    ClusterEventWithHint,
    QueueingHint,
)

ERR_AFFINITY = "node(s) didn't match pod affinity rules"
ERR_ANTI_AFFINITY = "node(s) didn't match pod anti-affinity rules"
ERR_EXISTING_ANTI_AFFINITY = "node(s) didn't satisfy existing pods anti-affinity rules"
_PRE_FILTER_KEY = "PreFilterInterPodAffinity"
_PRE_SCORE_KEY = "PreScoreInterPodAffinity"


class _PreFilterState:
    def __init__(self, pi: PodInfo, ns_labels: dict[str, str] | None) -> None:
        self.pod_info = pi
        self.ns_labels = ns_labels
        self.existing_anti_affinity_counts: dict[tuple[str, str], int] = {}
        self.affinity_counts: dict[tuple[str, str], int] = {}
        self.anti_affinity_counts: dict[tuple[str, str], int] = {}

    def clone(self) -> _PreFilterState:
        c = _PreFilterState(self.pod_info, self.ns_labels)
        c.existing_anti_affinity_counts = dict(self.existing_anti_affinity_counts)
        c.affinity_counts = dict(self.affinity_counts)
        c.anti_affinity_counts = dict(self.anti_affinity_counts)
        return c

    def update_with_pod(self, pi: PodInfo, node, ns_of, multiplier: int) -> None:
        """updateWithPod: add (or with -1 remove) one existing pod's contributions."""
        labels = node.metadata.labels
        pod = self.pod_info.pod
        for t in pi.required_anti_affinity_terms:
            if t.topology_key in labels and t.matches(pod, self.ns_labels):
                _bump(self.existing_anti_affinity_counts, t.topology_key, labels, multiplier)
        existing_ns = ns_of(pi.pod)
        for t in self.pod_info.required_affinity_terms:
            if t.topology_key in labels and t.matches(pi.pod, existing_ns):
                _bump(self.affinity_counts, t.topology_key, labels, multiplier)
        for t in self.pod_info.required_anti_affinity_terms:
            if t.topology_key in labels and t.matches(pi.pod, existing_ns):
                _bump(self.anti_affinity_counts, t.topology_key, labels, multiplier)


def _bump(counts, key, labels, n) -> None:
    pair = (key, labels[key])
    v = counts.get(pair, 0) + n
    if v:
        counts[pair] = v
    else:
        counts.pop(pair, None)


def pod_matches_all_affinity_terms(terms: list[AffinityTerm], pod: Pod) -> bool:
    """podMatchesAllAffinityTerms: false for no terms; no namespace labels are looked up."""
    return bool(terms) and all(t.matches(pod, {}) for t in terms)


class InterPodAffinity:
    name = "InterPodAffinity"

    def events_to_register(self) -> list[ClusterEventWithHint]:
        return [
            ClusterEventWithHint(
                ClusterEvent(POD, ADD | UPDATE_POD_LABEL | DELETE),
                self.is_schedulable_after_pod_change,
            ),
            ClusterEventWithHint(
                ClusterEvent(NODE, ADD | UPDATE_NODE_LABEL), self.is_schedulable_after_node_change
            ),
            ClusterEventWithHint(ClusterEvent(NAMESPACE, ADD | UPDATE)),
        ]

    def is_schedulable_after_pod_change(self, pod: Pod, old, new) -> QueueingHint:
        if (new is not None and not new.spec.node_name) or (
            old is not None and not old.spec.node_name
        ):
            return QUEUE_SKIP  # an unscheduled pod takes no part in anyone's affinity
        pi = PodInfo(pod)
        terms, anti = pi.required_affinity_terms, pi.required_anti_affinity_terms
        if old is not None and new is not None:
            # Affinity needs one existing pod matching all terms, so check them together.
            if not pod_matches_all_affinity_terms(terms, old) and pod_matches_all_affinity_terms(
                terms, new
            ):
                return QUEUE
            if pod_matches_all_affinity_terms(anti, old) and not pod_matches_all_affinity_terms(
                anti, new
            ):
                return QUEUE
            return QUEUE_SKIP
        if new is not None:
            return QUEUE if pod_matches_all_affinity_terms(terms, new) else QUEUE_SKIP
        return QUEUE if pod_matches_all_affinity_terms(anti, old) else QUEUE_SKIP

    def is_schedulable_after_node_change(self, pod: Pod, old, new) -> QueueingHint:
        """Queue when the node carries a topology key of any required (anti-)affinity term."""
        pi = PodInfo(pod)
        labels = new.metadata.labels
        for t in pi.required_affinity_terms + pi.required_anti_affinity_terms:
            if t.topology_key in labels:
                return QUEUE
        return QUEUE_SKIP

    def __init__(self, handle, args: dict | None = None) -> None:
        self.handle = handle
        self.hard_pod_affinity_weight = int((args or {}).get("hardPodAffinityWeight", 1))

    def _ns_labels(self, pod: Pod) -> dict[str, str]:
        return self.handle.namespace_labels.get(pod.metadata.namespace, {})

    def pre_filter(self, state: CycleState, pod: Pod):
        snap = self.handle.snapshot
        pi = PodInfo(pod)
        with_anti = snap.have_pods_with_required_anti_affinity_list()
        if not pi.required_affinity_terms and not pi.required_anti_affinity_terms and not with_anti:
            return None, Status(Code.SKIP)
        s = _PreFilterState(pi, self._ns_labels(pod))
        nodes = with_anti
        if pi.required_affinity_terms or pi.required_anti_affinity_terms:
            nodes = snap.list()
        for ni in nodes:
            existing = (
                ni.pods
                if pi.required_affinity_terms or pi.required_anti_affinity_terms
                else ni.pods_with_required_anti_affinity
            )
            for epi in existing:
                s.update_with_pod(epi, ni.node, self._ns_labels, 1)
        state.write(_PRE_FILTER_KEY, s)
        return None, None

    def add_pod(self, state: CycleState, pod: Pod, pi: PodInfo, ni: NodeInfo) -> Status | None:
        state.read(_PRE_FILTER_KEY).update_with_pod(pi, ni.node, self._ns_labels, 1)
        return None

    def remove_pod(self, state: CycleState, pod: Pod, pi: PodInfo, ni: NodeInfo) -> Status | None:
        state.read(_PRE_FILTER_KEY).update_with_pod(pi, ni.node, self._ns_labels, -1)
        return None

    def filter(self, state: CycleState, pod: Pod, ni: NodeInfo) -> Status | None:
        s: _PreFilterState = state.read(_PRE_FILTER_KEY)
        labels = ni.node.metadata.labels
        if not _satisfy_pod_affinity(s, labels):
            return unresolvable(ERR_AFFINITY)
        for t in s.pod_info.required_anti_affinity_terms:
            v = labels.get(t.topology_key)
            if v is not None and s.anti_affinity_counts.get((t.topology_key, v), 0) > 0:
                return unschedulable(ERR_ANTI_AFFINITY)
        if s.existing_anti_affinity_counts:
            for kv in labels.items():
                if s.existing_anti_affinity_counts.get(kv, 0) > 0:
                    return unschedulable(ERR_EXISTING_ANTI_AFFINITY)
        return None

    def pre_score(self, state: CycleState, pod: Pod, nodes) -> Status | None:
        pi = PodInfo(pod)
        has_preferred = bool(pi.preferred_affinity_terms or pi.preferred_anti_affinity_terms)
        snap = self.handle.snapshot
        all_nodes = snap.list() if has_preferred else snap.have_pods_with_affinity_list()
        if not has_preferred and not all_nodes:
            return Status(Code.SKIP)
        scores: dict[tuple[str, str], int] = {}
        ns = self._ns_labels(pod)
        for ni in all_nodes:
            labels = ni.node.metadata.labels
            for epi in ni.pods if has_preferred else ni.pods_with_affinity:
                self._process_existing_pod(pi, ns, epi, labels, scores)
        state.write(_PRE_SCORE_KEY, scores)
        return None

    def _process_existing_pod(self, pi, ns, epi: PodInfo, labels, scores) -> None:
        """processExistingPod: both directions of preference between the two pods."""
        existing_ns = self._ns_labels(epi.pod)
        for w in pi.preferred_affinity_terms:
            if w.term.topology_key in labels and w.term.matches(epi.pod, existing_ns):
                _bump(scores, w.term.topology_key, labels, w.weight)
        for w in pi.preferred_anti_affinity_terms:
            if w.term.topology_key in labels and w.term.matches(epi.pod, existing_ns):
                _bump(scores, w.term.topology_key, labels, -w.weight)
        if self.hard_pod_affinity_weight > 0:
            for t in epi.required_affinity_terms:
                if t.topology_key in labels and t.matches(pi.pod, ns):
                    _bump(scores, t.topology_key, labels, self.hard_pod_affinity_weight)
        for w in epi.preferred_affinity_terms:
            if w.term.topology_key in labels and w.term.matches(pi.pod, ns):
                _bump(scores, w.term.topology_key, labels, w.weight)
        for w in epi.preferred_anti_affinity_terms:
            if w.term.topology_key in labels and w.term.matches(pi.pod, ns):
                _bump(scores, w.term.topology_key, labels, -w.weight)

    def score(self, state: CycleState, pod: Pod, ni: NodeInfo) -> tuple[int, Status | None]:
        scores = state.read(_PRE_SCORE_KEY)
        if not scores:
            return 0, None
        return sum(scores.get(kv, 0) for kv in ni.node.metadata.labels.items()), None

    def normalize_score(self, state: CycleState, pod: Pod, scores) -> Status | None:
        if not state.read(_PRE_SCORE_KEY):
            return None
        lo = min(s.score for s in scores)
        hi = max(s.score for s in scores)
        diff = hi - lo
        for s in scores:
            s.score = int(MAX_NODE_SCORE * ((s.score - lo) / diff)) if diff > 0 else 0
        return None


def _satisfy_pod_affinity(s: _PreFilterState, labels: dict[str, str]) -> bool:
    """All terms satisfied, or the first-pod-of-a-group exception (self-affinity)."""
    terms = s.pod_info.required_affinity_terms
    pods_exist = True
    for t in terms:
        v = labels.get(t.topology_key)
        if v is None:
            return False
        if s.affinity_counts.get((t.topology_key, v), 0) <= 0:
            pods_exist = False
    if pods_exist:
        return True
    # No pod anywhere matches any term: allow if the pod matches all of its own terms.
    if not s.affinity_counts:
        pod = s.pod_info.pod
        return all(t.matches(pod, s.ns_labels) for t in terms)
    return False
