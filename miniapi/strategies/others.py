"""Hypothesis strategies for the remaining kinds, and `api_objects()` over all of them.

Namespaces, ConfigMaps, Secrets, Leases, Events, RBAC objects, service
accounts and CustomResourceDefinitions, drawn valid once defaulted (see
objects.py for the rule), apiVersion and kind set.
"""

from __future__ import annotations

from hypothesis import strategies as st

from miniapi.apiextensions import v1 as apiextensionsv1
from miniapi.coordination import v1 as coordinationv1
from miniapi.core import v1 as corev1
from miniapi.meta import v1 as metav1
from miniapi.rbac import v1 as rbacv1
from miniapi.scheme import with_type_meta
from miniapi.strategies.basic import (
    dns1035_labels,
    dns_labels,
    micro_times,
    object_meta,
    times,
)
from miniapi.strategies.objects import (
    deployments,
    endpoint_slices,
    nodes,
    pods,
    replica_sets,
    services,
)

__all__ = [
    "api_objects",
    "cluster_role_bindings",
    "cluster_roles",
    "config_maps",
    "custom_resource_definitions",
    "events",
    "leases",
    "namespaces",
    "role_bindings",
    "roles",
    "secrets",
    "service_accounts",
]


def namespaces() -> st.SearchStrategy[corev1.Namespace]:
    return st.builds(corev1.Namespace, metadata=object_meta(namespaced=False)).map(with_type_meta)


def config_maps() -> st.SearchStrategy[corev1.ConfigMap]:
    keys = st.from_regex(r"[a-zA-Z0-9_][-._a-zA-Z0-9]{0,10}", fullmatch=True)
    return st.builds(
        corev1.ConfigMap,
        metadata=object_meta(),
        data=st.dictionaries(keys, st.text(max_size=20), max_size=3),
    ).map(with_type_meta)


def secrets() -> st.SearchStrategy[corev1.Secret]:
    keys = st.from_regex(r"[a-zA-Z0-9_][-._a-zA-Z0-9]{0,10}", fullmatch=True)
    return st.builds(
        corev1.Secret,
        metadata=object_meta(),
        data=st.dictionaries(keys, st.binary(max_size=20), max_size=3),
        type=st.just("Opaque"),
    ).map(with_type_meta)


def leases() -> st.SearchStrategy[coordinationv1.Lease]:
    spec = st.builds(
        coordinationv1.LeaseSpec,
        holder_identity=st.none() | dns_labels(),
        lease_duration_seconds=st.none() | st.integers(1, 60),
        renew_time=st.none() | micro_times(),
        acquire_time=st.none() | micro_times(),
        lease_transitions=st.none() | st.integers(0, 100),
    )
    return st.builds(coordinationv1.Lease, metadata=object_meta(), spec=spec).map(with_type_meta)


@st.composite
def events(draw: st.DrawFn) -> corev1.Event:
    meta = draw(object_meta())
    ref = corev1.ObjectReference(
        kind="Pod", namespace=meta.namespace, name=draw(dns_labels()), uid=draw(st.uuids().map(str))
    )
    ev = corev1.Event(
        metadata=meta,
        involved_object=ref,
        reason=draw(st.sampled_from(["Scheduled", "Pulled", "BackOff"])),
        message=draw(st.text(max_size=30)),
        source=corev1.EventSource(component="kubelet", host=draw(dns_labels())),
        first_timestamp=draw(times()),
        last_timestamp=draw(times()),
        count=draw(st.integers(1, 100)),
        type=draw(st.sampled_from(["Normal", "Warning"])),
        event_time=draw(st.none() | micro_times()),
    )
    return with_type_meta(ev)


def roles() -> st.SearchStrategy[rbacv1.Role]:
    rule = st.builds(
        rbacv1.PolicyRule,
        verbs=st.lists(
            st.sampled_from(["get", "list", "watch", "create"]), min_size=1, max_size=3, unique=True
        ),
        api_groups=st.lists(st.sampled_from(["", "apps"]), min_size=1, max_size=2, unique=True),
        resources=st.lists(
            st.sampled_from(["pods", "deployments", "services"]),
            min_size=1,
            max_size=2,
            unique=True,
        ),
    )
    return st.builds(rbacv1.Role, metadata=object_meta(), rules=st.lists(rule, max_size=3)).map(
        with_type_meta
    )


def role_bindings() -> st.SearchStrategy[rbacv1.RoleBinding]:
    subject = st.builds(
        rbacv1.Subject,
        kind=st.just("User"),
        api_group=st.just(rbacv1.GROUP_NAME),
        name=dns_labels(),
    )
    ref = st.builds(
        rbacv1.RoleRef,
        api_group=st.just(rbacv1.GROUP_NAME),
        kind=st.just("Role"),
        name=dns_labels(),
    )
    return st.builds(
        rbacv1.RoleBinding,
        metadata=object_meta(),
        subjects=st.lists(subject, max_size=2),
        role_ref=ref,
    ).map(with_type_meta)


def service_accounts() -> st.SearchStrategy[corev1.ServiceAccount]:
    pull = st.builds(corev1.LocalObjectReference, name=dns_labels())
    return st.builds(
        corev1.ServiceAccount,
        metadata=object_meta(),
        image_pull_secrets=st.lists(pull, max_size=2),
        automount_service_account_token=st.none() | st.booleans(),
    ).map(with_type_meta)


def cluster_roles() -> st.SearchStrategy[rbacv1.ClusterRole]:
    rule = st.builds(
        rbacv1.PolicyRule,
        verbs=st.lists(
            st.sampled_from(["get", "list", "watch"]), min_size=1, max_size=3, unique=True
        ),
        api_groups=st.just(["", "apps"]),
        resources=st.just(["nodes", "deployments"]),
    )
    url_rule = st.builds(
        rbacv1.PolicyRule, verbs=st.just(["get"]), non_resource_urls=st.just(["/healthz"])
    )
    return st.builds(
        rbacv1.ClusterRole,
        metadata=object_meta(namespaced=False),
        rules=st.lists(rule | url_rule, max_size=3),
    ).map(with_type_meta)


def cluster_role_bindings() -> st.SearchStrategy[rbacv1.ClusterRoleBinding]:
    subject = st.builds(
        rbacv1.Subject, kind=st.just("ServiceAccount"), name=dns_labels(), namespace=dns_labels()
    )
    ref = st.builds(
        rbacv1.RoleRef,
        api_group=st.just(rbacv1.GROUP_NAME),
        kind=st.just("ClusterRole"),
        name=dns_labels(),
    )
    return st.builds(
        rbacv1.ClusterRoleBinding,
        metadata=object_meta(namespaced=False),
        subjects=st.lists(subject, max_size=2),
        role_ref=ref,
    ).map(with_type_meta)


@st.composite
def custom_resource_definitions(draw: st.DrawFn) -> apiextensionsv1.CustomResourceDefinition:
    """A CRD whose name is plural.group, with one storage version and a schema."""
    plural = draw(dns1035_labels())
    group = f"{draw(dns_labels(10))}.example.com"
    kind = plural.capitalize().replace("-", "")
    names = apiextensionsv1.CustomResourceDefinitionNames(
        plural=plural, kind=kind, list_kind=kind + "List", singular=plural
    )
    schema = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    versions = [
        apiextensionsv1.CustomResourceDefinitionVersion(
            name=v,
            served=True,
            storage=(i == 0),
            schema=apiextensionsv1.CustomResourceValidation(open_apiv3_schema=schema),
        )
        for i, v in enumerate(
            draw(
                st.lists(
                    st.sampled_from(["v1", "v1beta1", "v2"]), min_size=1, max_size=2, unique=True
                )
            )
        )
    ]
    spec = apiextensionsv1.CustomResourceDefinitionSpec(
        group=group,
        names=names,
        scope=draw(st.sampled_from(["Namespaced", "Cluster"])),
        versions=versions,
    )
    meta = metav1.ObjectMeta(name=f"{plural}.{group}")
    return with_type_meta(apiextensionsv1.CustomResourceDefinition(metadata=meta, spec=spec))


def api_objects() -> st.SearchStrategy[object]:
    """Any of the kinds above, apiVersion and kind set."""
    return st.one_of(
        pods(), nodes(), services(), endpoint_slices(), deployments(), replica_sets(), namespaces(),
        config_maps(), secrets(), leases(), events(), roles(), role_bindings(), service_accounts(),
        cluster_roles(), cluster_role_bindings(), custom_resource_definitions(),
    )  # fmt: skip
