"""SyncPod: drive the runtime toward one pod's spec, one step per sync.

Mirrors pkg/kubelet/kuberuntime/kuberuntime_manager.go: computePodActions (a pure
function here: create the sandbox, the next init container, which app containers to
start or kill, per restartPolicy and liveness/startup results), SyncPod (carry the
actions out, with doBackOff's CrashLoopBackOff; startContainer's EnsureImageExists
first, its error as the waiting reason), KillPod and GetPodStatus; plus the container
GC that keeps the previous instance for `logs --previous`, and pod_states, what the
PLEG's relist reads (GetPods over every sandbox and container at once). The sandbox
gets the pod's hostname and DNS config (kuberuntime_sandbox.go's
generatePodSandboxConfig).
Omitted: sandbox recreation on spec change (container hash), ephemeral containers,
in-place resize, sidecar init containers.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field

from miniapi.core import v1
from minikubelet import cri, etchosts, pleg
from minikubelet import kuberuntime_container as kc
from minikubelet.backoff import Backoff
from minikubelet.configsources import ConfigError
from minikubelet.dns import Configurer, DNSConfig, parse_resolv_conf
from minikubelet.image_manager import ImageManager
from minikubelet.pod_startup_latency_tracker import PodStartupLatencyTracker
from minikubelet.status import PodRuntimeView, RuntimeContainer

CRASH_LOOP_BACK_OFF = "CrashLoopBackOff"


@dataclass
class PodActions:
    create_sandbox: bool = False
    kill_pod: bool = False
    next_init_container: str = ""
    containers_to_start: list[str] = field(default_factory=list)
    containers_to_kill: dict[str, str] = field(default_factory=dict)  # id -> reason


def _latest(containers: list[RuntimeContainer], name: str) -> RuntimeContainer | None:
    mine = [c for c in containers if c.name == name]
    return max(mine, key=lambda c: (c.attempt, c.created_at)) if mine else None


def should_restart(policy: str, c: RuntimeContainer) -> bool:
    """kubecontainer.ShouldContainerBeRestarted for an exited instance."""
    if policy == "Never":
        return False
    return policy == "Always" or c.exit_code != 0


def compute_pod_actions(
    pod: v1.Pod, sandbox_ready: bool, containers: list[RuntimeContainer], failed: set[str]
) -> PodActions:
    """What to do next; `failed` holds ids whose liveness or startup probe failed."""
    policy = pod.spec.restart_policy or "Always"
    actions = PodActions()
    if not sandbox_ready:
        ran = any(c.state == "EXITED" for c in containers)
        if policy == "Never" and ran:
            return actions  # a Never pod whose sandbox went away is over: nothing restarts
        actions.create_sandbox = True
    for init in pod.spec.init_containers:
        c = _latest(containers, init.name)
        if actions.create_sandbox or c is None or c.state == "CREATED":
            actions.next_init_container = init.name
            return actions
        if c.state == "RUNNING":
            return actions  # wait for it to finish
        if c.exit_code != 0:
            if policy == "Never":
                actions.kill_pod = True
            else:
                actions.next_init_container = init.name
            return actions
    for spec in pod.spec.containers:
        c = _latest(containers, spec.name)
        if actions.create_sandbox or c is None:
            actions.containers_to_start.append(spec.name)
        elif c.state == "RUNNING" and c.id in failed:
            actions.containers_to_kill[c.id] = "failed liveness or startup probe"
            if policy != "Never":
                actions.containers_to_start.append(spec.name)
        elif c.state == "EXITED" and should_restart(policy, c):
            actions.containers_to_start.append(spec.name)
    return actions


def _to_runtime(s: cri.ContainerStatus) -> RuntimeContainer:
    return RuntimeContainer(
        id=s.id, name=s.config.name, attempt=s.config.attempt, state=s.state,
        created_at=s.created_at, started_at=s.started_at, finished_at=s.finished_at,
        exit_code=s.exit_code, reason=s.reason, message=s.message, image_ref=s.config.image_ref,
    )  # fmt: skip


class KubeGenericRuntimeManager:
    """The kubelet's side of CRI for whole pods (blocking: pod workers call it in threads)."""

    def __init__(self, runtime: cri.RuntimeService, root_dir: str, backoff: Backoff,
                 dns: Configurer | None = None) -> None:  # fmt: skip
        self.runtime, self.root_dir, self.backoff = runtime, root_dir, backoff
        self.reported: set[tuple[str, float]] = set()  # back-offs already told as events
        self.dns = dns or Configurer()
        # The image pull back-off is a Backoff of its own, as the kubelet's imageBackOff.
        self.image_manager = ImageManager(runtime.images, Backoff())
        self.tracker = PodStartupLatencyTracker()

    def host_dns_config(self) -> DNSConfig:
        """The parsed --resolv-conf ('' means none); read per sandbox, as upstream does."""
        if not self.dns.resolver_config:
            return DNSConfig()
        with open(self.dns.resolver_config) as f:
            return parse_resolv_conf(f.read())

    def sandbox_config(self, pod: v1.Pod, events: list) -> cri.PodSandboxConfig:
        """generatePodSandboxConfig: metadata, hostname and the pod's DNS config."""
        m = pod.metadata
        dns = self.dns.get_pod_dns(pod, self.host_dns_config(), events)
        return cri.PodSandboxConfig(
            m.name, m.namespace, m.uid,
            hostname=etchosts.sandbox_hostname(pod, self.dns.cluster_domain),
            dns_config={"servers": dns.servers, "searches": dns.searches,
                        "options": dns.options},
        )  # fmt: skip

    def pod_dir(self, pod: v1.Pod) -> str:
        m = pod.metadata
        return os.path.join(self.root_dir, "pods", f"{m.namespace}_{m.name}_{m.uid}")

    def sandbox(self, uid: str) -> cri.PodSandbox | None:
        mine = [s for s in self.runtime.list_pod_sandbox(uid) if s.config.uid == uid]
        return max(mine, key=lambda s: s.created_at) if mine else None

    def containers(self, uid: str) -> list[cri.ContainerStatus]:
        return [c for c in self.runtime.list_containers(uid)
                if c.config.labels.get("io.kubernetes.pod.uid") == uid]  # fmt: skip

    def pod_states(self) -> pleg.PodStates:
        """What the PLEG's relist sees: each pod's sandboxes (ready: running) and containers."""
        out: pleg.PodStates = {}
        for s in self.runtime.list_pod_sandbox():
            ready = s.state == cri.SANDBOX_READY
            out.setdefault(s.config.uid, {})[s.id] = pleg.RUNNING if ready else pleg.EXITED
        for c in self.runtime.list_containers():
            out.setdefault(c.config.labels.get("io.kubernetes.pod.uid", ""), {})[c.id] = c.state
        return out

    def get_pod_status(self, pod: v1.Pod, view: PodRuntimeView) -> PodRuntimeView:
        sandbox = self.sandbox(pod.metadata.uid)
        view.pod_ip = sandbox.ip if sandbox and sandbox.state == cri.SANDBOX_READY else ""
        view.containers = [_to_runtime(c) for c in self.containers(pod.metadata.uid)]
        view.runtime_name = os.path.basename(self.runtime.endpoint)
        return view

    def sync_pod(
        self, pod: v1.Pod, view: PodRuntimeView, failed: set[str], now: float, sources=None
    ) -> None:
        """One round of SyncPod; view.waiting collects per-container waiting reasons."""
        self.get_pod_status(pod, view)
        sandbox = self.sandbox(pod.metadata.uid)
        ready = sandbox is not None and sandbox.state == cri.SANDBOX_READY
        actions = compute_pod_actions(pod, ready, view.containers, failed)
        view.waiting = {}
        if actions.kill_pod:
            self.kill_pod(pod, 0)
            return
        if actions.create_sandbox:
            if sandbox is not None:
                self.runtime.remove_pod_sandbox(sandbox.id)
            config = self.sandbox_config(pod, view.events)
            sandbox = self.runtime.pod_sandbox_status(self.runtime.run_pod_sandbox(config))
            self.tracker.mark(pod.metadata.uid, "sandbox", time.time())
            view.containers = []
        else:
            kc.refresh_volumes(pod, self.pod_dir(pod), sources or {})
        for cid, _reason in actions.containers_to_kill.items():
            self.kill_container(pod, cid, _grace(pod))
        names = [actions.next_init_container] if actions.next_init_container else []
        specs = {c.name: c for c in [*pod.spec.init_containers, *pod.spec.containers]}
        for name in names + actions.containers_to_start:
            self._start(pod, specs[name], sandbox, view, now, sources or {})
        self.get_pod_status(pod, view)
        self._gc(pod.metadata.uid)

    def _do_back_off(self, pod: v1.Pod, spec: v1.Container, prev, view, now: float) -> bool:
        """doBackOff: True (and CrashLoopBackOff) while the restart must wait."""
        key = f"{pod.metadata.uid}/{spec.name}"
        if not self.backoff.is_in_back_off_since(key, prev.finished_at, now):
            self.backoff.next(key, now)
            return False
        delay = int(self.backoff.get(key))
        msg = (
            f"back-off {delay}s restarting failed container={spec.name} "
            f"pod={pod.metadata.name}_{pod.metadata.namespace}({pod.metadata.uid})"
        )
        view.waiting[spec.name] = (CRASH_LOOP_BACK_OFF, msg)
        if (key, prev.finished_at) not in self.reported:
            self.reported.add((key, prev.finished_at))
            view.events.append(("Warning", "BackOff", f"Back-off restarting failed "
                                f"container {spec.name} in pod {pod.metadata.name}"))  # fmt: skip
        return True

    def _start(self, pod, spec: v1.Container, sandbox: cri.PodSandbox, view, now, sources) -> None:
        prev = _latest(view.containers, spec.name)
        exited = prev is not None and prev.state == "EXITED"
        if exited and self._do_back_off(pod, spec, prev, view, now):
            return
        attempt = prev.attempt + 1 if prev else 0
        told = len(view.events)
        image_ref, reason, msg = self.image_manager.ensure_image_exists(pod, spec, now,
                                                                        view.events)  # fmt: skip
        self.tracker.mark(pod.metadata.uid, "image", time.time())
        if reason:
            view.waiting[spec.name] = (reason, msg)
            if len(view.events) > told:  # the manager tells a repeated failure only once
                view.events.append(("Warning", "Failed", f"Error: {reason}"))
            return
        try:
            config = kc.generate_container_config(
                pod, spec, attempt, self.pod_dir(pod), sandbox.ip, pod.status.host_ip, sources,
                image_ref, self.dns.cluster_domain)  # fmt: skip
        except ConfigError as err:
            view.waiting[spec.name] = ("CreateContainerConfigError", str(err))
            view.events.append(("Warning", "Failed", f"Error: {err}"))
            return
        try:
            cid = self.runtime.create_container(sandbox.id, config)
        except cri.RuntimeError_ as err:
            view.waiting[spec.name] = ("CreateContainerError", str(err))
            view.events.append(("Warning", "Failed", f"Error: {err}"))
            return
        self.tracker.mark(pod.metadata.uid, "created", time.time())
        view.events.append(("Normal", "Created", f"Created container {spec.name}"))
        try:
            self.runtime.start_container(cid)
        except cri.RuntimeError_ as err:
            view.waiting[spec.name] = ("RunContainerError", str(err))
            view.events.append(("Warning", "Failed", f"Error: {err}"))
            return
        self.tracker.mark(pod.metadata.uid, "started", time.time())
        view.events.append(("Normal", "Started", f"Started container {spec.name}"))
        if spec.lifecycle and spec.lifecycle.post_start:
            error = kc.run_handler(self.runtime, cid, spec.lifecycle.post_start, sandbox.ip, 30)
            if error:
                self.kill_container(pod, cid, 0)

    def kill_container(self, pod: v1.Pod, cid: str, grace: float) -> None:
        """killContainer: preStop (counted against the grace period), then StopContainer."""
        status = self.runtime.container_status(cid)
        if status is None or status.state != cri.CONTAINER_RUNNING:
            return
        spec = next((c for c in pod.spec.containers if c.name == status.config.name), None)
        start = time.monotonic()
        if spec and spec.lifecycle and spec.lifecycle.pre_stop and grace > 0:
            sandbox = self.sandbox(pod.metadata.uid)
            kc.run_handler(self.runtime, cid, spec.lifecycle.pre_stop,
                           sandbox.ip if sandbox else "", grace)  # fmt: skip
        remaining = max(grace - (time.monotonic() - start), 2 if grace else 0)
        self.runtime.stop_container(cid, remaining)

    def kill_pod(self, pod: v1.Pod, grace: float) -> None:
        """Stop every running container (in parallel in upstream; in turn here), then the sandbox."""
        for c in self.containers(pod.metadata.uid):
            self.kill_container(pod, c.id, grace)
        sandbox = self.sandbox(pod.metadata.uid)
        if sandbox is not None:
            self.runtime.stop_pod_sandbox(sandbox.id)

    def remove_pod(self, pod: v1.Pod) -> None:
        """Everything the pod left: containers, sandboxes, cgroups, its directory."""
        for s in self.runtime.list_pod_sandbox(pod.metadata.uid):
            if s.config.uid == pod.metadata.uid:
                self.runtime.remove_pod_sandbox(s.id)
        for c in self.containers(pod.metadata.uid):
            self.runtime.remove_container(c.id)
        shutil.rmtree(self.pod_dir(pod), ignore_errors=True)
        self.image_manager.forget(pod.metadata.uid)

    def _gc(self, uid: str) -> None:
        """Keep the latest two instances per container name (the second one is --previous)."""
        by_name: dict[str, list[cri.ContainerStatus]] = {}
        for c in self.containers(uid):
            by_name.setdefault(c.config.name, []).append(c)
        for instances in by_name.values():
            instances.sort(key=lambda c: (c.config.attempt, c.created_at), reverse=True)
            for old in instances[2:]:
                if old.state == cri.CONTAINER_EXITED:
                    self.runtime.remove_container(old.id)


def _grace(pod: v1.Pod) -> int:
    g = pod.spec.termination_grace_period_seconds
    return 30 if g is None else g
