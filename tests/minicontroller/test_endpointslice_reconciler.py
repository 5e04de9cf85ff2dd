"""EndpointSlice reconciler (k8s.io/endpointslice reconciler_test.go), as properties."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from miniapi.base import replace
from miniapi.core import v1 as corev1
from miniapi.meta import v1 as metav1
from minicontroller.endpointslice.reconciler import reconcile
from minicontroller.endpointslice.utils import (
    CONTROLLER_NAME,
    LABEL_MANAGED_BY,
    LABEL_SERVICE_NAME,
)

SERVICE = corev1.Service(
    metadata=metav1.ObjectMeta(name="svc", namespace="ns", uid="svc-uid", labels={"team": "a"}),
    spec=corev1.ServiceSpec(
        selector={"app": "x"},
        ports=[corev1.ServicePort(name="http", port=80, target_port="web", protocol="TCP")],
    ),
)


def pod(i: int, ready: bool, port: int, terminating: bool = False, ip: bool = True):
    conditions = [corev1.PodCondition(type="Ready", status="True" if ready else "False")]
    return corev1.Pod(
        metadata=metav1.ObjectMeta(
            name=f"p{i}",
            namespace="ns",
            uid=f"uid-{i}",
            labels={"app": "x"},
            deletion_timestamp=datetime(2026, 1, 1, tzinfo=UTC) if terminating else None,
        ),
        spec=corev1.PodSpec(
            containers=[
                corev1.Container(
                    name="c",
                    image="i",
                    ports=[corev1.ContainerPort(name="web", container_port=port)],
                )
            ]
        ),
        status=corev1.PodStatus(
            phase="Running", pod_ip=f"10.0.0.{i}" if ip else "", conditions=conditions
        ),
    )


def test_named_target_port_conditions_labels_and_owner():
    plan = reconcile(
        SERVICE, [pod(1, True, 8080), pod(2, False, 8080), pod(3, True, 8080, True)], []
    )
    [s] = plan.create
    assert [(p.name, p.port, p.protocol) for p in s.ports] == [("http", 8080, "TCP")]
    conds = {ep.addresses[0]: ep.conditions for ep in s.endpoints}
    assert (conds["10.0.0.1"].ready, conds["10.0.0.1"].serving) == (True, True)
    assert (conds["10.0.0.2"].ready, conds["10.0.0.2"].serving) == (False, False)
    assert (conds["10.0.0.3"].ready, conds["10.0.0.3"].terminating) == (False, True)
    assert s.metadata.labels == {
        "team": "a",
        LABEL_SERVICE_NAME: "svc",
        LABEL_MANAGED_BY: CONTROLLER_NAME,
    }
    ref = s.metadata.owner_references[0]
    assert (ref.kind, ref.name, ref.uid, ref.controller) == ("Service", "svc", "svc-uid", True)
    assert s.endpoints[0].target_ref.name == "p1"


def test_no_endpoints_leaves_one_placeholder_slice():
    [placeholder] = reconcile(SERVICE, [pod(1, True, 80, ip=False)], []).create
    assert placeholder.endpoints == [] and placeholder.ports == []
    assert reconcile(
        SERVICE, [], [replace(placeholder, metadata=replace(placeholder.metadata, name="svc-a"))]
    ).empty()


PODS = st.lists(
    st.tuples(st.integers(1, 30), st.booleans(), st.sampled_from([8080, 9090]), st.booleans()),
    max_size=25,
    unique_by=lambda t: t[0],
)


class Store:
    """Applies plans the way the API server would (names for generateName)."""

    def __init__(self) -> None:
        self.slices: dict[str, object] = {}
        self.names = itertools.count()
        self.writes = 0

    def apply(self, plan) -> None:
        for s in plan.delete:
            del self.slices[s.metadata.name]
        for s in plan.update:
            assert s.metadata.name in self.slices
            self.slices[s.metadata.name] = s
        for s in plan.create:
            name = f"svc-{next(self.names)}"
            self.slices[name] = replace(s, metadata=replace(s.metadata, name=name))
        self.writes += len(plan.create) + len(plan.update) + len(plan.delete)


@settings(max_examples=40, deadline=None)
@given(st.lists(PODS, min_size=1, max_size=4), st.integers(1, 5))
def test_every_endpoint_once_slices_bounded_and_a_fixed_point(rounds, max_per):
    store = Store()
    for specs in rounds:
        pods = [pod(i, ready, port, term) for i, ready, port, term in specs]
        store.apply(reconcile(SERVICE, pods, list(store.slices.values()), max_per))
        slices = list(store.slices.values())
        want = {(f"10.0.0.{i}", port) for i, _, port, _ in specs}
        got = [(ep.addresses[0], s.ports[0].port) for s in slices for ep in s.endpoints]
        assert sorted(got) == sorted(want), "each endpoint exactly once, under its own ports"
        for s in slices:
            assert len(s.endpoints) <= max_per
            assert s.endpoints or (len(slices) == 1 and not s.ports)
        # Reconciling the result again writes nothing.
        assert reconcile(SERVICE, pods, slices, max_per).empty()
