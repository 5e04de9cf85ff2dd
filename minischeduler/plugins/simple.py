"""Small filter plugins: PrioritySort, NodeName, NodeUnschedulable, NodePorts, DefaultBinder.

Mirrors pkg/scheduler/framework/plugins/queuesort/priority_sort.go,
nodename/node_name.go, nodeunschedulable/node_unschedulable.go,
nodeports/node_ports.go and defaultbinder/default_binder.go.
Each is a few lines upstream too; their reason strings are upstream's verbatim.
The filter plugins register their queueing hints (events_to_register): NodeName any
added node (no hint, as upstream), NodeUnschedulable a node turning schedulable
or the pod gaining the unschedulable toleration, NodePorts the deletion of a pod that
held one of the requested host ports (a node added always queues, as upstream).
"""

from __future__ import annotations

from miniapi.core.v1 import TAINT_EFFECT_NO_SCHEDULE, TAINT_NODE_UNSCHEDULABLE, Pod, Taint
from minischeduler.framework.cycle_state import CycleState
from minischeduler.framework.interface import unresolvable, unschedulable
from minischeduler.framework.runtime import pod_priority
from minischeduler.framework.status import Code, Status
from minischeduler.framework.types import DEFAULT_BIND_ALL_HOST_IP, HostPortInfo, NodeInfo
from minischeduler.internal.events import (
    ADD,
    DELETE,
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
from minischeduler.plugins.helper import tolerates_taint

ERR_REASON_NODE_NAME = "node(s) didn't match the requested node name"
ERR_REASON_UNSCHEDULABLE = "node(s) were unschedulable"
ERR_REASON_NODE_PORTS = "node(s) didn't have free ports for the requested pod ports"


class PrioritySort:
    """Higher priority first; equal priority: earlier queue timestamp first."""

    name = "PrioritySort"

    def less(self, a, b) -> bool:
        p1, p2 = pod_priority(a.pod), pod_priority(b.pod)
        return p1 > p2 or (p1 == p2 and a.timestamp < b.timestamp)


class NodeName:
    name = "NodeName"

    def events_to_register(self) -> list[ClusterEventWithHint]:
        # No hint: a new node always queues the pod (upstream registers Node/Add alone).
        return [ClusterEventWithHint(ClusterEvent(NODE, ADD))]

    def filter(self, state: CycleState, pod: Pod, ni: NodeInfo) -> Status | None:
        if pod.spec.node_name and pod.spec.node_name != ni.name:
            return unresolvable(ERR_REASON_NODE_NAME)
        return None


_UNSCHEDULABLE_TAINT = Taint(key=TAINT_NODE_UNSCHEDULABLE, effect=TAINT_EFFECT_NO_SCHEDULE)


class NodeUnschedulable:
    name = "NodeUnschedulable"

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
        """Queue for a node added schedulable or turned from unschedulable to schedulable."""
        if new.spec.unschedulable:
            return QUEUE_SKIP
        return QUEUE if old is None or old.spec.unschedulable else QUEUE_SKIP

    def is_schedulable_after_pod_toleration_change(self, pod: Pod, old, new) -> QueueingHint:
        """Queue when the pod itself now tolerates node.kubernetes.io/unschedulable."""
        if new.metadata.uid != pod.metadata.uid:
            return QUEUE_SKIP
        ok = any(tolerates_taint(t, _UNSCHEDULABLE_TAINT) for t in new.spec.tolerations)
        return QUEUE if ok else QUEUE_SKIP

    def filter(self, state: CycleState, pod: Pod, ni: NodeInfo) -> Status | None:
        if not ni.node.spec.unschedulable:
            return None
        if any(tolerates_taint(t, _UNSCHEDULABLE_TAINT) for t in pod.spec.tolerations):
            return None
        return unresolvable(ERR_REASON_UNSCHEDULABLE)


_PORTS_KEY = "PreFilterNodePorts"


def _host_ports(pod: Pod) -> list[tuple[str, str, int]]:
    return [
        (p.host_ip or DEFAULT_BIND_ALL_HOST_IP, p.protocol or "TCP", p.host_port)
        for c in pod.spec.containers
        for p in c.ports
        if p.host_port > 0
    ]


class NodePorts:
    name = "NodePorts"

    def events_to_register(self) -> list[ClusterEventWithHint]:
        # Container ports are immutable, so only a deleted pod frees one; a new node
        # always queues (no hint), as upstream.
        return [
            ClusterEventWithHint(ClusterEvent(POD, DELETE), self.is_schedulable_after_pod_deleted),
            ClusterEventWithHint(ClusterEvent(NODE, ADD)),
        ]

    def is_schedulable_after_pod_deleted(self, pod: Pod, old, new) -> QueueingHint:
        """Queue when the deleted pod (bound or nominated) held a port this pod wants."""
        if not old.spec.node_name and not old.status.nominated_node_name:
            return QUEUE_SKIP
        used = HostPortInfo()
        for ip, proto, port in _host_ports(old):
            used.add(ip, proto, port)
        if any(used.check_conflict(ip, proto, port) for ip, proto, port in _host_ports(pod)):
            return QUEUE
        return QUEUE_SKIP

    def pre_filter(self, state: CycleState, pod: Pod):
        ports = _host_ports(pod)
        if not ports:
            return None, Status(Code.SKIP)
        state.write(_PORTS_KEY, ports)
        return None, None

    def filter(self, state: CycleState, pod: Pod, ni: NodeInfo) -> Status | None:
        for ip, proto, port in state.read(_PORTS_KEY):
            if ni.used_ports.check_conflict(ip, proto, port):
                return unschedulable(ERR_REASON_NODE_PORTS)
        return None


class DefaultBinder:
    """Binds through the handle's binder: pods/binding in the running mode."""

    name = "DefaultBinder"

    def __init__(self, handle) -> None:
        self.handle = handle

    def bind(self, state: CycleState, pod: Pod, node: str) -> Status | None:
        if self.handle.bind_pod is None:
            return Status(Code.ERROR, "no binder configured")
        return self.handle.bind_pod(pod, node)
