"""Golden rules: a table of Services and endpoints, rendered by both proxiers.

The expected text in testdata/ was checked by hand against
pkg/proxy/iptables/proxier.go and pkg/proxy/nftables/proxier.go (and the expectations in
their proxier_test.go). The chain names are recomputed here with hashlib, independently of
miniproxy.kubeproxy.names. KP_REWRITE=1 rewrites the files (then review the diff).
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from pathlib import Path

from miniproxy.kubeproxy import iptables_proxier, nftables_proxier
from miniproxy.kubeproxy.types import EndpointInfo, ProxyConfig, ServicePortInfo, ServicePortName

DATA = Path(__file__).parent / "testdata"
CFG = ProxyConfig(node_name="node1", node_ips=("192.168.0.2",), cluster_cidr="10.0.0.0/8")


def spn(ns: str) -> ServicePortName:
    return ServicePortName(ns, ns.replace("ns", "svc"), "p80", "TCP")


def ep(ip: str, **kw) -> EndpointInfo:
    return EndpointInfo(ip, 80, **kw)


def table() -> tuple[dict, dict]:
    """ClusterIP with 1, 2, 3 endpoints, NodePort + Local, internal Local, none, terminating."""
    services = [
        ServicePortInfo(spn("ns1"), "172.30.0.41", 80),
        ServicePortInfo(spn("ns2"), "172.30.0.42", 80),
        ServicePortInfo(spn("ns3"), "172.30.0.43", 80, session_affinity_type="ClientIP"),
        ServicePortInfo(spn("ns4"), "172.30.0.44", 80, node_port=3001, external_policy_local=True),
        ServicePortInfo(spn("ns5"), "172.30.0.45", 80, internal_policy_local=True),
        ServicePortInfo(spn("ns6"), "172.30.0.46", 80, node_port=3003),
        ServicePortInfo(spn("ns7"), "172.30.0.47", 80),
    ]
    endpoints = {
        spn("ns1"): [ep("10.180.0.1")],
        spn("ns2"): [ep("10.180.0.2"), ep("10.180.1.2")],
        spn("ns3"): [ep("10.180.0.3"), ep("10.180.1.3"), ep("10.180.2.3")],
        spn("ns4"): [ep("10.180.0.4", is_local=True), ep("10.180.1.4")],
        spn("ns5"): [ep("10.180.1.5")],
        spn("ns7"): [
            ep("10.180.0.7", ready=False, terminating=True),
            ep("10.180.1.7", ready=False, serving=False),
        ],
    }
    return {s.name: s for s in services}, endpoints


def _check(name: str, text: str) -> None:
    path = DATA / name
    if os.environ.get("KP_REWRITE") == "1":
        path.write_text(text)
    assert text == path.read_text()


def _hash(text: str) -> str:
    return base64.b32encode(hashlib.sha256(text.encode()).digest()).decode()


def test_iptables_golden():
    svc_map, ep_map = table()
    _check("golden_iptables.txt", iptables_proxier.render(svc_map, ep_map, CFG).text)


def test_nftables_golden():
    svc_map, ep_map = table()
    _check("golden_nftables.txt", nftables_proxier.render(svc_map, ep_map, CFG).text)


def test_golden_chain_names_are_upstreams():
    text = (DATA / "golden_iptables.txt").read_text()
    assert "KUBE-SVC-XPGD46QRK7WJZT7O" in text  # the name upstream's tests use for ns1/svc1:p80
    for i in (1, 2, 3):
        assert f"KUBE-SVC-{_hash(f'ns{i}/svc{i}:p80tcp')[:16]}" in text
    assert f"KUBE-SVL-{_hash('ns4/svc4:p80tcp')[:16]}" in text
    assert f"KUBE-EXT-{_hash('ns4/svc4:p80tcp')[:16]}" in text
    assert f"KUBE-SEP-{_hash('ns1/svc1:p80tcp10.180.0.1:80')[:16]}" in text
    nft = (DATA / "golden_nftables.txt").read_text()
    assert "service-ULMVA6XW-ns1/svc1/tcp/p80" in nft  # as in upstream's doc comment
    assert "endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80" in nft


def test_probability_ladder_uses_ten_decimals():
    text = (DATA / "golden_iptables.txt").read_text()
    probs = re.findall(r"--probability (\S+)", text)
    assert "0.3333333333" in probs and "0.5000000000" in probs


def test_rendering_is_deterministic():
    svc_map, ep_map = table()
    shuffled_svc = dict(reversed(list(svc_map.items())))
    a = iptables_proxier.render(svc_map, ep_map, CFG).text
    assert a == iptables_proxier.render(shuffled_svc, ep_map, CFG).text
    b = nftables_proxier.render(svc_map, ep_map, CFG).text
    assert b == nftables_proxier.render(shuffled_svc, ep_map, CFG).text


def _generated(n_services: int, n_endpoints: int) -> tuple[dict, dict]:
    """generateServiceEndpoints of number_generated_rules_test.go (ClusterIP services)."""
    svc_map, ep_map = {}, {}
    for i in range(n_services):
        spn = ServicePortName("namespace", f"svc{i}", "8080", "TCP")
        svc_map[spn] = ServicePortInfo(spn, f"10.0.0.{i + 1}", 80 + i)
        if n_endpoints:
            ep_map[spn] = [EndpointInfo(f"172.16.0.{j + 1}", 8080) for j in range(n_endpoints)]
    return svc_map, ep_map


def test_rule_counts_match_upstreams_number_generated_rules_test():
    """The ClusterIP rows of TestNumberIptablesRules: (services, endpoints, filter, nat)."""
    rows = [(0, 0, 3, 5), (1, 0, 4, 5), (1, 1, 3, 10), (1, 2, 3, 13), (1, 10, 3, 37)]
    rows += [(10, 0, 13, 5), (10, 1, 3, 55), (10, 2, 3, 85), (10, 10, 3, 325)]
    # The fake proxier there detects local traffic by 10.0.0.0/8 and has no localhost NodePorts.
    cfg = ProxyConfig(
        node_name="node1",
        node_ips=("192.168.0.2",),
        cluster_cidr="10.0.0.0/8",
        localhost_nodeports=False,
    )
    for services, endpoints, want_filter, want_nat in rows:
        r = iptables_proxier.render(*_generated(services, endpoints), cfg)
        assert (r.filter_rules, r.nat_rules) == (want_filter, want_nat), (services, endpoints)


def test_large_cluster_mode_drops_the_endpoint_comments():
    """Past 1000 endpoints (largeClusterMode) the KUBE-SVC ladder and the KUBE-SEP rules
    carry no comment; the KUBE-SERVICES captures keep theirs (proxier.go)."""
    svc_map, ep_map = table()
    big = ServicePortName("big", "svc", "p80", "TCP")
    svc_map[big] = ServicePortInfo(big, "172.30.1.1", 80)
    ep_map[big] = [EndpointInfo(f"10.181.{i // 250}.{i % 250 + 1}", 80) for i in range(1001)]
    lines = iptables_proxier.render(svc_map, ep_map, CFG).text.splitlines()
    svc2 = f"KUBE-SVC-{_hash('ns2/svc2:p80tcp')[:16]}"
    a, b = (f"KUBE-SEP-{_hash(f'ns2/svc2:p80tcp{ip}:80')[:16]}" for ip in ("10.180.0.2", "10.180.1.2"))  # fmt: skip
    expected = [
        f"-A {svc2} -m statistic --mode random --probability 0.5000000000 -j {a}",
        f"-A {svc2} -j {b}",
        f"-A {a} -s 10.180.0.2 -j KUBE-MARK-MASQ",
        f"-A {a} -m tcp -p tcp -j DNAT --to-destination 10.180.0.2:80",
        f"-A {b} -s 10.180.1.2 -j KUBE-MARK-MASQ",
        f"-A {b} -m tcp -p tcp -j DNAT --to-destination 10.180.1.2:80",
    ]
    at = [lines.index(line) for line in expected]
    assert at == sorted(at) and at[-1] - at[0] == len(expected) - 1
    assert any(line.startswith('-A KUBE-SERVICES -m comment --comment "ns2/svc2:p80 cluster IP"') for line in lines)  # fmt: skip
    svc3 = f"KUBE-SVC-{_hash('ns3/svc3:p80tcp')[:16]}"
    sep3 = f"KUBE-SEP-{_hash('ns3/svc3:p80tcp10.180.0.3:80')[:16]}"
    assert f"-A {svc3} -m recent --name {sep3} --rcheck --seconds 10800 --reap -j {sep3}" in lines
    assert f"-A {sep3} -m recent --name {sep3} --set -m tcp -p tcp -j DNAT --to-destination 10.180.0.3:80" in lines  # fmt: skip
    assert not any("-m comment" in line for line in lines if line.startswith("-A KUBE-SEP-"))
