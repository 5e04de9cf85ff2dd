"""Chain names and formats are interface facts: they must equal upstream's, byte for byte.

Expected values are the ones upstream's own tests and doc comments print
(pkg/proxy/iptables/proxier_test.go, pkg/proxy/nftables/proxier.go).
"""

from __future__ import annotations

import pytest

from miniproxy.kubeproxy import names
from miniproxy.kubeproxy.iptables_model import IptablesTables, RestoreError, parse_rule
from miniproxy.kubeproxy.iptables_service import compute_probability
from miniproxy.kubeproxy.nftables_model import NftError, NftTable
from miniproxy.kubeproxy.types import EndpointInfo, ProxyConfig, ServicePortName

SPN = ServicePortName("ns1", "svc1", "p80", "TCP")


def test_iptables_chain_names():
    assert names.svc_chain(SPN) == "KUBE-SVC-XPGD46QRK7WJZT7O"
    assert names.sep_chain(SPN, EndpointInfo("10.180.0.1", 80)) == "KUBE-SEP-SXIVWICOYRO3J4NJ"
    ns2 = ServicePortName("ns2", "svc2", "p80", "TCP")
    assert names.ext_chain(ns2) == "KUBE-EXT-GNZBNJ2PO5MGZ6GT"
    assert names.svl_chain(ns2) == "KUBE-SVL-GNZBNJ2PO5MGZ6GT"
    assert all(len(n) <= 28 for n in (names.svc_chain(SPN), names.fw_chain(SPN)))


def test_nftables_chain_names():
    assert names.nft_chain_base(SPN) == "ULMVA6XW-ns1/svc1/tcp/p80"
    ep = EndpointInfo("10.180.0.1", 80)
    assert names.nft_endpoint_base(SPN, ep) == "5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80"
    assert names.nft_is_service_chain_name("service-" + names.nft_chain_base(SPN))
    assert not names.nft_is_service_chain_name("services")


def test_unnamed_port_and_probability_and_mark():
    assert str(ServicePortName("ns", "svc", "", "TCP")) == "ns/svc"
    assert [compute_probability(n) for n in (2, 3, 4)] == [
        "0.5000000000",
        "0.3333333333",
        "0.2500000000",
    ]
    assert ProxyConfig().masquerade_mark == "0x00004000"  # Go's %#08x of 1<<14


def test_restore_model_refuses_like_iptables_restore():
    t = IptablesTables()
    with pytest.raises(RestoreError):
        t.restore("*nat\n-A NOPE -j ACCEPT\nCOMMIT\n")
    assert "NOPE" not in t.chains("nat")
    rule = parse_rule("-A X -m mark ! --mark 0x4000/0x4000 -j RETURN")
    assert rule.matches[1].negated and rule.target == "RETURN"


def test_nft_model_is_atomic():
    t = NftTable()
    t.run("add table ip kube-proxy\nadd chain ip kube-proxy a\n")
    with pytest.raises(NftError):
        t.run("add chain ip kube-proxy b\nflush chain ip kube-proxy missing\n")
    assert set(t.chains) == {"a"}
