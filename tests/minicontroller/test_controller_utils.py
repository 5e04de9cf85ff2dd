"""controller_utils: expectations, deletion ranking, slow start (controller_utils_test.go)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from miniapi.apps import v1 as appsv1
from miniapi.core import v1 as corev1
from miniapi.meta import v1 as metav1
from miniclient.clock import FakeClock
from minicontroller.controller_utils import (
    EXPECTATIONS_TIMEOUT,
    ControllerExpectations,
    slow_start_batch,
)
from minicontroller.replicaset.replica_set import get_pods_to_delete
from minicontroller.replicaset.replica_set_utils import calculate_status

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def pod(name, node="", phase="Running", ready=False, restarts=0, age=0, ready_since=None):
    conditions = []
    if ready:
        conditions = [
            corev1.PodCondition(type="Ready", status="True", last_transition_time=ready_since or T0)
        ]
    statuses = [
        corev1.ContainerStatus(
            name="c", restart_count=restarts, image="i", image_id="", ready=ready
        )
    ]
    return corev1.Pod(
        metadata=metav1.ObjectMeta(
            name=name, namespace="ns", creation_timestamp=T0 - timedelta(seconds=age)
        ),
        spec=corev1.PodSpec(node_name=node),
        status=corev1.PodStatus(phase=phase, conditions=conditions, container_statuses=statuses),
    )


def test_expectations_hold_sync_until_observed_or_expired():
    clock = FakeClock()
    exp = ControllerExpectations(clock.now)
    assert exp.satisfied_expectations("ns/rs")
    exp.expect_creations("ns/rs", 2)
    exp.creation_observed("ns/rs")
    assert not exp.satisfied_expectations("ns/rs")
    exp.creation_observed("ns/rs")
    assert exp.satisfied_expectations("ns/rs")
    exp.expect_deletions("ns/rs", ["ns/a", "ns/b"])
    exp.deletion_observed("ns/rs", "ns/unrelated")
    exp.deletion_observed("ns/rs", "ns/a")
    assert not exp.satisfied_expectations("ns/rs")
    clock.step(EXPECTATIONS_TIMEOUT + 1)
    assert exp.satisfied_expectations("ns/rs")
    exp.delete_expectations("ns/rs")
    assert exp.get("ns/rs") is None


def test_deletion_prefers_unassigned_pending_unready_crowded_restarting_newest():
    ordered = [
        pod("unassigned", node=""),
        pod("pending", node="n1", phase="Pending"),
        pod("unknown", node="n1", phase="Unknown"),
        pod("not-ready", node="n1"),
        pod("ready-crowded", node="n2", ready=True),
        pod("ready-restarts", node="n3", ready=True, restarts=5),
        pod("ready-new", node="n4", ready=True, age=1),
        pod("ready-old", node="n5", ready=True, age=100),
    ]
    related = [*ordered, pod("other-on-n2", node="n2")]
    shuffled = list(reversed(ordered))
    assert [p.metadata.name for p in get_pods_to_delete(shuffled, related, 8)] == [
        p.metadata.name for p in ordered
    ]


@given(count=st.integers(0, 40), fail_at=st.none() | st.integers(0, 40))
def test_slow_start_doubles_batches_and_stops_after_a_failing_batch(count, fail_at):
    calls = []

    async def fn():
        calls.append(len(calls))
        if fail_at is not None and len(calls) - 1 >= fail_at:
            raise RuntimeError("quota")

    successes, err = asyncio.run(slow_start_batch(count, 1, fn))
    # Batches are 1, 2, 4, ...: the calls made are whole batches up to the failing one.
    made, batch, sizes = 0, 1, []
    while made < count:
        size = min(batch, count - made)
        sizes.append(size)
        made += size
        if fail_at is not None and made > fail_at:
            break
        batch *= 2
    assert len(calls) == sum(sizes)
    if fail_at is not None and fail_at < count:
        assert isinstance(err, RuntimeError)
        assert successes == fail_at
    else:
        assert err is None and successes == count


def test_status_counts_ready_and_available_after_min_ready_seconds():
    rs = appsv1.ReplicaSet(
        metadata=metav1.ObjectMeta(name="rs", namespace="ns", generation=4),
        spec=appsv1.ReplicaSetSpec(
            replicas=3,
            min_ready_seconds=10,
            template=corev1.PodTemplateSpec(metadata=metav1.ObjectMeta(labels={"app": "x"})),
        ),
    )
    pods = [
        pod("a", ready=True, ready_since=T0),
        pod("b", ready=True, ready_since=T0 + timedelta(seconds=5)),
        pod("c"),
    ]
    pods[0] = pods[0].__class__(
        metadata=pods[0].metadata.__class__(name="a", labels={"app": "x"}),
        spec=pods[0].spec,
        status=pods[0].status,
    )
    status = calculate_status(rs, pods, T0 + timedelta(seconds=12))
    assert (status.replicas, status.ready_replicas, status.available_replicas) == (3, 2, 1)
    assert status.fully_labeled_replicas == 1
