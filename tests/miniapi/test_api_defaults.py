"""Defaulting table: what upstream's SetDefaults_* fill in, and what they leave alone.

Mirrors the cases of kubernetes pkg/apis/core/v1/defaults_test.go and
pkg/apis/apps/v1/defaults_test.go that this subset implements.
"""

from __future__ import annotations

from typing import Any

import pytest

from miniapi import scheme
from miniapi.defaults import set_defaults


def defaulted(doc: dict[str, Any]) -> dict[str, Any]:
    return scheme.encode(set_defaults(scheme.decode(doc)))


def pod(**spec: Any) -> dict[str, Any]:
    base = {"containers": [{"name": "c", "image": "nginx:1.25"}]}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "default"},
        "spec": base | spec,
    }


def dig(d: Any, path: str) -> Any:
    for part in path.split("."):
        d = d[int(part)] if part.isdigit() else d[part]
    return d


POD_CASES = [
    ("spec.restartPolicy", "Always"),
    ("spec.dnsPolicy", "ClusterFirst"),
    ("spec.terminationGracePeriodSeconds", 30),
    ("spec.schedulerName", "default-scheduler"),
    ("spec.enableServiceLinks", True),
    ("spec.securityContext", {}),
    ("spec.containers.0.imagePullPolicy", "IfNotPresent"),
    ("spec.containers.0.terminationMessagePath", "/dev/termination-log"),
    ("spec.containers.0.terminationMessagePolicy", "File"),
]


@pytest.mark.parametrize(("path", "want"), POD_CASES)
def test_pod_defaults(path: str, want: Any) -> None:
    assert dig(defaulted(pod()), path) == want


@pytest.mark.parametrize(
    ("image", "policy"),
    [
        ("nginx", "Always"),
        ("nginx:latest", "Always"),
        ("nginx:1.25", "IfNotPresent"),
        ("registry.local:5000/nginx", "Always"),
        ("registry.local:5000/nginx:1.25", "IfNotPresent"),
        ("nginx@sha256:" + "0" * 64, "IfNotPresent"),
    ],
)
def test_image_pull_policy_by_tag(image: str, policy: str) -> None:
    doc = pod(containers=[{"name": "c", "image": image}])
    assert dig(defaulted(doc), "spec.containers.0.imagePullPolicy") == policy


def test_explicit_values_are_kept() -> None:
    doc = pod(restartPolicy="Never", dnsPolicy="Default", terminationGracePeriodSeconds=0)
    out = defaulted(doc)["spec"]
    assert (out["restartPolicy"], out["dnsPolicy"], out["terminationGracePeriodSeconds"]) == (
        "Never",
        "Default",
        0,
    )


def test_container_port_probe_and_requests_defaults() -> None:
    c = {
        "name": "c",
        "image": "nginx",
        "ports": [{"containerPort": 80}],
        "readinessProbe": {"httpGet": {"port": 80}},
        "resources": {"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "100m"}},
    }
    out = dig(defaulted(pod(containers=[c])), "spec.containers.0")
    assert out["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert out["readinessProbe"] == {
        "httpGet": {"path": "/", "port": 80, "scheme": "HTTP"},
        "timeoutSeconds": 1,
        "periodSeconds": 10,
        "successThreshold": 1,
        "failureThreshold": 3,
    }
    # SetDefaults_Pod: a missing request takes the limit, an explicit one stays.
    assert out["resources"]["requests"] == {"cpu": "100m", "memory": "1Gi"}


def test_volume_defaults() -> None:
    vols = [
        {"name": "a"},
        {"name": "b", "secret": {"secretName": "s"}},
        {"name": "c", "configMap": {"name": "m"}},
    ]
    out = defaulted(pod(volumes=vols))["spec"]["volumes"]
    assert out[0] == {"name": "a", "emptyDir": {}}
    assert out[1]["secret"]["defaultMode"] == 420
    assert out[2]["configMap"]["defaultMode"] == 420


def test_host_network_copies_container_port_to_host_port() -> None:
    c = {"name": "c", "image": "nginx", "ports": [{"containerPort": 8080}]}
    out = defaulted(pod(containers=[c], hostNetwork=True))
    assert dig(out, "spec.containers.0.ports.0.hostPort") == 8080


def service(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "s", "namespace": "default"},
        "spec": spec,
    }


def test_service_defaults() -> None:
    out = defaulted(service(ports=[{"port": 80}]))["spec"]
    assert out["type"] == "ClusterIP"
    assert out["sessionAffinity"] == "None"
    assert out["ports"] == [{"protocol": "TCP", "port": 80, "targetPort": 80}]
    assert out["internalTrafficPolicy"] == "Cluster"
    assert "externalTrafficPolicy" not in out


def test_service_client_ip_and_node_port_defaults() -> None:
    out = defaulted(
        service(
            type="LoadBalancer",
            sessionAffinity="ClientIP",
            ports=[{"port": 80, "targetPort": "http"}],
        )
    )["spec"]
    assert out["sessionAffinityConfig"] == {"clientIP": {"timeoutSeconds": 10800}}
    assert out["externalTrafficPolicy"] == "Cluster"
    assert out["allocateLoadBalancerNodePorts"] is True
    assert out["ports"][0]["targetPort"] == "http"


def deployment(**spec: Any) -> dict[str, Any]:
    template = {
        "metadata": {"labels": {"app": "w"}},
        "spec": {"containers": [{"name": "c", "image": "nginx"}]},
    }
    base = {"selector": {"matchLabels": {"app": "w"}}, "template": template}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d", "namespace": "default"},
        "spec": base | spec,
    }


def test_deployment_defaults() -> None:
    out = defaulted(deployment())["spec"]
    assert out["replicas"] == 1
    assert out["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
    }
    assert out["revisionHistoryLimit"] == 10
    assert out["progressDeadlineSeconds"] == 600
    # The template gets pod spec defaults too.
    assert out["template"]["spec"]["restartPolicy"] == "Always"


def test_recreate_strategy_gets_no_rolling_update() -> None:
    out = defaulted(deployment(strategy={"type": "Recreate"}, replicas=0))["spec"]
    assert out["strategy"] == {"type": "Recreate"}
    assert out["replicas"] == 0


def test_replica_set_namespace_secret_node_and_rbac_defaults() -> None:
    rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "r"}, "spec": {}}
    assert defaulted(rs)["spec"]["replicas"] == 1
    ns = defaulted({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
    assert ns["metadata"]["labels"] == {"kubernetes.io/metadata.name": "shop"}
    assert ns["status"]["phase"] == "Active"
    assert (
        defaulted({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}})["type"]
        == "Opaque"
    )
    node = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": "n"},
        "status": {"capacity": {"cpu": "2"}},
    }
    assert defaulted(node)["status"]["allocatable"] == {"cpu": "2"}
    rb = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": "rb", "namespace": "default"},
        "subjects": [{"kind": "User", "name": "alice"}, {"kind": "ServiceAccount", "name": "sa"}],
        "roleRef": {"kind": "Role", "name": "r"},
    }
    out = defaulted(rb)
    assert out["roleRef"]["apiGroup"] == "rbac.authorization.k8s.io"
    assert out["subjects"][0]["apiGroup"] == "rbac.authorization.k8s.io"
    assert "apiGroup" not in out["subjects"][1]


def test_crd_and_endpoint_slice_defaults() -> None:
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "foos.example.com"},
        "spec": {
            "group": "example.com",
            "names": {"plural": "foos", "kind": "Foo"},
            "scope": "Namespaced",
        },
    }
    spec = defaulted(crd)["spec"]
    assert (spec["names"]["singular"], spec["names"]["listKind"]) == ("foo", "FooList")
    assert spec["conversion"] == {"strategy": "None"}
    es = {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"name": "e"},
        "addressType": "IPv4",
        "ports": [{"port": 80}],
    }
    assert defaulted(es)["ports"] == [{"name": "", "protocol": "TCP", "port": 80}]
