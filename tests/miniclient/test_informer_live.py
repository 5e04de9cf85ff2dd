"""SharedInformerFactory against miniapiserver over a real socket.

The server's own watch stream is the oracle: each key's cache history must be a
subsequence of it, and once writes stop the cache equals a fresh list.
"""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import uuid

import pytest

from miniapi import errors, labels
from miniapi.base import replace
from miniapi.core import v1 as corev1
from miniapi.meta import v1 as metav1
from miniclient.backoff import Backoff
from miniclient.cache.controller import ResourceEventHandlerFuncs
from miniclient.cache.store import DeletedFinalStateUnknown
from miniclient.informers import SharedInformerFactory
from miniclient.kubeconfig import load_kubeconfig
from miniclient.rest import Client

pytestmark = pytest.mark.tool("etcd", "etcdctl")


def is_subsequence(short: list, long: list) -> bool:
    it = iter(long)
    return all(any(x == y for y in it) for x in short)


async def eventually(predicate, timeout: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


def test_shared_informer_tracks_the_server(apiserver):
    async def main():
        async with Client(load_kubeconfig(apiserver.kubeconfig)) as client:
            ns = f"inf-{uuid.uuid4().hex[:8]}"
            await client.resource(corev1.Namespace).create(
                corev1.Namespace(metadata=metav1.ObjectMeta(name=ns))
            )
            cms = client.resource(corev1.ConfigMap)
            for i in range(3):
                await cms.create(
                    corev1.ConfigMap(metadata=metav1.ObjectMeta(name=f"pre{i}", namespace=ns))
                )
            start = (await cms.list(ns)).metadata.resource_version
            server: dict[str, list] = {}

            async def oracle():
                async for kind, obj in cms.watch(ns, start):
                    rv = None if kind == metav1.DELETED else obj.metadata.resource_version
                    server.setdefault(f"{ns}/{obj.metadata.name}", []).append(rv)

            oracle_task = asyncio.ensure_future(oracle())
            factory = SharedInformerFactory(client, namespace=ns, rng=random.Random(3))
            informer = factory.for_resource(corev1.ConfigMap)
            assert factory.for_resource(corev1.ConfigMap) is informer
            seen: dict[str, list] = {}
            initial_adds = []

            def record(obj, rv):
                if hasattr(obj, "key"):
                    obj = obj.obj
                key = f"{obj.metadata.namespace}/{obj.metadata.name}"
                history = seen.setdefault(key, [])
                if not history or history[-1] != rv:
                    history.append(rv)

            handler = ResourceEventHandlerFuncs(
                add_func=lambda o: (initial_adds.append(o), record(o, o.metadata.resource_version)),
                update_func=lambda old, new: record(new, new.metadata.resource_version),
                delete_func=lambda o: record(o, None),
            )
            informer.add_event_handler(handler)
            factory.start()
            synced = await asyncio.wait_for(factory.wait_for_cache_sync(), 30)
            assert all(synced.values())
            assert len(informer.indexer.list()) == 3
            rng = random.Random(11)
            for _ in range(40):
                name = f"c{rng.randrange(5)}"
                try:
                    if rng.random() < 0.3:
                        await cms.delete(name, ns)
                    else:
                        cur = await cms.get(name, ns)
                        await cms.update(replace(cur, data={"n": str(rng.random())}))
                except errors.StatusError as e:
                    assert errors.is_not_found(e)
                    await cms.create(
                        corev1.ConfigMap(metadata=metav1.ObjectMeta(name=name, namespace=ns))
                    )
            final = {
                f"{ns}/{o.metadata.name}": o.metadata.resource_version
                for o in (await cms.list(ns)).items
            }

            def cache_state():
                return {
                    informer.indexer.key_func(o): o.metadata.resource_version
                    for o in informer.indexer.list()
                }

            await eventually(lambda: cache_state() == final)
            await informer.wait_idle()
            oracle_task.cancel()
            for key, history in seen.items():
                if key.split("/")[1].startswith("pre"):
                    history = history[1:]  # listed before the oracle's start
                assert is_subsequence(history, server.get(key, [])), (key, history, server[key])
            lister = factory.lister(corev1.ConfigMap)
            assert {o.metadata.name for o in lister.by_namespace(ns).list(labels.everything())} == {
                k.split("/")[1] for k in final
            }
            assert informer.last_sync_resource_version()
            await factory.shutdown()

    asyncio.run(asyncio.wait_for(main(), 90))


def test_informer_survives_an_apiserver_restart_and_a_deletion_it_never_saw(apiserver):
    """The server goes away; a ConfigMap is deleted behind its back (straight in etcd);
    the reflector backs off, relists and delivers a DeletedFinalStateUnknown."""

    async def main():
        async with Client(load_kubeconfig(apiserver.kubeconfig)) as client:
            ns = f"rst-{uuid.uuid4().hex[:8]}"
            await client.resource(corev1.Namespace).create(
                corev1.Namespace(metadata=metav1.ObjectMeta(name=ns))
            )
            cms = client.resource(corev1.ConfigMap)
            for name in ("a", "b"):
                await cms.create(
                    corev1.ConfigMap(metadata=metav1.ObjectMeta(name=name, namespace=ns))
                )
            factory = SharedInformerFactory(client, namespace=ns, rng=random.Random(5))
            informer = factory.for_resource(corev1.ConfigMap)
            deleted = []
            informer.add_event_handler(ResourceEventHandlerFuncs(delete_func=deleted.append))
            factory.start()
            # Upstream's 0.8 s..30 s steps, scaled down so the test waits less.
            informer.reflector.backoff = Backoff(random.Random(5), initial=0.1, cap=1.0)
            await asyncio.wait_for(factory.wait_for_cache_sync(), 30)
            await asyncio.to_thread(apiserver.stop, True)
            await asyncio.to_thread(_etcd_delete, apiserver.etcd_url, f"/configmaps/{ns}/a")
            await asyncio.to_thread(apiserver.start)
            await cms.create(corev1.ConfigMap(metadata=metav1.ObjectMeta(name="c", namespace=ns)))

            def names():
                return sorted(o.metadata.name for o in informer.indexer.list())

            await eventually(lambda: names() == ["b", "c"], timeout=60)
            [tomb] = deleted
            assert isinstance(tomb, DeletedFinalStateUnknown)
            assert tomb.key == f"{ns}/a" and tomb.obj.metadata.name == "a"
            assert informer.reflector.lists >= 2
            await factory.shutdown()

    asyncio.run(asyncio.wait_for(main(), 120))


def _etcd_delete(etcd_url: str, suffix: str) -> None:
    env = {**os.environ, "ETCDCTL_API": "3"}
    keys = subprocess.run(
        ["etcdctl", "--endpoints", etcd_url, "get", "--prefix", "/", "--keys-only"],
        capture_output=True, text=True, env=env, check=True,
    ).stdout.split()  # fmt: skip
    [key] = [k for k in keys if k.endswith(suffix)]
    subprocess.run(
        ["etcdctl", "--endpoints", etcd_url, "del", key], capture_output=True, env=env, check=True
    )
