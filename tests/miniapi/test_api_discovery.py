"""Discovery documents built from the scheme, read back by the Python client.

Mirrors the shapes k8s.io/apiserver/pkg/endpoints/discovery serves (and that
kubectl's discovery client and the Python client parse).
"""

from __future__ import annotations

import kubernetes

from miniapi import discoverydocs, scheme


def by_name(rl: dict) -> dict[str, dict]:
    """Resources by name, empty fields dropped (discovery documents are written in full)."""
    return {r["name"]: {k: v for k, v in r.items() if v not in ("", [])} for r in rl["resources"]}


def test_core_v1_resources() -> None:
    rl = scheme.encode(discoverydocs.api_resource_list("v1"))
    assert rl["groupVersion"] == "v1" and rl["kind"] == "APIResourceList"
    res = by_name(rl)
    assert res["pods"] == {
        "name": "pods",
        "singularName": "pod",
        "namespaced": True,
        "kind": "Pod",
        "verbs": [
            "create",
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "update",
            "watch",
        ],
        "shortNames": ["po"],
        "categories": ["all"],
    }
    assert res["pods/status"]["verbs"] == ["get", "patch", "update"]
    assert res["pods/eviction"] == {
        "name": "pods/eviction",
        "namespaced": True,
        "group": "policy",
        "version": "v1",
        "kind": "Eviction",
        "verbs": ["create"],
    }
    assert res["bindings"]["verbs"] == ["create"]
    assert res["nodes"]["namespaced"] is False


def test_groups_and_versions() -> None:
    groups = scheme.encode(discoverydocs.api_group_list())["groups"]
    names = [g["name"] for g in groups]
    assert names == sorted(names) and "" not in names
    assert {
        "apps",
        "discovery.k8s.io",
        "rbac.authorization.k8s.io",
        "apiextensions.k8s.io",
    } <= set(names)
    apps = next(g for g in groups if g["name"] == "apps")
    assert apps["preferredVersion"] == {"groupVersion": "apps/v1", "version": "v1"}
    assert scheme.encode(discoverydocs.api_versions("10.0.0.1:6443")) == {
        "apiVersion": "v1",
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": "10.0.0.1:6443"}
        ],
    }


def test_python_client_reads_discovery() -> None:
    client = kubernetes.client.ApiClient()
    for gv in ("v1", "apps/v1", "discovery.k8s.io/v1", "rbac.authorization.k8s.io/v1"):
        body = scheme.to_json(discoverydocs.api_resource_list(gv)).decode()
        typed = client.deserialize(body, "V1APIResourceList", "application/json")
        assert typed.group_version == gv and typed.resources
    groups = client.deserialize(
        scheme.to_json(discoverydocs.api_group_list()).decode(),
        "V1APIGroupList",
        "application/json",
    )
    assert any(g.name == "apps" for g in groups.groups)
    versions = client.deserialize(
        scheme.to_json(discoverydocs.api_versions("h:1")).decode(),
        "V1APIVersions",
        "application/json",
    )
    assert versions.versions == ["v1"]
