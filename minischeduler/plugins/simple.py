"""Small filter plugins: PrioritySort, NodeName, NodeUnschedulable, NodePorts, DefaultBinder.

Mirrors pkg/scheduler/framework/plugins/queuesort/priority_sort.go,
nodename/node_name.go, nodeunschedulable/node_unschedulable.go,
nodeports/node_ports.go and defaultbinder/default_binder.go.
Each is a few lines upstream too; their reason strings are upstream's verbatim.
Omitted: queueing-hint functions (the queue uses the event table in queue/events.py).
"""

from __future__ import annotations

from miniapi.core.v1 import TAINT_EFFECT_NO_SCHEDULE, TAINT_NODE_UNSCHEDULABLE, Pod, Taint
from minischeduler.framework.cycle_state import CycleState
from minischeduler.framework.interface import unresolvable, unschedulable
from minischeduler.framework.runtime import pod_priority
from minischeduler.framework.status import Code, Status
from minischeduler.framework.types import DEFAULT_BIND_ALL_HOST_IP, NodeInfo
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

    def filter(self, state: CycleState, pod: Pod, ni: NodeInfo) -> Status | None:
        if pod.spec.node_name and pod.spec.node_name != ni.name:
            return unresolvable(ERR_REASON_NODE_NAME)
        return None


_UNSCHEDULABLE_TAINT = Taint(key=TAINT_NODE_UNSCHEDULABLE, effect=TAINT_EFFECT_NO_SCHEDULE)


class NodeUnschedulable:
    name = "NodeUnschedulable"

    def filter(self, state: CycleState, pod: Pod, ni: NodeInfo) -> Status | None:
        if not ni.node.spec.unschedulable:
            return None
        if any(tolerates_taint(t, _UNSCHEDULABLE_TAINT) for t in pod.spec.tolerations):
            return None
        return unresolvable(ERR_REASON_UNSCHEDULABLE)


_PORTS_KEY = "PreFilterNodePorts"


class NodePorts:
    name = "NodePorts"

    def pre_filter(self, state: CycleState, pod: Pod):
        ports = [
            (p.host_ip or DEFAULT_BIND_ALL_HOST_IP, p.protocol or "TCP", p.host_port)
            for c in pod.spec.containers
            for p in c.ports
            if p.host_port > 0
        ]
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
