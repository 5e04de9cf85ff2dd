"""Cluster events and which plugins they can help: the queue's move-back table.

Mirrors pkg/scheduler/framework/types.go (ClusterEvent, ActionType, EventResource)
and each plugin's EventsToRegister. A pod that failed because of plugin P goes back
to activeQ/backoffQ only on an event P registered for, which is what queueing
hints decide upstream. Omitted: the per-event hint functions' finer checks (any
event of a registered kind counts as QueueAfterBackoff).
"""

from __future__ import annotations

from dataclasses import dataclass

ADD, DELETE = "Add", "Delete"
UPDATE_NODE_ALLOCATABLE = "UpdateNodeAllocatable"
UPDATE_NODE_LABEL = "UpdateNodeLabel"
UPDATE_NODE_TAINT = "UpdateNodeTaint"
UPDATE_NODE_CONDITION = "UpdateNodeCondition"
UPDATE_POD_LABEL = "UpdatePodLabel"
UPDATE_POD_SCALE_DOWN = "UpdatePodScaleDown"
UPDATE_NODE = "UpdateNode"  # any node update: the union of the node update kinds
UPDATE = "Update"


@dataclass(frozen=True)
class ClusterEvent:
    resource: str  # "Node", "Pod", "AssignedPod", "Namespace", ...
    action: str
    label: str = ""


NODE_ADD = ClusterEvent("Node", ADD, "NodeAdd")
NODE_ALLOCATABLE_CHANGE = ClusterEvent("Node", UPDATE_NODE_ALLOCATABLE, "NodeAllocatableChange")
NODE_LABEL_CHANGE = ClusterEvent("Node", UPDATE_NODE_LABEL, "NodeLabelChange")
NODE_TAINT_CHANGE = ClusterEvent("Node", UPDATE_NODE_TAINT, "NodeTaintChange")
NODE_SPEC_UNSCHEDULABLE_CHANGE = ClusterEvent(
    "Node", UPDATE_NODE_TAINT, "NodeSpecUnschedulableChange"
)
ASSIGNED_POD_ADD = ClusterEvent("AssignedPod", ADD, "AssignedPodAdd")
ASSIGNED_POD_UPDATE = ClusterEvent("AssignedPod", UPDATE_POD_LABEL, "AssignedPodUpdate")
ASSIGNED_POD_DELETE = ClusterEvent("AssignedPod", DELETE, "AssignedPodDelete")
NAMESPACE_CHANGE = ClusterEvent("Namespace", UPDATE, "NamespaceChange")
UNSCHEDULABLE_TIMEOUT = ClusterEvent("*", "All", "UnschedulableTimeout")
FORCE_ACTIVATE = ClusterEvent("*", "All", "ForceActivate")

# plugin -> (resource, actions) pairs it registers (EventsToRegister).
EVENTS_TO_REGISTER: dict[str, list[tuple[str, set[str]]]] = {
    "NodeName": [("Node", {ADD, UPDATE_NODE})],
    "NodeUnschedulable": [("Node", {ADD, UPDATE_NODE_TAINT})],
    "NodePorts": [("AssignedPod", {DELETE}), ("Node", {ADD, UPDATE_NODE})],
    "NodeResourcesFit": [
        ("AssignedPod", {DELETE, UPDATE_POD_SCALE_DOWN}),
        ("Node", {ADD, UPDATE_NODE_ALLOCATABLE, UPDATE_NODE_TAINT, UPDATE_NODE_LABEL}),
    ],
    "TaintToleration": [("Node", {ADD, UPDATE_NODE_TAINT})],
    "NodeAffinity": [("Node", {ADD, UPDATE_NODE_LABEL})],
    "InterPodAffinity": [
        ("AssignedPod", {ADD, UPDATE_POD_LABEL, DELETE}),
        ("Node", {ADD, UPDATE_NODE_LABEL}),
        ("Namespace", {UPDATE}),
    ],
    "PodTopologySpread": [
        ("AssignedPod", {ADD, UPDATE_POD_LABEL, DELETE}),
        ("Node", {ADD, DELETE, UPDATE_NODE_LABEL, UPDATE_NODE_TAINT}),
    ],
}


def event_helps(event: ClusterEvent, plugins: set[str]) -> bool:
    """Would this event possibly make a pod rejected by `plugins` schedulable?"""
    if event.resource == "*" or not plugins:
        return True
    for p in plugins:
        for resource, actions in EVENTS_TO_REGISTER.get(p, [("*", {"*"})]):
            if resource == "*" or (
                resource == event.resource
                and (
                    event.action in actions
                    or (UPDATE_NODE in actions and event.action.startswith("UpdateNode"))
                )
            ):
                return True
    return False
