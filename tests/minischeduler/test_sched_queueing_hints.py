"""Queueing-hint tables: (plugin hint, pod, old object, new object) -> Queue / QueueSkip.

Cases re-derived from upstream's plugin tests of the same functions:
noderesources/fit_test.go Test_isSchedulableAfterPodChange and
Test_isSchedulableAfterNodeChange (case names kept), and the hint tests beside
node_affinity.go, node_unschedulable.go, taint_toleration.go, node_ports.go,
interpodaffinity/plugin.go, podtopologyspread/plugin.go and scheduling_gates.go (cases
described by what they check). A None old object is an add,
a None new object a delete.
"""

from __future__ import annotations

import pytest

from miniapi.base import replace
from miniapi.core.v1 import (
    Affinity,
    NodeAffinity,
    NodeSelector,
    NodeSelectorRequirement,
    NodeSelectorTerm,
    PodAffinity,
    PodAffinityTerm,
    PodAntiAffinity,
    PodSchedulingGate,
    Taint,
    Toleration,
    TopologySpreadConstraint,
)
from miniapi.meta.v1 import LabelSelector
from minischeduler.framework.runtime import Handle
from minischeduler.internal.events import (
    QUEUE,
    QUEUE_SKIP,
    UPDATE_POD_SCHEDULING_GATES_ELIMINATED,
    pod_scheduling_properties_change,
)
from minischeduler.plugins.interpodaffinity import InterPodAffinity
from minischeduler.plugins.nodeaffinity import NodeAffinity as NodeAffinityPlugin
from minischeduler.plugins.noderesources import NodeResourcesFit
from minischeduler.plugins.podtopologyspread import PodTopologySpread
from minischeduler.plugins.schedulinggates import SchedulingGates
from minischeduler.plugins.simple import NodePorts, NodeUnschedulable
from minischeduler.plugins.tainttoleration import TaintToleration
from minischeduler.testing import make_node, make_pod

ZONE = "topology.kubernetes.io/zone"
EXT_A, EXT_B = "example.com/aaa", "example.com/bbb"
GPU_TAINT = Taint(key="dedicated", value="gpu", effect="NoSchedule")
GPU_TOLERATION = Toleration(key="dedicated", operator="Equal", value="gpu", effect="NoSchedule")
UNSCHEDULABLE_TOLERATION = Toleration(
    key="node.kubernetes.io/unschedulable", operator="Exists", effect="NoSchedule"
)

FIT = NodeResourcesFit()
AFFINITY = NodeAffinityPlugin()
UNSCHED = NodeUnschedulable()
TAINTS = TaintToleration()
PORTS = NodePorts()
IPA = InterPodAffinity(Handle())
PTS = PodTopologySpread(Handle())
GATES = SchedulingGates()


def cap(**kw: str) -> dict[str, str]:
    return {k.replace("_", "-"): v for k, v in kw.items()}


def pod_affinity(selector: dict[str, str], anti: bool = False) -> Affinity:
    terms = [
        PodAffinityTerm(label_selector=LabelSelector(match_labels=selector), topology_key=ZONE)
    ]
    if anti:
        return Affinity(
            pod_anti_affinity=PodAntiAffinity(
                required_during_scheduling_ignored_during_execution=terms
            )
        )
    return Affinity(
        pod_affinity=PodAffinity(required_during_scheduling_ignored_during_execution=terms)
    )


def zone_in(*zones: str) -> Affinity:
    req = NodeSelectorRequirement(key=ZONE, operator="In", values=list(zones))
    sel = NodeSelector(node_selector_terms=[NodeSelectorTerm(match_expressions=[req])])
    return Affinity(
        node_affinity=NodeAffinity(required_during_scheduling_ignored_during_execution=sel)
    )


def spread(honor_taints: bool = False) -> list[TopologySpreadConstraint]:
    return [
        TopologySpreadConstraint(
            max_skew=1,
            topology_key=ZONE,
            when_unsatisfiable="DoNotSchedule",
            label_selector=LabelSelector(match_labels={"app": "web"}),
            node_taints_policy="Honor" if honor_taints else None,
        )
    ]


CPU1 = [{"cpu": "1"}]
P1 = make_pod("pod1", reqs=CPU1)

# fmt: off
CASES = [
    # fit_test.go Test_isSchedulableAfterPodChange
    ("fit queue-on-other-pod-deleted", FIT.is_schedulable_after_pod_event,
     P1, make_pod("pod2", reqs=CPU1, node="fake"), None, QUEUE),
    ("fit skip-queue-on-unscheduled-pod-deleted", FIT.is_schedulable_after_pod_event,
     P1, make_pod("pod2", reqs=CPU1), None, QUEUE_SKIP),
    ("fit skip-queue-on-other-unscheduled-pod", FIT.is_schedulable_after_pod_event,
     P1, make_pod("pod2", reqs=[{"cpu": "2"}]), make_pod("pod2", reqs=CPU1), QUEUE_SKIP),
    ("fit skip-queue-on-other-pod-unrelated-resource-scaled-down",
     FIT.is_schedulable_after_pod_event, P1,
     make_pod("pod2", reqs=[{"memory": "2"}], node="fake"),
     make_pod("pod2", reqs=[{"memory": "1"}], node="fake"), QUEUE_SKIP),
    ("fit queue-on-other-pod-some-resource-scale-down", FIT.is_schedulable_after_pod_event,
     P1, make_pod("pod2", reqs=[{"cpu": "2"}], node="fake"),
     make_pod("pod2", reqs=CPU1, node="fake"), QUEUE),
    ("fit queue-on-target-pod-some-resource-scale-down", FIT.is_schedulable_after_pod_event,
     P1, make_pod("pod1", reqs=[{"cpu": "2"}]), make_pod("pod1", reqs=CPU1), QUEUE),
    # fit_test.go Test_isSchedulableAfterNodeChange
    ("fit skip-queue-on-node-add-without-sufficient-resources",
     FIT.is_schedulable_after_node_change, make_pod("p", reqs=[{"memory": "2"}]),
     None, make_node("n", cap(memory="1")), QUEUE_SKIP),
    ("fit skip-queue-on-node-add-without-required-resource-type",
     FIT.is_schedulable_after_node_change, make_pod("p", reqs=[{EXT_A: "1"}]),
     None, make_node("n", {EXT_B: "1"}), QUEUE_SKIP),
    ("fit queue-on-node-add-with-sufficient-resources", FIT.is_schedulable_after_node_change,
     make_pod("p", reqs=[{"memory": "2", EXT_A: "1"}]),
     None, make_node("n", {"memory": "4", EXT_A: "2"}), QUEUE),
    ("fit skip-queue-on-node-unrelated-changes", FIT.is_schedulable_after_node_change,
     make_pod("p", reqs=[{"memory": "2", EXT_A: "1"}]),
     make_node("n", {"memory": "2", EXT_A: "2"}),
     make_node("n", {"memory": "2", EXT_A: "1", EXT_B: "2"}), QUEUE_SKIP),
    ("fit queue-on-pod-requested-resources-increase", FIT.is_schedulable_after_node_change,
     make_pod("p", reqs=[{"memory": "2", EXT_A: "1"}]),
     make_node("n", {"memory": "2", EXT_A: "1"}),
     make_node("n", {"memory": "2", EXT_A: "2"}), QUEUE),
    ("fit skip-queue-on-node-changes-from-suitable-to-unsuitable",
     FIT.is_schedulable_after_node_change, make_pod("p", reqs=[{"memory": "2", EXT_A: "1"}]),
     make_node("n", {"memory": "4", EXT_A: "2"}),
     make_node("n", {"memory": "1", EXT_A: "2"}), QUEUE_SKIP),
    ("fit queue-on-node-changes-from-unsuitable-to-suitable",
     FIT.is_schedulable_after_node_change, make_pod("p", reqs=[{"memory": "2", EXT_A: "1"}]),
     make_node("n", {"memory": "1", EXT_A: "2"}),
     make_node("n", {"memory": "4", EXT_A: "2"}), QUEUE),
    # NodeAffinity: node added / relabelled against nodeSelector and required affinity
    ("affinity node added matching nodeSelector", AFFINITY.is_schedulable_after_node_change,
     make_pod("p", node_selector={"disk": "ssd"}), None,
     make_node("n", labels={"disk": "ssd"}), QUEUE),
    ("affinity node added not matching", AFFINITY.is_schedulable_after_node_change,
     make_pod("p", node_selector={"disk": "ssd"}), None,
     make_node("n", labels={"disk": "hdd"}), QUEUE_SKIP),
    ("affinity label change unmatched -> matched", AFFINITY.is_schedulable_after_node_change,
     make_pod("p", affinity=zone_in("a")), make_node("n", labels={ZONE: "b"}),
     make_node("n", labels={ZONE: "a"}), QUEUE),
    ("affinity label change but matched before", AFFINITY.is_schedulable_after_node_change,
     make_pod("p", affinity=zone_in("a")), make_node("n", labels={ZONE: "a"}),
     make_node("n", labels={ZONE: "a", "x": "y"}), QUEUE_SKIP),
    ("affinity added affinity rejects the node",
     NodeAffinityPlugin({"addedAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
         "nodeSelectorTerms": [{"matchExpressions": [
             {"key": "pool", "operator": "In", "values": ["x"]}]}]}}}
     ).is_schedulable_after_node_change,
     make_pod("p"), None, make_node("n", labels={"pool": "y"}), QUEUE_SKIP),
    # NodeUnschedulable
    ("unschedulable node added schedulable", UNSCHED.is_schedulable_after_node_change,
     make_pod("p"), None, make_node("n"), QUEUE),
    ("unschedulable node added unschedulable", UNSCHED.is_schedulable_after_node_change,
     make_pod("p"), None, make_node("n", unschedulable=True), QUEUE_SKIP),
    ("unschedulable node uncordoned", UNSCHED.is_schedulable_after_node_change,
     make_pod("p"), make_node("n", unschedulable=True), make_node("n"), QUEUE),
    ("unschedulable node cordoned", UNSCHED.is_schedulable_after_node_change,
     make_pod("p"), make_node("n"), make_node("n", unschedulable=True), QUEUE_SKIP),
    ("unschedulable pod tolerates unschedulable taint now",
     UNSCHED.is_schedulable_after_pod_toleration_change, make_pod("p"), make_pod("p"),
     make_pod("p", tolerations=[UNSCHEDULABLE_TOLERATION]), QUEUE),
    ("unschedulable pod got an unrelated toleration",
     UNSCHED.is_schedulable_after_pod_toleration_change, make_pod("p"), make_pod("p"),
     make_pod("p", tolerations=[GPU_TOLERATION]), QUEUE_SKIP),
    ("unschedulable another pod's toleration", UNSCHED.is_schedulable_after_pod_toleration_change,
     make_pod("p"), make_pod("q"), make_pod("q", tolerations=[UNSCHEDULABLE_TOLERATION]),
     QUEUE_SKIP),
    # TaintToleration
    ("taint node added untainted", TAINTS.is_schedulable_after_node_change,
     make_pod("p"), None, make_node("n"), QUEUE),
    ("taint node added with untolerated taint", TAINTS.is_schedulable_after_node_change,
     make_pod("p"), None, make_node("n", taints=[GPU_TAINT]), QUEUE_SKIP),
    ("taint removed", TAINTS.is_schedulable_after_node_change,
     make_pod("p"), make_node("n", taints=[GPU_TAINT]), make_node("n"), QUEUE),
    ("taint added", TAINTS.is_schedulable_after_node_change,
     make_pod("p"), make_node("n"), make_node("n", taints=[GPU_TAINT]), QUEUE_SKIP),
    ("taint was tolerated already", TAINTS.is_schedulable_after_node_change,
     make_pod("p", tolerations=[GPU_TOLERATION]), make_node("n", taints=[GPU_TAINT]),
     make_node("n"), QUEUE_SKIP),
    ("taint the pod's own toleration change", TAINTS.is_schedulable_after_pod_toleration_change,
     make_pod("p"), make_pod("p"), make_pod("p", tolerations=[GPU_TOLERATION]), QUEUE),
    ("taint another pod's toleration change", TAINTS.is_schedulable_after_pod_toleration_change,
     make_pod("p"), make_pod("q"), make_pod("q", tolerations=[GPU_TOLERATION]), QUEUE_SKIP),
    # NodePorts
    ("ports deleted pod held the port", PORTS.is_schedulable_after_pod_deleted,
     make_pod("p", host_ports=[8080]), make_pod("q", node="n", host_ports=[8080]), None, QUEUE),
    ("ports deleted pod held another port", PORTS.is_schedulable_after_pod_deleted,
     make_pod("p", host_ports=[8080]), make_pod("q", node="n", host_ports=[9090]), None,
     QUEUE_SKIP),
    ("ports deleted pod held no port", PORTS.is_schedulable_after_pod_deleted,
     make_pod("p", host_ports=[8080]), make_pod("q", node="n"), None, QUEUE_SKIP),
    ("ports deleted pod was unscheduled", PORTS.is_schedulable_after_pod_deleted,
     make_pod("p", host_ports=[8080]), make_pod("q", host_ports=[8080]), None, QUEUE_SKIP),
    ("ports deleted pod was nominated", PORTS.is_schedulable_after_pod_deleted,
     make_pod("p", host_ports=[8080]), make_pod("q", host_ports=[8080], nominated="n"), None,
     QUEUE),
    # InterPodAffinity: assigned pods
    ("ipa added pod matches affinity", IPA.is_schedulable_after_pod_change,
     make_pod("p", affinity=pod_affinity({"app": "db"})), None,
     make_pod("db", node="n", labels={"app": "db"}), QUEUE),
    ("ipa added pod does not match", IPA.is_schedulable_after_pod_change,
     make_pod("p", affinity=pod_affinity({"app": "db"})), None,
     make_pod("web", node="n", labels={"app": "web"}), QUEUE_SKIP),
    ("ipa added pod is unscheduled", IPA.is_schedulable_after_pod_change,
     make_pod("p", affinity=pod_affinity({"app": "db"})), None,
     make_pod("db", labels={"app": "db"}), QUEUE_SKIP),
    ("ipa relabelled into affinity", IPA.is_schedulable_after_pod_change,
     make_pod("p", affinity=pod_affinity({"app": "db"})),
     make_pod("x", node="n", labels={"app": "web"}),
     make_pod("x", node="n", labels={"app": "db"}), QUEUE),
    ("ipa relabelled out of anti-affinity", IPA.is_schedulable_after_pod_change,
     make_pod("p", affinity=pod_affinity({"app": "db"}, anti=True)),
     make_pod("x", node="n", labels={"app": "db"}),
     make_pod("x", node="n", labels={"app": "web"}), QUEUE),
    ("ipa relabelled but still anti", IPA.is_schedulable_after_pod_change,
     make_pod("p", affinity=pod_affinity({"app": "db"}, anti=True)),
     make_pod("x", node="n", labels={"app": "db"}),
     make_pod("x", node="n", labels={"app": "db", "v": "2"}), QUEUE_SKIP),
    ("ipa deleted pod matched anti-affinity", IPA.is_schedulable_after_pod_change,
     make_pod("p", affinity=pod_affinity({"app": "db"}, anti=True)),
     make_pod("x", node="n", labels={"app": "db"}), None, QUEUE),
    ("ipa deleted pod unrelated", IPA.is_schedulable_after_pod_change,
     make_pod("p", affinity=pod_affinity({"app": "db"}, anti=True)),
     make_pod("x", node="n", labels={"app": "web"}), None, QUEUE_SKIP),
    ("ipa node with the topology key", IPA.is_schedulable_after_node_change,
     make_pod("p", affinity=pod_affinity({"app": "db"})), None,
     make_node("n", labels={ZONE: "a"}), QUEUE),
    ("ipa node without the topology key", IPA.is_schedulable_after_node_change,
     make_pod("p", affinity=pod_affinity({"app": "db"}, anti=True)), None,
     make_node("n"), QUEUE_SKIP),
    # PodTopologySpread
    ("pts added matching pod in namespace", PTS.is_schedulable_after_pod_change,
     make_pod("p", spread=spread()), None, make_pod("w", node="n", labels={"app": "web"}), QUEUE),
    ("pts added pod in other namespace", PTS.is_schedulable_after_pod_change,
     make_pod("p", spread=spread()), None,
     make_pod("w", namespace="other", node="n", labels={"app": "web"}), QUEUE_SKIP),
    ("pts added pod not matching", PTS.is_schedulable_after_pod_change,
     make_pod("p", spread=spread()), None, make_pod("w", node="n", labels={"app": "db"}),
     QUEUE_SKIP),
    ("pts deleted matching pod", PTS.is_schedulable_after_pod_change,
     make_pod("p", spread=spread()), make_pod("w", node="n", labels={"app": "web"}), None, QUEUE),
    ("pts relabelled into selector", PTS.is_schedulable_after_pod_change,
     make_pod("p", spread=spread()), make_pod("w", node="n", labels={"app": "db"}),
     make_pod("w", node="n", labels={"app": "web"}), QUEUE),
    ("pts relabelled unrelated", PTS.is_schedulable_after_pod_change,
     make_pod("p", spread=spread()), make_pod("w", node="n", labels={"app": "web"}),
     make_pod("w", node="n", labels={"app": "web", "v": "2"}), QUEUE_SKIP),
    ("pts own toleration with Honor", PTS.is_schedulable_after_pod_change,
     make_pod("p", spread=spread(True)), make_pod("p", spread=spread(True)),
     make_pod("p", spread=spread(True), tolerations=[GPU_TOLERATION]), QUEUE),
    ("pts own toleration with Ignore", PTS.is_schedulable_after_pod_change,
     make_pod("p", spread=spread()), make_pod("p", spread=spread()),
     make_pod("p", spread=spread(), tolerations=[GPU_TOLERATION]), QUEUE_SKIP),
    ("pts node added with key", PTS.is_schedulable_after_node_change,
     make_pod("p", spread=spread()), None, make_node("n", labels={ZONE: "a"}), QUEUE),
    ("pts node added without key", PTS.is_schedulable_after_node_change,
     make_pod("p", spread=spread()), None, make_node("n"), QUEUE_SKIP),
    ("pts node deleted with key", PTS.is_schedulable_after_node_change,
     make_pod("p", spread=spread()), make_node("n", labels={ZONE: "a"}), None, QUEUE),
    ("pts node zone value changed", PTS.is_schedulable_after_node_change,
     make_pod("p", spread=spread()), make_node("n", labels={ZONE: "a"}),
     make_node("n", labels={ZONE: "b"}), QUEUE),
    ("pts node gained the key", PTS.is_schedulable_after_node_change,
     make_pod("p", spread=spread()), make_node("n"), make_node("n", labels={ZONE: "a"}), QUEUE),
    ("pts node unrelated label", PTS.is_schedulable_after_node_change,
     make_pod("p", spread=spread()), make_node("n", labels={ZONE: "a"}),
     make_node("n", labels={ZONE: "a", "x": "y"}), QUEUE_SKIP),
    ("pts node taint changed on matching node", PTS.is_schedulable_after_node_change,
     make_pod("p", spread=spread()), make_node("n", labels={ZONE: "a"}),
     make_node("n", labels={ZONE: "a"}, taints=[GPU_TAINT]), QUEUE),
    # SchedulingGates
    ("gates queue-on-the-unsched-pod-updated",
     GATES.is_schedulable_after_update_pod_scheduling_gates_eliminated,
     make_pod("p"), None, make_pod("p"), QUEUE),
    ("gates another pod's gates eliminated",
     GATES.is_schedulable_after_update_pod_scheduling_gates_eliminated,
     make_pod("p"), None, make_pod("q"), QUEUE_SKIP),
]
# fmt: on


@pytest.mark.parametrize(
    ("hint_fn", "pod", "old", "new", "want"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_queueing_hint(hint_fn, pod, old, new, want):
    assert hint_fn(pod, old, new) == want


def test_gated_pod_update_reaches_the_hint():
    """The gate removal is what PodSchedulingPropertiesChange reports for the hint."""
    old = make_pod("p")
    old = replace(old, spec=replace(old.spec, scheduling_gates=[PodSchedulingGate(name="a")]))
    (ev,) = pod_scheduling_properties_change(make_pod("p"), old)
    assert ev.action_type == UPDATE_POD_SCHEDULING_GATES_ELIMINATED
    assert ev.resource == "UnschedulablePod"
