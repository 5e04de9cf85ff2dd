"""Filter verdicts of every filter plugin, with upstream's codes and reason strings.

Cases mirror the named upstream unit tests (fit_test.go, taint_toleration_test.go,
node_name_test.go, node_unschedulable_test.go, node_ports_test.go,
node_affinity_test.go, filtering_test.go of interpodaffinity and podtopologyspread).
"""

from __future__ import annotations

from miniapi.core.v1 import (
    Affinity,
    NodeAffinity,
    NodeSelector,
    NodeSelectorRequirement,
    NodeSelectorTerm,
    PodAffinity,
    PodAffinityTerm,
    PodAntiAffinity,
    Taint,
    Toleration,
    TopologySpreadConstraint,
)
from miniapi.meta.v1 import LabelSelector
from minischeduler.framework.cycle_state import CycleState
from minischeduler.framework.runtime import Handle
from minischeduler.framework.status import Code
from minischeduler.internal.cache import Cache
from minischeduler.internal.snapshot import Snapshot
from minischeduler.plugins.interpodaffinity import InterPodAffinity
from minischeduler.plugins.nodeaffinity import NodeAffinity as NodeAffinityPlugin
from minischeduler.plugins.noderesources import NodeResourcesFit
from minischeduler.plugins.podtopologyspread import PodTopologySpread
from minischeduler.plugins.simple import NodeName, NodePorts, NodeUnschedulable
from minischeduler.plugins.tainttoleration import TaintToleration
from minischeduler.testing import make_node, make_pod


def verdicts(plugin, pod, nodes, existing=()):
    """Run PreFilter then Filter on every node: [(code, reasons)] per node."""
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
    if hasattr(plugin, "pre_filter"):
        _, s = plugin.pre_filter(state, pod)
        if s is not None and s.code == Code.SKIP:
            return [(Code.SUCCESS, [])] * len(nodes)
        assert s is None, s
    out = []
    for n in nodes:
        s = plugin.filter(state, pod, snap.get(n.metadata.name))
        out.append((Code.SUCCESS, []) if s is None else (s.code, s.reasons))
    return out


OK = (Code.SUCCESS, [])
NODE = {"cpu": "10", "memory": "20", "pods": "32"}


def test_fit_too_many_resources_fails():
    """fit_test.go: too many resources fails (cpu and memory both short)."""
    existing = [make_pod("e", node="n", reqs=[{"cpu": "10", "memory": "20"}])]
    got = verdicts(
        NodeResourcesFit(),
        make_pod("p", reqs=[{"cpu": "1", "memory": "1"}]),
        [make_node("n", NODE)],
        existing,
    )
    assert got == [(Code.UNSCHEDULABLE, ["Insufficient cpu", "Insufficient memory"])]


def test_fit_no_resources_requested_always_fits_and_too_many_pods():
    """fit_test.go: no resources requested always fits; even without requests, pods
    above allocatable "pods" fail with "Too many pods"."""
    node = make_node("n", {**NODE, "pods": "1"})
    assert verdicts(NodeResourcesFit(), make_pod("p"), [make_node("n", NODE)]) == [OK]
    got = verdicts(NodeResourcesFit(), make_pod("p"), [node], [make_pod("e", node="n")])
    assert got == [(Code.UNSCHEDULABLE, ["Too many pods"])]


def test_fit_extended_resource():
    """fit_test.go: extended resource allocatable enforced — "Insufficient example.com/aaa"."""
    node = make_node("n", {**NODE, "example.com/aaa": "5"})
    pod = make_pod("p", reqs=[{"example.com/aaa": "10"}])
    got = verdicts(NodeResourcesFit(), pod, [node])
    assert got == [(Code.UNSCHEDULABLE, ["Insufficient example.com/aaa"])]
    ignored = NodeResourcesFit({"ignoredResources": ["example.com/aaa"]})
    assert verdicts(ignored, pod, [node]) == [OK]


def test_taint_toleration_filter():
    """taint_toleration_test.go: A pod having no tolerations can't be scheduled onto a node
    with nonempty taints; a toleration with the same key/value/effect can."""
    node = make_node("n", taints=[Taint(key="dedicated", value="user1", effect="NoSchedule")])
    got = verdicts(TaintToleration(), make_pod("p"), [node])
    assert got == [
        (Code.UNSCHEDULABLE_AND_UNRESOLVABLE, ["node(s) had untolerated taint {dedicated: user1}"])
    ]
    tol = Toleration(key="dedicated", operator="Equal", value="user1", effect="NoSchedule")
    assert verdicts(TaintToleration(), make_pod("p", tolerations=[tol]), [node]) == [OK]
    exists = Toleration(operator="Exists")
    assert verdicts(TaintToleration(), make_pod("p", tolerations=[exists]), [node]) == [OK]
    prefer = make_node("m", taints=[Taint(key="a", value="b", effect="PreferNoSchedule")])
    assert verdicts(TaintToleration(), make_pod("p"), [prefer]) == [OK]


def test_node_name():
    """node_name_test.go: host doesn't match / matches."""
    pod = make_pod("p", node="foo")
    got = verdicts(NodeName(), pod, [make_node("foo"), make_node("bar")])
    assert got == [
        OK,
        (Code.UNSCHEDULABLE_AND_UNRESOLVABLE, ["node(s) didn't match the requested node name"]),
    ]


def test_node_unschedulable():
    """node_unschedulable_test.go: unschedulable node, with and without the toleration."""
    node = make_node("n", unschedulable=True)
    got = verdicts(NodeUnschedulable(), make_pod("p"), [node])
    assert got == [(Code.UNSCHEDULABLE_AND_UNRESOLVABLE, ["node(s) were unschedulable"])]
    tol = Toleration(key="node.kubernetes.io/unschedulable", operator="Exists", effect="NoSchedule")
    assert verdicts(NodeUnschedulable(), make_pod("p", tolerations=[tol]), [node]) == [OK]


def test_node_ports():
    """node_ports_test.go: same port conflicts; other port fits; no ports skips."""
    existing = [make_pod("e", node="n", host_ports=[8080])]
    got = verdicts(NodePorts(), make_pod("p", host_ports=[8080]), [make_node("n")], existing)
    assert got == [
        (Code.UNSCHEDULABLE, ["node(s) didn't have free ports for the requested pod ports"])
    ]
    assert verdicts(NodePorts(), make_pod("p", host_ports=[9090]), [make_node("n")], existing) == [
        OK
    ]


def _required(*terms):
    return Affinity(
        node_affinity=NodeAffinity(
            required_during_scheduling_ignored_during_execution=NodeSelector(
                node_selector_terms=list(terms)
            )
        )
    )


def test_node_affinity_filter():
    """node_affinity_test.go: missing labels; In matches; Gt; matchFields pins the name."""
    msg = "node(s) didn't match Pod's node affinity/selector"
    pod = make_pod("p", node_selector={"foo": "bar"})
    nodes = [make_node("a", labels={"foo": "bar"}), make_node("b")]
    assert verdicts(NodeAffinityPlugin(), pod, nodes) == [
        OK,
        (Code.UNSCHEDULABLE_AND_UNRESOLVABLE, [msg]),
    ]
    gt = NodeSelectorTerm(
        match_expressions=[NodeSelectorRequirement(key="gpus", operator="Gt", values=["2"])]
    )
    pod = make_pod("p", affinity=_required(gt))
    nodes = [make_node("a", labels={"gpus": "4"}), make_node("b", labels={"gpus": "1"})]
    assert verdicts(NodeAffinityPlugin(), pod, nodes)[0] == OK
    assert verdicts(NodeAffinityPlugin(), pod, nodes)[1][0] == Code.UNSCHEDULABLE_AND_UNRESOLVABLE
    # PreFilter narrows to the pinned names (node_affinity_test.go TestNodeAffinity
    # "Pod with matchFields using In operator that matches the existing node").
    pin = NodeSelectorTerm(
        match_fields=[NodeSelectorRequirement(key="metadata.name", operator="In", values=["a"])]
    )
    result, s = NodeAffinityPlugin().pre_filter(
        CycleState(), make_pod("p", affinity=_required(pin))
    )
    assert s is None and result.node_names == {"a"}


def _sel(**labels):
    return LabelSelector(match_labels=labels)


ZONE = "topology.kubernetes.io/zone"


def test_inter_pod_affinity_filter():
    """interpodaffinity filtering_test.go: affinity satisfied in the zone with a matching pod;
    anti-affinity rejects it; an existing pod's anti-affinity rejects the incoming pod."""
    nodes = [make_node("n1", labels={ZONE: "z1"}), make_node("n2", labels={ZONE: "z2"})]
    existing = [make_pod("web", node="n1", labels={"app": "web"})]
    term = PodAffinityTerm(label_selector=_sel(app="web"), topology_key=ZONE)
    aff = make_pod(
        "p",
        affinity=Affinity(
            pod_affinity=PodAffinity(required_during_scheduling_ignored_during_execution=[term])
        ),
    )
    assert verdicts(InterPodAffinity(Handle()), aff, nodes, existing) == [
        OK,
        (Code.UNSCHEDULABLE_AND_UNRESOLVABLE, ["node(s) didn't match pod affinity rules"]),
    ]
    anti = make_pod(
        "p",
        affinity=Affinity(
            pod_anti_affinity=PodAntiAffinity(
                required_during_scheduling_ignored_during_execution=[term]
            )
        ),
    )
    assert verdicts(InterPodAffinity(Handle()), anti, nodes, existing) == [
        (Code.UNSCHEDULABLE, ["node(s) didn't match pod anti-affinity rules"]),
        OK,
    ]
    guard = make_pod(
        "guard",
        node="n2",
        affinity=Affinity(
            pod_anti_affinity=PodAntiAffinity(
                required_during_scheduling_ignored_during_execution=[
                    PodAffinityTerm(label_selector=_sel(role="x"), topology_key=ZONE)
                ]
            )
        ),
    )
    got = verdicts(InterPodAffinity(Handle()), make_pod("p", labels={"role": "x"}), nodes, [guard])
    assert got == [
        OK,
        (Code.UNSCHEDULABLE, ["node(s) didn't satisfy existing pods anti-affinity rules"]),
    ]


def test_inter_pod_affinity_first_pod_of_group():
    """filtering_test.go: a pod with affinity to its own labels may go first anywhere."""
    term = PodAffinityTerm(label_selector=_sel(app="db"), topology_key=ZONE)
    pod = make_pod(
        "p",
        labels={"app": "db"},
        affinity=Affinity(
            pod_affinity=PodAffinity(required_during_scheduling_ignored_during_execution=[term])
        ),
    )
    nodes = [make_node("n1", labels={ZONE: "z1"}), make_node("n2")]
    got = verdicts(InterPodAffinity(Handle()), pod, nodes)
    assert got[0] == OK and got[1][0] == Code.UNSCHEDULABLE_AND_UNRESOLVABLE


def test_pod_topology_spread_filter():
    """podtopologyspread filtering_test.go: pods spread across zones with maxSkew 1 —
    zone1 has 2 matching pods, zone2 has 1: only zone2 nodes fit; a node missing the
    key is rejected with the "(missing required label)" reason."""
    c = TopologySpreadConstraint(
        max_skew=1,
        topology_key=ZONE,
        when_unsatisfiable="DoNotSchedule",
        label_selector=_sel(foo="x"),
    )
    nodes = [
        make_node("a", labels={ZONE: "zone1"}),
        make_node("b", labels={ZONE: "zone1"}),
        make_node("x", labels={ZONE: "zone2"}),
        make_node("nolabel"),
    ]
    existing = [
        make_pod("p1", node="a", labels={"foo": "x"}),
        make_pod("p2", node="b", labels={"foo": "x"}),
        make_pod("p3", node="x", labels={"foo": "x"}),
    ]
    pod = make_pod("p", labels={"foo": "x"}, spread=[c])
    got = verdicts(PodTopologySpread(Handle()), pod, nodes, existing)
    skew = (Code.UNSCHEDULABLE, ["node(s) didn't match pod topology spread constraints"])
    missing = (
        Code.UNSCHEDULABLE_AND_UNRESOLVABLE,
        ["node(s) didn't match pod topology spread constraints (missing required label)"],
    )
    assert got == [skew, skew, OK, missing]


def test_pod_topology_spread_min_domains():
    """filtering_test.go: minDomains larger than the existing domains makes the global
    minimum 0, so a domain already holding maxSkew pods is rejected."""
    c = TopologySpreadConstraint(
        max_skew=1,
        topology_key=ZONE,
        min_domains=3,
        when_unsatisfiable="DoNotSchedule",
        label_selector=_sel(foo="x"),
    )
    nodes = [make_node("a", labels={ZONE: "zone1"}), make_node("b", labels={ZONE: "zone2"})]
    existing = [
        make_pod("p1", node="a", labels={"foo": "x"}),
        make_pod("p2", node="b", labels={"foo": "x"}),
    ]
    got = verdicts(
        PodTopologySpread(Handle()), make_pod("p", labels={"foo": "x"}, spread=[c]), nodes, existing
    )
    assert all(code == Code.UNSCHEDULABLE for code, _ in got)
