"""Registering the Node, reporting its status, and the node Lease heartbeat.

Mirrors pkg/kubelet/kubelet_node_status.go (registerWithAPIServer: create the
Node, or adopt an existing one; initialNode; updateNodeStatus only when something
changed or nodeStatusReportFrequency passed), pkg/kubelet/nodestatus/setters.go
(NodeAddress, MachineInfo: capacity and allocatable, VersionInfo, ReadyCondition
"kubelet is posting ready status", the pressure conditions, Images: the largest 50,
each named by its repo digests then tags, at most 5 names) and
k8s.io/component-helpers/apimachinery/lease/controller.go (a Lease in kube-node-lease
named after the node, owned by it, leaseDurationSeconds 40, renewed every 10 s by a PUT
of the Lease it holds, with no GET first). Registration is retried with back-off and can
carry --register-with-taints; the status loop GETs the Node from the API server's cache
(resourceVersion 0) to compare with, as tryUpdateNodeStatus does.
Omitted: eviction-driven pressure, taints set later by the kubelet, volumes in use.
"""

from __future__ import annotations

import asyncio
import logging
import os
import platform
from collections.abc import Callable
from datetime import datetime

import msgspec

from miniapi import errors, scheme
from miniapi.coordination.v1 import Lease, LeaseSpec
from miniapi.core import v1
from miniapi.meta import v1 as metav1
from miniapi.meta.v1.time import MicroTime, truncate_to_second
from miniapi.resource import Quantity, parse_quantity
from miniclient.rest import MERGE_PATCH, Client

log = logging.getLogger("minikubelet.node")
KUBELET_VERSION = "v1.31.0-minikubelet"
LEASE_DURATION_SECONDS = 40
RENEW_INTERVAL = 10.0
RENEW_JITTER = 0.04  # wait.JitterUntil's factor in the lease controller
NODE_LEASE_NAMESPACE = "kube-node-lease"
REPORT_FREQUENCY = 300.0
NODE_STATUS_MAX_IMAGES = 50
MAX_NAMES_PER_IMAGE_IN_NODE_STATUS = 5


def node_images(images: list) -> list[v1.ContainerImage]:
    """setters.Images over the runtime's ListImages (objects with repo_* and size)."""
    ordered = sorted(images, key=lambda i: i.size, reverse=True)[:NODE_STATUS_MAX_IMAGES]
    return [
        v1.ContainerImage(
            names=[*i.repo_digests, *i.repo_tags][:MAX_NAMES_PER_IMAGE_IN_NODE_STATUS],
            size_bytes=i.size,
        )
        for i in ordered
    ]


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return ""


def memory_bytes() -> int:
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return 0


def capacity(cpu: str = "", memory: str = "", pods: int = 110) -> dict[str, Quantity]:
    return {
        "cpu": parse_quantity(cpu or str(os.cpu_count() or 1)),
        "memory": parse_quantity(memory or f"{memory_bytes() // 1024}Ki"),
        "pods": parse_quantity(str(pods)),
        "ephemeral-storage": parse_quantity("10Gi"),
    }


def node_info(runtime_version: str) -> v1.NodeSystemInfo:
    os_release = dict(
        line.split("=", 1) for line in _read("/etc/os-release").splitlines() if "=" in line
    )
    return v1.NodeSystemInfo(
        machine_id=_read("/etc/machine-id"), system_uuid=_read("/etc/machine-id"),
        boot_id=_read("/proc/sys/kernel/random/boot_id"), kernel_version=platform.release(),
        os_image=os_release.get("PRETTY_NAME", "Linux").strip('"'),
        container_runtime_version=runtime_version, kubelet_version=KUBELET_VERSION,
        kube_proxy_version="", operating_system="linux",
        architecture={"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), "amd64"),
    )  # fmt: skip


def parse_taints(text: str) -> list[v1.Taint]:
    """--register-with-taints: comma-separated <key>=<value>:<effect> (the value optional)."""
    out = []
    for spec in filter(None, (t.strip() for t in text.split(","))):
        head, sep, effect = spec.rpartition(":")
        key, _, value = head.partition("=")
        if not sep or not key or effect not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
            raise ValueError(f'invalid taint spec: "{spec}"')
        out.append(v1.Taint(key=key, value=value, effect=effect))
    return out


def ready_conditions(now: datetime, ready: bool, old: list[v1.NodeCondition]):
    """MemoryPressure, DiskPressure, PIDPressure False; Ready from the runtime's health."""
    t = truncate_to_second(now)
    prev = {c.type: c for c in old}
    spec = [
        ("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
        ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
        ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
        ("Ready", "True" if ready else "False", "KubeletReady" if ready else "KubeletNotReady",
         "kubelet is posting ready status" if ready else "container runtime is down"),
    ]  # fmt: skip
    out = []
    for kind, status, reason, message in spec:
        p = prev.get(kind)
        since = p.last_transition_time if p and p.status == status else t
        out.append(v1.NodeCondition(type=kind, status=status, reason=reason, message=message,
                                    last_heartbeat_time=t, last_transition_time=since))  # fmt: skip
    return out


class NodeAgent:
    """The node half of the kubelet: register, report status, renew the lease."""

    def __init__(self, client: Client, name: str, node_ip: str, port: int, runtime_version: str,
                 cap: dict[str, Quantity], pod_cidr: str = "",
                 images: Callable[[], list[v1.ContainerImage]] | None = None,
                 taints: list[v1.Taint] | None = None):  # fmt: skip
        self.client, self.name, self.node_ip, self.port = client, name, node_ip, port
        self.nodes = client.resource(v1.Node)
        self.leases = client.resource(Lease)
        self.runtime_version, self.cap, self.pod_cidr = runtime_version, cap, pod_cidr
        self.images = images or list
        self.taints = taints or []
        self.reported_images: list[v1.ContainerImage] = []
        self.node: v1.Node | None = None
        self.last_report = 0.0
        self.lease: Lease | None = None  # the Lease as the last renewal returned it

    def initial_node(self, now: datetime | None = None) -> v1.Node:
        """initialNode; with `now` it carries its status too (upstream's setNodeStatus), so
        a Node is never seen without conditions or its kubelet port."""
        labels = {"kubernetes.io/hostname": self.name, "kubernetes.io/os": "linux",
                  "kubernetes.io/arch": "amd64"}  # fmt: skip
        return v1.Node(
            metadata=metav1.ObjectMeta(name=self.name, labels=labels),
            spec=v1.NodeSpec(pod_cidr=self.pod_cidr, pod_cidrs=[self.pod_cidr] if self.pod_cidr else [],
                             taints=self.taints),
            status=self.node_status(now, True) if now else v1.NodeStatus(),
        )  # fmt: skip

    async def register_with_api_server(self, now: Callable[[], datetime]) -> None:
        """registerWithAPIServer: try until registered, the pause doubling from 100 ms to 7 s
        (a thousand hollow nodes at once meet a busy API server: 429s, timeouts)."""
        step = 0.1
        while True:
            try:
                return await self.try_register_with_api_server(now())
            except Exception as err:
                log.warning("unable to register node %s with API server: %s", self.name, err)
            await asyncio.sleep(step)
            step = min(step * 2, 7.0)

    async def try_register_with_api_server(self, now: datetime | None = None) -> None:
        try:
            self.node = await self.nodes.create(self.initial_node(now))
        except errors.StatusError as err:
            if err.code != 409:
                raise
            self.node = await self.nodes.get(self.name)  # re-registration adopts the Node

    def node_status(self, now: datetime, ready: bool) -> v1.NodeStatus:
        old = self.node.status.conditions if self.node else []
        return v1.NodeStatus(
            capacity=self.cap, allocatable=self.cap, phase="",
            conditions=ready_conditions(now, ready, old),
            addresses=[v1.NodeAddress(type="InternalIP", address=self.node_ip),
                       v1.NodeAddress(type="Hostname", address=self.name)],
            daemon_endpoints=v1.NodeDaemonEndpoints(
                kubelet_endpoint=v1.DaemonEndpoint(port=self.port)),
            node_info=node_info(self.runtime_version),
            images=self.images(),
        )  # fmt: skip

    async def update_node_status(self, now: datetime, mono: float, ready: bool) -> bool:
        """tryUpdateNodeStatus: GET the Node (resourceVersion 0: from the API server's
        cache), and patch nodes/status when Ready or the images differ from what it shows
        (the node lifecycle controller may have set Ready Unknown), or REPORT_FREQUENCY
        passed (the lease is the heartbeat in between, as with the NodeLease feature)."""
        self.node = await self.nodes.get(self.name, resource_version="0")
        was_ready = any(c.type == "Ready" and c.status == "True"
                        for c in self.node.status.conditions)  # fmt: skip
        status = self.node_status(now, ready)
        unchanged = was_ready == ready and status.images == self.reported_images
        if self.last_report and unchanged and mono - self.last_report < REPORT_FREQUENCY:
            return False
        self.reported_images = status.images
        body = {"status": scheme.encode(v1.Node(status=status))["status"]}
        self.node = await self.nodes.patch(self.name, body, MERGE_PATCH, subresource="status")
        self.last_report = mono
        return True

    async def renew_lease(self, now: datetime) -> Lease:
        """controller.go's sync: PUT the Lease held from the last renewal with a new
        renewTime (no GET first); ensureLease (GET, or create) only when none is held or
        the PUT failed (a conflict, or the Lease deleted)."""
        if self.lease is not None:
            renewed = msgspec.structs.replace(self.lease, spec=msgspec.structs.replace(
                self.lease.spec, renew_time=MicroTime.from_datetime(now)))  # fmt: skip
            try:
                self.lease = await self.leases.update(renewed)
                return self.lease
            except errors.StatusError as err:
                if err.code not in (404, 409):
                    raise  # a busy or absent API server: the held Lease is still good to PUT
                self.lease = None
        self.lease = await self.ensure_lease(now)
        return self.lease

    async def ensure_lease(self, now: datetime) -> Lease:
        spec = LeaseSpec(holder_identity=self.name, lease_duration_seconds=LEASE_DURATION_SECONDS,
                         renew_time=MicroTime.from_datetime(now))  # fmt: skip
        try:
            lease = await self.leases.get(self.name, NODE_LEASE_NAMESPACE)
        except errors.StatusError as err:
            if err.code != 404:
                raise
            owner = [metav1.OwnerReference(api_version="v1", kind="Node", name=self.name,
                                           uid=self.node.metadata.uid if self.node else "")]  # fmt: skip
            meta = metav1.ObjectMeta(name=self.name, namespace=NODE_LEASE_NAMESPACE,
                                     owner_references=owner)  # fmt: skip
            return await self.leases.create(Lease(metadata=meta, spec=spec))
        return await self.leases.update(msgspec.structs.replace(lease, spec=spec))
