"""Defaulting of discovery, rbac and apiextensions objects.

Mirrors kubernetes pkg/apis/discovery/v1/defaults.go (SetDefaults_EndpointPort),
pkg/apis/rbac/v1/defaults.go (SetDefaults_ClusterRoleBinding,
SetDefaults_RoleBinding, SetDefaults_Subject) and
k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1/defaults.go
(SetDefaults_CustomResourceDefinitionSpec, SetDefaults_ServiceReference).
Omitted: nothing for these kinds.
"""

from __future__ import annotations

from miniapi.apiextensions import v1 as apiextensionsv1
from miniapi.base import replace
from miniapi.discovery import v1 as discoveryv1
from miniapi.rbac import v1 as rbacv1

__all__ = ["set_defaults_crd", "set_defaults_endpoint_slice", "set_defaults_role_binding"]


def set_defaults_endpoint_slice(es: discoveryv1.EndpointSlice) -> discoveryv1.EndpointSlice:
    """SetDefaults_EndpointPort: name "" and protocol TCP when unset."""
    ports = [
        replace(p, name="" if p.name is None else p.name, protocol=p.protocol or "TCP")
        for p in es.ports
    ]
    return replace(es, ports=ports)


def _subject(s: rbacv1.Subject) -> rbacv1.Subject:
    # Users and groups live in the RBAC API group; service accounts in the core group ("").
    if not s.api_group and s.kind in (rbacv1.USER_KIND, rbacv1.GROUP_KIND):
        return replace(s, api_group=rbacv1.GROUP_NAME)
    return s


def set_defaults_role_binding(b: rbacv1.RoleBinding | rbacv1.ClusterRoleBinding):
    """SetDefaults_(Cluster)RoleBinding: roleRef.apiGroup and subjects' apiGroup."""
    ref = replace(b.role_ref, api_group=b.role_ref.api_group or rbacv1.GROUP_NAME)
    return replace(b, role_ref=ref, subjects=[_subject(s) for s in b.subjects])


def _conversion(
    c: apiextensionsv1.CustomResourceConversion | None,
) -> apiextensionsv1.CustomResourceConversion:
    if c is None:
        return apiextensionsv1.CustomResourceConversion(strategy=apiextensionsv1.NONE_CONVERTER)
    hook = c.webhook
    if (
        hook is not None
        and hook.client_config is not None
        and hook.client_config.service is not None
    ):
        svc = hook.client_config.service
        if svc.port is None:
            cfg = replace(hook.client_config, service=replace(svc, port=443))
            c = replace(c, webhook=replace(hook, client_config=cfg))
    return c


def set_defaults_crd(
    crd: apiextensionsv1.CustomResourceDefinition,
) -> apiextensionsv1.CustomResourceDefinition:
    """SetDefaults_CustomResourceDefinitionSpec: singular, listKind, conversion None."""
    names = crd.spec.names
    names = replace(
        names,
        singular=names.singular or names.kind.lower(),
        list_kind=names.list_kind or (names.kind + "List" if names.kind else ""),
    )
    spec = replace(crd.spec, names=names, conversion=_conversion(crd.spec.conversion))
    return replace(crd, spec=spec)
