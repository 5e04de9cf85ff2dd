"""Node: a worker machine, its taints, capacity, conditions and addresses.

Mirrors k8s.io/api/core/v1/types.go (Node, NodeSpec, NodeStatus,
NodeCondition, NodeAddress, NodeSystemInfo, ContainerImage,
NodeDaemonEndpoints, DaemonEndpoint, NodeList). Capacity and allocatable map
resource names to resource.Quantity.
Omitted: configSource, volumesInUse/volumesAttached, runtimeHandlers, features.
"""

from __future__ import annotations

from datetime import datetime

from miniapi.base import Struct, field
from miniapi.core.v1.affinity import Taint
from miniapi.meta.v1 import ListMeta, ObjectMeta
from miniapi.resource import Quantity

__all__ = [
    "ContainerImage",
    "DaemonEndpoint",
    "Node",
    "NodeAddress",
    "NodeCondition",
    "NodeDaemonEndpoints",
    "NodeList",
    "NodeSpec",
    "NodeStatus",
    "NodeSystemInfo",
    "NODE_READY",
    "NODE_MEMORY_PRESSURE",
    "NODE_DISK_PRESSURE",
    "NODE_PID_PRESSURE",
    "NODE_NETWORK_UNAVAILABLE",
    "NODE_HOSTNAME",
    "NODE_INTERNAL_IP",
    "NODE_EXTERNAL_IP",
    "NODE_INTERNAL_DNS",
    "NODE_EXTERNAL_DNS",
    "TAINT_NODE_NOT_READY",
    "TAINT_NODE_UNREACHABLE",
    "TAINT_NODE_UNSCHEDULABLE",
]

NODE_READY = "Ready"
NODE_MEMORY_PRESSURE = "MemoryPressure"
NODE_DISK_PRESSURE = "DiskPressure"
NODE_PID_PRESSURE = "PIDPressure"
NODE_NETWORK_UNAVAILABLE = "NetworkUnavailable"

NODE_HOSTNAME = "Hostname"
NODE_INTERNAL_IP = "InternalIP"
NODE_EXTERNAL_IP = "ExternalIP"
NODE_INTERNAL_DNS = "InternalDNS"
NODE_EXTERNAL_DNS = "ExternalDNS"

TAINT_NODE_NOT_READY = "node.kubernetes.io/not-ready"
TAINT_NODE_UNREACHABLE = "node.kubernetes.io/unreachable"
TAINT_NODE_UNSCHEDULABLE = "node.kubernetes.io/unschedulable"


class NodeSpec(Struct, frozen=True, kw_only=True):
    """How the node is configured: pod CIDRs, taints, unschedulable."""

    pod_cidr: str = field(default="", name="podCIDR")
    pod_cidrs: list[str] = field(default_factory=list, name="podCIDRs")
    provider_id: str = field(default="", name="providerID")
    unschedulable: bool = False
    taints: list[Taint] = []


class NodeCondition(Struct, frozen=True, kw_only=True):
    """Ready, MemoryPressure, DiskPressure, PIDPressure, NetworkUnavailable."""

    type: str = ""
    status: str = ""
    last_heartbeat_time: datetime | None = None
    last_transition_time: datetime | None = None
    reason: str = ""
    message: str = ""


class NodeAddress(Struct, frozen=True, kw_only=True):
    """An address of the node (Hostname, InternalIP, ExternalIP, ...)."""

    type: str = ""
    address: str = ""


class DaemonEndpoint(Struct, frozen=True, kw_only=True, omit_defaults=False):
    """A port a node daemon listens on."""

    port: int = field(default=0, name="Port")


class NodeDaemonEndpoints(Struct, frozen=True, kw_only=True):
    """Where the kubelet listens."""

    kubelet_endpoint: DaemonEndpoint = field(default_factory=DaemonEndpoint)


class NodeSystemInfo(Struct, frozen=True, kw_only=True, omit_defaults=False):
    """What the node reports about itself."""

    machine_id: str = field(default="", name="machineID")
    system_uuid: str = field(default="", name="systemUUID")
    boot_id: str = field(default="", name="bootID")
    kernel_version: str = ""
    os_image: str = field(default="", name="osImage")
    container_runtime_version: str = ""
    kubelet_version: str = ""
    kube_proxy_version: str = ""
    operating_system: str = ""
    architecture: str = ""


class ContainerImage(Struct, frozen=True, kw_only=True):
    """An image present on the node."""

    names: list[str] = []
    size_bytes: int = 0


class NodeStatus(Struct, frozen=True, kw_only=True):
    """Observed state of the node."""

    capacity: dict[str, Quantity] = {}
    allocatable: dict[str, Quantity] = {}
    phase: str = ""
    conditions: list[NodeCondition] = []
    addresses: list[NodeAddress] = []
    daemon_endpoints: NodeDaemonEndpoints = field(default_factory=NodeDaemonEndpoints)
    node_info: NodeSystemInfo = field(default_factory=NodeSystemInfo)
    images: list[ContainerImage] = []


class Node(Struct, frozen=True, kw_only=True):
    """A worker node (cluster-scoped)."""

    api_version: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = field(default_factory=ObjectMeta)
    spec: NodeSpec = field(default_factory=NodeSpec)
    status: NodeStatus = field(default_factory=NodeStatus)


class NodeList(Struct, frozen=True, kw_only=True, omit_defaults=False):
    """A list of nodes."""

    api_version: str | None = None
    kind: str | None = None
    metadata: ListMeta = field(default_factory=ListMeta)
    items: list[Node] = []
