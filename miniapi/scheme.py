"""The default scheme: every built-in kind, its REST resource, and the JSON codec.

Mirrors k8s.io/client-go/kubernetes/scheme/register.go and each group's
register.go (which kinds exist), the discovery facts of
pkg/registry/*/rest storage (plural, singular, scope, short names, verbs,
categories), and the JSON serializer of
apimachinery/pkg/runtime/serializer/json (read apiVersion/kind, then decode
into the registered type; lenient by default, strict on request).
CONVERTER holds the conversions between versions of one kind (apps/v1beta2 Deployments
and ReplicaSets beside apps/v1, stored as v1; see miniapi/conversion.py).
Omitted: protobuf and CBOR serializers.
"""

from __future__ import annotations

from typing import Any

import msgspec

from miniapi.admissionregistration import v1 as admissionregistrationv1
from miniapi.apiextensions import v1 as apiextensionsv1
from miniapi.apps import conversion as appsconversion
from miniapi.apps import v1 as appsv1
from miniapi.apps import v1beta2 as appsv1beta2
from miniapi.codec import dec_hook, enc_hook
from miniapi.conversion import Converter
from miniapi.coordination import v1 as coordinationv1
from miniapi.core import v1 as corev1
from miniapi.discovery import v1 as discoveryv1
from miniapi.meta import v1 as metav1
from miniapi.policy import v1 as policyv1
from miniapi.rbac import v1 as rbacv1
from miniapi.runtime import (
    GroupVersionKind,
    MissingKindError,
    MissingVersionError,
    ResourceInfo,
    Scheme,
    parse_group_version,
)
from miniapi.scheduling import v1 as schedulingv1
from miniapi.strict import unknown_fields

__all__ = [
    "CONVERTER",
    "SCHEME",
    "STORAGE_VERSIONS",
    "DecodeError",
    "decode",
    "decode_watch_event",
    "encode",
    "is_storage_version",
    "to_json",
    "with_type_meta",
]

SCHEME = Scheme("miniapi/scheme.py")
# The scheme's conversion functions (runtime.Scheme's converter; see miniapi/conversion.py).
CONVERTER = Converter()
# Resources served in more than one version: (group, resource) -> the storage version.
# The others are converted to it through the internal version (apps/conversion.py).
STORAGE_VERSIONS = {("apps", "deployments"): "v1", ("apps", "replicasets"): "v1"}

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
# Namespaces cannot be deleted as a collection upstream.
NAMESPACE_VERBS = ("create", "delete", "get", "list", "patch", "update", "watch")

# (group, version, kind, list type, plural, namespaced, short names, categories, subresources)
_BUILTINS: list[tuple[str, str, type, type | None, str, bool, tuple, tuple, tuple]] = [
    ("", "v1", corev1.Pod, corev1.PodList, "pods", True, ("po",), ("all",),
     ("status", "binding", "eviction", "log", "exec", "attach", "portforward")),
    ("", "v1", corev1.Node, corev1.NodeList, "nodes", False, ("no",), (), ("status", "proxy")),
    ("", "v1", corev1.Namespace, corev1.NamespaceList, "namespaces", False, ("ns",), (), ("status", "finalize")),
    ("", "v1", corev1.Service, corev1.ServiceList, "services", True, ("svc",), ("all",), ("status", "proxy")),
    ("", "v1", corev1.Endpoints, corev1.EndpointsList, "endpoints", True, ("ep",), (), ()),
    ("", "v1", corev1.ConfigMap, corev1.ConfigMapList, "configmaps", True, ("cm",), (), ()),
    ("", "v1", corev1.Secret, corev1.SecretList, "secrets", True, (), (), ()),
    ("", "v1", corev1.ServiceAccount, corev1.ServiceAccountList, "serviceaccounts", True, ("sa",), (), ("token",)),
    ("", "v1", corev1.Event, corev1.EventList, "events", True, ("ev",), (), ()),
    ("", "v1", corev1.PodTemplate, corev1.PodTemplateList, "podtemplates", True, (), (), ()),
    ("", "v1", corev1.Binding, None, "bindings", True, (), (), ()),
    ("", "v1", corev1.LimitRange, corev1.LimitRangeList, "limitranges", True, ("limits",), (), ()),
    ("", "v1", corev1.ResourceQuota, corev1.ResourceQuotaList, "resourcequotas", True, ("quota",), (), ("status",)),
    ("discovery.k8s.io", "v1", discoveryv1.EndpointSlice, discoveryv1.EndpointSliceList, "endpointslices", True, (), (), ()),
    ("apps", "v1", appsv1.Deployment, appsv1.DeploymentList, "deployments", True, ("deploy",), ("all",), ("status", "scale")),
    ("apps", "v1beta2", appsv1beta2.Deployment, appsv1beta2.DeploymentList, "deployments", True, ("deploy",), ("all",), ("status",)),
    ("apps", "v1", appsv1.ReplicaSet, appsv1.ReplicaSetList, "replicasets", True, ("rs",), ("all",), ("status", "scale")),
    ("apps", "v1beta2", appsv1beta2.ReplicaSet, appsv1beta2.ReplicaSetList, "replicasets", True, ("rs",), ("all",), ("status",)),
    ("scheduling.k8s.io", "v1", schedulingv1.PriorityClass, schedulingv1.PriorityClassList, "priorityclasses", False, ("pc",), (), ()),
    ("coordination.k8s.io", "v1", coordinationv1.Lease, coordinationv1.LeaseList, "leases", True, (), (), ()),
    ("rbac.authorization.k8s.io", "v1", rbacv1.Role, rbacv1.RoleList, "roles", True, (), (), ()),
    ("rbac.authorization.k8s.io", "v1", rbacv1.RoleBinding, rbacv1.RoleBindingList, "rolebindings", True, (), (), ()),
    ("rbac.authorization.k8s.io", "v1", rbacv1.ClusterRole, rbacv1.ClusterRoleList, "clusterroles", False, (), (), ()),
    ("rbac.authorization.k8s.io", "v1", rbacv1.ClusterRoleBinding, rbacv1.ClusterRoleBindingList, "clusterrolebindings", False, (), (), ()),
    ("apiextensions.k8s.io", "v1", apiextensionsv1.CustomResourceDefinition, apiextensionsv1.CustomResourceDefinitionList,
     "customresourcedefinitions", False, ("crd", "crds"), ("api-extensions",), ("status",)),
    ("admissionregistration.k8s.io", "v1", admissionregistrationv1.MutatingWebhookConfiguration,
     admissionregistrationv1.MutatingWebhookConfigurationList, "mutatingwebhookconfigurations",
     False, (), ("api-extensions",), ()),
    ("admissionregistration.k8s.io", "v1", admissionregistrationv1.ValidatingWebhookConfiguration,
     admissionregistrationv1.ValidatingWebhookConfigurationList, "validatingwebhookconfigurations",
     False, (), ("api-extensions",), ()),
]  # fmt: skip

# Kinds that exist on the wire but are not a REST collection of their own.
_BARE: list[tuple[str, str, type]] = [
    ("", "v1", metav1.Status),
    ("meta.k8s.io", "v1", metav1.Status),
    ("", "v1", metav1.WatchEvent),
    ("meta.k8s.io", "v1", metav1.WatchEvent),
    ("", "v1", metav1.DeleteOptions),
    ("meta.k8s.io", "v1", metav1.DeleteOptions),
    ("meta.k8s.io", "v1", metav1.Table),
    ("meta.k8s.io", "v1", metav1.PartialObjectMetadata),
    ("meta.k8s.io", "v1", metav1.PartialObjectMetadataList),
    ("", "v1", metav1.APIVersions),
    ("", "v1", metav1.APIGroupList),
    ("", "v1", metav1.APIGroup),
    ("", "v1", metav1.APIResourceList),
    ("policy", "v1", policyv1.Eviction),
]


def _install(scheme: Scheme) -> None:
    for group, version, typ, list_typ, plural, namespaced, short, cats, subs in _BUILTINS:
        kind = typ.__name__
        verbs = ("create",) if typ is corev1.Binding else ALL_VERBS
        if typ is corev1.Namespace:
            verbs = NAMESPACE_VERBS
        gvk = GroupVersionKind(group, version, kind)
        scheme.add_resource(
            ResourceInfo(
                gvk, typ, list_typ, plural, kind.lower(), namespaced, short, verbs, cats, subs
            )
        )
    for group, version, typ in _BARE:
        scheme.add_known_type(GroupVersionKind(group, version, typ.__name__), typ)


_install(SCHEME)
appsconversion.add_conversion_funcs(CONVERTER)


def is_storage_version(info: ResourceInfo) -> bool:
    """Whether info's version is the one its resource is stored (and stored-keyed) in."""
    gvk = info.gvk
    return STORAGE_VERSIONS.get((gvk.group, info.resource), gvk.version) == gvk.version


class DecodeError(ValueError):
    """The document is not valid JSON, or does not fit the registered type."""


def _type_meta(data: Any) -> tuple[str, str]:
    if isinstance(data, dict):
        return str(data.get("apiVersion") or ""), str(data.get("kind") or "")
    try:
        tm = msgspec.json.decode(data, type=metav1.TypeMeta)
    except msgspec.ValidationError as e:
        raise DecodeError(str(e)) from None
    except msgspec.DecodeError as e:
        raise DecodeError(f"couldn't get version/kind; json parse error: {e}") from None
    return tm.api_version or "", tm.kind or ""


def decode(data: bytes | str | dict, *, strict: bool = False, scheme: Scheme = SCHEME) -> Any:
    """Decode a JSON document (or a parsed map) into its registered type.

    Unknown fields are dropped, as client-go does; with strict=True they are
    reported like the API server's strict field validation.
    """
    api_version, kind = _type_meta(data)
    shown = data if isinstance(data, dict) else (data.decode() if isinstance(data, bytes) else data)
    if not kind:
        raise MissingKindError(f"Object 'Kind' is missing in '{shown}'")
    if not api_version:
        raise MissingVersionError(f"Object 'apiVersion' is missing in '{shown}'")
    gv = parse_group_version(api_version)
    typ = scheme.new(GroupVersionKind(gv.group, gv.version, kind))
    try:
        if isinstance(data, dict):
            obj = msgspec.convert(data, typ, dec_hook=dec_hook)
        else:
            obj = msgspec.json.decode(data, type=typ, dec_hook=dec_hook)
    except msgspec.ValidationError as e:
        raise DecodeError(
            f'{kind} in version "{gv.version}" cannot be handled as a {kind}: {e}'
        ) from None
    except msgspec.DecodeError as e:
        raise DecodeError(f"json parse error: {e}") from None
    if strict:
        raw = data if isinstance(data, dict) else msgspec.json.decode(data)
        unknown = unknown_fields(raw, typ)
        if unknown:
            raise DecodeError(
                "strict decoding error: " + ", ".join(f'unknown field "{f}"' for f in unknown)
            )
    return obj


def decode_watch_event(data: bytes | str | dict, *, scheme: Scheme = SCHEME) -> metav1.WatchEvent:
    """One line of a watch stream: the event type and its object, decoded by its own kind.

    Mirrors the client side of k8s.io/apimachinery/pkg/watch (StreamWatcher
    with the WatchEvent decoder); ERROR events carry a Status.
    """
    try:
        raw = data if isinstance(data, dict) else msgspec.json.decode(data)
    except msgspec.DecodeError as e:
        raise DecodeError(f"json parse error: {e}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("object"), dict):
        raise DecodeError(f"unable to decode watch event: {raw!r}")
    return metav1.WatchEvent(
        type=str(raw.get("type", "")), object=decode(raw["object"], scheme=scheme)
    )


def with_type_meta(obj: Any, scheme: Scheme = SCHEME) -> Any:
    """The object with apiVersion and kind filled in from the scheme (as the serializer does)."""
    if getattr(obj, "kind", None) and getattr(obj, "api_version", None):
        return obj
    gvk = scheme.object_kind(obj)
    return msgspec.structs.replace(obj, api_version=str(gvk.group_version), kind=gvk.kind)


def _prepare(obj: Any, scheme: Scheme) -> Any:
    if isinstance(obj, metav1.WatchEvent) and isinstance(obj.object, msgspec.Struct):
        return msgspec.structs.replace(obj, object=with_type_meta(obj.object, scheme))
    if isinstance(obj, metav1.WatchEvent):
        return obj
    return with_type_meta(obj, scheme)


def encode(obj: Any, scheme: Scheme = SCHEME) -> dict[str, Any]:
    """The object as JSON-ready builtins (camelCase keys, RFC 3339 times, base64 bytes)."""
    return msgspec.to_builtins(_prepare(obj, scheme), enc_hook=enc_hook)


def to_json(obj: Any, scheme: Scheme = SCHEME) -> bytes:
    """The object as compact JSON bytes, apiVersion and kind filled in."""
    return msgspec.json.encode(_prepare(obj, scheme), enc_hook=enc_hook)
