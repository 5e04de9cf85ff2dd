"""The garbage collector end to end: kubectl delete with each --cascade, against miniapiserver.

`python -m minicontroller` runs the Deployment, ReplicaSet and garbage
collector controllers. Background deletion removes a Deployment's ReplicaSet
and pods; foreground keeps the Deployment (with deletionTimestamp) until they
are gone; orphan leaves the ReplicaSet and pods with no ownerReference to it.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest

from miniapi import errors
from miniapi.apps import v1 as appsv1
from miniapi.core import v1 as corev1
from miniapi.meta import v1 as metav1
from miniclient.kubeconfig import load_kubeconfig
from miniclient.rest import Client

pytestmark = pytest.mark.tool("etcd", "kubectl")

ROOT = Path(__file__).resolve().parents[2]

MANIFEST = """apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec: {{containers: [{{name: c, image: "nginx:1"}}]}}
"""


async def kubectl(kubeconfig: str, *args: str, stdin: str | None = None) -> str:
    proc = await asyncio.create_subprocess_exec(
        "kubectl", *args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, env={**os.environ, "KUBECONFIG": kubeconfig},
    )  # fmt: skip
    out, err = await proc.communicate(stdin.encode() if stdin else None)
    if proc.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)}: {err.decode()}")
    return out.decode()


async def eventually(check, timeout: float = 40.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        last = await check()
        if last is True:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{check.__name__}: last state {last}")
        await asyncio.sleep(0.2)


def test_cascading_deletion(apiserver):
    log = Path(tempfile.mkstemp(prefix=f"minicontroller-gc-{os.getpid()}-")[1])
    proc = subprocess.Popen(
        [sys.executable, "-m", "minicontroller", "--kubeconfig", apiserver.kubeconfig,
         "--controllers", "deployment,replicaset,garbage-collector-controller"],
        stdout=log.open("w"), stderr=subprocess.STDOUT, cwd=ROOT,
    )  # fmt: skip
    try:
        asyncio.run(asyncio.wait_for(scenario(apiserver), 100))
    finally:
        proc.kill()
        proc.wait()
        log.unlink(missing_ok=True)


class Cluster:
    def __init__(self, client: Client, ns: str) -> None:
        self.ns = ns
        self.deployments = client.resource(appsv1.Deployment)
        self.replicasets = client.resource(appsv1.ReplicaSet)
        self.pods = client.resource(corev1.Pod)

    async def owned(self, app: str) -> tuple[list, list]:
        sel = f"app={app}"
        rs = (await self.replicasets.list(self.ns, label_selector=sel)).items
        pods = (await self.pods.list(self.ns, label_selector=sel)).items
        return rs, pods

    async def deployment(self, name: str) -> appsv1.Deployment | None:
        try:
            return await self.deployments.get(name, self.ns)
        except errors.StatusError as e:
            if errors.is_not_found(e):
                return None
            raise


async def scenario(apiserver) -> None:
    kc = apiserver.kubeconfig
    async with Client(load_kubeconfig(kc)) as client:
        ns = f"gc-{uuid.uuid4().hex[:8]}"
        await client.resource(corev1.Namespace).create(
            corev1.Namespace(metadata=metav1.ObjectMeta(name=ns))
        )
        c = Cluster(client, ns)
        for name in ("bg", "fg", "orph"):
            await kubectl(kc, "-n", ns, "apply", "-f", "-", stdin=MANIFEST.format(name=name))
        for name in ("bg", "fg", "orph"):

            async def running(name=name):
                rs, pods = await c.owned(name)
                return (len(rs), len(pods)) == (1, 2) or (len(rs), len(pods))

            await eventually(running)

        await background(kc, c)
        await foreground(kc, c)
        await orphan(kc, c)


async def background(kc: str, c: Cluster) -> None:
    await kubectl(kc, "-n", c.ns, "delete", "deployment", "bg")

    async def emptied():
        rs, pods = await c.owned("bg")
        return (not rs and not pods) or (len(rs), len(pods))

    await eventually(emptied)


async def foreground(kc: str, c: Cluster) -> None:
    await kubectl(
        kc, "-n", c.ns, "delete", "deployment", "fg", "--cascade=foreground", "--wait=false"
    )
    d = await c.deployment("fg")
    assert d is not None and d.metadata.deletion_timestamp is not None
    assert "foregroundDeletion" in d.metadata.finalizers
    seen_waiting = 0

    async def gone_in_order():
        nonlocal seen_waiting
        d = await c.deployment("fg")
        rs, pods = await c.owned("fg")
        if d is None:
            # Read after the Deployment vanished: its dependents must already be gone.
            assert not rs and not pods, "Deployment removed before its dependents"
            return True
        seen_waiting += 1
        return (d.metadata.finalizers, len(rs), len(pods))

    await eventually(gone_in_order)
    assert seen_waiting >= 1


async def orphan(kc: str, c: Cluster) -> None:
    d = await c.deployment("orph")
    await kubectl(kc, "-n", c.ns, "delete", "deployment", "orph", "--cascade=orphan")

    async def deployment_gone():
        return await c.deployment("orph") is None or "still there"

    await eventually(deployment_gone)
    rs, pods = await c.owned("orph")
    assert len(rs) == 1 and len(pods) == 2
    assert all(r.uid != d.metadata.uid for r in rs[0].metadata.owner_references)
    assert not rs[0].metadata.owner_references
    # The pods still belong to the (now orphaned) ReplicaSet.
    assert all(p.metadata.owner_references[0].uid == rs[0].metadata.uid for p in pods)
