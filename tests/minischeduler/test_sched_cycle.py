"""Whole scheduling cycles through the in-process cluster: messages, preemption, config.

Checks FitError's message form (schedule_one.go / types.go FitError.Error), the
default plugin set and weights (default_plugins.go), numFeasibleNodesToFind
(schedule_one_test.go TestNumFeasibleNodesToFind) and DefaultPreemption's choice.
"""

from __future__ import annotations

import pytest

from miniapi.core.v1 import (
    Affinity,
    NodeAffinity,
    NodeSelector,
    NodeSelectorRequirement,
    NodeSelectorTerm,
    Taint,
)
from minischeduler.config import ConfigError, build_framework, load
from minischeduler.framework.runtime import Handle
from minischeduler.inprocess import InProcessCluster
from minischeduler.schedule_one import num_feasible_nodes_to_find
from minischeduler.testing import make_node, make_pod

CAP = {"cpu": "2", "memory": "4Gi"}


def test_failed_scheduling_message_counts_every_node():
    c = InProcessCluster()
    gpu = [Taint(key="dedicated", value="gpu", effect="NoSchedule")]
    for i in range(5):
        c.add_node(make_node(f"n{i}", CAP, taints=gpu if i >= 2 else None))
    c.add_pod(make_pod("big", reqs=[{"cpu": "3"}]))
    (o,) = c.schedule_all()
    assert o.message == (
        "0/5 nodes are available: 2 Insufficient cpu, "
        "3 node(s) had untolerated taint {dedicated: gpu}. "
        "preemption: 0/5 nodes are available: 2 No preemption victims found for incoming pod, "
        "3 Preemption is not helpful for scheduling.."
    )
    assert c.events[-1][1:3] == ("Warning", "FailedScheduling")
    assert c.conditions["default/big"][0] == "Unschedulable"


def test_scheduled_event_and_binding():
    c = InProcessCluster()
    c.add_node(make_node("n0", CAP))
    c.add_pod(make_pod("a", reqs=[{"cpu": "1"}]))
    (o,) = c.schedule_all()
    assert o.node == "n0"
    assert c.pods["default/a"].spec.node_name == "n0"
    assert c.events == [
        ("default/a", "Normal", "Scheduled", "Successfully assigned default/a to n0")
    ]
    assert not c.scheduler.cache.assumed_pods  # the informer update confirmed it


def test_preemption_evicts_lowest_priority_and_nominates():
    c = InProcessCluster()
    c.add_node(make_node("n0", CAP))
    c.add_node(make_node("n1", CAP))
    c.add_pod(make_pod("low", node="n0", priority=1, reqs=[{"cpu": "2"}]))
    c.add_pod(make_pod("mid", node="n1", priority=5, reqs=[{"cpu": "2"}]))
    c.add_pod(make_pod("high", priority=10, reqs=[{"cpu": "2"}]))
    (o,) = c.schedule_all()
    assert o.nominated_node == "n0"
    assert "default/low" not in c.pods and "default/mid" in c.pods
    assert c.pods["default/high"].status.nominated_node_name == "n0"
    # The victim's deletion is a cluster event: the pod comes back after its backoff.
    out = c.run(2)
    assert [x.node for x in out if x.pod == "default/high"] == ["n0"]


def test_preemption_policy_never():
    c = InProcessCluster()
    c.add_node(make_node("n0", CAP))
    c.add_pod(make_pod("low", node="n0", priority=1, reqs=[{"cpu": "2"}]))
    c.add_pod(make_pod("high", priority=10, reqs=[{"cpu": "2"}], preemption_policy="Never"))
    (o,) = c.schedule_all()
    # Evaluator.Preempt returns the eligibility message itself, without "preemption: ".
    assert o.message == (
        "0/1 nodes are available: 1 Insufficient cpu. not eligible due to preemptionPolicy=Never.."
    )
    assert "default/low" in c.pods


def test_default_profile_plugins_and_weights():
    fwk = build_framework(load(None).profiles[0], Handle())
    assert fwk.weights == {
        "TaintToleration": 3,
        "NodeAffinity": 2,
        "NodeResourcesFit": 1,
        "PodTopologySpread": 2,
        "InterPodAffinity": 2,
        "NodeResourcesBalancedAllocation": 1,
        "ImageLocality": 1,
    }
    assert [p.name for p in fwk.plugins("filter")] == [
        "NodeUnschedulable",
        "NodeName",
        "TaintToleration",
        "NodeAffinity",
        "NodePorts",
        "NodeResourcesFit",
        "PodTopologySpread",
        "InterPodAffinity",
    ]
    assert [p.name for p in fwk.plugins("postFilter")] == ["DefaultPreemption"]
    assert [p.name for p in fwk.plugins("bind")] == ["DefaultBinder"]


CONFIG = """
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- schedulerName: default-scheduler
- schedulerName: bin-packing
  percentageOfNodesToScore: 100
  plugins:
    multiPoint:
      disabled: [{name: NodeResourcesBalancedAllocation}]
    score:
      enabled: [{name: NodeResourcesFit, weight: 5}]
  pluginConfig:
  - name: NodeResourcesFit
    args:
      scoringStrategy:
        type: MostAllocated
        resources: [{name: cpu, weight: 1}]
"""


def test_config_profiles_and_most_allocated_bin_packing():
    cfg = load(CONFIG)
    assert [p.scheduler_name for p in cfg.profiles] == ["default-scheduler", "bin-packing"]
    c = InProcessCluster(cfg)
    for i in range(3):
        c.add_node(make_node(f"n{i}", {"cpu": "4", "memory": "8Gi"}))
    placements = set()
    for i in range(4):
        p = make_pod(f"p{i}", reqs=[{"cpu": "1"}])
        p = type(p)(
            metadata=p.metadata,
            spec=type(p.spec)(containers=p.spec.containers, scheduler_name="bin-packing"),
        )
        c.add_pod(p)
        placements |= {o.node for o in c.schedule_all()}
    assert len(placements) == 1  # MostAllocated packs all four onto one node
    fwk = c.scheduler.profiles["bin-packing"]
    assert fwk.weights["NodeResourcesFit"] == 5
    assert "NodeResourcesBalancedAllocation" not in [p.name for p in fwk.plugins("score")]


def test_config_errors_in_upstream_words():
    with pytest.raises(ConfigError, match='no kind "Foo" is registered'):
        load("apiVersion: kubescheduler.config.k8s.io/v1\nkind: Foo\n")
    with pytest.raises(ConfigError, match=r"not in valid range \[0-100\]"):
        load("percentageOfNodesToScore: 120\n")
    bad = "profiles:\n- plugins:\n    multiPoint:\n      enabled: [{name: Nope}]\n"
    with pytest.raises(ConfigError, match='plugin "Nope" does not exist'):
        build_framework(load(bad).profiles[0], Handle())


@pytest.mark.parametrize(
    ("percentage", "nodes", "want"),
    [
        # schedule_one_test.go TestNumFeasibleNodesToFind
        (None, 10, 10),
        (40, 10, 10),
        (None, 1000, 420),
        (40, 1000, 400),
        (None, 6000, 300),
        (40, 6000, 2400),
        (None, 5000, 500),
        (None, 20000, 1000),
        (None, 200, 100),
    ],
)
def test_num_feasible_nodes_to_find(percentage, nodes, want):
    assert num_feasible_nodes_to_find(percentage, nodes) == want


def test_rotating_start_index_spreads_the_search():
    c = InProcessCluster()
    for i in range(300):
        c.add_node(make_node(f"n{i:03}", {"cpu": "4", "memory": "8Gi"}))
    c.add_pod(make_pod("a", reqs=[{"cpu": "1"}]))
    c.schedule_all()
    # 300 nodes: 50 - 300/125 = 48% -> 144 feasible nodes examined, then the index moves.
    assert c.scheduler.algorithm.next_start_node_index == 144


def test_scan_wraps_around_from_the_start_index_and_stops_early():
    """findNodesThatPassFilters: nodes[(start+i) % n] until numFeasibleNodesToFind pass."""
    c = InProcessCluster(explain=True)
    names = [f"n{i:03}" for i in range(300)]
    for name in names:
        c.add_node(make_node(name, {"cpu": "4", "memory": "8Gi"}))
    # Ten nodes right after the start are full: rejected, counted, and scanned past.
    for name in names[250:260]:
        c.add_pod(make_pod(f"filler-{name}", reqs=[{"cpu": "4"}], node=name))
    c.scheduler.algorithm.next_start_node_index = 250
    c.add_pod(make_pod("a", reqs=[{"cpu": "1"}]))
    (o,) = c.schedule_all()
    ex = c.scheduler.explanations["default/a"]
    # 144 feasible wanted (48% of 300) + 10 rejected: n250..n299, then n000..n103.
    assert set(ex.filters) == set(names[250:] + names[:104])
    assert set(ex.totals) == set(names[260:] + names[:104])
    assert o.node in ex.totals
    assert c.scheduler.algorithm.next_start_node_index == (250 + 154) % 300


def _pinned_to(*names: str) -> Affinity:
    """Required node affinity on metadata.name: NodeAffinity's PreFilter narrows to it."""
    req = NodeSelectorRequirement(key="metadata.name", operator="In", values=list(names))
    term = NodeSelectorTerm(match_fields=[req])
    return Affinity(
        node_affinity=NodeAffinity(
            required_during_scheduling_ignored_during_execution=NodeSelector(
                node_selector_terms=[term]
            )
        )
    )


def test_pre_filter_result_narrows_the_scan_and_the_message():
    """findNodesThatFitPod with a PreFilterResult: left-out nodes are counted in the
    message as "node(s) didn't satisfy plugin(s) [NodeAffinity]" but do not move the
    start index (upstream counts only explicit statuses in processedNodes)."""
    c = InProcessCluster()
    for i in range(300):
        c.add_node(make_node(f"n{i:03}", {"cpu": "2", "memory": "4Gi"}))
    c.scheduler.algorithm.next_start_node_index = 7
    c.add_pod(make_pod("pinned", reqs=[{"cpu": "1"}], affinity=_pinned_to("n005", "n250")))
    (o,) = c.schedule_all()
    assert o.node in ("n005", "n250")
    assert c.scheduler.algorithm.next_start_node_index == 9
    c.add_pod(make_pod("big", reqs=[{"cpu": "3"}], affinity=_pinned_to("n005")))
    (o,) = c.schedule_all()
    assert o.message == (
        "0/300 nodes are available: 1 Insufficient cpu, "
        "299 node(s) didn't satisfy plugin(s) [NodeAffinity]. "
        "preemption: 0/300 nodes are available: 1 No preemption victims found for "
        "incoming pod, 299 Preemption is not helpful for scheduling.."
    )
    assert c.scheduler.algorithm.next_start_node_index == 10


class GangPermit:
    """A Permit plugin that parks every pod (like coscheduling's gang permit)."""

    name = "GangPermit"

    def permit(self, state, pod, node):
        from minischeduler.framework.status import Code, Status

        return Status(Code.WAIT), 5.0


def _with_permit():
    c = InProcessCluster()
    c.add_node(make_node("n0", CAP))
    c.scheduler.profiles["default-scheduler"].points["permit"] = [GangPermit()]
    c.add_pod(make_pod("a", reqs=[{"cpu": "1"}]))
    (o,) = c.schedule_all()
    assert o.waiting and o.node == "n0"
    assert c.pods["default/a"].spec.node_name == ""  # not bound while waiting
    return c


def test_permit_wait_then_allow_binds():
    c = _with_permit()
    handle = c.scheduler.profiles["default-scheduler"].handle
    handle.waiting_pods["default-a"].allow("GangPermit")
    (o,) = c.scheduler.process_waiting_pods()
    assert o.node == "n0" and c.pods["default/a"].spec.node_name == "n0"


def test_permit_wait_times_out_and_requeues():
    c = _with_permit()
    c.clock.step(4)
    assert c.scheduler.process_waiting_pods() == []
    c.clock.step(1)
    (o,) = c.scheduler.process_waiting_pods()
    assert o.message == "rejected due to timeout after waiting 5s at plugin GangPermit"
    assert not c.scheduler.cache.assumed_pods
    # Forgetting the assumed pod is itself a move request (handleBindingCycleError),
    # so the rejected pod retries after backoff instead of waiting for an event.
    assert c.scheduler.queue.backoff_q.get("default-a") is not None


def test_namespace_selector_in_pod_affinity():
    """A term's namespaceSelector matches pods in namespaces with those labels."""
    from miniapi.core.v1 import Affinity, Namespace, PodAffinity, PodAffinityTerm
    from miniapi.meta.v1 import LabelSelector, ObjectMeta

    c = InProcessCluster()
    zone = "topology.kubernetes.io/zone"
    c.add_node(make_node("n1", CAP, labels={zone: "z1"}))
    c.add_node(make_node("n2", CAP, labels={zone: "z2"}))
    c.scheduler.on_namespace(Namespace(metadata=ObjectMeta(name="db", labels={"team": "a"})))
    c.add_pod(make_pod("pg", namespace="db", node="n2", labels={"app": "pg"}))
    term = PodAffinityTerm(
        label_selector=LabelSelector(match_labels={"app": "pg"}),
        namespace_selector=LabelSelector(match_labels={"team": "a"}),
        topology_key=zone,
    )
    aff = Affinity(
        pod_affinity=PodAffinity(required_during_scheduling_ignored_during_execution=[term])
    )
    c.add_pod(make_pod("app", affinity=aff))
    (o,) = c.schedule_all()
    assert o.node == "n2"


def test_default_spread_constraints_from_a_service():
    """System default constraints apply to pods a Service selects: the emptier zone scores
    higher in PodTopologySpread."""
    from miniapi.core.v1 import Service, ServiceSpec
    from miniapi.meta.v1 import ObjectMeta

    c = InProcessCluster(explain=True)
    zone = "topology.kubernetes.io/zone"
    c.add_node(make_node("n1", CAP, labels={zone: "z1"}))
    c.add_node(make_node("n2", CAP, labels={zone: "z2"}))
    c.scheduler.on_service(
        Service(
            metadata=ObjectMeta(name="web", namespace="default"),
            spec=ServiceSpec(selector={"app": "web"}),
        )
    )
    for i in range(3):
        c.add_pod(make_pod(f"old{i}", node="n1", labels={"app": "web"}))
    c.add_pod(make_pod("new", labels={"app": "web"}))
    c.schedule_all()
    ex = c.scheduler.explanations["default/new"]
    spread = ex.normalized["PodTopologySpread"]
    assert spread["n2"] == 100 and spread["n1"] < 100
