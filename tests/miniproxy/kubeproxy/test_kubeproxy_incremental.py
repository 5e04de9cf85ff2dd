"""Incremental syncs equal a from-scratch sync, after any sequence of object changes.

The Proxier prepares infos when changes arrive (port_info.py), keeps each service's
rendered block between syncs (render_cache.py) and writes only changed services in a
partial sync. After random sequences of Service / EndpointSlice adds, updates and deletes
with syncs in between (hypothesis), checked after every sync:
- its full render from the cache kept across syncs is byte-identical to the first sync of a
  new Proxier fed the live objects (fresh trackers, empty cache);
- its tables, built by a full sync and then partial ones, equal that new Proxier's tables.
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
from miniproxy.kubeproxy import iptables_proxier, nftables_proxier
from miniproxy.kubeproxy.iptables_model import IptablesTables
from miniproxy.kubeproxy.nftables_model import NftTable
from miniproxy.kubeproxy.proxier import Proxier
from miniproxy.kubeproxy.types import ProxyConfig

CFG = ProxyConfig(node_name="node1", node_ips=("192.168.0.2",), cluster_cidr="10.0.0.0/8")
N_SERVICES = 4


@st.composite
def services(draw, i: int) -> Service:
    node_port = draw(st.booleans())
    ports = [
        ServicePort(name="p80", port=80, protocol="TCP", node_port=30000 + i if node_port else 0)
    ]
    if draw(st.booleans()):
        ports.append(ServicePort(name="p53", port=53, protocol="UDP"))
    spec = ServiceSpec(
        cluster_ip=f"172.30.0.{i + 1}",
        ports=ports,
        type="NodePort" if node_port else "ClusterIP",
        session_affinity=draw(st.sampled_from(["None", "ClientIP"])),
        internal_traffic_policy=draw(st.sampled_from(["Cluster", "Local"])),
        external_traffic_policy=draw(st.sampled_from(["Cluster", "Local"])) if node_port else "",
    )
    return Service(metadata=ObjectMeta(name=f"svc{i}", namespace="ns"), spec=spec)


@st.composite
def slices(draw, i: int, part: str) -> EndpointSlice:
    endpoints = []
    for j in draw(st.lists(st.integers(1, 5), max_size=3, unique=True)):
        ready = draw(st.booleans())
        conditions = EndpointConditions(
            ready=ready, serving=ready or draw(st.booleans()), terminating=not ready
        )
        endpoints.append(
            Endpoint(
                addresses=[f"10.180.{i}.{j}"],
                conditions=conditions,
                node_name=draw(st.sampled_from(["node1", "node2"])),
            )
        )
    meta = ObjectMeta(name=f"svc{i}-{part}", namespace="ns", labels={LABEL_SERVICE_NAME: f"svc{i}"})
    ports = [EndpointPort(name="p80", port=8080, protocol="TCP")]
    if draw(st.booleans()):
        ports.append(EndpointPort(name="p53", port=5353, protocol="UDP"))
    return EndpointSlice(metadata=meta, address_type="IPv4", endpoints=endpoints, ports=ports)


@st.composite
def events(draw) -> tuple:
    """("service" | "slice", key, object or None for a delete, sync afterwards?)."""
    i = draw(st.integers(0, N_SERVICES - 1))
    delete = draw(st.integers(0, 4)) == 0
    sync = draw(st.booleans())
    if draw(st.booleans()):
        return ("service", f"svc{i}", None if delete else draw(services(i)), sync)
    part = draw(st.sampled_from("ab"))
    return ("slice", f"svc{i}-{part}", None if delete else draw(slices(i, part)), sync)


def _new_proxier(mode: str) -> Proxier:
    ticks = iter(range(10**6))
    backend = IptablesTables() if mode == "iptables" else NftTable()
    return Proxier(mode, CFG, backend, clock=lambda: next(ticks))


def _feed(p: Proxier, kind: str, old, new) -> None:
    if kind == "service":
        if old is None:
            p.on_service_add(new)
        elif new is None:
            p.on_service_delete(old)
        else:
            p.on_service_update(old, new)
    elif old is None:
        p.on_endpoint_slice_add(new)
    elif new is None:
        p.on_endpoint_slice_delete(old)
    else:
        p.on_endpoint_slice_update(old, new)


def _tables(p: Proxier):
    if p.mode == "iptables":
        t = p.backend
        return {tb: {c: [r.text for r in rules] for c, rules in t.table(tb).items()} for tb in ("filter", "nat")}  # fmt: skip
    t = p.backend
    chains = {n: c.rules for n, c in t.chains.items()}
    return chains, {n: c.elements for n, c in t.containers.items()}


def _cached_full_render(p: Proxier) -> str:
    if p.mode == "iptables":
        return iptables_proxier.render(p.svc_port_map, p.endpoints_map, CFG, cache=p.iptables_cache).text  # fmt: skip
    return nftables_proxier.render(p.svc_port_map, p.endpoints_map, CFG, cache=p.nft_cache).text


def _check(p: Proxier, live: dict) -> None:
    scratch = _new_proxier(p.mode)
    for (kind, _), obj in sorted(live.items(), key=lambda kv: kv[0]):
        _feed(scratch, kind, None, obj)
    fresh = scratch.sync_proxy_rules()
    assert _cached_full_render(p) == fresh.text
    # Stale nftables chains are flushed by one sync and deleted by the next.
    p.sync_proxy_rules()
    assert _tables(p) == _tables(scratch)


@settings(max_examples=20, deadline=None)
@given(mode=st.sampled_from(["iptables", "nftables"]), steps=st.lists(events(), max_size=14))
def test_incremental_syncs_equal_a_sync_from_scratch(mode, steps):
    p = _new_proxier(mode)
    live: dict[tuple[str, str], object] = {}
    for kind, key, obj, sync in steps:
        old = live.get((kind, key))
        if old is None and obj is None:
            continue  # deleting what does not exist is not an informer event
        _feed(p, kind, old, obj)
        if obj is None:
            del live[(kind, key)]
        else:
            live[(kind, key)] = obj
        if sync:
            p.sync_proxy_rules()
            _check(p, live)
    p.sync_proxy_rules()
    _check(p, live)


def test_partial_sync_renders_only_the_changed_service():
    """The cache at work: after one endpoint change, one block is rendered again."""
    for mode in ("iptables", "nftables"):
        p = _new_proxier(mode)
        svc = [Service(metadata=ObjectMeta(name=f"svc{i}", namespace="ns"), spec=ServiceSpec(
            cluster_ip=f"172.30.0.{i + 1}", ports=[ServicePort(name="p80", port=80, protocol="TCP")],
        )) for i in range(3)]  # fmt: skip
        for s in svc:
            p.on_service_add(s)
        p.sync_proxy_rules()
        cache = p.iptables_cache if mode == "iptables" else p.nft_cache
        assert cache.rendered == 3
        eps = EndpointSlice(
            metadata=ObjectMeta(name="svc1-a", namespace="ns", labels={LABEL_SERVICE_NAME: "svc1"}),
            address_type="IPv4",
            endpoints=[Endpoint(addresses=["10.180.1.1"], conditions=EndpointConditions(ready=True))],
            ports=[EndpointPort(name="p80", port=8080, protocol="TCP")],
        )  # fmt: skip
        p.on_endpoint_slice_add(eps)
        result = p.sync_proxy_rules()
        assert not result.full and cache.rendered == 1
        assert "10.180.1.1:8080" in result.text


def test_two_services_claiming_one_external_ip_fall_back_to_a_full_element_pass():
    """Both Services claim `1.2.3.4 . tcp . 80`: the partial sync cannot tell from its
    owners which value wins, so it re-ensures every element, as a full pass does."""
    p = _new_proxier("nftables")
    live: dict[tuple[str, str], object] = {}
    for i in (0, 1):
        spec = ServiceSpec(
            cluster_ip=f"172.30.0.{i + 1}",
            external_ips=["1.2.3.4"],
            ports=[ServicePort(name="p80", port=80, protocol="TCP")],
        )
        svc = Service(metadata=ObjectMeta(name=f"svc{i}", namespace="ns"), spec=spec)
        live[("service", f"svc{i}")] = svc
        _feed(p, "service", None, svc)
    p.sync_proxy_rules()
    eps = EndpointSlice(
        metadata=ObjectMeta(name="svc0-a", namespace="ns", labels={LABEL_SERVICE_NAME: "svc0"}),
        address_type="IPv4",
        endpoints=[Endpoint(addresses=["10.180.0.1"], conditions=EndpointConditions(ready=True))],
        ports=[EndpointPort(name="p80", port=8080, protocol="TCP")],
    )
    live[("slice", "svc0-a")] = eps
    _feed(p, "slice", None, eps)
    assert not p.sync_proxy_rules().full
    _check(p, live)
