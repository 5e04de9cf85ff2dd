"""The scheduling queue and the cache, on an injected clock.

scheduling_queue_test.go: TestBackOffFlow (1 s doubling to 10 s),
TestPriorityQueue_Pop order, TestPriorityQueue_MoveAllToActiveOrBackoffQueue (only
events whose hints say Queue move a pod), flushUnschedulablePodsLeftover after 5
minutes; cache_test.go: assumed pods expire after their TTL unless an informer Add
confirms them. The queue carries the default profile's queueing-hint registrations.
"""

from __future__ import annotations

import functools

from miniapi.core.v1 import Taint
from minischeduler.config import load
from minischeduler.framework.types import PodInfo
from minischeduler.inprocess import FakeClock, InProcessCluster
from minischeduler.internal import events
from minischeduler.internal.cache import Cache
from minischeduler.internal.queue import PriorityQueue
from minischeduler.internal.snapshot import Snapshot
from minischeduler.plugins.simple import PrioritySort
from minischeduler.testing import make_node, make_pod


@functools.cache
def default_hint_map():
    """The default profile's registrations, as the scheduler hands them to its queue."""
    return InProcessCluster(load(None)).scheduler.queue.queueing_hint_map


def new_queue():
    clock = FakeClock(100.0)
    return PriorityQueue(PrioritySort().less, clock, queueing_hint_map=default_hint_map()), clock


def test_pop_order_priority_then_fifo():
    q, clock = new_queue()
    q.add(make_pod("a", priority=1))
    clock.step(1)
    q.add(make_pod("b", priority=5))
    clock.step(1)
    q.add(make_pod("c", priority=1))
    assert [q.pop().pod.metadata.name for _ in range(3)] == ["b", "a", "c"]
    assert q.pop() is None


def test_backoff_flow_doubles_to_ten_seconds():
    q, clock = new_queue()
    q.add(make_pod("a"))
    want = [1, 2, 4, 8, 10, 10]
    for expected in want:
        qpi = q.pop()
        assert q.calculate_backoff_duration(qpi) == expected
        qpi.unschedulable_plugins = set()  # an error: straight to backoffQ
        q.add_unschedulable_if_not_present(qpi, q.scheduling_cycle)
        clock.step(expected - 0.5)
        assert q.flush_backoff_q_completed() == 0
        clock.step(0.5)
        assert q.flush_backoff_q_completed() == 1


def test_move_only_on_events_that_help():
    q, clock = new_queue()
    q.add(make_pod("taint"))
    q.add(make_pod("fit"))
    a, b = q.pop(), q.pop()
    a.unschedulable_plugins = {"TaintToleration"}
    b.unschedulable_plugins = {"NodeResourcesFit"}
    q.add_unschedulable_if_not_present(a, q.scheduling_cycle)
    q.add_unschedulable_if_not_present(b, q.scheduling_cycle)
    assert len(q.unschedulable_pods) == 2
    clock.step(30)
    gone = make_pod("old", node="n1", reqs=[{"cpu": "1"}])
    q.move_all_to_active_or_backoff_queue(events.ASSIGNED_POD_DELETE, gone, None)
    assert set(q.unschedulable_pods) == {"default-taint"}
    assert q.pop().pod.metadata.name == "fit"
    tainted = make_node("n1", taints=[Taint(key="dedicated", value="gpu", effect="NoSchedule")])
    q.move_all_to_active_or_backoff_queue(events.NODE_TAINT_CHANGE, tainted, make_node("n1"))
    assert q.pop().pod.metadata.name == "taint"


def test_event_during_cycle_sends_pod_to_backoff():
    q, clock = new_queue()
    q.add(make_pod("a"))
    qpi = q.pop()
    cycle = q.scheduling_cycle
    q.move_all_to_active_or_backoff_queue(events.NODE_ADD)  # arrives mid-cycle
    qpi.unschedulable_plugins = {"NodeResourcesFit"}
    q.add_unschedulable_if_not_present(qpi, cycle)
    assert not q.unschedulable_pods and len(q.backoff_q) == 1


def test_unschedulable_pods_flushed_after_five_minutes():
    q, clock = new_queue()
    q.add(make_pod("a"))
    qpi = q.pop()
    qpi.unschedulable_plugins = {"NodeAffinity"}
    q.add_unschedulable_if_not_present(qpi, q.scheduling_cycle)
    clock.step(300)
    q.flush_unschedulable_pods_left_over()
    assert q.unschedulable_pods
    clock.step(1)
    q.flush_unschedulable_pods_left_over()
    assert not q.unschedulable_pods and q.pop().pod.metadata.name == "a"


def test_nominator():
    q, _ = new_queue()
    pi = PodInfo(make_pod("a"))
    q.nominator.add_nominated_pod(pi, "n1")
    assert [p.pod.metadata.name for p in q.nominator.nominated_pods_for_node("n1")] == ["a"]
    q.delete(pi.pod)
    assert q.nominator.nominated_pods_for_node("n1") == []


def test_cache_assume_expire_and_confirm():
    cache = Cache(ttl=30)
    cache.add_node(make_node("n", {"cpu": "4"}))
    a = make_pod("a", node="n", reqs=[{"cpu": "1"}])
    b = make_pod("b", node="n", reqs=[{"cpu": "2"}])
    cache.assume_pod(a)
    cache.assume_pod(b)
    cache.finish_binding(a, now=0)
    cache.finish_binding(b, now=0)
    cache.add_pod(b)  # the informer confirmed b
    assert cache.cleanup_assumed_pods(now=29) == []
    assert [p.metadata.name for p in cache.cleanup_assumed_pods(now=31)] == ["a"]
    snap = Snapshot()
    cache.update_snapshot(snap)
    assert snap.get("n").requested.milli_cpu == 2000


def test_snapshot_is_incremental_and_zone_interleaved():
    cache = Cache()
    z = "topology.kubernetes.io/zone"
    for name, zone in [("a1", "a"), ("a2", "a"), ("b1", "b"), ("b2", "b")]:
        cache.add_node(make_node(name, labels={z: zone}))
    snap = Snapshot()
    cache.update_snapshot(snap)
    assert [n.name for n in snap.list()] == ["a1", "b1", "a2", "b2"]
    before = {n.name: n for n in snap.list()}
    cache.add_pod(make_pod("p", node="b2"))
    cache.update_snapshot(snap)
    after = {n.name: n for n in snap.list()}
    assert after["a1"] is before["a1"] and after["b2"] is not before["b2"]
    assert len(after["b2"].pods) == 1
