"""Shared helpers: score normalization, node selector and toleration matching.

Mirrors pkg/scheduler/framework/plugins/helper/normalize_score.go (DefaultNormalizeScore),
k8s.io/component-helpers/scheduling/corev1/nodeaffinity (NodeSelector matching,
RequiredNodeAffinity) and corev1 helper ToleratesTaint / FindMatchingUntoleratedTaint.
Omitted: the lazy error-collecting variants (an invalid term simply does not match).
"""

from __future__ import annotations

from miniapi.core.v1 import NodeSelectorRequirement, NodeSelectorTerm, Pod, Taint, Toleration
from minischeduler.framework.interface import NodeScore
from minischeduler.framework.status import MAX_NODE_SCORE


def default_normalize_score(max_priority: int, reverse: bool, scores: list[NodeScore]) -> None:
    """Scale to [0, max_priority] by the maximum (Go integer division); reverse flips it."""
    max_count = max((s.score for s in scores), default=0)
    if max_count == 0:
        if reverse:
            for s in scores:
                s.score = max_priority
        return
    for s in scores:
        v = max_priority * s.score // max_count
        s.score = max_priority - v if reverse else v


def _int64(s: str) -> int | None:
    try:
        return int(s, 10)
    except ValueError:
        return None


def requirement_matches(req: NodeSelectorRequirement, values: dict[str, str]) -> bool:
    """One matchExpressions/matchFields requirement against a label (or field) map."""
    op, key = req.operator, req.key
    has = key in values
    if op == "In":
        return has and values[key] in req.values
    if op == "NotIn":
        return not has or values[key] not in req.values
    if op == "Exists":
        return has
    if op == "DoesNotExist":
        return not has
    if op in ("Gt", "Lt"):
        if not has or len(req.values) != 1:
            return False
        a, b = _int64(values[key]), _int64(req.values[0])
        if a is None or b is None:
            return False
        return a > b if op == "Gt" else a < b
    return False


def term_matches(term: NodeSelectorTerm, node_labels: dict[str, str], node_name: str) -> bool:
    """An empty term matches nothing; otherwise all requirements are ANDed."""
    if not term.match_expressions and not term.match_fields:
        return False
    for r in term.match_expressions:
        if not requirement_matches(r, node_labels):
            return False
    for r in term.match_fields:
        if r.key != "metadata.name" or r.operator not in ("In", "NotIn"):
            return False
        if not requirement_matches(r, {"metadata.name": node_name}):
            return False
    return True


def node_matches_node_selector_terms(terms, node) -> bool:
    labels = node.metadata.labels
    return any(term_matches(t, labels, node.metadata.name) for t in terms)


def required_node_affinity_match(pod: Pod, node) -> bool:
    """RequiredNodeAffinity.Match: spec.nodeSelector and required node affinity, ANDed."""
    labels = node.metadata.labels
    for k, v in pod.spec.node_selector.items():
        if labels.get(k) != v:
            return False
    aff = pod.spec.affinity
    na = aff.node_affinity if aff else None
    req = na.required_during_scheduling_ignored_during_execution if na else None
    if req is None:
        return True
    return node_matches_node_selector_terms(req.node_selector_terms, node)


def tolerates_taint(t: Toleration, taint: Taint) -> bool:
    """Toleration.ToleratesTaint: effect, key, then operator Exists/Equal."""
    if t.effect and t.effect != taint.effect:
        return False
    if t.key and t.key != taint.key:
        return False
    if t.operator == "Exists":
        return True
    if t.operator in ("", "Equal"):
        return t.value == taint.value
    return False


def find_matching_untolerated_taint(taints, tolerations, effects) -> Taint | None:
    """The first taint with one of `effects` that no toleration tolerates."""
    for taint in taints:
        if taint.effect not in effects:
            continue
        if not any(tolerates_taint(t, taint) for t in tolerations):
            return taint
    return None


__all__ = [
    "MAX_NODE_SCORE",
    "default_normalize_score",
    "find_matching_untolerated_taint",
    "node_matches_node_selector_terms",
    "required_node_affinity_match",
    "term_matches",
    "tolerates_taint",
]
