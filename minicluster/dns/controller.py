"""The DNS view of the cluster: indexed caches of Services, EndpointSlices and Namespaces.

Mirrors coredns/coredns plugin/kubernetes/controller.go (dnsControl: the index
functions svcNameNamespaceIndex, svcIPIndex, epNameNamespaceIndex, epIPIndex and
the lookups SvcIndex, SvcIndexReverse, EpIndex, EpIndexReverse,
GetNamespaceByName, Modified) and plugin/kubernetes/object/ (service.go,
endpoint.go: the stripped-down Service and Endpoints the plugin answers from,
EndpointSliceToEndpoints). It reads miniclient Stores only, so it is pure: the
informers that fill the Stores live in server.py, and tests fill Stores by hand.
Contract: only ready endpoints (conditions.ready true or unset) are visible.
Omitted: the Pod index (pods run in "insecure" mode, see kubernetes.py), the
Endpoints (core/v1) fallback for clusters without EndpointSlices, label selectors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from miniapi.core.v1 import CLUSTER_IP_NONE, SERVICE_TYPE_EXTERNAL_NAME
from miniapi.discovery.v1 import ADDRESS_TYPE_FQDN, LABEL_SERVICE_NAME
from miniclient.cache.store import Store

__all__ = [
    "EP_IP_INDEX",
    "EP_NAME_NAMESPACE_INDEX",
    "SVC_IP_INDEX",
    "SVC_NAME_NAMESPACE_INDEX",
    "DNSControl",
    "EndpointAddress",
    "EndpointPort",
    "Endpoints",
    "ServiceView",
    "endpoint_slice_to_endpoints",
    "endpoints_key",
    "service_key",
    "to_service",
]

SVC_NAME_NAMESPACE_INDEX = "NameNamespace"
SVC_IP_INDEX = "ServiceIP"
EP_NAME_NAMESPACE_INDEX = "EndpointNameNamespace"
EP_IP_INDEX = "EndpointsIP"


def service_key(name: str, namespace: str) -> str:
    """object.ServiceKey: the index value of a service."""
    return f"{name}.{namespace}"


endpoints_key = service_key  # object.EndpointsKey: the same shape, keyed by the service


@dataclass(frozen=True)
class ServiceView:
    """object.Service: what DNS needs of a Service."""

    name: str
    namespace: str
    type: str
    cluster_ips: tuple[str, ...]
    external_name: str
    ports: tuple[tuple[str, str, int], ...]  # (name, protocol, port)

    def headless(self) -> bool:
        return self.cluster_ips == (CLUSTER_IP_NONE,)

    @property
    def external(self) -> bool:
        return self.type == SERVICE_TYPE_EXTERNAL_NAME


@dataclass(frozen=True)
class EndpointAddress:
    """object.EndpointAddress: one ready address and its optional hostname."""

    ip: str
    hostname: str = ""
    target_ref_name: str = ""


@dataclass(frozen=True)
class EndpointPort:
    """object.EndpointPort; port -1 stands for "no ports declared" (SRV skips it)."""

    port: int
    name: str = ""
    protocol: str = ""


@dataclass(frozen=True)
class Endpoints:
    """object.Endpoints: one slice's ready addresses and ports, indexed by its service."""

    name: str
    namespace: str
    index: str
    addresses: tuple[EndpointAddress, ...]
    ports: tuple[EndpointPort, ...]


def to_service(svc: Any) -> ServiceView:
    """object.ToService: clusterIPs (or the single clusterIP) and the ports."""
    spec = svc.spec
    ips = tuple(spec.cluster_ips) or ((spec.cluster_ip,) if spec.cluster_ip else ())
    ports = tuple((p.name, p.protocol or "TCP", p.port) for p in spec.ports)
    return ServiceView(
        svc.metadata.name, svc.metadata.namespace, spec.type, ips, spec.external_name, ports
    )


def _ready(ready: bool | None) -> bool:
    # Unset means unknown, which EndpointSlice consumers must treat as ready.
    return ready is None or ready


def endpoint_slice_to_endpoints(slice_: Any) -> Endpoints:
    """EndpointSliceToEndpoints: keep ready endpoints; a slice without ports gets port -1."""
    meta = slice_.metadata
    addresses = []
    for end in slice_.endpoints:
        if not _ready(end.conditions.ready):
            continue
        ref = end.target_ref.name if end.target_ref and len(end.target_ref.name) < 64 else ""
        addresses.extend(EndpointAddress(a, end.hostname or "", ref) for a in end.addresses)
    ports = tuple(
        EndpointPort(p.port if p.port is not None else -1, p.name or "", p.protocol or "TCP")
        for p in slice_.ports
    ) or (EndpointPort(-1),)
    service = meta.labels.get(LABEL_SERVICE_NAME, "")
    return Endpoints(
        meta.name, meta.namespace, endpoints_key(service, meta.namespace), tuple(addresses), ports
    )


def _svc_name_namespace(obj: Any) -> list[str]:
    return [service_key(obj.metadata.name, obj.metadata.namespace)]


def _svc_ips(obj: Any) -> list[str]:
    view = to_service(obj)
    if view.external or view.headless():
        return []
    return list(view.cluster_ips)


def _ep_name_namespace(obj: Any) -> list[str]:
    return [endpoint_slice_to_endpoints(obj).index]


def _ep_ips(obj: Any) -> list[str]:
    return [a.ip for a in endpoint_slice_to_endpoints(obj).addresses]


class DNSControl:
    """Lookups over the three caches, by the indexes the kubernetes plugin uses."""

    def __init__(self, services: Store, endpoint_slices: Store, namespaces: Store) -> None:
        self.services = services
        self.endpoint_slices = endpoint_slices
        self.namespaces = namespaces
        # Unix time of the last change seen; the SOA serial (set by the adapter).
        self.modified = 0
        services.add_indexers(
            {SVC_NAME_NAMESPACE_INDEX: _svc_name_namespace, SVC_IP_INDEX: _svc_ips}
        )
        endpoint_slices.add_indexers(
            {EP_NAME_NAMESPACE_INDEX: _ep_name_namespace, EP_IP_INDEX: _ep_ips}
        )

    def svc_index(self, key: str) -> list[ServiceView]:
        return [to_service(s) for s in self.services.by_index(SVC_NAME_NAMESPACE_INDEX, key)]

    def svc_index_reverse(self, ip: str) -> list[ServiceView]:
        return [to_service(s) for s in self.services.by_index(SVC_IP_INDEX, ip)]

    def ep_index(self, key: str) -> list[Endpoints]:
        slices = self.endpoint_slices.by_index(EP_NAME_NAMESPACE_INDEX, key)
        return [endpoint_slice_to_endpoints(s) for s in slices if _ip_slice(s)]

    def ep_index_reverse(self, ip: str) -> list[Endpoints]:
        slices = self.endpoint_slices.by_index(EP_IP_INDEX, ip)
        return [endpoint_slice_to_endpoints(s) for s in slices if _ip_slice(s)]

    def get_namespace_by_name(self, name: str) -> bool:
        """Whether the namespace exists (upstream returns it, or a NotFound error)."""
        return self.namespaces.get_by_key(name) is not None


def _ip_slice(slice_: Any) -> bool:
    # FQDN slices hold names, not addresses: nothing DNS can put in an A record.
    return slice_.address_type != ADDRESS_TYPE_FQDN
