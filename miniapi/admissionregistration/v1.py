"""Dynamic admission configuration (admissionregistration.k8s.io/v1).

Mirrors k8s.io/api/admissionregistration/v1/types.go (MutatingWebhookConfiguration,
ValidatingWebhookConfiguration, MutatingWebhook, ValidatingWebhook,
RuleWithOperations, WebhookClientConfig, ServiceReference and the lists). The API
server's webhook admission plugins read these (miniapiserver/admission/webhook/).
Omitted: matchConditions (CEL), ValidatingAdmissionPolicy and its bindings; defaults
are applied where the webhooks are read, not stored.
"""

from __future__ import annotations

from miniapi.base import Struct, field
from miniapi.meta.v1 import LabelSelector, ListMeta, ObjectMeta

__all__ = [
    "MutatingWebhook",
    "MutatingWebhookConfiguration",
    "MutatingWebhookConfigurationList",
    "RuleWithOperations",
    "ServiceReference",
    "ValidatingWebhook",
    "ValidatingWebhookConfiguration",
    "ValidatingWebhookConfigurationList",
    "WebhookClientConfig",
]


class RuleWithOperations(Struct, frozen=True, kw_only=True):
    """Which operations on which group/version/resources a webhook is sent."""

    operations: list[str] = []
    api_groups: list[str] = []
    api_versions: list[str] = []
    resources: list[str] = []
    scope: str | None = None


class ServiceReference(Struct, frozen=True, kw_only=True):
    """A Service in the cluster that serves the webhook."""

    namespace: str = ""
    name: str = ""
    path: str | None = None
    port: int | None = None


class WebhookClientConfig(Struct, frozen=True, kw_only=True):
    """Where the webhook is (url or service) and the CA that signed its certificate."""

    url: str | None = None
    service: ServiceReference | None = None
    ca_bundle: str = ""


class MutatingWebhook(Struct, frozen=True, kw_only=True):
    """One mutating webhook: what it matches and how it is called."""

    name: str = ""
    client_config: WebhookClientConfig = field(default_factory=WebhookClientConfig)
    rules: list[RuleWithOperations] = []
    failure_policy: str | None = None
    match_policy: str | None = None
    namespace_selector: LabelSelector | None = None
    object_selector: LabelSelector | None = None
    side_effects: str | None = None
    timeout_seconds: int | None = None
    admission_review_versions: list[str] = []
    reinvocation_policy: str | None = None


class ValidatingWebhook(Struct, frozen=True, kw_only=True):
    """One validating webhook: what it matches and how it is called."""

    name: str = ""
    client_config: WebhookClientConfig = field(default_factory=WebhookClientConfig)
    rules: list[RuleWithOperations] = []
    failure_policy: str | None = None
    match_policy: str | None = None
    namespace_selector: LabelSelector | None = None
    object_selector: LabelSelector | None = None
    side_effects: str | None = None
    timeout_seconds: int | None = None
    admission_review_versions: list[str] = []


class MutatingWebhookConfiguration(Struct, frozen=True, kw_only=True):
    """A cluster-scoped set of mutating webhooks."""

    api_version: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = field(default_factory=ObjectMeta)
    webhooks: list[MutatingWebhook] = []


class MutatingWebhookConfigurationList(Struct, frozen=True, kw_only=True, omit_defaults=False):
    """A list of mutating webhook configurations."""

    api_version: str | None = None
    kind: str | None = None
    metadata: ListMeta = field(default_factory=ListMeta)
    items: list[MutatingWebhookConfiguration] = []


class ValidatingWebhookConfiguration(Struct, frozen=True, kw_only=True):
    """A cluster-scoped set of validating webhooks."""

    api_version: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = field(default_factory=ObjectMeta)
    webhooks: list[ValidatingWebhook] = []


class ValidatingWebhookConfigurationList(Struct, frozen=True, kw_only=True, omit_defaults=False):
    """A list of validating webhook configurations."""

    api_version: str | None = None
    kind: str | None = None
    metadata: ListMeta = field(default_factory=ListMeta)
    items: list[ValidatingWebhookConfiguration] = []
