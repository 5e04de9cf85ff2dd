"""References and resource requirements shared by many core/v1 kinds.

Mirrors k8s.io/api/core/v1/types.go (ObjectReference, LocalObjectReference,
TypedLocalObjectReference, ResourceRequirements, ResourceClaim) and the
well-known constants (protocols, resource names, condition statuses).
Omitted: nothing of these shapes.
"""

from __future__ import annotations

from miniapi.base import Struct
from miniapi.resource import Quantity

__all__ = [
    "LocalObjectReference",
    "ObjectReference",
    "ResourceClaim",
    "ResourceRequirements",
    "TypedLocalObjectReference",
    "PROTOCOL_TCP",
    "PROTOCOL_UDP",
    "PROTOCOL_SCTP",
    "RESOURCE_CPU",
    "RESOURCE_MEMORY",
    "RESOURCE_STORAGE",
    "RESOURCE_EPHEMERAL_STORAGE",
    "RESOURCE_PODS",
    "CONDITION_TRUE",
    "CONDITION_FALSE",
    "CONDITION_UNKNOWN",
]

PROTOCOL_TCP = "TCP"
PROTOCOL_UDP = "UDP"
PROTOCOL_SCTP = "SCTP"

RESOURCE_CPU = "cpu"
RESOURCE_MEMORY = "memory"
RESOURCE_STORAGE = "storage"
RESOURCE_EPHEMERAL_STORAGE = "ephemeral-storage"
RESOURCE_PODS = "pods"

CONDITION_TRUE = "True"
CONDITION_FALSE = "False"
CONDITION_UNKNOWN = "Unknown"


class ObjectReference(Struct, frozen=True, kw_only=True):
    """A reference to any object, possibly one field of it (events, bindings)."""

    kind: str = ""
    namespace: str = ""
    name: str = ""
    uid: str = ""
    api_version: str = ""
    resource_version: str = ""
    field_path: str = ""


class LocalObjectReference(Struct, frozen=True, kw_only=True):
    """A reference to an object in the same namespace, by name."""

    name: str = ""


class TypedLocalObjectReference(Struct, frozen=True, kw_only=True):
    """A same-namespace reference that also names the kind and group."""

    api_group: str | None = None
    kind: str = ""
    name: str = ""


class ResourceClaim(Struct, frozen=True, kw_only=True):
    """A named dynamic resource claim a container uses."""

    name: str = ""
    request: str = ""


class ResourceRequirements(Struct, frozen=True, kw_only=True):
    """Compute resources: limits cap use, requests are what the scheduler reserves."""

    limits: dict[str, Quantity] = {}
    requests: dict[str, Quantity] = {}
    claims: list[ResourceClaim] = []
