"""NodeRestriction through a real server: kubelet identities limited to their own objects.

Cases restate upstream's plugin/pkg/admission/noderestriction/admission_test.go in our words
(own node vs another node, taints, label namespaces, mirror pods, pods bound elsewhere,
pods/status, node leases) with tokens for `system:node:<name>` users in `system:nodes`,
against a server started with --enable-admission-plugins=NodeRestriction (shared with
test_apiserver_priority.py: admission_plugin_server.py); kubectl shows the
refusal in upstream's words. The admin (system:masters) is never restricted.
"""

from __future__ import annotations

import json

import pytest
import urllib3
from hypothesis import given
from hypothesis import strategies as st

from miniapiserver.admission.chain import enabled_plugin_names
from miniapiserver.admission.plugins import node_restriction as nr
from miniapiserver.auth.authn import UserInfo

from .admission_plugin_server import plugin_server


def test_identity_and_labels() -> None:
    assert nr.node_identity(UserInfo("system:node:n1", groups=("system:nodes",))) == ("n1", True)
    assert nr.node_identity(UserInfo("system:node:n1")) == ("", False)
    assert nr.node_identity(UserInfo("alice", groups=("system:nodes",))) == ("", False)
    assert nr.node_identity(UserInfo("system:node:", groups=("system:nodes",))) == ("", True)
    modified = nr.modified_labels({"a": "1", "b": "2"}, {"a": "1", "b": "3", "c": "4"})
    assert modified == {"b", "c"}
    assert nr.forbidden_labels({
        "kubernetes.io/hostname", "node.kubernetes.io/pool", "x.kubelet.kubernetes.io/y",
        "example.com/team", "node-restriction.kubernetes.io/secure", "foo.k8s.io/bar",
        "kubernetes.io/role",
    }) == ["foo.k8s.io/bar", "kubernetes.io/role", "node-restriction.kubernetes.io/secure"]  # fmt: skip
    mirror = pod("m", "n1", "uid-1")
    assert nr.check_mirror_pod_owner("n1", mirror) == ""
    assert nr.check_mirror_pod_refs("n1", mirror, "uid-1") == ""
    blocking = pod("m", "n1", "uid-1")
    blocking["metadata"]["ownerReferences"][0]["blockOwnerDeletion"] = True
    assert nr.check_mirror_pod_owner("n1", blocking) == (
        'node "n1" must not set blockOwnerDeletion on an owner reference'
    )
    cases = [
        ({"serviceAccountName": "sa"}, "reference a service account"),
        ({"imagePullSecrets": [{"name": "s"}]}, "reference secrets"),
        ({"volumes": [{"name": "v", "projected": {"sources": [{"secret": {"name": "s"}}]}}]},
         "reference secrets"),
        ({"containers": [{"name": "c", "envFrom": [{"configMapRef": {"name": "c"}}]}]},
         "reference configmaps"),
        ({"volumes": [{"name": "v", "persistentVolumeClaim": {"claimName": "c"}}]},
         "reference persistentvolumeclaims"),
    ]  # fmt: skip
    for extra, text in cases:
        bad = pod("m", "n1", "uid-1")
        bad["spec"].update(extra)
        assert (
            nr.check_mirror_pod_refs("n1", bad, "uid-1")
            == f'node "n1" can not create pods that {text}'
        )
    # Off unless named, as upstream's DefaultOffAdmissionPlugins.
    assert "NodeRestriction" not in enabled_plugin_names([], [])
    assert "NodeRestriction" in enabled_plugin_names(["NodeRestriction"], [])


DOMAINS = ["", "example.com/", "kubernetes.io/", "x.kubernetes.io/", "k8s.io/",
           "node.kubernetes.io/", "a.kubelet.kubernetes.io/", "node-restriction.kubernetes.io/"]  # fmt: skip


@given(st.sets(st.tuples(st.sampled_from(DOMAINS), st.sampled_from(["k", "hostname", "os"]))))
def test_forbidden_labels_are_kubernetes_ones_outside_the_kubelet_set(keys) -> None:  # type: ignore[no-untyped-def]
    labels = {p + n for p, n in keys}
    bad = nr.forbidden_labels(labels)
    assert bad == sorted(bad) and set(bad) <= labels
    for key in labels:
        ns = key.split("/")[0] if "/" in key else ""
        kubernetes = ns.endswith(("kubernetes.io", "k8s.io"))
        restricted = ns.endswith("node-restriction.kubernetes.io")
        assert (key in bad) == (restricted or (kubernetes and not nr.is_kubelet_label(key)))
        if not kubernetes:
            assert key not in bad


@pytest.fixture(scope="module")
def shared(request):  # type: ignore[no-untyped-def]
    return plugin_server(request.config)


@pytest.fixture(scope="module")
def server(shared):  # type: ignore[no-untyped-def]
    return shared.proc


@pytest.fixture(scope="module")
def http(server, shared):  # type: ignore[no-untyped-def]
    pool = urllib3.PoolManager(ca_certs=server.ca, cert_reqs="CERT_REQUIRED")

    def call(who: str, method: str, path: str, body=None, patch: bool = False):  # type: ignore[no-untyped-def]
        token = server.token if who == "admin" else shared.tokens[who]
        ctype = "application/merge-patch+json" if patch else "application/json"
        headers = {"Authorization": f"Bearer {token}", "Content-Type": ctype}
        data = json.dumps(body).encode() if body is not None else None
        r = pool.request(method, server.url + path, body=data, headers=headers, timeout=30)
        return r.status, json.loads(r.data) if r.data else {}

    return call


def node(name: str, **labels: str) -> dict:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels}}


def pod(name: str, node_name: str, owner_uid: str = "", mirror: bool = True) -> dict:
    meta: dict = {"name": name}
    if mirror:
        meta["annotations"] = {nr.MIRROR_POD_ANNOTATION_KEY: "hash"}
    if owner_uid:
        meta["ownerReferences"] = [{"apiVersion": "v1", "kind": "Node", "name": node_name,
                                    "uid": owner_uid, "controller": True}]  # fmt: skip
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
            "spec": {"nodeName": node_name, "containers": [{"name": "c", "image": "busybox"}]}}  # fmt: skip


NODES = "/api/v1/nodes"
PODS = "/api/v1/namespaces/default/pods"


@pytest.mark.tool("kubectl", "etcd")
def test_nodes(server, http, shared) -> None:  # type: ignore[no-untyped-def]
    node_a, node_b = shared.node_a, shared.node_b
    code, body = http("a", "POST", NODES, node(node_a, **{"kubernetes.io/hostname": node_a}))
    assert code == 201, body
    code, body = http("a", "POST", NODES, node(node_b))
    assert code == 403
    assert body["message"] == (
        f'nodes "{node_b}" is forbidden: node "{node_a}" is not allowed to modify node "{node_b}"'
    )
    code, body = http("b", "POST", NODES, node(node_b, **{"node-restriction.kubernetes.io/x": "1"}))
    assert code == 403 and body["message"].endswith(
        f'node "{node_b}" is not allowed to set the following labels: '
        "node-restriction.kubernetes.io/x"
    )
    assert http("b", "POST", NODES, node(node_b))[0] == 201
    code, body = http("bad", "POST", NODES, node("x"))
    assert code == 403 and body["message"].endswith(
        'could not determine node from user "system:node:"'
    )
    taint = {"spec": {"taints": [{"key": "k", "effect": "NoSchedule"}]}}
    code, body = http("a", "PATCH", f"{NODES}/{node_a}", taint, patch=True)
    assert code == 403 and body["message"].endswith(
        f'node "{node_a}" is not allowed to modify taints'
    )
    # The admin may taint it; the node may then not take the taint off.
    assert http("admin", "PATCH", f"{NODES}/{node_a}", taint, patch=True)[0] == 200
    code, _ = http("a", "PATCH", f"{NODES}/{node_a}", {"spec": {"taints": None}}, patch=True)
    assert code == 403
    ok = {"metadata": {"labels": {"node.kubernetes.io/pool": "blue"}}}
    assert http("a", "PATCH", f"{NODES}/{node_a}", ok, patch=True)[0] == 200
    env = {"KUBECONFIG": "", "HOME": server.workdir}
    out = server.kubectl(
        "--server", server.url, "--certificate-authority", server.ca, "--token", shared.tokens["a"],
        "label", "node", node_a, "foo.kubernetes.io/role=db", check=False, env=env,
    )  # fmt: skip
    assert out.returncode != 0
    assert (
        f'Error from server (Forbidden): nodes "{node_a}" is forbidden: is not allowed to modify '
        "labels: foo.kubernetes.io/role"
    ) in out.stderr


@pytest.mark.tool("etcd")
def test_pods_and_leases(http, shared) -> None:  # type: ignore[no-untyped-def]
    node_a, node_b = shared.node_a, shared.node_b
    code, na = http("admin", "GET", f"{NODES}/{node_a}")
    if code == 404:  # this test alone: register the node first
        code, na = http("a", "POST", NODES, node(node_a))
    uid = na["metadata"]["uid"]
    code, body = http("a", "POST", PODS, pod("plain", node_a, uid, mirror=False))
    assert code == 403 and body["message"] == (
        f'pods "plain" is forbidden: pod does not have "kubernetes.io/config.mirror" annotation, '
        f'node "{node_a}" can only create mirror pods'
    )
    code, body = http("a", "POST", PODS, pod("elsewhere", node_b, uid))
    assert code == 403 and body["message"].endswith(
        f'node "{node_a}" can only create pods with spec.nodeName set to itself'
    )
    code, body = http("a", "POST", PODS, pod("orphan", node_a))
    assert code == 403 and body["message"].endswith(
        f'node "{node_a}" can only create pods with an owner reference set to itself'
    )
    code, body = http("a", "POST", PODS, pod("mirror", node_a, "wrong-uid"))
    assert code == 403 and "UID mismatch" in body["message"]
    code, mirror = http("a", "POST", PODS, pod("mirror", node_a, uid))
    assert code == 201, mirror
    # A pod the admin bound to node B: A may neither update its status nor delete it.
    assert http("admin", "POST", PODS, pod("on-b", node_b, mirror=False))[0] == 201
    status = {"status": {"phase": "Running"}}
    code, body = http("a", "PATCH", f"{PODS}/on-b/status", status, patch=True)
    assert code == 403 and body["message"].endswith(
        f'node "{node_a}" can only update pod status for pods with spec.nodeName set to itself'
    )
    assert http("b", "PATCH", f"{PODS}/on-b/status", status, patch=True)[0] == 200
    code, body = http("a", "DELETE", f"{PODS}/on-b")
    assert code == 403 and body["message"].endswith(
        f'node "{node_a}" can only delete pods with spec.nodeName set to itself'
    )
    code, body = http(
        "a", "PATCH", f"{PODS}/mirror", {"metadata": {"labels": {"x": "y"}}}, patch=True
    )
    assert code == 403 and body["message"].endswith(
        f'unexpected operation "UPDATE", node "{node_a}" can only create and delete mirror pods'
    )
    assert http("a", "DELETE", f"{PODS}/mirror")[0] == 200
    lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
             "spec": {"holderIdentity": node_a}}  # fmt: skip
    leases = "/apis/coordination.k8s.io/v1/namespaces/{}/leases"
    code, _ = http("a", "POST", leases.format("kube-node-lease"),
                   {**lease, "metadata": {"name": node_a}})  # fmt: skip
    assert code == 201
    code, body = http("a", "POST", leases.format("kube-node-lease"),
                      {**lease, "metadata": {"name": node_b}})  # fmt: skip
    assert code == 403 and body["message"].endswith(
        "can only access node lease with the same name as the requesting node"
    )
    code, body = http(
        "a", "POST", leases.format("default"), {**lease, "metadata": {"name": node_a}}
    )
    assert code == 403 and body["message"].endswith(
        'can only access leases in the "kube-node-lease" system namespace'
    )
    code, body = http("a", "PUT", f"{leases.format('kube-node-lease')}/{node_b}",
                      {**lease, "metadata": {"name": node_b}})  # fmt: skip
    assert code == 403
