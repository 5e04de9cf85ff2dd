"""The Deployment controller end to end, driven by kubectl against miniapiserver.

`python -m minicontroller` runs all controllers; the test plays the kubelet
(every pod becomes Running and Ready with an IP) and samples the pods the whole
time: during a RollingUpdate with maxSurge=1, maxUnavailable=0 there are never
more than replicas+1 pods, and never fewer than replicas ready once the first
rollout is done. `kubectl rollout status/history/undo/pause/resume`, `set image`
and `scale` are the real kubectl. A second scenario scales a rollout stuck on a
broken image and checks upstream's proportional split and the Events
`kubectl describe` shows.
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

from miniapi.apps import v1 as appsv1
from miniapi.core import v1 as corev1
from miniapi.meta import v1 as metav1
from miniapi.scheme import encode
from miniclient.kubeconfig import load_kubeconfig
from miniclient.rest import MERGE_PATCH, Client

pytestmark = pytest.mark.tool("etcd", "kubectl")

ROOT = Path(__file__).resolve().parents[2]

MANIFEST = """apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, image: "nginx:1"}]}
"""


class Kubectl:
    def __init__(self, kubeconfig: str, namespace: str) -> None:
        self.env = {**os.environ, "KUBECONFIG": kubeconfig}
        self.namespace = namespace

    async def __call__(self, *args: str, stdin: str | None = None) -> str:
        proc = await asyncio.create_subprocess_exec(
            "kubectl", "-n", self.namespace, *args,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.env,
        )  # fmt: skip
        out, err = await proc.communicate(stdin.encode() if stdin else None)
        if proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)}: {err.decode()}")
        return out.decode()


class Kubelet:
    """Marks every pod (whose image is not `broken`) Running+Ready with an IP; samples counts."""

    def __init__(self, client: Client, namespace: str, broken: str = "") -> None:
        self.pods = client.resource(corev1.Pod)
        self.namespace = namespace
        self.broken = broken
        self.samples: list[tuple[int, int]] = []
        self.ips = iter(range(1, 250))

    async def run(self) -> None:
        while True:
            items = (await self.pods.list(self.namespace)).items
            live = [p for p in items if p.metadata.deletion_timestamp is None]
            ready = [
                p
                for p in live
                if any(c.type == "Ready" and c.status == "True" for c in p.status.conditions)
            ]
            self.samples.append((len(live), len(ready)))
            for p in live:
                if p in ready or p.spec.containers[0].image == self.broken:
                    continue
                status = {
                    "phase": "Running",
                    "podIP": f"10.2.0.{next(self.ips)}",
                    "conditions": [{"type": "Ready", "status": "True"}],
                }
                try:
                    await self.pods.patch(
                        p.metadata.name, {"status": status}, MERGE_PATCH, self.namespace, "status"
                    )
                except Exception:
                    pass
            await asyncio.sleep(0.1)


def run_with_controllers(apiserver, scenario) -> None:
    log = Path(tempfile.mkstemp(prefix=f"minicontroller-dep-{os.getpid()}-")[1])
    proc = subprocess.Popen(
        [sys.executable, "-m", "minicontroller", "--kubeconfig", apiserver.kubeconfig],
        stdout=log.open("w"), stderr=subprocess.STDOUT, cwd=ROOT,
    )  # fmt: skip
    try:
        asyncio.run(asyncio.wait_for(scenario(apiserver), 150))
    except BaseException:
        print(log.read_text()[-3000:])
        raise
    finally:
        proc.kill()
        proc.wait()
        log.unlink(missing_ok=True)


def test_deployment_rollout_undo_scale_pause(apiserver):
    run_with_controllers(apiserver, scenario)


def test_scaling_a_stuck_rollout_is_proportional_and_reported_as_events(apiserver):
    run_with_controllers(apiserver, proportional_scenario)


async def new_namespace(client: Client) -> str:
    ns = f"dep-{uuid.uuid4().hex[:8]}"
    await client.resource(corev1.Namespace).create(
        corev1.Namespace(metadata=metav1.ObjectMeta(name=ns))
    )
    return ns


async def wait_for_sizes(rs_client, ns: str, want: dict[str, int], timeout: float = 60) -> None:
    """Until the ReplicaSets' spec.replicas by image equal want."""
    sizes: dict[str, int] = {}
    for _ in range(int(timeout / 0.2)):
        items = (await rs_client.list(ns)).items
        sizes = {r.spec.template.spec.containers[0].image: r.spec.replicas for r in items}
        if sizes == want:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"ReplicaSet sizes {sizes}, want {want}")


async def proportional_scenario(apiserver) -> None:
    """A rollout stuck on a broken image (old 8 + new 5 of 10, surge 3) scaled to 20.

    Upstream's arithmetic (sync.go scale): 23 allowed, 13 present, 10 to add;
    old 8 -> round(8*23/13) = 14, new 5 -> round(5*23/13) = 9.
    """
    manifest = MANIFEST.replace("replicas: 3", "replicas: 10").replace(
        "maxSurge: 1, maxUnavailable: 0", "maxSurge: 3, maxUnavailable: 2"
    )
    async with Client(load_kubeconfig(apiserver.kubeconfig)) as client:
        ns = await new_namespace(client)
        kubectl = Kubectl(apiserver.kubeconfig, ns)
        rs_client = client.resource(appsv1.ReplicaSet)
        task = asyncio.ensure_future(Kubelet(client, ns, broken="nginx:broken").run())
        try:
            await kubectl("apply", "-f", "-", stdin=manifest)
            await kubectl("rollout", "status", "deployment/web", "--timeout=60s")
            await kubectl("set", "image", "deployment/web", "c=nginx:broken")
            await wait_for_sizes(rs_client, ns, {"nginx:1": 8, "nginx:broken": 5})
            await kubectl("scale", "deployment/web", "--replicas=20")
            await wait_for_sizes(rs_client, ns, {"nginx:1": 14, "nginx:broken": 9})
            described = await kubectl("describe", "deployment/web")
            assert "ScalingReplicaSet" in described
            assert "from 8 to 14" in described and "from 5 to 9" in described
            rs_described = await kubectl("describe", "replicaset")
            assert "SuccessfulCreate" in rs_described and "Created pod: web-" in rs_described
        finally:
            task.cancel()


async def scenario(apiserver) -> None:
    async with Client(load_kubeconfig(apiserver.kubeconfig)) as client:
        ns = await new_namespace(client)
        kubectl = Kubectl(apiserver.kubeconfig, ns)
        # kubectl drives; plain reads go through the client (a kubectl process costs ~0.5 s).
        rs_client, pod_client = client.resource(appsv1.ReplicaSet), client.resource(corev1.Pod)
        d_client = client.resource(appsv1.Deployment)
        kubelet = Kubelet(client, ns)
        task = asyncio.ensure_future(kubelet.run())
        try:
            await kubectl("apply", "-f", "-", stdin=MANIFEST)
            out = await kubectl("rollout", "status", "deployment/web", "--timeout=60s")
            assert "successfully rolled out" in out
            rs = [encode(x) for x in (await rs_client.list(ns)).items]
            assert len(rs) == 1
            pods = [encode(x) for x in (await pod_client.list(ns)).items]
            assert len(pods) == 3
            hash_ = rs[0]["metadata"]["labels"]["pod-template-hash"]
            for p in pods:
                assert p["metadata"]["labels"] == {"app": "web", "pod-template-hash": hash_}
                assert p["metadata"]["ownerReferences"][0]["name"] == rs[0]["metadata"]["name"]
            assert rs[0]["metadata"]["ownerReferences"][0]["kind"] == "Deployment"

            kubelet.samples.clear()
            await kubectl("set", "image", "deployment/web", "c=nginx:2")
            await kubectl("rollout", "status", "deployment/web", "--timeout=60s")
            assert kubelet.samples, "the kubelet sampled nothing"
            assert max(n for n, _ in kubelet.samples) <= 4, "more than replicas + maxSurge pods"
            assert min(r for _, r in kubelet.samples) >= 3, (
                "fewer than replicas - maxUnavailable ready"
            )
            rs = [encode(x) for x in (await rs_client.list(ns)).items]
            by_image = {r["spec"]["template"]["spec"]["containers"][0]["image"]: r for r in rs}
            assert by_image["nginx:2"]["spec"]["replicas"] == 3
            assert by_image["nginx:1"]["spec"]["replicas"] == 0
            history = await kubectl("rollout", "history", "deployment/web")
            assert "1 " in history and "2 " in history

            await kubectl("rollout", "undo", "deployment/web")
            await kubectl("rollout", "status", "deployment/web", "--timeout=60s")
            d = encode(await d_client.get("web", ns))
            assert d["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1"
            assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
            assert len([encode(x) for x in (await rs_client.list(ns)).items]) == 2

            await kubectl("scale", "deployment/web", "--replicas=5")
            await kubectl("rollout", "status", "deployment/web", "--timeout=60s")
            live = [encode(x) for x in (await pod_client.list(ns)).items]
            assert len([p for p in live if "deletionTimestamp" not in p["metadata"]]) == 5

            await kubectl("rollout", "pause", "deployment/web")
            await kubectl("set", "image", "deployment/web", "c=nginx:3")
            await asyncio.sleep(1.0)
            images = {
                r["spec"]["template"]["spec"]["containers"][0]["image"]
                for r in [encode(x) for x in (await rs_client.list(ns)).items]
            }
            assert "nginx:3" not in images, "a paused Deployment rolled out"
            await kubectl("rollout", "resume", "deployment/web")
            await kubectl("rollout", "status", "deployment/web", "--timeout=60s")
            d = encode(await d_client.get("web", ns))
            s = d["status"]
            assert (s["updatedReplicas"], s["availableReplicas"]) == (5, 5)
            conds = {c["type"]: c["reason"] for c in s["conditions"]}
            assert conds == {
                "Available": "MinimumReplicasAvailable",
                "Progressing": "NewReplicaSetAvailable",
            }
        finally:
            task.cancel()
