"""Binding: the scheduler's decision, POSTed to pods/NAME/binding.

Mirrors k8s.io/api/core/v1/types.go (Binding). The API server sets the pod's
spec.nodeName from target.name.
Omitted: nothing.
"""

from __future__ import annotations

from miniapi.base import Struct, field
from miniapi.core.v1.common import ObjectReference
from miniapi.meta.v1 import ObjectMeta

__all__ = ["Binding"]


class Binding(Struct, frozen=True, kw_only=True):
    """Ties the pod named in metadata to the node named in target."""

    api_version: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = field(default_factory=ObjectMeta)
    target: ObjectReference = field(default_factory=ObjectReference)
