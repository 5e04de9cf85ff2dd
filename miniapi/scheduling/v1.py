"""PriorityClass (scheduling.k8s.io/v1): a named pod priority.

Mirrors k8s.io/api/scheduling/v1/types.go (PriorityClass, PriorityClassList) and the
constants of pkg/apis/scheduling/types.go (HighestUserDefinablePriority,
SystemCriticalPriority, the two system class names, DefaultPriorityWhenNoDefaultClassExists)
with the system classes of pkg/apis/scheduling/v1/defaults.go (SystemPriorityClasses,
IsKnownSystemPriorityClass) and SetDefaults_PriorityClass (preemptionPolicy
PreemptLowerPriority).
Omitted: nothing of these shapes.
"""

from __future__ import annotations

from miniapi.base import Struct, field, replace
from miniapi.meta.v1 import ListMeta, ObjectMeta

__all__ = [
    "PriorityClass",
    "PriorityClassList",
    "DEFAULT_PRIORITY_WHEN_NO_DEFAULT_CLASS_EXISTS",
    "HIGHEST_USER_DEFINABLE_PRIORITY",
    "PREEMPT_LOWER_PRIORITY",
    "PREEMPT_NEVER",
    "SYSTEM_CLUSTER_CRITICAL",
    "SYSTEM_CRITICAL_PRIORITY",
    "SYSTEM_NODE_CRITICAL",
    "SYSTEM_PRIORITY_CLASS_PREFIX",
    "is_known_system_priority_class",
    "set_defaults_priority_class",
    "system_priority_classes",
]

HIGHEST_USER_DEFINABLE_PRIORITY = 1_000_000_000
SYSTEM_CRITICAL_PRIORITY = 2 * HIGHEST_USER_DEFINABLE_PRIORITY
SYSTEM_PRIORITY_CLASS_PREFIX = "system-"
SYSTEM_CLUSTER_CRITICAL = SYSTEM_PRIORITY_CLASS_PREFIX + "cluster-critical"
SYSTEM_NODE_CRITICAL = SYSTEM_PRIORITY_CLASS_PREFIX + "node-critical"
DEFAULT_PRIORITY_WHEN_NO_DEFAULT_CLASS_EXISTS = 0
PREEMPT_LOWER_PRIORITY = "PreemptLowerPriority"
PREEMPT_NEVER = "Never"


class PriorityClass(Struct, frozen=True, kw_only=True):
    """Maps a class name to the integer priority pods of that class get."""

    api_version: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = field(default_factory=ObjectMeta)
    value: int = 0
    global_default: bool = False
    description: str = ""
    preemption_policy: str | None = None


class PriorityClassList(Struct, frozen=True, kw_only=True, omit_defaults=False):
    """A list of priority classes."""

    api_version: str | None = None
    kind: str | None = None
    metadata: ListMeta = field(default_factory=ListMeta)
    items: list[PriorityClass] = []


def system_priority_classes() -> list[PriorityClass]:
    """SystemPriorityClasses: what kube-apiserver creates at start (node-critical is higher)."""
    return [
        PriorityClass(
            metadata=ObjectMeta(name=SYSTEM_NODE_CRITICAL),
            value=SYSTEM_CRITICAL_PRIORITY + 1000,
            description="Used for system critical pods that must not be moved from their "
            "current node.",
        ),
        PriorityClass(
            metadata=ObjectMeta(name=SYSTEM_CLUSTER_CRITICAL),
            value=SYSTEM_CRITICAL_PRIORITY,
            description="Used for system critical pods that must run in the cluster, but can "
            "be moved to another node if necessary.",
        ),
    ]


def is_known_system_priority_class(name: str, value: int, global_default: bool) -> str:
    """IsKnownSystemPriorityClass: "" when (name, value, globalDefault) is a system class,
    else the error text."""
    for pc in system_priority_classes():
        if pc.metadata.name != name:
            continue
        if pc.value != value:
            return f"value of {name} PriorityClass must be {pc.value}"
        if pc.global_default != global_default:
            return f"globalDefault of {name} PriorityClass must be {str(pc.global_default).lower()}"
        return ""
    return f"{name} is not a known system priority class"


def set_defaults_priority_class(pc: PriorityClass) -> PriorityClass:
    """SetDefaults_PriorityClass: an unset preemptionPolicy preempts lower priorities."""
    if pc.preemption_policy is None:
        return replace(pc, preemption_policy=PREEMPT_LOWER_PRIORITY)
    return pc
