"""The NodeLifecycle controller end to end: a node whose Lease stops is tainted, its pods go.

`python -m minicontroller --controllers node-lifecycle-controller` runs with a 2 s grace
period against miniapiserver over etcd. The test plays the kubelet: it creates the Node and
its Lease in kube-node-lease and renews it. Once it stops, the node turns Ready=Unknown and
gets the unreachable NoExecute taint; a pod tolerating it for 0 s is evicted at once, one
tolerating it for 4 s about 4 s later, one tolerating it forever stays. A pod created with
no tolerations at all was given 300 s by the API server's DefaultTolerationSeconds
admission, so it stays too. Renewing again and posting Ready=True removes the taint.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from msgspec.structs import replace

from miniapi import errors
from miniapi.coordination.v1 import Lease, LeaseSpec
from miniapi.core import v1 as corev1
from miniapi.meta.v1 import ObjectMeta
from miniclient.kubeconfig import load_kubeconfig
from miniclient.rest import Client

pytestmark = pytest.mark.tool("etcd")

ROOT = Path(__file__).resolve().parents[2]
UNREACHABLE = "node.kubernetes.io/unreachable"
TOLERATE_SECONDS = 4


def test_silent_node_is_tainted_and_its_pods_evicted(apiserver):
    log = Path(tempfile.mkstemp(prefix=f"minicontroller-nlc-{os.getpid()}-")[1])
    proc = subprocess.Popen(
        [sys.executable, "-m", "minicontroller", "--kubeconfig", apiserver.kubeconfig,
         "--controllers", "node-lifecycle-controller",
         "--node-monitor-period", "200ms", "--node-monitor-grace-period", "2s"],
        stdout=log.open("w"), stderr=subprocess.STDOUT, cwd=ROOT,
    )  # fmt: skip
    try:
        asyncio.run(asyncio.wait_for(scenario(apiserver), 60))
    except BaseException:
        print(log.read_text())
        raise
    finally:
        proc.kill()
        proc.wait()
        log.unlink(missing_ok=True)


def now() -> datetime:
    return datetime.now(UTC)


def ready(status: str) -> corev1.NodeCondition:
    return corev1.NodeCondition(
        type="Ready", status=status, reason="KubeletReady", last_heartbeat_time=now()
    )


def toleration(seconds: int | None) -> corev1.Toleration:
    return corev1.Toleration(
        key=UNREACHABLE, operator="Exists", effect="NoExecute", toleration_seconds=seconds
    )


def pod(name: str, ns: str, node: str, *tolerations: corev1.Toleration) -> corev1.Pod:
    return corev1.Pod(
        metadata=ObjectMeta(name=name, namespace=ns),
        spec=corev1.PodSpec(
            node_name=node,
            containers=[corev1.Container(name="c", image="nginx")],
            tolerations=list(tolerations),
        ),
    )


async def renew_forever(leases, name: str) -> None:
    while True:
        lease = await leases.get(name, namespace="kube-node-lease")
        spec = replace(lease.spec, renew_time=now())
        try:
            await leases.update(replace(lease, spec=spec))
        except errors.StatusError as e:
            if not errors.is_conflict(e):
                raise
        await asyncio.sleep(0.3)


async def wait_for(what: str, check, timeout: float = 20.0):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        got = await check()
        if got:
            return got
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


async def evicted(pods, name: str, ns: str) -> bool:
    try:
        p = await pods.get(name, namespace=ns)
    except errors.StatusError as e:
        assert errors.is_not_found(e)
        return True
    return p.metadata.deletion_timestamp is not None


async def set_ready(nodes, name: str, status: str) -> None:
    while True:
        node = await nodes.get(name)
        kept = [c for c in node.status.conditions if c.type != "Ready"]
        status_ = replace(node.status, conditions=[*kept, ready(status)])
        try:
            await nodes.update_status(replace(node, status=status_))
            return
        except errors.StatusError as e:
            if not errors.is_conflict(e):
                raise


def ready_status(node: corev1.Node) -> corev1.NodeCondition:
    return next(c for c in node.status.conditions if c.type == "Ready")


async def scenario(apiserver) -> None:
    suffix = uuid.uuid4().hex[:8]
    name, ns = f"node-{suffix}", f"nlc-{suffix}"
    async with Client(load_kubeconfig(apiserver.kubeconfig)) as client:
        nodes = client.resource(corev1.Node)
        pods = client.resource(corev1.Pod)
        leases = client.resource(Lease)
        namespaces = client.resource(corev1.Namespace)
        for n in ("kube-node-lease", ns):
            try:
                await namespaces.create(corev1.Namespace(metadata=ObjectMeta(name=n)))
            except errors.StatusError as e:
                assert errors.is_already_exists(e)
        await nodes.create(corev1.Node(metadata=ObjectMeta(name=name)))
        await set_ready(nodes, name, "True")
        await leases.create(
            Lease(
                metadata=ObjectMeta(name=name, namespace="kube-node-lease"),
                spec=LeaseSpec(holder_identity=name, lease_duration_seconds=40, renew_time=now()),
            )
        )
        heartbeat = asyncio.ensure_future(renew_forever(leases, name))
        for p in (
            pod("plain", ns, name, toleration(0)),
            pod("brief", ns, name, toleration(TOLERATE_SECONDS)),
            pod("forever", ns, name, toleration(None)),
            pod("defaulted", ns, name),
        ):
            await pods.create(p)
        defaulted = await pods.get("defaulted", namespace=ns)
        assert {(t.key, t.effect, t.toleration_seconds) for t in defaulted.spec.tolerations} == {
            ("node.kubernetes.io/not-ready", "NoExecute", 300),
            (UNREACHABLE, "NoExecute", 300),
        }
        # Healthy while the Lease is renewed, well past the grace period.
        await asyncio.sleep(3)
        node = await nodes.get(name)
        assert ready_status(node).status == "True" and node.spec.taints == []

        heartbeat.cancel()
        node = await wait_for("Ready=Unknown", lambda: unknown(nodes, name))
        cond = ready_status(node)
        assert (cond.reason, cond.message) == (
            "NodeStatusUnknown",
            "Kubelet stopped posting node status.",
        )
        node = await wait_for("the unreachable taint", lambda: tainted(nodes, name))
        tainted_at = asyncio.get_running_loop().time()
        await wait_for("the plain pod's eviction", lambda: evicted(pods, "plain", ns), 10)
        assert not await evicted(pods, "brief", ns)
        await wait_for("the brief pod's eviction", lambda: evicted(pods, "brief", ns), 15)
        waited = asyncio.get_running_loop().time() - tainted_at
        assert waited >= TOLERATE_SECONDS - 1, waited
        assert not await evicted(pods, "forever", ns)
        assert not await evicted(pods, "defaulted", ns)

        heartbeat = asyncio.ensure_future(renew_forever(leases, name))
        try:
            await set_ready(nodes, name, "True")
            node = await wait_for("the taint removed", lambda: untainted(nodes, name))
            assert ready_status(node).status == "True"
            assert not await evicted(pods, "forever", ns)
        finally:
            heartbeat.cancel()
        await nodes.delete(name)
        await namespaces.delete(ns)


async def unknown(nodes, name: str) -> corev1.Node | None:
    node = await nodes.get(name)
    return node if ready_status(node).status == "Unknown" else None


async def tainted(nodes, name: str) -> corev1.Node | None:
    node = await nodes.get(name)
    keys = [(t.key, t.effect) for t in node.spec.taints]
    return node if keys == [(UNREACHABLE, "NoExecute")] else None


async def untainted(nodes, name: str) -> corev1.Node | None:
    node = await nodes.get(name)
    return node if not node.spec.taints else None
