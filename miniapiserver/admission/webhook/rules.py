"""Which webhooks a request is sent to: rules, namespaceSelector, objectSelector.

Mirrors k8s.io/apiserver/pkg/admission/plugin/webhook/predicates/rules/rules.go
(Matcher: scope, operations, apiGroups, apiVersions, resources with "res/sub" and
"*" forms; IsExemptAdmissionConfigurationResource), predicates/namespace/matcher.go
(MatchNamespaceSelector: cluster-scoped objects always match, a Namespace is judged by
its own labels on create/update) and predicates/object/matcher.go (the object's or the
old object's labels). Pure: the namespace's labels are passed in.
Omitted: matchPolicy Equivalent (only one version of each resource is served here).
"""

from __future__ import annotations

from typing import Any

from miniapi import labels
from miniapi.admissionregistration.v1 import RuleWithOperations
from miniapi.meta.v1 import LabelSelector
from miniapiserver.admission.attributes import CREATE, UPDATE, Attributes

ALL = "*"
NAMESPACED_SCOPE = "Namespaced"
CLUSTER_SCOPE = "Cluster"
ADMISSION_REGISTRATION_GROUP = "admissionregistration.k8s.io"
EXEMPT_RESOURCES = (
    "mutatingwebhookconfigurations",
    "validatingwebhookconfigurations",
    "validatingadmissionpolicies",
    "validatingadmissionpolicybindings",
)


def _exact_or_wildcard(items: list[str], requested: str) -> bool:
    return any(item in (ALL, requested) for item in items)


def _is_namespace(a: Attributes) -> bool:
    return a.group == "" and a.resource == "namespaces"


def _scope(rule: RuleWithOperations, a: Attributes) -> bool:
    if rule.scope in (None, ALL):
        return True
    if rule.scope == NAMESPACED_SCOPE:
        return not _is_namespace(a) and bool(a.namespace)
    if rule.scope == CLUSTER_SCOPE:
        return _is_namespace(a) or not a.namespace
    return False


def _resource(rule: RuleWithOperations, a: Attributes) -> bool:
    for item in rule.resources:
        res, _, sub = item.partition("/")
        if res in (ALL, a.resource) and sub in (ALL, a.subresource):
            return True
    return False


def rule_matches(rule: RuleWithOperations, a: Attributes) -> bool:
    """rules.Matcher.Matches."""
    return (
        _scope(rule, a)
        and _exact_or_wildcard(rule.operations, a.operation)
        and _exact_or_wildcard(rule.api_groups, a.group)
        and _exact_or_wildcard(rule.api_versions, a.version)
        and _resource(rule, a)
    )


def is_exempt(a: Attributes) -> bool:
    """Webhooks never see writes of their own configurations (no lock-out)."""
    return a.group == ADMISSION_REGISTRATION_GROUP and a.resource in EXEMPT_RESOURCES


def _selector(ps: LabelSelector | None) -> labels.Selector:
    return labels.everything() if ps is None else labels.label_selector_as_selector(ps)


def _labels_of(obj: dict[str, Any] | None) -> dict[str, str]:
    return ((obj or {}).get("metadata") or {}).get("labels") or {}


def namespace_name(a: Attributes) -> str:
    """The namespace whose labels the namespaceSelector reads ("" for cluster scope)."""
    if _is_namespace(a):
        return a.name
    return a.namespace


def needs_namespace_labels(ps: LabelSelector | None, a: Attributes) -> bool:
    """Whether matching must look the namespace up (not cluster-scoped, not own labels)."""
    if not namespace_name(a) or _selector(ps).empty():
        return False
    own = _is_namespace(a) and not a.subresource and a.operation in (CREATE, UPDATE)
    return not own


def namespace_matches(
    ps: LabelSelector | None, a: Attributes, ns_labels: dict[str, str] | None
) -> bool:
    """MatchNamespaceSelector, given the namespace's labels when they were needed."""
    if not namespace_name(a) and not _is_namespace(a):
        return True  # cluster-scoped objects are never exempted
    selector = _selector(ps)
    if selector.empty():
        return True
    if _is_namespace(a) and not a.subresource and a.operation in (CREATE, UPDATE):
        return selector.matches(_labels_of(a.object))
    return selector.matches(ns_labels or {})


def object_matches(ps: LabelSelector | None, a: Attributes) -> bool:
    """MatchObjectSelector: the new object's labels or the old object's."""
    selector = _selector(ps)
    if selector.empty():
        return True
    return any(
        obj is not None and selector.matches(_labels_of(obj)) for obj in (a.object, a.old_object)
    )
