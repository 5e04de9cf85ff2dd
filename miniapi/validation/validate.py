"""Entry points: validate any built-in object, or raise the 422 the API server returns.

Mirrors the per-kind Validate/ValidateUpdate calls of the registry strategies
(k8s.io/apiserver/pkg/registry/rest create.go, update.go: BeforeCreate and
BeforeUpdate) and apierrors.NewInvalid for the response.
Kinds without rules of their own get ObjectMeta validation only.
Omitted: status-subresource and per-field update rules beyond ObjectMeta.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from miniapi.apiextensions import v1 as apiextensionsv1
from miniapi.apps import v1 as appsv1
from miniapi.coordination import v1 as coordinationv1
from miniapi.core import v1 as corev1
from miniapi.discovery import v1 as discoveryv1
from miniapi.errors import StatusError, new_invalid
from miniapi.policy import v1 as policyv1
from miniapi.rbac import v1 as rbacv1
from miniapi.scheduling import v1 as schedulingv1
from miniapi.scheme import SCHEME
from miniapi.validation import apps, core, field, others, pod, scheduling
from miniapi.validation.field import ErrorList
from miniapi.validation.objectmeta import (
    name_is_dns_subdomain,
    validate_object_meta,
    validate_object_meta_update,
)

__all__ = ["invalid_error", "validate", "validate_or_raise", "validate_update"]


def _eviction(e: policyv1.Eviction) -> ErrorList:
    return validate_object_meta(e.metadata, True, name_is_dns_subdomain, field.new_path("metadata"))


def _pod_template(t: corev1.PodTemplate) -> ErrorList:
    errs = validate_object_meta(t.metadata, True, name_is_dns_subdomain, field.new_path("metadata"))
    return errs + pod.validate_pod_template_spec(t.template, field.new_path("template"))


_VALIDATORS: dict[type, Callable[[Any], ErrorList]] = {
    corev1.Pod: pod.validate_pod,
    corev1.PodTemplate: _pod_template,
    corev1.Service: core.validate_service,
    corev1.Node: core.validate_node,
    corev1.Namespace: core.validate_namespace,
    corev1.ConfigMap: core.validate_config_map,
    corev1.Secret: core.validate_secret,
    corev1.ServiceAccount: core.validate_service_account,
    corev1.Event: core.validate_event,
    corev1.Binding: core.validate_binding,
    corev1.Endpoints: core.validate_endpoints,
    discoveryv1.EndpointSlice: others.validate_endpoint_slice,
    appsv1.Deployment: apps.validate_deployment,
    appsv1.ReplicaSet: apps.validate_replica_set,
    coordinationv1.Lease: others.validate_lease,
    rbacv1.Role: others.validate_role,
    rbacv1.ClusterRole: others.validate_role,
    rbacv1.RoleBinding: others.validate_role_binding,
    rbacv1.ClusterRoleBinding: others.validate_role_binding,
    apiextensionsv1.CustomResourceDefinition: others.validate_crd,
    policyv1.Eviction: _eviction,
    schedulingv1.PriorityClass: scheduling.validate_priority_class,
}
# Kinds whose strategy's ValidateUpdate checks more than ObjectMeta and the create rules.
_UPDATE_VALIDATORS: dict[type, Callable[[Any, Any], ErrorList]] = {
    schedulingv1.PriorityClass: scheduling.validate_priority_class_update,
}


def validate(obj: Any) -> ErrorList:
    """The field errors of a new object (empty when it is valid)."""
    fn = _VALIDATORS.get(type(obj))
    if fn is not None:
        return fn(obj)
    gvk = SCHEME.object_kind(obj)
    info = SCHEME.resource_for_kind(gvk)
    return validate_object_meta(
        obj.metadata, info.namespaced, name_is_dns_subdomain, field.new_path("metadata")
    )


def validate_update(new: Any, old: Any) -> ErrorList:
    """ObjectMeta update rules (immutable identity, resourceVersion) plus the create rules."""
    errs = validate_object_meta_update(new.metadata, old.metadata, field.new_path("metadata"))
    fn = _UPDATE_VALIDATORS.get(type(new))
    if fn is not None:
        errs += fn(new, old)
    seen = {str(e) for e in errs}
    return errs + [e for e in validate(new) if str(e) not in seen]


def invalid_error(obj: Any, errs: ErrorList) -> StatusError:
    """apierrors.NewInvalid for obj's group and kind."""
    gvk = SCHEME.object_kind(obj)
    name = getattr(obj, "metadata", None)
    return new_invalid(gvk.group, gvk.kind, name.name if name is not None else "", errs)


def validate_or_raise(obj: Any) -> Any:
    """Return obj if valid, else raise the 422 Invalid StatusError upstream would return."""
    errs = validate(obj)
    if errs:
        raise invalid_error(obj, errs)
    return obj
