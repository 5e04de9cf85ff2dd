"""Envoy routes for one service port: Istio's default route, or a VirtualService's http rules.

Mirrors istio pilot/pkg/networking/core/v1alpha3/route/route.go (BuildDefaultHTTPOutboundRoute,
BuildHTTPRoutesForVirtualService, translateRoute, translateRouteMatch, translateHeaderMatch,
the weighted destinations and consistentHashToHashPolicy), route/retry/retry.go (DefaultPolicy,
ConvertPolicy) and the fault conversion (translateFault: percent → FractionalPercent per
million). Each http rule gives one Envoy route per `match` entry (or one catch-all); a
destination host names a Service, its port defaults to the service's only port.
Omitted: redirect, rewrite, mirror, corsPolicy, headers manipulation, delegate
VirtualServices, gateways/sourceLabels/queryParams/method/authority/port matches.
"""

from __future__ import annotations

from typing import Any

from envoy.extensions.retry.host.previous_hosts.v3 import previous_hosts_pb2

from miniapi.core.v1 import Service
from miniproxy.xds.cluster_builder import duration, merged_policy
from miniproxy.xds.push_context import PushContext, outbound_cluster_name, resolve_short_name

FAULT_FILTER = "envoy.filters.http.fault"
PREVIOUS_HOSTS = previous_hosts_pb2.PreviousHostsPredicate.DESCRIPTOR.full_name
DEFAULT_RETRY_ON = "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes"


def default_retry_policy() -> dict[str, Any]:
    """retry.DefaultPolicy: 2 retries on connection trouble (and 503), other hosts first."""
    return {
        "retry_on": DEFAULT_RETRY_ON,
        "num_retries": 2,
        "retriable_status_codes": [503],
        "retry_host_predicate": [{"name": "envoy.retry_host_predicates.previous_hosts",
                                  "typed_config": {"@type": f"type.googleapis.com/{PREVIOUS_HOSTS}"}}],
        "host_selection_retry_max_attempts": "5",
    }  # fmt: skip


def default_route(cluster: str) -> dict[str, Any]:
    """BuildDefaultHTTPOutboundRoute: everything to the service's cluster, no timeout."""
    return {
        "name": "default",
        "match": {"prefix": "/"},
        "route": {"cluster": cluster, "timeout": "0s", "retry_policy": default_retry_policy()},
    }


def string_match(m: dict[str, Any]) -> dict[str, Any]:
    """Istio's StringMatch (exact / prefix / regex) as Envoy's StringMatcher."""
    if "exact" in m:
        return {"exact": m["exact"]}
    if "prefix" in m:
        return {"prefix": m["prefix"]}
    if "regex" in m:
        return {"safe_regex": {"regex": m["regex"]}}
    raise ValueError(f"unsupported string match {sorted(m)}")


def translate_route_match(match: dict[str, Any]) -> dict[str, Any]:
    """translateRouteMatch: uri → path/prefix/safe_regex, headers → header matchers."""
    out: dict[str, Any] = {"prefix": "/"}
    uri = match.get("uri")
    if uri:
        if "exact" in uri:
            out = {"path": uri["exact"]}
        elif "prefix" in uri:
            out = {"prefix": uri["prefix"]}
        elif "regex" in uri:
            out = {"safe_regex": {"regex": uri["regex"]}}
        else:
            raise ValueError(f"unsupported uri match {sorted(uri)}")
    headers = []
    for name, value in sorted((match.get("headers") or {}).items()):
        headers.append({"name": name.lower(), "string_match": string_match(value)})
    if headers:
        out["headers"] = headers
    return out


def destination_cluster(push: PushContext, dest: dict[str, Any], namespace: str) -> str:
    """A destination's cluster name; the port may be left out when the service has one."""
    host = resolve_short_name(dest.get("host", ""), namespace, push.domain)
    port = (dest.get("port") or {}).get("number")
    if port is None:
        svc = push.service_by_host(host)
        ports = svc.spec.ports if svc else []
        if len(ports) != 1:
            raise ValueError(f"destination {host} needs port.number")
        port = ports[0].port
    return outbound_cluster_name(int(port), dest.get("subset", ""), host)


def fractional(percent: float) -> dict[str, Any]:
    """translatePercentToFractionalPercent: Istio's 0-100 double in millionths."""
    return {"numerator": int(round(float(percent) * 10000)), "denominator": "MILLION"}


def translate_fault(fault: dict[str, Any]) -> dict[str, Any]:
    """HTTPFaultInjection → the fault filter's per-route HTTPFault."""
    out: dict[str, Any] = {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault"
    }
    delay, abort = fault.get("delay"), fault.get("abort")
    if delay:
        pct = (delay.get("percentage") or {}).get("value", delay.get("percent", 100))
        out["delay"] = {"fixed_delay": duration(delay["fixedDelay"]), "percentage": fractional(pct)}
    if abort:
        pct = (abort.get("percentage") or {}).get("value", 100)
        out["abort"] = {"http_status": int(abort["httpStatus"]), "percentage": fractional(pct)}
    return out


def translate_retries(retries: dict[str, Any] | None) -> dict[str, Any] | None:
    """retry.ConvertPolicy: attempts 0 disables; retryOn/perTryTimeout replace the defaults."""
    if retries is None:
        return default_retry_policy()
    attempts = int(retries.get("attempts", 0))
    if attempts <= 0:
        return None
    policy = default_retry_policy()
    policy["num_retries"] = attempts
    if retries.get("retryOn"):
        codes, names = [], []
        for part in str(retries["retryOn"]).split(","):
            part = part.strip()
            (codes if part.isdigit() else names).append(part)
        if codes:
            names.append("retriable-status-codes")
        policy["retry_on"] = ",".join(dict.fromkeys(names))
        policy["retriable_status_codes"] = [int(c) for c in codes]
    if retries.get("perTryTimeout"):
        policy["per_try_timeout"] = duration(retries["perTryTimeout"])
    return policy


def route_action(push: PushContext, http: dict[str, Any], namespace: str) -> dict[str, Any]:
    """The action of one http rule: a cluster or weighted clusters, timeout, retries."""
    dests = http.get("route") or []
    if not dests:
        raise ValueError("http route without destinations")
    clusters = [(destination_cluster(push, d["destination"], namespace), d) for d in dests]
    action: dict[str, Any] = {"timeout": duration(http["timeout"]) if "timeout" in http else "0s"}
    if len(clusters) == 1:
        action["cluster"] = clusters[0][0]
    else:
        weighted = [{"name": c, "weight": int(d.get("weight", 0))} for c, d in clusters]
        action["weighted_clusters"] = {"clusters": [w for w in weighted if w["weight"] > 0]}
    retry = translate_retries(http.get("retries"))
    if retry is not None:
        action["retry_policy"] = retry
    return action


def hash_policy(push: PushContext, cluster: str) -> list[dict[str, Any]]:
    """consistentHashToHashPolicy: the destination's httpHeaderName becomes the route's key."""
    _, _, subset, host = cluster.split("|", 3)
    rule = push.destination_rule(host)
    subsets = ((rule or {}).get("spec") or {}).get("subsets") or []
    policy = merged_policy(rule, next((s for s in subsets if s.get("name") == subset), None))
    header = ((policy.get("loadBalancer") or {}).get("consistentHash") or {}).get("httpHeaderName")
    return [{"header": {"header_name": header}}] if header else []


def virtual_service_routes(push: PushContext, vs: dict[str, Any]) -> list[dict[str, Any]]:
    """BuildHTTPRoutesForVirtualService: one route per match of each http rule, in order."""
    namespace = vs["metadata"].get("namespace") or ""
    routes = []
    for http in (vs.get("spec") or {}).get("http") or []:
        action = route_action(push, http, namespace)
        extra: dict[str, Any] = {}
        if http.get("fault"):
            extra["typed_per_filter_config"] = {FAULT_FILTER: translate_fault(http["fault"])}
        for match in http.get("match") or [{}]:
            route = {"match": translate_route_match(match), "route": action, **extra}
            if http.get("name"):
                route["name"] = http["name"]
            routes.append(route)
    return routes


def build_http_routes(
    push: PushContext, svc: Service, port: int, errors: list[str] | None = None
) -> list[dict[str, Any]]:
    """The routes of the virtual host `<svc>:<port>`: from its VirtualServices, else default.

    A VirtualService that cannot be translated is skipped (its reason appended to `errors`),
    as istiod ignores an invalid config instead of failing the whole push.
    """
    host = push.hostname(svc)
    routes = []
    for vs in push.virtual_services_for(host):
        try:
            routes.extend(virtual_service_routes(push, vs))
        except (ValueError, KeyError, TypeError) as e:
            if errors is not None:
                m = vs.get("metadata") or {}
                errors.append(f"VirtualService {m.get('namespace')}/{m.get('name')}: {e}")
    if not routes:
        routes = [default_route(outbound_cluster_name(port, "", host))]
    for route in routes:
        action = route["route"]
        first = action.get("cluster") or action["weighted_clusters"]["clusters"][0]["name"]
        policy = hash_policy(push, first)
        if policy:
            action["hash_policy"] = policy
    return routes
