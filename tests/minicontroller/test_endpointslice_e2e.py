"""The EndpointSlice controller end to end: `python -m minicontroller` against miniapiserver.

The test plays the kubelet (pod IPs and readiness through the status
subresource); slices must hold exactly the pods' IPs with resolved named ports,
at most --max-endpoints-per-slice each, and follow readiness changes.
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

from miniapi.core import v1 as corev1
from miniapi.discovery import v1 as discoveryv1
from miniapi.meta import v1 as metav1
from miniclient.kubeconfig import load_kubeconfig
from miniclient.rest import MERGE_PATCH, Client

pytestmark = pytest.mark.tool("etcd")

ROOT = Path(__file__).resolve().parents[2]


async def eventually(check, timeout: float = 40.0):
    deadline = asyncio.get_running_loop().time() + timeout
    last = None
    while True:
        last = await check()
        if last is True:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{check.__name__}: last state {last}")
        await asyncio.sleep(0.2)


def test_endpointslices_follow_pods(apiserver):
    log = Path(tempfile.mkstemp(prefix=f"minicontroller-eps-{os.getpid()}-")[1])
    proc = subprocess.Popen(
        [sys.executable, "-m", "minicontroller", "--kubeconfig", apiserver.kubeconfig,
         "--controllers", "endpointslice", "--max-endpoints-per-slice", "2"],
        stdout=log.open("w"), stderr=subprocess.STDOUT, cwd=ROOT,
    )  # fmt: skip
    try:
        asyncio.run(asyncio.wait_for(scenario(apiserver), 90))
    finally:
        proc.kill()
        proc.wait()
        log.unlink(missing_ok=True)


async def scenario(apiserver) -> None:
    async with Client(load_kubeconfig(apiserver.kubeconfig)) as client:
        ns = f"eps-{uuid.uuid4().hex[:8]}"
        await client.resource(corev1.Namespace).create(
            corev1.Namespace(metadata=metav1.ObjectMeta(name=ns))
        )
        pods, slices = client.resource(corev1.Pod), client.resource(discoveryv1.EndpointSlice)
        services = client.resource(corev1.Service)
        await services.create(
            corev1.Service(
                metadata=metav1.ObjectMeta(name="web", namespace=ns),
                spec=corev1.ServiceSpec(
                    selector={"app": "web"},
                    ports=[corev1.ServicePort(name="http", port=80, target_port="http-alt")],
                ),
            )
        )
        for i in range(3):
            await pods.create(
                corev1.Pod(
                    metadata=metav1.ObjectMeta(name=f"p{i}", namespace=ns, labels={"app": "web"}),
                    spec=corev1.PodSpec(
                        containers=[
                            corev1.Container(
                                name="c",
                                image="nginx",
                                ports=[corev1.ContainerPort(name="http-alt", container_port=8080)],
                            )
                        ]
                    ),
                )
            )
            status = {
                "phase": "Running",
                "podIP": f"10.1.0.{i + 1}",
                "conditions": [{"type": "Ready", "status": "True"}],
            }
            await pods.patch(f"p{i}", {"status": status}, MERGE_PATCH, ns, "status")

        async def state():
            items = (await slices.list(ns, label_selector="kubernetes.io/service-name=web")).items
            eps = {ep.addresses[0]: ep.conditions.ready for s in items for ep in s.endpoints}
            sizes = sorted(len(s.endpoints) for s in items)
            ports = {(p.name, p.port) for s in items for p in s.ports}
            managed = {
                s.metadata.labels.get("endpointslice.kubernetes.io/managed-by") for s in items
            }
            return eps, sizes, ports, managed

        async def all_ready():
            eps, sizes, ports, managed = await state()
            want = {"10.1.0.1": True, "10.1.0.2": True, "10.1.0.3": True}
            ok = (eps, sizes, ports, managed) == (
                want, [1, 2], {("http", 8080)}, {"endpointslice-controller.k8s.io"},
            )  # fmt: skip
            return ok or (eps, sizes, ports, managed)

        await eventually(all_ready)
        # A pod turning unready stays in its slice with ready=false.
        unready = {"conditions": [{"type": "Ready", "status": "False"}]}
        await pods.patch("p1", {"status": unready}, MERGE_PATCH, ns, "status")
        await pods.delete("p2", ns)

        async def followed():
            eps = (await state())[0]
            return eps == {"10.1.0.1": True, "10.1.0.2": False} or eps

        await eventually(followed)
        await services.delete("web", ns)

        async def gone():
            items = (await slices.list(ns)).items
            return not items or [s.metadata.name for s in items]

        await eventually(gone)
