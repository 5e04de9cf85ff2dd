"""ServiceAccount: an identity for processes that run in pods.

Mirrors k8s.io/api/core/v1/types.go (ServiceAccount, ServiceAccountList).
Omitted: the TokenRequest subresource types (authentication.k8s.io).
"""

from __future__ import annotations

from miniapi.base import Struct, field
from miniapi.core.v1.common import LocalObjectReference, ObjectReference
from miniapi.meta.v1 import ListMeta, ObjectMeta

__all__ = ["ServiceAccount", "ServiceAccountList"]


class ServiceAccount(Struct, frozen=True, kw_only=True):
    """A namespaced identity, with the secrets it may use."""

    api_version: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = field(default_factory=ObjectMeta)
    secrets: list[ObjectReference] = []
    image_pull_secrets: list[LocalObjectReference] = []
    automount_service_account_token: bool | None = None


class ServiceAccountList(Struct, frozen=True, kw_only=True, omit_defaults=False):
    """A list of service accounts."""

    api_version: str | None = None
    kind: str | None = None
    metadata: ListMeta = field(default_factory=ListMeta)
    items: list[ServiceAccount] = []
