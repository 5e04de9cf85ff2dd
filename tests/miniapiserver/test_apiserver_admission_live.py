"""Admission through a real server and kubectl: the built-in plugins (NamespaceLifecycle,
DefaultTolerationSeconds, LimitRanger, ResourceQuota) and webhooks served by a real HTTPS peer.

The webhook server is aiohttp over TLS on loopback, with its own CA passed as caBundle,
answering AdmissionReview v1 the way any webhook does: a mutating endpoint that adds a
label and a sidecar container (a JSONPatch), a validating endpoint that refuses pods
labelled deny=true, one that answers too late, one that returns a broken patch. kubectl
shows the refusals in upstream's words. Every configuration selects only this module's
namespaces (namespaceSelector), so the shared server's other tests never meet them.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import tempfile
import time
import uuid

import pytest
import urllib3
from aiohttp import web

from .https_peer import HttpsPeer

LABEL = f"h8-webhook-{uuid.uuid4().hex[:6]}"
POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "spec": {"containers": [{"name": "c", "image": "busybox"}]},
}


class WebhookServer(HttpsPeer):
    """An aiohttp HTTPS webhook on its own thread and event loop."""

    def __init__(self, workdir: str) -> None:
        self.requests: list[dict] = []
        self.counted: list[int] = []  # containers seen by /count, call after call
        routes = {"/mutate": self.mutate, "/validate": self.validate, "/slow": self.slow,
                  "/badpatch": self.badpatch, "/count": self.count}  # fmt: skip
        super().__init__(workdir, routes, ("127.0.0.1", "hooks.wh.svc"))

    @staticmethod
    def answer(request: dict, **response) -> web.Response:  # type: ignore[no-untyped-def]
        response["uid"] = request["uid"]
        return web.json_response(
            {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": response}
        )

    async def mutate(self, http: web.Request) -> web.Response:
        req = (await http.json())["request"]
        self.requests.append(req)
        patch = [{"op": "add", "path": "/spec/containers/-",
                  "value": {"name": "sidecar", "image": "busybox"}}]  # fmt: skip
        if req["object"]["metadata"].get("labels"):
            patch.append({"op": "add", "path": "/metadata/labels/mutated-by", "value": "webhook"})
        else:
            patch.append(
                {"op": "add", "path": "/metadata/labels", "value": {"mutated-by": "webhook"}}
            )
        raw = base64.b64encode(json.dumps(patch).encode()).decode()
        return self.answer(req, allowed=True, patch=raw, patchType="JSONPatch")

    async def count(self, http: web.Request) -> web.Response:
        """Labels the pod with how many containers it has when this webhook sees it."""
        req = (await http.json())["request"]
        n = len(req["object"]["spec"]["containers"])
        self.counted.append(n)
        labels = {**(req["object"]["metadata"].get("labels") or {}), "containers": str(n)}
        patch = [{"op": "add", "path": "/metadata/labels", "value": labels}]
        raw = base64.b64encode(json.dumps(patch).encode()).decode()
        return self.answer(req, allowed=True, patch=raw, patchType="JSONPatch")

    async def validate(self, http: web.Request) -> web.Response:
        req = (await http.json())["request"]
        self.requests.append(req)
        labels = (req["object"] or {}).get("metadata", {}).get("labels") or {}
        if labels.get("deny") == "true":
            status = {"code": 403, "message": "pods labelled deny=true are not allowed"}
            return self.answer(req, allowed=False, status=status)
        return self.answer(req, allowed=True)

    async def slow(self, http: web.Request) -> web.Response:
        req = (await http.json())["request"]
        await asyncio.sleep(2.5)
        return self.answer(req, allowed=True)

    async def badpatch(self, http: web.Request) -> web.Response:
        req = (await http.json())["request"]
        raw = base64.b64encode(b'[{"op":"replace","path":"/no/such/field","value":1}]').decode()
        return self.answer(req, allowed=True, patch=raw, patchType="JSONPatch")


@pytest.fixture(scope="module")
def hooks():
    workdir = tempfile.mkdtemp(prefix=f"h8-webhook-{os.getpid()}-")
    server = WebhookServer(workdir)
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="module")
def http(apiserver):  # type: ignore[no-untyped-def]
    pool = urllib3.PoolManager(ca_certs=apiserver.ca, cert_reqs="CERT_REQUIRED")

    def call(method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        headers = {"Authorization": f"Bearer {apiserver.token}", "Content-Type": "application/json"}
        data = json.dumps(body).encode() if body is not None else None
        r = pool.request(method, apiserver.url + path, body=data, headers=headers, timeout=30)
        return r.status, json.loads(r.data) if r.data else {}

    return call


def namespace(http, tag: str) -> str:  # type: ignore[no-untyped-def]
    name = f"{tag}-{uuid.uuid4().hex[:6]}"
    code, _ = http(
        "POST", "/api/v1/namespaces", {"metadata": {"name": name, "labels": {LABEL: tag}}}
    )
    assert code == 201
    return name


def configuration(kind: str, name: str, tag: str, client: dict, **hook) -> dict:  # type: ignore[no-untyped-def]
    webhook = {
        "name": f"{name}.h8.example.com",
        "clientConfig": client,
        "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"],
                   "resources": ["pods"]}],
        "namespaceSelector": {"matchLabels": {LABEL: tag}},
        "sideEffects": "None",
        "admissionReviewVersions": ["v1"],
        **hook,
    }  # fmt: skip
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": kind,
        "metadata": {"name": f"{name}-{uuid.uuid4().hex[:6]}"},
        "webhooks": [webhook],
    }


def install(http, config: dict) -> str:  # type: ignore[no-untyped-def]
    plural = config["kind"].lower() + "s"
    code, body = http("POST", f"/apis/admissionregistration.k8s.io/v1/{plural}", config)
    assert code == 201, body
    return f"/apis/admissionregistration.k8s.io/v1/{plural}/{config['metadata']['name']}"


def create_pod(http, ns: str, name: str, dry_run: bool = False, **labels: str):  # type: ignore[no-untyped-def]
    pod = {**POD, "metadata": {"name": name, "labels": labels}}
    query = "?dryRun=All" if dry_run else ""
    return http("POST", f"/api/v1/namespaces/{ns}/pods{query}", pod)


def eventually(check, timeout: float = 10.0):  # type: ignore[no-untyped-def]
    """Configurations reach the plugins through the watch cache: wait for them."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.05)


def test_namespace_lifecycle_and_default_tolerations(http, apiserver) -> None:  # type: ignore[no-untyped-def]
    code, body = http("DELETE", "/api/v1/namespaces/kube-system")
    assert code == 403
    assert (
        body["message"]
        == 'namespaces "kube-system" is forbidden: this namespace may not be deleted'
    )
    code, body = create_pod(http, "no-such-ns", "p")
    assert code == 404 and body["message"] == 'namespaces "no-such-ns" not found'
    ns = namespace(http, "life")
    assert create_pod(http, ns, "p")[0] == 201
    out = apiserver.kubectl("get", "pod", "p", "-n", ns, "-o", "jsonpath={.spec.tolerations}")
    assert json.loads(out.stdout) == [
        {"effect": "NoExecute", "key": "node.kubernetes.io/not-ready", "operator": "Exists", "tolerationSeconds": 300},
        {"effect": "NoExecute", "key": "node.kubernetes.io/unreachable", "operator": "Exists", "tolerationSeconds": 300},
    ]  # fmt: skip
    # the pod keeps the namespace Terminating until it is gone
    assert http("DELETE", f"/api/v1/namespaces/{ns}")[0] == 200
    code, body = create_pod(http, ns, "late")
    assert code == 403
    assert body["message"] == (
        f'pods "late" is forbidden: unable to create new content in namespace {ns} '
        "because it is being terminated"
    )
    assert body["details"]["causes"] == [{"reason": "NamespaceTerminating", "field": "metadata.namespace",
                                          "message": f"namespace {ns} is being terminated"}]  # fmt: skip


def test_a_webhook_mutates_and_another_denies_with_kubectl(
    http, hooks, apiserver, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    ns = namespace(http, "hooks")
    url = f"https://127.0.0.1:{hooks.port}"
    paths = [
        install(http, configuration("MutatingWebhookConfiguration", "sidecar", "hooks",
                                    {"url": url + "/mutate", "caBundle": hooks.ca_bundle})),
        install(http, configuration("ValidatingWebhookConfiguration", "deny", "hooks",
                                    {"url": url + "/validate", "caBundle": hooks.ca_bundle})),
    ]  # fmt: skip
    try:
        probe = eventually(lambda: len(create_pod(http, ns, "probe", dry_run=True)[1]["spec"]["containers"]) == 2)  # fmt: skip
        assert probe
        manifest = tmp_path / "pod.yaml"
        manifest.write_text(json.dumps({**POD, "metadata": {"name": "web", "namespace": ns}}))
        apiserver.kubectl("apply", "-f", str(manifest))
        got = json.loads(apiserver.kubectl("get", "pod", "web", "-n", ns, "-o", "json").stdout)
        assert got["metadata"]["labels"] == {"mutated-by": "webhook"}
        assert [c["name"] for c in got["spec"]["containers"]] == ["c", "sidecar"]
        # the webhook saw the defaulted object and who asked
        seen = [r for r in hooks.requests if r.get("namespace") == ns and not r["dryRun"]]
        assert seen[0]["userInfo"]["username"] == "admin"
        assert seen[0]["object"]["spec"]["restartPolicy"] == "Always"
        # the validating webhook sees the mutated pod and refuses it
        out = apiserver.kubectl(
            "run", "bad", "-n", ns, "--image=busybox", "--labels=deny=true", check=False
        )
        assert out.returncode != 0
        # ToStatusErr keeps the webhook's code (403) and reason (none here), so kubectl
        # prints no "(Forbidden)".
        assert out.stderr == (
            'Error from server: admission webhook "deny.h8.example.com" denied the '
            "request: pods labelled deny=true are not allowed\n"
        )
        assert apiserver.kubectl("get", "pod", "bad", "-n", ns, check=False).returncode != 0
        table = apiserver.kubectl(
            "get", "validatingwebhookconfigurations", paths[1].rsplit("/", 1)[1]
        )
        assert table.stdout.split()[:5] == [
            "NAME",
            "WEBHOOKS",
            "AGE",
            paths[1].rsplit("/", 1)[1],
            "1",
        ]
    finally:
        for p in paths:
            http("DELETE", p)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_failure_policy_timeout_and_bad_patch(http, hooks) -> None:  # type: ignore[no-untyped-def]
    port = _closed_port()
    ignore_ns, fail_ns = namespace(http, "ignore"), namespace(http, "fail")
    slow_ns, bad_ns = namespace(http, "slow"), namespace(http, "bad")
    dead = {"url": f"https://127.0.0.1:{port}/x", "caBundle": hooks.ca_bundle}
    base = f"https://127.0.0.1:{hooks.port}"
    paths = [
        install(http, configuration("ValidatingWebhookConfiguration", "ignore", "ignore", dead, failurePolicy="Ignore")),
        install(http, configuration("ValidatingWebhookConfiguration", "fail", "fail", dead)),
        install(http, configuration("ValidatingWebhookConfiguration", "slow", "slow",
                                    {"url": base + "/slow", "caBundle": hooks.ca_bundle}, timeoutSeconds=1)),
        install(http, configuration("MutatingWebhookConfiguration", "bad", "bad",
                                    {"url": base + "/badpatch", "caBundle": hooks.ca_bundle}, failurePolicy="Ignore")),
    ]  # fmt: skip
    try:
        code, body = eventually(lambda: (r := create_pod(http, fail_ns, "p", dry_run=True))[0] != 201 and r)  # fmt: skip
        assert code == 500 and body["reason"] == "InternalError"
        assert body["message"] == (
            f'Internal error occurred: failed calling webhook "fail.h8.example.com": failed to call '
            f'webhook: Post "https://127.0.0.1:{port}/x?timeout=10s": dial tcp 127.0.0.1:{port}: '
            "connect: connection refused"
        )
        assert create_pod(http, ignore_ns, "p")[0] == 201  # Ignore: the request goes on
        code, body = create_pod(http, slow_ns, "p")
        assert code == 500 and body["message"].endswith(
            '/slow?timeout=1s": context deadline exceeded'
        )
        # a patch that does not apply is a server error whatever the failurePolicy
        code, body = eventually(lambda: (r := create_pod(http, bad_ns, "p"))[0] != 201 and r)
        assert code == 500 and body["reason"] == "InternalError"
        assert http("GET", f"/api/v1/namespaces/{bad_ns}/pods/p")[0] == 404
        assert http("GET", f"/api/v1/namespaces/{fail_ns}/pods/p")[0] == 404
    finally:
        for p in paths:
            http("DELETE", p)


def test_reinvocation_if_needed(http, hooks) -> None:  # type: ignore[no-untyped-def]
    """A webhook with reinvocationPolicy IfNeeded runs again after a later one added a
    container, so its label counts the sidecar too (upstream's reinvocation)."""
    ns = namespace(http, "reinvoke")
    base = f"https://127.0.0.1:{hooks.port}"
    config = configuration("MutatingWebhookConfiguration", "count", "reinvoke",
                           {"url": base + "/count", "caBundle": hooks.ca_bundle},
                           reinvocationPolicy="IfNeeded")  # fmt: skip
    sidecar = configuration("MutatingWebhookConfiguration", "sidecar", "reinvoke",
                            {"url": base + "/mutate", "caBundle": hooks.ca_bundle})  # fmt: skip
    config["webhooks"].append(sidecar["webhooks"][0])
    path = install(http, config)
    try:
        mutated = eventually(
            lambda: create_pod(http, ns, "p", dry_run=True)[1]["spec"]["containers"][1:]
        )
        assert mutated, "the webhooks never saw the pod"
        hooks.counted.clear()
        code, pod = create_pod(http, ns, "p")
        assert code == 201, pod
        assert [c["name"] for c in pod["spec"]["containers"]] == ["c", "sidecar"]
        assert pod["metadata"]["labels"]["containers"] == "2"
        assert hooks.counted == [1, 2]  # called, then called again once the sidecar was in
    finally:
        http("DELETE", path)


def test_webhook_behind_a_service(http, hooks) -> None:  # type: ignore[no-untyped-def]
    """clientConfig.service: reached through the Service's Endpoints, checked as <svc>.<ns>.svc."""
    ns = namespace(http, "svc")
    http("POST", "/api/v1/namespaces", {"metadata": {"name": "wh"}})
    svc = {
        "metadata": {"name": "hooks"},
        "spec": {"ports": [{"port": 443, "targetPort": hooks.port}]},
    }
    http("POST", "/api/v1/namespaces/wh/services", svc)
    eps = {"metadata": {"name": "hooks"},
           "subsets": [{"addresses": [{"ip": "127.0.0.1"}], "ports": [{"port": hooks.port}]}]}  # fmt: skip
    http("POST", "/api/v1/namespaces/wh/endpoints", eps)
    client = {
        "service": {"namespace": "wh", "name": "hooks", "path": "/validate"},
        "caBundle": hooks.ca_bundle,
    }
    path = install(http, configuration("ValidatingWebhookConfiguration", "svc", "svc", client))
    try:
        code, body = eventually(lambda: (r := create_pod(http, ns, "p", dry_run=True, deny="true"))[0] != 201 and r)  # fmt: skip
        assert code == 403 and "pods labelled deny=true are not allowed" in body["message"]
        assert create_pod(http, ns, "ok")[0] == 201
    finally:
        http("DELETE", path)


def test_limit_ranger_with_kubectl(http, apiserver, tmp_path) -> None:  # type: ignore[no-untyped-def]
    ns = namespace(http, "limits")
    limits = {"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "cpu", "namespace": ns},
              "spec": {"limits": [{"type": "Container", "max": {"cpu": "1"}, "defaultRequest": {"cpu": "100m"}}]}}  # fmt: skip
    (tmp_path / "lr.yaml").write_text(json.dumps(limits))
    apiserver.kubectl("apply", "-f", str(tmp_path / "lr.yaml"))
    assert eventually(
        lambda: "limit-ranger" in json.dumps(create_pod(http, ns, "probe", dry_run=True)[1])
    )
    apiserver.kubectl("run", "small", "-n", ns, "--image=busybox")
    pod = json.loads(apiserver.kubectl("get", "pod", "small", "-n", ns, "-o", "json").stdout)
    assert pod["spec"]["containers"][0]["resources"] == {
        "limits": {"cpu": "1"},
        "requests": {"cpu": "100m"},
    }
    big = {**POD, "metadata": {"name": "big", "namespace": ns}}
    big["spec"] = {
        "containers": [{"name": "c", "image": "busybox", "resources": {"limits": {"cpu": "2"}}}]
    }
    (tmp_path / "big.yaml").write_text(json.dumps(big))
    out = apiserver.kubectl("apply", "-f", str(tmp_path / "big.yaml"), check=False)
    assert out.stderr.strip().endswith(
        'pods "big" is forbidden: maximum cpu usage per Container is 1, but limit is 2'
    )


def test_resource_quota_with_kubectl(http, apiserver) -> None:  # type: ignore[no-untyped-def]
    """kubectl create quota; the test plays the ResourceQuota controller (status.hard/used)."""
    ns = namespace(http, "quota")
    apiserver.kubectl("create", "quota", "q", "-n", ns, "--hard=pods=1,count/configmaps=5")
    # Until the controller fills status.hard a quota constrains nothing (as upstream);
    # with hard but no used yet, it refuses.
    path = f"/api/v1/namespaces/{ns}/resourcequotas/q"
    q = http("GET", path)[1]
    q["status"] = {"hard": q["spec"]["hard"]}
    assert http("PUT", path + "/status", q)[0] == 200
    assert eventually(lambda: create_pod(http, ns, "probe", dry_run=True)[0] == 403)
    out = apiserver.kubectl("run", "a", "-n", ns, "--image=busybox", check=False)
    assert out.stderr.strip() == (
        'Error from server (Forbidden): pods "a" is forbidden: status unknown for quota: q, '
        "resources: pods"
    )
    q = http("GET", path)[1]
    q["status"]["used"] = {"pods": "0", "count/pods": "0", "count/configmaps": "0"}
    assert http("PUT", path + "/status", q)[0] == 200
    assert eventually(lambda: create_pod(http, ns, "probe", dry_run=True)[0] == 201)
    apiserver.kubectl("run", "a", "-n", ns, "--image=busybox")
    out = apiserver.kubectl("run", "b", "-n", ns, "--image=busybox", check=False)
    assert out.stderr.strip() == (
        'Error from server (Forbidden): pods "b" is forbidden: exceeded quota: q, '
        "requested: pods=1, used: pods=1, limited: pods=1"
    )
    used = json.loads(apiserver.kubectl("get", "quota", "q", "-n", ns, "-o", "json").stdout)["status"]["used"]  # fmt: skip
    # only what the quota limits is charged (count/pods is not in hard)
    assert used == {"count/configmaps": "0", "count/pods": "0", "pods": "1"}
