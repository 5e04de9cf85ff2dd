"""The NodeLifecycle decision core on a fake clock: health, taints, eviction delays.

Mirrors the table tests of pkg/controller/nodelifecycle/node_lifecycle_controller_test.go
(TestMonitorNodeHealth*) and pkg/controller/tainteviction/taint_eviction_test.go
(getMinTolerationTime, immediate and delayed eviction), driven by datetimes we pass in.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from miniapi.coordination.v1 import Lease, LeaseSpec
from miniapi.core.v1 import (
    Node,
    NodeCondition,
    NodeSpec,
    NodeStatus,
    Pod,
    PodSpec,
    Taint,
    Toleration,
)
from miniapi.meta.v1 import ObjectMeta
from minicontroller.nodelifecycle import node_health as nh
from minicontroller.nodelifecycle import taint_eviction as te

T0 = datetime(2026, 1, 1, tzinfo=UTC)
GRACE = 50.0
UNREACHABLE = Taint(key=nh.TAINT_NODE_UNREACHABLE, effect="NoExecute", time_added=T0)


def node(ready: str = "True", heartbeat: datetime = T0, taints: list[Taint] = ()) -> Node:
    cond = NodeCondition(
        type="Ready", status=ready, reason="KubeletReady", last_heartbeat_time=heartbeat
    )
    return Node(
        metadata=ObjectMeta(name="n1", creation_timestamp=T0),
        spec=NodeSpec(taints=list(taints)),
        status=NodeStatus(conditions=[cond]),
    )


def lease(renew: datetime) -> Lease:
    return Lease(metadata=ObjectMeta(name="n1"), spec=LeaseSpec(renew_time=renew))


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_silent_node_goes_unknown_only_after_the_grace_period():
    n = node()
    health = nh.observe(None, n, lease(T0), at(0))
    assert nh.try_update_node_health(n, health, at(GRACE), GRACE) is None
    health = nh.observe(health, n, lease(T0), at(GRACE + 1))
    updated = nh.try_update_node_health(n, health, at(GRACE + 1), GRACE)
    assert updated is not None
    by_type = {c.type: c for c in updated.status.conditions}
    ready = by_type["Ready"]
    assert (ready.status, ready.reason, ready.message) == (
        "Unknown",
        "NodeStatusUnknown",
        "Kubelet stopped posting node status.",
    )
    assert ready.last_transition_time == at(GRACE + 1)
    assert ready.last_heartbeat_time == T0
    # The pressure conditions the kubelet never posted are marked never updated.
    assert by_type["MemoryPressure"].reason == "NodeStatusNeverUpdated"
    assert by_type["MemoryPressure"].message == "Kubelet never posted node status."
    # Already Unknown: nothing more to write.
    health = nh.observe(health, updated, lease(T0), at(GRACE + 5))
    assert nh.try_update_node_health(updated, health, at(GRACE + 5), GRACE) is None


def test_lease_renewals_keep_the_node_healthy_without_status_updates():
    n = node()
    health = nh.observe(None, n, lease(T0), at(0))
    for t in range(10, 200, 10):
        health = nh.observe(health, n, lease(at(t)), at(t))
        assert nh.try_update_node_health(n, health, at(t), GRACE) is None
    assert health.probe_timestamp == at(190)


def test_a_new_ready_heartbeat_resets_the_probe():
    health = nh.observe(None, node(), None, at(0))
    health = nh.observe(health, node(heartbeat=at(40)), None, at(45))
    assert health.probe_timestamp == at(45)
    assert nh.try_update_node_health(node(heartbeat=at(40)), health, at(90), GRACE) is None


@given(
    silence=st.floats(min_value=0, max_value=500, allow_nan=False),
    grace=st.floats(min_value=1, max_value=300, allow_nan=False),
)
def test_unknown_exactly_when_silent_longer_than_grace(silence, grace):
    n = node()
    health = nh.observe(None, n, lease(T0), at(0))
    now = at(silence)
    got = nh.try_update_node_health(n, nh.observe(health, n, lease(T0), now), now, grace)
    assert (got is not None) == (now > at(grace))


def test_tainting_pass_follows_the_ready_condition():
    assert [t.key for t in nh.swap_no_execute_taints(node("Unknown"), T0)] == [
        nh.TAINT_NODE_UNREACHABLE
    ]
    assert [t.key for t in nh.swap_no_execute_taints(node("False"), T0)] == [
        nh.TAINT_NODE_NOT_READY
    ]
    # Already right: no write.
    assert nh.swap_no_execute_taints(node("Unknown", taints=[UNREACHABLE]), T0) is None
    assert nh.swap_no_execute_taints(node("True"), T0) is None
    # Ready again: ours go, others stay.
    other = Taint(key="dedicated", value="gpu", effect="NoSchedule")
    assert nh.swap_no_execute_taints(node("True", taints=[UNREACHABLE, other]), T0) == [other]
    # Unreachable becomes not-ready, stamped with the new time.
    swapped = nh.swap_no_execute_taints(node("False", taints=[UNREACHABLE]), at(7))
    assert [(t.key, t.time_added) for t in swapped] == [(nh.TAINT_NODE_NOT_READY, at(7))]


def pod(*tolerations: Toleration) -> Pod:
    return Pod(
        metadata=ObjectMeta(name="p", namespace="d"), spec=PodSpec(tolerations=list(tolerations))
    )


def tol(
    seconds: int | None, key: str = nh.TAINT_NODE_UNREACHABLE, op: str = "Exists"
) -> Toleration:
    return Toleration(key=key, operator=op, effect="NoExecute", toleration_seconds=seconds)


def test_eviction_delay_of_pods():
    taints = [UNREACHABLE]
    assert te.eviction_delay(pod(), taints) == 0.0
    assert te.eviction_delay(pod(tol(5)), taints) == 5.0
    assert te.eviction_delay(pod(tol(None)), taints) is None
    assert te.eviction_delay(pod(tol(-3)), taints) == 0.0
    # The smallest of the matching tolerations wins.
    assert te.eviction_delay(pod(tol(30), tol(10), tol(None)), taints) == 10.0
    # A toleration for another key does not help.
    assert te.eviction_delay(pod(tol(5, key="other")), taints) == 0.0
    # Empty key with Exists tolerates everything.
    assert te.eviction_delay(pod(tol(None, key="")), taints) is None
    # NoSchedule taints never evict.
    assert te.eviction_delay(pod(), [Taint(key="x", effect="NoSchedule")]) is None
    # Equal needs the value too.
    valued = [Taint(key="k", value="v", effect="NoExecute")]
    assert te.eviction_delay(pod(tol(None, key="k", op="Equal")), valued) == 0.0
    assert te.eviction_delay(pod(Toleration(key="k", operator="Equal", value="v")), valued) is None


def test_every_taint_must_be_tolerated():
    both = [UNREACHABLE, Taint(key=nh.TAINT_NODE_NOT_READY, effect="NoExecute")]
    assert te.eviction_delay(pod(tol(60)), both) == 0.0
    assert te.eviction_delay(pod(tol(60), tol(20, key=nh.TAINT_NODE_NOT_READY)), both) == 20.0


def test_an_earlier_schedule_keeps_its_start():
    assert te.eviction_time(None, 100.0, 5.0) == 105.0
    assert te.eviction_time(90.0, 100.0, 5.0) == 95.0
    assert te.eviction_time(90.0, 100.0, None) is None


@given(st.lists(st.one_of(st.none(), st.integers(-10, 1000)), min_size=1, max_size=6))
def test_min_toleration_time_property(seconds):
    got = te.get_min_toleration_time([tol(s) for s in seconds])
    set_ = [s for s in seconds if s is not None]
    assert got == (-1.0 if not set_ else float(max(0, min(set_))))
