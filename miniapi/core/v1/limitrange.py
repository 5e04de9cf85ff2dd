"""LimitRange: per-namespace defaults and bounds for container resources.

Mirrors k8s.io/api/core/v1/types.go (LimitRange, LimitRangeSpec, LimitRangeItem,
LimitRangeList, the LimitType values). The API server's LimitRanger admission plugin
applies them to pods (miniapiserver/admission/plugins/limit_ranger.py).
"""

from __future__ import annotations

from miniapi.base import Struct, field
from miniapi.meta.v1 import ListMeta, ObjectMeta
from miniapi.resource import Quantity

__all__ = [
    "LIMIT_TYPE_CONTAINER",
    "LIMIT_TYPE_PERSISTENT_VOLUME_CLAIM",
    "LIMIT_TYPE_POD",
    "LimitRange",
    "LimitRangeItem",
    "LimitRangeList",
    "LimitRangeSpec",
]

LIMIT_TYPE_POD = "Pod"
LIMIT_TYPE_CONTAINER = "Container"
LIMIT_TYPE_PERSISTENT_VOLUME_CLAIM = "PersistentVolumeClaim"


class LimitRangeItem(Struct, frozen=True, kw_only=True):
    """Bounds and defaults for one kind of object (Pod, Container, PersistentVolumeClaim)."""

    type: str = ""
    max: dict[str, Quantity] = {}
    min: dict[str, Quantity] = {}
    default: dict[str, Quantity] = {}
    default_request: dict[str, Quantity] = {}
    max_limit_request_ratio: dict[str, Quantity] = {}


class LimitRangeSpec(Struct, frozen=True, kw_only=True):
    """The limits enforced in the namespace."""

    limits: list[LimitRangeItem] = []


class LimitRange(Struct, frozen=True, kw_only=True):
    """A namespace's resource limits."""

    api_version: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = field(default_factory=ObjectMeta)
    spec: LimitRangeSpec = field(default_factory=LimitRangeSpec)


class LimitRangeList(Struct, frozen=True, kw_only=True, omit_defaults=False):
    """A list of limit ranges."""

    api_version: str | None = None
    kind: str | None = None
    metadata: ListMeta = field(default_factory=ListMeta)
    items: list[LimitRange] = []
