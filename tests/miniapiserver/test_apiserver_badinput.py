"""Bad input gets upstream's Status (code, reason, message) and stores nothing.

Raw HTTP against the running server (urllib3, the Python client's transport),
so the exact bodies and codes can be checked.
"""

from __future__ import annotations

import json

import pytest
import urllib3

pytestmark = pytest.mark.tool("etcd")

CM = "/api/v1/namespaces/default/configmaps"


@pytest.fixture(scope="module")
def http(apiserver):  # type: ignore[no-untyped-def]
    pool = urllib3.PoolManager(ca_certs=apiserver.ca, cert_reqs="CERT_REQUIRED")

    def call(
        method: str,
        path: str,
        body: bytes | str | None = None,
        ctype: str = "application/json",
        token: str | None = apiserver.token,
    ):  # type: ignore[no-untyped-def]
        headers = {"Content-Type": ctype}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        r = pool.request(method, apiserver.url + path, body=body, headers=headers)
        return r.status, json.loads(r.data) if r.data.startswith(b"{") else r.data

    return call


def names(http) -> list[str]:  # type: ignore[no-untyped-def]
    status, body = http("GET", CM)
    assert status == 200
    return sorted(i["metadata"]["name"] for i in body["items"])


def cm(name: str, **extra: object) -> str:
    return json.dumps(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, **extra}
    )


BAD_CREATES = [
    ("malformed json", b'{"apiVersion": "v1", "kind": ', "application/json", 400, "BadRequest"),
    ("malformed yaml", b"kind: [unclosed", "application/yaml", 400, "BadRequest"),
    ("wrong kind", json.dumps({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}}), "application/json", 400, "BadRequest"),
    ("wrong api version", json.dumps({"apiVersion": "apps/v1", "kind": "ConfigMap", "metadata": {"name": "x"}}), "application/json", 400, "BadRequest"),
    ("not an object", b"[1, 2]", "application/json", 400, "BadRequest"),
    ("mistyped field", cm("x", data="not a map"), "application/json", 400, "BadRequest"),
    ("garbage protobuf", b"k8s\x00\x0a\xff", "application/vnd.kubernetes.protobuf", 400, "BadRequest"),
    ("invalid name", cm("Not_Valid"), "application/json", 422, "Invalid"),
    ("no name", json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}), "application/json", 422, "Invalid"),
    ("resourceVersion on create", cm("x") .replace('"name": "x"', '"name": "x", "resourceVersion": "5"'), "application/json", 400, "BadRequest"),
    ("unsupported media type", cm("x"), "text/plain", 415, "UnsupportedMediaType"),
    ("body over 3 MiB", cm("x", data={"k": "v" * (3 * 1024 * 1024)}), "application/json", 413, "RequestEntityTooLarge"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "body", "ctype", "code", "reason"), BAD_CREATES, ids=[c[0] for c in BAD_CREATES]
)
def test_bad_creates_store_nothing(
    http, case: str, body, ctype: str, code: int, reason: str
) -> None:  # type: ignore[no-untyped-def]
    before = names(http)
    status, out = http("POST", CM, body, ctype)
    assert (status, out["kind"], out["status"], out["reason"], out["code"]) == (
        code,
        "Status",
        "Failure",
        reason,
        code,
    )
    assert names(http) == before


def test_invalid_carries_causes(http) -> None:  # type: ignore[no-untyped-def]
    _, out = http("POST", CM, cm("Not_Valid"))
    assert out["message"].startswith(
        'ConfigMap "Not_Valid" is invalid: metadata.name: Invalid value: "Not_Valid"'
    )
    assert out["details"]["causes"][0]["field"] == "metadata.name"
    assert out["details"]["causes"][0]["reason"] == "FieldValueInvalid"


def test_stale_resource_version_is_conflict_and_keeps_the_object(http) -> None:  # type: ignore[no-untyped-def]
    _, made = http("POST", CM, cm("stale", data={"a": "1"}))
    rv = made["metadata"]["resourceVersion"]
    http(
        "PUT",
        f"{CM}/stale",
        cm("stale", data={"a": "2"}).replace(
            '"name": "stale"', f'"name": "stale", "resourceVersion": "{rv}"'
        ),
    )
    status, out = http(
        "PUT",
        f"{CM}/stale",
        cm("stale", data={"a": "3"}).replace(
            '"name": "stale"', f'"name": "stale", "resourceVersion": "{rv}"'
        ),
    )
    assert status == 409 and out["reason"] == "Conflict"
    assert out["message"] == (
        'Operation cannot be fulfilled on configmaps "stale": the object has been modified; '
        "please apply your changes to the latest version and try again"
    )
    _, now = http("GET", f"{CM}/stale")
    assert now["data"] == {"a": "2"}


def test_create_twice_is_already_exists(http) -> None:  # type: ignore[no-untyped-def]
    http("POST", CM, cm("twice"))
    status, out = http("POST", CM, cm("twice"))
    assert (status, out["reason"], out["message"]) == (
        409,
        "AlreadyExists",
        'configmaps "twice" already exists',
    )


@pytest.mark.parametrize(
    ("method", "path", "code", "reason"),
    [
        ("GET", "/api/v1/namespaces/default/frobs", 404, "NotFound"),
        ("GET", "/apis/nosuch.group/v1/things", 404, "NotFound"),
        ("GET", f"{CM}/none", 404, "NotFound"),
        ("GET", f"{CM}/x/exec", 404, "NotFound"),
        ("GET", "/api/v1/namespaces/default/pods/p/frob", 404, "NotFound"),
        ("DELETE", "/api/v1/namespaces", 405, "MethodNotAllowed"),
        ("POST", "/api/v1/namespaces/default/pods/p/status", 405, "MethodNotAllowed"),
        ("GET", f"{CM}?labelSelector=a%3D%3D%3Db", 400, "BadRequest"),
        ("GET", f"{CM}?fieldSelector=data.x%3Dy", 400, "BadRequest"),
        ("GET", f"{CM}?limit=1&continue=bm90LWEtdG9rZW4", 400, "BadRequest"),
        ("GET", f"{CM}?resourceVersion=abc", 400, "BadRequest"),
        # a resourceVersion ahead of the cache (504) is test_apiserver_restart_consistency's
    ],
)
def test_bad_paths_and_queries(http, method: str, path: str, code: int, reason: str) -> None:  # type: ignore[no-untyped-def]
    status, out = http(method, path, b"" if method == "POST" else None)
    assert (status, out["reason"], out["code"]) == (code, reason, code)


def test_unknown_resource_message(http) -> None:  # type: ignore[no-untyped-def]
    _, out = http("GET", "/api/v1/namespaces/default/frobs")
    assert out["message"] == "the server could not find the requested resource"


def test_patch_errors(http) -> None:  # type: ignore[no-untyped-def]
    http("POST", CM, cm("pt", data={"a": "1"}))
    status, out = http(
        "PATCH",
        f"{CM}/pt",
        b'[{"op": "remove", "path": "/data/nope"}]',
        "application/json-patch+json",
    )
    assert (status, out["reason"]) == (422, "Invalid")
    status, out = http("PATCH", f"{CM}/pt", b"{}", "application/apply-patch+yaml")
    assert (status, out["reason"]) == (415, "UnsupportedMediaType")
    status, out = http("PATCH", f"{CM}/missing", b"{}", "application/merge-patch+json")
    assert (status, out["reason"]) == (404, "NotFound")
    _, now = http("GET", f"{CM}/pt")
    assert now["data"] == {"a": "1"}


@pytest.mark.parametrize("token", [None, "wrong-token"], ids=["no credentials", "wrong token"])
def test_unauthenticated_is_401(http, token) -> None:  # type: ignore[no-untyped-def]
    before = names(http)
    status, out = http("POST", CM, cm("sneaky"), token=token)
    assert (status, out["reason"], out["message"]) == (401, "Unauthorized", "Unauthorized")
    assert names(http) == before
    # This server runs --authorization-mode=AlwaysAllow, which turns --anonymous-auth off as
    # upstream does: /healthz and /version need credentials too (with RBAC, anonymous
    # requests read them through system:public-info-viewer: test_apiserver_anonymous.py).
    assert http("GET", "/healthz", token=token)[0] == 401
    assert http("GET", "/version", token=token)[0] == 401


def test_missing_namespace(http) -> None:  # type: ignore[no-untyped-def]
    status, out = http("POST", "/api/v1/namespaces/nowhere/configmaps", cm("x"))
    assert (status, out["reason"], out["message"]) == (
        404,
        "NotFound",
        'namespaces "nowhere" not found',
    )


def test_metrics_count_requests(http) -> None:  # type: ignore[no-untyped-def]
    http("GET", f"{CM}/none")
    status, text = http("GET", "/metrics")
    assert status == 200
    assert (
        b'apiserver_request_total{code="404",component="apiserver",dry_run="",group="",resource="configmaps"'
        in text
    )
    assert b"apiserver_request_duration_seconds_bucket" in text


def test_x509_client_certificate_authenticates(apiserver, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """CN is the user, O the groups; the TLS layer checks the chain against the CA."""
    from pathlib import Path

    from miniapiserver.auth.certs import client_certificate

    pki = Path(apiserver.workdir, "pki")
    cert, key = client_certificate(pki / "ca.crt", pki / "ca.key", "alice", ("devs",))
    (tmp_path / "c.crt").write_bytes(cert)
    (tmp_path / "c.key").write_bytes(key)
    pool = urllib3.PoolManager(
        ca_certs=apiserver.ca, cert_file=str(tmp_path / "c.crt"), key_file=str(tmp_path / "c.key")
    )
    assert pool.request("GET", apiserver.url + CM).status == 200
    assert (
        urllib3.PoolManager(ca_certs=apiserver.ca).request("GET", apiserver.url + CM).status == 401
    )
