"""Real packets through rendered rules, in network namespaces, for both proxy modes.

The rules are loaded with iptables-restore / nft -f by the kernel adapters, the backends
are TCP servers, and the claims are the ones kube-proxy's users rely on: a ClusterIP spreads
connections over its endpoints (checked statistically), ClientIP affinity pins a client, a
service without endpoints refuses at once, a NodePort answers on the node's address,
externalTrafficPolicy Local keeps external traffic on local endpoints, and an endpoint
removed by a partial sync stops receiving traffic.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from miniproxy.kubeproxy import iptables_proxier, nftables_proxier
from miniproxy.kubeproxy.kernel import IptablesKernel, NftKernel
from miniproxy.kubeproxy.types import (
    EndpointInfo,
    NamespacedName,
    ProxyConfig,
    ServicePortInfo,
    ServicePortName,
)

pytestmark = [
    pytest.mark.root,
    pytest.mark.kernel("netns"),
    pytest.mark.tool("ip", "iptables-restore", "iptables-save", "nft"),
]
MODES = ["iptables", "nftables"]
NODE_IP = "10.99.0.1"  # the lab fixture's node address (conftest.py)
CFG = ProxyConfig(node_name="node1", node_ips=(NODE_IP, "10.99.1.1"))


def svc(name: str, ip: str, **kw) -> ServicePortInfo:
    return ServicePortInfo(ServicePortName("ns", name, "p80", "TCP"), ip, 80, **kw)


def eps(*ips: str, port: int = 8080, local: tuple[str, ...] = ()) -> list[EndpointInfo]:
    return [
        EndpointInfo(ip, port, is_local=ip in local, node_name="node1" if ip in local else "node2")
        for ip in ips
    ]


class Applier:
    """Renders the maps for one mode and loads them into the lab's node namespace."""

    def __init__(self, mode: str, netns: str):
        # "nftables-ladder" is nftables with ProxyConfig.nftables_endpoint_ladder.
        self.mode, self.cfg = mode, replace(CFG, nftables_endpoint_ladder=mode.endswith("-ladder"))
        self.kernel = IptablesKernel(netns) if mode == "iptables" else NftKernel(netns)
        self.nft_state = None

    def apply(self, svc_map, ep_map, changed=None) -> None:
        if self.mode == "iptables":
            if changed is None:
                self.kernel.ensure_jump_rules()
            existing = self.kernel.chains("nat")
            r = iptables_proxier.render(
                svc_map, ep_map, CFG, changed=changed, existing_nat_chains=existing
            )
            self.kernel.restore(r.text)
            return
        cleanup = nftables_proxier.cleanup_text(self.nft_state)
        if cleanup:
            self.kernel.run(cleanup)
        chains, sets = self.kernel.objects()
        r = nftables_proxier.render(
            svc_map,
            ep_map,
            self.cfg,
            changed=changed,
            previous=self.nft_state,
            existing_chains=chains,
            existing_sets=sets,
        )
        self.kernel.run(r.text)
        self.nft_state = r.state


def _setup(lab, mode, services, endpoints):
    assert lab.node_ips == CFG.node_ips
    ips = sorted({ep.ip for eplist in endpoints.values() for ep in eplist})
    lab.add_endpoints(ips)
    lab.node.serve(sorted({f"{ep.ip}:{ep.port}" for eplist in endpoints.values() for ep in eplist}))
    applier = Applier(mode, lab.node.name)
    applier.apply({s.name: s for s in services}, endpoints)
    return applier


@pytest.mark.parametrize("mode", [*MODES, "nftables-ladder"])
def test_cluster_ip_spreads_over_endpoints(lab, mode):
    s = svc("web", "172.30.0.41")
    backends = eps("10.180.0.1", "10.180.0.2", "10.180.0.3")
    _setup(lab, mode, [s], {s.name: backends})
    seen = lab.node.connect("172.30.0.41", 80, 150)
    assert set(seen) == {f"{b}" for b in backends}
    # Each expects 50 of 150 (sd ~5.8); outside [21, 79] is beyond 5 sd: a bias, not luck.
    assert all(21 <= n <= 79 for n in seen.values()), seen


@pytest.mark.parametrize("mode", MODES)
def test_session_affinity_pins_the_client(lab, mode):
    s = svc("sticky", "172.30.0.42", session_affinity_type="ClientIP")
    _setup(lab, mode, [s], {s.name: eps("10.180.0.1", "10.180.0.2", "10.180.0.3")})
    seen = lab.node.connect("172.30.0.42", 80, 40)
    assert len(seen) == 1 and sum(seen.values()) == 40, seen


@pytest.mark.parametrize("mode", MODES)
def test_service_without_endpoints_rejects(lab, mode):
    s, other = svc("empty", "172.30.0.43"), svc("web", "172.30.0.44")
    _setup(lab, mode, [s, other], {other.name: eps("10.180.0.1")})
    assert lab.node.connect("172.30.0.43", 80, 3) == {"REFUSED": 3}
    assert lab.node.connect("172.30.0.44", 80, 3) == {"10.180.0.1:8080": 3}


@pytest.mark.parametrize("mode", MODES)
def test_node_port_from_outside_and_local_policy(lab, mode):
    cluster = svc("np", "172.30.0.45", node_port=30080)
    local = svc("np-local", "172.30.0.46", node_port=30081, external_policy_local=True)
    backends = eps("10.180.0.1", "10.180.0.2", "10.180.0.3", local=("10.180.0.1",))
    _setup(lab, mode, [cluster, local], {cluster.name: backends, local.name: backends})
    client = lab.add_client()
    spread = client.connect(NODE_IP, 30080, 60)
    assert len(spread) == 3 and "REFUSED" not in spread, spread
    # externalTrafficPolicy: Local sends outside traffic only to this node's endpoint...
    assert client.connect(NODE_IP, 30081, 30) == {"10.180.0.1:8080": 30}
    # ...while the node's own traffic is short-circuited to every endpoint.
    assert len(lab.node.connect(NODE_IP, 30081, 60)) == 3


@pytest.mark.parametrize("mode", MODES)
def test_partial_sync_removes_an_endpoint(lab, mode):
    s = svc("shrink", "172.30.0.47")
    before = eps("10.180.0.1", "10.180.0.2")
    applier = _setup(lab, mode, [s], {s.name: before})
    assert len(lab.node.connect("172.30.0.47", 80, 40)) == 2
    applier.apply({s.name: s}, {s.name: before[:1]}, changed={NamespacedName("ns", "shrink")})
    assert lab.node.connect("172.30.0.47", 80, 20) == {"10.180.0.1:8080": 20}
    if mode == "iptables":
        from miniproxy.kubeproxy.names import sep_chain

        assert sep_chain(s.name, before[1]) not in applier.kernel.chains("nat")


@pytest.mark.parametrize("mode", MODES)
def test_cleanup_leaves_nothing(lab, mode):
    s = svc("web", "172.30.0.48", node_port=30082)
    applier = _setup(lab, mode, [s], {s.name: eps("10.180.0.1")})
    applier.kernel.cleanup()
    if mode == "iptables":
        for table in ("nat", "filter"):
            assert "KUBE-" not in applier.kernel.save(table)
    else:
        assert applier.kernel.list_table() == ""
