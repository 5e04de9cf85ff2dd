"""The queue asking the rejecting plugins' queueing hints, end to end through the Scheduler.

scheduling_queue_test.go: TestPriorityQueue_MoveAllToActiveOrBackoffQueueWithQueueingHint
(only a Queue from a rejecting plugin's hint moves a pod; an error counts as Queue; a
Pending plugin's Queue skips backoff), TestPriorityQueue_isPodWorthRequeuing (no
rejecting plugins: always requeue; wildcard events requeue); types_test.go
TestClusterEvent_Match (a Pod registration matches assigned and unscheduled pod
events); eventhandlers_test.go TestNodeSchedulingPropertiesChange.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from miniapi.base import replace
from miniapi.core.v1 import Taint, Toleration
from minischeduler.config import load
from minischeduler.inprocess import FakeClock, InProcessCluster
from minischeduler.internal import events
from minischeduler.internal.events import (
    ADD,
    ASSIGNED_POD,
    DELETE,
    NODE,
    POD,
    QUEUE_SKIP,
    UNSCHEDULED_POD,
    ClusterEvent,
    node_scheduling_properties_change,
)
from minischeduler.internal.queue import (
    QUEUE_AFTER_BACKOFF,
    QUEUE_IMMEDIATELY,
    QUEUE_STRATEGY_SKIP,
    PriorityQueue,
)
from minischeduler.plugins.simple import PrioritySort
from minischeduler.testing import make_node, make_pod


def where(q: PriorityQueue, key: str) -> str:
    if q.active_q.get(key):
        return "active"
    if q.backoff_q.get(key):
        return "backoff"
    return "unschedulable" if key in q.unschedulable_pods else "absent"


def test_insufficient_cpu_waits_through_label_change_and_moves_on_pod_delete():
    """The pod the brief names: Insufficient cpu, a label change, then a deletion."""
    c = InProcessCluster(load(None))
    node = make_node("n1", {"cpu": "2", "memory": "4Gi"})
    c.add_node(node)
    hog = make_pod("hog", node="n1", reqs=[{"cpu": "1500m"}])
    c.add_pod(hog)
    c.add_pod(make_pod("p", reqs=[{"cpu": "1"}]))
    (out,) = c.schedule_all()
    assert out.message.startswith("0/1 nodes are available: 1 Insufficient cpu.")
    q = c.scheduler.queue
    assert q.unschedulable_pods["default-p"].unschedulable_plugins == {"NodeResourcesFit"}
    c.clock.step(20)  # past its backoff: a move would go straight to activeQ
    relabelled = replace(node, metadata=replace(node.metadata, labels={"disk": "ssd"}))
    c.scheduler.on_node_update(node, relabelled)
    assert where(q, "default-p") == "unschedulable"
    c.scheduler.on_pod_add(make_pod("other", node="n1"))  # Add is not registered by Fit
    assert where(q, "default-p") == "unschedulable"
    c.delete_pod(hog)
    assert where(q, "default-p") == "active"
    assert [(o.pod, o.node) for o in c.schedule_all()] == [("default/p", "n1")]


def test_node_allocatable_growth_moves_only_the_pods_that_fit():
    c = InProcessCluster(load(None))
    small = make_node("n1", {"cpu": "1", "memory": "4Gi"})
    c.add_node(small)
    c.add_pod(make_pod("two", reqs=[{"cpu": "2"}]))
    c.add_pod(make_pod("eight", reqs=[{"cpu": "8"}]))
    assert len(c.schedule_all()) == 2
    c.clock.step(20)
    big = make_node("n1", {"cpu": "4", "memory": "4Gi"})
    c.scheduler.on_node_update(small, big)
    q = c.scheduler.queue
    assert where(q, "default-two") == "active"
    assert where(q, "default-eight") == "unschedulable"


def _queue(hint) -> tuple[PriorityQueue, FakeClock]:
    clock = FakeClock(100.0)
    hints = {"default-scheduler": [(ClusterEvent(NODE, ADD), "P", hint)]}
    return PriorityQueue(PrioritySort().less, clock, queueing_hint_map=hints), clock


def _park(q: PriorityQueue, name: str, plugins: set[str], pending=frozenset(), pod=None):
    """A pod popped once and rejected by `plugins`: parked among the unschedulable."""
    q.add(pod or make_pod(name))
    qpi = q.pop()
    qpi.unschedulable_plugins, qpi.pending_plugins = set(plugins), set(pending)
    q.add_unschedulable_if_not_present(qpi, q.scheduling_cycle)
    return qpi


def test_a_hint_that_raises_counts_as_queue():
    def broken(pod, old, new):
        raise AttributeError("not a node")

    q, clock = _queue(broken)
    _park(q, "a", {"P"})
    clock.step(20)
    q.move_all_to_active_or_backoff_queue(events.NODE_ADD, None, "not-a-node")
    assert where(q, "default-a") == "active"


def test_only_the_rejecting_plugins_hints_are_asked():
    asked = []

    def hint(pod, old, new):
        asked.append(pod.metadata.name)
        return QUEUE_SKIP

    q, _ = _queue(hint)
    _park(q, "mine", {"P"})
    _park(q, "other", {"Q"})
    q.move_all_to_active_or_backoff_queue(events.NODE_ADD, None, make_node("n"))
    assert asked == ["mine"]
    assert set(q.unschedulable_pods) == {"default-mine", "default-other"}


def test_no_rejector_and_wildcard_always_requeue_pending_skips_backoff():
    q, _ = _queue(lambda pod, old, new: QUEUE_SKIP)
    errored = _park(q, "err", set())  # an error: straight to backoffQ
    assert where(q, "default-err") == "backoff"
    assert q.is_pod_worth_requeuing(errored, events.NODE_ADD, None, None) == QUEUE_AFTER_BACKOFF
    waiting = _park(q, "w", {"P"})
    assert q.is_pod_worth_requeuing(waiting, events.NODE_ADD, None, None) == QUEUE_STRATEGY_SKIP
    assert q.is_pod_worth_requeuing(waiting, events.UNSCHEDULABLE_TIMEOUT, None, None) == 1
    q2, _ = _queue(lambda pod, old, new: 1)
    pend = _park(q2, "pend", {"X"}, pending={"P"})
    assert q2.is_pod_worth_requeuing(pend, events.NODE_ADD, None, None) == QUEUE_IMMEDIATELY
    q2.move_all_to_active_or_backoff_queue(events.NODE_ADD, None, make_node("n"))
    assert where(q2, "default-pend") == "active"  # still within its backoff, yet active


def test_an_event_nobody_registered_is_not_even_offered():
    q, _ = _queue(lambda pod, old, new: 1)
    _park(q, "a", {"P"})
    before = q.move_request_cycle
    q.move_all_to_active_or_backoff_queue(events.ASSIGNED_POD_DELETE, make_pod("x", node="n"))
    assert where(q, "default-a") == "unschedulable" and q.move_request_cycle == before


def test_framework_registrations():
    c = InProcessCluster(load(None))
    regs = c.scheduler.queue.queueing_hint_map["default-scheduler"]
    plugins = {p for _, p, _ in regs}
    assert plugins == {
        "SchedulingGates", "NodeName", "NodeUnschedulable", "TaintToleration", "NodeAffinity",
        "NodePorts", "NodeResourcesFit", "PodTopologySpread", "InterPodAffinity",
    }  # fmt: skip
    fit = [ev for ev, p, _ in regs if p == "NodeResourcesFit"]
    assert not any(ev.match(events.NODE_LABEL_CHANGE) for ev in fit)
    assert any(ev.match(events.ASSIGNED_POD_DELETE) for ev in fit)


def test_plugin_without_events_to_register_gets_every_event():
    class Picky:
        name = "Picky"

        def filter(self, state, pod, ni):
            return None

    from minischeduler.framework.runtime import Framework, Handle

    fwk = Framework("p", {"filter": [Picky()]}, {}, Handle())
    ((ev, plugin, fn),) = fwk.events_to_register()
    assert plugin == "Picky" and ev.is_wildcard() and fn is None


def test_cluster_event_match():
    pod_delete = ClusterEvent(POD, DELETE)
    assert pod_delete.match(ClusterEvent(ASSIGNED_POD, DELETE))
    assert pod_delete.match(ClusterEvent(UNSCHEDULED_POD, DELETE))
    assert not pod_delete.match(ClusterEvent(ASSIGNED_POD, ADD))
    assert not ClusterEvent(ASSIGNED_POD, DELETE).match(ClusterEvent(UNSCHEDULED_POD, DELETE))
    assert not pod_delete.match(events.UNSCHEDULABLE_TIMEOUT)
    assert events.UNSCHEDULABLE_TIMEOUT.is_wildcard()


def test_node_scheduling_properties_change():
    n = make_node("n", {"cpu": "1"})
    taint = Taint(key="k", value="v", effect="NoSchedule")

    def labels(evs):
        return [e.label for e in evs]

    cordoned = replace(n, spec=replace(n.spec, unschedulable=True))
    assert labels(node_scheduling_properties_change(n, cordoned)) == ["NodeSpecUnschedulableChange"]
    assert node_scheduling_properties_change(cordoned, n) == []  # cordoning cannot help
    assert labels(node_scheduling_properties_change(make_node("n", {"cpu": "2"}), n)) == [
        "NodeAllocatableChange"
    ]
    both = make_node("n", {"cpu": "1"}, labels={"a": "b"}, taints=[taint])
    assert labels(node_scheduling_properties_change(both, n)) == [
        "NodeLabelChange",
        "NodeTaintChange",
    ]


def test_deleted_nominated_pending_pod_releases_its_host_port():
    """NodePorts' hint looks at nominated pods too: their ports were being counted."""
    c = InProcessCluster(load(None))
    q = c.scheduler.queue
    _park(q, "p", {"NodePorts"}, pod=make_pod("p", host_ports=[8080]))
    c.clock.step(20)
    for name, port in (("q", 9090), ("r", 8080)):
        c.pods[f"default/{name}"] = make_pod(name, host_ports=[port], nominated="n1")
        c.scheduler.queue.add(c.pods[f"default/{name}"])
        c.delete_pod(c.pods[f"default/{name}"])  # the informer's delete of a pending pod
        assert where(q, "default-p") == ("unschedulable" if port == 9090 else "active")


HINTS = st.sampled_from(["queue", "skip", "raise"])
EVENTS = [events.NODE_ADD, events.NODE_LABEL_CHANGE, events.ASSIGNED_POD_DELETE]


@settings(max_examples=100, deadline=None)
@given(
    regs=st.lists(st.tuples(st.sampled_from(EVENTS), st.sampled_from("ABC"), HINTS), max_size=6),
    rejectors=st.sets(st.sampled_from("ABC")),
    event=st.sampled_from(EVENTS),
)
def test_pod_moves_iff_a_rejecting_plugins_matching_hint_says_queue(regs, rejectors, event):
    """isPodWorthRequeuing as a property: moved iff rejected by no plugin, or some
    rejecting plugin registered for the event has a hint answering Queue or raising."""

    def fn(kind):
        def hint(pod, old, new):
            if kind == "raise":
                raise ValueError("hint failed")
            return QUEUE_SKIP if kind == "skip" else 1

        return hint

    hint_map = {"default-scheduler": [(ev, p, fn(k)) for ev, p, k in regs]}
    q = PriorityQueue(PrioritySort().less, FakeClock(0.0), queueing_hint_map=hint_map)
    q.add(make_pod("a"))
    qpi = q.pop()
    qpi.unschedulable_plugins = set(rejectors)
    q.unschedulable_pods["default-a"] = qpi  # parked, as after an earlier failure
    q.move_all_to_active_or_backoff_queue(event, None, make_node("n"))
    of_interest = any(ev.match(event) for ev, _, _ in regs)
    helps = any(ev.match(event) and p in rejectors and k != "skip" for ev, p, k in regs)
    want = of_interest and (not rejectors or helps)
    assert (where(q, "default-a") != "unschedulable") == want


def test_pod_scheduling_properties_change():
    """events_test.go TestPodSchedulingPropertiesChange: one event per kind of change."""

    def labels(new, old):
        return [e.label for e in events.pod_scheduling_properties_change(new, old)]

    base = make_pod("p", reqs=[{"cpu": "2", "memory": "1Gi"}], node="n")
    assert labels(make_pod("p", reqs=[{"cpu": "1", "memory": "1Gi"}], node="n"), base) == [
        "AssignedPodUpdatePodScaleDown"
    ]
    assert labels(make_pod("p", reqs=[{"cpu": "3", "memory": "1Gi"}], node="n"), base) == [
        "AssignedPodUpdatePodOther"
    ]
    tol = [Toleration(key="k", operator="Exists")]
    assert labels(make_pod("p", labels={"a": "b"}, tolerations=tol), make_pod("p")) == [
        "UnschedulablePodUpdatePodLabel",
        "UnschedulablePodUpdatePodTolerations",
    ]
