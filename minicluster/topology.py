"""The cluster's addresses and names, computed before anything is made.

Mirrors what kind decides in pkg/cluster/internal/create (node names, the docker network's
subnet, each node's podSubnet slice of the cluster's podSubnet) and what the kubenet /
kindnet route controller installs (a route per other node's podCIDR via that node's IP).
Pure: a cluster name, a node count and a subnet index in, every name, address and route out;
the adapters in netns.py and supervisor.py only carry this plan out.
Omitted: IPv6 and dual-stack; more than 16 nodes or 16 clusters on one machine.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

SERVICE_CIDR = "10.96.0.0/12"
DNS_SERVICE_IP = "10.96.0.10"  # kubeadm's choice: the tenth address of the service range
CLUSTER_DOMAIN = "cluster.local"
MAX_CLUSTERS = 16
MAX_NODES = 16
_NAME = re.compile(r"^[a-z][a-z0-9]{0,7}$")


@dataclass(frozen=True)
class NodePlan:
    """One worker node: a network namespace with a veth on the host bridge."""

    name: str  # the Node object's name
    index: int  # 1-based
    netns: str  # `ip netns exec <netns> ...`
    host_veth: str  # the bridge port on the host; inside the namespace it is eth0
    node_ip: str
    pod_cidr: str


@dataclass(frozen=True)
class Route:
    """`ip [-n netns] route add dst via gateway`; netns "" is the host."""

    netns: str
    dst: str
    via: str


@dataclass(frozen=True)
class Topology:
    cluster: str
    subnet_index: int
    bridge: str
    bridge_ip: str
    prefix_len: int
    cluster_cidr: str
    nodes: tuple[NodePlan, ...]
    service_cidr: str = SERVICE_CIDR
    dns_ip: str = DNS_SERVICE_IP
    cluster_domain: str = CLUSTER_DOMAIN

    def routes(self) -> list[Route]:
        """Every node reaches every other node's pods through that node; so does the host."""
        out = [Route("", n.pod_cidr, n.node_ip) for n in self.nodes]
        for here in self.nodes:
            out += [Route(here.netns, n.pod_cidr, n.node_ip) for n in self.nodes if n != here]
        return out


def validate_name(name: str) -> None:
    """Cluster names become interface-name prefixes (15 bytes max), hence the short form."""
    if not _NAME.match(name):
        raise ValueError(
            f'invalid cluster name "{name}": 1-8 characters, a-z and 0-9, starting with a letter'
        )


def host_subnet(index: int) -> ipaddress.IPv4Network:
    return ipaddress.ip_network(f"172.30.{index}.0/24")


def cluster_cidr(index: int) -> ipaddress.IPv4Network:
    """Cluster `index` owns 10.244.(16*index).0/20: up to 16 node /24s."""
    return ipaddress.ip_network(f"10.244.{16 * index}.0/20")


def pick_subnet_index(in_use: list[str]) -> int:
    """The first index whose host subnet and pod range overlap nothing already routed here."""
    used = [ipaddress.ip_network(c, strict=False) for c in in_use]
    for index in range(MAX_CLUSTERS):
        mine = (host_subnet(index), cluster_cidr(index))
        if not any(a.overlaps(b) for a in mine for b in used if b.prefixlen > 0):
            return index
    raise ValueError(f"no free subnet: {MAX_CLUSTERS} clusters' address ranges are all in use")


def plan(cluster: str, node_count: int, subnet_index: int) -> Topology:
    validate_name(cluster)
    if not 1 <= node_count <= MAX_NODES:
        raise ValueError(f"--nodes must be between 1 and {MAX_NODES}, not {node_count}")
    net = host_subnet(subnet_index)
    pods = list(cluster_cidr(subnet_index).subnets(new_prefix=24))
    hosts = list(net.hosts())  # .1 is the bridge, node i is .(1+i)
    nodes = tuple(
        NodePlan(
            name=f"node{i}",
            index=i,
            netns=f"{cluster}-node{i}",
            host_veth=f"{cluster}-n{i}",
            node_ip=str(hosts[i]),
            pod_cidr=str(pods[i - 1]),
        )
        for i in range(1, node_count + 1)
    )
    return Topology(
        cluster=cluster,
        subnet_index=subnet_index,
        bridge=f"{cluster}br0",
        bridge_ip=str(hosts[0]),
        prefix_len=net.prefixlen,
        cluster_cidr=str(cluster_cidr(subnet_index)),
        nodes=nodes,
    )
