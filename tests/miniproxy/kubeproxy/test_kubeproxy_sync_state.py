"""What the proxier keeps between syncs, checked against the slow way of knowing it.

- RenderCache.positions finds a Service's ports by bisection over the sorted port names;
  it must return exactly the positions a scan finds, also for names that print alike
  ("a" / "a-b" / "a0", ports "" and named, TCP and UDP).
- An EndpointList's precomputed `all_ready` gives CategorizeEndpoints the same answer as
  the loop over a plain list.
- A partial nftables sync lists nothing from the kernel: the chains a removed endpoint
  leaves are known from the render cache, flushed by that sync and deleted by the next.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

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
from miniproxy.kubeproxy.nftables_model import NftTable
from miniproxy.kubeproxy.proxier import Proxier
from miniproxy.kubeproxy.render_cache import RenderCache
from miniproxy.kubeproxy.topology import categorize
from miniproxy.kubeproxy.types import (
    EndpointInfo,
    EndpointList,
    ProxyConfig,
    ServicePortInfo,
    ServicePortName,
)

LOOK_ALIKE = st.sampled_from(["a", "a-b", "a0", "ab", "b", "a-"])
PORT_NAMES = st.builds(
    ServicePortName,
    namespace=st.sampled_from(["ns", "ns-x", "n"]),
    name=LOOK_ALIKE,
    port=st.sampled_from(["", "p", "q", "p-1"]),
    protocol=st.sampled_from(["TCP", "UDP"]),
)


@settings(max_examples=30, deadline=None)
@given(st.lists(PORT_NAMES, max_size=25, unique=True), st.data())
def test_positions_by_bisection_equal_a_scan(ports, data):
    cache: RenderCache = RenderCache()
    service_map = {spn: ServicePortInfo(spn, "172.30.0.1", 80) for spn in ports}
    cache.refresh(service_map, {})
    services = {(spn.namespace, spn.name) for spn in ports}
    wanted = data.draw(st.sets(st.sampled_from(sorted(services)))) if services else set()
    wanted |= {("ns", "zz")}  # a Service with no ports at all
    scan = [i for i, spn in enumerate(cache.order) if (spn.namespace, spn.name) in wanted]
    assert cache.positions(wanted) == scan
    assert [str(spn) for spn in cache.order] == sorted(map(str, ports))


ENDPOINTS = st.lists(
    st.builds(
        EndpointInfo,
        ip=st.sampled_from(["10.0.0.1", "10.0.0.2", "10.0.0.3"]),
        port=st.just(8080),
        is_local=st.booleans(),
        ready=st.booleans(),
        serving=st.booleans(),
        terminating=st.booleans(),
        zone_hints=st.sampled_from([frozenset(), frozenset({"z1"}), frozenset({"z2"})]),
    ),
    max_size=4,
)


@settings(max_examples=50, deadline=None)
@given(ENDPOINTS, st.booleans(), st.booleans())
def test_endpoint_list_all_ready_categorizes_like_the_loop(endpoints, uses_cluster, uses_local):
    fast = categorize(EndpointList(endpoints), uses_cluster, uses_local, "z1")
    slow = categorize(list(endpoints), uses_cluster, uses_local, "z1")
    assert fast == slow


class CountingNftTable(NftTable):
    """The in-memory table, counting how often the proxier lists it."""

    listed = 0

    def objects(self):
        self.listed += 1
        return super().objects()


def _slice(n: int) -> EndpointSlice:
    return EndpointSlice(
        metadata=ObjectMeta(name="web-a", namespace="ns", labels={LABEL_SERVICE_NAME: "web"}),
        address_type="IPv4",
        endpoints=[
            Endpoint(addresses=[f"10.180.0.{i}"], conditions=EndpointConditions(ready=True))
            for i in range(1, n + 1)
        ],
        ports=[EndpointPort(name="p80", port=8080, protocol="TCP")],
    )


def test_partial_nft_sync_lists_nothing_and_still_removes_the_stale_chain():
    table = CountingNftTable()
    ticks = iter(range(10**6))
    p = Proxier("nftables", ProxyConfig(node_name="node1"), table, clock=lambda: next(ticks))
    svc = Service(
        metadata=ObjectMeta(name="web", namespace="ns"),
        spec=ServiceSpec(cluster_ip="172.30.0.9", ports=[ServicePort(name="p80", port=80)]),
    )
    p.on_service_add(svc)
    p.on_endpoint_slice_add(_slice(3))
    assert p.sync_proxy_rules().full and table.listed == 1
    spn = ServicePortName("ns", "web", "p80", "TCP")
    gone = "endpoint-" + names.nft_endpoint_base(spn, EndpointInfo("10.180.0.3", 8080))
    assert table.chains[gone].rules
    p.on_endpoint_slice_update(_slice(3), _slice(2))
    result = p.sync_proxy_rules()
    assert not result.full and table.listed == 1
    assert f"flush chain ip kube-proxy {gone}" in result.text
    assert table.chains[gone].rules == []
    p.on_endpoint_slice_update(_slice(2), _slice(1))
    p.sync_proxy_rules()
    assert gone not in table.chains and table.listed == 1
