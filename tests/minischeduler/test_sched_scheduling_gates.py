"""The SchedulingGates plugin and how the queue treats gated pods.

scheduling_gates_test.go (TestPreEnqueue: "pod does not carry scheduling gates",
"pod carries scheduling gates"); scheduling_queue_test.go (TestPriorityQueue_Add
with PreEnqueue gating: gated pods go to unschedulablePods, not activeQ, and an
update that removes the last gate moves them to activeQ, never to backoffQ);
default_plugins.go: SchedulingGates is the first multiPoint plugin.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from msgspec.structs import replace

from miniapi.core.v1 import Pod, PodSchedulingGate
from minischeduler.config import DEFAULT_MULTI_POINT, load
from minischeduler.framework.status import Code
from minischeduler.framework.types import pod_key
from minischeduler.inprocess import FakeClock, InProcessCluster
from minischeduler.internal import events
from minischeduler.internal.queue import PriorityQueue
from minischeduler.plugins.schedulinggates import SchedulingGates
from minischeduler.plugins.simple import PrioritySort
from minischeduler.testing import make_node, make_pod


def gated(pod: Pod, *gates: str) -> Pod:
    gs = [PodSchedulingGate(name=g) for g in gates]
    return replace(pod, spec=replace(pod.spec, scheduling_gates=gs))


def new_queue():
    clock = FakeClock(100.0)
    pl = SchedulingGates()
    q = PriorityQueue(
        PrioritySort().less,
        clock,
        pre_enqueue=lambda p: s.with_plugin(pl.name) if (s := pl.pre_enqueue(p)) else None,
    )
    return q, clock


def where(q: PriorityQueue, name: str) -> str:
    key = pod_key(make_pod(name))
    if q.active_q.get(key):
        return "active"
    if q.backoff_q.get(key):
        return "backoff"
    return "unschedulable" if key in q.unschedulable_pods else "absent"


def test_pre_enqueue_without_gates_is_success():
    assert SchedulingGates().pre_enqueue(make_pod("p")) is None


def test_pre_enqueue_with_gates_is_unresolvable_with_upstream_message():
    s = SchedulingGates().pre_enqueue(gated(make_pod("p"), "foo", "bar"))
    assert s.code == Code.UNSCHEDULABLE_AND_UNRESOLVABLE
    assert s.message() == "waiting for scheduling gates: [foo bar]"


@given(st.lists(st.from_regex(r"[a-z][a-z0-9]{0,8}", fullmatch=True), max_size=4))
def test_pre_enqueue_rejects_exactly_the_gated_pods(names: list[str]):
    s = SchedulingGates().pre_enqueue(gated(make_pod("p"), *names))
    if not names:
        assert s is None
    else:
        assert s.message() == f"waiting for scheduling gates: [{' '.join(names)}]"


def test_default_profile_lists_it_first_and_runs_it_at_pre_enqueue():
    assert DEFAULT_MULTI_POINT[0] == ("SchedulingGates", 0)
    assert DEFAULT_MULTI_POINT[1][0] == "PrioritySort"
    c = InProcessCluster(load(None))
    fwk = c.scheduler.profiles["default-scheduler"]
    assert [pl.name for pl in fwk.plugins("preEnqueue")] == ["SchedulingGates"]
    s = fwk.run_pre_enqueue_plugins(gated(make_pod("p"), "a"))
    assert s.plugin == "SchedulingGates"
    assert s.message() == "waiting for scheduling gates: [a]"


def test_disabling_it_lets_gated_pods_through():
    cfg = load(
        "apiVersion: kubescheduler.config.k8s.io/v1\n"
        "kind: KubeSchedulerConfiguration\n"
        "profiles:\n"
        "- schedulerName: default-scheduler\n"
        "  plugins:\n"
        "    multiPoint:\n"
        "      disabled: [{name: SchedulingGates}]\n"
    )
    c = InProcessCluster(cfg)
    c.add_node(make_node("n1", {"cpu": "1", "pods": "10"}))
    c.add_pod(gated(make_pod("p"), "a"))
    assert [o.node for o in c.schedule_all()] == ["n1"]


def test_gated_pod_waits_outside_active_q():
    q, _ = new_queue()
    q.add(gated(make_pod("g"), "a"))
    q.add(make_pod("free"))
    assert where(q, "g") == "unschedulable"
    assert q.unschedulable_pods[pod_key(make_pod("g"))].gated
    assert q.unschedulable_pods[pod_key(make_pod("g"))].unschedulable_plugins == {"SchedulingGates"}
    assert q.pop().pod.metadata.name == "free"
    assert q.pop() is None


def test_cluster_events_and_flushes_do_not_release_a_gated_pod():
    q, clock = new_queue()
    q.add(gated(make_pod("g"), "a"))
    for ev in (events.NODE_ADD, events.ASSIGNED_POD_DELETE, events.UNSCHEDULABLE_TIMEOUT):
        q.move_all_to_active_or_backoff_queue(ev)
    clock.step(6 * 60)
    q.flush_unschedulable_pods_left_over()
    q.flush_backoff_q_completed()
    assert where(q, "g") == "unschedulable"


def test_removing_one_of_two_gates_keeps_it_gated():
    q, _ = new_queue()
    old = gated(make_pod("g"), "a", "b")
    q.add(old)
    q.update(old, gated(make_pod("g"), "b"))
    assert where(q, "g") == "unschedulable"


def test_removing_the_last_gate_moves_it_to_active_q_at_once():
    # Upstream's isPodBackingoff is false for a gated pod: it was never tried,
    # so releasing it right after creation must not cost a backoff.
    q, clock = new_queue()
    old = gated(make_pod("g"), "a")
    q.add(old)
    clock.step(0.1)
    q.update(old, make_pod("g"))
    assert where(q, "g") == "active"
    qpi = q.pop()
    assert qpi.pod.metadata.name == "g" and not qpi.gated and qpi.attempts == 1


def test_gated_pod_is_scheduled_once_ungated_end_to_end():
    c = InProcessCluster(load(None))
    c.add_node(make_node("n1", {"cpu": "1", "pods": "10"}))
    pod = gated(make_pod("p"), "example.com/quota")
    c.add_pod(pod)
    assert c.schedule_all() == []
    assert c.run(20) == []
    assert c.events == []  # a gated pod is never attempted, so no FailedScheduling
    c.pods["default/p"] = make_pod("p")
    c.scheduler.on_pod_update(pod, make_pod("p"))
    assert [(o.pod, o.node) for o in c.schedule_all()] == [("default/p", "n1")]
