"""Eviction (policy/v1): a request to evict a pod, honouring disruption budgets.

Mirrors k8s.io/api/policy/v1/types.go (Eviction). It is POSTed to the
pods/NAME/eviction subresource.
Omitted: PodDisruptionBudget.
"""

from __future__ import annotations

from miniapi.base import Struct, field
from miniapi.meta.v1 import DeleteOptions, ObjectMeta

__all__ = ["Eviction"]


class Eviction(Struct, frozen=True, kw_only=True):
    """Evict the pod named in metadata, with optional delete options."""

    api_version: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = field(default_factory=ObjectMeta)
    delete_options: DeleteOptions | None = None
