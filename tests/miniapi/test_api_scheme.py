"""Scheme lookups, decode/encode behaviour and upstream's decoding error texts.

Mirrors k8s.io/apimachinery/pkg/runtime/scheme_test.go (known kinds,
notRegisteredErr) and the discovery facts kubectl relies on (plural,
singular, short names, scope, verbs, categories).
"""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest

from miniapi import scheme
from miniapi.apps import v1 as appsv1
from miniapi.core import v1 as corev1
from miniapi.meta import v1 as metav1
from miniapi.resource import Quantity
from miniapi.runtime import GroupResource, GroupVersionKind, NotRegisteredError, parse_group_version
from miniapi.scheme import SCHEME, DecodeError


@pytest.mark.parametrize(
    ("group", "name", "plural", "kind", "namespaced", "short"),
    [
        ("", "po", "pods", "Pod", True, ("po",)),
        ("", "pod", "pods", "Pod", True, ("po",)),
        ("", "no", "nodes", "Node", False, ("no",)),
        ("", "ns", "namespaces", "Namespace", False, ("ns",)),
        ("", "svc", "services", "Service", True, ("svc",)),
        ("", "cm", "configmaps", "ConfigMap", True, ("cm",)),
        ("", "sa", "serviceaccounts", "ServiceAccount", True, ("sa",)),
        ("", "ev", "events", "Event", True, ("ev",)),
        ("apps", "deploy", "deployments", "Deployment", True, ("deploy",)),
        ("apps", "rs", "replicasets", "ReplicaSet", True, ("rs",)),
        ("discovery.k8s.io", "endpointslice", "endpointslices", "EndpointSlice", True, ()),
        ("coordination.k8s.io", "leases", "leases", "Lease", True, ()),
        ("rbac.authorization.k8s.io", "clusterroles", "clusterroles", "ClusterRole", False, ()),
        (
            "apiextensions.k8s.io",
            "crd",
            "customresourcedefinitions",
            "CustomResourceDefinition",
            False,
            ("crd", "crds"),
        ),
    ],
)
def test_resource_lookup(
    group: str, name: str, plural: str, kind: str, namespaced: bool, short: tuple
) -> None:
    info = SCHEME.resource_for(group, name)
    assert (info.resource, info.gvk.kind, info.namespaced, info.short_names) == (
        plural,
        kind,
        namespaced,
        short,
    )
    assert info.singular == kind.lower()
    assert SCHEME.resource_for_kind(info.gvk) is info


def test_verbs_and_categories() -> None:
    assert SCHEME.resource_for("", "pods").verbs == (
        "create", "delete", "deletecollection", "get", "list", "patch", "update", "watch",
    )  # fmt: skip
    assert "deletecollection" not in SCHEME.resource_for("", "namespaces").verbs
    assert SCHEME.resource_for("", "bindings").verbs == ("create",)
    assert SCHEME.resource_for("apps", "deployments").categories == ("all",)
    assert "status" in SCHEME.resource_for("", "pods").subresources


def test_kinds_and_types() -> None:
    assert SCHEME.object_kind(appsv1.Deployment()) == GroupVersionKind("apps", "v1", "Deployment")
    assert SCHEME.new(GroupVersionKind("", "v1", "PodList")) is corev1.PodList
    assert SCHEME.new(GroupVersionKind("meta.k8s.io", "v1", "Table")) is metav1.Table
    assert GroupVersionKind("", "v1", "Pod").group_version.__str__() == "v1"
    assert parse_group_version("rbac.authorization.k8s.io/v1").group == "rbac.authorization.k8s.io"
    assert str(GroupResource("apps", "deployments")) == "deployments.apps"
    assert {str(gv) for gv in SCHEME.group_versions()} >= {"v1", "apps/v1", "discovery.k8s.io/v1"}


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (
            {"apiVersion": "v1", "kind": "Foo"},
            'no kind "Foo" is registered for version "v1" in scheme "miniapi/scheme.py"',
        ),
        (
            {"apiVersion": "apps/v2", "kind": "Deployment"},
            'no kind "Deployment" is registered for version "apps/v2" in scheme "miniapi/scheme.py"',
        ),
        ({"apiVersion": "v1"}, "Object 'Kind' is missing in '{\"apiVersion\":\"v1\"}'"),
        ({"kind": "Pod"}, "Object 'apiVersion' is missing in '{\"kind\":\"Pod\"}'"),
    ],
)
def test_decode_errors(doc: dict, message: str) -> None:
    with pytest.raises(ValueError) as info:
        scheme.decode(msgspec.json.encode(doc))
    assert str(info.value) == message


def test_unregistered_type_and_resource() -> None:
    with pytest.raises(
        NotRegisteredError,
        match='no kind is registered for the type builtins.dict in scheme "miniapi/scheme.py"',
    ):
        SCHEME.object_kind({})
    with pytest.raises(NotRegisteredError, match="no matches for /, Resource=widgets"):
        SCHEME.resource_for("", "widgets")


def test_lenient_and_strict_decoding() -> None:
    doc = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "color": "red"},
        "spec": {"containers": [{"name": "c", "image": "x", "imagePullPolice": "Always"}]},
    }
    pod = scheme.decode(doc)
    assert pod.spec.containers[0].image_pull_policy == ""
    with pytest.raises(DecodeError) as info:
        scheme.decode(doc, strict=True)
    assert str(info.value) == (
        'strict decoding error: unknown field "metadata.color", unknown field "spec.containers[0].imagePullPolice"'
    )


def test_wrong_types_and_bad_quantities_are_decode_errors() -> None:
    with pytest.raises(
        DecodeError,
        match=r"Deployment in version \"v1\" cannot be handled as a Deployment: .*spec\.replicas",
    ):
        scheme.decode(
            {"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"replicas": "three"}}
        )
    bad = {"apiVersion": "v1", "kind": "Node", "status": {"capacity": {"cpu": "lots"}}}
    with pytest.raises(DecodeError, match="quantities must match the regular expression"):
        scheme.decode(bad)


def test_wire_names_and_omitempty() -> None:
    status = corev1.PodStatus(
        pod_ip="10.0.0.1", pod_ips=[corev1.PodIP(ip="10.0.0.1")], host_ip="192.168.0.1"
    )
    spec = corev1.ServiceSpec(
        cluster_ip="10.96.0.1", cluster_ips=["10.96.0.1"], external_ips=["1.2.3.4"]
    )
    assert msgspec.to_builtins(status) == {
        "hostIP": "192.168.0.1",
        "podIP": "10.0.0.1",
        "podIPs": [{"ip": "10.0.0.1"}],
    }
    assert msgspec.to_builtins(spec) == {
        "clusterIP": "10.96.0.1",
        "clusterIPs": ["10.96.0.1"],
        "externalIPs": ["1.2.3.4"],
    }
    out = scheme.encode(corev1.Pod(metadata=metav1.ObjectMeta(name="p")))
    assert out == {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {},
        "status": {},
    }
    assert scheme.encode(corev1.PodList())["items"] == []


def test_times_bytes_and_quantities_on_the_wire() -> None:
    t = datetime(2024, 5, 2, 10, 15, 30, tzinfo=UTC)
    meta = metav1.ObjectMeta(name="s", creation_timestamp=t)
    out = scheme.encode(corev1.Secret(metadata=meta, data={"k": b"\x00\xff"}))
    assert out["metadata"]["creationTimestamp"] == "2024-05-02T10:15:30Z"
    assert out["data"] == {"k": "AP8="}
    assert metav1.format_micro_time(t) == "2024-05-02T10:15:30.000000Z"
    assert metav1.parse_time("2024-05-02T12:15:30+02:00") == t
    node = scheme.decode(
        {"apiVersion": "v1", "kind": "Node", "status": {"capacity": {"cpu": 2, "memory": "1024Mi"}}}
    )
    assert node.status.capacity == {"cpu": Quantity.parse("2"), "memory": Quantity.parse("1Gi")}
    assert scheme.encode(node)["status"]["capacity"] == {"cpu": "2", "memory": "1Gi"}


def test_watch_event_carries_type_meta() -> None:
    ev = metav1.WatchEvent(
        type="ADDED", object=corev1.ConfigMap(metadata=metav1.ObjectMeta(name="c"))
    )
    assert scheme.encode(ev) == {
        "type": "ADDED",
        "object": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}},
    }


def test_objects_are_immutable() -> None:
    pod = corev1.Pod()
    with pytest.raises(AttributeError):
        pod.metadata = metav1.ObjectMeta(name="x")  # type: ignore[misc]


def test_watch_event_lines_decode_by_kind() -> None:
    line = b'{"type":"MODIFIED","object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","resourceVersion":"7"}}}'
    ev = scheme.decode_watch_event(line)
    assert ev.type == "MODIFIED" and isinstance(ev.object, corev1.Pod)
    assert ev.object.metadata.resource_version == "7"
    err = b'{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Expired","code":410}}'
    status = scheme.decode_watch_event(err).object
    assert isinstance(status, metav1.Status) and status.code == 410
    assert scheme.decode_watch_event(scheme.to_json(ev)) == ev
    with pytest.raises(DecodeError):
        scheme.decode_watch_event(b'{"type":"ADDED"}')


def test_micro_time_always_has_six_digits() -> None:
    # Go's MicroTime.UnmarshalJSON parses with RFC3339Micro: the digits are mandatory.
    doc = {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "worker-1", "namespace": "kube-node-lease"},
        "spec": {"renewTime": "2024-05-02T10:20:03Z", "acquireTime": "2024-05-02T12:20:03.5+02:00"},
    }
    spec = scheme.encode(scheme.decode(doc))["spec"]
    assert spec == {
        "renewTime": "2024-05-02T10:20:03.000000Z",
        "acquireTime": "2024-05-02T10:20:03.500000Z",
    }
    assert isinstance(scheme.decode(doc).spec.renew_time, metav1.MicroTime)
