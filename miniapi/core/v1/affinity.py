"""Where a pod may run: node and pod (anti-)affinity, tolerations, topology spread.

Mirrors k8s.io/api/core/v1/types.go (Affinity, NodeAffinity, NodeSelector,
NodeSelectorTerm, NodeSelectorRequirement, PreferredSchedulingTerm,
PodAffinity, PodAntiAffinity, PodAffinityTerm, WeightedPodAffinityTerm,
Toleration, TopologySpreadConstraint). The scheduler's plugins read these.
Omitted: nothing of these shapes.
"""

from __future__ import annotations

from datetime import datetime

from miniapi.base import Struct, field
from miniapi.meta.v1 import LabelSelector

__all__ = [
    "Affinity",
    "NodeAffinity",
    "NodeSelector",
    "NodeSelectorRequirement",
    "NodeSelectorTerm",
    "PodAffinity",
    "PodAffinityTerm",
    "PodAntiAffinity",
    "PreferredSchedulingTerm",
    "Taint",
    "Toleration",
    "TopologySpreadConstraint",
    "WeightedPodAffinityTerm",
    "NODE_SELECTOR_OP_IN",
    "NODE_SELECTOR_OP_NOT_IN",
    "NODE_SELECTOR_OP_EXISTS",
    "NODE_SELECTOR_OP_DOES_NOT_EXIST",
    "NODE_SELECTOR_OP_GT",
    "NODE_SELECTOR_OP_LT",
    "TAINT_EFFECT_NO_SCHEDULE",
    "TAINT_EFFECT_PREFER_NO_SCHEDULE",
    "TAINT_EFFECT_NO_EXECUTE",
    "TOLERATION_OP_EXISTS",
    "TOLERATION_OP_EQUAL",
    "DO_NOT_SCHEDULE",
    "SCHEDULE_ANYWAY",
]

NODE_SELECTOR_OP_IN = "In"
NODE_SELECTOR_OP_NOT_IN = "NotIn"
NODE_SELECTOR_OP_EXISTS = "Exists"
NODE_SELECTOR_OP_DOES_NOT_EXIST = "DoesNotExist"
NODE_SELECTOR_OP_GT = "Gt"
NODE_SELECTOR_OP_LT = "Lt"

TAINT_EFFECT_NO_SCHEDULE = "NoSchedule"
TAINT_EFFECT_PREFER_NO_SCHEDULE = "PreferNoSchedule"
TAINT_EFFECT_NO_EXECUTE = "NoExecute"

TOLERATION_OP_EXISTS = "Exists"
TOLERATION_OP_EQUAL = "Equal"

DO_NOT_SCHEDULE = "DoNotSchedule"
SCHEDULE_ANYWAY = "ScheduleAnyway"


class NodeSelectorRequirement(Struct, frozen=True, kw_only=True):
    """key, operator (In, NotIn, Exists, DoesNotExist, Gt, Lt) and values."""

    key: str = ""
    operator: str = ""
    values: list[str] = []


class NodeSelectorTerm(Struct, frozen=True, kw_only=True):
    """Requirements on node labels and on node fields, ANDed."""

    match_expressions: list[NodeSelectorRequirement] = []
    match_fields: list[NodeSelectorRequirement] = []


class NodeSelector(Struct, frozen=True, kw_only=True):
    """Terms ORed together."""

    node_selector_terms: list[NodeSelectorTerm] = []


class PreferredSchedulingTerm(Struct, frozen=True, kw_only=True):
    """A weighted preference (1-100) for nodes matching a term."""

    weight: int = 0
    preference: NodeSelectorTerm = field(default_factory=NodeSelectorTerm)


class NodeAffinity(Struct, frozen=True, kw_only=True):
    """Hard and soft node constraints."""

    required_during_scheduling_ignored_during_execution: NodeSelector | None = None
    preferred_during_scheduling_ignored_during_execution: list[PreferredSchedulingTerm] = []


class PodAffinityTerm(Struct, frozen=True, kw_only=True):
    """Pods matching labelSelector in namespaces, co-located per topologyKey."""

    label_selector: LabelSelector | None = None
    namespaces: list[str] = []
    topology_key: str = ""
    namespace_selector: LabelSelector | None = None
    match_label_keys: list[str] = []
    mismatch_label_keys: list[str] = []


class WeightedPodAffinityTerm(Struct, frozen=True, kw_only=True):
    """A weighted (1-100) pod affinity term."""

    weight: int = 0
    pod_affinity_term: PodAffinityTerm = field(default_factory=PodAffinityTerm)


class PodAffinity(Struct, frozen=True, kw_only=True):
    """Run near pods matching the terms."""

    required_during_scheduling_ignored_during_execution: list[PodAffinityTerm] = []
    preferred_during_scheduling_ignored_during_execution: list[WeightedPodAffinityTerm] = []


class PodAntiAffinity(Struct, frozen=True, kw_only=True):
    """Run away from pods matching the terms."""

    required_during_scheduling_ignored_during_execution: list[PodAffinityTerm] = []
    preferred_during_scheduling_ignored_during_execution: list[WeightedPodAffinityTerm] = []


class Affinity(Struct, frozen=True, kw_only=True):
    """All affinity rules of a pod."""

    node_affinity: NodeAffinity | None = None
    pod_affinity: PodAffinity | None = None
    pod_anti_affinity: PodAntiAffinity | None = None


class Taint(Struct, frozen=True, kw_only=True):
    """A node taint: pods must tolerate it to be scheduled (or to stay) there."""

    key: str = ""
    value: str = ""
    effect: str = ""
    time_added: datetime | None = None


class Toleration(Struct, frozen=True, kw_only=True):
    """Tolerates taints matching key/operator/value/effect."""

    key: str = ""
    operator: str = ""
    value: str = ""
    effect: str = ""
    toleration_seconds: int | None = None


class TopologySpreadConstraint(Struct, frozen=True, kw_only=True):
    """Spread matching pods evenly across a topology domain."""

    max_skew: int = 0
    topology_key: str = ""
    when_unsatisfiable: str = ""
    label_selector: LabelSelector | None = None
    min_domains: int | None = None
    node_affinity_policy: str | None = None
    node_taints_policy: str | None = None
    match_label_keys: list[str] = []
