"""Endpoints (core/v1): the legacy per-service list of ready and not-ready addresses.

Mirrors k8s.io/api/core/v1/types.go (Endpoints, EndpointSubset,
EndpointAddress, EndpointPort, EndpointsList). Superseded by
discovery.k8s.io/v1 EndpointSlice, still read by older clients.
Omitted: nothing of these shapes.
"""

from __future__ import annotations

from miniapi.base import Struct, field
from miniapi.core.v1.common import ObjectReference
from miniapi.meta.v1 import ListMeta, ObjectMeta

__all__ = ["EndpointAddress", "EndpointPort", "EndpointSubset", "Endpoints", "EndpointsList"]


class EndpointAddress(Struct, frozen=True, kw_only=True):
    """One backend address and the pod behind it."""

    ip: str = ""
    hostname: str = ""
    node_name: str | None = None
    target_ref: ObjectReference | None = None


class EndpointPort(Struct, frozen=True, kw_only=True):
    """A port of the backends."""

    name: str = ""
    port: int = 0
    protocol: str = ""
    app_protocol: str | None = None


class EndpointSubset(Struct, frozen=True, kw_only=True):
    """Addresses that share the same ports."""

    addresses: list[EndpointAddress] = []
    not_ready_addresses: list[EndpointAddress] = []
    ports: list[EndpointPort] = []


class Endpoints(Struct, frozen=True, kw_only=True):
    """The backends of the service with the same name."""

    api_version: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = field(default_factory=ObjectMeta)
    subsets: list[EndpointSubset] = []


class EndpointsList(Struct, frozen=True, kw_only=True, omit_defaults=False):
    """A list of endpoints."""

    api_version: str | None = None
    kind: str | None = None
    metadata: ListMeta = field(default_factory=ListMeta)
    items: list[Endpoints] = []
