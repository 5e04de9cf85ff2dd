"""DefaultPreemption: make room for a pending pod by evicting lower-priority pods.

Mirrors pkg/scheduler/framework/preemption/preemption.go (Evaluator.Preempt,
findCandidates, DryRunPreemption, SelectCandidate, prepareCandidate,
nodesWherePreemptionMightHelp) and plugins/defaultpreemption/default_preemption.go
(PodEligibleToPreemptOthers, SelectVictimsOnNode, calculateNumCandidates,
pickOneNodeForPreemption). On each node it removes every lower-priority pod, checks the
pod fits, then reprieves victims from the most important down while it still fits.
Among candidates it picks: fewest PDB violations, lowest highest-victim priority,
lowest priority sum, fewest victims, latest start of the highest-priority victims.
Victims are deleted through handle.delete_pod (graceful delete in the running mode).
Omitted: PodDisruptionBudgets (miniapi has no policy/v1 PodDisruptionBudget kind, so
every candidate counts zero violations), extenders, async preemption.
"""

from __future__ import annotations

from datetime import UTC, datetime

from miniapi.core.v1 import Pod
from minischeduler.framework.cycle_state import CycleState
from minischeduler.framework.interface import Diagnosis, FitError, PostFilterResult
from minischeduler.framework.runtime import pod_priority
from minischeduler.framework.status import Code, Status
from minischeduler.framework.types import NodeInfo, PodInfo

MSG_NO_VICTIMS = "No preemption victims found for incoming pod"
MSG_NOT_HELPFUL = "Preemption is not helpful for scheduling"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_INT32 = 2**31 - 1


def _start_time(pod: Pod) -> datetime:
    return pod.status.start_time or pod.metadata.creation_timestamp or _EPOCH


def _more_important(a: Pod, b: Pod) -> bool:
    """MoreImportantPod: higher priority, then earlier start time."""
    pa, pb = pod_priority(a), pod_priority(b)
    if pa != pb:
        return pa > pb
    return _start_time(a) < _start_time(b)


class Candidate:
    def __init__(self, node: str, victims: list[Pod]) -> None:
        self.name = node
        self.victims = victims


class DefaultPreemption:
    name = "DefaultPreemption"

    def __init__(self, handle, args: dict | None = None) -> None:
        self.handle = handle
        args = args or {}
        self.min_candidate_nodes_percentage = int(args.get("minCandidateNodesPercentage", 10))
        self.min_candidate_nodes_absolute = int(args.get("minCandidateNodesAbsolute", 100))

    def post_filter(self, state: CycleState, pod: Pod, statuses: dict[str, Status]):
        ok, msg = self.pod_eligible_to_preempt_others(pod, statuses)
        if not ok:
            return None, Status(Code.UNSCHEDULABLE, msg)
        snap = self.handle.snapshot
        all_nodes = snap.list()
        potential = [
            ni
            for ni in all_nodes
            if ni.name not in statuses
            or statuses[ni.name].code != Code.UNSCHEDULABLE_AND_UNRESOLVABLE
        ]
        node_statuses: dict[str, Status] = {}
        helped = {ni.name for ni in potential}
        for ni in all_nodes:
            if ni.name not in helped:
                node_statuses[ni.name] = Status(
                    Code.UNSCHEDULABLE_AND_UNRESOLVABLE, MSG_NOT_HELPFUL
                )
        candidates = self.dry_run_preemption(state, pod, potential, node_statuses)
        if not candidates:
            fe = FitError(pod, len(all_nodes), Diagnosis(node_to_status=node_statuses))
            return PostFilterResult(""), Status(Code.UNSCHEDULABLE, "preemption: " + str(fe))
        best = self.select_candidate(candidates)
        self.prepare_candidate(best, pod)
        return PostFilterResult(best.name), None

    def pod_eligible_to_preempt_others(self, pod: Pod, statuses) -> tuple[bool, str]:
        if pod.spec.preemption_policy == "Never":
            return False, "not eligible due to preemptionPolicy=Never."
        nominated = pod.status.nominated_node_name
        if nominated:
            st = statuses.get(nominated)
            if st is not None and st.code == Code.UNSCHEDULABLE_AND_UNRESOLVABLE:
                return True, ""
            ni = self.handle.snapshot.node_info_map.get(nominated)
            prio = pod_priority(pod)
            if ni is not None:
                for pi in ni.pods:
                    p = pi.pod
                    if p.metadata.deletion_timestamp is not None and pod_priority(p) < prio:
                        return False, "not eligible due to a terminating pod on the nominated node."
        return True, ""

    def calculate_num_candidates(self, num_nodes: int) -> int:
        n = num_nodes * self.min_candidate_nodes_percentage // 100
        n = max(n, self.min_candidate_nodes_absolute)
        return min(n, num_nodes)

    def dry_run_preemption(self, state, pod, potential: list[NodeInfo], node_statuses):
        """Walk the potential nodes from a random offset until enough candidates."""
        if not potential:
            return []
        want = self.calculate_num_candidates(len(potential))
        offset = self.handle.rng.randrange(len(potential))
        candidates = []
        for i in range(len(potential)):
            ni = potential[(offset + i) % len(potential)]
            victims, status = self.select_victims_on_node(state.clone(), pod, ni.clone())
            if status is None and victims:
                candidates.append(Candidate(ni.name, victims))
                if len(candidates) >= want:
                    break
            else:
                node_statuses[ni.name] = status or Status(
                    Code.UNSCHEDULABLE_AND_UNRESOLVABLE, MSG_NO_VICTIMS
                )
        return candidates

    def select_victims_on_node(self, state: CycleState, pod: Pod, ni: NodeInfo):
        fwk = self.handle.framework
        prio = pod_priority(pod)
        potential = [pi for pi in ni.pods if pod_priority(pi.pod) < prio]
        if not potential:
            return [], Status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE, MSG_NO_VICTIMS)
        for pi in potential:
            ni.remove_pod(pi.pod)
            s = fwk.run_pre_filter_extension_remove_pod(state, pod, pi, ni)
            if s is not None:
                return [], s
        s = fwk.run_filter_plugins_with_nominated_pods(state, pod, ni)
        if s is not None:
            return [], s
        # Reprieve from the most important down: keep every pod that can stay.
        ordered = sorted(potential, key=_importance_key)
        victims = []
        for pi in ordered:
            ni.add_pod_info(pi)
            fwk.run_pre_filter_extension_add_pod(state, pod, pi, ni)
            if fwk.run_filter_plugins_with_nominated_pods(state, pod, ni) is not None:
                ni.remove_pod(pi.pod)
                fwk.run_pre_filter_extension_remove_pod(state, pod, pi, ni)
                victims.append(pi.pod)
        return victims, None

    def select_candidate(self, candidates: list[Candidate]) -> Candidate:
        """pickOneNodeForPreemption: the tie-breaks in upstream's order."""

        def highest(c):
            return max(pod_priority(v) for v in c.victims)

        def prio_sum(c):
            return sum(pod_priority(v) + _MAX_INT32 + 1 for v in c.victims)

        def earliest_of_highest(c):
            h = highest(c)
            return min(_start_time(v) for v in c.victims if pod_priority(v) == h)

        pool = candidates
        for key in (highest, prio_sum, lambda c: len(c.victims)):
            m = min(key(c) for c in pool)
            pool = [c for c in pool if key(c) == m]
            if len(pool) == 1:
                return pool[0]
        latest = max(earliest_of_highest(c) for c in pool)
        return next(c for c in pool if earliest_of_highest(c) == latest)

    def prepare_candidate(self, c: Candidate, pod: Pod) -> None:
        """Delete the victims; lower-priority pods nominated there lose the nomination."""
        for v in c.victims:
            if self.handle.delete_pod is not None:
                self.handle.delete_pod(v)
        nominator = self.handle.nominator
        if nominator is not None:
            prio = pod_priority(pod)
            for p in list(nominator.nominated_pods_for_node(c.name)):
                if pod_priority(p.pod) < prio:
                    nominator.delete_nominated_pod_if_exists(p.pod)


def _importance_key(pi: PodInfo):
    return (-pod_priority(pi.pod), _start_time(pi.pod))
