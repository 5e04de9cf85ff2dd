"""The audit Policy: which requests are recorded, and how much of them.

Mirrors k8s.io/apiserver/pkg/audit/policy/reader.go (LoadPolicyFromFile: an
audit.k8s.io/v1 Policy, refused when it has no rules), checker.go (the first rule
that matches decides the level; users, userGroups, verbs, then resources with
group / resources / resourceNames and namespaces, or nonResourceURLs; `*`,
`*/sub`, `res/*` and trailing-`*` path wildcards; omitStages are the policy's plus
the rule's) and apis/audit/validation (levels, stages, and no rule on both
resources and non-resource URLs). No rule matching means level None.
Omitted: the v1alpha1/v1beta1 policy versions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from miniapiserver.auth.authorizer import Attributes

API_VERSION = "audit.k8s.io/v1"
LEVELS = ("None", "Metadata", "Request", "RequestResponse")
STAGES = ("RequestReceived", "ResponseStarted", "ResponseComplete", "Panic")


def level_less(a: str, b: str) -> bool:
    """Level.Less: the ordering None < Metadata < Request < RequestResponse."""
    return LEVELS.index(a) < LEVELS.index(b)


@dataclass(frozen=True)
class GroupResources:
    group: str = ""
    resources: tuple[str, ...] = ()
    resource_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class PolicyRule:
    level: str
    users: tuple[str, ...] = ()
    user_groups: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ()
    resources: tuple[GroupResources, ...] = ()
    namespaces: tuple[str, ...] = ()
    non_resource_urls: tuple[str, ...] = ()
    omit_stages: tuple[str, ...] = ()
    omit_managed_fields: bool | None = None


@dataclass(frozen=True)
class Policy:
    rules: tuple[PolicyRule, ...]
    omit_stages: tuple[str, ...] = ()
    omit_managed_fields: bool = False


@dataclass(frozen=True)
class RequestAuditConfig:
    """What the policy decided for one request."""

    level: str = "None"
    omit_stages: frozenset[str] = field(default_factory=frozenset)
    omit_managed_fields: bool = False


def _strs(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value or ())


def _rule(doc: dict[str, Any], path: str) -> PolicyRule:
    level = doc.get("level", "")
    if level not in LEVELS:
        raise ValueError(f'{path}.level: Unsupported value: "{level}": supported values: '
                         '"None", "Metadata", "Request", "RequestResponse"')  # fmt: skip
    stages = _strs(doc.get("omitStages"))
    for s in stages:
        if s not in STAGES:
            raise ValueError(f'{path}.omitStages: Unsupported value: "{s}"')
    resources = tuple(
        GroupResources(r.get("group", ""), _strs(r.get("resources")), _strs(r.get("resourceNames")))
        for r in doc.get("resources") or ()
    )
    urls = _strs(doc.get("nonResourceURLs"))
    if urls and (resources or doc.get("namespaces")):
        raise ValueError(
            f"{path}.nonResourceURLs: Invalid value: {list(urls)}: "
            "rules cannot apply to both regular resources and non-resource URLs"
        )
    return PolicyRule(
        level, _strs(doc.get("users")), _strs(doc.get("userGroups")), _strs(doc.get("verbs")),
        resources, _strs(doc.get("namespaces")), urls, stages, doc.get("omitManagedFields"),
    )  # fmt: skip


def parse(text: str, source: str = "policy") -> Policy:
    doc = yaml.safe_load(text) or {}
    if not isinstance(doc, dict) or doc.get("kind") != "Policy":
        raise ValueError(f"failed decoding file {source!r}: not an audit.k8s.io Policy")
    if doc.get("apiVersion") != API_VERSION:
        raise ValueError(
            f"failed decoding: unknown apiVersion {doc.get('apiVersion')!r} (want {API_VERSION})"
        )
    rules = tuple(_rule(r, f"rules[{i}]") for i, r in enumerate(doc.get("rules") or ()))
    if not rules:
        raise ValueError(f"loaded illegal policy with 0 rules from file {source}")
    for s in _strs(doc.get("omitStages")):
        if s not in STAGES:
            raise ValueError(f'omitStages: Unsupported value: "{s}"')
    return Policy(rules, _strs(doc.get("omitStages")), bool(doc.get("omitManagedFields")))


def load(path: str | Path) -> Policy:
    return parse(Path(path).read_text(), str(path))


def evaluate(policy: Policy, attrs: Attributes) -> RequestAuditConfig:
    """EvaluatePolicyRule: the first matching rule's level; none matching is level None."""
    for rule in policy.rules:
        if rule_matches(rule, attrs):
            managed = rule.omit_managed_fields
            return RequestAuditConfig(
                rule.level,
                frozenset(policy.omit_stages) | frozenset(rule.omit_stages),
                policy.omit_managed_fields if managed is None else managed,
            )
    return RequestAuditConfig("None", frozenset(policy.omit_stages), policy.omit_managed_fields)


def rule_matches(rule: PolicyRule, attrs: Attributes) -> bool:
    if rule.users and attrs.user.name not in rule.users:
        return False
    if rule.user_groups and not set(rule.user_groups) & set(attrs.user.groups):
        return False
    if rule.verbs and attrs.verb not in rule.verbs:
        return False
    if rule.namespaces or rule.resources:
        return _matches_resource(rule, attrs)
    if rule.non_resource_urls:
        return not attrs.resource_request and any(
            path_matches(attrs.path, spec) for spec in rule.non_resource_urls
        )
    return True


def path_matches(path: str, spec: str) -> bool:
    """`*`, an exact path, or a prefix ending in `*`."""
    return spec in ("*", path) or (spec.endswith("*") and path.startswith(spec.rstrip("*")))


def _matches_resource(rule: PolicyRule, attrs: Attributes) -> bool:
    if not attrs.resource_request:
        return False
    # Cluster-scoped resources have the empty namespace, which a rule may list.
    if rule.namespaces and attrs.namespace not in rule.namespaces:
        return False
    if not rule.resources:
        return True
    combined = attrs.resource + (f"/{attrs.subresource}" if attrs.subresource else "")
    for gr in rule.resources:
        if gr.group != attrs.api_group:
            continue
        if not gr.resources:
            return True
        if gr.resource_names and attrs.name not in gr.resource_names:
            continue
        for res in gr.resources:
            if res in ("*", combined):
                return True
            if attrs.subresource and res.startswith("*/") and res[2:] == attrs.subresource:
                return True
            if res.endswith("/*") and res[:-2] == attrs.resource:
                return True
    return False
