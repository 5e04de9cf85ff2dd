"""Computing a pod's API status from what the runtime reports: a pure core.

Mirrors pkg/kubelet/kubelet_pods.go (generateAPIPodStatus, getPhase,
convertToAPIContainerStatuses: Waiting/Running/Terminated with the reasons
ContainerCreating, PodInitializing, CrashLoopBackOff, Completed, Error, OOMKilled;
lastState and restartCount) and pkg/kubelet/status/generate.go (GeneratePodInitializedCondition,
GenerateContainersReadyCondition, GeneratePodReadyCondition with readinessGates) plus
status_manager.go's rule that an unchanged condition keeps its lastTransitionTime.
Omitted: ephemeral and sidecar (restartable init) containers, resize status, nominatedNodeName.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import msgspec

from miniapi.core import v1
from miniapi.meta.v1.time import from_unix, truncate_to_second

PENDING, RUNNING, SUCCEEDED, FAILED = "Pending", "Running", "Succeeded", "Failed"


@dataclass(frozen=True)
class RuntimeContainer:
    """What the kubelet knows about one container instance (kubecontainer.Status)."""

    id: str
    name: str
    attempt: int
    state: str  # CREATED | RUNNING | EXITED (cri's states)
    created_at: float
    started_at: float = 0.0
    finished_at: float = 0.0
    exit_code: int = 0
    reason: str = ""
    message: str = ""
    image_ref: str = ""  # the repo digest it runs (ContainerStatus.imageID)


@dataclass
class PodRuntimeView:
    """Everything generate_api_pod_status needs besides the pod itself."""

    containers: list[RuntimeContainer] = field(default_factory=list)
    pod_ip: str = ""
    host_ip: str = ""
    runtime_name: str = "minicontainer"
    waiting: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> reason, msg
    ready: dict[str, bool] = field(default_factory=dict)  # container id -> readiness
    started: dict[str, bool] = field(default_factory=dict)  # container id -> startup result
    events: list[tuple[str, str, str]] = field(default_factory=list)  # type, reason, message


def _instances(view: PodRuntimeView, name: str) -> list[RuntimeContainer]:
    mine = [c for c in view.containers if c.name == name]
    return sorted(mine, key=lambda c: (c.attempt, c.created_at), reverse=True)


def _time(seconds: float) -> datetime:
    return truncate_to_second(from_unix(seconds))


def _terminated(c: RuntimeContainer, runtime: str) -> v1.ContainerState:
    reason = c.reason or ("Completed" if c.exit_code == 0 else "Error")
    return v1.ContainerState(
        terminated=v1.ContainerStateTerminated(
            exit_code=c.exit_code, reason=reason, message=c.message,
            started_at=_time(c.started_at) if c.started_at else None,
            finished_at=_time(c.finished_at), container_id=f"{runtime}://{c.id}",
        )
    )  # fmt: skip


def container_status(
    spec: v1.Container, view: PodRuntimeView, default_waiting: str
) -> v1.ContainerStatus:
    """convertToAPIContainerStatuses for one container name."""
    instances = _instances(view, spec.name)
    latest = instances[0] if instances else None
    waiting = view.waiting.get(spec.name)
    state, last_state, ready, started = None, v1.ContainerState(), False, False
    if latest is None or latest.state == "CREATED":
        reason, message = waiting or (default_waiting, "")
        state = v1.ContainerState(waiting=v1.ContainerStateWaiting(reason=reason, message=message))
    elif latest.state == "RUNNING":
        running = v1.ContainerStateRunning(started_at=_time(latest.started_at))
        state = v1.ContainerState(running=running)
        ready = view.ready.get(latest.id, True)
        started = view.started.get(latest.id, True)
    else:
        state = _terminated(latest, view.runtime_name)
        if waiting:
            # Waiting to be restarted: what ended shows as lastState.
            last_state = state
            state = v1.ContainerState(waiting=v1.ContainerStateWaiting(reason=waiting[0],
                                                                       message=waiting[1]))  # fmt: skip
    previous = instances[1] if len(instances) > 1 else None
    if latest is not None and latest.state == "RUNNING" and previous and previous.state == "EXITED":
        last_state = _terminated(previous, view.runtime_name)
    return v1.ContainerStatus(
        name=spec.name, state=state, last_state=last_state, ready=ready,
        restart_count=latest.attempt if latest else 0, image=spec.image,
        image_id=latest.image_ref if latest else "",
        container_id=f"{view.runtime_name}://{latest.id}" if latest else "", started=started,
    )  # fmt: skip


def _init_done(statuses: list[v1.ContainerStatus]) -> bool:
    return all(s.state.terminated and s.state.terminated.exit_code == 0 for s in statuses)


def get_phase(pod: v1.Pod, init: list[v1.ContainerStatus], app: list[v1.ContainerStatus]) -> str:
    """getPhase: Pending until init succeeds, then by counting the app containers' states."""
    policy = pod.spec.restart_policy or "Always"
    for s in init:
        t = s.state.terminated or (s.last_state.terminated if s.last_state else None)
        if t and t.exit_code != 0 and policy == "Never":
            return FAILED
    if not _init_done(init):
        return PENDING
    running = waiting = stopped = succeeded = 0
    for s in app:
        if s.state.running:
            running += 1
        elif s.state.terminated:
            stopped += 1
            succeeded += s.state.terminated.exit_code == 0
        elif s.last_state and s.last_state.terminated:
            stopped += 1
            succeeded += s.last_state.terminated.exit_code == 0
        else:
            waiting += 1
    if waiting:
        return PENDING
    if running:
        return RUNNING
    if stopped and policy == "Always":
        return RUNNING
    if stopped and stopped == succeeded:
        return SUCCEEDED
    if stopped and policy == "Never":
        return FAILED
    return RUNNING if stopped else PENDING


def _condition(kind: str, ok: bool, reason: str = "", message: str = "") -> v1.PodCondition:
    status = "True" if ok else "False"
    return v1.PodCondition(type=kind, status=status, reason="" if ok else reason,
                           message="" if ok else message)  # fmt: skip


def _names(names: list[str]) -> str:
    return f"[{' '.join(names)}]"  # Go's %s of a []string


def containers_ready_condition(phase: str, app: list[v1.ContainerStatus]) -> v1.PodCondition:
    """GenerateContainersReadyCondition (terminal phases: PodFailed / PodCompleted)."""
    if phase in (SUCCEEDED, FAILED):
        reason = "PodCompleted" if phase == SUCCEEDED else "PodFailed"
        return v1.PodCondition(type="ContainersReady", status="False", reason=reason)
    unready = [s.name for s in app if not s.ready]
    msg = f"containers with unready status: {_names(unready)}"
    return _condition("ContainersReady", not unready, "ContainersNotReady", msg)


def ready_condition(pod: v1.Pod, containers_ready: v1.PodCondition) -> v1.PodCondition:
    """GeneratePodReadyCondition: ContainersReady, then every readiness gate True."""
    if containers_ready.status != "True":
        return msgspec.structs.replace(containers_ready, type="Ready")
    current = {c.type: c.status for c in pod.status.conditions}
    messages = []
    for gate in pod.spec.readiness_gates:
        status = current.get(gate.condition_type)
        if status is None:
            messages.append(f'corresponding condition of pod readiness gate "{gate.condition_type}" '
                            "does not exist.")  # fmt: skip
        elif status != "True":
            messages.append(f'the status of pod readiness gate "{gate.condition_type}" is not '
                            f'"True", but {status}')  # fmt: skip
    return _condition("Ready", not messages, "ReadinessGatesNotReady", ", ".join(messages))


def initialized_condition(
    phase: str, init: list[v1.ContainerStatus], app: list[v1.ContainerStatus]
) -> v1.PodCondition:
    """GeneratePodInitializedCondition: an init container counts once it exited 0."""
    if phase == SUCCEEDED:
        return v1.PodCondition(type="Initialized", status="True", reason="PodCompleted")
    if any(s.state.running or s.state.terminated or s.last_state.terminated for s in app):
        return _condition("Initialized", True)  # a regular container started: initialized before
    incomplete = [
        s.name for s in init if not (s.state.terminated and s.state.terminated.exit_code == 0)
    ]
    msg = f"containers with incomplete status: {_names(incomplete)}"
    return _condition("Initialized", not incomplete, "ContainersNotInitialized", msg)


def conditions(
    pod: v1.Pod, phase: str, init: list[v1.ContainerStatus], app: list[v1.ContainerStatus],
    has_sandbox: bool,
) -> list[v1.PodCondition]:  # fmt: skip
    """PodReadyToStartContainers, Initialized, Ready, ContainersReady, PodScheduled."""
    containers_ready = containers_ready_condition(phase, app)
    return [
        _condition("PodReadyToStartContainers", has_sandbox),
        initialized_condition(phase, init, app),
        ready_condition(pod, containers_ready),
        containers_ready,
        _condition("PodScheduled", True),
    ]


_OWNED = {"PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"}


def _with_times(new: list[v1.PodCondition], old: list[v1.PodCondition], now: datetime):
    """Keep lastTransitionTime when status is unchanged; keep conditions others own."""
    before = {c.type: c for c in old}
    out = []
    for c in new:
        prev = before.get(c.type)
        same = prev is not None and prev.status == c.status and prev.last_transition_time
        t = prev.last_transition_time if same else truncate_to_second(now)
        out.append(v1.PodCondition(type=c.type, status=c.status, reason=c.reason,
                                   message=c.message, last_transition_time=t))  # fmt: skip
    return out + [c for c in old if c.type not in _OWNED]


def generate_api_pod_status(pod: v1.Pod, view: PodRuntimeView, now: datetime) -> v1.PodStatus:
    init_default = "PodInitializing"
    init = [container_status(c, view, init_default) for c in pod.spec.init_containers]
    app_default = "ContainerCreating" if _init_done(init) else "PodInitializing"
    app = [container_status(c, view, app_default) for c in pod.spec.containers]
    old = pod.status
    phase = get_phase(pod, init, app)
    if old.phase in (SUCCEEDED, FAILED):
        phase = old.phase  # a terminal phase never changes back
    conds = _with_times(conditions(pod, phase, init, app, bool(view.pod_ip)), old.conditions, now)
    ips = [v1.PodIP(ip=view.pod_ip)] if view.pod_ip else []
    return v1.PodStatus(
        phase=phase, conditions=conds, host_ip=view.host_ip,
        host_ips=[v1.HostIP(ip=view.host_ip)] if view.host_ip else [],
        pod_ip=view.pod_ip, pod_ips=ips, start_time=old.start_time or truncate_to_second(now),
        init_container_statuses=init, container_statuses=app,
        qos_class=old.qos_class,
    )  # fmt: skip
