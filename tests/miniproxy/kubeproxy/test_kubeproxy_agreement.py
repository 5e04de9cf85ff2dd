"""The tracer agrees with the kernel: same backends, same split, same refusals.

For one rendered ruleset per mode, loaded into a network namespace: (1) real connections
land on exactly the backends the tracer predicts, with counts inside five standard
deviations of the tracer's probabilities; (2) the kernel's own `iptables-save` output, read
back and traced, gives the same outcomes as the text we rendered.
"""

from __future__ import annotations

import math

import pytest

from miniproxy.kubeproxy import iptables_proxier, nftables_proxier
from miniproxy.kubeproxy.iptables_model import IptablesTables
from miniproxy.kubeproxy.kernel import IptablesKernel, NftKernel
from miniproxy.kubeproxy.nftables_model import NftTable
from miniproxy.kubeproxy.tracer import Packet
from miniproxy.kubeproxy.tracer_iptables import trace_iptables, with_jump_rules
from miniproxy.kubeproxy.tracer_nftables import trace_nftables
from miniproxy.kubeproxy.types import EndpointInfo, ProxyConfig, ServicePortInfo, ServicePortName

pytestmark = [
    pytest.mark.root,
    pytest.mark.kernel("netns"),
    pytest.mark.tool("ip", "iptables-restore", "iptables-save", "nft"),
]
CFG = ProxyConfig(node_name="node1", node_ips=("10.99.0.1", "10.99.1.1"))
LOCAL = frozenset(CFG.node_ips)


def _table():
    svc_map, ep_map = {}, {}
    for i, n in enumerate((0, 2, 4)):
        spn = ServicePortName("ns", f"svc{i}", "p80", "TCP")
        svc_map[spn] = ServicePortInfo(spn, f"172.30.1.{i + 1}", 80)
        if n:
            ep_map[spn] = [EndpointInfo(f"10.180.{i}.{j + 1}", 8080) for j in range(n)]
    return svc_map, ep_map


def _predicted(mode: str, text: str, pkt: Packet) -> dict[str, float]:
    if mode == "iptables":
        return trace_iptables(with_jump_rules(text), pkt, LOCAL).outcomes()
    table = NftTable()
    table.run(text)
    return trace_nftables(table, pkt, LOCAL).outcomes()


@pytest.mark.parametrize("mode", ["iptables", "nftables"])
def test_kernel_follows_the_tracer(lab, mode):
    svc_map, ep_map = _table()
    ips = sorted({ep.ip for eps in ep_map.values() for ep in eps})
    lab.add_endpoints(ips)
    lab.node.serve([f"{ip}:8080" for ip in ips])
    assert lab.node_ips == CFG.node_ips
    if mode == "iptables":
        kernel = IptablesKernel(lab.node.name)
        kernel.ensure_jump_rules()
        text = iptables_proxier.render(svc_map, ep_map, CFG).text
        kernel.restore(text)
    else:
        text = nftables_proxier.render(svc_map, ep_map, CFG).text
        NftKernel(lab.node.name).run(text)
    count = 90
    for svc in svc_map.values():
        want = _predicted(mode, text, Packet(lab.node_ip, svc.cluster_ip, 80))
        got = lab.node.connect(svc.cluster_ip, 80, count)
        if want == {"REJECT": 1.0}:
            assert got == {"REFUSED": count}
            continue
        assert set(got) == {f"{dest.split(':')[0]}:8080" for dest in want}, (got, want)
        for dest, p in want.items():
            n = got[f"{dest.split(':')[0]}:8080"]
            assert abs(n - count * p) <= 5 * math.sqrt(count * p * (1 - p)) + 1, (dest, n, p)


def test_iptables_save_readback_traces_the_same(lab):
    svc_map, ep_map = _table()
    kernel = IptablesKernel(lab.node.name)
    kernel.ensure_jump_rules()
    text = iptables_proxier.render(svc_map, ep_map, CFG).text
    kernel.restore(text)
    readback = IptablesTables()
    readback.restore(kernel.save("filter") + kernel.save("nat"), noflush=False)
    assert readback.chains("nat") >= with_jump_rules(text).chains("nat")
    for svc in svc_map.values():
        pkt = Packet("10.0.0.5", svc.cluster_ip, 80)
        ours = trace_iptables(with_jump_rules(text), pkt, LOCAL).outcomes()
        theirs = trace_iptables(readback, pkt, LOCAL).outcomes()
        assert ours.keys() == theirs.keys()
        assert all(abs(ours[k] - theirs[k]) < 1e-9 for k in ours)
