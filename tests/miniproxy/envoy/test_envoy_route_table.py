"""The route table as a pure function of a RouteConfiguration and request headers.

Reference: Envoy API docs config/route/v3/route.proto (VirtualHost.domains search order:
exact, suffix wildcard, prefix wildcard, "*"; longest wildcard first) and route_components.proto
(RouteMatch, HeaderMatcher.invert_match, WeightedCluster).
"""

from __future__ import annotations

import collections

from envoy.config.route.v3 import route_pb2
from hypothesis import given, settings
from hypothesis import strategies as st

from miniproxy.envoy.config import parse_dict
from miniproxy.envoy.headers import HeaderMap
from miniproxy.envoy.route_matcher import RouteTable
from miniproxy.envoy.stats import Store, render_prometheus


def table(vhosts) -> RouteTable:
    return RouteTable(
        parse_dict({"name": "r", "virtual_hosts": vhosts}, route_pb2.RouteConfiguration)
    )


def req(host="x", path="/", **hdrs) -> HeaderMap:
    h = HeaderMap([(":authority", host), (":path", path), (":method", "GET")])
    for k, v in hdrs.items():
        h.add(k.replace("_", "-"), v)
    return h


def vh(name, *domains):
    return {
        "name": name,
        "domains": list(domains),
        "routes": [{"match": {"prefix": "/"}, "route": {"cluster": name}}],
    }


def test_domain_search_order():
    t = table([vh("exact", "foo.bar.com"), vh("long-suffix", "*.bar.com"), vh("short-suffix", "*.com"),
               vh("prefix", "foo.*"), vh("star", "*")])  # fmt: skip
    assert t.route(req("foo.bar.com"), 0).cluster == "exact"
    assert t.route(req("baz.bar.com"), 0).cluster == "long-suffix"
    assert t.route(req("x.com"), 0).cluster == "short-suffix"
    assert t.route(req("foo.org"), 0).cluster == "prefix"
    assert t.route(req("other"), 0).cluster == "star"
    assert t.route(req("FOO.BAR.COM"), 0).cluster == "exact"


def test_first_matching_route_wins_with_headers_regex_and_case():
    routes = [
        {
            "match": {"prefix": "/", "headers": [{"name": "x-canary", "present_match": True}]},
            "route": {"cluster": "canary"},
        },
        {"match": {"path": "/exact"}, "route": {"cluster": "exact"}},
        {"match": {"safe_regex": {"regex": "/items/[0-9]+"}}, "route": {"cluster": "regex"}},
        {"match": {"prefix": "/CI", "case_sensitive": False}, "route": {"cluster": "ci"}},
        {
            "match": {
                "prefix": "/",
                "headers": [
                    {"name": "x-env", "string_match": {"exact": "prod"}, "invert_match": True}
                ],
            },
            "route": {"cluster": "not-prod"},
        },
        {"match": {"prefix": "/"}, "route": {"cluster": "default"}},
    ]
    t = table([{"name": "v", "domains": ["*"], "routes": routes}])
    assert t.route(req(path="/exact", x_canary="1"), 0).cluster == "canary"
    assert t.route(req(path="/exact?q=1"), 0).cluster == "exact"
    assert t.route(req(path="/items/42"), 0).cluster == "regex"
    assert t.route(req(path="/items/4x", x_env="prod"), 0).cluster == "default"
    assert t.route(req(path="/ci/x", x_env="prod"), 0).cluster == "ci"
    assert t.route(req(path="/other", x_env="dev"), 0).cluster == "not-prod"
    # A missing header never matches, even inverted.
    assert t.route(req(path="/other"), 0).cluster == "default"


WC = {"clusters": [{"name": "a", "weight": 1}, {"name": "b", "weight": 3}]}
WC_ROUTES = [{"match": {"prefix": "/"}, "route": {"weighted_clusters": WC}}]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=2**64 - 1), min_size=50, max_size=50))
def test_weighted_clusters_partition_the_random_space_by_weight(values):
    entry = WEIGHTED.route(req(), 0)
    for v in values:
        name, _ = entry.pick_cluster(req(), v)
        assert name == ("a" if v % 4 < 1 else "b")
    counts = collections.Counter(entry.pick_cluster(req(), v)[0] for v in range(400))
    assert counts == {"a": 100, "b": 300}


WEIGHTED = table([{"name": "v", "domains": ["*"], "routes": WC_ROUTES}])


def test_prometheus_extracts_envoys_tags():
    s = Store()
    s.counter("cluster.svc.upstream_rq_2xx").inc(3)
    s.counter("cluster.svc.upstream_rq_201").inc(2)
    s.counter("http.ingress.downstream_rq_total").inc(1)
    s.gauge("listener.127.0.0.1_80.downstream_cx_active").set(2)
    text = render_prometheus(s, {"svc"})
    assert (
        'envoy_cluster_upstream_rq_xx{envoy_cluster_name="svc",envoy_response_code_class="2"} 3'
        in text
    )
    assert 'envoy_cluster_upstream_rq{envoy_cluster_name="svc",envoy_response_code="201"} 2' in text
    assert 'envoy_http_downstream_rq_total{envoy_http_conn_manager_prefix="ingress"} 1' in text
    assert 'envoy_listener_downstream_cx_active{envoy_listener_address="127.0.0.1_80"} 2' in text
