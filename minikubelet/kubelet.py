"""The Kubelet: pod config from the API server, syncPod per pod, housekeeping.

Mirrors pkg/kubelet/kubelet.go (SyncPod: compute and push the status, then let the
runtime converge; SyncTerminatingPod: kill with the grace period; SyncTerminatedPod
and the final status; HandlePodCleanups removing what no pod owns), and
pkg/kubelet/config/apiserver.go (a reflector over pods with
fieldSelector spec.nodeName=<node>). The API delete with grace period 0 once a
pod's containers are gone is status_manager.go's canBeDeleted/delete.
Projected ServiceAccount tokens come from token_manager.py (the kubelet's tokenManager).
pleg_loop is GenericPLEG.Start (pleg.py): a relist each second wakes the workers of the
pods whose containers changed; a sync tells its worker when to come back (converged: the
--sync-frequency resync; a container still waiting: 1 s).
Omitted: static and mirror pods, admission (resources, node affinity), eviction,
volume manager (volumes are made by the runtime step), active deadline.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import msgspec

from miniapi import errors
from miniapi.core import v1
from miniclient.cache.reflector import ListWatch, Reflector
from miniclient.rest import Client
from minikubelet.configsources import ObjectCache, fetch_sources
from minikubelet.events import EventRecorder
from minikubelet.hollow import HollowRuntime
from minikubelet.kuberuntime_manager import KubeGenericRuntimeManager
from minikubelet.pleg import RELIST_PERIOD, GenericPLEG
from minikubelet.pod_startup_latency_tracker import PodStartupLatencyTracker
from minikubelet.pod_workers import BACK_OFF_PERIOD, SYNC_FREQUENCY, PodWorkers
from minikubelet.prober.prober_manager import ProberManager
from minikubelet.status import FAILED, SUCCEEDED, PodRuntimeView, generate_api_pod_status
from minikubelet.status_manager import StatusManager
from minikubelet.token_manager import TokenManager

log = logging.getLogger("minikubelet")


def converged(status: v1.PodStatus) -> bool:
    """No container is waiting: only a PLEG event, a probe or the resync has news now."""
    statuses = [*status.init_container_statuses, *status.container_statuses]
    return status.phase != "Pending" and all(
        c.state is not None and c.state.waiting is None for c in statuses)  # fmt: skip


class PodConfig:
    """The reflector's store: every add/update/delete becomes a pod worker update."""

    def __init__(self, kubelet: Kubelet) -> None:
        self.kubelet = kubelet
        self.synced = False

    def add(self, pod: v1.Pod) -> None:
        m = pod.metadata
        if m.deletion_timestamp is None and pod.status.phase in ("", "Pending"):
            created = m.creation_timestamp.timestamp() if m.creation_timestamp else time.time()
            self.kubelet.tracker.observed_pod_on_watch(m.uid, f"{m.namespace}/{m.name}",
                                                       created, time.time())  # fmt: skip
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
                 runtime: KubeGenericRuntimeManager | None, hollow: HollowRuntime | None,
                 max_pods: int = 110, sync_frequency: float = SYNC_FREQUENCY):  # fmt: skip
        self.client, self.node_name, self.node_ip = client, node_name, node_ip
        self.runtime, self.hollow = runtime, hollow
        self.pods = client.resource(v1.Pod)
        self.status_manager = StatusManager(self.pods, self._record_status_updated)
        self.workers = PodWorkers(self.sync, sync_frequency)
        self.recorder = EventRecorder(client, node_name)
        # A thread per busy pod worker (a goroutine each upstream): asyncio's default pool
        # (cores + 4 threads) would queue one pod's sandbox behind another's runc calls.
        self.executor = ThreadPoolExecutor(max_workers=max_pods, thread_name_prefix="pod-worker")
        self.event_queue: asyncio.Queue[tuple[v1.Pod, str, str, str]] = asyncio.Queue()
        self.event_sender: asyncio.Task | None = None
        self.prober = ProberManager(runtime.runtime if runtime else None, self._probe_changed)
        self.pod_config = PodConfig(self)
        self.last_status: dict[str, v1.PodStatus] = {}
        self.gone: set[str] = set()
        self.tracker = runtime.tracker if runtime else PodStartupLatencyTracker()
        self.tokens = TokenManager(self._request_token)
        self.objects = ObjectCache()

    def reflector(self) -> Reflector:
        lw = ListWatch(self.pods, field_selector=f"spec.nodeName={self.node_name}")
        return Reflector(lw, self.pod_config, name="pods")

    async def call_runtime(self, fn, *args):
        """A blocking runtime call in the pod workers' pool, the event loop free meanwhile."""
        return await asyncio.get_running_loop().run_in_executor(
            self.executor, functools.partial(fn, *args))  # fmt: skip

    def event(self, pod: v1.Pod, kind: str, reason: str, message: str) -> None:
        """Record an event without waiting for it (client-go's broadcaster sends later)."""
        self.event_queue.put_nowait((pod, kind, reason, message))
        if self.event_sender is None or self.event_sender.done():
            self.event_sender = asyncio.get_running_loop().create_task(self._send_events())

    async def _send_events(self) -> None:
        while not self.event_queue.empty():
            pod, kind, reason, message = self.event_queue.get_nowait()
            try:
                await self.recorder.event(pod, kind, reason, message)
            except Exception as err:  # events are best effort, as upstream's
                log.warning("event %s for %s dropped: %s", reason, pod.metadata.name, err)

    async def _request_token(self, namespace: str, name: str, request: dict) -> dict:
        """The TokenRequest subresource: POST serviceaccounts/<name>/token."""
        path = f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token"
        return await self.client.request("POST", path, body=json.dumps(request).encode())

    async def sync(self, pod: v1.Pod) -> float | None:
        """SyncPod; None once the pod is gone, else when to sync again (0: the resync)."""
        uid = pod.metadata.uid
        if uid in self.gone or pod.metadata.deletion_timestamp is not None:
            return await self.sync_terminating_pod(pod)
        self.tracker.mark(uid, "worker", time.time())
        pod = self._with_last_status(pod)
        if pod.status.phase in (SUCCEEDED, FAILED):
            return 0  # terminal: containers were stopped when the phase was reached
        view = await self._converge(pod)
        for kind, reason, message in view.events:
            self.event(pod, kind, reason, message)
        status = generate_api_pod_status(pod, view, datetime.now(UTC))
        self.last_status[uid] = status
        if converged(status):
            self.tracker.mark(uid, "synced", time.time())
        self.status_manager.set_pod_status(pod, status)
        if status.phase in (SUCCEEDED, FAILED) and self.runtime is not None:
            self.prober.remove_pod(uid)
            await self.call_runtime(self.runtime.kill_pod, pod, 0)
        return 0 if converged(status) else BACK_OFF_PERIOD

    async def pleg_loop(self) -> None:
        """GenericPLEG.Start: relist the runtime every period; each event wakes its pod."""
        generic = GenericPLEG()
        while True:
            await asyncio.sleep(RELIST_PERIOD)
            try:
                states = await self.call_runtime(self.runtime.pod_states)
            except Exception as err:  # a relist that failed is retried next period
                log.warning("PLEG relist failed: %s", err)
                continue
            for event in generic.relist(states):
                self.workers.poke(event.id)

    def _record_status_updated(self, uid: str, status: v1.PodStatus) -> None:
        running = status.phase == "Running" and all(
            c.state.running is not None for c in status.container_statuses)  # fmt: skip
        startup = self.tracker.record_status_updated(uid, running, time.time())
        if startup is not None:
            phases = " ".join(f"{k}={v:.3f}s" for k, v in startup.durations().items())
            e2e = startup.times["status"] - startup.created
            log.info("Observed pod startup duration pod=%s podStartE2EDuration=%.3fs %s",
                     startup.name, e2e, phases)  # fmt: skip

    def _probe_changed(self, uid: str, probe_type: str, result: str, output: str) -> None:
        """A probe result changed: sync the pod now, and tell a failure as Unhealthy."""
        pod = self.workers.pods.get(uid)
        if pod is not None and result == "Failure":
            self.event(pod, "Warning", "Unhealthy", f"{probe_type} probe failed: {output}".strip())
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
            sources = await fetch_sources(self.client, pod, self.tokens, time.time(),
                                          self.objects)  # fmt: skip
            self.tracker.mark(uid, "volumes", time.time())
            await self.call_runtime(self.runtime.sync_pod, pod, view, failed, time.time(), sources)
            running = {c.name: (c.id, c.started_at) for c in view.containers
                       if c.state == "RUNNING"}  # fmt: skip
            self.prober.sync(uid, pod, running, view.pod_ip)
            view.ready = {cid: self.prober.readiness(cid) for cid, _ in running.values()}
            view.started = {cid: self.prober.started(cid) for cid, _ in running.values()}
        view.host_ip = self.node_ip
        return view

    async def sync_terminating_pod(self, pod: v1.Pod) -> None:
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
                self.event(pod, "Normal", "Killing", f"Stopping container {c.name}")
            await self.call_runtime(self.runtime.kill_pod, pod, grace)
            view = PodRuntimeView(host_ip=self.node_ip)
            await self.call_runtime(self.runtime.get_pod_status, pod, view)
        if uid not in self.gone:
            status = generate_api_pod_status(pod, view, datetime.now(UTC))
            if status.phase not in (SUCCEEDED, FAILED):
                status = msgspec.structs.replace(status, phase=FAILED)
            self.status_manager.set_pod_status(pod, status)
            await self.status_manager.flush(uid)
        if self.runtime is not None:
            await self.call_runtime(self.runtime.remove_pod, pod)
        if uid not in self.gone:
            await self._delete(pod)
        self.status_manager.remove(uid)
        self.tracker.delete_pod(uid)
        self.tokens.delete_service_account_token(uid)
        self.last_status.pop(uid, None)
        self.gone.discard(uid)

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
        self.tokens.cleanup(time.time())
        if self.runtime is None or not self.pod_config.synced:
            return
        known = self.workers.known()
        for s in await self.call_runtime(self.runtime.runtime.list_pod_sandbox):
            if s.config.uid not in known:
                log.info("removing orphaned sandbox %s of pod uid %s", s.id, s.config.uid)
                await self.call_runtime(self.runtime.runtime.remove_pod_sandbox, s.id)
