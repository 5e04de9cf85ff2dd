"""RequestInfo resolution, as a table (cases from upstream's requestinfo_test.go, reworded)."""

from __future__ import annotations

import pytest

from miniapiserver.endpoints.requestinfo import new_request_info

CASES = [
    # method, path, query -> verb, group, version, namespace, resource, subresource, name
    ("GET", "/api/v1/namespaces", "", ("list", "", "v1", "", "namespaces", "", "")),
    ("GET", "/api/v1/namespaces/other", "", ("get", "", "v1", "other", "namespaces", "", "other")),
    ("GET", "/api/v1/namespaces/other/pods", "", ("list", "", "v1", "other", "pods", "", "")),
    ("GET", "/api/v1/namespaces/other/pods/foo", "", ("get", "", "v1", "other", "pods", "", "foo")),
    ("GET", "/api/v1/namespaces/other/pods/foo/status", "", ("get", "", "v1", "other", "pods", "status", "foo")),
    ("GET", "/api/v1/pods", "", ("list", "", "v1", "", "pods", "", "")),
    ("GET", "/api/v1/pods", "watch=true", ("watch", "", "v1", "", "pods", "", "")),
    ("GET", "/api/v1/pods", "watch=1&fieldSelector=metadata.name%3Dp", ("watch", "", "v1", "", "pods", "", "p")),
    ("GET", "/api/v1/namespaces/ns/pods", "watch=false", ("list", "", "v1", "ns", "pods", "", "")),
    ("POST", "/api/v1/namespaces/other/pods", "", ("create", "", "v1", "other", "pods", "", "")),
    ("PUT", "/api/v1/namespaces/other/pods/foo", "", ("update", "", "v1", "other", "pods", "", "foo")),
    ("PATCH", "/apis/apps/v1/namespaces/a/deployments/d/scale", "", ("patch", "apps", "v1", "a", "deployments", "scale", "d")),
    ("DELETE", "/api/v1/namespaces/other/pods/foo", "", ("delete", "", "v1", "other", "pods", "", "foo")),
    ("DELETE", "/api/v1/namespaces/other/pods", "", ("deletecollection", "", "v1", "other", "pods", "", "")),
    ("PUT", "/api/v1/namespaces/ns/finalize", "", ("update", "", "v1", "ns", "namespaces", "finalize", "ns")),
    ("GET", "/apis/rbac.authorization.k8s.io/v1/clusterroles/admin", "", ("get", "rbac.authorization.k8s.io", "v1", "", "clusterroles", "", "admin")),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "query", "want"), CASES)
def test_resource_requests(method: str, path: str, query: str, want: tuple) -> None:
    ri = new_request_info(method, path, query)
    assert ri.is_resource_request
    got = (
        ri.verb,
        ri.api_group,
        ri.api_version,
        ri.namespace,
        ri.resource,
        ri.subresource,
        ri.name,
    )
    assert got == want


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/api",
        "/apis",
        "/apis/apps",
        "/api/v1",
        "/apis/apps/v1",
        "/healthz",
        "/version",
        "/openapi/v3",
    ],
)
def test_non_resource_requests(path: str) -> None:
    ri = new_request_info("GET", path)
    assert not ri.is_resource_request
    assert ri.verb == "get"
