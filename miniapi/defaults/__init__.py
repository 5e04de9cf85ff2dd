"""Defaulting: `set_defaults(obj)` returns obj with upstream's SetDefaults_* applied.

Mirrors the generated defaulters of kubernetes pkg/apis/*/v1
(zz_generated.defaults.go), which call each group's defaults.go per type.
Kinds without defaults come back unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from miniapi.apiextensions import v1 as apiextensionsv1
from miniapi.apps import v1 as appsv1
from miniapi.apps import v1beta2 as appsv1beta2
from miniapi.base import replace
from miniapi.core import v1 as corev1
from miniapi.defaults.apps import set_defaults_deployment, set_defaults_replica_set
from miniapi.defaults.core import (
    set_defaults_endpoints,
    set_defaults_namespace,
    set_defaults_node,
    set_defaults_pod,
    set_defaults_pod_template,
    set_defaults_secret,
    set_defaults_service,
)
from miniapi.defaults.others import (
    set_defaults_crd,
    set_defaults_endpoint_slice,
    set_defaults_role_binding,
)
from miniapi.discovery import v1 as discoveryv1
from miniapi.rbac import v1 as rbacv1
from miniapi.scheduling import v1 as schedulingv1

__all__ = ["set_defaults"]


def _pod_template(t: corev1.PodTemplate) -> corev1.PodTemplate:
    return replace(t, template=set_defaults_pod_template(t.template))


_DEFAULTERS: dict[type, Callable[[Any], Any]] = {
    corev1.Pod: set_defaults_pod,
    corev1.PodTemplate: _pod_template,
    corev1.Service: set_defaults_service,
    corev1.Namespace: set_defaults_namespace,
    corev1.Node: set_defaults_node,
    corev1.Secret: set_defaults_secret,
    corev1.Endpoints: set_defaults_endpoints,
    appsv1.Deployment: set_defaults_deployment,
    # apps/v1beta2 defaults.go SetDefaults_Deployment / _ReplicaSet: the same as apps/v1.
    appsv1beta2.Deployment: set_defaults_deployment,
    appsv1beta2.ReplicaSet: set_defaults_replica_set,
    appsv1.ReplicaSet: set_defaults_replica_set,
    discoveryv1.EndpointSlice: set_defaults_endpoint_slice,
    rbacv1.RoleBinding: set_defaults_role_binding,
    rbacv1.ClusterRoleBinding: set_defaults_role_binding,
    apiextensionsv1.CustomResourceDefinition: set_defaults_crd,
    schedulingv1.PriorityClass: schedulingv1.set_defaults_priority_class,
}


def set_defaults(obj: Any) -> Any:
    """The defaulted copy of obj (lists: every item defaulted)."""
    items = getattr(obj, "items", None)
    if isinstance(items, list) and type(obj).__name__.endswith("List"):
        return replace(obj, items=[set_defaults(i) for i in items])
    fn = _DEFAULTERS.get(type(obj))
    return fn(obj) if fn is not None else obj
