"""EndpointSlice (discovery.k8s.io/v1): the backends of a service, in slices.

Mirrors k8s.io/api/discovery/v1/types.go (EndpointSlice, Endpoint,
EndpointConditions, EndpointHints, ForZone, ForNode, EndpointPort,
EndpointSliceList). kube-proxy renders its rules from these.
Omitted: nothing of these shapes.
"""

from __future__ import annotations

from miniapi.base import Struct, field
from miniapi.core.v1 import ObjectReference
from miniapi.meta.v1 import ListMeta, ObjectMeta

__all__ = [
    "Endpoint",
    "EndpointConditions",
    "EndpointHints",
    "EndpointPort",
    "EndpointSlice",
    "EndpointSliceList",
    "ForNode",
    "ForZone",
    "ADDRESS_TYPE_IPV4",
    "ADDRESS_TYPE_IPV6",
    "ADDRESS_TYPE_FQDN",
    "LABEL_SERVICE_NAME",
    "LABEL_MANAGED_BY",
]

ADDRESS_TYPE_IPV4 = "IPv4"
ADDRESS_TYPE_IPV6 = "IPv6"
ADDRESS_TYPE_FQDN = "FQDN"
LABEL_SERVICE_NAME = "kubernetes.io/service-name"
LABEL_MANAGED_BY = "endpointslice.kubernetes.io/managed-by"


class EndpointConditions(Struct, frozen=True, kw_only=True):
    """ready, serving, terminating; nil means unknown (treat ready as true)."""

    ready: bool | None = None
    serving: bool | None = None
    terminating: bool | None = None


class ForZone(Struct, frozen=True, kw_only=True):
    """A zone this endpoint should serve."""

    name: str = ""


class ForNode(Struct, frozen=True, kw_only=True):
    """A node this endpoint should serve."""

    name: str = ""


class EndpointHints(Struct, frozen=True, kw_only=True):
    """Topology-aware routing hints."""

    for_zones: list[ForZone] = []
    for_nodes: list[ForNode] = []


class Endpoint(Struct, frozen=True, kw_only=True):
    """One backend: its addresses (exactly one, in practice), conditions and locality."""

    addresses: list[str] = []
    conditions: EndpointConditions = field(default_factory=EndpointConditions)
    hostname: str | None = None
    target_ref: ObjectReference | None = None
    deprecated_topology: dict[str, str] = {}
    node_name: str | None = None
    zone: str | None = None
    hints: EndpointHints | None = None


class EndpointPort(Struct, frozen=True, kw_only=True):
    """A port every endpoint of the slice serves; name matches the ServicePort's."""

    name: str | None = None
    protocol: str | None = None
    port: int | None = None
    app_protocol: str | None = None


class EndpointSlice(Struct, frozen=True, kw_only=True, omit_defaults=False):
    """A subset of a service's endpoints, all of one address type.

    Every field is written even when empty: upstream's addressType, endpoints
    and ports have no omitempty, and clients require endpoints.
    """

    api_version: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = field(default_factory=ObjectMeta)
    address_type: str = ""
    endpoints: list[Endpoint] = []
    ports: list[EndpointPort] = []


class EndpointSliceList(Struct, frozen=True, kw_only=True, omit_defaults=False):
    """A list of endpoint slices."""

    api_version: str | None = None
    kind: str | None = None
    metadata: ListMeta = field(default_factory=ListMeta)
    items: list[EndpointSlice] = []
