"""The REST client against miniapiserver over a real socket (client-go rest + dynamic)."""

from __future__ import annotations

import asyncio
import itertools
import os
import uuid
from pathlib import Path

import pytest

from miniapi import errors
from miniapi.core import v1 as corev1
from miniapi.meta import v1 as metav1
from miniapi.runtime import GroupVersionResource
from miniclient.kubeconfig import load_kubeconfig
from miniclient.rest import JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH, Client

pytestmark = pytest.mark.tool("etcd")


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


async def new_namespace(client: Client) -> str:
    name = f"rest-{uuid.uuid4().hex[:8]}"
    await client.resource(corev1.Namespace).create(
        corev1.Namespace(metadata=metav1.ObjectMeta(name=name))
    )
    return name


def cm(ns: str, name: str, **lbls: str) -> corev1.ConfigMap:
    return corev1.ConfigMap(
        metadata=metav1.ObjectMeta(namespace=ns, name=name, labels=lbls), data={"k": "v"}
    )


def test_typed_crud_and_the_server_status_errors(apiserver):
    async def main():
        async with Client(load_kubeconfig(apiserver.kubeconfig)) as client:
            ns = await new_namespace(client)
            cms = client.resource(corev1.ConfigMap)
            created = await cms.create(cm(ns, "a"))
            assert isinstance(created, corev1.ConfigMap) and created.metadata.uid
            got = await cms.get("a", ns)
            assert got.metadata.resource_version == created.metadata.resource_version
            with pytest.raises(errors.StatusError) as e:
                await cms.create(cm(ns, "a"))
            assert (e.value.code, e.value.reason) == (409, "AlreadyExists")
            updated = await cms.update(metav1_replace_data(got, {"k": "w"}))
            assert updated.data == {"k": "w"}
            # The stale copy now conflicts: optimistic concurrency on resourceVersion.
            with pytest.raises(errors.StatusError) as e:
                await cms.update(metav1_replace_data(got, {"k": "x"}))
            assert errors.is_conflict(e.value)
            assert errors.OPTIMISTIC_LOCK_ERROR_MSG in str(e.value)
            with pytest.raises(errors.StatusError) as e:
                await cms.delete("a", ns, preconditions={"uid": "not-the-uid"})
            assert errors.is_conflict(e.value)
            await cms.delete("a", ns, preconditions={"uid": created.metadata.uid})
            with pytest.raises(errors.StatusError) as e:
                await cms.get("a", ns)
            assert errors.is_not_found(e.value)
            assert str(e.value) == 'configmaps "a" not found'

    run(main())


def metav1_replace_data(obj: corev1.ConfigMap, data: dict[str, str]) -> corev1.ConfigMap:
    from miniapi.base import replace

    return replace(obj, data=data)


def test_list_pages_with_limit_and_continue_and_selectors(apiserver):
    async def main():
        async with Client(load_kubeconfig(apiserver.kubeconfig)) as client:
            ns = await new_namespace(client)
            cms = client.resource(corev1.ConfigMap)
            for i in range(5):
                await cms.create(cm(ns, f"c{i}", tier="web" if i % 2 else "db"))
            names, token = [], ""
            for pages in itertools.count(1):  # noqa: B007 - counted for the assert below
                page = await cms.list(ns, limit=2, continue_=token)
                assert len(page.items) <= 2
                names += [o.metadata.name for o in page.items]
                token = page.metadata.continue_
                if not token:
                    break
            assert pages == 3
            assert names == [f"c{i}" for i in range(5)]
            web = await cms.list(ns, label_selector="tier=web")
            assert [o.metadata.name for o in web.items] == ["c1", "c3"]
            one = await cms.list(ns, field_selector="metadata.name=c4")
            assert [o.metadata.name for o in one.items] == ["c4"]

    run(main())


def test_patch_types_and_unstructured_objects(apiserver):
    async def main():
        async with Client(load_kubeconfig(apiserver.kubeconfig)) as client:
            ns = await new_namespace(client)
            gvr = GroupVersionResource("", "v1", "configmaps")
            dyn = client.resource(gvr, namespaced=True)
            body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "u"}}
            made = await dyn.create({**body, "data": {"a": "1"}}, ns)
            assert isinstance(made, dict) and made["metadata"]["namespace"] == ns
            merged = await dyn.patch("u", {"data": {"b": "2"}}, MERGE_PATCH, ns)
            assert merged["data"] == {"a": "1", "b": "2"}
            ops = [{"op": "remove", "path": "/data/a"}]
            patched = await dyn.patch("u", ops, JSON_PATCH, ns)
            assert patched["data"] == {"b": "2"}
            pods = client.resource(corev1.Pod)
            pod = corev1.Pod(
                metadata=metav1.ObjectMeta(name="p", namespace=ns),
                spec=corev1.PodSpec(containers=[corev1.Container(name="c", image="busybox")]),
            )
            await pods.create(pod)
            # Strategic merge: containers merge by name instead of being replaced.
            sidecar = {"spec": {"containers": [{"name": "s", "image": "nginx"}]}}
            after = await pods.patch("p", sidecar, STRATEGIC_MERGE_PATCH, ns)
            assert sorted(c.name for c in after.spec.containers) == ["c", "s"]
            status = await pods.patch(
                "p", {"status": {"phase": "Running"}}, MERGE_PATCH, ns, subresource="status"
            )
            assert status.status.phase == "Running"
            await dyn.delete("u", ns, propagation_policy="Background")

    run(main())


def test_watch_streams_events_and_an_old_resource_version_is_gone(apiserver):
    async def main():
        async with Client(load_kubeconfig(apiserver.kubeconfig)) as client:
            ns = await new_namespace(client)
            cms = client.resource(corev1.ConfigMap)
            first = await cms.create(cm(ns, "w"))
            seen = []

            async def watch():
                async for kind, obj in cms.watch(ns, first.metadata.resource_version):
                    seen.append((kind, obj.metadata.name))
                    if kind == metav1.DELETED:
                        return

            task = asyncio.ensure_future(watch())
            await cms.patch("w", {"data": {"k": "2"}}, MERGE_PATCH, ns)
            await cms.delete("w", ns)
            await asyncio.wait_for(task, 30)
            assert seen == [("MODIFIED", "w"), ("DELETED", "w")]
            # The watch cache holds 50 events: push the first RV out of it.
            for i in range(60):
                await cms.create(cm(ns, f"x{i}"))
            with pytest.raises(errors.StatusError) as e:
                async for kind, obj in cms.watch(ns, first.metadata.resource_version):
                    if kind == metav1.ERROR:
                        raise errors.from_status(obj)
            assert e.value.code == 410
            assert errors.is_resource_expired(e.value) or errors.is_gone(e.value)

    run(main())


def test_client_certificate_user_from_kubeconfig_files(apiserver, tmp_path):
    from miniapiserver.auth.certs import client_certificate

    pki = os.path.join(apiserver.workdir, "pki")
    cert, key = client_certificate(
        Path(pki, "ca.crt"),
        Path(pki, "ca.key"),
        "alice",
        ("system:masters",),
    )
    (tmp_path / "alice.crt").write_bytes(cert)
    (tmp_path / "alice.key").write_bytes(key)
    config = tmp_path / "config"
    config.write_text(
        f"""apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: {apiserver.url}
    certificate-authority: {pki}/ca.crt
users:
- name: alice
  user:
    client-certificate: alice.crt
    client-key: alice.key
contexts:
- name: alice@c
  context: {{cluster: c, user: alice}}
current-context: alice@c
"""
    )

    async def main():
        async with Client(load_kubeconfig(str(config))) as client:
            page = await client.resource(corev1.Namespace).list()
            assert "default" in [n.metadata.name for n in page.items]

    run(main())
