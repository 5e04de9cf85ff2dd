"""/openapi/v2: the swagger 2.0 document, as JSON and as gnostic protobuf, and kubectl 1.27.

kubectl up to 1.27 reads /openapi/v2 (client-go's OpenAPISchema, protobuf only) for
`explain` and for the patch metadata of `apply`; against a server without it both
fail with 404. The document is checked for upstream's shape (definitions named
like the Go packages, x-kubernetes-group-version-kind, patch strategy extensions,
operations with upstream's operationIds), every `$ref` resolving, the protobuf
decoding back to the same document; then kubectl 1.27 itself and the `kubernetes`
Python client run against the server.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import urllib3
import yaml
from kubernetes import client, config

from miniapiserver.endpoints import openapi, openapi_v2
from miniapiserver.endpoints import openapiv2_pb2 as pb

KUBECTL_127 = Path("/usr/lib/google-cloud-sdk/bin/kubectl.1.27")
PROTOBUF_ACCEPT = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if "$ref" in node else []
        return own + [r for v in node.values() for r in refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in refs(v)]
    return []


def test_definitions_are_named_and_tagged_like_upstream() -> None:
    doc = openapi_v2.document()
    defs = doc["definitions"]
    assert doc["swagger"] == "2.0"
    pod = defs["io.k8s.api.core.v1.Pod"]
    assert pod["x-kubernetes-group-version-kind"] == [{"group": "", "version": "v1", "kind": "Pod"}]
    assert pod["properties"]["metadata"] == {
        "$ref": "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
    }
    assert (
        defs["io.k8s.api.apps.v1.DeploymentList"]["x-kubernetes-group-version-kind"][0]["kind"]
        == "DeploymentList"
    )
    containers = defs["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"]
    assert containers["x-kubernetes-patch-merge-key"] == "name"
    assert containers["x-kubernetes-patch-strategy"] == "merge"
    port = defs["io.k8s.api.core.v1.ServicePort"]["properties"]["targetPort"]
    assert port["format"] == "int-or-string"
    assert "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition" in (
        defs
    )
    # an apps/v1beta2 Deployment and an apps/v1 one are two definitions, not one
    assert "io.k8s.api.apps.v1beta2.Deployment" in defs


def test_every_ref_resolves_and_v3_shares_the_walk() -> None:
    doc = openapi_v2.document()
    dangling = {r for r in refs(doc) if r.removeprefix("#/definitions/") not in doc["definitions"]}
    assert dangling == set()
    assert all(r.startswith("#/definitions/") for r in refs(doc))
    v3 = json.loads(openapi.group_version_document("apps", "v1") or b"{}")
    v3_spec = v3["components"]["schemas"]["io.k8s.api.apps.v1.DeploymentSpec"]
    v2_spec = doc["definitions"]["io.k8s.api.apps.v1.DeploymentSpec"]
    assert json.dumps(v3_spec).replace("#/components/schemas/", "#/definitions/") == json.dumps(
        v2_spec
    )


def test_operations_carry_upstream_ids_actions_and_parameters() -> None:
    paths = openapi_v2.document()["paths"]
    pods = paths["/api/v1/namespaces/{namespace}/pods"]
    assert pods["get"]["operationId"] == "listCoreV1NamespacedPod"
    assert pods["get"]["x-kubernetes-action"] == "list"
    assert pods["post"]["operationId"] == "createCoreV1NamespacedPod"
    assert pods["delete"]["operationId"] == "deleteCoreV1CollectionNamespacedPod"
    assert pods["parameters"][0]["name"] == "namespace"
    item = paths["/apis/rbac.authorization.k8s.io/v1/clusterroles/{name}"]
    assert item["patch"]["operationId"] == "patchRbacAuthorizationV1ClusterRole"
    assert item["patch"]["tags"] == ["rbacAuthorization_v1"]
    params = {p["name"]: p["in"] for p in item["patch"]["parameters"]}
    assert params == {"body": "body", "dryRun": "query", "fieldManager": "query",
                      "fieldValidation": "query", "force": "query"}  # fmt: skip
    assert item["patch"]["x-kubernetes-group-version-kind"] == {
        "group": "rbac.authorization.k8s.io", "version": "v1", "kind": "ClusterRole",
    }  # fmt: skip
    status = paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/status"]
    assert status["put"]["operationId"] == "replaceAppsV1NamespacedDeploymentStatus"


def _schema_json(s: pb.Schema) -> dict[str, Any]:
    """The protobuf Schema back to JSON: the inverse of schema_proto, written independently."""
    out: dict[str, Any] = {}
    if s.description:
        out["description"] = s.description
    if s.type.value:
        out["type"] = s.type.value[0]
    if s.format:
        out["format"] = s.format
    if s._ref:
        out["$ref"] = s._ref
    if s.required:
        out["required"] = list(s.required)
    if s.items.schema:
        out["items"] = _schema_json(s.items.schema[0])
    if s.additional_properties.HasField("schema"):
        out["additionalProperties"] = _schema_json(s.additional_properties.schema)
    if s.properties.additional_properties:
        out["properties"] = {
            p.name: _schema_json(p.value) for p in s.properties.additional_properties
        }
    for ext in s.vendor_extension:
        out[ext.name] = yaml.safe_load(ext.value.yaml)
    return out


def test_protobuf_decodes_to_the_json_document() -> None:
    doc = openapi_v2.document()
    decoded = pb.Document.FromString(openapi_v2.proto_bytes())
    assert decoded.swagger == "2.0" and decoded.info.title == "Kubernetes"
    defs = {d.name: _schema_json(d.value) for d in decoded.definitions.additional_properties}
    assert defs.keys() == doc["definitions"].keys()
    for name in ("io.k8s.api.core.v1.PodSpec", "io.k8s.api.apps.v1.Deployment",
                 "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"):  # fmt: skip
        assert json.dumps(defs[name], sort_keys=True) == json.dumps(
            doc["definitions"][name], sort_keys=True
        )
    paths = {p.name: p.value for p in decoded.paths.path}
    assert paths.keys() == doc["paths"].keys()
    get = paths["/api/v1/namespaces/{namespace}/pods/{name}"].get
    assert get.operation_id == "readCoreV1NamespacedPod"
    gvk = {e.name: yaml.safe_load(e.value.yaml) for e in get.vendor_extension}
    assert gvk["x-kubernetes-group-version-kind"]["kind"] == "Pod"


# ---- the server, kubectl 1.27 and the Python client ----


def test_served_as_json_and_protobuf(apiserver) -> None:  # type: ignore[no-untyped-def]
    pool = urllib3.PoolManager(ca_certs=apiserver.ca)
    auth = {"Authorization": f"Bearer {apiserver.token}"}
    r = pool.request("GET", apiserver.url + "/openapi/v2", headers=auth)
    assert r.status == 200 and r.headers["Content-Type"] == "application/json"
    assert json.loads(r.data)["swagger"] == "2.0"
    r = pool.request("GET", apiserver.url + "/openapi/v2",
                     headers={**auth, "Accept": PROTOBUF_ACCEPT})  # fmt: skip
    assert r.headers["Content-Type"] == "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
    assert pb.Document.FromString(r.data).swagger == "2.0"


@pytest.mark.tool(str(KUBECTL_127))  # the dispatcher's 1.27: reads /openapi/v2
def test_kubectl_1_27_explain_apply_create(apiserver, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    def k(*args: str, stdin: str | None = None):  # type: ignore[no-untyped-def]
        return apiserver.kubectl(*args, stdin=stdin, check=False, env={"PATH": str(tmp_path)})

    (tmp_path / "kubectl").symlink_to(KUBECTL_127)  # `kubectl` on PATH is 1.27 here
    out = k("explain", "deployment.spec.template.spec.containers.ports")
    assert out.returncode == 0, out.stderr
    assert "KIND:       Deployment" in out.stdout and "<[]ContainerPort>" in out.stdout
    dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "v2-web"},
           "spec": {"selector": {"matchLabels": {"app": "v2"}}, "template": {
               "metadata": {"labels": {"app": "v2"}},
               "spec": {"containers": [{"name": "a", "image": "nginx"},
                                       {"name": "b", "image": "busybox"}]}}}}  # fmt: skip
    assert k("apply", "--validate=true", "-f", "-", stdin=json.dumps(dep)).returncode == 0
    dep["spec"]["template"]["spec"]["containers"][1]["image"] = "busybox:1.36"  # type: ignore[index]
    out = k("apply", "--validate=true", "-f", "-", stdin=json.dumps(dep))
    assert "configured" in out.stdout, out.stderr
    images = k(
        "get", "deploy", "v2-web", "-o", "jsonpath={.spec.template.spec.containers[*].image}"
    )
    assert images.stdout == "nginx busybox:1.36"
    bad = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "v2-bad"}, "bogus": 1}
    out = k("create", "--validate=true", "-f", "-", stdin=json.dumps(bad))
    assert 'unknown field "bogus"' in out.stderr
    assert k("create", "configmap", "v2-cm", "--from-literal=a=b").returncode == 0
    assert shutil.which("kubectl", path=str(tmp_path)) == str(tmp_path / "kubectl")


def test_python_client_is_unaffected(apiserver) -> None:  # type: ignore[no-untyped-def]
    api = client.CoreV1Api(config.new_client_from_config(apiserver.kubeconfig))
    body = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="v2-py"), data={"k": "v"})
    api.create_namespaced_config_map("default", body)
    assert api.read_namespaced_config_map("v2-py", "default").data == {"k": "v"}
    api.delete_namespaced_config_map("v2-py", "default")
