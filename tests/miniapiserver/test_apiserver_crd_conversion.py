"""A CRD with a conversion webhook: a real aiohttp HTTPS peer converts between versions.

The CRD serves v1alpha1 (`spec.size: "3x4"`) and v1 (`spec.width`, `spec.height`, the
storage version); the webhook, behind its own CA passed as caBundle, answers
ConversionReview v1 the way any conversion webhook does. Objects created in one version
read back, list and watch in the other (kubectl and raw REST); a webhook that is down or
that answers a malformed review turns into upstream's 500 InternalError texts, and a
refused create stores nothing. The pure part checks the response rules of
webhook_converter.go (uid, status, count, apiVersion, metadata).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
import time
import uuid

import pytest
import urllib3
from aiohttp import web

from miniapiserver.apiextensions import conversion as conv

from .admission_plugin_server import plugin_server
from .https_peer import HttpsPeer

SUFFIX = uuid.uuid4().hex[:6]
GROUP = f"conv{SUFFIX}.example.com"
PLURAL = "shapes"
NS = "default"


def to_v1(obj: dict) -> dict:
    width, height = obj["spec"].pop("size").split("x")
    obj["spec"].update(width=int(width), height=int(height))
    return obj


def to_v1alpha1(obj: dict) -> dict:
    spec = obj["spec"]
    spec["size"] = f"{spec.pop('width')}x{spec.pop('height')}"
    return obj


class ConversionWebhook(HttpsPeer):
    """An aiohttp HTTPS conversion webhook on its own thread and event loop."""

    def __init__(self, workdir: str) -> None:
        self.reviews: list[dict] = []
        routes = {"/convert": self.convert, "/wronguid": self.wrong_uid,
                  "/notjson": self.not_json, "/rename": self.rename}  # fmt: skip
        super().__init__(workdir, routes)

    def converted(self, req: dict) -> list[dict]:
        out = []
        for obj in req["objects"]:
            obj = dict(obj, spec=dict(obj["spec"]))
            if req["desiredAPIVersion"].endswith("/v1"):
                obj = to_v1(obj)
            else:
                obj = to_v1alpha1(obj)
            obj["apiVersion"] = req["desiredAPIVersion"]
            out.append(obj)
        return out

    @staticmethod
    def answer(uid: str, objects: list[dict]) -> web.Response:
        response = {"uid": uid, "result": {"status": "Success"}, "convertedObjects": objects}
        return web.json_response(
            {"apiVersion": "apiextensions.k8s.io/v1", "kind": "ConversionReview",
             "response": response}
        )  # fmt: skip

    async def convert(self, http: web.Request) -> web.Response:
        review = await http.json()
        self.reviews.append(review["request"])
        req = review["request"]
        return self.answer(req["uid"], self.converted(req))

    async def wrong_uid(self, http: web.Request) -> web.Response:
        req = (await http.json())["request"]
        return self.answer("not-" + req["uid"], self.converted(req))

    async def not_json(self, http: web.Request) -> web.Response:
        return web.Response(text="<html>oops</html>", content_type="text/html")

    async def rename(self, http: web.Request) -> web.Response:
        req = (await http.json())["request"]
        objects = self.converted(req)
        for o in objects:
            o["metadata"] = {**o["metadata"], "name": "other"}
        return self.answer(req["uid"], objects)


@pytest.fixture(scope="module")
def hook():  # type: ignore[no-untyped-def]
    workdir = tempfile.mkdtemp(prefix=f"h13-conversion-{os.getpid()}-")
    server = ConversionWebhook(workdir)
    try:
        yield server
    finally:
        server.close()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="module")
def apiserver(request):  # type: ignore[no-untyped-def]
    """The shared test server (admission_plugin_server.py): any server would do."""
    return plugin_server(request.config).proc


@pytest.fixture(scope="module")
def http(apiserver):  # type: ignore[no-untyped-def]
    pool = urllib3.PoolManager(ca_certs=apiserver.ca, cert_reqs="CERT_REQUIRED")

    def call(method: str, path: str, body=None, raw: bool = False, ctype: str = ""):  # type: ignore[no-untyped-def]
        headers = {"Authorization": f"Bearer {apiserver.token}",
                   "Content-Type": ctype or "application/json"}  # fmt: skip
        data = json.dumps(body).encode() if body is not None else None
        r = pool.request(method, apiserver.url + path, body=data, headers=headers, timeout=30)
        return r.status, (r.data if raw else json.loads(r.data) if r.data else {})

    return call


def crd(url: str, ca_bundle: str) -> dict:
    def version(name: str, storage: bool, props: dict) -> dict:
        schema = {"type": "object", "properties": {"spec": {"type": "object", "properties": props}}}
        return {"name": name, "served": True, "storage": storage,
                "schema": {"openAPIV3Schema": schema}}  # fmt: skip

    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{PLURAL}.{GROUP}"},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {"plural": PLURAL, "singular": "shape", "kind": "Shape"},
            "versions": [
                version("v1alpha1", False, {"size": {"type": "string"}}),
                version("v1", True, {"width": {"type": "integer"}, "height": {"type": "integer"}}),
            ],
            "conversion": {
                "strategy": "Webhook",
                "webhook": {
                    "conversionReviewVersions": ["v1"],
                    "clientConfig": {"url": url, "caBundle": ca_bundle},
                },
            },  # fmt: skip
        },
    }


def path(version: str, name: str = "") -> str:
    base = f"/apis/{GROUP}/{version}/namespaces/{NS}/{PLURAL}"
    return f"{base}/{name}" if name else base


def eventually(check, timeout: float = 15.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.05)


def shape(version: str, name: str, **spec) -> dict:  # type: ignore[no-untyped-def]
    return {"apiVersion": f"{GROUP}/{version}", "kind": "Shape", "metadata": {"name": name},
            "spec": spec}  # fmt: skip


@pytest.fixture(scope="module")
def served(http, hook):  # type: ignore[no-untyped-def]
    body = crd(f"https://127.0.0.1:{hook.port}/convert", hook.ca_bundle)
    code, got = http("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", body)
    assert code == 201, got
    assert eventually(lambda: http("GET", path("v1alpha1"))[0] == 200)
    yield f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{PLURAL}.{GROUP}"
    http("DELETE", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{PLURAL}.{GROUP}")


@pytest.mark.tool("kubectl", "etcd")
def test_read_list_watch_in_both_versions(apiserver, http, hook, served) -> None:  # type: ignore[no-untyped-def]
    code, made = http("POST", path("v1alpha1"), shape("v1alpha1", "a", size="3x4", junk=1))
    assert code == 201, made
    assert made["apiVersion"] == f"{GROUP}/v1alpha1" and made["spec"] == {"size": "3x4"}
    # Converted to the storage version for the write, and back for the answer.
    wanted = [r["desiredAPIVersion"] for r in hook.reviews[-2:]]
    assert wanted == [f"{GROUP}/v1", f"{GROUP}/v1alpha1"]
    code, got = http("GET", path("v1", "a"))
    assert got["apiVersion"] == f"{GROUP}/v1" and got["spec"] == {"width": 3, "height": 4}
    assert got["metadata"]["uid"] == made["metadata"]["uid"]
    apiserver.kubectl("apply", "-f", "-", stdin=json.dumps(shape("v1", "b", width=5, height=6)))
    out = apiserver.kubectl("get", f"{PLURAL}.v1alpha1.{GROUP}", "b", "-o", "json").stdout
    assert json.loads(out)["spec"] == {"size": "5x6"}
    before = len(hook.reviews)
    code, listed = http("GET", path("v1alpha1"))
    assert sorted(i["spec"]["size"] for i in listed["items"]) == ["3x4", "5x6"]
    assert len(hook.reviews) == before + 1 and len(hook.reviews[-1]["objects"]) == 2
    out = apiserver.kubectl("get", f"{PLURAL}.v1.{GROUP}", "-o", "json").stdout
    assert sorted(i["spec"]["width"] for i in json.loads(out)["items"]) == [3, 5]
    # An update in v1alpha1 (merge patch on the converted object) reads back in v1.
    code, got = http("PATCH", path("v1alpha1", "a"), {"spec": {"size": "7x8"}},
                     ctype="application/merge-patch+json")  # fmt: skip
    assert code == 200 and got["spec"] == {"size": "7x8"}
    assert http("GET", path("v1", "a"))[1]["spec"] == {"width": 7, "height": 8}
    rv = listed["metadata"]["resourceVersion"]
    for version, want in (("v1alpha1", {"size": "7x8"}), ("v1", {"width": 7, "height": 8})):
        code, raw = http("GET", f"{path(version)}?watch=true&resourceVersion={rv}"
                         "&timeoutSeconds=1", raw=True)  # fmt: skip
        events = [json.loads(line) for line in raw.splitlines() if line.strip()]
        assert events[-1]["type"] == "MODIFIED" and events[-1]["object"]["spec"] == want
        assert events[-1]["object"]["apiVersion"] == f"{GROUP}/{version}"


def point_to(http, served, url: str, works: bool = False) -> None:  # type: ignore[no-untyped-def]
    """Change the webhook URL, then wait until the server converts through the new one."""
    patch = {"spec": {"conversion": {"webhook": {"clientConfig": {"url": url}}}}}
    code, got = http("PATCH", served, patch, ctype="application/merge-patch+json")
    assert code == 200, got

    def switched() -> bool:
        code, body = http("GET", path("v1alpha1", "a"))
        return (code == 200) == works

    assert eventually(switched)


@pytest.mark.tool("etcd")
def test_webhook_failures_are_status_errors(http, hook, served) -> None:  # type: ignore[no-untyped-def]
    if http("GET", path("v1", "a"))[0] == 404:
        assert http("POST", path("v1", "a"), shape("v1", "a", width=7, height=8))[0] == 201
    base = f"https://127.0.0.1:{hook.port}"
    gvk = f"{GROUP}/v1, Kind=Shape"
    point_to(http, served, f"{base}/wronguid")
    code, body = http("GET", path("v1alpha1", "a"))
    assert code == 500 and body["reason"] == "InternalError"
    assert body["message"].startswith(
        f"Internal error occurred: conversion webhook for {gvk} failed: expected response.uid="
    )
    point_to(http, served, f"{base}/notjson")
    code, body = http("GET", path("v1alpha1"))
    assert code == 500
    assert body["message"].startswith(
        f"Internal error occurred: conversion webhook for {gvk}List failed: "
    )
    point_to(http, served, f"{base}/rename")
    code, body = http("GET", path("v1alpha1", "a"))
    assert body["message"] == (
        f"Internal error occurred: conversion webhook for {gvk} returned invalid object: "
        "must have the same name: a != other"
    )
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    point_to(http, served, f"https://127.0.0.1:{closed}/convert")
    code, body = http("POST", path("v1alpha1"), shape("v1alpha1", "c", size="1x1"))
    assert code == 500
    assert body["message"] == (
        f"Internal error occurred: conversion webhook for {GROUP}/v1alpha1, Kind=Shape failed: "
        f'Post "https://127.0.0.1:{closed}/convert?timeout=30s": dial tcp 127.0.0.1:{closed}: '
        "connect: connection refused"
    )
    assert http("GET", path("v1", "c"))[0] == 404  # nothing half-written
    # A watch in v1alpha1 cannot convert its events: one ERROR event, then the end.
    code, raw = http("GET", f"{path('v1alpha1')}?watch=true&resourceVersion=0", raw=True)
    [event] = [json.loads(line) for line in raw.splitlines() if line.strip()]
    assert event["type"] == "ERROR" and event["object"]["code"] == 500
    assert "connect: connection refused" in event["object"]["message"]
    assert http("GET", path("v1", "a"))[0] == 200  # the storage version needs no webhook
    point_to(http, served, f"{base}/convert", works=True)


def test_response_rules() -> None:
    ok = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "ConversionReview",
          "response": {"uid": "u", "result": {"status": "Success"}, "convertedObjects": [{}]}}  # fmt: skip
    assert conv.converted_objects(json.dumps(ok).encode(), "u") == [{}]
    cases = [
        ({**ok, "apiVersion": "apiextensions.k8s.io/v1beta1"},
         "failed: expected webhook response of apiextensions.k8s.io/v1, Kind=ConversionReview, "
         "got apiextensions.k8s.io/v1beta1, Kind=ConversionReview"),
        ({**ok, "response": None}, "failed: no response provided"),
        ({**ok, "response": {**ok["response"], "result": {"status": "Failure"}}},
         "failed: response.result.status was 'Failure', not 'Success'"),
        ({**ok, "response": {**ok["response"], "result": {"status": "Failure", "message": "no"}}},
         "failed: no"),
    ]  # fmt: skip
    for review, message in cases:
        with pytest.raises(conv.ConvertError) as e:
            conv.converted_objects(json.dumps(review).encode(), "u")
        assert str(e.value) == message
    original = {"apiVersion": "g/v1", "kind": "K",
                "metadata": {"name": "n", "uid": "1", "resourceVersion": "5", "labels": {"a": "b"}}}  # fmt: skip
    converted = {"apiVersion": "g/v2", "kind": "K",
                 "metadata": {"name": "n", "uid": "1", "resourceVersion": "9",
                              "labels": {"a": "c"}, "annotations": {"x": "y"}}}  # fmt: skip
    out = conv.check_converted(original, converted, "g/v2", 0, False)
    assert out["metadata"] == {"name": "n", "uid": "1", "resourceVersion": "5",
                               "labels": {"a": "c"}, "annotations": {"x": "y"}}  # fmt: skip
    with pytest.raises(
        conv.ConvertError, match=r"invalid groupVersion \(expected g/v3, received g/v2\)"
    ):
        conv.check_converted(original, converted, "g/v3", 0, False)
    bad = {**converted, "metadata": {**converted["metadata"], "labels": {"a": "no space"}}}
    with pytest.raises(
        conv.ConvertError, match=r"returned invalid metadata: metadata.labels: Invalid value"
    ):
        conv.check_converted(original, bad, "g/v2", 0, False)


def test_conversion_spec_validation(http) -> None:  # type: ignore[no-untyped-def]
    """validateCustomResourceConversion's rules, through the real server (422, nothing stored)."""
    body = crd("https://127.0.0.1:1/convert", "")
    body["metadata"]["name"] = f"bad{PLURAL}.{GROUP}"
    body["spec"]["names"] = {"plural": f"bad{PLURAL}", "kind": "BadShape"}
    body["spec"]["conversion"]["webhook"]["conversionReviewVersions"] = ["v9"]
    crds = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    code, got = http("POST", crds, body)
    assert code == 422
    assert (
        'spec.conversion.conversionReviewVersions: Invalid value: []string{"v9"}: must '
        "include at least one of v1, v1beta1" in got["message"]
    )
    body["spec"]["conversion"] = {"strategy": "None", "webhook": {
        "clientConfig": {"url": "https://x"}}}  # fmt: skip
    code, got = http("POST", crds, body)
    assert (
        code == 422
        and (
            "spec.conversion.webhookClientConfig: Forbidden: should not be set when strategy is not "
            "set to Webhook"
        )
        in got["message"]
    )
    body["spec"]["conversion"] = {"strategy": "Webhook", "webhook": {
        "conversionReviewVersions": ["v1"]}}  # fmt: skip
    code, got = http("POST", crds, body)
    assert (
        code == 422
        and (
            "spec.conversion.webhookClientConfig: Required value: required when strategy is set to "
            "Webhook"
        )
        in got["message"]
    )
    assert http("GET", f"{crds}/bad{PLURAL}.{GROUP}")[0] == 404
