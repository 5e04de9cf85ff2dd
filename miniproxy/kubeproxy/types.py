"""The proxier's internal model: service ports, endpoints and the node's proxy config.

Mirrors k8s.io/kubernetes pkg/proxy/types.go (ServicePortName), pkg/proxy/serviceport.go
(BaseServicePortInfo and its policy helpers), pkg/proxy/endpoint.go (BaseEndpointInfo) and
the constructor arguments of pkg/proxy/iptables/proxier.go NewProxier. The renderers and the
tracer see only these frozen values, never API objects; `convert.py` builds them from
Services and EndpointSlices the way the change trackers do.
Omitted: IPv6 (the proxier is IPv4 single-stack), health-check node ports' HTTP servers,
topology hints by node (PreferSameNode), ServiceCIDR objects.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import NamedTuple

# v1.ServiceAffinity values.
AFFINITY_NONE = "None"
AFFINITY_CLIENT_IP = "ClientIP"
# DefaultClientIPServiceAffinitySeconds in k8s.io/api/core/v1.
DEFAULT_STICKY_MAX_AGE_SECONDS = 10800


@dataclass(frozen=True, order=True)
class NamespacedName:
    """types.NamespacedName: the identity of a Service."""

    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


class ServicePortName(NamedTuple):
    """proxy.ServicePortName: one port of one Service, the key of the service map.

    A NamedTuple rather than a frozen dataclass because it is the key of every map
    lookup in a sync: a tuple hashes and compares in C, ten times faster at 10k services.
    """

    namespace: str
    name: str
    port: str = ""
    protocol: str = "TCP"

    @property
    def namespaced_name(self) -> NamespacedName:
        return NamespacedName(self.namespace, self.name)

    def __str__(self) -> str:
        # fmtPortName: an unnamed port adds nothing after the service name.
        suffix = f":{self.port}" if self.port else ""
        return f"{self.namespace}/{self.name}{suffix}"


@dataclass(frozen=True)
class ServicePortInfo:
    """BaseServicePortInfo: what the proxier needs from one ServicePort of a Service."""

    name: ServicePortName
    cluster_ip: str
    port: int
    protocol: str = "TCP"
    node_port: int = 0
    external_ips: tuple[str, ...] = ()
    load_balancer_vips: tuple[str, ...] = ()
    load_balancer_source_ranges: tuple[str, ...] = ()
    session_affinity_type: str = AFFINITY_NONE
    sticky_max_age_seconds: int = DEFAULT_STICKY_MAX_AGE_SECONDS
    external_policy_local: bool = False
    internal_policy_local: bool = False
    health_check_node_port: int = 0

    def externally_accessible(self) -> bool:
        """NodePort, LoadBalancer or externalIPs: reachable from outside the cluster."""
        return self.node_port != 0 or bool(self.load_balancer_vips) or bool(self.external_ips)

    def uses_cluster_endpoints(self) -> bool:
        """Whether some traffic to this port uses the Cluster traffic policy."""
        if not self.internal_policy_local:
            return True
        return self.externally_accessible() and not self.external_policy_local

    def uses_local_endpoints(self) -> bool:
        """Whether some traffic to this port uses the Local traffic policy."""
        if self.internal_policy_local:
            return True
        return self.externally_accessible() and self.external_policy_local

    @property
    def lower_protocol(self) -> str:
        return self.protocol.lower()


@dataclass(frozen=True)
class EndpointInfo:
    """BaseEndpointInfo: one address:port behind a service port, with its conditions."""

    ip: str
    port: int
    is_local: bool = False
    ready: bool = True
    serving: bool = True
    terminating: bool = False
    zone_hints: frozenset[str] = field(default_factory=frozenset)
    node_name: str = ""

    def __str__(self) -> str:
        return f"{self.ip}:{self.port}"


@dataclass(frozen=True)
class ProxyConfig:
    """The per-node settings NewProxier takes (flags of kube-proxy)."""

    node_name: str = "node1"
    node_ips: tuple[str, ...] = ()
    masquerade_bit: int = 14
    masquerade_all: bool = False
    # --cluster-cidr: the LocalTrafficDetector by cluster CIDR; None means "not implemented".
    cluster_cidr: str | None = None
    # --nodeport-addresses as CIDRs; empty means every local address (MatchAll).
    nodeport_addresses: tuple[str, ...] = ()
    localhost_nodeports: bool = True
    conntrack_tcp_liberal: bool = False
    zone: str = ""
    # Not upstream: pick endpoints with a `numgen random mod (n-i) 0` ladder (the iptables
    # formula) instead of one anonymous numgen vmap per service, which makes `nft -f` grow
    # superlinearly with the number of services (see benchmarks/kube_proxy.py).
    nftables_endpoint_ladder: bool = False

    @property
    def masquerade_mark(self) -> str:
        """fmt.Sprintf("%#08x", 1<<bit) as Go prints it: 0x plus eight hex digits."""
        return f"0x{1 << self.masquerade_bit:08x}"

    def nodeport_match_all(self) -> bool:
        return not self.nodeport_addresses

    def nodeport_ips(self) -> list[str]:
        """NodePortAddresses.GetNodeIPs: node IPs inside --nodeport-addresses."""
        nets = [ipaddress.ip_network(c, strict=False) for c in self.nodeport_addresses]
        return [ip for ip in self.node_ips if any(ipaddress.ip_address(ip) in n for n in nets)]

    def localhost_nodeports_enabled(self) -> bool:
        """NewProxier turns localhost NodePorts off unless --nodeport-addresses has 127/8."""
        if not self.localhost_nodeports:
            return False
        if self.nodeport_match_all():
            return True
        loop = ipaddress.ip_network("127.0.0.0/8")
        return any(
            ipaddress.ip_network(c, strict=False).overlaps(loop) for c in self.nodeport_addresses
        )


class EndpointList(list):
    """A service port's endpoints as a proxier's tracker hands them over, with one fact
    about the whole list computed then: `all_ready`, every endpoint Ready and without
    zone hints (so CategorizeEndpoints' usual answer, "all of them", needs no loop)."""

    __slots__ = ("all_ready",)

    def __init__(self, endpoints=()) -> None:
        super().__init__(endpoints)
        self.all_ready = all(ep.ready and not ep.zone_hints for ep in self)


ServicePortMap = dict[ServicePortName, ServicePortInfo]
EndpointsMap = dict[ServicePortName, list[EndpointInfo]]
