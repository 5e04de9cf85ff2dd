"""Object and list metadata, owner references, label selectors, conditions, options.

Mirrors k8s.io/apimachinery/pkg/apis/meta/v1/types.go (TypeMeta, ObjectMeta,
ListMeta, OwnerReference, LabelSelector, Condition, DeleteOptions,
Preconditions, ManagedFieldsEntry). Every struct is frozen; fields are
snake_case in Python and upstream's camelCase on the wire.
Omitted: ListOptions/GetOptions (query parameters, parsed by the API server),
the fieldsV1 trie (kept as an untyped map, as on the wire).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from miniapi.base import Struct, field

__all__ = [
    "DeleteOptions",
    "ListMeta",
    "ObjectMeta",
    "TypeMeta",
    "OwnerReference",
    "LabelSelector",
    "LabelSelectorRequirement",
    "Condition",
    "Preconditions",
    "ManagedFieldsEntry",
    "FINALIZER_ORPHAN_DEPENDENTS",
    "FINALIZER_DELETE_DEPENDENTS",
    "CONDITION_TRUE",
    "CONDITION_FALSE",
    "CONDITION_UNKNOWN",
    "DELETE_PROPAGATION_ORPHAN",
    "DELETE_PROPAGATION_BACKGROUND",
    "DELETE_PROPAGATION_FOREGROUND",
    "NAMESPACE_DEFAULT",
    "NAMESPACE_ALL",
    "NAMESPACE_SYSTEM",
    "NAMESPACE_PUBLIC",
    "LABEL_SELECTOR_OP_IN",
    "LABEL_SELECTOR_OP_NOT_IN",
    "LABEL_SELECTOR_OP_EXISTS",
    "LABEL_SELECTOR_OP_DOES_NOT_EXIST",
]

FINALIZER_ORPHAN_DEPENDENTS = "orphan"
FINALIZER_DELETE_DEPENDENTS = "foregroundDeletion"

CONDITION_TRUE = "True"
CONDITION_FALSE = "False"
CONDITION_UNKNOWN = "Unknown"

DELETE_PROPAGATION_ORPHAN = "Orphan"
DELETE_PROPAGATION_BACKGROUND = "Background"
DELETE_PROPAGATION_FOREGROUND = "Foreground"

NAMESPACE_DEFAULT = "default"
NAMESPACE_ALL = ""
NAMESPACE_SYSTEM = "kube-system"
NAMESPACE_PUBLIC = "kube-public"

LABEL_SELECTOR_OP_IN = "In"
LABEL_SELECTOR_OP_NOT_IN = "NotIn"
LABEL_SELECTOR_OP_EXISTS = "Exists"
LABEL_SELECTOR_OP_DOES_NOT_EXIST = "DoesNotExist"


class TypeMeta(Struct, frozen=True, kw_only=True):
    """apiVersion and kind: which schema the rest of the document follows."""

    api_version: str | None = None
    kind: str | None = None


class ListMeta(Struct, frozen=True, kw_only=True):
    """Metadata of a list: its resourceVersion and the continue token for paging."""

    self_link: str = ""
    resource_version: str = ""
    continue_: str = field(default="", name="continue")
    remaining_item_count: int | None = None


class OwnerReference(Struct, frozen=True, kw_only=True):
    """Points at the object that owns this one (garbage collection follows these)."""

    api_version: str = ""
    kind: str = ""
    name: str = ""
    uid: str = ""
    controller: bool | None = None
    block_owner_deletion: bool | None = None


class ManagedFieldsEntry(Struct, frozen=True, kw_only=True):
    """One manager's set of owned fields (server-side apply bookkeeping)."""

    manager: str = ""
    operation: str = ""
    api_version: str = ""
    time: datetime | None = None
    fields_type: str = ""
    fields_v1: dict[str, Any] | None = field(default=None, name="fieldsV1")
    subresource: str = ""


class ObjectMeta(Struct, frozen=True, kw_only=True):
    """Metadata every persisted object carries (name, namespace, uid, resourceVersion...)."""

    name: str = ""
    generate_name: str = ""
    namespace: str = ""
    self_link: str = ""
    uid: str = ""
    resource_version: str = ""
    generation: int | None = None
    creation_timestamp: datetime | None = None
    deletion_timestamp: datetime | None = None
    deletion_grace_period_seconds: int | None = None
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    owner_references: list[OwnerReference] = []
    finalizers: list[str] = []
    managed_fields: list[ManagedFieldsEntry] = []


class LabelSelectorRequirement(Struct, frozen=True, kw_only=True):
    """key, operator (In, NotIn, Exists, DoesNotExist) and values."""

    key: str = ""
    operator: str = ""
    values: list[str] = []


class LabelSelector(Struct, frozen=True, kw_only=True):
    """matchLabels and matchExpressions, ANDed; see miniapi.labels for matching."""

    match_labels: dict[str, str] = {}
    match_expressions: list[LabelSelectorRequirement] = []


class Condition(Struct, frozen=True, kw_only=True, omit_defaults=False):
    """The standard condition shape (type, status, reason, message, transition time)."""

    type: str = ""
    status: str = ""
    observed_generation: int | None = None
    last_transition_time: datetime | None = None
    reason: str = ""
    message: str = ""


class Preconditions(Struct, frozen=True, kw_only=True):
    """Must hold before a delete goes ahead."""

    uid: str | None = None
    resource_version: str | None = None


class DeleteOptions(Struct, frozen=True, kw_only=True):
    """The body of a DELETE request."""

    api_version: str | None = None
    kind: str | None = None
    grace_period_seconds: int | None = None
    preconditions: Preconditions | None = None
    orphan_dependents: bool | None = None
    propagation_policy: str | None = None
    dry_run: list[str] = []
