"""One scheduling decision: filter the nodes, score the feasible ones, pick the best.

Mirrors pkg/scheduler/schedule_one.go (schedulePod, findNodesThatFitPod,
findNodesThatPassFilters, numFeasibleNodesToFind, prioritizeNodes, selectHost,
evaluateNominatedNode). Pure: the snapshot, the framework and a seeded
`random.Random` come in; a ScheduleResult or a FitError comes out. The scan starts at
`next_start_node_index` and stops after numFeasibleNodesToFind feasible nodes, so
successive pods look at different parts of a large cluster, as upstream does.
Omitted: extenders, parallel filtering (nodes are checked in order, which keeps the
result deterministic), metrics.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from itertools import chain, islice

from miniapi.core.v1 import Pod
from minischeduler.framework.cycle_state import CycleState
from minischeduler.framework.interface import Diagnosis, FitError, NodePluginScores
from minischeduler.framework.runtime import Framework
from minischeduler.framework.status import Code, Status
from minischeduler.framework.types import NodeInfo
from minischeduler.internal.snapshot import Snapshot

MIN_FEASIBLE_NODES_TO_FIND = 100
MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND = 5
ERR_NO_NODES_AVAILABLE = "no nodes available to schedule pods"


class NoNodesAvailableError(Exception):
    def __str__(self) -> str:
        return ERR_NO_NODES_AVAILABLE


@dataclass
class ScheduleResult:
    suggested_host: str
    evaluated_nodes: int
    feasible_nodes: int


def num_feasible_nodes_to_find(percentage: int | None, num_all_nodes: int) -> int:
    """All nodes below 100; else the percentage (adaptive 50 − n/125, ≥ 5) but ≥ 100."""
    if num_all_nodes < MIN_FEASIBLE_NODES_TO_FIND:
        return num_all_nodes
    adaptive = percentage or 0
    if adaptive <= 0:
        adaptive = 50 - num_all_nodes // 125
        if adaptive < MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND:
            adaptive = MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND
    if adaptive >= 100:
        return num_all_nodes
    num_nodes = num_all_nodes * adaptive // 100
    return max(num_nodes, MIN_FEASIBLE_NODES_TO_FIND)


class Algorithm:
    """The part of upstream's Scheduler that decides: holds the rotating start index."""

    def __init__(self, rng: random.Random, percentage_of_nodes_to_score: int | None = None):
        self.rng = rng
        self.percentage_of_nodes_to_score = percentage_of_nodes_to_score
        self.next_start_node_index = 0

    def schedule_pod(
        self, fwk: Framework, state: CycleState, pod: Pod, snap: Snapshot
    ) -> ScheduleResult:
        if snap.num_nodes() == 0:
            raise NoNodesAvailableError()
        feasible, diagnosis = self.find_nodes_that_fit_pod(fwk, state, pod, snap)
        if not feasible:
            raise FitError(pod, snap.num_nodes(), diagnosis)
        evaluated = len(feasible) + len(diagnosis.node_to_status)
        if len(feasible) == 1:
            if fwk.explain is not None:
                fwk.explain.winner = feasible[0].name
            return ScheduleResult(feasible[0].name, evaluated, 1)
        scores = self.prioritize_nodes(fwk, state, pod, feasible)
        host = self.select_host(scores)
        if fwk.explain is not None:
            fwk.explain.totals = {s.name: s.total_score for s in scores}
            fwk.explain.winner = host
        return ScheduleResult(host, evaluated, len(feasible))

    def find_nodes_that_fit_pod(
        self, fwk: Framework, state: CycleState, pod: Pod, snap: Snapshot
    ) -> tuple[list[NodeInfo], Diagnosis]:
        diagnosis = Diagnosis()
        all_nodes = snap.list()
        result, status, plugins = fwk.run_pre_filter_plugins(state, pod)
        if status is not None:
            if not status.is_rejected():
                raise RuntimeError(status.message())
            # Every node gets the same verdict; the message is the PreFilter one.
            diagnosis.node_to_status = {ni.name: status for ni in all_nodes}
            diagnosis.pre_filter_msg = status.message()
            diagnosis.unschedulable_plugins |= {status.plugin} if status.plugin else plugins
            return [], diagnosis
        if pod.status.nominated_node_name:
            ni = snap.node_info_map.get(pod.status.nominated_node_name)
            if (
                ni is not None
                and fwk.run_filter_plugins_with_nominated_pods(state, pod, ni) is None
            ):
                return [ni], diagnosis
        nodes = all_nodes
        absent = 0  # nodes the PreFilterResult left out: upstream's "absent" statuses
        if result is not None and not result.all_nodes():
            nodes = [
                snap.node_info_map[n] for n in sorted(result.node_names) if n in snap.node_info_map
            ]
            rejected = Status(
                Code.UNSCHEDULABLE_AND_UNRESOLVABLE,
                f"node(s) didn't satisfy plugin(s) [{' '.join(sorted(plugins or []))}]",
            )
            keep = {ni.name for ni in nodes}
            for ni in all_nodes:
                if ni.name not in keep:
                    diagnosis.node_to_status[ni.name] = rejected
                    absent += 1
        feasible = self.find_nodes_that_pass_filters(fwk, state, pod, diagnosis, nodes)
        # Only nodes actually examined move the start index (NodeToStatus.Len() upstream
        # counts explicit statuses, not the absent ones).
        processed = len(feasible) + len(diagnosis.node_to_status) - absent
        if all_nodes:
            self.next_start_node_index = (self.next_start_node_index + processed) % len(all_nodes)
        return feasible, diagnosis

    def find_nodes_that_pass_filters(
        self, fwk: Framework, state: CycleState, pod: Pod, diagnosis: Diagnosis, nodes
    ) -> list[NodeInfo]:
        n = len(nodes)
        percentage = fwk.percentage_of_nodes_to_score
        if percentage is None:
            percentage = self.percentage_of_nodes_to_score
        to_find = num_feasible_nodes_to_find(percentage, n)
        if n == 0:
            return []
        start = self.next_start_node_index % n
        if not fwk.has_filter_plugins():
            return [nodes[(start + i) % n] for i in range(to_find)]
        feasible: list[NodeInfo] = []
        statuses = diagnosis.node_to_status
        run_filters = fwk.run_filter_plugins_with_nominated_pods
        nominator = fwk.handle.nominator
        if nominator is None or not nominator.nominated:
            # No pod is nominated anywhere (and none gets nominated while filtering):
            # RunFilterPluginsWithNominatedPods is then RunFilterPlugins, one call less.
            run_filters = fwk.run_filter_plugins
        # The scan wraps around: nodes[start:] then nodes[:start], stopping early.
        for ni in chain(islice(nodes, start, n), islice(nodes, 0, start)):
            s = run_filters(state, pod, ni)
            if s is None:
                feasible.append(ni)
                if len(feasible) >= to_find:
                    break
            elif s.code == Code.ERROR:
                raise RuntimeError(s.message())
            else:
                statuses[ni.name] = s
                diagnosis.unschedulable_plugins.add(s.plugin)
        return feasible

    def prioritize_nodes(
        self, fwk: Framework, state: CycleState, pod: Pod, nodes: list[NodeInfo]
    ) -> list[NodePluginScores]:
        if not fwk.has_score_plugins():
            return [NodePluginScores(ni.name, (), 1) for ni in nodes]
        s = fwk.run_pre_score_plugins(state, pod, nodes)
        if s is not None:
            raise RuntimeError(s.message())
        scores, s = fwk.run_score_plugins(state, pod, nodes)
        if s is not None:
            raise RuntimeError(s.message())
        return scores

    def select_host(self, scores: list[NodePluginScores]) -> str:
        """The highest total; among equal highest totals, one chosen uniformly at random.

        Upstream pops a heap and reservoir-samples only the nodes with the maximum
        score (one rand.Intn per tie). Drawing once among them gives each the same
        1/count chance with one call to the seeded rng instead of one per node.
        """
        top = max(ns.total_score for ns in scores)
        best = [ns for ns in scores if ns.total_score == top]
        if len(best) == 1:
            return best[0].name
        return best[self.rng.randrange(len(best))].name
