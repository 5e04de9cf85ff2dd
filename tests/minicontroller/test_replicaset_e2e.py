"""The ReplicaSet controller end to end: `python -m minicontroller` against miniapiserver.

The test plays the kubelet (pod status through the status subresource) and
runs two `--leader-elect` controller processes: only the leader acts, and
killing it hands over within the lease duration, without duplicate pods.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest

from miniapi import errors
from miniapi.apps import v1 as appsv1
from miniapi.core import v1 as corev1
from miniapi.meta import v1 as metav1
from miniclient.kubeconfig import load_kubeconfig
from miniclient.rest import MERGE_PATCH, Client

pytestmark = pytest.mark.tool("etcd")

ROOT = Path(__file__).resolve().parents[2]


class Controller:
    def __init__(self, kubeconfig: str, lock: str) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.log = Path(tempfile.mkstemp(prefix=f"minicontroller-{os.getpid()}-")[1])
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "minicontroller", "--kubeconfig", kubeconfig,
             "--leader-elect", "--leader-elect-lease-duration", "6s",
             "--leader-elect-renew-deadline", "4s", "--leader-elect-retry-period", "500ms",
             "--leader-elect-resource-name", lock, "--controllers", "*",
             "--port", str(self.port)],
            stdout=self.log.open("w"), stderr=subprocess.STDOUT, cwd=ROOT,
        )  # fmt: skip

    def started(self) -> bool:
        return "minicontroller: started" in self.log.read_text()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.unlink(missing_ok=True)


async def eventually(check, timeout: float = 40.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not reached: {check.__name__}")
        await asyncio.sleep(0.2)


def ready_patch(ready: bool, ip: str) -> dict:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    status = "True" if ready else "False"
    return {
        "status": {
            "phase": "Running",
            "podIP": ip,
            "conditions": [{"type": "Ready", "status": status, "lastTransitionTime": now}],
        }
    }


def test_replicaset_controller_end_to_end_with_leader_election(apiserver):
    lock = f"kcm-{uuid.uuid4().hex[:6]}"
    controllers = [Controller(apiserver.kubeconfig, lock) for _ in range(2)]
    try:
        asyncio.run(asyncio.wait_for(scenario(apiserver, controllers), 150))
    finally:
        for c in controllers:
            c.stop()


async def scenario(apiserver, controllers: list[Controller]) -> None:
    async with Client(load_kubeconfig(apiserver.kubeconfig)) as client:
        ns = f"rs-{uuid.uuid4().hex[:8]}"
        await client.resource(corev1.Namespace).create(
            corev1.Namespace(metadata=metav1.ObjectMeta(name=ns))
        )
        rss, pods = client.resource(appsv1.ReplicaSet), client.resource(corev1.Pod)
        rs = await rss.create(
            appsv1.ReplicaSet(
                metadata=metav1.ObjectMeta(name="web", namespace=ns),
                spec=appsv1.ReplicaSetSpec(
                    replicas=3,
                    selector=metav1.LabelSelector(match_labels={"app": "web"}),
                    template=corev1.PodTemplateSpec(
                        metadata=metav1.ObjectMeta(labels={"app": "web", "tier": "fe"}),
                        spec=corev1.PodSpec(containers=[corev1.Container(name="c", image="nginx")]),
                    ),
                ),
            )
        )

        async def owned(n: int):
            async def check():
                items = (await pods.list(ns)).items
                mine = [
                    p
                    for p in items
                    if p.metadata.deletion_timestamp is None
                    and any(
                        r.uid == rs.metadata.uid and r.controller
                        for r in p.metadata.owner_references
                    )
                ]
                return mine if len(mine) == n else None

            check.__name__ = f"{n} owned pods"
            return await eventually(check)

        three = await owned(3)
        assert sum(c.started() for c in controllers) == 1, "both controllers act"
        for p in three:
            assert p.metadata.labels == {"app": "web", "tier": "fe"}
            assert p.metadata.name.startswith("web-")
            ref = p.metadata.owner_references[0]
            assert (ref.kind, ref.name, ref.block_owner_deletion) == ("ReplicaSet", "web", True)
        # Play the kubelet: two ready, one not.
        for i, p in enumerate(three):
            await pods.patch(
                p.metadata.name, ready_patch(i < 2, f"10.0.0.{i + 1}"), MERGE_PATCH, ns, "status"
            )
        unready = three[2].metadata.name

        async def status_counts():
            cur = await rss.get("web", ns)
            s = cur.status
            return (s.replicas, s.ready_replicas, s.available_replicas, s.observed_generation) == (
                3, 2, 2, cur.metadata.generation,
            )  # fmt: skip

        await eventually(status_counts)
        # Scale down: the not-ready pod goes first.
        await rss.patch("web", {"spec": {"replicas": 2}}, MERGE_PATCH, ns)
        two = await owned(2)
        assert unready not in {p.metadata.name for p in two}
        # An orphan matching the selector is adopted (and, being surplus, removed).
        orphan = corev1.Pod(
            metadata=metav1.ObjectMeta(name="orphan", namespace=ns, labels={"app": "web"}),
            spec=corev1.PodSpec(containers=[corev1.Container(name="c", image="nginx")]),
        )
        await pods.create(orphan)

        async def orphan_claimed():
            try:
                p = await pods.get("orphan", ns)
            except errors.StatusError as e:
                return errors.is_not_found(e)
            adopted = any(r.uid == rs.metadata.uid for r in p.metadata.owner_references)
            return adopted and p.metadata.deletion_timestamp is not None

        # Adopted, then deleted first as the newest Pending pod (the set had 2 of 2).
        await eventually(orphan_claimed)
        two = await owned(2)
        # Release: relabel an owned pod; its ownerReference goes and a replacement comes.
        released = two[0].metadata.name
        await pods.patch(released, {"metadata": {"labels": {"app": "moved"}}}, MERGE_PATCH, ns)

        async def released_check():
            p = await pods.get(released, ns)
            return not p.metadata.owner_references

        await eventually(released_check)
        await owned(2)
        # The leader's workqueue metrics, under upstream's names.
        leader = next(c for c in controllers if c.started())
        async with aiohttp.ClientSession() as http:
            base = f"http://127.0.0.1:{leader.port}"
            async with http.get(f"{base}/healthz") as resp:
                assert await resp.text() == "ok"
            async with http.get(f"{base}/metrics") as resp:
                metrics = await resp.text()
        prefix = 'workqueue_adds_total{name="replicaset"} '
        adds = [x for x in metrics.splitlines() if x.startswith(prefix)]
        assert len(adds) == 1 and int(adds[0].split()[-1]) > 0
        assert 'workqueue_depth{name="endpoint_slice"}' in metrics
        # Hand over: kill the leader; the other takes the lease and keeps reconciling.
        leader = next(c for c in controllers if c.started())
        other = next(c for c in controllers if c is not leader)
        leader.proc.kill()
        killed = asyncio.get_running_loop().time()

        async def other_started():
            return other.started()

        await eventually(other_started, 30)
        assert asyncio.get_running_loop().time() - killed < 6.0 + 10.0
        await rss.patch("web", {"spec": {"replicas": 4}}, MERGE_PATCH, ns)
        four = await owned(4)
        await asyncio.sleep(0.5)
        # No duplicates after the handover: still exactly four.
        assert len(await owned(4)) == 4
        assert len({p.metadata.name for p in four}) == 4
