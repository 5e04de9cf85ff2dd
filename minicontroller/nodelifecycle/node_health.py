"""The pure health decision of the NodeLifecycle controller.

Mirrors k8s.io/kubernetes/pkg/controller/nodelifecycle/node_lifecycle_controller.go
(tryUpdateNodeHealth: a node's probe timestamp moves on when its Ready heartbeat or its
kube-node-lease Lease renewTime changes; once silent past the grace period its conditions
turn Unknown; doNoExecuteTaintingPass: Ready=False gives the not-ready NoExecute taint,
Ready=Unknown the unreachable one, Ready=True neither). No I/O and no clock: `now` is
passed in. Omitted: the startup grace period for never-seen nodes, zone states and the
rate-limited per-zone tainting queues (every node is tainted at once).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from msgspec.structs import replace

from miniapi.coordination.v1 import Lease
from miniapi.core.v1 import Node, NodeCondition, Taint

TAINT_NODE_UNREACHABLE = "node.kubernetes.io/unreachable"
TAINT_NODE_NOT_READY = "node.kubernetes.io/not-ready"
NO_EXECUTE = "NoExecute"
# The conditions the kubelet owns; upstream marks them all Unknown together.
NODE_CONDITION_TYPES = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")


@dataclass
class NodeHealthData:
    """What the controller remembers of a node between passes (nodeHealthData)."""

    probe_timestamp: datetime
    ready_heartbeat: datetime | None
    lease_renew_time: datetime | None


def ready_condition(node: Node) -> NodeCondition | None:
    return next((c for c in node.status.conditions if c.type == "Ready"), None)


def observe(
    saved: NodeHealthData | None, node: Node, lease: Lease | None, now: datetime
) -> NodeHealthData:
    """The probe bookkeeping of tryUpdateNodeHealth: any new heartbeat resets the probe."""
    ready = ready_condition(node)
    heartbeat = ready.last_heartbeat_time if ready is not None else None
    renew = lease.spec.renew_time if lease is not None else None
    if saved is None:
        return NodeHealthData(now, heartbeat, renew)
    probe = saved.probe_timestamp
    if heartbeat != saved.ready_heartbeat:
        probe = now
    if renew is not None and (saved.lease_renew_time is None or renew > saved.lease_renew_time):
        probe = now
    else:
        renew = saved.lease_renew_time
    return NodeHealthData(probe, heartbeat, renew)


def unknown_conditions(node: Node, now: datetime) -> list[NodeCondition]:
    """The node's conditions with every kubelet-owned one set to Unknown."""
    by_type = {c.type: c for c in node.status.conditions}
    out = [c for c in node.status.conditions if c.type not in NODE_CONDITION_TYPES]
    for ctype in NODE_CONDITION_TYPES:
        current = by_type.get(ctype)
        if current is None:
            out.append(
                NodeCondition(
                    type=ctype,
                    status="Unknown",
                    reason="NodeStatusNeverUpdated",
                    message="Kubelet never posted node status.",
                    last_heartbeat_time=node.metadata.creation_timestamp,
                    last_transition_time=now,
                )
            )
        elif current.status != "Unknown":
            out.append(
                replace(
                    current,
                    status="Unknown",
                    reason="NodeStatusUnknown",
                    message="Kubelet stopped posting node status.",
                    last_transition_time=now,
                )
            )
        else:
            out.append(current)
    return out


def try_update_node_health(
    node: Node, health: NodeHealthData, now: datetime, grace_period: float
) -> Node | None:
    """The node with Unknown conditions if it has been silent too long, else None."""
    if now <= health.probe_timestamp + timedelta(seconds=grace_period):
        return None
    conditions = unknown_conditions(node, now)
    if conditions == list(node.status.conditions):
        return None
    return replace(node, status=replace(node.status, conditions=conditions))


def wanted_no_execute_taint(node: Node) -> str | None:
    """doNoExecuteTaintingPass: which of the two taints the Ready condition calls for."""
    ready = ready_condition(node)
    if ready is None or ready.status == "Unknown":
        return TAINT_NODE_UNREACHABLE if ready is not None else None
    if ready.status == "False":
        return TAINT_NODE_NOT_READY
    return None


def swap_no_execute_taints(node: Node, now: datetime) -> list[Taint] | None:
    """The node's new taint list for its Ready state, or None if it is already right."""
    wanted = wanted_no_execute_taint(node)
    ours = (TAINT_NODE_UNREACHABLE, TAINT_NODE_NOT_READY)
    kept = [t for t in node.spec.taints if not (t.key in ours and t.effect == NO_EXECUTE)]
    have = [t for t in node.spec.taints if t.key in ours and t.effect == NO_EXECUTE]
    if wanted is None:
        return kept if have else None
    if [t.key for t in have] == [wanted]:
        return None
    return [*kept, Taint(key=wanted, effect=NO_EXECUTE, time_added=now)]
