"""CustomResourceDefinitions on a real miniapiserver, through kubectl and the Python client.

A CRD applied with kubectl is served (discovery, CRUD, Table columns), its
schema rejects bad objects with upstream's messages, prunes and defaults, the
status subresource splits status from spec, two versions share one stored
object, and deleting the CRD removes its objects.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import subprocess
import threading
import time

import pytest
import yaml

pytestmark = pytest.mark.tool("etcd", "kubectl", "etcdctl")


def crd(group: str, versions: list[dict], plural: str = "websites") -> str:
    kind = plural[:-1].capitalize()
    doc = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"plural": plural, "singular": plural[:-1], "kind": kind,
                      "shortNames": [plural[:2] + "x"]},
            "versions": versions,
        },
    }  # fmt: skip
    return yaml.safe_dump(doc)


SCHEMA = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "required": ["image"],
            "properties": {
                "image": {"type": "string", "minLength": 1},
                "replicas": {"type": "integer", "minimum": 0, "maximum": 10, "default": 1},
                "mode": {"type": "string", "enum": ["static", "dynamic"], "default": "static"},
                "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            },
        },
        "status": {"type": "object", "properties": {"ready": {"type": "integer"}}},
    },
}


def version(name: str, storage: bool = True) -> dict:
    return {
        "name": name, "served": True, "storage": storage,
        "schema": {"openAPIV3Schema": SCHEMA},
        "subresources": {"status": {}, "scale": {
            "specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.ready"}},
        "additionalPrinterColumns": [
            {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"},
            {"name": "Mode", "type": "string", "jsonPath": ".spec.mode"},
        ],
    }  # fmt: skip


def website(group: str, name: str, spec: dict, v: str = "v1") -> str:
    return json.dumps(
        {"apiVersion": f"{group}/{v}", "kind": "Website", "metadata": {"name": name}, "spec": spec}
    )


def wait_for(check, timeout: float = 20.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def install(apiserver, group: str, versions: list[dict]) -> None:  # type: ignore[no-untyped-def]
    apiserver.kubectl("apply", "-f", "-", stdin=crd(group, versions))
    apiserver.kubectl(
        "wait", "--for=condition=Established", f"crd/websites.{group}", "--timeout=20s"
    )

    def served() -> bool:
        out = apiserver.kubectl("get", f"websites.{group}", check=False)
        return out.returncode == 0

    assert wait_for(served)


def test_crd_conditions_discovery_crud_and_columns(apiserver) -> None:  # type: ignore[no-untyped-def]
    k, group = apiserver.kubectl, "crud.example.com"
    install(apiserver, group, [version("v1")])
    got = json.loads(k("get", "crd", f"websites.{group}", "-o", "json").stdout)
    conds = {c["type"]: c["status"] for c in got["status"]["conditions"]}
    assert conds == {"NamesAccepted": "True", "Established": "True"}
    assert got["status"]["acceptedNames"]["kind"] == "Website"
    assert got["status"]["storedVersions"] == ["v1"]
    assert "customresourcecleanup.apiextensions.k8s.io" in got["metadata"]["finalizers"]
    resources = k("api-resources", f"--api-group={group}").stdout
    assert "websites" in resources and "wex" in resources and "Website" in resources

    spec = {"image": "nginx", "junk": 1, "extra": {"anything": {"goes": True}}}
    # kubectl's default --validate=strict: the server refuses unknown fields (400) ...
    out = k("apply", "-f", "-", stdin=website(group, "blog", spec), check=False)
    assert out.returncode != 0
    assert (
        'Website in version "v1" cannot be handled as a Website: '
        'strict decoding error: unknown field "spec.junk"'
    ) in out.stderr
    # ... and without it they are pruned
    k("apply", "--validate=false", "-f", "-", stdin=website(group, "blog", spec))
    obj = json.loads(k("get", f"websites.{group}", "blog", "-o", "json").stdout)
    # pruned (junk), defaulted (replicas, mode), preserved (extra)
    assert obj["spec"] == {"image": "nginx", "replicas": 1, "mode": "static",
                           "extra": {"anything": {"goes": True}}}  # fmt: skip
    assert obj["metadata"]["generation"] == 1
    # by kind (singular) too, and as YAML
    as_yaml = yaml.safe_load(k("get", f"Website.{group}", "blog", "-o", "yaml").stdout)
    assert as_yaml == obj

    k("patch", f"websites.{group}", "blog", "--type", "merge", "-p", '{"spec":{"replicas":3}}')
    table = k("get", f"websites.{group}").stdout.splitlines()
    assert table[0].split() == ["NAME", "REPLICAS", "MODE"]
    assert table[1].split() == ["blog", "3", "static"]
    assert k("get", "wex", "blog", "-o", "jsonpath={.metadata.generation}").stdout == "2"
    selected = k("get", f"websites.{group}", "--field-selector=metadata.name=blog", "-o", "name")
    assert selected.stdout.split() == [f"website.{group}/blog"]

    out = k("patch", f"websites.{group}", "blog", "-p", '{"spec":{"replicas":4}}', check=False)
    assert out.returncode != 0
    assert (
        "the body of the request was in an unknown format - accepted media types include: "
        "application/json-patch+json, application/merge-patch+json"
    ) in out.stderr
    k("delete", f"websites.{group}", "blog")
    assert "No resources found" in k("get", f"websites.{group}").stderr


def test_schema_rejects_with_upstream_messages(apiserver) -> None:  # type: ignore[no-untyped-def]
    k, group = apiserver.kubectl, "schema.example.com"
    install(apiserver, group, [version("v1")])
    cases = [
        ({"image": "x", "replicas": "two"}, 'spec.replicas: Invalid value: "string": '
         'spec.replicas in body must be of type integer: "string"'),
        ({"image": "x", "replicas": 11}, "spec.replicas: Invalid value: 11: "
         "spec.replicas in body should be less than or equal to 10"),
        ({"image": "x", "mode": "odd"}, 'spec.mode: Unsupported value: "odd": '
         'supported values: "static", "dynamic"'),
        ({"replicas": 1}, "spec.image: Required value"),
        ({"image": ""}, 'spec.image: Invalid value: "": '
         "spec.image in body should be at least 1 chars long"),
    ]  # fmt: skip
    for spec, message in cases:
        out = k("create", "-f", "-", stdin=website(group, "bad", spec), check=False)
        assert out.returncode != 0
        assert f'The Website "bad" is invalid: {message}' in out.stderr, out.stderr
    assert "No resources found" in k("get", f"websites.{group}").stderr


def test_status_subresource(apiserver) -> None:  # type: ignore[no-untyped-def]
    k, group = apiserver.kubectl, "status.example.com"
    install(apiserver, group, [version("v1")])
    k("create", "-f", "-", stdin=website(group, "s", {"image": "a"}))
    res = f"websites.{group}"
    k("patch", res, "s", "--subresource=status", "--type=merge",
      "-p", '{"status":{"ready":2},"spec":{"image":"ignored"}}')  # fmt: skip
    obj = json.loads(k("get", res, "s", "-o", "json").stdout)
    assert obj["status"] == {"ready": 2} and obj["spec"]["image"] == "a"
    assert obj["metadata"]["generation"] == 1
    k("patch", res, "s", "--type=merge", "-p", '{"status":{"ready":9},"spec":{"image":"b"}}')
    obj = json.loads(k("get", res, "s", "-o", "json").stdout)
    assert obj["status"] == {"ready": 2} and obj["spec"]["image"] == "b"
    assert obj["metadata"]["generation"] == 2
    # scale: spec.replicas through specReplicasPath, status.replicas from statusReplicasPath
    k("scale", res, "s", "--replicas=7")
    scale = json.loads(
        k("get", "--raw", f"/apis/{group}/v1/namespaces/default/websites/s/scale").stdout
    )
    assert (scale["kind"], scale["spec"], scale["status"]) == (
        "Scale",
        {"replicas": 7},
        {"replicas": 2},
    )
    assert json.loads(k("get", res, "s", "-o", "json").stdout)["spec"]["replicas"] == 7


def test_two_versions_one_storage_version(apiserver) -> None:  # type: ignore[no-untyped-def]
    k, group = apiserver.kubectl, "versions.example.com"
    beta = version("v1beta1", storage=False)
    beta["schema"] = copy.deepcopy(beta["schema"])
    beta["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["replicas"]["maximum"] = 5
    install(apiserver, group, [beta, version("v1")])
    # each write is validated with its own version's schema
    out = k("create", "-f", "-", stdin=website(group, "big", {"image": "a", "replicas": 7},
            v="v1beta1"), check=False)  # fmt: skip
    assert "spec.replicas in body should be less than or equal to 5" in out.stderr, out.stderr
    k("create", "-f", "-", stdin=website(group, "big", {"image": "a", "replicas": 7}))
    big = json.loads(k("get", f"websites.v1beta1.{group}", "big", "-o", "json").stdout)
    assert (big["apiVersion"], big["spec"]["replicas"]) == (f"{group}/v1beta1", 7)
    k("create", "-f", "-", stdin=website(group, "old", {"image": "a"}, v="v1beta1"))
    for v in ("v1beta1", "v1"):
        obj = json.loads(k("get", f"websites.{v}.{group}", "old", "-o", "json").stdout)
        assert obj["apiVersion"] == f"{group}/{v}"
        assert obj["spec"]["replicas"] == 1
    etcd = apiserver.proc.args[apiserver.proc.args.index("--etcd-servers") + 1]
    stored = subprocess.run(
        ["etcdctl", "--endpoints", etcd, "get", f"/registry/{group}/websites/default/old",
         "--print-value-only"],
        capture_output=True, text=True, env={"ETCDCTL_API": "3"}, timeout=20, check=True,
    ).stdout  # fmt: skip
    assert json.loads(stored)["apiVersion"] == f"{group}/v1"
    k("delete", f"websites.{group}", "old")


def test_watch_with_custom_objects_api(apiserver) -> None:  # type: ignore[no-untyped-def]
    from kubernetes import client, config, watch

    group = "watch.example.com"
    install(apiserver, group, [version("v1")])
    api = client.CustomObjectsApi(config.new_client_from_config(apiserver.kubeconfig))
    body = json.loads(website(group, "w1", {"image": "a"}))
    created = api.create_namespaced_custom_object(group, "v1", "default", "websites", body)
    rv = created["metadata"]["resourceVersion"]
    seen: list[tuple[str, str, int]] = []

    def follow() -> None:
        w = watch.Watch()
        for ev in w.stream(api.list_namespaced_custom_object, group, "v1", "default",
                           "websites", resource_version=rv, timeout_seconds=10):  # fmt: skip
            obj = ev["object"]
            seen.append((ev["type"], obj["metadata"]["name"], obj["spec"].get("replicas")))
            if ev["type"] == "DELETED":
                w.stop()

    t = threading.Thread(target=follow)
    t.start()
    patch = {"spec": {"replicas": 5}}
    api.patch_namespaced_custom_object(group, "v1", "default", "websites", "w1", patch)
    api.delete_namespaced_custom_object(group, "v1", "default", "websites", "w1")
    t.join(15)
    assert seen == [("MODIFIED", "w1", 5), ("DELETED", "w1", 5)]


def test_deleting_the_crd_removes_its_objects(apiserver) -> None:  # type: ignore[no-untyped-def]
    k, group = apiserver.kubectl, "gone.example.com"
    install(apiserver, group, [version("v1")])
    k("create", "-f", "-", stdin=website(group, "x", {"image": "a"}))
    k("delete", "crd", f"websites.{group}", "--timeout=20s")
    out = k("get", f"websites.{group}", check=False)
    assert out.returncode != 0
    install(apiserver, group, [version("v1")])
    assert "No resources found" in k("get", f"websites.{group}").stderr


def test_non_structural_crd_is_refused(apiserver) -> None:  # type: ignore[no-untyped-def]
    k, group = apiserver.kubectl, "bad.example.com"
    loose = {"type": "object", "properties": {"spec": {"properties": {"a": {"type": "string"}}}}}
    v = {"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": loose}}
    out = k("apply", "-f", "-", stdin=crd(group, [v]), check=False)
    assert out.returncode != 0
    assert (
        f'The CustomResourceDefinition "websites.{group}" is invalid: '
        "spec.versions[0].schema.openAPIV3Schema.properties[spec].type: "
        "Required value: must not be empty for specified object fields"
    ) in out.stderr, out.stderr
    assert k("get", "crd", f"websites.{group}", check=False).returncode != 0


def test_kind_conflict_is_not_accepted(apiserver) -> None:  # type: ignore[no-untyped-def]
    k, group = apiserver.kubectl, "conflict.example.com"
    install(apiserver, group, [version("v1")])
    doc = yaml.safe_load(crd(group, [version("v1")], plural="pages"))
    doc["spec"]["names"].update(kind="Website", shortNames=[])
    k("apply", "-f", "-", stdin=yaml.safe_dump(doc))

    def conditions() -> dict:
        got = json.loads(k("get", "crd", f"pages.{group}", "-o", "json").stdout)
        return {c["type"]: (c["status"], c["reason"], c["message"])
                for c in got["status"].get("conditions") or []}  # fmt: skip

    assert wait_for(conditions) == {
        "NamesAccepted": ("False", "KindConflict", '"Website" is already in use'),
        "Established": ("False", "NotAccepted", "not all names are accepted"),
    }
    assert k("get", f"pages.{group}", check=False).returncode != 0
    k("delete", "crd", f"pages.{group}")


async def _restart_scenario(etcd_url: str) -> None:
    import aiohttp

    from miniapiserver.app import Config, Running

    config = Config([etcd_url], secure_port=0, etcd_prefix=f"/crd-restart-{os.getpid()}")
    group = "restart.example.com"
    path = f"/apis/{group}/v1/namespaces/default/websites"
    first = Running(config)
    await first.start()
    try:
        async with aiohttp.ClientSession(f"http://127.0.0.1:{first.port}") as http:
            doc = yaml.safe_load(crd(group, [version("v1")]))
            async with http.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                                 json=doc) as r:  # fmt: skip
                assert r.status == 201
            for _ in range(100):
                async with http.get(path) as r:
                    if r.status == 200:
                        break
                await asyncio.sleep(0.05)
            async with http.post(
                path, json=json.loads(website(group, "kept", {"image": "a"}))
            ) as r:
                assert r.status == 201
    finally:
        await first.stop()
    second = Running(config)
    await second.start()  # serves the stored CRDs before it listens
    try:
        async with aiohttp.ClientSession(f"http://127.0.0.1:{second.port}") as http:
            async with http.get(f"{path}/kept") as r:
                assert r.status == 200 and (await r.json())["spec"]["replicas"] == 1
            bad = json.loads(website(group, "new", {"image": "b", "replicas": 99}))
            async with http.post(path, json=bad) as r:
                assert r.status == 422  # the schema is back too
    finally:
        await second.stop()


def test_crds_served_again_after_restart(apiserver) -> None:  # type: ignore[no-untyped-def]
    """In-process servers over the session's etcd (own key prefix): start, write, restart."""
    etcd_url = apiserver.proc.args[apiserver.proc.args.index("--etcd-servers") + 1]
    asyncio.run(_restart_scenario(etcd_url))


def test_crd_cannot_shadow_a_built_in_resource(apiserver) -> None:  # type: ignore[no-untyped-def]
    k = apiserver.kubectl
    lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
             "metadata": {"name": "crd-shadow", "namespace": "default"}}  # fmt: skip
    k("create", "-f", "-", stdin=json.dumps(lease))
    doc = yaml.safe_load(crd("coordination.k8s.io", [version("v1")], plural="leases"))
    doc["spec"]["names"].update(kind="Lease", shortNames=[])
    k("apply", "-f", "-", stdin=yaml.safe_dump(doc))
    reason = "jsonpath={.status.conditions[?(@.type=='NamesAccepted')].reason}"
    assert (
        wait_for(lambda: k("get", "crd", "leases.coordination.k8s.io", "-o", reason).stdout)
        == "PluralConflict"
    )
    k("delete", "crd", "leases.coordination.k8s.io", "--timeout=20s")
    assert k("get", "lease", "crd-shadow", "-o", "name").stdout.strip() == (
        "lease.coordination.k8s.io/crd-shadow"
    )
    k("delete", "lease", "crd-shadow")
