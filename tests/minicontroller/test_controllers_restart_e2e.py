"""The controllers outlive the API server: a crash, a restart, expired watches, no duplicates.

Mirrors what the course's "controller pattern" promises: level-triggered
controllers that only talk to the API server resume after it comes back. The
server restarts with an empty watch cache (size 50 here), so the informers'
old resourceVersions are gone: their watches get 410 Gone and they relist.
The test plays the kubelet, as in test_deployment_e2e.py.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from miniapi.apps import v1 as appsv1
from miniapi.core import v1 as corev1
from miniapi.meta import v1 as metav1
from miniclient.kubeconfig import load_kubeconfig
from miniclient.rest import MERGE_PATCH, Client

pytestmark = pytest.mark.tool("etcd", "etcdctl")

ROOT = Path(__file__).resolve().parents[2]


def deployment(name: str, replicas: int) -> appsv1.Deployment:
    labels = {"app": name}
    return appsv1.Deployment(
        metadata=metav1.ObjectMeta(name=name),
        spec=appsv1.DeploymentSpec(
            replicas=replicas,
            selector=metav1.LabelSelector(match_labels=labels),
            template=corev1.PodTemplateSpec(
                metadata=metav1.ObjectMeta(labels=labels),
                spec=corev1.PodSpec(containers=[corev1.Container(name="c", image="nginx:1")]),
            ),
        ),
    )


async def play_kubelet(pods, ns: str) -> None:
    """Every live pod becomes Running and Ready; errors while the server is down are fine."""
    n = 0
    while True:
        try:
            for p in (await pods.list(ns)).items:
                if p.status.phase != "Running" and p.metadata.deletion_timestamp is None:
                    n += 1
                    status = {
                        "phase": "Running",
                        "podIP": f"10.3.{n // 250}.{n % 250 + 1}",
                        "conditions": [{"type": "Ready", "status": "True"}],
                    }
                    await pods.patch(p.metadata.name, {"status": status}, MERGE_PATCH, ns, "status")
        except Exception:  # the API server is down: retry, like a kubelet would
            pass
        await asyncio.sleep(0.2)


def bump_etcd_revision(etcd_url: str) -> None:
    key = f"/minicloud-test/restart-{os.getpid()}"
    for cmd in (["put", key, "x"], ["del", key]):
        subprocess.run(
            ["etcdctl", "--endpoints", etcd_url, *cmd],
            env={**os.environ, "ETCDCTL_API": "3"}, check=True, capture_output=True,
        )  # fmt: skip


async def live_pods(pods, ns: str) -> list[corev1.Pod]:
    return [p for p in (await pods.list(ns)).items if p.metadata.deletion_timestamp is None]


async def settle(pods, rss, ns: str, want: int, timeout: float = 60) -> None:
    """Until exactly `want` live pods and one ReplicaSet, stable for two seconds."""
    deadline, stable_since = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        try:
            n, sets = len(await live_pods(pods, ns)), len((await rss.list(ns)).items)
        except Exception:
            n, sets = -1, -1
        if (n, sets) == (want, 1):
            stable_since = stable_since or time.monotonic()
            if time.monotonic() - stable_since > 2:
                return
        else:
            assert n <= want + 1, f"{n} live pods for {want} replicas: duplicates"
            stable_since = None
        await asyncio.sleep(0.2)
    raise AssertionError(f"pods/ReplicaSets did not settle at {want}/1")


async def scenario(apiserver) -> None:
    async with Client(load_kubeconfig(apiserver.kubeconfig)) as client:
        ns = f"restart-{uuid.uuid4().hex[:8]}"
        await client.resource(corev1.Namespace).create(
            corev1.Namespace(metadata=metav1.ObjectMeta(name=ns))
        )
        pods, rss = client.resource(corev1.Pod), client.resource(appsv1.ReplicaSet)
        deployments = client.resource(appsv1.Deployment)
        kubelet = asyncio.ensure_future(play_kubelet(pods, ns))
        try:
            await deployments.create(deployment("web", 3), ns)
            await settle(pods, rss, ns, 3)

            await asyncio.to_thread(apiserver.stop, True)
            # etcd moves on while the server is down, so the restarted watch cache starts
            # past every RV the informers hold: their watches must expire (410) and relist.
            await asyncio.to_thread(bump_etcd_revision, apiserver.etcd_url)
            await asyncio.to_thread(apiserver.start)

            await deployments.patch("web", {"spec": {"replicas": 5}}, MERGE_PATCH, ns)
            await settle(pods, rss, ns, 5)
            victim = (await live_pods(pods, ns))[0]
            await pods.delete(victim.metadata.name, ns)
            await settle(pods, rss, ns, 5)
        finally:
            kubelet.cancel()


def test_controllers_survive_an_apiserver_crash_and_expired_watches(apiserver):
    log = Path(tempfile.mkstemp(prefix=f"minicontroller-restart-{os.getpid()}-")[1])
    proc = subprocess.Popen(
        [sys.executable, "-m", "minicontroller", "--kubeconfig", apiserver.kubeconfig, "--v", "1",
         "--controllers", "deployment,replicaset"],
        stdout=log.open("w"), stderr=subprocess.STDOUT, cwd=ROOT,
    )  # fmt: skip
    try:
        asyncio.run(asyncio.wait_for(scenario(apiserver), 180))
        assert proc.poll() is None, "minicontroller exited"
        text = log.read_text()
        assert "too old resource version" in text or "Expired" in text or "Gone" in text, (
            "no informer saw its watch expire; the test did not exercise a relist"
        )
    except BaseException:
        print(log.read_text()[-4000:])
        raise
    finally:
        proc.kill()
        proc.wait()
        log.unlink(missing_ok=True)
