"""CustomResourceDefinition (apiextensions.k8s.io/v1).

Mirrors k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1/types.go
(CustomResourceDefinition, Spec, Names, Version, Validation, Subresources,
ColumnDefinition, Conversion, WebhookConversion, WebhookClientConfig,
ServiceReference, Status, Condition). The OpenAPI v3 schema
(JSONSchemaProps, with `$ref` and `x-kubernetes-*` keys) stays an untyped
map, as the custom resources it describes are untyped.
Omitted: typed JSONSchemaProps, selectableFields.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from miniapi.base import Struct, field
from miniapi.meta.v1 import ListMeta, ObjectMeta

__all__ = [
    "CustomResourceColumnDefinition",
    "CustomResourceConversion",
    "CustomResourceDefinition",
    "CustomResourceDefinitionCondition",
    "CustomResourceDefinitionList",
    "CustomResourceDefinitionNames",
    "CustomResourceDefinitionSpec",
    "CustomResourceDefinitionStatus",
    "CustomResourceDefinitionVersion",
    "CustomResourceSubresourceScale",
    "CustomResourceSubresourceStatus",
    "CustomResourceSubresources",
    "CustomResourceValidation",
    "ServiceReference",
    "WebhookClientConfig",
    "WebhookConversion",
    "CLUSTER_SCOPED",
    "NAMESPACE_SCOPED",
    "ESTABLISHED",
    "NAMES_ACCEPTED",
    "NONE_CONVERTER",
    "WEBHOOK_CONVERTER",
]

CLUSTER_SCOPED = "Cluster"
NAMESPACE_SCOPED = "Namespaced"
ESTABLISHED = "Established"
NAMES_ACCEPTED = "NamesAccepted"
NONE_CONVERTER = "None"
WEBHOOK_CONVERTER = "Webhook"


class CustomResourceDefinitionNames(Struct, frozen=True, kw_only=True, omit_defaults=False):
    """plural, singular, kind, listKind, shortNames, categories.

    Written in full: plural and kind have no omitempty upstream (an empty
    status.acceptedNames is still {"plural": "", "kind": ""}) and clients
    require them.
    """

    plural: str = ""
    singular: str = ""
    short_names: list[str] = []
    kind: str = ""
    list_kind: str = ""
    categories: list[str] = []


class CustomResourceValidation(Struct, frozen=True, kw_only=True):
    """The structural schema of a version (kept as the JSON map)."""

    open_apiv3_schema: dict[str, Any] | None = field(default=None, name="openAPIV3Schema")


class CustomResourceSubresourceStatus(Struct, frozen=True, kw_only=True):
    """Enables the /status subresource (no fields)."""


class CustomResourceSubresourceScale(Struct, frozen=True, kw_only=True):
    """Enables /scale: JSON paths of the replica fields."""

    spec_replicas_path: str = ""
    status_replicas_path: str = ""
    label_selector_path: str | None = None


class CustomResourceSubresources(Struct, frozen=True, kw_only=True):
    """Which subresources are served."""

    status: CustomResourceSubresourceStatus | None = None
    scale: CustomResourceSubresourceScale | None = None


class CustomResourceColumnDefinition(Struct, frozen=True, kw_only=True):
    """An extra column for `kubectl get`."""

    name: str = ""
    type: str = ""
    format: str = ""
    description: str = ""
    priority: int = 0
    json_path: str = field(default="", name="jsonPath")


class CustomResourceDefinitionVersion(Struct, frozen=True, kw_only=True, omit_defaults=False):
    """One served version and its schema."""

    name: str = ""
    served: bool = False
    storage: bool = False
    deprecated: bool = False
    deprecation_warning: str | None = None
    schema: CustomResourceValidation | None = None
    subresources: CustomResourceSubresources | None = None
    additional_printer_columns: list[CustomResourceColumnDefinition] = []


class ServiceReference(Struct, frozen=True, kw_only=True):
    """An in-cluster service that hosts a webhook."""

    namespace: str = ""
    name: str = ""
    path: str | None = None
    port: int | None = None


class WebhookClientConfig(Struct, frozen=True, kw_only=True):
    """How to reach a webhook: a URL or a service, and the CA to trust."""

    url: str | None = None
    service: ServiceReference | None = None
    ca_bundle: bytes = b""


class WebhookConversion(Struct, frozen=True, kw_only=True):
    """A conversion webhook."""

    client_config: WebhookClientConfig | None = None
    conversion_review_versions: list[str] = []


class CustomResourceConversion(Struct, frozen=True, kw_only=True):
    """None (only apiVersion changes) or Webhook."""

    strategy: str = ""
    webhook: WebhookConversion | None = None


class CustomResourceDefinitionSpec(Struct, frozen=True, kw_only=True):
    """Group, names, scope and versions of the new resource."""

    group: str = ""
    names: CustomResourceDefinitionNames = field(default_factory=CustomResourceDefinitionNames)
    scope: str = ""
    versions: list[CustomResourceDefinitionVersion] = []
    conversion: CustomResourceConversion | None = None
    preserve_unknown_fields: bool = False


class CustomResourceDefinitionCondition(Struct, frozen=True, kw_only=True):
    """Established, NamesAccepted, Terminating..."""

    type: str = ""
    status: str = ""
    last_transition_time: datetime | None = None
    reason: str = ""
    message: str = ""


class CustomResourceDefinitionStatus(Struct, frozen=True, kw_only=True):
    """Conditions, the names actually accepted, versions ever stored."""

    conditions: list[CustomResourceDefinitionCondition] = []
    accepted_names: CustomResourceDefinitionNames = field(
        default_factory=CustomResourceDefinitionNames
    )
    stored_versions: list[str] = []


class CustomResourceDefinition(Struct, frozen=True, kw_only=True):
    """Defines a new resource served by the API server (cluster-scoped)."""

    api_version: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = field(default_factory=ObjectMeta)
    spec: CustomResourceDefinitionSpec = field(default_factory=CustomResourceDefinitionSpec)
    status: CustomResourceDefinitionStatus = field(default_factory=CustomResourceDefinitionStatus)


class CustomResourceDefinitionList(Struct, frozen=True, kw_only=True, omit_defaults=False):
    """A list of custom resource definitions."""

    api_version: str | None = None
    kind: str | None = None
    metadata: ListMeta = field(default_factory=ListMeta)
    items: list[CustomResourceDefinition] = []
