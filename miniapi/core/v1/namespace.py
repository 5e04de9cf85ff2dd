"""Namespace: a scope for names, with the finalizers that gate its deletion.

Mirrors k8s.io/api/core/v1/types.go (Namespace, NamespaceSpec,
NamespaceStatus, NamespaceCondition, NamespaceList).
Omitted: nothing of these shapes.
"""

from __future__ import annotations

from datetime import datetime

from miniapi.base import Struct, field
from miniapi.meta.v1 import ListMeta, ObjectMeta

__all__ = [
    "Namespace",
    "NamespaceCondition",
    "NamespaceList",
    "NamespaceSpec",
    "NamespaceStatus",
    "NAMESPACE_ACTIVE",
    "NAMESPACE_TERMINATING",
    "FINALIZER_KUBERNETES",
    "NAMESPACE_TERMINATING_CAUSE",
]

NAMESPACE_ACTIVE = "Active"
NAMESPACE_TERMINATING = "Terminating"
FINALIZER_KUBERNETES = "kubernetes"
# The StatusCause type of a create refused because its namespace is terminating.
NAMESPACE_TERMINATING_CAUSE = "NamespaceTerminating"


class NamespaceSpec(Struct, frozen=True, kw_only=True):
    """Finalizers that must be cleared before the namespace is removed."""

    finalizers: list[str] = []


class NamespaceCondition(Struct, frozen=True, kw_only=True):
    """A condition of a namespace being deleted."""

    type: str = ""
    status: str = ""
    last_transition_time: datetime | None = None
    reason: str = ""
    message: str = ""


class NamespaceStatus(Struct, frozen=True, kw_only=True):
    """Active or Terminating."""

    phase: str = ""
    conditions: list[NamespaceCondition] = []


class Namespace(Struct, frozen=True, kw_only=True):
    """A namespace (cluster-scoped)."""

    api_version: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = field(default_factory=ObjectMeta)
    spec: NamespaceSpec = field(default_factory=NamespaceSpec)
    status: NamespaceStatus = field(default_factory=NamespaceStatus)


class NamespaceList(Struct, frozen=True, kw_only=True, omit_defaults=False):
    """A list of namespaces."""

    api_version: str | None = None
    kind: str | None = None
    metadata: ListMeta = field(default_factory=ListMeta)
    items: list[Namespace] = []
