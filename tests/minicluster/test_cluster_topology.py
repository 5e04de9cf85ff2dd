"""The pure plan (names, addresses, routes) and the command lines the components accept."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from minicluster import bootstrap, cni, components
from minicluster.topology import (
    MAX_CLUSTERS,
    MAX_NODES,
    cluster_cidr,
    host_subnet,
    pick_subnet_index,
    plan,
    validate_name,
)

names = st.from_regex(r"[a-z][a-z0-9]{0,7}", fullmatch=True)


@given(names, st.integers(1, MAX_NODES), st.integers(0, MAX_CLUSTERS - 1))
def test_plan_is_consistent(name: str, count: int, index: int) -> None:
    t = plan(name, count, index)
    bridge_net = ipaddress.ip_network(f"{t.bridge_ip}/{t.prefix_len}", strict=False)
    pods = [ipaddress.ip_network(n.pod_cidr) for n in t.nodes]
    ips = [t.bridge_ip, *(n.node_ip for n in t.nodes)]
    assert len(set(ips)) == len(ips)
    assert all(ipaddress.ip_address(i) in bridge_net for i in ips)
    assert all(p.subnet_of(ipaddress.ip_network(t.cluster_cidr)) for p in pods)
    assert not any(a.overlaps(b) for i, a in enumerate(pods) for b in pods[i + 1 :])
    # Linux interface names are at most 15 bytes.
    assert all(len(x) <= 15 for x in [t.bridge, *(n.host_veth for n in t.nodes)])


@given(st.integers(1, MAX_NODES))
def test_every_place_routes_to_every_other_nodes_pods(count: int) -> None:
    t = plan("mc", count, 0)
    routes = t.routes()
    for where in ["", *(n.netns for n in t.nodes)]:
        got = {(r.dst, r.via) for r in routes if r.netns == where}
        want = {(n.pod_cidr, n.node_ip) for n in t.nodes if n.netns != where}
        assert got == want


def test_default_cluster_uses_the_documented_addresses() -> None:
    t = plan("mc", 2, 0)
    assert (t.bridge, t.bridge_ip) == ("mcbr0", "172.30.0.1")
    assert [(n.netns, n.node_ip, n.pod_cidr) for n in t.nodes] == [
        ("mc-node1", "172.30.0.2", "10.244.0.0/24"),
        ("mc-node2", "172.30.0.3", "10.244.1.0/24"),
    ]


@given(st.sets(st.integers(0, MAX_CLUSTERS - 1), max_size=MAX_CLUSTERS - 1))
def test_pick_subnet_index_avoids_every_used_range(taken: set[int]) -> None:
    used = [str(host_subnet(i)) for i in taken] + ["0.0.0.0/0", "192.0.2.0/24"]
    index = pick_subnet_index(used)
    assert index not in taken and index == min(set(range(MAX_CLUSTERS)) - taken)


def test_pick_subnet_index_sees_pod_ranges_and_runs_out() -> None:
    assert pick_subnet_index([str(cluster_cidr(0))]) == 1
    with pytest.raises(ValueError, match="no free subnet"):
        pick_subnet_index(["172.30.0.0/16"])


@pytest.mark.parametrize("bad", ["", "Mc", "1mc", "toolongname", "mc-1"])
def test_bad_names_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="invalid cluster name"):
        validate_name(bad)


def _strip_nsenter(argv: list[str]) -> list[str]:
    assert argv[0] == "nsenter" and argv[1].startswith("--net=/var/run/netns/")
    return argv[2:]


def test_node_command_lines_parse_with_the_components_own_flags() -> None:
    """Flags drift when a package changes: parse ours with each component's parser."""
    from minicontroller.__main__ import parse_args as controller_args
    from minikubelet.__main__ import parse_args as kubelet_args

    t = plan("mc", 2, 0)
    n = t.nodes[0]
    argv = _strip_nsenter(components.kubelet_argv(n, t, "/k", "/r", "runc", False, "/r/cni/net.d"))
    args = kubelet_args(argv[3:])
    assert (args.node_ip, args.address, args.pod_cidr) == (n.node_ip, n.node_ip, n.pod_cidr)
    assert args.container_runtime_endpoint == "runc" and args.cni_conf_dir == "/r/cni/net.d"
    controller = controller_args(components.controller_manager_flags("/k", "/ca.crt"))
    assert controller.node_monitor_grace_period == 40.0
    assert controller.root_ca_file == "/ca.crt" and controller.use_service_account_credentials


def test_kube_proxy_command_line_parses(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """kube-proxy's own parser takes our flags (render instead of run: no API server)."""
    import subprocess
    import sys

    t = plan("mc", 2, 0)
    argv = _strip_nsenter(components.kube_proxy_argv(t.nodes[1], t, "/k"))[3:]
    i = argv.index("--kubeconfig")
    flags = argv[:i] + argv[i + 2 :]
    empty = tmp_path / "none.yaml"
    empty.write_text("")
    out = subprocess.run([sys.executable, "-m", "miniproxy.kubeproxy", *flags, "render",
                          str(empty)], capture_output=True, text=True, timeout=60)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "KUBE-SERVICES" in out.stdout


def test_kube_dns_objects_match_kubeadm() -> None:
    t = plan("mc", 1, 3)
    svc = bootstrap.kube_dns_service(t)
    assert svc["spec"]["clusterIP"] == "10.96.0.10" and "selector" not in svc["spec"]
    assert [(p["name"], p["protocol"]) for p in svc["spec"]["ports"]] == [
        ("dns", "UDP"),
        ("dns-tcp", "TCP"),
    ]
    eps = bootstrap.kube_dns_endpoint_slice(t)
    assert eps["metadata"]["labels"]["kubernetes.io/service-name"] == "kube-dns"
    assert eps["endpoints"][0]["addresses"] == ["172.30.3.1"]


def test_cni_conflist_makes_the_node_the_pods_default_gateway() -> None:
    n = plan("mc", 2, 0).nodes[1]
    bridge = cni.conflist(n, "/ipam")["plugins"][0]
    assert bridge["isDefaultGateway"] and bridge["ipam"]["ranges"] == [[{"subnet": n.pod_cidr}]]
