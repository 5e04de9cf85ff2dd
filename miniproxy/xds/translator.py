"""The pure translation: a PushContext in, Envoy v3 resources (real protos) out.

Mirrors istio pilot/pkg/networking/core/v1alpha3 (configgen: BuildClusters in cluster.go,
buildSidecarOutboundListeners in listener.go, BuildSidecarOutboundVirtualHosts in
httproute.go) and pilot/pkg/xds/eds.go for endpoints. Per service port it emits the CDS
cluster(s) and their ClusterLoadAssignments (cluster_builder.py); per port number one
RouteConfiguration named `<port>` holding a virtual host `<fqdn>:<port>` per service on that
port (routes from httproute.py), and one real listener per port, named `<address>_<port>` as
Istio's outbound listeners are (`0.0.0.0_9080` with the default address), whose connection
manager fetches that route config over ADS. The proxy binds these listeners itself: there
is no iptables capture and no virtual 15001 listener.
Short names: `<svc>.<ns>` and `<svc>.<ns>.svc` are domains for every service; the bare
`<svc>` only for services in `proxy_namespace`, as a sidecar resolves it in its own namespace.
Omitted: TCP (non-HTTP) ports, UDP/SCTP ports, inbound listeners, the PassthroughCluster and
allow_any virtual host, per-node (Sidecar-scoped) output, headless and ExternalName services.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from envoy.service.discovery.v3 import discovery_pb2
from google.protobuf import any_pb2

from miniapi.core.v1 import Service
from miniproxy.envoy.config import parse_dict
from miniproxy.xds.cluster_builder import build_service_clusters
from miniproxy.xds.httproute import FAULT_FILTER, build_http_routes
from miniproxy.xds.push_context import PushContext
from miniproxy.xds.snapshot import CLUSTER, ENDPOINT, LISTENER, ROUTE

HCM = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"


@dataclass(frozen=True)
class TranslateOptions:
    listener_address: str = "0.0.0.0"
    proxy_namespace: str = "default"


def served(svc: Service) -> bool:
    spec = svc.spec
    return spec.type != "ExternalName" and spec.cluster_ip not in ("None",)


def domains(push: PushContext, svc: Service, port: int, opts: TranslateOptions) -> list[str]:
    """generateVirtualHostDomains: the FQDN, its shorter forms and the cluster IP, ± `:port`."""
    name, ns = svc.metadata.name, svc.metadata.namespace
    names = [push.hostname(svc)]
    if ns == opts.proxy_namespace:
        names.append(name)
    names += [f"{name}.{ns}", f"{name}.{ns}.svc"]
    if svc.spec.cluster_ip:
        names.append(svc.spec.cluster_ip)
    return [d for n in names for d in (n, f"{n}:{port}")]


def http_listener(port: int, opts: TranslateOptions) -> dict[str, Any]:
    name = f"{opts.listener_address}_{port}"
    filters = [
        {"name": FAULT_FILTER, "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault"}},
        {"name": "envoy.filters.http.router", "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}},
    ]  # fmt: skip
    hcm = {"@type": HCM, "stat_prefix": f"outbound_{name}", "http_filters": filters,
           "rds": {"route_config_name": str(port), "config_source": {"ads": {}, "resource_api_version": "V3"}}}  # fmt: skip
    return {
        "@type": LISTENER,
        "name": name,
        "address": {"socket_address": {"address": opts.listener_address, "port_value": port}},
        "traffic_direction": "OUTBOUND",
        "filter_chains": [{"filters": [{"name": "envoy.filters.network.http_connection_manager", "typed_config": hcm}]}],
    }  # fmt: skip


def build_resources(
    push: PushContext, opts: TranslateOptions | None = None, errors: list[str] | None = None
) -> list[dict]:
    """Every resource as Envoy JSON: CDS, EDS, LDS, RDS; configs that fail go to `errors`."""
    opts = opts or TranslateOptions()
    clusters, endpoints, vhosts, found = [], [], {}, []
    for svc in push.services:
        if not served(svc):
            continue
        for port in svc.spec.ports:
            if (port.protocol or "TCP") != "TCP":
                continue
            for cluster, cla in build_service_clusters(push, svc, port, found):
                clusters.append({"@type": CLUSTER, **cluster})
                endpoints.append({"@type": ENDPOINT, **cla})
            vhosts.setdefault(port.port, []).append({
                "name": f"{push.hostname(svc)}:{port.port}",
                "domains": domains(push, svc, port.port, opts),
                "routes": build_http_routes(push, svc, port.port, found),
            })  # fmt: skip
    listeners = [http_listener(p, opts) for p in sorted(vhosts)]
    routes = [
        {"@type": ROUTE, "name": str(p), "virtual_hosts": vhosts[p], "validate_clusters": False}
        for p in sorted(vhosts)
    ]
    if errors is not None:
        errors.extend(dict.fromkeys(found))  # a config fails once per port it touches
    return clusters + endpoints + listeners + routes


def translate(
    push: PushContext, opts: TranslateOptions | None = None, errors: list[str] | None = None
) -> list[any_pb2.Any]:
    """build_resources parsed into the real protos (a bad field raises EnvoyException)."""
    items = json.loads(json.dumps(build_resources(push, opts, errors)))
    return list(parse_dict({"resources": items}, discovery_pb2.DiscoveryResponse).resources)
