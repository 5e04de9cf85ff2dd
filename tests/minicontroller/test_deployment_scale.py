"""Proportional scaling (deployment/sync_test.go TestScale, re-derived by hand).

Each case: a Deployment resized from `was` to `now` replicas while its sets were
last scaled for `was` (their desired/max-replicas annotations say so); plan_scale
must give every set the size upstream's scale() gives it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from miniapi.apps import v1 as appsv1
from miniapi.meta import v1 as metav1
from minicontroller.deployment.scale import (
    get_replica_set_fraction,
    is_saturated,
    is_scaling_event,
    plan_scale,
)
from minicontroller.deployment.util import max_surge

T0 = datetime(2016, 5, 20, tzinfo=UTC)


def deployment(replicas: int, surge: int = 0, unavailable: int = 0) -> appsv1.Deployment:
    rolling = appsv1.RollingUpdateDeployment(max_surge=surge, max_unavailable=unavailable)
    return appsv1.Deployment(
        metadata=metav1.ObjectMeta(name="foo", namespace="default"),
        spec=appsv1.DeploymentSpec(
            replicas=replicas,
            strategy=appsv1.DeploymentStrategy(type="RollingUpdate", rolling_update=rolling),
        ),
    )


def rs(name: str, replicas: int, age_hours: int, was: appsv1.Deployment) -> appsv1.ReplicaSet:
    desired = was.spec.replicas
    return appsv1.ReplicaSet(
        metadata=metav1.ObjectMeta(
            name=name,
            uid=name,
            creation_timestamp=T0 + timedelta(hours=age_hours),
            annotations={
                "deployment.kubernetes.io/desired-replicas": str(desired),
                "deployment.kubernetes.io/max-replicas": str(desired + max_surge(was)),
            },
        ),
        spec=appsv1.ReplicaSetSpec(replicas=replicas),
        status=appsv1.ReplicaSetStatus(replicas=replicas, available_replicas=replicas),
    )


# (name, now (replicas, surge), was (replicas, surge), new (name, size) | None,
#  old [(name, size)] newest first, expected sizes)
CASES = [
    ("10 -> 12", (12, 0), (10, 0), ("v1", 10), [], {"v1": 12}),
    ("10 -> 5", (5, 0), (10, 0), ("v1", 10), [], {"v1": 5}),
    ("proportional 5 -> 10", (10, 0), (5, 0), ("v2", 2), [("v1", 3)], {"v2": 4, "v1": 6}),
    ("proportional 5 -> 3", (3, 0), (5, 0), ("v2", 2), [("v1", 3)], {"v2": 1, "v1": 2}),
    ("proportional 9 -> 4", (4, 0), (9, 0), ("v2", 8), [("v1", 1)], {"v2": 4, "v1": 0}),
    ("7 -> 10", (10, 0), (7, 0), ("v3", 2), [("v2", 3), ("v1", 2)], {"v3": 3, "v2": 4, "v1": 3}),
    ("13 -> 8", (8, 0), (13, 0), ("v3", 2), [("v2", 8), ("v1", 3)], {"v3": 1, "v2": 5, "v1": 2}),
    ("leftover 3 -> 4", (4, 0), (3, 0), ("v3", 1), [("v2", 1), ("v1", 1)],
     {"v3": 2, "v2": 1, "v1": 1}),
    ("leftover 3 -> 2", (2, 0), (3, 0), ("v3", 1), [("v2", 1), ("v1", 1)],
     {"v3": 1, "v2": 1, "v1": 0}),
    ("no new rs 4 -> 5", (5, 0), (4, 0), None, [("v2", 2), ("v1", 2)], {"v2": 3, "v1": 2}),
    ("6 -> 0", (0, 0), (6, 0), ("v3", 3), [("v2", 2), ("v1", 1)], {"v3": 0, "v2": 0, "v1": 0}),
    ("0 -> 6", (6, 0), (6, 0), ("v3", 0), [("v2", 0), ("v1", 0)], {"v3": 6}),
    ("surge pods", (20, 2), (10, 2), ("v2", 6), [("v1", 6)], {"v2": 11, "v1": 11}),
    ("surge and size", (50, 6), (10, 3), ("v2", 5), [("v1", 8)], {"v2": 22, "v1": 34}),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_scale_matches_upstream_table(case):
    _, now, was, new, old, expected = case
    d, before = deployment(*now), deployment(*was)
    new_rs = rs(new[0], new[1], 2, before) if new else None
    old_rss = [rs(name, size, -i, before) for i, (name, size) in enumerate(old)]
    sizes = plan_scale(d, new_rs, old_rss)
    assert {k: v for k, v in sizes.items() if k in expected} == expected


def test_a_saturated_but_broken_new_set_leaves_the_old_pods_alone():
    d = deployment(2, surge=1, unavailable=1)
    new_rs = rs("v2", 2, 2, d)
    new_rs = new_rs.__class__(
        metadata=new_rs.metadata, spec=new_rs.spec, status=appsv1.ReplicaSetStatus(replicas=2)
    )
    old = rs("v1", 1, 1, d)
    assert plan_scale(d, new_rs, [old]) == {"v2": 2, "v1": 1}
    assert not is_scaling_event(d, [new_rs, old])


def test_go_rounding_half_away_from_zero():
    # 1 replica of a set last sized for max 2, the Deployment now 3 (max 3): 1*3/2 = 1.5 -> 2.
    d, before = deployment(3), deployment(2)
    assert get_replica_set_fraction(rs("a", 1, 0, before), d) == 1


@given(
    st.integers(0, 40), st.integers(1, 40), st.integers(0, 5),
    st.lists(st.integers(0, 12), min_size=2, max_size=4),
)  # fmt: skip
def test_scaling_lands_on_the_allowed_size_and_never_goes_negative(now, was, surge, sizes):
    # Reachable states only: the sets were sized for `was`, so they fit within its surge.
    assume(sum(sizes) <= was + surge)
    d, before = deployment(now, surge), deployment(was, surge)
    sets = [rs(f"v{i}", n, i, before) for i, n in enumerate(sizes)]
    new_rs, old_rss = sets[-1], sets[:-1]
    plan = plan_scale(d, new_rs, old_rss)
    assert all(v >= 0 for v in plan.values())
    final = {s.metadata.uid: plan.get(s.metadata.uid, s.spec.replicas) for s in sets}
    active = [s for s in sets if s.spec.replicas > 0]
    if len(active) == 1:
        assert final[active[0].metadata.uid] == now
    elif is_saturated(d, new_rs):
        assert final[new_rs.metadata.uid] == now and sum(final.values()) == now
    elif active:
        # Several active sets move toward replicas + maxSurge (0 when scaled to 0): a growth
        # lands on it exactly; a shrink never undershoots (upstream clamps the leftover at 0).
        allowed, before = (now + surge if now > 0 else 0), sum(sizes)
        if allowed > before:
            assert sum(final.values()) == allowed
        else:
            assert allowed <= sum(final.values()) <= before
