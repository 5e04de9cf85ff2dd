"""Properties of rendering and tracing over random service tables (hypothesis).

- The tracer's outcome for a ClusterIP / NodePort packet is what CategorizeEndpoints says:
  a uniform split over the usable endpoints, REJECT without endpoints, DROP for a Local
  policy without local endpoints — in both modes, and both modes agree.
- Partial sync is exact: a full sync of A followed by a partial sync of B leaves the same
  tables as a fresh full sync of B, and the partial input names no chain of an unchanged
  service (minimal diff).
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from miniproxy.kubeproxy import iptables_proxier, names, nftables_proxier
from miniproxy.kubeproxy.iptables_model import IptablesTables
from miniproxy.kubeproxy.nftables_model import NftTable
from miniproxy.kubeproxy.topology import categorize_endpoints
from miniproxy.kubeproxy.tracer import Packet
from miniproxy.kubeproxy.tracer_iptables import trace_iptables, with_jump_rules
from miniproxy.kubeproxy.tracer_nftables import trace_nftables
from miniproxy.kubeproxy.types import EndpointInfo, ProxyConfig, ServicePortInfo, ServicePortName

NODE_IP = "192.168.0.2"
CFG = ProxyConfig(node_name="node1", node_ips=(NODE_IP,), cluster_cidr="10.0.0.0/8")
LADDER = ProxyConfig(**{**CFG.__dict__, "nftables_endpoint_ladder": True})
LOCAL = frozenset(CFG.node_ips)


@st.composite
def endpoint(draw, svc_index: int, i: int) -> EndpointInfo:
    ready = draw(st.booleans()) or draw(st.booleans())
    return EndpointInfo(
        f"10.180.{svc_index}.{i + 1}",
        8080,
        is_local=draw(st.booleans()),
        ready=ready,
        serving=ready or draw(st.booleans()),
        terminating=not ready and draw(st.booleans()),
    )


@st.composite
def service(draw, index: int) -> tuple[ServicePortInfo, list[EndpointInfo]]:
    spn = ServicePortName(f"ns{index}", f"svc{index}", "p80", draw(st.sampled_from(["TCP", "UDP"])))
    info = ServicePortInfo(
        spn,
        f"172.30.0.{index + 1}",
        80,
        protocol=spn.protocol,
        node_port=draw(st.sampled_from([0, 30000 + index])),
        session_affinity_type=draw(st.sampled_from(["None", "ClientIP"])),
        internal_policy_local=draw(st.booleans()),
    )
    if info.node_port and draw(st.booleans()):
        info = ServicePortInfo(**{**info.__dict__, "external_policy_local": True})
    n = draw(st.integers(0, 4))
    return info, [draw(endpoint(index, i)) for i in range(n)]


@st.composite
def tables(draw, min_size: int = 1):
    size = draw(st.integers(min_size, 5))
    svc_map, ep_map = {}, {}
    for i in draw(st.lists(st.integers(0, 7), min_size=size, max_size=size, unique=True)):
        info, eps = draw(service(i))
        svc_map[info.name] = info
        if eps:
            ep_map[info.name] = eps
    return svc_map, ep_map


def expected(svc: ServicePortInfo, eps: list[EndpointInfo], external: bool) -> dict[str, float]:
    cat = categorize_endpoints(eps, svc)
    if not cat.has_any:
        return {"REJECT": 1.0}
    local_policy = svc.external_policy_local if external else svc.internal_policy_local
    chosen = cat.local if local_policy else cat.cluster
    if not chosen:
        return {"DROP": 1.0}
    return {str(ep): 1.0 / len(chosen) for ep in chosen}


def traced(svc_map, ep_map, pkt: Packet) -> tuple[dict, dict]:
    ipt = trace_iptables(
        with_jump_rules(iptables_proxier.render(svc_map, ep_map, CFG).text), pkt, LOCAL
    )
    nft = NftTable()
    nft.run(nftables_proxier.render(svc_map, ep_map, CFG).text)
    return ipt.outcomes(), trace_nftables(nft, pkt, LOCAL).outcomes()


def close(a: dict[str, float], b: dict[str, float]) -> bool:
    return a.keys() == b.keys() and all(abs(a[k] - b[k]) < 1e-6 for k in a)


@settings(max_examples=20, deadline=None)
@given(tables())
def test_cluster_ip_trace_matches_categorize_endpoints(data):
    svc_map, ep_map = data
    for spn, svc in svc_map.items():
        pkt = Packet("10.0.0.5", svc.cluster_ip, 80, svc.lower_protocol)
        want = expected(svc, ep_map.get(spn, []), external=False)
        for got in traced(svc_map, ep_map, pkt):
            assert close(got, want), (spn, got, want)


@settings(max_examples=20, deadline=None)
@given(tables())
def test_node_port_trace_from_outside(data):
    svc_map, ep_map = data
    for spn, svc in svc_map.items():
        if not svc.node_port:
            continue
        pkt = Packet("203.0.113.9", NODE_IP, svc.node_port, svc.lower_protocol)
        want = expected(svc, ep_map.get(spn, []), external=True)
        for got in traced(svc_map, ep_map, pkt):
            assert close(got, want), (spn, got, want)


def _ipt_state(t: IptablesTables) -> dict:
    return {
        tb: {c: [r.text for r in rules] for c, rules in t.table(tb).items()}
        for tb in ("filter", "nat")
    }


def _changed(a, b) -> set:
    (sa, ea), (sb, eb) = a, b
    spns = set(sa) | set(sb)
    return {s.namespaced_name for s in spns if sa.get(s) != sb.get(s) or ea.get(s) != eb.get(s)}


@settings(max_examples=20, deadline=None)
@given(tables(), tables())
def test_iptables_partial_sync_equals_full_sync(a, b):
    changed = _changed(a, b)
    t = IptablesTables()
    t.restore(iptables_proxier.render(*a, CFG).text)
    partial = iptables_proxier.render(*b, CFG, changed=changed, existing_nat_chains=t.chains("nat"))
    t.restore(partial.text)
    fresh = IptablesTables()
    fresh.restore(iptables_proxier.render(*b, CFG).text)
    assert _ipt_state(t) == _ipt_state(fresh)
    for spn in set(a[0]) & set(b[0]):
        if spn.namespaced_name not in changed:
            assert f"-A {names.svc_chain(spn)} " not in partial.text


def _nft_state(t: NftTable) -> tuple[dict, dict]:
    return {n: c.rules for n, c in t.chains.items()}, {
        n: c.elements for n, c in t.containers.items()
    }


@settings(max_examples=20, deadline=None)
@given(tables(), tables())
def test_nftables_partial_sync_equals_full_sync(a, b):
    changed = _changed(a, b)
    t = NftTable()
    first = nftables_proxier.render(*a, CFG)
    t.run(first.text)
    chains, sets = t.objects()
    partial = nftables_proxier.render(
        *b, CFG, changed=changed, previous=first.state, existing_chains=chains, existing_sets=sets
    )
    t.run(partial.text)
    # Stale chains are flushed now and deleted by the next sync's cleanup.
    cleanup = nftables_proxier.cleanup_text(partial.state)
    if cleanup:
        t.run(cleanup)
    chains, sets = t.objects()
    again = nftables_proxier.render(
        *b, CFG, changed=set(), previous=partial.state, existing_chains=chains, existing_sets=sets
    )
    t.run(again.text)
    fresh = NftTable()
    fresh.run(nftables_proxier.render(*b, CFG).text)
    assert _nft_state(t) == _nft_state(fresh)
    for spn in set(a[0]) & set(b[0]):
        if spn.namespaced_name not in changed:
            assert (
                f"add rule ip kube-proxy service-{names.nft_chain_base(spn)} " not in partial.text
            )


def test_affinity_recent_entry_pins_the_trace():
    spn = ServicePortName("ns", "sticky", "p80", "TCP")
    svc = ServicePortInfo(spn, "172.30.0.9", 80, session_affinity_type="ClientIP")
    eps = [EndpointInfo("10.180.0.1", 80), EndpointInfo("10.180.0.2", 80)]
    pkt = Packet("10.0.0.5", "172.30.0.9", 80)
    t = with_jump_rules(iptables_proxier.render({spn: svc}, {spn: eps}, CFG).text)
    recent = {(names.sep_chain(spn, eps[1]), "10.0.0.5")}
    assert trace_iptables(t, pkt, LOCAL, recent).outcomes() == {"10.180.0.2:80": 1.0}
    nft = NftTable()
    nft.run(nftables_proxier.render({spn: svc}, {spn: eps}, CFG).text)
    recent = {("affinity-" + names.nft_endpoint_base(spn, eps[1]), "10.0.0.5")}
    assert trace_nftables(nft, pkt, LOCAL, recent).outcomes() == {"10.180.0.2:80": 1.0}
