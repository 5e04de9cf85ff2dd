"""The Kubernetes translator as a pure function: objects in, real Envoy v3 protos out.

Table tests read the produced protos field by field (the names and values Istio's istiod
would send: `outbound|<port>|<subset>|<host>` clusters, route config `<port>`, virtual hosts
`<fqdn>:<port>`); properties check order independence and endpoint selection.
References: istio pilot/pkg/networking/core/v1alpha3/cluster_builder.go,
cluster_traffic_policy.go, route/route.go, route/retry/retry.go.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import yaml
from envoy.config.cluster.v3 import cluster_pb2
from envoy.config.endpoint.v3 import endpoint_pb2
from envoy.config.listener.v3 import listener_pb2
from envoy.config.route.v3 import route_pb2
from envoy.extensions.filters.http.fault.v3 import fault_pb2
from envoy.extensions.filters.network.http_connection_manager.v3 import (
    http_connection_manager_pb2 as hcm_pb2,
)
from envoy.extensions.upstreams.http.v3 import http_protocol_options_pb2 as http_options_pb2
from hypothesis import given, settings
from hypothesis import strategies as st

from miniapi import scheme
from miniproxy.xds.cluster_builder import duration
from miniproxy.xds.push_context import PushContext
from miniproxy.xds.snapshot import CLUSTER, ENDPOINT, LISTENER, ROUTE
from miniproxy.xds.translator import TranslateOptions, translate

HOST = "reviews.default.svc.cluster.local"
EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "istio"
MSG = {
    CLUSTER: cluster_pb2.Cluster,
    ENDPOINT: endpoint_pb2.ClusterLoadAssignment,
    LISTENER: listener_pb2.Listener,
    ROUTE: route_pb2.RouteConfiguration,
}
NAME = {CLUSTER: "name", ENDPOINT: "cluster_name", LISTENER: "name", ROUTE: "name"}


def service(name="reviews", ns="default", ports=((9080, "http"),), ip="10.96.0.10"):
    return scheme.decode({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
                          "spec": {"clusterIP": ip, "ports": [{"name": n, "port": p, "protocol": "TCP"} for p, n in ports]}})  # fmt: skip


def slice_(name, svc, eps, port=9080, port_name="http", ns="default"):
    """eps: (ip, ready, pod, zone) tuples."""
    endpoints = []
    for ip, ready, pod, zone in eps:
        ep = {"addresses": [ip], "conditions": {} if ready is None else {"ready": ready}}
        if pod:
            ep["targetRef"] = {"kind": "Pod", "name": pod, "namespace": ns}
        if zone:
            ep["zone"] = zone
        endpoints.append(ep)
    return scheme.decode({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                          "metadata": {"name": name, "namespace": ns, "labels": {"kubernetes.io/service-name": svc}},
                          "addressType": "IPv4", "endpoints": endpoints, "ports": [{"name": port_name, "port": port}]})  # fmt: skip


def pod(name, labels, ns="default"):
    return scheme.decode({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns, "labels": labels}})  # fmt: skip


def istio(kind, name, spec, ns="default"):
    return {"apiVersion": "networking.istio.io/v1", "kind": kind, "metadata": {"name": name, "namespace": ns}, "spec": spec}  # fmt: skip


BOOKINFO_PODS = [pod("r1", {"app": "reviews", "version": "v1"}), pod("r2", {"app": "reviews", "version": "v2"}),
                 pod("r3", {"app": "reviews", "version": "v3"})]  # fmt: skip
BOOKINFO_SLICE = slice_("reviews-abc", "reviews", [("10.1.0.1", True, "r1", "zone-a"), ("10.1.0.2", None, "r2", "zone-b"),
                                                   ("10.1.0.3", True, "r3", "zone-a"), ("10.1.0.9", False, "r9", "")], port=9080)  # fmt: skip


def resources(push: PushContext, **opts) -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {t: {} for t in MSG}
    for res in translate(push, TranslateOptions(**opts)):
        msg = MSG[res.type_url]()
        res.Unpack(msg)
        out[res.type_url][getattr(msg, NAME[res.type_url])] = msg
    return out


def addresses(cla) -> list[tuple[str, str, int]]:
    return [(g.locality.zone, e.endpoint.address.socket_address.address, e.endpoint.address.socket_address.port_value)
            for g in cla.endpoints for e in g.lb_endpoints]  # fmt: skip


def test_service_port_gives_eds_cluster_endpoints_listener_and_route_config():
    r = resources(PushContext.of([service()], [BOOKINFO_SLICE], BOOKINFO_PODS))
    name = f"outbound|9080||{HOST}"
    assert list(r[CLUSTER]) == [name]
    c = r[CLUSTER][name]
    assert c.type == cluster_pb2.Cluster.EDS and c.eds_cluster_config.service_name == name
    assert c.eds_cluster_config.eds_config.HasField("ads")
    assert c.lb_policy == cluster_pb2.Cluster.LEAST_REQUEST and c.connect_timeout.seconds == 10
    t = c.circuit_breakers.thresholds[0]
    assert (t.max_connections.value, t.max_requests.value, t.max_retries.value) == (4294967295,) * 3
    # Ready and unknown-readiness endpoints, grouped by zone; the not-ready one is left out.
    assert addresses(r[ENDPOINT][name]) == [("zone-a", "10.1.0.1", 9080), ("zone-a", "10.1.0.3", 9080),
                                            ("zone-b", "10.1.0.2", 9080)]  # fmt: skip
    lis = r[LISTENER]["0.0.0.0_9080"]
    assert lis.address.socket_address.port_value == 9080
    hcm = hcm_pb2.HttpConnectionManager()
    lis.filter_chains[0].filters[0].typed_config.Unpack(hcm)
    assert hcm.rds.route_config_name == "9080" and hcm.stat_prefix == "outbound_0.0.0.0_9080"
    assert [f.name for f in hcm.http_filters] == ["envoy.filters.http.fault", "envoy.filters.http.router"]  # fmt: skip
    vh = r[ROUTE]["9080"].virtual_hosts[0]
    assert vh.name == f"{HOST}:9080"
    assert list(vh.domains) == [HOST, f"{HOST}:9080", "reviews", "reviews:9080", "reviews.default", "reviews.default:9080",
                                "reviews.default.svc", "reviews.default.svc:9080", "10.96.0.10", "10.96.0.10:9080"]  # fmt: skip
    route = vh.routes[0]
    assert route.name == "default" and route.match.prefix == "/" and route.route.cluster == name
    assert route.route.timeout.ToSeconds() == 0
    rp = route.route.retry_policy
    assert (rp.num_retries.value, list(rp.retriable_status_codes)) == (2, [503])
    assert (
        rp.retry_on == "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes"
    )
    assert rp.retry_host_predicate[0].name == "envoy.retry_host_predicates.previous_hosts"


def test_services_sharing_a_port_share_listener_and_route_config_short_names_by_namespace():
    push = PushContext.of([service(), service("ratings", "shop", ip="10.96.0.11"), service("web", ports=((80, ""),))])  # fmt: skip
    r = resources(push, listener_address="127.0.0.1", proxy_namespace="default")
    assert sorted(r[LISTENER]) == ["127.0.0.1_80", "127.0.0.1_9080"]
    assert r[LISTENER]["127.0.0.1_80"].address.socket_address.address == "127.0.0.1"
    vhosts = {v.name: list(v.domains) for v in r[ROUTE]["9080"].virtual_hosts}
    assert sorted(vhosts) == ["ratings.shop.svc.cluster.local:9080", f"{HOST}:9080"]
    assert "ratings" not in vhosts["ratings.shop.svc.cluster.local:9080"]
    assert "ratings.shop:9080" in vhosts["ratings.shop.svc.cluster.local:9080"]
    assert "reviews" in vhosts[f"{HOST}:9080"]
    # No endpoints yet: the cluster exists with an empty assignment.
    assert addresses(r[ENDPOINT]["outbound|80||web.default.svc.cluster.local"]) == []


def test_endpoint_slice_port_is_matched_by_service_port_name():
    svc = service(ports=((9080, "http"), (9090, "grpc")))
    slices = [slice_("a", "reviews", [("10.1.0.1", True, "", "")], port=8080, port_name="http"),
              slice_("b", "reviews", [("10.1.0.2", True, "", "")], port=7070, port_name="grpc"),
              slice_("c", "other", [("10.1.0.3", True, "", "")], port=8080, port_name="http")]  # fmt: skip
    r = resources(PushContext.of([svc], slices))
    assert addresses(r[ENDPOINT][f"outbound|9080||{HOST}"]) == [("", "10.1.0.1", 8080)]
    assert addresses(r[ENDPOINT][f"outbound|9090||{HOST}"]) == [("", "10.1.0.2", 7070)]


DR = istio("DestinationRule", "reviews", {
    "host": "reviews",
    "trafficPolicy": {
        "loadBalancer": {"simple": "ROUND_ROBIN"},
        "connectionPool": {"tcp": {"maxConnections": 1, "connectTimeout": "250ms"},
                           "http": {"http1MaxPendingRequests": 2, "http2MaxRequests": 3, "maxRetries": 4,
                                    "maxRequestsPerConnection": 5}},
        "outlierDetection": {"consecutive5xxErrors": 3, "interval": "1s", "baseEjectionTime": "3m", "maxEjectionPercent": 50},
    },
    "subsets": [{"name": "v1", "labels": {"version": "v1"}},
                {"name": "v2", "labels": {"version": "v2"}, "trafficPolicy": {"loadBalancer": {"simple": "RANDOM"}}},
                {"name": "v3", "labels": {"version": "v3"}, "trafficPolicy": {"loadBalancer": {"consistentHash": {"httpHeaderName": "x-user"}}}}],
})  # fmt: skip


def test_destination_rule_subsets_traffic_policy_and_label_filtered_endpoints():
    r = resources(PushContext.of([service()], [BOOKINFO_SLICE], BOOKINFO_PODS, [], [DR]))
    assert sorted(r[CLUSTER]) == sorted(f"outbound|9080|{s}|{HOST}" for s in ("", "v1", "v2", "v3"))
    base = r[CLUSTER][f"outbound|9080||{HOST}"]
    assert base.lb_policy == cluster_pb2.Cluster.ROUND_ROBIN
    assert base.connect_timeout.ToMilliseconds() == 250
    t = base.circuit_breakers.thresholds[0]
    assert (t.max_connections.value, t.max_pending_requests.value, t.max_requests.value, t.max_retries.value) == (1, 2, 3, 4)  # fmt: skip
    od = base.outlier_detection
    assert (od.consecutive_5xx.value, od.enforcing_consecutive_5xx.value) == (3, 100)
    assert (od.interval.seconds, od.base_ejection_time.seconds, od.max_ejection_percent.value) == (
        1,
        180,
        50,
    )
    assert (
        od.enforcing_consecutive_gateway_failure.value == 0 and od.enforcing_success_rate.value == 0
    )
    opts = base.typed_extension_protocol_options[
        "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
    ]
    hpo = http_options_pb2.HttpProtocolOptions()
    opts.Unpack(hpo)
    assert hpo.common_http_protocol_options.max_requests_per_connection.value == 5
    # A subset inherits the rule's policy and overrides its own fields.
    v1, v2, v3 = (r[CLUSTER][f"outbound|9080|{s}|{HOST}"] for s in ("v1", "v2", "v3"))
    assert (
        v1.lb_policy == cluster_pb2.Cluster.ROUND_ROBIN
        and v1.outlier_detection.consecutive_5xx.value == 3
    )
    assert (
        v2.lb_policy == cluster_pb2.Cluster.RANDOM
        and v2.circuit_breakers.thresholds[0].max_connections.value == 1
    )
    assert v3.lb_policy == cluster_pb2.Cluster.RING_HASH
    assert addresses(r[ENDPOINT][f"outbound|9080|v1|{HOST}"]) == [("zone-a", "10.1.0.1", 9080)]
    assert addresses(r[ENDPOINT][f"outbound|9080|v2|{HOST}"]) == [("zone-b", "10.1.0.2", 9080)]
    assert addresses(r[ENDPOINT][f"outbound|9080|v3|{HOST}"]) == [("zone-a", "10.1.0.3", 9080)]


VS = istio("VirtualService", "reviews", {
    "hosts": ["reviews"],
    "http": [
        {"name": "jason", "match": [{"headers": {"end-user": {"exact": "jason"}}, "uri": {"prefix": "/api"}},
                                    {"headers": {"x-canary": {"regex": "^(yes|1)$"}}}],
         "route": [{"destination": {"host": "reviews", "subset": "v2"}}],
         "fault": {"delay": {"percentage": {"value": 12.5}, "fixedDelay": "7s"},
                   "abort": {"percentage": {"value": 0.1}, "httpStatus": 500}}},
        {"match": [{"uri": {"exact": "/health"}}, {"uri": {"regex": "/v[0-9]+/.*"}, "headers": {"x-tenant": {"prefix": "acme"}}}],
         "route": [{"destination": {"host": "reviews.default.svc.cluster.local", "subset": "v3", "port": {"number": 9080}}}],
         "retries": {"attempts": 0}},
        {"route": [{"destination": {"host": "reviews", "subset": "v1"}, "weight": 75},
                   {"destination": {"host": "reviews", "subset": "v3"}, "weight": 25},
                   {"destination": {"host": "reviews", "subset": "v2"}, "weight": 0}],
         "timeout": "1.5s", "retries": {"attempts": 3, "perTryTimeout": "500ms", "retryOn": "5xx,gateway-error,503"}},
    ],
})  # fmt: skip


def test_virtual_service_matches_destinations_weights_fault_timeout_retries():
    r = resources(PushContext.of([service()], [BOOKINFO_SLICE], BOOKINFO_PODS, [VS], [DR]))
    routes = r[ROUTE]["9080"].virtual_hosts[0].routes
    assert len(routes) == 5
    jason, canary, health, versioned, split = routes
    assert jason.name == "jason" and jason.match.prefix == "/api"
    h = jason.match.headers[0]
    assert (h.name, h.string_match.exact) == ("end-user", "jason")
    assert (
        canary.match.prefix == "/"
        and canary.match.headers[0].string_match.safe_regex.regex == "^(yes|1)$"
    )
    assert jason.route.cluster == canary.route.cluster == f"outbound|9080|v2|{HOST}"
    fault = fault_pb2.HTTPFault()
    jason.typed_per_filter_config["envoy.filters.http.fault"].Unpack(fault)
    assert fault.delay.fixed_delay.seconds == 7
    assert (fault.delay.percentage.numerator, fault.delay.percentage.denominator) == (
        125000,
        2,
    )  # MILLION
    assert (fault.abort.http_status, fault.abort.percentage.numerator) == (500, 1000)
    assert jason.route.retry_policy.num_retries.value == 2  # no retries stanza: Istio's default
    assert health.match.path == "/health" and not health.route.HasField("retry_policy")
    assert versioned.match.safe_regex.regex == "/v[0-9]+/.*"
    assert versioned.match.headers[0].string_match.prefix == "acme"
    assert health.route.cluster == f"outbound|9080|v3|{HOST}"
    wc = split.route.weighted_clusters.clusters
    assert [(c.name, c.weight.value) for c in wc] == [(f"outbound|9080|v1|{HOST}", 75), (f"outbound|9080|v3|{HOST}", 25)]  # fmt: skip
    assert split.route.timeout.ToMilliseconds() == 1500
    rp = split.route.retry_policy
    assert (rp.num_retries.value, rp.per_try_timeout.ToMilliseconds()) == (3, 500)
    assert rp.retry_on == "5xx,gateway-error,retriable-status-codes" and list(rp.retriable_status_codes) == [503]  # fmt: skip
    # The v3 subset hashes on x-user: routes whose (first) destination is v3 carry the key.
    assert health.route.hash_policy[0].header.header_name == "x-user"
    assert not split.route.hash_policy and not jason.route.hash_policy


def test_consistent_hash_header_becomes_ring_hash_cluster_and_route_hash_policy():
    dr = istio("DestinationRule", "reviews", {"host": "reviews.default.svc.cluster.local", "trafficPolicy": {
        "loadBalancer": {"consistentHash": {"httpHeaderName": "x-user", "ringHash": {"minimumRingSize": 64}}}}})  # fmt: skip
    r = resources(PushContext.of([service()], [BOOKINFO_SLICE], BOOKINFO_PODS, [], [dr]))
    c = r[CLUSTER][f"outbound|9080||{HOST}"]
    assert (
        c.lb_policy == cluster_pb2.Cluster.RING_HASH
        and c.ring_hash_lb_config.minimum_ring_size.value == 64
    )
    assert (
        r[ROUTE]["9080"].virtual_hosts[0].routes[0].route.hash_policy[0].header.header_name
        == "x-user"
    )


def test_virtual_service_in_another_namespace_resolves_short_names_there():
    vs = istio("VirtualService", "r", {"hosts": ["reviews.default.svc.cluster.local"],
                                       "http": [{"route": [{"destination": {"host": "reviews"}}]}]}, ns="shop")  # fmt: skip
    push = PushContext.of([service(), service("reviews", "shop", ip="10.96.0.12")], [], [], [vs])
    r = resources(push)
    by = {v.name: v for v in r[ROUTE]["9080"].virtual_hosts}
    assert (
        by[f"{HOST}:9080"].routes[0].route.cluster
        == "outbound|9080||reviews.shop.svc.cluster.local"
    )
    assert by["reviews.shop.svc.cluster.local:9080"].routes[0].name == "default"


@pytest.mark.parametrize("text,want", [("1s", "1s"), ("1m", "60s"), ("3m", "180s"), ("250ms", "0.25s"),
                                       ("1.5s", "1.5s"), ("1h1m", "3660s")])  # fmt: skip
def test_istio_durations_become_protobuf_durations(text, want):
    assert duration(text) == want


@settings(max_examples=50, deadline=None)
@given(h=st.integers(0, 3), m=st.integers(0, 59), ms=st.integers(0, 59999))
def test_duration_sums_its_go_style_parts(h, m, ms):
    got = duration(f"{h}h{m}m{ms}ms")
    assert got.endswith("s") and abs(float(got[:-1]) - (h * 3600 + m * 60 + ms / 1000)) < 1e-6


@pytest.mark.parametrize("text", ["", "5", "1x", "s"])
def test_bad_durations_are_refused(text):
    with pytest.raises(ValueError):
        duration(text)


def test_untranslatable_configs_are_skipped_and_reported_not_fatal():
    vs = istio("VirtualService", "r", {"hosts": ["reviews"], "http": [{"route": [{"destination": {"host": "reviews"}}]}]})  # fmt: skip
    dr = istio("DestinationRule", "d", {"host": "reviews", "trafficPolicy": {"loadBalancer": {"simple": "FASTEST"}}})  # fmt: skip
    errors: list[str] = []
    push = PushContext.of([service(ports=((1, "a"), (2, "b")))], [], [], [vs], [dr])
    out = translate(push, errors=errors)
    assert errors == [
        "DestinationRule default/d: unknown loadBalancer.simple 'FASTEST'",
        "VirtualService default/r: destination reviews.default.svc.cluster.local needs port.number",
    ]
    r = resources(push)
    assert r[CLUSTER][f"outbound|1||{HOST}"].lb_policy == cluster_pb2.Cluster.LEAST_REQUEST
    assert r[ROUTE]["2"].virtual_hosts[0].routes[0].name == "default"
    assert len(out) == 8  # 2 clusters, 2 assignments, 2 listeners, 2 route configs


def test_example_istio_manifests_translate_to_the_documented_resources():
    docs = []
    for f in ("reviews-virtual-service.yaml", "reviews-destination-rule.yaml"):
        docs += list(yaml.safe_load_all((EXAMPLES / f).read_text()))
    vs = [d for d in docs if d["kind"] == "VirtualService"]
    dr = [d for d in docs if d["kind"] == "DestinationRule"]
    errors: list[str] = []
    push = PushContext.of([service()], [BOOKINFO_SLICE], BOOKINFO_PODS, vs, dr)
    translate(push, errors=errors)
    assert errors == []
    r = resources(push)
    assert sorted(r[CLUSTER]) == sorted(f"outbound|9080|{s}|{HOST}" for s in ("", "v1", "v2", "v3"))
    jason, rest = r[ROUTE]["9080"].virtual_hosts[0].routes
    assert jason.route.cluster == f"outbound|9080|v2|{HOST}"
    assert [c.weight.value for c in rest.route.weighted_clusters.clusters] == [80, 20]
    crds = list(yaml.safe_load_all((EXAMPLES / "crds.yaml").read_text()))
    assert [(c["spec"]["group"], c["spec"]["names"]["plural"]) for c in crds] == [
        ("networking.istio.io", "virtualservices"), ("networking.istio.io", "destinationrules")]  # fmt: skip


eps_strategy = st.lists(
    st.tuples(st.integers(1, 40), st.sampled_from([True, False, None]), st.sampled_from(["v1", "v2", ""])),
    max_size=12, unique_by=lambda t: t[0],
)  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(eps=eps_strategy, seed=st.integers(0, 2**16))
def test_subset_endpoints_are_exactly_the_ready_matching_ones_in_any_input_order(eps, seed):
    pods = [pod(f"p{i}", {"version": v} if v else {}) for i, _, v in eps]
    half = len(eps) // 2
    slices = [slice_("s1", "reviews", [(f"10.0.0.{i}", rd, f"p{i}", "") for i, rd, _ in eps[:half]]),
              slice_("s2", "reviews", [(f"10.0.0.{i}", rd, f"p{i}", "") for i, rd, _ in eps[half:]])]  # fmt: skip
    dr = istio("DestinationRule", "reviews", {"host": "reviews", "subsets": [{"name": "v1", "labels": {"version": "v1"}}]})  # fmt: skip
    push = PushContext.of([service()], slices, pods, [], [dr])
    rng = random.Random(seed)
    shuffled = PushContext.of(
        [service()], rng.sample(slices, 2), rng.sample(pods, len(pods)), [], [dr]
    )
    a, b = translate(push), translate(shuffled)
    assert [x.SerializeToString(deterministic=True) for x in a] == [x.SerializeToString(deterministic=True) for x in b]  # fmt: skip
    r = resources(push)
    want_all = sorted(f"10.0.0.{i}" for i, rd, _ in eps if rd is not False)
    want_v1 = sorted(f"10.0.0.{i}" for i, rd, v in eps if rd is not False and v == "v1")
    assert sorted(a for _, a, _ in addresses(r[ENDPOINT][f"outbound|9080||{HOST}"])) == want_all
    assert sorted(a for _, a, _ in addresses(r[ENDPOINT][f"outbound|9080|v1|{HOST}"])) == want_v1
