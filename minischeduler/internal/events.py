"""Cluster events, queueing hints, and how an object change becomes events.

Mirrors pkg/scheduler/framework/types.go (ClusterEvent, ActionType, EventResource,
Match, IsWildCard), interface.go (QueueingHint Queue/QueueSkip, QueueingHintFn,
ClusterEventWithHint, EnqueueExtensions.EventsToRegister) and
pkg/scheduler/framework/events.go (PodSchedulingPropertiesChange,
NodeSchedulingPropertiesChange). A plugin registers the events that could make a pod
it rejected schedulable, each with a hint function `(pod, old_obj, new_obj) -> hint`
that decides per pod; the queue (queue.py) calls only the rejecting plugins' hints.
Omitted: DRA/volume resources and their events, the pod-group variants.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from miniapi.core.v1 import Node, Pod
from minischeduler.framework.types import compute_pod_resource_request


class ActionType(enum.IntFlag):
    """ActionType: a bit per kind of change, so a registration can cover several."""

    ADD = 1
    DELETE = 1 << 1
    UPDATE_NODE_ALLOCATABLE = 1 << 2
    UPDATE_NODE_LABEL = 1 << 3
    UPDATE_NODE_TAINT = 1 << 4
    UPDATE_NODE_CONDITION = 1 << 5
    UPDATE_NODE_ANNOTATION = 1 << 6
    UPDATE_POD_LABEL = 1 << 7
    UPDATE_POD_SCALE_DOWN = 1 << 8
    UPDATE_POD_TOLERATIONS = 1 << 9
    UPDATE_POD_SCHEDULING_GATES_ELIMINATED = 1 << 10
    UPDATE_POD_OTHER = 1 << 11  # updatePodOther: a pod update none of the above describes


ADD, DELETE = ActionType.ADD, ActionType.DELETE
UPDATE_NODE_ALLOCATABLE = ActionType.UPDATE_NODE_ALLOCATABLE
UPDATE_NODE_LABEL = ActionType.UPDATE_NODE_LABEL
UPDATE_NODE_TAINT = ActionType.UPDATE_NODE_TAINT
UPDATE_NODE_CONDITION = ActionType.UPDATE_NODE_CONDITION
UPDATE_NODE_ANNOTATION = ActionType.UPDATE_NODE_ANNOTATION
UPDATE_POD_LABEL = ActionType.UPDATE_POD_LABEL
UPDATE_POD_SCALE_DOWN = ActionType.UPDATE_POD_SCALE_DOWN
UPDATE_POD_TOLERATIONS = ActionType.UPDATE_POD_TOLERATIONS
UPDATE_POD_SCHEDULING_GATES_ELIMINATED = ActionType.UPDATE_POD_SCHEDULING_GATES_ELIMINATED
UPDATE_POD_OTHER = ActionType.UPDATE_POD_OTHER
UPDATE_NODE = (
    UPDATE_NODE_ALLOCATABLE
    | UPDATE_NODE_LABEL
    | UPDATE_NODE_TAINT
    | UPDATE_NODE_CONDITION
    | UPDATE_NODE_ANNOTATION
)
UPDATE = (
    UPDATE_NODE
    | UPDATE_POD_LABEL
    | UPDATE_POD_SCALE_DOWN
    | UPDATE_POD_TOLERATIONS
    | UPDATE_POD_SCHEDULING_GATES_ELIMINATED
    | UPDATE_POD_OTHER
)
ALL = ADD | DELETE | UPDATE

# EventResource. "Pod" is for registrations and matches both kinds of incoming pod event.
POD, ASSIGNED_POD, UNSCHEDULED_POD = "Pod", "AssignedPod", "UnschedulablePod"
NODE, NAMESPACE, WILDCARD = "Node", "Namespace", "*"


class QueueingHint(enum.IntEnum):
    """QueueingHint: may this event make the pod schedulable (Queue) or surely not."""

    QUEUE_SKIP = 0
    QUEUE = 1


QUEUE, QUEUE_SKIP = QueueingHint.QUEUE, QueueingHint.QUEUE_SKIP

# QueueingHintFn(pod, old_obj, new_obj): None old_obj means added, None new_obj deleted.
QueueingHintFn = Callable[[Pod, Any, Any], QueueingHint]


@dataclass(frozen=True)
class ClusterEvent:
    resource: str
    action_type: ActionType
    label: str = ""

    def is_wildcard(self) -> bool:
        return self.resource == WILDCARD and self.action_type == ALL

    def match(self, incoming: ClusterEvent) -> bool:
        """Match: does this registration cover the incoming event?"""
        if self.is_wildcard():
            return True
        r = self.resource
        resource_ok = (
            r == WILDCARD
            or r == incoming.resource
            or (r == POD and incoming.resource in (ASSIGNED_POD, UNSCHEDULED_POD))
        )
        return resource_ok and bool(self.action_type & incoming.action_type)


@dataclass(frozen=True)
class ClusterEventWithHint:
    """One registration: an event and the hint deciding per pod (None: always Queue)."""

    event: ClusterEvent
    queueing_hint_fn: QueueingHintFn | None = None


NODE_ADD = ClusterEvent(NODE, ADD, "NodeAdd")
NODE_DELETE = ClusterEvent(NODE, DELETE, "NodeDelete")
NODE_ALLOCATABLE_CHANGE = ClusterEvent(NODE, UPDATE_NODE_ALLOCATABLE, "NodeAllocatableChange")
NODE_LABEL_CHANGE = ClusterEvent(NODE, UPDATE_NODE_LABEL, "NodeLabelChange")
NODE_TAINT_CHANGE = ClusterEvent(NODE, UPDATE_NODE_TAINT, "NodeTaintChange")
NODE_CONDITION_CHANGE = ClusterEvent(NODE, UPDATE_NODE_CONDITION, "NodeConditionChange")
NODE_ANNOTATION_CHANGE = ClusterEvent(NODE, UPDATE_NODE_ANNOTATION, "NodeAnnotationChange")
# A node becoming schedulable acts like removing the node.kubernetes.io/unschedulable taint.
NODE_SPEC_UNSCHEDULABLE_CHANGE = ClusterEvent(
    NODE, UPDATE_NODE_TAINT, "NodeSpecUnschedulableChange"
)
ASSIGNED_POD_ADD = ClusterEvent(ASSIGNED_POD, ADD, "AssignedPodAdd")
ASSIGNED_POD_DELETE = ClusterEvent(ASSIGNED_POD, DELETE, "AssignedPodDelete")
# A deleted pending pod may have been nominated somewhere (NodePorts' hint looks).
UNSCHEDULED_POD_DELETE = ClusterEvent(UNSCHEDULED_POD, DELETE, "UnschedulablePodDelete")
NAMESPACE_CHANGE = ClusterEvent(NAMESPACE, ADD | UPDATE, "NamespaceChange")
UNSCHEDULABLE_TIMEOUT = ClusterEvent(WILDCARD, ALL, "UnschedulableTimeout")
FORCE_ACTIVATE = ClusterEvent(WILDCARD, ALL, "ForceActivate")
WILDCARD_EVENT = ClusterEventWithHint(ClusterEvent(WILDCARD, ALL, "WildCardEvent"))


def _requests(pod: Pod) -> dict[str, int]:
    r = compute_pod_resource_request(pod)
    out = {"cpu": r.milli_cpu, "memory": r.memory, "ephemeral-storage": r.ephemeral_storage}
    out.update(r.scalar_resources)
    return {k: v for k, v in out.items() if v}


def _pod_scaled_down(new: Pod, old: Pod) -> bool:
    """extractPodScaleDown: some request got smaller or disappeared."""
    new_reqs = _requests(new)
    return any(name not in new_reqs or v > new_reqs[name] for name, v in _requests(old).items())


def pod_scheduling_properties_change(new: Pod, old: Pod) -> list[ClusterEvent]:
    """PodSchedulingPropertiesChange: one event per kind of change, else updatePodOther."""
    resource = ASSIGNED_POD if new.spec.node_name else UNSCHEDULED_POD
    actions = []
    if new.metadata.labels != old.metadata.labels:
        actions.append(UPDATE_POD_LABEL)
    if _pod_scaled_down(new, old):
        actions.append(UPDATE_POD_SCALE_DOWN)
    if not new.spec.scheduling_gates and old.spec.scheduling_gates:
        actions.append(UPDATE_POD_SCHEDULING_GATES_ELIMINATED)
    if new.spec.tolerations != old.spec.tolerations:
        actions.append(UPDATE_POD_TOLERATIONS)
    if not actions:
        actions.append(UPDATE_POD_OTHER)
    return [ClusterEvent(resource, a, resource + _camel(a)) for a in actions]


def _camel(action: ActionType) -> str:
    """UPDATE_POD_LABEL -> UpdatePodLabel, as upstream's ActionType String() reads."""
    return "".join(w.capitalize() for w in (action.name or "").split("_"))


def _conditions(node: Node) -> dict[str, str]:
    return {c.type: c.status for c in node.status.conditions}


def node_scheduling_properties_change(new: Node, old: Node) -> list[ClusterEvent]:
    """nodeSchedulingPropertiesChange (eventhandlers.go): which node properties changed.

    Only unschedulable → schedulable counts: the other direction cannot help a pod.
    """
    out = []
    if new.spec.unschedulable != old.spec.unschedulable and not new.spec.unschedulable:
        out.append(NODE_SPEC_UNSCHEDULABLE_CHANGE)
    if new.status.allocatable != old.status.allocatable:
        out.append(NODE_ALLOCATABLE_CHANGE)
    if new.metadata.labels != old.metadata.labels:
        out.append(NODE_LABEL_CHANGE)
    if new.spec.taints != old.spec.taints:
        out.append(NODE_TAINT_CHANGE)
    if _conditions(new) != _conditions(old):
        out.append(NODE_CONDITION_CHANGE)
    if new.metadata.annotations != old.metadata.annotations:
        out.append(NODE_ANNOTATION_CHANGE)
    return out
