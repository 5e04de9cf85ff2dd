"""The `kubernetes` Python client (37.x), unchanged, against miniapiserver over etcd."""

from __future__ import annotations

import threading
import time

import pytest
from kubernetes import client, config, watch

pytestmark = pytest.mark.tool("etcd")


@pytest.fixture(scope="module")
def api(apiserver):  # type: ignore[no-untyped-def]
    return config.new_client_from_config(apiserver.kubeconfig)


def test_crud_and_generate_name(api) -> None:  # type: ignore[no-untyped-def]
    v1 = client.CoreV1Api(api)
    body = client.V1ConfigMap(metadata=client.V1ObjectMeta(generate_name="gen-"), data={"a": "b"})
    made = v1.create_namespaced_config_map("default", body)
    name = made.metadata.name
    assert name.startswith("gen-") and len(name) == len("gen-") + 5
    assert made.metadata.uid and made.metadata.creation_timestamp
    got = v1.read_namespaced_config_map(name, "default")
    assert (
        got.data == {"a": "b"} and got.metadata.resource_version == made.metadata.resource_version
    )
    got.data["c"] = "d"
    replaced = v1.replace_namespaced_config_map(name, "default", got)
    assert int(replaced.metadata.resource_version) > int(made.metadata.resource_version)
    # an update carrying the old resourceVersion loses the race: 409 with upstream's text
    made.data = {"stale": "yes"}
    with pytest.raises(client.ApiException) as e:
        v1.replace_namespaced_config_map(name, "default", made)
    assert e.value.status == 409
    assert "the object has been modified; please apply your changes" in e.value.body
    status = v1.delete_namespaced_config_map(name, "default")
    assert status["status"] == "Success"  # client 37 types DELETE responses as plain objects
    with pytest.raises(client.ApiException) as e:
        v1.read_namespaced_config_map(name, "default")
    assert e.value.status == 404


def test_patch_types(api) -> None:  # type: ignore[no-untyped-def]
    apps = client.AppsV1Api(api)
    dep = {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "pc"},
        "spec": {
            "selector": {"matchLabels": {"app": "pc"}},
            "template": {"metadata": {"labels": {"app": "pc"}}, "spec": {"containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "1"}]}},
        },
    }  # fmt: skip
    apps.create_namespaced_deployment("default", dep)
    # the client sends a dict patch as strategic merge for built-in kinds
    apps.patch_namespaced_deployment(
        "pc",
        "default",
        {"spec": {"template": {"spec": {"containers": [{"name": "b", "image": "2"}]}}}},
    )
    d = apps.read_namespaced_deployment("pc", "default")
    assert [(c.name, c.image) for c in d.spec.template.spec.containers] == [("a", "1"), ("b", "2")]
    assert d.metadata.generation == 2
    apps.patch_namespaced_deployment(
        "pc", "default", [{"op": "replace", "path": "/spec/replicas", "value": 4}]
    )
    assert apps.read_namespaced_deployment("pc", "default").spec.replicas == 4
    scale = apps.read_namespaced_deployment_scale("pc", "default")
    assert scale.spec.replicas == 4 and scale.status.selector == "app=pc"
    # status is its own subresource: the main resource ignores status changes
    apps.patch_namespaced_deployment_status("pc", "default", {"status": {"replicas": 3}})
    apps.patch_namespaced_deployment(
        "pc", "default", {"status": {"replicas": 9}, "metadata": {"labels": {"x": "y"}}}
    )
    d = apps.read_namespaced_deployment("pc", "default")
    assert d.status.replicas == 3 and d.metadata.labels == {"x": "y"} and d.metadata.generation == 3


def test_watch_with_and_without_resource_version(api) -> None:  # type: ignore[no-untyped-def]
    v1 = client.CoreV1Api(api)
    first = v1.create_namespaced_config_map(
        "default", {"metadata": {"name": "w-a", "labels": {"w": "1"}}}
    )
    seen: list[tuple[str, str]] = []
    rv = first.metadata.resource_version

    def stream() -> None:
        for ev in watch.Watch().stream(
            v1.list_namespaced_config_map,
            "default",
            label_selector="w=1",
            resource_version=rv,
            timeout_seconds=3,
        ):
            seen.append((ev["type"], ev["object"].metadata.name))

    t = threading.Thread(target=stream)
    t.start()
    time.sleep(0.5)
    v1.create_namespaced_config_map("default", {"metadata": {"name": "w-b", "labels": {"w": "1"}}})
    v1.patch_namespaced_config_map("w-a", "default", {"data": {"k": "v"}})
    v1.delete_namespaced_config_map("w-b", "default")
    t.join()
    assert seen == [("ADDED", "w-b"), ("MODIFIED", "w-a"), ("DELETED", "w-b")]
    # no resourceVersion: the current objects first, as ADDED
    initial = [
        (ev["type"], ev["object"].metadata.name)
        for ev in watch.Watch().stream(
            v1.list_namespaced_config_map, "default", label_selector="w=1", timeout_seconds=1
        )
    ]
    assert initial == [("ADDED", "w-a")]


def test_bookmarks(api) -> None:  # type: ignore[no-untyped-def]
    v1 = client.CoreV1Api(api)
    created = v1.create_namespaced_config_map("default", {"metadata": {"name": "bm"}})
    w = watch.Watch()
    for ev in w.stream(
        v1.list_namespaced_config_map, "default", resource_version=created.metadata.resource_version,
        allow_watch_bookmarks=True, timeout_seconds=5,
    ):  # fmt: skip
        if ev["type"] == "BOOKMARK":
            assert int(ev["raw_object"]["metadata"]["resourceVersion"]) >= int(
                created.metadata.resource_version
            )
            w.stop()
            break
    else:
        pytest.fail("no BOOKMARK within the watch")


def test_too_old_resource_version_is_410(api) -> None:  # type: ignore[no-untyped-def]
    """The server's watch cache holds 50 events; a watch from before them gets 410 Expired."""
    v1 = client.CoreV1Api(api)
    first = v1.create_namespaced_config_map("default", {"metadata": {"name": "old"}})
    for i in range(55):
        v1.patch_namespaced_config_map("old", "default", {"data": {"n": str(i)}})
    with pytest.raises(client.ApiException) as e:
        for _ in watch.Watch().stream(
            v1.list_namespaced_config_map,
            "default",
            resource_version=first.metadata.resource_version,
            timeout_seconds=3,
        ):
            pass
    assert e.value.status == 410
    assert "too old resource version" in str(e.value.reason)
    # the reflector's answer: re-list, then watch from the list's revision
    listed = v1.list_namespaced_config_map("default")
    events = list(
        watch.Watch().stream(
            v1.list_namespaced_config_map,
            "default",
            resource_version=listed.metadata.resource_version,
            timeout_seconds=1,
        )
    )
    assert events == []


def test_pod_binding_and_graceful_delete(api) -> None:  # type: ignore[no-untyped-def]
    v1 = client.CoreV1Api(api)
    v1.create_namespaced_pod(
        "default",
        {"metadata": {"name": "gp"}, "spec": {"containers": [{"name": "c", "image": "x"}]}},
    )
    body = client.V1Binding(
        metadata=client.V1ObjectMeta(name="gp"),
        target=client.V1ObjectReference(kind="Node", name="node-1"),
    )
    v1.create_namespaced_pod_binding("gp", "default", body, _preload_content=False)
    pod = v1.read_namespaced_pod("gp", "default")
    assert pod.spec.node_name == "node-1"
    with pytest.raises(client.ApiException) as e:
        v1.create_namespaced_pod_binding("gp", "default", body, _preload_content=False)
    assert e.value.status == 409
    # bound to a node: the pod stays, terminating, until its kubelet deletes it with grace 0
    v1.delete_namespaced_pod("gp", "default", grace_period_seconds=30)
    pod = v1.read_namespaced_pod("gp", "default")
    assert (
        pod.metadata.deletion_timestamp is not None
        and pod.metadata.deletion_grace_period_seconds == 30
    )
    v1.delete_namespaced_pod("gp", "default", grace_period_seconds=0)
    with pytest.raises(client.ApiException) as e:
        v1.read_namespaced_pod("gp", "default")
    assert e.value.status == 404


def test_finalizers_hold_deletion(api) -> None:  # type: ignore[no-untyped-def]
    v1 = client.CoreV1Api(api)
    v1.create_namespaced_config_map(
        "default", {"metadata": {"name": "fin", "finalizers": ["example.com/hold"]}}
    )
    v1.delete_namespaced_config_map("fin", "default", propagation_policy="Foreground")
    cm = v1.read_namespaced_config_map("fin", "default")
    assert cm.metadata.deletion_timestamp is not None
    assert cm.metadata.finalizers == ["example.com/hold", "foregroundDeletion"]
    v1.patch_namespaced_config_map(
        "fin", "default", [{"op": "remove", "path": "/metadata/finalizers"}]
    )
    with pytest.raises(client.ApiException) as e:
        v1.read_namespaced_config_map("fin", "default")
    assert e.value.status == 404


def test_watch_one_name_across_namespaces(api) -> None:  # type: ignore[no-untyped-def]
    """fieldSelector=metadata.name without a namespace watches every namespace's object of that name."""
    v1 = client.CoreV1Api(api)
    v1.create_namespaced_config_map("default", {"metadata": {"name": "everywhere"}})
    v1.create_namespaced_config_map("kube-public", {"metadata": {"name": "everywhere"}})
    v1.create_namespaced_config_map("kube-public", {"metadata": {"name": "elsewhere"}})
    seen = sorted(
        (ev["object"].metadata.namespace, ev["object"].metadata.name)
        for ev in watch.Watch().stream(
            v1.list_config_map_for_all_namespaces,
            field_selector="metadata.name=everywhere",
            timeout_seconds=1,
        )
    )
    assert seen == [("default", "everywhere"), ("kube-public", "everywhere")]
