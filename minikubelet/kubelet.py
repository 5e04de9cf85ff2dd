"""The Kubelet: pod config from the API server, syncPod per pod, housekeeping.

Mirrors pkg/kubelet/kubelet.go (SyncPod: compute and push the status, then let the
runtime converge; SyncTerminatingPod: kill with the grace period; SyncTerminatedPod
and the final status; HandlePodCleanups removing what no pod owns), and
pkg/kubelet/config/apiserver.go (a reflector over pods with
fieldSelector spec.nodeName=<node>). The API delete with grace period 0 once a
pod's containers are gone is status_manager.go's canBeDeleted/delete.
Omitted: static and mirror pods, admission (resources, node affinity), eviction,
volume manager (volumes are made by the runtime step), active deadline.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime

import msgspec

from miniapi import errors
from miniapi.core import v1
from miniclient.cache.reflector import ListWatch, Reflector
from miniclient.rest import Client
from minikubelet.configsources import fetch_sources
from minikubelet.events import EventRecorder
from minikubelet.hollow import HollowRuntime
from minikubelet.kuberuntime_manager import KubeGenericRuntimeManager
from minikubelet.pod_workers import PodWorkers
from minikubelet.prober.prober_manager import ProberManager
from minikubelet.status import FAILED, SUCCEEDED, PodRuntimeView, generate_api_pod_status
from minikubelet.status_manager import StatusManager

log = logging.getLogger("minikubelet")


class PodConfig:
    """The reflector's store: every add/update/delete becomes a pod worker update."""

    def __init__(self, kubelet: Kubelet) -> None:
        self.kubelet = kubelet
        self.synced = False

    def add(self, pod: v1.Pod) -> None:
        self.kubelet.workers.update_pod(pod)

    update = add

    def delete(self, pod: v1.Pod) -> None:
        # Deleted from the API (grace 0 by us, or a force delete): finish it off.
        self.kubelet.gone.add(pod.metadata.uid)
        self.kubelet.workers.update_pod(pod)

    def replace(self, pods: list[v1.Pod], resource_version: str) -> None:
        for pod in pods:
            self.add(pod)
        self.synced = True

    def resync(self) -> None:
        pass


class Kubelet:
    def __init__(self, client: Client, node_name: str, node_ip: str,
                 runtime: KubeGenericRuntimeManager | None, hollow: HollowRuntime | None):  # fmt: skip
        self.client, self.node_name, self.node_ip = client, node_name, node_ip
        self.runtime, self.hollow = runtime, hollow
        self.pods = client.resource(v1.Pod)
        self.status_manager = StatusManager(self.pods)
        self.workers = PodWorkers(self.sync)
        self.recorder = EventRecorder(client, node_name)
        self.prober = ProberManager(runtime.runtime if runtime else None, self._probe_changed)
        self.pod_config = PodConfig(self)
        self.last_status: dict[str, v1.PodStatus] = {}
        self.gone: set[str] = set()

    def reflector(self) -> Reflector:
        lw = ListWatch(self.pods, field_selector=f"spec.nodeName={self.node_name}")
        return Reflector(lw, self.pod_config, name="pods")

    async def sync(self, pod: v1.Pod) -> bool:
        uid = pod.metadata.uid
        if uid in self.gone or pod.metadata.deletion_timestamp is not None:
            return await self.sync_terminating_pod(pod)
        pod = self._with_last_status(pod)
        if pod.status.phase in (SUCCEEDED, FAILED):
            return False  # terminal: containers were stopped when the phase was reached
        view = await self._converge(pod)
        for kind, reason, message in view.events:
            await self.recorder.event(pod, kind, reason, message)
        status = generate_api_pod_status(pod, view, datetime.now(UTC))
        if status.phase in (SUCCEEDED, FAILED) and self.runtime is not None:
            self.prober.remove_pod(uid)
            await asyncio.to_thread(self.runtime.kill_pod, pod, 0)
        self.last_status[uid] = status
        await self.status_manager.set_pod_status(pod, status)
        return False

    def _probe_changed(self, uid: str, probe_type: str, result: str, output: str) -> None:
        """A probe result changed: sync the pod now, and tell a failure as Unhealthy."""
        pod = self.workers.pods.get(uid)
        if pod is not None and result == "Failure":
            message = f"{probe_type} probe failed: {output}".strip()
            asyncio.get_running_loop().create_task(
                self.recorder.event(pod, "Warning", "Unhealthy", message))  # fmt: skip
        self.workers.poke(uid)

    def _with_last_status(self, pod: v1.Pod) -> v1.Pod:
        last = self.last_status.get(pod.metadata.uid)
        status = last or msgspec.structs.replace(pod.status, host_ip=self.node_ip)
        return msgspec.structs.replace(pod, status=status)

    async def _converge(self, pod: v1.Pod) -> PodRuntimeView:
        uid = pod.metadata.uid
        if self.hollow is not None:
            view = self.hollow.view(pod, time.monotonic())
        else:
            view = PodRuntimeView(host_ip=self.node_ip)
            failed = self.prober.failed()
            sources = await fetch_sources(self.client, pod)
            await asyncio.to_thread(self.runtime.sync_pod, pod, view, failed, time.time(), sources)
            running = {c.name: (c.id, c.started_at) for c in view.containers
                       if c.state == "RUNNING"}  # fmt: skip
            self.prober.sync(uid, pod, running, view.pod_ip)
            view.ready = {cid: self.prober.readiness(cid) for cid, _ in running.values()}
            view.started = {cid: self.prober.started(cid) for cid, _ in running.values()}
        view.host_ip = self.node_ip
        return view

    async def sync_terminating_pod(self, pod: v1.Pod) -> bool:
        """Kill with the grace period, push the final status, then delete with grace 0."""
        uid = pod.metadata.uid
        grace = pod.metadata.deletion_grace_period_seconds
        if grace is None:
            grace = pod.spec.termination_grace_period_seconds or 0
        self.prober.remove_pod(uid)
        pod = self._with_last_status(pod)
        if self.hollow is not None:
            await asyncio.sleep(min(grace, 1.0))
            view = self.hollow.view(pod, time.monotonic())
            self.hollow.forget(uid)
        else:
            for c in pod.spec.containers:
                await self.recorder.event(pod, "Normal", "Killing", f"Stopping container {c.name}")
            await asyncio.to_thread(self.runtime.kill_pod, pod, grace)
            view = PodRuntimeView(host_ip=self.node_ip)
            await asyncio.to_thread(self.runtime.get_pod_status, pod, view)
        if uid not in self.gone:
            status = generate_api_pod_status(pod, view, datetime.now(UTC))
            if status.phase not in (SUCCEEDED, FAILED):
                status = msgspec.structs.replace(status, phase=FAILED)
            await self.status_manager.set_pod_status(pod, status)
        if self.runtime is not None:
            await asyncio.to_thread(self.runtime.remove_pod, pod)
        if uid not in self.gone:
            await self._delete(pod)
        self.status_manager.remove(uid)
        self.last_status.pop(uid, None)
        self.gone.discard(uid)
        return True

    async def _delete(self, pod: v1.Pod) -> None:
        try:
            await self.pods.delete(pod.metadata.name, pod.metadata.namespace,
                                   preconditions={"uid": pod.metadata.uid},
                                   grace_period_seconds=0)  # fmt: skip
        except errors.StatusError as err:
            if err.code not in (404, 409):
                raise

    async def handle_pod_cleanups(self) -> None:
        """Remove sandboxes and containers of pods this kubelet no longer has (orphans)."""
        if self.runtime is None or not self.pod_config.synced:
            return
        known = self.workers.known()
        for s in await asyncio.to_thread(self.runtime.runtime.list_pod_sandbox):
            if s.config.uid not in known:
                log.info("removing orphaned sandbox %s of pod uid %s", s.id, s.config.uid)
                await asyncio.to_thread(self.runtime.runtime.remove_pod_sandbox, s.id)
