"""Service: a stable virtual IP and DNS name in front of a set of pods.

Mirrors k8s.io/api/core/v1/types.go (Service, ServiceSpec, ServicePort,
ServiceStatus, LoadBalancerStatus, LoadBalancerIngress, PortStatus,
SessionAffinityConfig, ClientIPConfig, ServiceList). targetPort is
IntOrString upstream, `int | str` here.
Omitted: nothing of these shapes.
"""

from __future__ import annotations

from miniapi.base import Struct, field
from miniapi.meta.v1 import Condition, ListMeta, ObjectMeta

__all__ = [
    "ClientIPConfig",
    "LoadBalancerIngress",
    "LoadBalancerStatus",
    "PortStatus",
    "Service",
    "ServiceList",
    "ServicePort",
    "ServiceSpec",
    "ServiceStatus",
    "SessionAffinityConfig",
    "SERVICE_TYPE_CLUSTER_IP",
    "SERVICE_TYPE_NODE_PORT",
    "SERVICE_TYPE_LOAD_BALANCER",
    "SERVICE_TYPE_EXTERNAL_NAME",
    "SESSION_AFFINITY_NONE",
    "SESSION_AFFINITY_CLIENT_IP",
    "CLUSTER_IP_NONE",
    "IP_FAMILY_IPV4",
    "IP_FAMILY_IPV6",
    "IP_FAMILY_POLICY_SINGLE_STACK",
    "IP_FAMILY_POLICY_PREFER_DUAL_STACK",
    "IP_FAMILY_POLICY_REQUIRE_DUAL_STACK",
    "TRAFFIC_POLICY_CLUSTER",
    "TRAFFIC_POLICY_LOCAL",
    "DEFAULT_CLIENT_IP_TIMEOUT_SECONDS",
]

SERVICE_TYPE_CLUSTER_IP = "ClusterIP"
SERVICE_TYPE_NODE_PORT = "NodePort"
SERVICE_TYPE_LOAD_BALANCER = "LoadBalancer"
SERVICE_TYPE_EXTERNAL_NAME = "ExternalName"
SESSION_AFFINITY_NONE = "None"
SESSION_AFFINITY_CLIENT_IP = "ClientIP"
CLUSTER_IP_NONE = "None"
IP_FAMILY_IPV4 = "IPv4"
IP_FAMILY_IPV6 = "IPv6"
IP_FAMILY_POLICY_SINGLE_STACK = "SingleStack"
IP_FAMILY_POLICY_PREFER_DUAL_STACK = "PreferDualStack"
IP_FAMILY_POLICY_REQUIRE_DUAL_STACK = "RequireDualStack"
TRAFFIC_POLICY_CLUSTER = "Cluster"
TRAFFIC_POLICY_LOCAL = "Local"
DEFAULT_CLIENT_IP_TIMEOUT_SECONDS = 10800


class ServicePort(Struct, frozen=True, kw_only=True):
    """A port the service exposes and the pod port it forwards to."""

    name: str = ""
    protocol: str = ""
    app_protocol: str | None = None
    port: int = 0
    target_port: int | str | None = None
    node_port: int = 0


class ClientIPConfig(Struct, frozen=True, kw_only=True):
    """How long ClientIP affinity sticks."""

    timeout_seconds: int | None = None


class SessionAffinityConfig(Struct, frozen=True, kw_only=True):
    """Settings of session affinity."""

    client_ip: ClientIPConfig | None = field(default=None, name="clientIP")


class ServiceSpec(Struct, frozen=True, kw_only=True):
    """Ports, selector, virtual IPs, type and traffic policies."""

    ports: list[ServicePort] = []
    selector: dict[str, str] = {}
    cluster_ip: str = field(default="", name="clusterIP")
    cluster_ips: list[str] = field(default_factory=list, name="clusterIPs")
    type: str = ""
    external_ips: list[str] = field(default_factory=list, name="externalIPs")
    session_affinity: str = ""
    load_balancer_ip: str = field(default="", name="loadBalancerIP")
    load_balancer_source_ranges: list[str] = []
    external_name: str = ""
    external_traffic_policy: str = ""
    health_check_node_port: int = 0
    publish_not_ready_addresses: bool = False
    session_affinity_config: SessionAffinityConfig | None = None
    ip_families: list[str] = []
    ip_family_policy: str | None = None
    allocate_load_balancer_node_ports: bool | None = None
    load_balancer_class: str | None = None
    internal_traffic_policy: str | None = None
    traffic_distribution: str | None = None


class PortStatus(Struct, frozen=True, kw_only=True):
    """An error on one load-balancer port."""

    port: int = 0
    protocol: str = ""
    error: str | None = None


class LoadBalancerIngress(Struct, frozen=True, kw_only=True):
    """A load-balancer ingress point."""

    ip: str = ""
    hostname: str = ""
    ip_mode: str | None = None
    ports: list[PortStatus] = []


class LoadBalancerStatus(Struct, frozen=True, kw_only=True):
    """The load balancer's ingress points."""

    ingress: list[LoadBalancerIngress] = []


class ServiceStatus(Struct, frozen=True, kw_only=True):
    """Observed state of the service."""

    load_balancer: LoadBalancerStatus = field(default_factory=LoadBalancerStatus)
    conditions: list[Condition] = []


class Service(Struct, frozen=True, kw_only=True):
    """A named, load-balanced set of pod endpoints."""

    api_version: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = field(default_factory=ObjectMeta)
    spec: ServiceSpec = field(default_factory=ServiceSpec)
    status: ServiceStatus = field(default_factory=ServiceStatus)


class ServiceList(Struct, frozen=True, kw_only=True, omit_defaults=False):
    """A list of services."""

    api_version: str | None = None
    kind: str | None = None
    metadata: ListMeta = field(default_factory=ListMeta)
    items: list[Service] = []
