"""Hypothesis properties over random clusters and pods (issue 7, "Properties").

- a pod never lands on a node an enabled filter rejects (checked independently:
  taints tolerated, nodeSelector matched, requests within allocatable);
- requested resources never exceed allocatable on any node;
- the chosen node has the maximum total score;
- the same seed gives the same placements;
- a FailedScheduling message counts every node exactly once.
"""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from miniapi.core.v1 import Taint, Toleration
from minischeduler.inprocess import InProcessCluster
from minischeduler.testing import make_node, make_pod

TAINTS = [
    Taint(key="dedicated", value="gpu", effect="NoSchedule"),
    Taint(key="spot", value="true", effect="PreferNoSchedule"),
]
ZONES = ["z1", "z2", "z3"]


@st.composite
def clusters(draw):
    nodes = []
    for i in range(draw(st.integers(1, 7))):
        nodes.append(
            make_node(
                f"n{i}",
                {
                    "cpu": str(draw(st.integers(1, 8))),
                    "memory": f"{draw(st.integers(1, 8))}Gi",
                    "pods": str(draw(st.integers(1, 6))),
                },
                labels={"topology.kubernetes.io/zone": draw(st.sampled_from(ZONES))},
                taints=draw(
                    st.lists(st.sampled_from(TAINTS), max_size=2, unique_by=lambda t: t.key)
                ),
            )
        )
    pods = []
    for i in range(draw(st.integers(1, 10))):
        tol = draw(st.booleans())
        pods.append(
            make_pod(
                f"p{i}",
                reqs=[
                    {
                        "cpu": f"{draw(st.integers(0, 3000))}m",
                        "memory": f"{draw(st.integers(0, 3000))}Mi",
                    }
                ],
                priority=draw(st.integers(0, 3)),
                labels={"app": draw(st.sampled_from(["a", "b"]))},
                tolerations=[Toleration(key="dedicated", operator="Exists")] if tol else [],
                node_selector=draw(
                    st.sampled_from([{}, {}, {"topology.kubernetes.io/zone": "z1"}])
                ),
            )
        )
    return nodes, pods


def run(nodes, pods, seed):
    c = InProcessCluster(seed=seed, explain=True)
    for n in nodes:
        c.add_node(n)
    for p in pods:
        c.add_pod(p)
    return c, c.schedule_all()


SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(clusters(), st.integers(0, 2**32 - 1))
def test_placements_respect_filters_and_capacity(cluster, seed):
    nodes, pods = cluster
    c, _ = run(nodes, pods, seed)
    by_name = {n.metadata.name: n for n in nodes}
    for pod in c.pods.values():
        if not pod.spec.node_name:
            continue
        node = by_name[pod.spec.node_name]
        for t in node.spec.taints:
            if t.effect == "NoSchedule":
                assert any(tol.key == t.key for tol in pod.spec.tolerations)
        for k, v in pod.spec.node_selector.items():
            assert node.metadata.labels.get(k) == v
    c.scheduler.cache.update_snapshot(c.scheduler.snapshot)
    for ni in c.scheduler.snapshot.list():
        assert ni.requested.milli_cpu <= ni.allocatable.milli_cpu
        assert ni.requested.memory <= ni.allocatable.memory
        assert len(ni.pods) <= ni.allocatable.allowed_pod_number


@SETTINGS
@given(clusters(), st.integers(0, 2**32 - 1))
def test_winner_has_max_total_and_seed_determinism(cluster, seed):
    nodes, pods = cluster
    c1, out1 = run(nodes, pods, seed)
    _, out2 = run(nodes, pods, seed)
    assert [(o.pod, o.node, o.message) for o in out1] == [(o.pod, o.node, o.message) for o in out2]
    for o in out1:
        ex = c1.scheduler.explanations[o.pod]
        if o.node and ex.totals:
            assert ex.totals[o.node] == max(ex.totals.values())


@SETTINGS
@given(clusters(), st.integers(0, 2**32 - 1))
def test_failure_message_counts_every_node_once(cluster, seed):
    nodes, pods = cluster
    c, out = run(nodes, pods, seed)
    for o in out:
        if o.node or o.nominated_node:
            continue
        head = o.message.split(". preemption:")[0].split(". not eligible")[0]
        m = re.match(r"0/(\d+) nodes are available: (.*?)\.?$", head)
        assert m, o.message
        assert int(m.group(1)) == len(nodes)
        counts = [int(part.split(" ", 1)[0]) for part in m.group(2).split(", ")]
        ex = c.scheduler.explanations[o.pod]
        # Every node has exactly one verdict; every reason of every node is counted.
        assert set(ex.filters) == {n.metadata.name for n in nodes}
        rejected = [v for per in ex.filters.values() for v in per.values() if v != "passed"]
        assert len(rejected) == len(nodes)
        assert sum(counts) == sum(len(r.split(", ")) for r in rejected)


@SETTINGS
@given(clusters(), st.integers(0, 2**32 - 1))
def test_preemption_only_evicts_lower_priority_pods(cluster, seed):
    """Victims always have a lower priority than the pod that preempted them, and the
    preemptor lands on its nominated node once they are gone."""
    nodes, pods = cluster
    c = InProcessCluster(seed=seed)
    for n in nodes:
        c.add_node(n)
    for p in pods:
        c.add_pod(p)
        before = set(c.pods)
        out = c.schedule_all()
        gone = before - set(c.pods)
        for o in out:
            if o.nominated_node:
                preemptor = c.pods[o.pod]
                prio = preemptor.spec.priority or 0
                assert all((pods_by_key(pods)[k].spec.priority or 0) < prio for k in gone)
        if any(o.nominated_node for o in out):
            c.run(11)
            for o in out:
                if o.nominated_node and o.pod in c.pods and c.pods[o.pod].spec.node_name:
                    assert c.pods[o.pod].spec.node_name == o.nominated_node


def pods_by_key(pods):
    return {f"{p.metadata.namespace}/{p.metadata.name}": p for p in pods}
