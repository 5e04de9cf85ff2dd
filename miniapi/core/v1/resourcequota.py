"""ResourceQuota: hard limits on what a namespace may consume, and what it uses.

Mirrors k8s.io/api/core/v1/types.go (ResourceQuota, ResourceQuotaSpec,
ResourceQuotaStatus, ScopeSelector, ScopedResourceSelectorRequirement,
ResourceQuotaList, the ResourceQuotaScope values). The API server's ResourceQuota
admission plugin charges new objects against status.used
(miniapiserver/admission/plugins/resource_quota.py).
"""

from __future__ import annotations

from miniapi.base import Struct, field
from miniapi.meta.v1 import ListMeta, ObjectMeta
from miniapi.resource import Quantity

__all__ = [
    "ResourceQuota",
    "ResourceQuotaList",
    "ResourceQuotaSpec",
    "ResourceQuotaStatus",
    "ScopeSelector",
    "ScopedResourceSelectorRequirement",
]


class ScopedResourceSelectorRequirement(Struct, frozen=True, kw_only=True):
    """scopeName, operator (In, NotIn, Exists, DoesNotExist) and values."""

    scope_name: str = ""
    operator: str = ""
    values: list[str] = []


class ScopeSelector(Struct, frozen=True, kw_only=True):
    """The scopes a quota tracks, as expressions."""

    match_expressions: list[ScopedResourceSelectorRequirement] = []


class ResourceQuotaSpec(Struct, frozen=True, kw_only=True):
    """The hard limits, and which objects they apply to."""

    hard: dict[str, Quantity] = {}
    scopes: list[str] = []
    scope_selector: ScopeSelector | None = None


class ResourceQuotaStatus(Struct, frozen=True, kw_only=True):
    """The enforced limits and the current usage."""

    hard: dict[str, Quantity] = {}
    used: dict[str, Quantity] = {}


class ResourceQuota(Struct, frozen=True, kw_only=True):
    """A namespace's quota."""

    api_version: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = field(default_factory=ObjectMeta)
    spec: ResourceQuotaSpec = field(default_factory=ResourceQuotaSpec)
    status: ResourceQuotaStatus = field(default_factory=ResourceQuotaStatus)


class ResourceQuotaList(Struct, frozen=True, kw_only=True, omit_defaults=False):
    """A list of resource quotas."""

    api_version: str | None = None
    kind: str | None = None
    metadata: ListMeta = field(default_factory=ListMeta)
    items: list[ResourceQuota] = []
