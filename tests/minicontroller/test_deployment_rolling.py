"""Rolling-update arithmetic (deployment/rolling_test.go, util/deployment_util_test.go).

A seeded simulation drives reconcile_new_replica_set / reconcile_old_replica_sets
while the "RS controller and kubelets" make new pods available at random rates;
after every step the surge and availability bounds hold, and the rollout ends.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from miniapi.apps import v1 as appsv1
from miniapi.base import replace
from miniapi.core import v1 as corev1
from miniapi.meta import v1 as metav1
from minicontroller.deployment.rolling import (
    reconcile_new_replica_set,
    reconcile_old_replica_sets,
)
from minicontroller.deployment.util import (
    compute_hash,
    equal_ignore_hash,
    resolve_fenceposts,
    safe_encode_string,
)


def test_fenceposts_round_surge_up_and_unavailable_down_and_never_both_zero():
    assert resolve_fenceposts("25%", "25%", 10) == (3, 2)
    assert resolve_fenceposts(0, 0, 10) == (0, 1)
    assert resolve_fenceposts("0%", "10%", 5) == (0, 1)
    assert resolve_fenceposts(2, "0%", 3) == (2, 0)


def test_template_hash_is_stable_ignores_nothing_but_the_hash_label_and_uses_safe_letters():
    t = corev1.PodTemplateSpec(metadata=metav1.ObjectMeta(labels={"app": "x"}))
    h = compute_hash(t, None)
    assert h == compute_hash(t, None) != compute_hash(t, 1)
    assert set(h) <= set("bcdfghjklmnpqrstvwxz2456789")
    hashed = replace(t, metadata=replace(t.metadata, labels={"app": "x", "pod-template-hash": h}))
    assert equal_ignore_hash(t, hashed)
    assert safe_encode_string("0123") == "".join(
        "bcdfghjklmnpqrstvwxz2456789"[ord(c) % 27] for c in "0123"
    )


def rs(uid: str, spec: int, available: int, age: int) -> appsv1.ReplicaSet:
    return appsv1.ReplicaSet(
        metadata=metav1.ObjectMeta(
            name=uid,
            uid=uid,
            creation_timestamp=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=age),
        ),
        spec=appsv1.ReplicaSetSpec(replicas=spec),
        status=appsv1.ReplicaSetStatus(replicas=spec, available_replicas=available),
    )


@settings(max_examples=50, deadline=None)
@given(
    replicas=st.integers(1, 12),
    surge=st.integers(0, 4) | st.sampled_from(["25%", "50%"]),
    unavailable=st.integers(0, 4) | st.sampled_from(["25%", "0%"]),
    rates=st.lists(st.integers(0, 3), min_size=1, max_size=8),
)
def test_rolling_update_respects_surge_and_availability_and_completes(
    replicas, surge, unavailable, rates
):
    d = appsv1.Deployment(
        spec=appsv1.DeploymentSpec(
            replicas=replicas,
            strategy=appsv1.DeploymentStrategy(
                type="RollingUpdate",
                rolling_update=appsv1.RollingUpdateDeployment(
                    max_surge=surge, max_unavailable=unavailable
                ),
            ),
        )
    )
    max_s, max_u = resolve_fenceposts(surge, unavailable, replicas)
    max_u = min(max_u, replicas)
    old, new = rs("old", replicas, replicas, 0), rs("new", 0, 0, 1)
    for step in range(400):
        wanted = reconcile_new_replica_set(d, [old, new], new)
        if wanted is not None:
            new = replace(new, spec=replace(new.spec, replicas=wanted))
        else:
            downs = reconcile_old_replica_sets(
                d, [old, new], [old] if old.spec.replicas else [], new
            )
            if "old" in downs:
                old = replace(old, spec=replace(old.spec, replicas=downs["old"]))
        assert old.spec.replicas + new.spec.replicas <= replicas + max_s
        # The RS controllers and kubelets act: old pods go, new ones become available.
        old = replace(old, status=replace(old.status, replicas=old.spec.replicas,
                      available_replicas=min(old.status.available_replicas, old.spec.replicas)))  # fmt: skip
        grow = rates[step % len(rates)]
        avail = min(new.status.available_replicas + grow, new.spec.replicas)
        new = replace(
            new, status=replace(new.status, replicas=new.spec.replicas, available_replicas=avail)
        )
        assert old.status.available_replicas + new.status.available_replicas >= replicas - max_u
        if new.status.available_replicas == replicas and old.spec.replicas == 0:
            break
    else:
        assert not any(rates), "no pod ever became available, so no progress is expected"
        return
    assert new.spec.replicas == replicas
