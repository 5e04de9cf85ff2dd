"""API server metrics in Prometheus format at /metrics.

Mirrors k8s.io/apiserver/pkg/endpoints/metrics/metrics.go (apiserver_request_total,
apiserver_request_duration_seconds, apiserver_longrunning_requests, the
cleanVerb/scope labels) and the watch-cache counters of
storage/cacher/metrics (apiserver_watch_cache_events_dispatched_total,
apiserver_cache_list_total) and storage/etcd3/metrics (apiserver_storage_list_total).
Omitted: response sizes, SLI histograms, etcd client metrics.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from miniapiserver.endpoints.requestinfo import RequestInfo

REGISTRY = CollectorRegistry()
LABELS = ("verb", "dry_run", "group", "version", "resource", "subresource", "scope", "component")

REQUESTS = Counter(
    "apiserver_request",
    "Counter of apiserver requests broken out for each verb, dry run value, group, version, "
    "resource, scope, component, and HTTP response code.",
    (*LABELS, "code"),
    registry=REGISTRY,
)
LATENCY = Histogram(
    "apiserver_request_duration_seconds",
    "Response latency distribution in seconds for each verb, dry run value, group, version, "
    "resource, subresource, scope and component.",
    LABELS,
    buckets=(
        0.005,
        0.025,
        0.05,
        0.1,
        0.2,
        0.4,
        0.6,
        0.8,
        1.0,
        1.25,
        1.5,
        2,
        3,
        4,
        5,
        6,
        8,
        10,
        15,
        20,
        30,
        45,
        60,
    ),
    registry=REGISTRY,
)
LONGRUNNING = Gauge(
    "apiserver_longrunning_requests",
    "Gauge of all active long-running apiserver requests broken out by verb, group, version, "
    "resource, scope and component.",
    ("verb", "group", "version", "resource", "subresource", "scope", "component"),
    registry=REGISTRY,
)
WATCH_EVENTS = Counter(
    "apiserver_watch_cache_events_dispatched",
    "Counter of events dispatched in watch cache broken by resource type.",
    ("resource",),
    registry=REGISTRY,
)
CACHE_LIST = Counter(
    "apiserver_cache_list",
    "Number of LIST requests served from watch cache",
    ("resource_prefix", "index"),
    registry=REGISTRY,
)
STORAGE_LIST = Counter(
    "apiserver_storage_list",
    "Number of LIST requests served from storage",
    ("resource",),
    registry=REGISTRY,
)


def clean_verb(ri: RequestInfo, method: str) -> str:
    """cleanVerb: LIST and WATCH for collection reads, else the HTTP method."""
    if ri.verb == "list":
        return "LIST"
    if ri.verb == "watch":
        return "WATCH"
    return method.upper()


def scope_of(ri: RequestInfo) -> str:
    if ri.name:
        return "resource"
    return "namespace" if ri.namespace else "cluster"


def labels(ri: RequestInfo, method: str, dry_run: bool) -> dict[str, str]:
    return {
        "verb": clean_verb(ri, method) if ri.is_resource_request else method.upper(),
        "dry_run": "All" if dry_run else "",
        "group": ri.api_group,
        "version": ri.api_version,
        "resource": ri.resource,
        "subresource": ri.subresource,
        "scope": scope_of(ri) if ri.is_resource_request else "",
        "component": "apiserver",
    }


def exposition() -> bytes:
    return generate_latest(REGISTRY)
