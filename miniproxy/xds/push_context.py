"""PushContext: every object the translator reads, frozen at one instant.

Mirrors istio pilot/pkg/model/push_context.go (the immutable view one push is computed from:
services, their endpoints, VirtualServices and DestinationRules indexed by host) and the
name rules of pilot/pkg/model/service.go and pilot/pkg/config/kube (a Kubernetes Service is
the host `<svc>.<ns>.svc.<domain>`; a short name in a VirtualService or DestinationRule is
resolved against the object's own namespace). Services, EndpointSlices and Pods are typed
miniapi objects; VirtualService and DestinationRule are unstructured dicts, as custom
resources are. Omitted: ServiceEntry, Sidecar scoping, exportTo visibility, gateways.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from miniapi.core.v1 import Pod, Service, ServicePort
from miniapi.discovery.v1 import LABEL_SERVICE_NAME, EndpointSlice

DOMAIN_SUFFIX = "cluster.local"


def service_fqdn(name: str, namespace: str, domain: str = DOMAIN_SUFFIX) -> str:
    return f"{name}.{namespace}.svc.{domain}"


def resolve_short_name(host: str, namespace: str, domain: str = DOMAIN_SUFFIX) -> str:
    """ResolveShortnameToFQDN: a name without dots is a Service in the config's namespace."""
    if "*" in host or "." in host:
        return host
    return service_fqdn(host, namespace, domain)


def outbound_cluster_name(port: int, subset: str, host: str) -> str:
    """BuildSubsetKey: Istio's `outbound|<port>|<subset>|<host>`."""
    return f"outbound|{port}|{subset}|{host}"


@dataclass(frozen=True)
class LbEndpoint:
    """One ready backend of one service port (IstioEndpoint's fields we use)."""

    address: str
    port: int
    labels: tuple[tuple[str, str], ...]
    zone: str = ""

    def matches(self, selector: dict[str, str]) -> bool:
        own = dict(self.labels)
        return all(own.get(k) == v for k, v in selector.items())


@dataclass(frozen=True)
class PushContext:
    """The inputs of one push; build with `PushContext.of(...)`."""

    services: tuple[Service, ...] = ()
    endpoint_slices: tuple[EndpointSlice, ...] = ()
    pods: tuple[Pod, ...] = ()
    virtual_services: tuple[dict[str, Any], ...] = ()
    destination_rules: tuple[dict[str, Any], ...] = ()
    domain: str = DOMAIN_SUFFIX
    _pod_labels: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, services=(), endpoint_slices=(), pods=(), virtual_services=(),
           destination_rules=(), domain: str = DOMAIN_SUFFIX) -> PushContext:  # fmt: skip
        """Sort everything by namespace/name so the output does not depend on cache order."""

        def key(o: Any) -> tuple[str, str]:
            m = o.get("metadata", {}) if isinstance(o, dict) else o.metadata
            if isinstance(m, dict):
                return m.get("namespace") or "", m.get("name") or ""
            return m.namespace or "", m.name or ""

        pod_labels = {key(p): dict(p.metadata.labels or {}) for p in pods}
        return cls(
            tuple(sorted(services, key=key)),
            tuple(sorted(endpoint_slices, key=key)),
            tuple(sorted(pods, key=key)),
            tuple(sorted(virtual_services, key=key)),
            tuple(sorted(destination_rules, key=key)),
            domain,
            pod_labels,
        )

    def hostname(self, svc: Service) -> str:
        return service_fqdn(svc.metadata.name, svc.metadata.namespace, self.domain)

    def service_by_host(self, host: str) -> Service | None:
        for svc in self.services:
            if self.hostname(svc) == host:
                return svc
        return None

    def endpoints(self, svc: Service, port: ServicePort) -> list[LbEndpoint]:
        """Ready endpoints of one service port, from every slice labelled with the service."""
        out = []
        ns, name = svc.metadata.namespace, svc.metadata.name
        for es in self.endpoint_slices:
            labels = es.metadata.labels or {}
            if es.metadata.namespace != ns or labels.get(LABEL_SERVICE_NAME) != name:
                continue
            target = next((p.port for p in es.ports if (p.name or "") == port.name), None)
            if target is None:
                continue
            for ep in es.endpoints:
                # A nil ready condition means unknown, which consumers treat as ready.
                if ep.conditions.ready is False:
                    continue
                ref = ep.target_ref
                pod = (ref.namespace or ns, ref.name) if ref and ref.kind == "Pod" else None
                pl = tuple(sorted(self._pod_labels.get(pod, {}).items())) if pod else ()
                out.extend(LbEndpoint(a, target, pl, ep.zone or "") for a in ep.addresses[:1])
        return sorted(set(out), key=lambda e: (e.zone, e.address, e.port))

    def destination_rule(self, host: str) -> dict[str, Any] | None:
        """The DestinationRule for a host: the first by namespace/name (Istio: the oldest)."""
        for dr in self.destination_rules:
            ns = dr.get("metadata", {}).get("namespace") or ""
            if resolve_short_name(dr.get("spec", {}).get("host", ""), ns, self.domain) == host:
                return dr
        return None

    def virtual_services_for(self, host: str) -> list[dict[str, Any]]:
        out = []
        for vs in self.virtual_services:
            ns = vs.get("metadata", {}).get("namespace") or ""
            hosts = vs.get("spec", {}).get("hosts") or []
            if any(resolve_short_name(h, ns, self.domain) == host for h in hosts):
                out.append(vs)
        return out
