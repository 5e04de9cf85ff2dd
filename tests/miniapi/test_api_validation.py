"""Validation table: invalid objects get upstream's 422 causes (type, field path, message).

Cases follow kubernetes pkg/apis/core/validation/validation_test.go,
apps/validation and apimachinery's objectmeta/validation tests; the message
texts are upstream's (validation.go's RegexError/MaxLenError forms).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from miniapi import scheme, strategies
from miniapi.defaults import set_defaults
from miniapi.errors import StatusError
from miniapi.validation import field, names
from miniapi.validation.validate import validate, validate_or_raise, validate_update

DNS1123_LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
    "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
    "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
DNS1123_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
    "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)


def causes(doc: dict[str, Any]) -> list[tuple[str, str, str]]:
    obj = set_defaults(scheme.decode(doc))
    return [(e.type, e.field, e.error_body()) for e in validate(obj)]


def pod(meta: dict | None = None, **spec: Any) -> dict[str, Any]:
    base = {"containers": [{"name": "c", "image": "nginx"}]}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "default"} | (meta or {}),
        "spec": base | spec,
    }


def c(**kw: Any) -> dict[str, Any]:
    return {"name": "c", "image": "nginx"} | kw


CASES = [
    (
        "bad name",
        pod({"name": "Web_1"}),
        ("FieldValueInvalid", "metadata.name", f'Invalid value: "Web_1": {DNS1123_SUBDOMAIN_MSG}'),
    ),
    (
        "missing name",
        pod({"name": ""}),
        ("FieldValueRequired", "metadata.name", "Required value: name or generateName is required"),
    ),
    (
        "missing namespace",
        pod({"namespace": ""}),
        ("FieldValueRequired", "metadata.namespace", "Required value"),
    ),
    (
        "bad label value",
        pod({"labels": {"app": "-web"}}),
        (
            "FieldValueInvalid",
            "metadata.labels",
            'Invalid value: "-web": a valid label must be an empty string or consist of alphanumeric '
            "characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. "
            "'MyValue',  or 'my_value',  or '12345', regex used for validation is "
            "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
        ),
    ),
    (
        "label key with two slashes",
        pod({"labels": {"a/b/c": "x"}}),
        (
            "FieldValueInvalid",
            "metadata.labels",
            "Invalid value: \"a/b/c\": a qualified name must consist of alphanumeric characters, '-', '_' "
            "or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  "
            "or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an "
            "optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
        ),
    ),
    (
        "annotation key with empty prefix",
        pod({"annotations": {"/x": "y"}}),
        (
            "FieldValueInvalid",
            "metadata.annotations",
            'Invalid value: "/x": prefix part must be non-empty',
        ),
    ),
    (
        "no containers",
        pod(containers=[]),
        ("FieldValueRequired", "spec.containers", "Required value"),
    ),
    (
        "bad container name",
        pod(containers=[c(name="Web")]),
        (
            "FieldValueInvalid",
            "spec.containers[0].name",
            f'Invalid value: "Web": {DNS1123_LABEL_MSG}',
        ),
    ),
    (
        "duplicate container name",
        pod(containers=[c(), c()]),
        ("FieldValueDuplicate", "spec.containers[1].name", 'Duplicate value: "c"'),
    ),
    (
        "init container name clashes",
        pod(initContainers=[c()]),
        ("FieldValueDuplicate", "spec.initContainers[0].name", 'Duplicate value: "c"'),
    ),
    (
        "missing image",
        pod(containers=[c(image="")]),
        ("FieldValueRequired", "spec.containers[0].image", "Required value"),
    ),
    (
        "port out of range",
        pod(containers=[c(ports=[{"containerPort": 70000}])]),
        (
            "FieldValueInvalid",
            "spec.containers[0].ports[0].containerPort",
            "Invalid value: 70000: must be between 1 and 65535, inclusive",
        ),
    ),
    (
        "missing port",
        pod(containers=[c(ports=[{"name": "http"}])]),
        ("FieldValueRequired", "spec.containers[0].ports[0].containerPort", "Required value"),
    ),
    (
        "bad protocol",
        pod(containers=[c(ports=[{"containerPort": 80, "protocol": "ICMP"}])]),
        (
            "FieldValueNotSupported",
            "spec.containers[0].ports[0].protocol",
            'Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"',
        ),
    ),
    (
        "port name too long",
        pod(containers=[c(ports=[{"containerPort": 80, "name": "a-very-long-port-name"}])]),
        (
            "FieldValueInvalid",
            "spec.containers[0].ports[0].name",
            'Invalid value: "a-very-long-port-name": must be no more than 15 characters',
        ),
    ),
    (
        "restart policy",
        pod(restartPolicy="Sometimes"),
        (
            "FieldValueNotSupported",
            "spec.restartPolicy",
            'Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
        ),
    ),
    (
        "probe without handler",
        pod(containers=[c(readinessProbe={"periodSeconds": 5})]),
        (
            "FieldValueRequired",
            "spec.containers[0].readinessProbe",
            "Required value: must specify a handler type",
        ),
    ),
    (
        "liveness success threshold",
        pod(containers=[c(livenessProbe={"tcpSocket": {"port": 80}, "successThreshold": 2})]),
        (
            "FieldValueInvalid",
            "spec.containers[0].livenessProbe.successThreshold",
            "Invalid value: 2: must be 1",
        ),
    ),
    (
        "mount of unknown volume",
        pod(containers=[c(volumeMounts=[{"name": "data", "mountPath": "/data"}])]),
        ("FieldValueNotFound", "spec.containers[0].volumeMounts[0].name", 'Not found: "data"'),
    ),
    (
        "request above limit",
        pod(containers=[c(resources={"limits": {"cpu": "500m"}, "requests": {"cpu": "1"}})]),
        (
            "FieldValueInvalid",
            "spec.containers[0].resources.requests[cpu]",
            'Invalid value: "1": must be less than or equal to cpu limit of 500m',
        ),
    ),
    (
        "bad env name",
        pod(containers=[c(env=[{"name": "1X", "value": "v"}])]),
        (
            "FieldValueInvalid",
            "spec.containers[0].env[0].name",
            'Invalid value: "1X": a valid environment variable name must consist of alphabetic characters, '
            "digits, '_', '-', or '.', and must not start with a digit (e.g. 'my.env-name',  or "
            "'MY_ENV.NAME',  or 'MyEnvName1', regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')",
        ),
    ),
    (
        "toleration seconds without NoExecute",
        pod(
            tolerations=[
                {"key": "k", "operator": "Exists", "effect": "NoSchedule", "tolerationSeconds": 5}
            ]
        ),
        (
            "FieldValueInvalid",
            "spec.tolerations[0].effect",
            "Invalid value: \"NoSchedule\": effect must be 'NoExecute' when `tolerationSeconds` is set",
        ),
    ),
    (
        "spread max skew",
        pod(
            topologySpreadConstraints=[
                {"maxSkew": 0, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"}
            ]
        ),
        (
            "FieldValueInvalid",
            "spec.topologySpreadConstraints[0].maxSkew",
            "Invalid value: 0: must be greater than zero",
        ),
    ),
    (
        "affinity weight",
        pod(
            affinity={
                "podAntiAffinity": {
                    "preferredDuringSchedulingIgnoredDuringExecution": [
                        {"weight": 0, "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname"}}
                    ]
                }
            }
        ),
        (
            "FieldValueInvalid",
            "spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight",
            "Invalid value: 0: must be in the range 1-100",
        ),
    ),
]


@pytest.mark.parametrize(("what", "doc", "want"), CASES, ids=[c[0] for c in CASES])
def test_validation_cause(what: str, doc: dict, want: tuple[str, str, str]) -> None:
    assert want in causes(doc)


def test_valid_pod_has_no_errors() -> None:
    assert causes(pod(containers=[c(ports=[{"containerPort": 80, "name": "http"}])])) == []


def test_invalid_status_is_a_422_with_causes() -> None:
    obj = set_defaults(scheme.decode(pod({"name": "Web_1"}, containers=[c(), c()])))
    with pytest.raises(StatusError) as info:
        validate_or_raise(obj)
    status = scheme.encode(info.value.status)
    assert status["code"] == 422 and status["reason"] == "Invalid" and status["status"] == "Failure"
    assert status["details"]["kind"] == "Pod" and status["details"]["name"] == "Web_1"
    assert [c["field"] for c in status["details"]["causes"]] == [
        "metadata.name",
        "spec.containers[1].name",
    ]
    assert status["details"]["causes"][1] == {
        "reason": "FieldValueDuplicate",
        "message": 'Duplicate value: "c"',
        "field": "spec.containers[1].name",
    }
    assert status["message"] == (
        f'Pod "Web_1" is invalid: [metadata.name: Invalid value: "Web_1": {DNS1123_SUBDOMAIN_MSG}, '
        'spec.containers[1].name: Duplicate value: "c"]'
    )


def svc(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "d"},
        "spec": spec,
    }


def dep(**spec: Any) -> dict[str, Any]:
    t = {
        "metadata": {"labels": {"app": "w"}},
        "spec": {"containers": [{"name": "c", "image": "nginx"}]},
    }
    base = {"selector": {"matchLabels": {"app": "w"}}, "template": t}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d", "namespace": "d"},
        "spec": base | spec,
    }


OTHER_CASES = [
    (
        "service name must be DNS-1035",
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "1web", "namespace": "d"}, "spec": {"ports": [{"port": 80}]}},
        (
            "FieldValueInvalid",
            "metadata.name",
            "Invalid value: \"1web\": a DNS-1035 label must consist of lower case alphanumeric characters or "
            "'-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  "
            "or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
        ),
    ),
    ("service without ports", svc(), ("FieldValueRequired", "spec.ports", "Required value")),
    ("service port names", svc(ports=[{"port": 80}, {"port": 81}]), ("FieldValueRequired", "spec.ports[0].name", "Required value")),
    ("service port zero", svc(ports=[{"port": 0, "targetPort": 80}]), ("FieldValueInvalid", "spec.ports[0].port", "Invalid value: 0: must be between 1 and 65535, inclusive")),
    (
        "service type",
        svc(type="Magic", ports=[{"port": 80}]),
        ("FieldValueNotSupported", "spec.type", 'Unsupported value: "Magic": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"'),
    ),
    ("deployment selector missing", dep(selector=None), ("FieldValueRequired", "spec.selector", "Required value")),
    (
        "deployment selector does not match",
        dep(selector={"matchLabels": {"app": "other"}}),
        ("FieldValueInvalid", "spec.template.metadata.labels", 'Invalid value: map[string]string{"app":"w"}: `selector` does not match template `labels`'),
    ),
    ("deployment negative replicas", dep(replicas=-1), ("FieldValueInvalid", "spec.replicas", "Invalid value: -1: must be greater than or equal to 0")),
    (
        "deployment surge and unavailable both zero",
        dep(strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 0}}),
        ("FieldValueInvalid", "spec.strategy.rollingUpdate.maxUnavailable", "Invalid value: 0: may not be 0 when `maxSurge` is 0"),
    ),
    (
        "deployment restart policy",
        dep(template={"metadata": {"labels": {"app": "w"}}, "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "x"}]}}),
        ("FieldValueNotSupported", "spec.template.spec.restartPolicy", 'Unsupported value: "Never": supported values: "Always"'),
    ),
    (
        "namespace name is a DNS label",
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a.b"}},
        ("FieldValueInvalid", "metadata.name", 'Invalid value: "a.b": must not contain dots'),
    ),
    (
        "cluster-scoped object with a namespace",
        {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n", "namespace": "x"}},
        ("FieldValueForbidden", "metadata.namespace", "Forbidden: not allowed on this type"),
    ),
    (
        "node taint effect",
        {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"}, "spec": {"taints": [{"key": "k"}]}},
        ("FieldValueRequired", "spec.taints[0].effect", "Required value"),
    ),
    (
        "config map key",
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "m", "namespace": "d"}, "data": {"a b": "x"}},
        (
            "FieldValueInvalid",
            "data[a b]",
            "Invalid value: \"a b\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' "
            "(e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
        ),
    ),
    (
        "tls secret keys",
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "d"}, "type": "kubernetes.io/tls", "data": {"tls.crt": "eA=="}},
        ("FieldValueRequired", "data[tls.key]", "Required value"),
    ),
    (
        "endpoint slice address",
        {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "metadata": {"name": "e", "namespace": "d"}, "addressType": "IPv4", "endpoints": [{"addresses": ["10.0.0.300"]}]},
        ("FieldValueInvalid", "endpoints[0].addresses[0]", 'Invalid value: "10.0.0.300": must be a valid IPv4 address'),
    ),
    (
        "lease duration",
        {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "l", "namespace": "d"}, "spec": {"leaseDurationSeconds": 0}},
        ("FieldValueInvalid", "spec.leaseDurationSeconds", "Invalid value: 0: must be greater than 0"),
    ),
    (
        "role rule without verbs",
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "r", "namespace": "d"}, "rules": [{"apiGroups": [""], "resources": ["pods"]}]},
        ("FieldValueRequired", "rules[0].verbs", "Required value: verbs must contain at least one value"),
    ),
    (
        "binding role ref kind",
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "b"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"}},
        ("FieldValueNotSupported", "roleRef.kind", 'Unsupported value: "Role": supported values: "ClusterRole"'),
    ),
    (
        "crd name",
        {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": "foos"}, "spec": {"group": "example.com", "scope": "Namespaced", "names": {"plural": "foos", "kind": "Foo"}, "versions": [{"name": "v1", "served": True, "storage": True}]}},
        ("FieldValueInvalid", "metadata.name", 'Invalid value: "foos": must be spec.names.plural+"."+spec.group'),
    ),
    (
        "binding target",
        {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "p", "namespace": "d"}, "target": {"kind": "Pod"}},
        ("FieldValueNotSupported", "target.kind", 'Unsupported value: "Pod": supported values: "Node", "<empty>"'),
    ),
]  # fmt: skip


@pytest.mark.parametrize(("what", "doc", "want"), OTHER_CASES, ids=[c[0] for c in OTHER_CASES])
def test_other_kinds_validation_cause(what: str, doc: dict, want: tuple[str, str, str]) -> None:
    assert want in causes(doc)


def test_update_keeps_identity_and_needs_resource_version() -> None:
    old = set_defaults(scheme.decode(pod({"uid": "1", "resourceVersion": "5"})))
    new = set_defaults(scheme.decode(pod({"uid": "2"})))
    got = {(e.type, e.field, e.error_body()) for e in validate_update(new, old)}
    assert ("FieldValueInvalid", "metadata.uid", 'Invalid value: "2": field is immutable') in got
    assert (
        "FieldValueInvalid",
        "metadata.resourceVersion",
        'Invalid value: "": must be specified for an update',
    ) in got


@pytest.mark.parametrize(
    ("value", "errs"),
    [
        ("my-name", []),
        ("a" * 63, []),
        ("a" * 64, ["must be no more than 63 characters"]),
        ("a.b", ["must not contain dots"]),
        ("-a", [DNS1123_LABEL_MSG]),
        ("a\n", [DNS1123_LABEL_MSG]),
    ],
)
def test_is_dns1123_label(value: str, errs: list[str]) -> None:
    assert names.is_dns1123_label(value) == errs


def test_field_paths_and_aggregate() -> None:
    p = field.new_path("spec").child("containers").index(2).child("env").key("HOME")
    assert str(p) == "spec.containers[2].env[HOME]"
    errs = [
        field.required(field.new_path("a")),
        field.required(field.new_path("a")),
        field.forbidden(field.new_path("b"), "no"),
    ]
    assert field.to_aggregate(errs) == "[a: Required value, b: Forbidden: no]"
    assert field.to_aggregate(errs[:1]) == "a: Required value"
    nested = field.too_many(field.new_path("items"), 5, 3)
    assert str(nested) == "items: Too many: 5: must have at most 3 items"


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(strategies.api_objects())
def test_generated_objects_validate_once_defaulted(obj: Any) -> None:
    d = set_defaults(obj)
    assert [str(e) for e in validate(d)] == []
    assert set_defaults(d) == d
