"""apps/v1beta2 Deployments (and ReplicaSets) beside apps/v1: stored as v1, read in either.

The pure part restates upstream's pkg/apis/apps/v1beta2/conversion_test.go and
defaults_test.go in our words (the deprecated rollback annotation round trip, v1beta2
defaults, a bad annotation refused); the live part uses kubectl
(`get deployments.v1beta2.apps`), raw REST (create, get, list, update, watch) and
etcdctl to see the stored bytes in apps/v1.
"""

from __future__ import annotations

import json
import subprocess
import uuid

import pytest
import urllib3
from hypothesis import given, settings
from hypothesis import strategies as st

from miniapi import errors, scheme
from miniapi.apps import internal, v1beta2
from miniapi.apps import v1 as appsv1
from miniapi.conversion import ConversionError
from miniapi.defaults import set_defaults
from miniapi.runtime import GroupVersionKind
from miniapiserver.endpoints.discovery import version_priority
from miniapiserver.registry.versioned import SchemeConverter

from .admission_plugin_server import plugin_server

SUFFIX = uuid.uuid4().hex[:6]
NS = "default"


def deployment(version: str, name: str, **spec) -> dict:  # type: ignore[no-untyped-def]
    labels = {"app": name}
    return {
        "apiVersion": f"apps/{version}",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "c", "image": "busybox"}]},
            },
            **spec,
        },
    }


def test_conversion_through_internal() -> None:
    d = deployment("v1beta2", "x")
    d["metadata"]["annotations"] = {"deprecated.deployment.rollback.to": "3", "keep": "me"}
    typed = set_defaults(scheme.decode(d))
    assert isinstance(typed, v1beta2.Deployment)
    assert typed.spec.replicas == 1 and typed.spec.revision_history_limit == 10
    hub = scheme.CONVERTER.convert(typed, internal.Deployment)
    assert hub.spec.rollback_to == internal.RollbackConfig(revision=3)
    assert hub.metadata.annotations == {"keep": "me"}
    v1 = scheme.CONVERTER.convert_to_version(typed, appsv1.Deployment)
    assert isinstance(v1, appsv1.Deployment)
    assert v1.metadata.annotations["deprecated.deployment.rollback.to"] == "3"
    back = scheme.CONVERTER.convert_to_version(v1, v1beta2.Deployment)
    assert scheme.encode(back) == scheme.encode(typed)  # typeMeta is the encoder's job
    bad = scheme.decode({**d, "metadata": {"name": "x", "annotations": {
        "deprecated.deployment.rollback.to": "abc"}}})  # fmt: skip
    with pytest.raises(ConversionError) as e:
        scheme.CONVERTER.convert_to_version(bad, appsv1.Deployment)
    assert str(e.value) == (
        "failed to parse annotation[deprecated.deployment.rollback.to]=abc as int64: "
        'strconv.ParseInt: parsing "abc": invalid syntax'
    )
    with pytest.raises(ConversionError, match=r"converting \(apps/v1.Deployment\) to"):
        scheme.CONVERTER.convert(v1, appsv1.ReplicaSet)
    with pytest.raises(errors.StatusError) as se:
        SchemeConverter.convert_one(scheme.encode(bad), "apps/v1")
    assert se.value.code == 500


def small_deployments(version: str) -> st.SearchStrategy[dict]:
    """Deployments (as apps/<version> JSON) varying what the conversions touch."""
    opt_int = st.none() | st.integers(0, 50)
    annotations = st.dictionaries(st.sampled_from(["a", "b/c"]), st.text("xyz", max_size=3))
    rollback = st.none() | st.integers(0, 9).map(str)

    def build(replicas, history, deadline, paused, strategy, ann, revision):  # type: ignore[no-untyped-def]
        d = deployment(version, "d", paused=paused, strategy={"type": strategy})
        spec = d["spec"]
        for key, value in (("replicas", replicas), ("revisionHistoryLimit", history),
                           ("progressDeadlineSeconds", deadline)):  # fmt: skip
            if value is not None:
                spec[key] = value
        ann = dict(ann)
        if revision is not None:
            ann["deprecated.deployment.rollback.to"] = revision
        d["metadata"]["annotations"] = ann
        return d

    return st.builds(
        build, opt_int, opt_int, opt_int, st.booleans(), st.sampled_from(["Recreate", "RollingUpdate"]),
        annotations, rollback,
    )  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(small_deployments("v1beta2"), st.sampled_from(["Deployment", "ReplicaSet"]))
def test_round_trip_through_internal(d: dict, kind: str) -> None:
    """v1beta2 -> v1 -> v1beta2 gives back the defaulted object (nothing is lost on the
    way), and the internal version keeps the rollback annotation as spec.rollbackTo."""
    if kind == "ReplicaSet":
        d = {**d, "kind": kind, "spec": {k: v for k, v in d["spec"].items()
                                         if k in ("replicas", "selector", "template")}}  # fmt: skip
    beta = set_defaults(scheme.decode(d))
    v1 = scheme.CONVERTER.convert_to_version(beta, scheme.SCHEME.new(
        GroupVersionKind("apps", "v1", kind)))  # fmt: skip
    assert scheme.encode(v1)["apiVersion"] == "apps/v1"
    back = scheme.CONVERTER.convert_to_version(v1, type(beta))
    assert scheme.encode(back) == scheme.encode(beta)
    if kind == "Deployment":
        hub = scheme.CONVERTER.convert(beta, internal.Deployment)
        revision = d["metadata"]["annotations"].get("deprecated.deployment.rollback.to")
        assert hub.spec.rollback_to == (
            internal.RollbackConfig(revision=int(revision)) if revision else None
        )
        assert "deprecated.deployment.rollback.to" not in hub.metadata.annotations


@pytest.fixture(scope="module")
def server(request):  # type: ignore[no-untyped-def]
    return plugin_server(request.config)


@pytest.fixture(scope="module")
def http(server):  # type: ignore[no-untyped-def]
    proc = server.proc
    pool = urllib3.PoolManager(ca_certs=proc.ca, cert_reqs="CERT_REQUIRED")

    def call(method: str, path: str, body: dict | None = None, raw: bool = False):  # type: ignore[no-untyped-def]
        headers = {"Authorization": f"Bearer {proc.token}", "Content-Type": "application/json"}
        data = json.dumps(body).encode() if body is not None else None
        r = pool.request(method, proc.url + path, body=data, headers=headers, timeout=30)
        return r.status, (r.data if raw else json.loads(r.data) if r.data else {})

    return call


def path(version: str, name: str = "") -> str:
    base = f"/apis/apps/{version}/namespaces/{NS}/deployments"
    return f"{base}/{name}" if name else base


@pytest.mark.tool("kubectl", "etcd")
def test_created_in_either_read_in_either(server, http) -> None:  # type: ignore[no-untyped-def]
    old, new = f"beta-{SUFFIX}", f"ga-{SUFFIX}"
    code, made = http("POST", path("v1beta2"), deployment("v1beta2", old))
    assert code == 201, made
    assert made["apiVersion"] == "apps/v1beta2" and made["spec"]["replicas"] == 1
    code, got = http("GET", path("v1", old))
    assert code == 200 and got["apiVersion"] == "apps/v1"
    assert got["metadata"]["uid"] == made["metadata"]["uid"]
    assert got["spec"]["strategy"]["rollingUpdate"]["maxSurge"] == "25%"
    # Stored as apps/v1, whichever version wrote it.
    stored = subprocess.run(
        ["etcdctl", "--endpoints", server.etcd_url, "get", "--print-value-only",
         f"/registry/deployments/{NS}/{old}"],
        capture_output=True, text=True, timeout=30, env={"ETCDCTL_API": "3"},
    )  # fmt: skip
    assert json.loads(stored.stdout)["apiVersion"] == "apps/v1"
    kubectl = server.proc.kubectl
    kubectl("apply", "-f", "-", stdin=json.dumps(deployment("v1", new, replicas=2)))
    out = kubectl("get", "deployments.v1beta2.apps", new, "-n", NS, "-o", "json").stdout
    got = json.loads(out)
    assert got["apiVersion"] == "apps/v1beta2" and got["spec"]["replicas"] == 2
    names = kubectl("get", "deployments.v1beta2.apps", "-n", NS, "-o", "name").stdout.split()
    assert {f"deployment.apps/{old}", f"deployment.apps/{new}"} <= set(names)
    code, listed = http("GET", path("v1beta2"))
    assert (listed["kind"], listed["apiVersion"]) == ("DeploymentList", "apps/v1beta2")
    assert {i["apiVersion"] for i in listed["items"]} == {"apps/v1beta2"}
    # An update in v1beta2 (a rollback annotation rides along) reads back in v1.
    got["spec"]["replicas"] = 3
    code, put = http("PUT", path("v1beta2", new), got)
    assert code == 200 and put["apiVersion"] == "apps/v1beta2"
    assert http("GET", path("v1", new))[1]["spec"]["replicas"] == 3
    # fieldValidation=Strict applies in the request's version too.
    junk = deployment("v1beta2", f"strict-{SUFFIX}", junk=1)
    code, body = http("POST", path("v1beta2") + "?fieldValidation=Strict", junk)
    assert code == 400 and 'unknown field "spec.junk"' in body["message"]
    # A body in the wrong version for the URL is refused as upstream does.
    code, body = http("POST", path("v1beta2"), deployment("v1", f"x-{SUFFIX}"))
    assert code == 400
    assert body["message"] == (
        "the API version in the data (apps/v1) does not match the expected API version "
        "(apps/v1beta2)"
    )


@pytest.mark.tool("etcd")
def test_watch_and_discovery(http) -> None:  # type: ignore[no-untyped-def]
    code, listed = http("GET", path("v1beta2"))
    rv = listed["metadata"]["resourceVersion"]
    name = f"w-{SUFFIX}"
    assert http("POST", path("v1"), deployment("v1", name))[0] == 201
    for version in ("v1beta2", "v1"):
        code, raw = http("GET", f"{path(version)}?watch=true&resourceVersion={rv}&timeoutSeconds=1",
                         raw=True)  # fmt: skip
        events = [json.loads(line) for line in raw.splitlines() if line.strip()]
        mine = [e for e in events if e["object"]["metadata"]["name"] == name]
        assert mine and mine[0]["type"] == "ADDED"
        assert mine[0]["object"]["apiVersion"] == f"apps/{version}"
    code, group = http("GET", "/apis/apps")
    assert [v["version"] for v in group["versions"]] == ["v1", "v1beta2"]
    assert group["preferredVersion"]["version"] == "v1"
    code, resources = http("GET", "/apis/apps/v1beta2")
    entries = {r["name"]: r for r in resources["resources"]}
    assert entries["deployments"]["kind"] == "Deployment"
    assert "deployments/status" in entries and entries["replicasets"]["kind"] == "ReplicaSet"
    # ReplicaSets too: created in v1beta2 (replicas defaulted there), read in v1.
    rs = deployment("v1beta2", f"rs-{SUFFIX}")
    rs["kind"] = "ReplicaSet"
    rs_path = f"/apis/apps/{{}}/namespaces/{NS}/replicasets"
    code, made = http("POST", rs_path.format("v1beta2"), rs)
    assert code == 201, made
    code, got = http("GET", rs_path.format("v1") + f"/rs-{SUFFIX}")
    assert (got["apiVersion"], got["spec"]["replicas"]) == ("apps/v1", 1)


def test_discovery_version_order() -> None:
    """CompareKubeAwareVersionStrings' order, as upstream's helpers_test.go lists it."""
    versions = ["foo1", "v1alpha1", "v1", "v2beta1", "v1beta2", "v10", "v12alpha1", "v2"]
    assert sorted(versions, key=version_priority) == [
        "v10", "v2", "v1", "v2beta1", "v1beta2", "v12alpha1", "v1alpha1", "foo1",
    ]  # fmt: skip
