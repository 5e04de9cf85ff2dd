"""JSON round trips: hand-written manifests, generated objects, and real clients.

Mirrors the intent of k8s.io/apimachinery/pkg/api/apitesting/roundtrip: an
object decoded and encoded again is the same JSON. Oracles: the JSON that
`kubectl create --dry-run=client -o json` writes must decode strictly (no
unknown field) and round-trip, and the `kubernetes` Python client must
deserialize what we encode (it rejects missing required fields).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import kubernetes
import pytest
from hypothesis import HealthCheck, given, settings

from miniapi import scheme, strategies
from miniapi.defaults import set_defaults
from miniapi.manifests import find_manifest_files, load_documents

MANIFESTS = Path(__file__).resolve().parents[2] / "examples" / "manifests"
DOCS = [
    (f.name, i, d)
    for f in find_manifest_files([MANIFESTS])
    for i, d in enumerate(load_documents(f))
]

# The one place a manifest is not in canonical form on purpose: upstream
# writes quantities back canonically (resource.Quantity.MarshalJSON).
CANONICAL = {"0.5": "500m"}


def prune(v: Any) -> Any:
    """Drop zero values (omitempty) and canonicalize the known quantity spellings.

    Zero values go too: a few structs are written in full (clients require
    their fields), so `false` and `0` may appear where upstream omits them.
    """
    if isinstance(v, dict):
        out = {k: prune(x) for k, x in v.items()}
        return {k: x for k, x in out.items() if x is not False and x not in (None, "", [], {}, 0)}
    if isinstance(v, list):
        return [prune(x) for x in v]
    if isinstance(v, str):
        return CANONICAL.get(v, v)
    return v


def contains(big: Any, small: Any) -> bool:
    """Every leaf of small is in big with the same value (defaults only add)."""
    if isinstance(small, dict):
        return isinstance(big, dict) and all(
            k in big and contains(big[k], v) for k, v in small.items()
        )
    if isinstance(small, list):
        return isinstance(big, list) and len(big) == len(small) and all(map(contains, big, small))
    return big == small


def test_every_kind_has_a_manifest() -> None:
    kinds = {d["kind"] for _, _, d in DOCS}
    wanted = {
        "Pod", "Node", "Namespace", "Service", "ConfigMap", "Secret", "ServiceAccount", "Event",
        "Binding", "EndpointSlice", "Deployment", "ReplicaSet", "Lease", "Role", "ClusterRole",
        "RoleBinding", "ClusterRoleBinding", "CustomResourceDefinition", "Eviction",
    }  # fmt: skip
    assert wanted <= kinds


@pytest.mark.parametrize(("name", "index", "doc"), DOCS, ids=[f"{n}#{i}" for n, i, _ in DOCS])
def test_manifest_round_trip(name: str, index: int, doc: dict) -> None:
    obj = scheme.decode(doc, strict=True)
    assert prune(scheme.encode(obj)) == prune(doc)
    assert scheme.decode(scheme.to_json(obj)) == obj
    # Defaulting only adds fields, and is idempotent.
    defaulted = set_defaults(obj)
    assert contains(scheme.encode(defaulted), prune(doc))
    assert set_defaults(defaulted) == defaulted


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(strategies.api_objects())
def test_generated_objects_round_trip(obj: Any) -> None:
    assert scheme.decode(scheme.to_json(obj)) == obj
    assert scheme.decode(scheme.encode(obj)) == obj
    assert scheme.decode(json.dumps(scheme.encode(obj)).encode()) == obj


KUBECTL_CREATE = [
    ["deployment", "web", "--image=nginx:1.25", "--replicas=2", "--port=80"],
    ["service", "clusterip", "web", "--tcp=80:8080", "--tcp=443:8443"],
    ["service", "nodeport", "web", "--tcp=80:8080", "--node-port=30080"],
    ["configmap", "cfg", "--from-literal=a=b", "--from-literal=c=d"],
    ["secret", "generic", "s", "--from-literal=password=s3cr3t"],
    ["namespace", "shop"],
    ["serviceaccount", "web"],
    ["rolebinding", "rb", "--role=pod-reader", "--user=alice", "--serviceaccount=shop:web"],
    # Roles over resources need discovery (a server); non-resource URLs do not.
    ["clusterrole", "reader", "--verb=get", "--non-resource-url=/healthz"],
    ["clusterrolebinding", "crb", "--clusterrole=reader", "--group=ops"],
]


@pytest.mark.tool("kubectl")
@pytest.mark.parametrize("args", KUBECTL_CREATE, ids=lambda a: "-".join(a[:2]))
def test_kubectl_output_decodes_strictly(args: list[str]) -> None:
    out = subprocess.run(
        ["kubectl", "create", *args, "--dry-run=client", "-o", "json"],
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    doc = json.loads(out)
    obj = scheme.decode(out, strict=True)
    assert prune(scheme.encode(obj)) == prune(doc)


PY_CLIENT_TYPES = {
    "Pod": "V1Pod", "Node": "V1Node", "Namespace": "V1Namespace", "Service": "V1Service",
    "ConfigMap": "V1ConfigMap", "Secret": "V1Secret", "ServiceAccount": "V1ServiceAccount",
    "Event": "CoreV1Event", "Binding": "V1Binding", "EndpointSlice": "V1EndpointSlice",
    "Deployment": "V1Deployment", "ReplicaSet": "V1ReplicaSet", "Lease": "V1Lease", "Role": "V1Role",
    "ClusterRole": "V1ClusterRole", "RoleBinding": "V1RoleBinding",
    "ClusterRoleBinding": "V1ClusterRoleBinding", "CustomResourceDefinition": "V1CustomResourceDefinition",
    "Eviction": "V1Eviction",
}  # fmt: skip


@pytest.mark.parametrize(("name", "index", "doc"), DOCS, ids=[f"{n}#{i}" for n, i, _ in DOCS])
def test_python_client_reads_our_json(name: str, index: int, doc: dict) -> None:
    obj = set_defaults(scheme.decode(doc))
    client = kubernetes.client.ApiClient()
    typed = client.deserialize(
        scheme.to_json(obj).decode(), PY_CLIENT_TYPES[doc["kind"]], "application/json"
    )
    # And what the client serializes back decodes to the same object.
    assert scheme.decode(client.sanitize_for_serialization(typed)) == obj


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(strategies.api_objects())
def test_python_client_reads_generated_objects(obj: Any) -> None:
    client = kubernetes.client.ApiClient()
    typed = client.deserialize(
        scheme.to_json(obj).decode(), PY_CLIENT_TYPES[obj.kind], "application/json"
    )
    assert scheme.decode(client.sanitize_for_serialization(typed)) == obj
