"""Outbound clusters and their endpoints, from Services, EndpointSlices and DestinationRules.

Mirrors istio pilot/pkg/networking/core/v1alpha3/cluster_builder.go (buildCluster,
buildSubsetCluster: one EDS cluster `outbound|<port>||<host>` per service port and one
`outbound|<port>|<subset>|<host>` per DestinationRule subset), cluster_traffic_policy.go
(applyLoadBalancer, applyConnectionPool, applyOutlierDetection; a subset's trafficPolicy
overrides the rule's per field) and pilot/pkg/xds/endpoints/endpoint_builder.go (a
ClusterLoadAssignment of the ready endpoints, grouped by locality, filtered by the subset's
labels). Output is Envoy v3 JSON (dicts); translator.py parses it into the real protos.
Omitted: portLevelSettings, TLS settings, localityLbSetting, warmup, proxy protocol,
maglev (consistentHash always gives RING_HASH), httpCookie/sourceIp/queryParameter hashing,
the PASSTHROUGH load balancer.
"""

from __future__ import annotations

import re
from typing import Any

from miniapi.core.v1 import Service, ServicePort
from miniproxy.xds.push_context import LbEndpoint, PushContext, outbound_cluster_name

# Istio's defaults: connect timeout 10s, LEAST_REQUEST, breakers wide open (MaxUint32).
DEFAULT_CONNECT_TIMEOUT = "10s"
MAX_UINT32 = 4294967295
# LEAST_CONN is the deprecated spelling of LEAST_REQUEST.
LB_POLICIES = {"ROUND_ROBIN": "ROUND_ROBIN", "LEAST_REQUEST": "LEAST_REQUEST",
               "LEAST_CONN": "LEAST_REQUEST", "RANDOM": "RANDOM"}  # fmt: skip
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(h|ms|us|µs|ns|m|s)")
_UNIT = {"h": 3600, "m": 60, "s": 1, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}


def duration(text: str) -> str:
    """An Istio duration ("1m", "2.5s", "100ms") as protobuf JSON ("60s", "2.500s", "0.100s")."""
    text = str(text).strip()
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"invalid duration {text!r}")
    seconds = sum(float(n) * _UNIT[u] for n, u in parts)
    return f"{seconds:.3f}".rstrip("0").rstrip(".") + "s"


def merged_policy(rule: dict[str, Any] | None, subset: dict[str, Any] | None) -> dict[str, Any]:
    """MergeTrafficPolicy: the subset's loadBalancer/connectionPool/outlierDetection win."""
    policy = dict(((rule or {}).get("spec") or {}).get("trafficPolicy") or {})
    for key, value in ((subset or {}).get("trafficPolicy") or {}).items():
        policy[key] = value
    return policy


def apply_load_balancer(cluster: dict[str, Any], lb: dict[str, Any] | None) -> None:
    """simple → lb_policy; consistentHash → RING_HASH (the hash key goes on the route)."""
    lb = lb or {}
    if "consistentHash" in lb:
        cluster["lb_policy"] = "RING_HASH"
        ring = (lb["consistentHash"].get("ringHash") or {}).get("minimumRingSize")
        if ring:
            cluster["ring_hash_lb_config"] = {"minimum_ring_size": str(ring)}
        return
    simple = lb.get("simple", "UNSPECIFIED")
    if simple in ("UNSPECIFIED", ""):
        simple = "LEAST_REQUEST"
    if simple not in LB_POLICIES:
        raise ValueError(f"unknown loadBalancer.simple {simple!r}")
    cluster["lb_policy"] = LB_POLICIES[simple]


def apply_connection_pool(cluster: dict[str, Any], pool: dict[str, Any] | None) -> None:
    """tcp.maxConnections, http.http1MaxPendingRequests/http2MaxRequests/maxRetries → breakers."""
    pool = pool or {}
    tcp, http = pool.get("tcp") or {}, pool.get("http") or {}
    threshold = {
        "max_connections": int(tcp.get("maxConnections", MAX_UINT32)),
        "max_pending_requests": int(http.get("http1MaxPendingRequests", MAX_UINT32)),
        "max_requests": int(http.get("http2MaxRequests", MAX_UINT32)),
        "max_retries": int(http.get("maxRetries", MAX_UINT32)),
        "track_remaining": True,
    }
    cluster["circuit_breakers"] = {"thresholds": [threshold]}
    if "connectTimeout" in tcp:
        cluster["connect_timeout"] = duration(tcp["connectTimeout"])
    options = {}
    if "maxRequestsPerConnection" in http:
        options["max_requests_per_connection"] = int(http["maxRequestsPerConnection"])
    if "idleTimeout" in http:
        options["idle_timeout"] = duration(http["idleTimeout"])
    if options:
        cluster["typed_extension_protocol_options"] = {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                "common_http_protocol_options": options,
                "explicit_http_config": {"http_protocol_options": {}},
            }
        }


def apply_outlier_detection(cluster: dict[str, Any], od: dict[str, Any] | None) -> None:
    """consecutive5xxErrors etc.; the detectors Istio does not ask for are not enforced."""
    if not od:
        return
    out: dict[str, Any] = {"enforcing_success_rate": 0}
    errors = od.get("consecutive5xxErrors", od.get("consecutiveErrors"))
    if errors is not None:
        out["consecutive_5xx"] = int(errors)
        out["enforcing_consecutive_5xx"] = 100 if int(errors) > 0 else 0
    gateway = od.get("consecutiveGatewayErrors")
    out["enforcing_consecutive_gateway_failure"] = 100 if gateway else 0
    if gateway:
        out["consecutive_gateway_failure"] = int(gateway)
    for src, dst in (("interval", "interval"), ("baseEjectionTime", "base_ejection_time")):
        if src in od:
            out[dst] = duration(od[src])
    if "maxEjectionPercent" in od:
        out["max_ejection_percent"] = int(od["maxEjectionPercent"])
    if "minHealthPercent" in od:
        cluster["common_lb_config"] = {"healthy_panic_threshold": {"value": od["minHealthPercent"]}}
    cluster["outlier_detection"] = out


def build_cluster(name: str, policy: dict[str, Any]) -> dict[str, Any]:
    cluster: dict[str, Any] = {
        "name": name,
        "type": "EDS",
        "connect_timeout": DEFAULT_CONNECT_TIMEOUT,
        "eds_cluster_config": {"service_name": name, "eds_config": {"ads": {}, "resource_api_version": "V3"}},
    }  # fmt: skip
    apply_load_balancer(cluster, policy.get("loadBalancer"))
    apply_connection_pool(cluster, policy.get("connectionPool"))
    apply_outlier_detection(cluster, policy.get("outlierDetection"))
    return cluster


def load_assignment(name: str, endpoints: list[LbEndpoint]) -> dict[str, Any]:
    """Endpoints grouped by zone (locality), in address order, as the EDS builder does."""
    zones: dict[str, list[dict[str, Any]]] = {}
    for ep in endpoints:
        addr = {"socket_address": {"address": ep.address, "port_value": ep.port}}
        zones.setdefault(ep.zone, []).append(
            {"endpoint": {"address": addr}, "load_balancing_weight": 1}
        )
    groups = []
    for zone, eps in sorted(zones.items()):
        group: dict[str, Any] = {"lb_endpoints": eps, "load_balancing_weight": len(eps)}
        if zone:
            group["locality"] = {"zone": zone}
        groups.append(group)
    return {"cluster_name": name, "endpoints": groups}


def build_service_clusters(
    push: PushContext, svc: Service, port: ServicePort, errors: list[str] | None = None
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(Cluster, ClusterLoadAssignment) for a service port and each subset of its rule.

    A DestinationRule that cannot be translated is ignored (reason appended to `errors`):
    the service keeps its plain cluster with Istio's defaults.
    """
    host = push.hostname(svc)
    rule = push.destination_rule(host)
    endpoints = push.endpoints(svc, port)
    try:
        return _clusters(host, port.port, rule, endpoints)
    except (ValueError, KeyError, TypeError) as e:
        if errors is not None:
            m = (rule or {}).get("metadata") or {}
            errors.append(f"DestinationRule {m.get('namespace')}/{m.get('name')}: {e}")
        return _clusters(host, port.port, None, endpoints)


def _clusters(host: str, port: int, rule: dict[str, Any] | None, endpoints: list[LbEndpoint]):
    name = outbound_cluster_name(port, "", host)
    out = [(build_cluster(name, merged_policy(rule, None)), load_assignment(name, endpoints))]
    for subset in ((rule or {}).get("spec") or {}).get("subsets") or []:
        name = outbound_cluster_name(port, subset["name"], host)
        selector = subset.get("labels") or {}
        chosen = [e for e in endpoints if e.matches(selector)]
        cluster = build_cluster(name, merged_policy(rule, subset))
        out.append((cluster, load_assignment(name, chosen)))
    return out
