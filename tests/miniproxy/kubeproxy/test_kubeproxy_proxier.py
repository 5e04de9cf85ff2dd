"""The proxier over miniapi objects: change tracking, full vs partial syncs, the CLI.

Informer events (Services, EndpointSlices) go through the change trackers into the maps;
the first sync is full, later ones rewrite only the services that changed, a failed sync
forces the next one to be full. Backends are the in-memory tables here, and the real
kernel in one namespace test at the end.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from miniapi.core.v1 import Service, ServicePort, ServiceSpec
from miniapi.discovery.v1 import (
    LABEL_SERVICE_NAME,
    Endpoint,
    EndpointConditions,
    EndpointPort,
    EndpointSlice,
)
from miniapi.meta.v1 import ObjectMeta
from miniproxy.kubeproxy import names
from miniproxy.kubeproxy.iptables_model import IptablesTables
from miniproxy.kubeproxy.kernel import IptablesKernel, NftKernel
from miniproxy.kubeproxy.nftables_model import NftTable
from miniproxy.kubeproxy.proxier import Proxier
from miniproxy.kubeproxy.tracer import Packet
from miniproxy.kubeproxy.tracer_iptables import trace_iptables
from miniproxy.kubeproxy.tracer_nftables import trace_nftables
from miniproxy.kubeproxy.types import ProxyConfig, ServicePortName

CFG = ProxyConfig(node_name="node1", node_ips=("10.99.0.1", "10.99.1.1"))


def service(name: str, ip: str, **spec) -> Service:
    ports = [ServicePort(name="p80", port=80, protocol="TCP", target_port=8080)]
    return Service(
        metadata=ObjectMeta(name=name, namespace="ns"),
        spec=ServiceSpec(cluster_ip=ip, ports=ports, **spec),
    )


def slice_(
    svc: str, *ips: str, name: str = "", ready: bool = True, node: str = "node2"
) -> EndpointSlice:
    return EndpointSlice(
        metadata=ObjectMeta(
            name=name or f"{svc}-a", namespace="ns", labels={LABEL_SERVICE_NAME: svc}
        ),
        address_type="IPv4",
        endpoints=[
            Endpoint(addresses=[ip], conditions=EndpointConditions(ready=ready), node_name=node)
            for ip in ips
        ],
        ports=[EndpointPort(name="p80", port=8080, protocol="TCP")],
    )


def outcomes(p: Proxier, ip: str) -> dict[str, float]:
    pkt = Packet("10.0.0.5", ip, 80)
    local = frozenset(CFG.node_ips)
    if p.mode == "iptables":
        return trace_iptables(p.backend, pkt, local).outcomes()
    return trace_nftables(p.backend, pkt, local).outcomes()


def new_proxier(mode: str) -> Proxier:
    ticks = iter(range(10**6))
    return Proxier(
        mode, CFG, IptablesTables() if mode == "iptables" else NftTable(), clock=lambda: next(ticks)
    )


@pytest.mark.parametrize("mode", ["iptables", "nftables"])
def test_events_then_full_then_partial_sync(mode):
    p = new_proxier(mode)
    assert p.on_service_add(service("a", "172.30.0.1"))
    p.on_service_add(service("b", "172.30.0.2"))
    p.on_endpoint_slice_add(slice_("a", "10.180.0.1", "10.180.0.2"))
    p.on_endpoint_slice_add(slice_("b", "10.180.1.1"))
    first = p.sync_proxy_rules()
    assert first.full and first.services == 2 and first.endpoints == 3
    assert outcomes(p, "172.30.0.1") == {"10.180.0.1:8080": 0.5, "10.180.0.2:8080": 0.5}
    # One endpoint of "a" goes away: the partial sync touches "a" only.
    p.on_endpoint_slice_update(slice_("a", "10.180.0.1", "10.180.0.2"), slice_("a", "10.180.0.1"))
    second = p.sync_proxy_rules()
    assert not second.full
    b = ServicePortName("ns", "b", "p80", "TCP")
    assert f"-A {names.svc_chain(b)}" not in second.text  # KUBE-SERVICES still jumps to it
    assert names.nft_chain_base(b) not in second.text
    assert outcomes(p, "172.30.0.1") == {"10.180.0.1:8080": 1.0}
    assert outcomes(p, "172.30.0.2") == {"10.180.1.1:8080": 1.0}
    # Deleting the slice leaves "a" without endpoints: REJECT.
    p.on_endpoint_slice_delete(slice_("a", "10.180.0.1"))
    p.sync_proxy_rules()
    assert outcomes(p, "172.30.0.1") == {"REJECT": 1.0}
    p.on_service_delete(service("b", "172.30.0.2"))
    p.sync_proxy_rules()
    # No rule matches a deleted service's IP any more: the packet leaves untouched.
    assert outcomes(p, "172.30.0.2") == {"172.30.0.2:80": 1.0}


def test_undone_change_is_not_pending():
    p = new_proxier("iptables")
    p.on_service_add(service("a", "172.30.0.1"))
    p.sync_proxy_rules()
    old, new = service("a", "172.30.0.1"), service("a", "172.30.0.1", session_affinity="ClientIP")
    assert p.on_service_update(old, new)
    assert not p.on_service_update(new, old)
    assert p.sync_proxy_rules().text.count("KUBE-SVC-") == 0  # nothing to rewrite


def test_failed_sync_forces_a_full_one():
    class Broken(IptablesTables):
        fail = True

        def restore(self, text: str, noflush: bool = True) -> None:
            if self.fail:
                raise RuntimeError("iptables-restore: line 3 failed")
            super().restore(text, noflush)

    ticks = iter(range(100))
    p = Proxier("iptables", CFG, Broken(), clock=lambda: next(ticks))
    p.on_service_add(service("a", "172.30.0.1"))
    with pytest.raises(RuntimeError):
        p.sync_proxy_rules()
    assert p.need_full_sync
    p.backend.fail = False
    assert p.sync_proxy_rules().full


def test_unready_and_unlabelled_slices():
    p = new_proxier("iptables")
    p.on_service_add(service("a", "172.30.0.1"))
    p.on_endpoint_slice_add(slice_("a", "10.180.0.1", ready=False))
    orphan = EndpointSlice(metadata=ObjectMeta(name="x", namespace="ns"), address_type="IPv4")
    assert p.on_endpoint_slice_add(orphan)  # still pending from before; the orphan is ignored
    p.sync_proxy_rules()
    assert outcomes(p, "172.30.0.1") == {"REJECT": 1.0}


MANIFEST = """
apiVersion: v1
kind: Service
metadata: {name: web, namespace: ns1}
spec:
  clusterIP: 172.30.0.41
  type: NodePort
  ports: [{name: p80, port: 80, protocol: TCP, targetPort: 8080, nodePort: 30080}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: ns1, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
ports: [{name: p80, port: 8080, protocol: TCP}]
endpoints:
- {addresses: [10.180.0.1], conditions: {ready: true}, nodeName: node1}
- {addresses: [10.180.0.2], conditions: {ready: true}, nodeName: node2}
"""


def test_cli_render_and_trace(tmp_path):
    f = tmp_path / "web.yaml"
    f.write_text(MANIFEST)
    cmd = [sys.executable, "-m", "miniproxy.kubeproxy"]
    out = subprocess.run(
        [*cmd, "render", "--proxy-mode", "iptables", str(f)], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert (
        "-A KUBE-NODEPORTS -m comment --comment ns1/web:p80 -m tcp -p tcp --dport 30080"
        in out.stdout
    )
    out = subprocess.run(
        [*cmd, "render", "--proxy-mode", "nftables", str(f)], capture_output=True, text=True
    )
    assert (
        "add element ip kube-proxy service-nodeports { tcp . 30080 : goto external-" in out.stdout
    )
    trace = [*cmd, "trace", str(f), "--from", "10.0.0.5", "--to", "172.30.0.41:80/tcp"]
    out = subprocess.run(trace, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert (
        "10.180.0.1:8080          0.5000" in out.stdout
        and "10.180.0.2:8080          0.5000" in out.stdout
    )


@pytest.mark.root
@pytest.mark.kernel("netns")
@pytest.mark.tool("ip", "iptables-restore", "nft")
@pytest.mark.parametrize("mode", ["iptables", "nftables"])
def test_proxier_on_the_kernel(lab, mode):
    lab.add_endpoints(["10.180.0.1", "10.180.0.2"])
    lab.node.serve(["10.180.0.1:8080", "10.180.0.2:8080"])
    backend = IptablesKernel(lab.node.name) if mode == "iptables" else NftKernel(lab.node.name)
    p = Proxier(mode, CFG, backend)
    p.on_service_add(service("a", "172.30.0.1"))
    p.on_endpoint_slice_add(slice_("a", "10.180.0.1", "10.180.0.2"))
    p.sync_proxy_rules()
    assert len(lab.node.connect("172.30.0.1", 80, 30)) == 2
    p.on_endpoint_slice_update(slice_("a", "10.180.0.1", "10.180.0.2"), slice_("a", "10.180.0.2"))
    assert not p.sync_proxy_rules().full
    assert lab.node.connect("172.30.0.1", 80, 10) == {"10.180.0.2:8080": 10}
    p.on_service_delete(service("a", "172.30.0.1"))
    p.sync_proxy_rules()
    spn = ServicePortName("ns", "a", "p80", "TCP")
    if mode == "iptables":
        assert names.svc_chain(spn) not in backend.chains("nat")
    else:
        assert "172.30.0.1" not in backend.list_table()
