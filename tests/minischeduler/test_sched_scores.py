"""Oracle tables: upstream's plugin unit tests' expected scores, re-derived and cited.

Each case names the upstream test (file and test-case name) whose expectation it
checks; nodes, pods and expected numbers are upstream's, the arithmetic is in the
plugin docstrings (Go integer division).
"""

from __future__ import annotations

import pytest

from miniapi.core.v1 import (
    Affinity,
    NodeAffinity,
    NodeSelectorRequirement,
    NodeSelectorTerm,
    PreferredSchedulingTerm,
    Taint,
    Toleration,
)
from minischeduler.framework.cycle_state import CycleState
from minischeduler.framework.interface import NodeScore
from minischeduler.framework.runtime import Handle
from minischeduler.framework.status import Code
from minischeduler.internal.cache import Cache
from minischeduler.internal.snapshot import Snapshot
from minischeduler.plugins.imagelocality import ImageLocality
from minischeduler.plugins.nodeaffinity import NodeAffinity as NodeAffinityPlugin
from minischeduler.plugins.noderesources import (
    NodeResourcesBalancedAllocation,
    NodeResourcesFit,
    broken_linear,
)
from minischeduler.plugins.tainttoleration import TaintToleration
from minischeduler.testing import make_node, make_pod


def run_score(plugin, pod, nodes, existing=()):
    cache = Cache()
    for n in nodes:
        cache.add_node(n)
    for p in existing:
        cache.add_pod(p)
    snap = Snapshot()
    cache.update_snapshot(snap)
    if hasattr(plugin, "handle"):
        plugin.handle.snapshot = snap
    state = CycleState()
    infos = [snap.get(n.metadata.name) for n in nodes]
    if hasattr(plugin, "pre_score"):
        s = plugin.pre_score(state, pod, infos)
        assert s is None or s.code == Code.SUCCESS
    scores = []
    for ni in infos:
        v, s = plugin.score(state, pod, ni)
        assert s is None
        scores.append(NodeScore(ni.name, v))
    if hasattr(plugin, "normalize_score"):
        plugin.normalize_score(state, pod, scores)
    return [s.score for s in scores]


def _handle() -> Handle:
    return Handle()


TWO_CONTAINERS = [{"cpu": "1000", "memory": "2000"}, {"cpu": "2000", "memory": "3000"}]


@pytest.mark.parametrize(
    ("name", "pod", "nodes", "existing", "want"),
    [
        (
            "least_allocated_test.go: nothing scheduled, resources requested, "
            "differently sized nodes",
            make_pod("p", reqs=TWO_CONTAINERS),
            [
                make_node("node1", {"cpu": "4000", "memory": "10000"}),
                make_node("node2", {"cpu": "6000", "memory": "10000"}),
            ],
            [],
            [37, 50],
        ),
        (
            "least_allocated_test.go: nothing scheduled, nothing requested",
            make_pod("p", reqs=[]),
            [
                make_node("node1", {"cpu": "4000", "memory": "10000"}),
                make_node("node2", {"cpu": "4000", "memory": "10000"}),
            ],
            [],
            [100, 100],
        ),
    ],
)
def test_least_allocated(name, pod, nodes, existing, want):
    assert run_score(NodeResourcesFit(), pod, nodes, existing) == want, name


def _most(resources=None):
    strategy = {"type": "MostAllocated"}
    if resources:
        strategy["resources"] = resources
    return NodeResourcesFit({"scoringStrategy": strategy})


@pytest.mark.parametrize(
    ("name", "pod", "nodes", "existing", "resources", "want"),
    [
        (
            "most_allocated_test.go: nothing scheduled, resources requested, "
            "differently sized nodes",
            make_pod("p", reqs=TWO_CONTAINERS),
            [
                make_node("node1", {"cpu": "4000", "memory": "10000"}),
                make_node("node2", {"cpu": "6000", "memory": "10000"}),
            ],
            [],
            None,
            [62, 50],
        ),
        (
            "most_allocated_test.go: no resources requested, pods scheduled with resources",
            make_pod("p", reqs=[]),
            [
                make_node("node1", {"cpu": "10000", "memory": "20000"}),
                make_node("node2", {"cpu": "10000", "memory": "20000"}),
            ],
            [
                make_pod("e1", node="node1", reqs=[{"cpu": "3000", "memory": "0"}]),
                make_pod("e2", node="node1", reqs=[{"cpu": "3000", "memory": "0"}]),
                make_pod("e3", node="node2", reqs=[{"cpu": "3000", "memory": "0"}]),
                make_pod("e4", node="node2", reqs=[{"cpu": "3000", "memory": "5000"}]),
            ],
            None,
            [30, 42],
        ),
        (
            "most_allocated_test.go: resources requested equal node capacity",
            make_pod(
                "p", reqs=[{"cpu": "2000", "memory": "4000"}, {"cpu": "3000", "memory": "5000"}]
            ),
            [
                make_node("node1", {"cpu": "5000", "memory": "10000"}),
                make_node("node2", {"cpu": "10000", "memory": "9000"}),
            ],
            [],
            None,
            [95, 75],
        ),
        (
            "most_allocated_test.go: nothing scheduled, resources requested, differently "
            "sized nodes (memory weight 2)",
            make_pod("p", reqs=TWO_CONTAINERS),
            [
                make_node("node1", {"cpu": "4000", "memory": "10000"}),
                make_node("node2", {"cpu": "6000", "memory": "10000"}),
            ],
            [],
            [{"name": "memory", "weight": 2}, {"name": "cpu", "weight": 1}],
            [58, 50],
        ),
        (
            "most_allocated_test.go: no resources requested, pods scheduled, nonzero "
            "request for resource",
            make_pod("p"),
            [
                make_node("node1", {"cpu": "250m", "memory": "1000Mi"}),
                make_node("node2", {"cpu": "250m", "memory": "1000Mi"}),
            ],
            [make_pod("e1", node="node1"), make_pod("e2", node="node1")],
            None,
            [80, 30],
        ),
    ],
)
def test_most_allocated(name, pod, nodes, existing, resources, want):
    assert run_score(_most(resources), pod, nodes, existing) == want, name


def test_balanced_allocation_differently_sized_nodes():
    """balanced_allocation_test.go: nothing scheduled, resources requested, differently
    sized nodes — cpu 3000/4000 vs memory 5000/10000: std 0.125 -> 87; node2 balanced."""
    pod = make_pod("p", reqs=TWO_CONTAINERS)
    nodes = [
        make_node("node1", {"cpu": "4000", "memory": "10000"}),
        make_node("node2", {"cpu": "6000", "memory": "10000"}),
    ]
    assert run_score(NodeResourcesBalancedAllocation(), pod, nodes) == [87, 100]


def test_balanced_allocation_skips_best_effort_pods():
    """balanced_allocation.go PreScore: best-effort pods are not scored (issue 129138)."""
    plugin = NodeResourcesBalancedAllocation()
    s = plugin.pre_score(CycleState(), make_pod("p"), [])
    assert s.code == Code.SKIP


def test_broken_linear_function():
    """requested_to_capacity_ratio_test.go TestBrokenLinearFunction, shape (10,1),(90,9)."""
    f = broken_linear([(10, 1), (90, 9)])
    got = [f(p) for p in (0, 5, 10, 15, 20, 50, 89, 90, 99, 100)]
    assert got == [1, 1, 1, 1, 2, 5, 8, 9, 9, 9]


def test_requested_to_capacity_ratio_default_shape_is_least_allocated_like():
    """RequestedToCapacityRatio with shape (0,10),(100,0): scores ×10, utilization
    3000/4000=75 -> 25, 5000/10000=50 -> 50; round(37.5) = 38 (math.Round, half away)."""
    pl = NodeResourcesFit(
        {
            "scoringStrategy": {
                "type": "RequestedToCapacityRatio",
                "requestedToCapacityRatio": {
                    "shape": [{"utilization": 0, "score": 10}, {"utilization": 100, "score": 0}]
                },
            }
        }
    )
    pod = make_pod("p", reqs=TWO_CONTAINERS)
    nodes = [
        make_node("node1", {"cpu": "4000", "memory": "10000"}),
        make_node("node2", {"cpu": "6000", "memory": "10000"}),
    ]
    assert run_score(pl, pod, nodes) == [38, 50]


def test_taint_toleration_more_intolerable_taints_lower_score():
    """taint_toleration_test.go: the more intolerable taints a node has, the lower score
    it gets — 0, 1 and 2 untolerated PreferNoSchedule taints: 100, 50, 0."""
    pod = make_pod(
        "p",
        tolerations=[
            Toleration(key="foo", operator="Equal", value="bar", effect="PreferNoSchedule")
        ],
    )
    t = [
        Taint(key="cpu-type", value="arm64", effect="PreferNoSchedule"),
        Taint(key="disk-type", value="ssd", effect="PreferNoSchedule"),
    ]
    nodes = [make_node("n1"), make_node("n2", taints=t[:1]), make_node("n3", taints=t)]
    assert run_score(TaintToleration(), pod, nodes) == [100, 50, 0]


def _req(key, value):
    return NodeSelectorRequirement(key=key, operator="In", values=[value])


def test_node_affinity_preferred_with_different_priorities():
    """node_affinity_test.go TestNodeAffinityPriority: all nodes matches the preferred
    scheduling requirements of pod but with different priorities — 2/11, 11/11, 4/11."""
    prefs = [
        PreferredSchedulingTerm(
            weight=2, preference=NodeSelectorTerm(match_expressions=[_req("foo", "bar")])
        ),
        PreferredSchedulingTerm(
            weight=4, preference=NodeSelectorTerm(match_expressions=[_req("key", "value")])
        ),
        PreferredSchedulingTerm(
            weight=5,
            preference=NodeSelectorTerm(
                match_expressions=[_req("foo", "bar"), _req("key", "value"), _req("az", "az1")]
            ),
        ),
    ]
    pod = make_pod(
        "p",
        affinity=Affinity(
            node_affinity=NodeAffinity(preferred_during_scheduling_ignored_during_execution=prefs)
        ),
    )
    nodes = [
        make_node("node1", labels={"foo": "bar"}),
        make_node("node5", labels={"foo": "bar", "key": "value", "az": "az1"}),
        make_node("node2", labels={"key": "value"}),
    ]
    assert run_score(NodeAffinityPlugin(), pod, nodes) == [18, 100, 36]


MB = 1024 * 1024


@pytest.mark.parametrize(
    ("name", "images", "want"),
    [
        (
            "image_locality_test.go: two images spread on two nodes, prefer the larger image one",
            ["gcr.io/40", "gcr.io/250"],
            [0, 5],
        ),
        (
            "image_locality_test.go: two images on one node, prefer this node",
            ["gcr.io/40", "gcr.io/300"],
            [7, 0],
        ),
    ],
)
def test_image_locality(name, images, want):
    node1 = make_node(
        "machine1",
        images=[
            (["gcr.io/40:latest", "gcr.io/40:v1"], 40 * MB),
            (["gcr.io/300:latest", "gcr.io/300:v1"], 300 * MB),
            (["gcr.io/2000:latest"], 2000 * MB),
        ],
    )
    node2 = make_node(
        "machine2",
        images=[
            (["gcr.io/250:latest"], 250 * MB),
            (["gcr.io/10:latest", "gcr.io/10:v1"], 10 * MB),
        ],
    )
    pod = make_pod("p", reqs=[{}, {}], images=images)
    assert run_score(ImageLocality(_handle()), pod, [node1, node2]) == want, name


def test_broken_linear_truncates_toward_zero_like_go():
    """(0-100)*1/3 is -33 in Go (truncation), not Python's floor -34."""
    f = broken_linear([(0, 100), (3, 0)])
    assert f(1) == 100 - 33
