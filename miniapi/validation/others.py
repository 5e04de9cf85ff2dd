"""Validation of EndpointSlice, Lease, RBAC objects and CustomResourceDefinitions.

Mirrors kubernetes pkg/apis/discovery/validation (ValidateEndpointSlice),
pkg/apis/coordination/validation (ValidateLease), pkg/apis/rbac/validation
(ValidateRole, ValidateClusterRole, ValidateRoleBinding,
ValidateClusterRoleBinding, ValidatePolicyRule, ValidateRoleBindingSubject)
and apiextensions-apiserver's validation (the name, group, names, scope and
storage-version rules of ValidateCustomResourceDefinition).
Omitted: OpenAPI schema structural checks (the conversion rules: crd_conversion.py).
"""

from __future__ import annotations

import ipaddress

from miniapi.apiextensions import v1 as apiextensionsv1
from miniapi.coordination import v1 as coordinationv1
from miniapi.discovery import v1 as discoveryv1
from miniapi.rbac import v1 as rbacv1
from miniapi.validation import field, names
from miniapi.validation.crd_conversion import validate_custom_resource_conversion
from miniapi.validation.field import ErrorList, Path
from miniapi.validation.objectmeta import (
    name_is_dns_subdomain,
    validate_object_meta,
    validate_path_segment_name,
)

__all__ = [
    "validate_crd",
    "validate_endpoint_slice",
    "validate_lease",
    "validate_role",
    "validate_role_binding",
]

_META = field.new_path("metadata")
_ADDRESS_TYPES = ["FQDN", "IPv4", "IPv6"]
_MAX_ENDPOINTS = 1000


def _address(address: str, address_type: str, path: Path) -> ErrorList:
    if address_type == "FQDN":
        return [field.invalid(path, address, m) for m in names.is_dns1123_subdomain(address)]
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        ip = None
    want = 4 if address_type == "IPv4" else 6
    if ip is None or ip.version != want:
        return [field.invalid(path, address, f"must be a valid {address_type} address")]
    return []


def validate_endpoint_slice(es: discoveryv1.EndpointSlice) -> ErrorList:
    """ValidateEndpointSlice: address type, endpoints and ports."""
    errs = validate_object_meta(es.metadata, True, name_is_dns_subdomain, _META)
    if es.address_type not in _ADDRESS_TYPES:
        errs.append(
            field.not_supported(field.new_path("addressType"), es.address_type, _ADDRESS_TYPES)
        )
    ep_path = field.new_path("endpoints")
    if len(es.endpoints) > _MAX_ENDPOINTS:
        errs.append(field.too_many(ep_path, len(es.endpoints), _MAX_ENDPOINTS))
    for i, ep in enumerate(es.endpoints):
        p = ep_path.index(i)
        if not ep.addresses:
            errs.append(field.required(p.child("addresses"), "must contain at least 1 address"))
        for j, addr in enumerate(ep.addresses):
            errs += _address(addr, es.address_type, p.child("addresses").index(j))
        if ep.hostname is not None:
            errs += [
                field.invalid(p.child("hostname"), ep.hostname, m)
                for m in names.is_dns1123_label(ep.hostname)
            ]
        if ep.node_name is not None:
            errs += [
                field.invalid(p.child("nodeName"), ep.node_name, m)
                for m in name_is_dns_subdomain(ep.node_name, False)
            ]
    seen: set[str] = set()
    for i, port in enumerate(es.ports):
        p = field.new_path("ports").index(i)
        if port.name:
            errs += [
                field.invalid(p.child("name"), port.name, m)
                for m in names.is_dns1123_label(port.name)
            ]
        name = port.name or ""
        if name in seen:
            errs.append(field.duplicate(p.child("name"), name))
        seen.add(name)
        if port.protocol is None:
            errs.append(field.required(p.child("protocol")))
        elif port.protocol not in ("SCTP", "TCP", "UDP"):
            errs.append(
                field.not_supported(p.child("protocol"), port.protocol, ["SCTP", "TCP", "UDP"])
            )
        if port.port is not None:
            errs += [
                field.invalid(p.child("port"), port.port, m)
                for m in names.is_in_range(port.port, 0, 65535)
            ]
    return errs


def validate_lease(lease: coordinationv1.Lease) -> ErrorList:
    """ValidateLease: positive duration, non-negative transitions."""
    errs = validate_object_meta(lease.metadata, True, name_is_dns_subdomain, _META)
    s, sp = lease.spec, field.new_path("spec")
    if s.lease_duration_seconds is not None and s.lease_duration_seconds <= 0:
        errs.append(
            field.invalid(
                sp.child("leaseDurationSeconds"), s.lease_duration_seconds, "must be greater than 0"
            )
        )
    if s.lease_transitions is not None and s.lease_transitions < 0:
        errs.append(
            field.invalid(
                sp.child("leaseTransitions"),
                s.lease_transitions,
                "must be greater than or equal to 0",
            )
        )
    return errs


def _policy_rule(rule: rbacv1.PolicyRule, namespaced: bool, path: Path) -> ErrorList:
    errs: ErrorList = []
    if not rule.verbs:
        errs.append(field.required(path.child("verbs"), "verbs must contain at least one value"))
    if rule.non_resource_urls:
        if namespaced:
            errs.append(
                field.invalid(
                    path.child("nonResourceURLs"),
                    rule.non_resource_urls,
                    "namespaced rules cannot apply to non-resource URLs",
                )
            )
        if rule.api_groups or rule.resources or rule.resource_names:
            errs.append(
                field.invalid(
                    path.child("nonResourceURLs"),
                    rule.non_resource_urls,
                    "rules cannot apply to both regular resources and non-resource URLs",
                )
            )
        return errs
    if not rule.api_groups:
        errs.append(
            field.required(
                path.child("apiGroups"), "resource rules must supply at least one api group"
            )
        )
    if not rule.resources:
        errs.append(
            field.required(
                path.child("resources"), "resource rules must supply at least one resource"
            )
        )
    return errs


def validate_role(role: rbacv1.Role | rbacv1.ClusterRole) -> ErrorList:
    """ValidateRole / ValidateClusterRole."""
    namespaced = isinstance(role, rbacv1.Role)
    errs = validate_object_meta(role.metadata, namespaced, validate_path_segment_name, _META)
    for i, rule in enumerate(role.rules):
        errs += _policy_rule(rule, namespaced, field.new_path("rules").index(i))
    return errs


def _subject(s: rbacv1.Subject, namespaced: bool, path: Path) -> ErrorList:
    errs: ErrorList = []
    if not s.name:
        errs.append(field.required(path.child("name")))
    if s.kind == rbacv1.SERVICE_ACCOUNT_KIND:
        if s.api_group:
            errs.append(field.not_supported(path.child("apiGroup"), s.api_group, [""]))
        if s.name:
            errs += [
                field.invalid(path.child("name"), s.name, m)
                for m in name_is_dns_subdomain(s.name, False)
            ]
        if not namespaced and not s.namespace:
            errs.append(field.required(path.child("namespace")))
    elif s.kind in (rbacv1.USER_KIND, rbacv1.GROUP_KIND):
        if s.api_group != rbacv1.GROUP_NAME:
            errs.append(
                field.not_supported(path.child("apiGroup"), s.api_group, [rbacv1.GROUP_NAME])
            )
    else:
        errs.append(
            field.not_supported(path.child("kind"), s.kind, ["ServiceAccount", "User", "Group"])
        )
    return errs


def validate_role_binding(b: rbacv1.RoleBinding | rbacv1.ClusterRoleBinding) -> ErrorList:
    """ValidateRoleBinding / ValidateClusterRoleBinding."""
    namespaced = isinstance(b, rbacv1.RoleBinding)
    errs = validate_object_meta(b.metadata, namespaced, validate_path_segment_name, _META)
    rp = field.new_path("roleRef")
    if b.role_ref.api_group != rbacv1.GROUP_NAME:
        errs.append(
            field.not_supported(rp.child("apiGroup"), b.role_ref.api_group, [rbacv1.GROUP_NAME])
        )
    kinds = ["Role", "ClusterRole"] if namespaced else ["ClusterRole"]
    if b.role_ref.kind not in kinds:
        errs.append(field.not_supported(rp.child("kind"), b.role_ref.kind, kinds))
    if not b.role_ref.name:
        errs.append(field.required(rp.child("name")))
    else:
        errs += [
            field.invalid(rp.child("name"), b.role_ref.name, m)
            for m in validate_path_segment_name(b.role_ref.name, False)
        ]
    for i, s in enumerate(b.subjects):
        errs += _subject(s, namespaced, field.new_path("subjects").index(i))
    return errs


def validate_crd(crd: apiextensionsv1.CustomResourceDefinition) -> ErrorList:
    """ValidateCustomResourceDefinition: name = plural.group, group, names, scope, versions."""
    errs = validate_object_meta(crd.metadata, False, name_is_dns_subdomain, _META)
    spec, sp = crd.spec, field.new_path("spec")
    if crd.metadata.name != f"{spec.names.plural}.{spec.group}":
        errs.append(
            field.invalid(
                _META.child("name"), crd.metadata.name, 'must be spec.names.plural+"."+spec.group'
            )
        )
    if not spec.group:
        errs.append(field.required(sp.child("group")))
    elif len(spec.group.split(".")) < 2:
        errs.append(
            field.invalid(sp.child("group"), spec.group, "should be a domain with at least one dot")
        )
    else:
        errs += [
            field.invalid(sp.child("group"), spec.group, m)
            for m in names.is_dns1123_subdomain(spec.group)
        ]
    if spec.scope not in (apiextensionsv1.CLUSTER_SCOPED, apiextensionsv1.NAMESPACE_SCOPED):
        errs.append(field.not_supported(sp.child("scope"), spec.scope, ["Cluster", "Namespaced"]))
    np = sp.child("names")
    for attr, wire in (("plural", "plural"), ("kind", "kind"), ("list_kind", "listKind")):
        if not getattr(spec.names, attr):
            errs.append(field.required(np.child(wire)))
    if spec.names.plural:
        errs += [
            field.invalid(np.child("plural"), spec.names.plural, m)
            for m in names.is_dns1035_label(spec.names.plural)
        ]
    vp = sp.child("versions")
    if not spec.versions:
        errs.append(field.required(vp, "must have exactly one version marked as storage version"))
    elif sum(v.storage for v in spec.versions) != 1:
        errs.append(
            field.invalid(
                vp,
                [v.name for v in spec.versions],
                "must have exactly one version marked as storage version",
            )
        )
    for i, v in enumerate(spec.versions):
        errs += [
            field.invalid(vp.index(i).child("name"), v.name, m)
            for m in names.is_dns1035_label(v.name)
        ]
    return errs + validate_custom_resource_conversion(spec.conversion, sp.child("conversion"))
