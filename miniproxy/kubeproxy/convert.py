"""From API objects to the proxier's model: Services to ServicePortInfo, slices to endpoints.

Mirrors k8s.io/kubernetes pkg/proxy/serviceport.go (newBaseServiceInfo),
pkg/proxy/servicechangetracker.go (serviceToServiceMap), pkg/proxy/endpointslicecache.go
(addEndpoints, newBaseEndpointInfo) and pkg/apis/core/v1/helper (ShouldSkipService,
ExternallyAccessible, ExternalPolicyLocal). Also reads multi-document YAML manifests into
miniapi objects for the `render` and `trace` commands.
Omitted: IPv6 and dual-stack filtering (IPv4 only), FQDN slices, node hints.
"""

from __future__ import annotations

import ipaddress
import re
import sys

import msgspec
import yaml

from miniapi.core.v1 import Service
from miniapi.discovery.v1 import LABEL_SERVICE_NAME, EndpointSlice
from miniproxy.kubeproxy.types import (
    AFFINITY_CLIENT_IP,
    AFFINITY_NONE,
    DEFAULT_STICKY_MAX_AGE_SECONDS,
    EndpointInfo,
    NamespacedName,
    ServicePortInfo,
    ServicePortMap,
    ServicePortName,
)


def _port_name(namespace: str, name: str, port: str, protocol: str) -> ServicePortName:
    """A ServicePortName of interned strings. The service map and the endpoints map get
    equal keys built from different objects, and a sync looks one up in the other: with
    the same string objects inside, comparing two keys is four identity checks."""
    return ServicePortName(*map(sys.intern, (namespace, name, port, protocol)))


def should_skip_service(svc: Service) -> bool:
    """Headless ("None") and ExternalName services, and those without an IP, are not proxied."""
    ip = svc.spec.cluster_ip
    return ip in ("", "None") or svc.spec.type == "ExternalName"


def externally_accessible(svc: Service) -> bool:
    t = svc.spec.type
    return t in ("LoadBalancer", "NodePort") or (
        t in ("", "ClusterIP") and bool(svc.spec.external_ips)
    )


def _ipv4(values) -> tuple[str, ...]:
    out = []
    for v in values:
        try:
            if ipaddress.ip_address(v).version == 4:
                out.append(str(ipaddress.ip_address(v)))
        except ValueError:
            continue
    return tuple(out)


def _sticky_seconds(svc: Service) -> int:
    cfg = svc.spec.session_affinity_config
    if cfg and cfg.client_ip and cfg.client_ip.timeout_seconds:
        return cfg.client_ip.timeout_seconds
    return DEFAULT_STICKY_MAX_AGE_SECONDS


def service_to_service_map(svc: Service | None) -> ServicePortMap:
    """serviceToServiceMap: one ServicePortInfo per port of a proxiable Service."""
    if svc is None or should_skip_service(svc):
        return {}
    spec, meta = svc.spec, svc.metadata
    ext_local = externally_accessible(svc) and spec.external_traffic_policy == "Local"
    lb_vips = _ipv4(i.ip for i in svc.status.load_balancer.ingress if i.ip)
    affinity = AFFINITY_CLIENT_IP if spec.session_affinity == AFFINITY_CLIENT_IP else AFFINITY_NONE
    out: ServicePortMap = {}
    for port in spec.ports:
        protocol = port.protocol or "TCP"
        spn = _port_name(meta.namespace or "default", meta.name, port.name, protocol)
        out[spn] = ServicePortInfo(
            name=spn,
            cluster_ip=spec.cluster_ip,
            port=port.port,
            protocol=protocol,
            node_port=port.node_port,
            external_ips=_ipv4(spec.external_ips),
            load_balancer_vips=lb_vips if spec.type == "LoadBalancer" else (),
            load_balancer_source_ranges=tuple(r.strip() for r in spec.load_balancer_source_ranges),
            session_affinity_type=affinity,
            sticky_max_age_seconds=_sticky_seconds(svc),
            external_policy_local=ext_local,
            internal_policy_local=spec.internal_traffic_policy == "Local",
            health_check_node_port=spec.health_check_node_port if ext_local else 0,
        )
    return out


_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_CANONICAL_IPV4 = re.compile(rf"{_OCTET}(\.{_OCTET}){{3}}")


def _canonical_ip(address: str) -> str:
    """The address as Go's net.IP prints it; an already canonical dotted quad (a regex
    match, in C) skips the ipaddress parser, which is slow at 50k endpoints."""
    if _CANONICAL_IPV4.fullmatch(address):
        return address
    return str(ipaddress.ip_address(address))


def slice_service_name(eps: EndpointSlice) -> NamespacedName | None:
    """The Service a slice belongs to, from its kubernetes.io/service-name label."""
    name = eps.metadata.labels.get(LABEL_SERVICE_NAME)
    return NamespacedName(eps.metadata.namespace or "default", name) if name else None


def slice_endpoints(
    eps: EndpointSlice, node_name: str
) -> dict[ServicePortName, dict[str, EndpointInfo]]:
    """endpointSliceCache.addEndpoints: the slice's endpoints for each of its ports."""
    svc = slice_service_name(eps)
    out: dict[ServicePortName, dict[str, EndpointInfo]] = {}
    if svc is None or eps.address_type not in ("", "IPv4"):
        return out
    for port in eps.ports:
        if not port.port:
            continue
        spn = _port_name(svc.namespace, svc.name, port.name or "", port.protocol or "TCP")
        infos = out.setdefault(spn, {})
        for ep in eps.endpoints:
            if not ep.addresses:
                continue
            c = ep.conditions
            zones = frozenset(z.name for z in ep.hints.for_zones) if ep.hints else frozenset()
            info = EndpointInfo(
                ip=_canonical_ip(ep.addresses[0]),
                port=port.port,
                is_local=bool(ep.node_name) and ep.node_name == node_name,
                ready=c.ready is None or c.ready,
                serving=c.serving is None or c.serving,
                terminating=bool(c.terminating),
                zone_hints=zones,
                node_name=ep.node_name or "",
            )
            infos.setdefault(str(info), info)
    return out


def load_manifests(text: str) -> tuple[list[Service], list[EndpointSlice]]:
    """Services and EndpointSlices from multi-document YAML; other kinds are ignored."""
    services, slices = [], []
    for doc in yaml.safe_load_all(text):
        if not isinstance(doc, dict):
            continue
        if doc.get("kind") == "Service":
            services.append(msgspec.convert(doc, Service, strict=False))
        elif doc.get("kind") == "EndpointSlice":
            slices.append(msgspec.convert(doc, EndpointSlice, strict=False))
    return services, slices
