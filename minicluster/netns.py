"""Worker nodes as network namespaces on a host bridge, made and unmade with iproute2.

Plays the part of kind's node containers on the "kind" docker network
(pkg/cluster/internal/providers/docker/create.go: one network, one container per node)
and of kindnet's routes: a namespace per node with eth0 on the bridge, IP forwarding on,
and a route to every other node's podCIDR. Every step is an `ip` command a reader can
replay by hand. Omitted: MTU tuning, IPv6.
"""

from __future__ import annotations

import subprocess

from minicluster.topology import Topology


class NetError(Exception):
    """An `ip` command failed; carries its stderr, as iproute2 prints it."""


def ip(*args: str, check: bool = True) -> str:
    out = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if check and out.returncode != 0:
        raise NetError(f"ip {' '.join(args)}: {out.stderr.strip()}")
    return out.stdout


def sysctl(netns: str, key: str, value: str) -> None:
    # /proc/sys/net shows the namespace of the process that opens it, hence `ip netns exec`.
    ip("netns", "exec", netns, "sysctl", "-qw", f"{key}={value}")


def routed_cidrs() -> list[str]:
    """Destinations the host routes already (to pick a cluster subnet that is free)."""
    out = ip("-4", "route", "show", "table", "all")
    return [line.split()[0] for line in out.splitlines() if line and line[0].isdigit()]


def make_bridge(t: Topology) -> None:
    ip("link", "add", t.bridge, "type", "bridge")
    ip("addr", "add", f"{t.bridge_ip}/{t.prefix_len}", "dev", t.bridge)
    ip("link", "set", t.bridge, "up")


def make_node(t: Topology, index: int) -> None:
    """The node's namespace, its eth0 on the bridge, default route to the host."""
    n = t.nodes[index - 1]
    ip("netns", "add", n.netns)
    ip("link", "add", n.host_veth, "type", "veth", "peer", "name", "eth0", "netns", n.netns)
    ip("link", "set", n.host_veth, "master", t.bridge, "up")
    ip("-n", n.netns, "link", "set", "lo", "up")
    ip("-n", n.netns, "addr", "add", f"{n.node_ip}/{t.prefix_len}", "dev", "eth0")
    ip("-n", n.netns, "link", "set", "eth0", "up")
    ip("-n", n.netns, "route", "add", "default", "via", t.bridge_ip)
    sysctl(n.netns, "net.ipv4.ip_forward", "1")


def add_routes(t: Topology) -> None:
    for r in t.routes():
        ip(*(["-n", r.netns] if r.netns else []), "route", "replace", r.dst, "via", r.via)


def setup(t: Topology) -> None:
    make_bridge(t)
    for node in t.nodes:
        make_node(t, node.index)
    add_routes(t)


def netns_list() -> list[str]:
    return [line.split()[0] for line in ip("netns", "list").splitlines() if line.strip()]


def netns_pids(netns: str) -> list[int]:
    return [int(p) for p in ip("netns", "pids", netns, check=False).split()]


def cluster_netns(cluster: str) -> list[str]:
    """The node namespaces of this cluster, found by name (works after a crash of `up`)."""
    return [n for n in netns_list() if n.startswith(f"{cluster}-node")]


def cluster_links(cluster: str) -> list[str]:
    names = [line.split()[0].split("@")[0] for line in ip("-br", "link").splitlines()]
    return [n for n in names if n == f"{cluster}br0" or n.startswith(f"{cluster}-n")]


def teardown(cluster: str, host_routes: list[str]) -> None:
    """Delete node namespaces (their veths, rules and routes go with them), then the bridge."""
    for netns in cluster_netns(cluster):
        ip("netns", "del", netns, check=False)
    for dst in host_routes:
        ip("route", "del", dst, check=False)
    for link in cluster_links(cluster):
        ip("link", "del", link, check=False)
