"""Pure cores of minikubelet: back-off, the probe worker, computePodActions and status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from miniapi.core import v1
from miniapi.meta import v1 as metav1
from minikubelet.backoff import Backoff
from minikubelet.kuberuntime_container import milli_cpu_to_quota, milli_cpu_to_shares
from minikubelet.kuberuntime_manager import compute_pod_actions
from minikubelet.prober.worker import FAILURE, LIVENESS, READINESS, SUCCESS, ProbeSpec, Worker
from minikubelet.status import PodRuntimeView, RuntimeContainer, generate_api_pod_status, get_phase

NOW = datetime(2026, 1, 1, tzinfo=UTC)


# -- back-off (flowcontrol.Backoff with the kubelet's 10 s / 300 s) ---------------------
def test_backoff_doubles_from_10s_to_300s() -> None:
    b = Backoff()
    seen = []
    for i in range(8):
        b.next("c", now=float(i))
        seen.append(b.get("c"))
    assert seen == [10, 20, 40, 80, 160, 300, 300, 300]


def test_backoff_resets_after_twice_the_maximum_without_failure() -> None:
    b = Backoff()
    b.next("c", 0)
    b.next("c", 1)
    assert b.get("c") == 20
    assert not b.is_in_back_off_since("c", 0, 601 + 1)
    b.next("c", 602)  # more than 600 s since the last update: starts again at 10 s
    assert b.get("c") == 10


@settings(max_examples=60)
@given(st.lists(st.integers(min_value=0, max_value=700), min_size=1, max_size=30))
def test_backoff_never_exceeds_max_and_window_is_respected(gaps: list[int]) -> None:
    b, now = Backoff(), 0
    for gap in gaps:
        now += gap
        b.next("k", now)
        assert 10 <= b.get("k") <= 300
        assert b.is_in_back_off_since("k", now, now + b.get("k") - 1)
        assert not b.is_in_back_off_since("k", now, now + b.get("k"))


# -- probe worker (prober/worker.go) ----------------------------------------------------
def test_readiness_starts_failed_and_needs_success_threshold() -> None:
    w = Worker(READINESS, ProbeSpec(success_threshold=2, failure_threshold=3))
    assert w.result == FAILURE
    assert w.observe(SUCCESS) == FAILURE
    assert w.observe(SUCCESS) == SUCCESS
    assert w.observe(FAILURE) == SUCCESS and w.observe(FAILURE) == SUCCESS
    assert w.observe(FAILURE) == FAILURE
    assert not w.on_hold  # readiness keeps probing


def test_liveness_failure_holds_the_worker() -> None:
    w = Worker(LIVENESS, ProbeSpec(initial_delay_seconds=5, failure_threshold=2))
    assert not w.should_probe(4.9) and w.should_probe(5)
    assert w.observe(FAILURE) != FAILURE
    assert w.observe(FAILURE) == FAILURE and w.on_hold and not w.should_probe(100)


@settings(max_examples=60)
@given(
    st.lists(st.sampled_from([SUCCESS, FAILURE]), max_size=40), st.integers(1, 4), st.integers(1, 4)
)
def test_probe_result_changes_only_after_threshold_consecutive(outcomes, succ, fail) -> None:
    w = Worker(READINESS, ProbeSpec(success_threshold=succ, failure_threshold=fail))
    run, last = 0, None
    for o in outcomes:
        before = w.result
        run = run + 1 if o == last else 1
        last = o
        after = w.observe(o)
        if after != before:
            assert after == o and run >= (succ if o == SUCCESS else fail)


# -- computePodActions ------------------------------------------------------------------
def pod(policy: str = "Always", init: int = 0, **meta) -> v1.Pod:
    inits = [v1.Container(name=f"i{i}", image="busybox") for i in range(init)]
    return v1.Pod(
        metadata=metav1.ObjectMeta(name="p", namespace="default", uid="u1", **meta),
        spec=v1.PodSpec(restart_policy=policy, init_containers=inits,
                        containers=[v1.Container(name="main", image="busybox")]),
    )  # fmt: skip


def rc(name: str, state: str, code: int = 0, attempt: int = 0, cid: str = "") -> RuntimeContainer:
    return RuntimeContainer(id=cid or f"{name}{attempt}", name=name, attempt=attempt, state=state,
                            created_at=attempt, started_at=1, finished_at=2, exit_code=code)  # fmt: skip


def test_actions_new_pod_creates_sandbox_then_first_init() -> None:
    a = compute_pod_actions(pod(init=2), False, [], set())
    assert a.create_sandbox and a.next_init_container == "i0" and a.containers_to_start == []
    a = compute_pod_actions(pod(init=2), True, [rc("i0", "EXITED")], set())
    assert a.next_init_container == "i1"
    a = compute_pod_actions(pod(init=2), True, [rc("i0", "EXITED"), rc("i1", "RUNNING")], set())
    assert a.next_init_container == "" and a.containers_to_start == []
    a = compute_pod_actions(pod(init=2), True, [rc("i0", "EXITED"), rc("i1", "EXITED")], set())
    assert a.containers_to_start == ["main"]


def test_actions_follow_restart_policy() -> None:
    exited = {code: [rc("main", "EXITED", code)] for code in (0, 1)}
    table = {("Always", 0): True, ("Always", 1): True, ("OnFailure", 0): False,
             ("OnFailure", 1): True, ("Never", 0): False, ("Never", 1): False}  # fmt: skip
    for (policy, code), restart in table.items():
        a = compute_pod_actions(pod(policy), True, exited[code], set())
        assert (a.containers_to_start == ["main"]) == restart, (policy, code)
    a = compute_pod_actions(pod("Never", init=1), True, [rc("i0", "EXITED", 1)], set())
    assert a.kill_pod


def test_actions_liveness_failure_kills_and_restarts() -> None:
    a = compute_pod_actions(pod(), True, [rc("main", "RUNNING", cid="x")], {"x"})
    assert a.containers_to_kill == {"x": "failed liveness or startup probe"}
    assert a.containers_to_start == ["main"]


# -- status (generateAPIPodStatus / getPhase) --------------------------------------------
def test_status_reasons_and_phase() -> None:
    p = pod("Never")
    s = generate_api_pod_status(p, PodRuntimeView(containers=[rc("main", "EXITED", 3)]), NOW)
    t = s.container_statuses[0].state.terminated
    assert (s.phase, t.exit_code, t.reason) == ("Failed", 3, "Error")
    view = PodRuntimeView(containers=[rc("main", "EXITED", 137)])
    view.containers[0] = RuntimeContainer(**{**view.containers[0].__dict__, "reason": "OOMKilled"})
    s = generate_api_pod_status(p, view, NOW)
    assert s.container_statuses[0].state.terminated.reason == "OOMKilled"
    s = generate_api_pod_status(
        pod("OnFailure"), PodRuntimeView(containers=[rc("main", "EXITED")]), NOW
    )
    assert s.phase == "Succeeded" and s.container_statuses[0].state.terminated.reason == "Completed"


def test_status_crash_loop_back_off_waiting_with_last_state() -> None:
    view = PodRuntimeView(containers=[rc("main", "EXITED", 1, attempt=2)],
                          waiting={"main": ("CrashLoopBackOff", "back-off 20s")})  # fmt: skip
    s = generate_api_pod_status(pod(), view, NOW)
    cs = s.container_statuses[0]
    assert cs.state.waiting.reason == "CrashLoopBackOff" and cs.restart_count == 2
    assert cs.last_state.terminated.exit_code == 1 and s.phase == "Running"


def test_status_pending_while_initializing() -> None:
    s = generate_api_pod_status(pod(init=1), PodRuntimeView(containers=[rc("i0", "RUNNING")]), NOW)
    assert s.phase == "Pending"
    assert s.container_statuses[0].state.waiting.reason == "PodInitializing"
    conds = {c.type: c for c in s.conditions}
    assert conds["Initialized"].status == "False"
    assert conds["Initialized"].reason == "ContainersNotInitialized"


def test_ready_conditions_keep_transition_time_and_follow_readiness() -> None:
    p = pod()
    view = PodRuntimeView(containers=[rc("main", "RUNNING", cid="c")], pod_ip="10.0.0.2",
                          ready={"c": False})  # fmt: skip
    s1 = generate_api_pod_status(p, view, NOW)
    conds = {c.type: c for c in s1.conditions}
    assert (
        conds["Ready"].status == "False" and conds["ContainersReady"].reason == "ContainersNotReady"
    )
    p2 = v1.Pod(metadata=p.metadata, spec=p.spec, status=s1)
    later = NOW + timedelta(seconds=30)
    s2 = generate_api_pod_status(p2, view, later)
    assert {c.type: c.last_transition_time for c in s2.conditions}["Ready"] == NOW
    view.ready = {"c": True}
    s3 = generate_api_pod_status(v1.Pod(metadata=p.metadata, spec=p.spec, status=s2), view, later)
    ready = {c.type: c for c in s3.conditions}["Ready"]
    assert ready.status == "True" and ready.last_transition_time == later
    assert s3.pod_ip == "10.0.0.2" and s3.start_time == NOW


def test_readiness_gates_hold_ready() -> None:
    p = pod()
    gated = v1.Pod(metadata=p.metadata, spec=v1.PodSpec(
        containers=p.spec.containers, readiness_gates=[v1.PodReadinessGate(condition_type="x/y")]))  # fmt: skip
    view = PodRuntimeView(containers=[rc("main", "RUNNING", cid="c")], ready={"c": True})
    conds = {c.type: c for c in generate_api_pod_status(gated, view, NOW).conditions}
    assert conds["ContainersReady"].status == "True" and conds["Ready"].status == "False"
    assert conds["Ready"].reason == "ReadinessGatesNotReady"


def test_get_phase_always_with_stopped_container_is_running() -> None:
    s = generate_api_pod_status(pod(), PodRuntimeView(containers=[rc("main", "EXITED", 1)]), NOW)
    assert get_phase(pod(), s.init_container_statuses, s.container_statuses) == "Running"


def test_cpu_shares_and_quota() -> None:
    assert milli_cpu_to_shares(0) == 2 and milli_cpu_to_shares(1) == 2
    assert milli_cpu_to_shares(500) == 512 and milli_cpu_to_shares(2000) == 2048
    assert milli_cpu_to_quota(250) == 25000 and milli_cpu_to_quota(0) == 0
