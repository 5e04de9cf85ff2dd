"""The plugin runner: one Framework per profile, calling plugins per extension point.

Mirrors pkg/scheduler/framework/runtime/framework.go (frameworkImpl: RunPreFilterPlugins,
RunFilterPlugins, RunFilterPluginsWithNominatedPods, RunPostFilterPlugins,
RunPreScorePlugins, RunScorePlugins, RunReservePlugins*, RunPermitPlugins,
RunPreBindPlugins, RunBindPlugins, RunPostBindPlugins, fillEventToPluginMap: the
profile's queueing-hint registrations) and waiting_pods_map.go.
Scores: each plugin's raw scores, then NormalizeScore, then × weight, summed per node.
Omitted: metrics, parallelism (nodes are walked in order), extenders.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from miniapi.core.v1 import Pod
from minischeduler.framework.cycle_state import CycleState
from minischeduler.framework.interface import (
    NodePluginScores,
    NodeScore,
    PluginScore,
    PostFilterResult,
    PreFilterResult,
)
from minischeduler.framework.status import (
    MAX_NODE_SCORE,
    MIN_NODE_SCORE,
    Code,
    Status,
    code_of,
)
from minischeduler.framework.types import NodeInfo, PodInfo
from minischeduler.internal.events import WILDCARD_EVENT

EXTENSION_POINTS = {
    # extension point -> method a plugin must have to sit there
    "preEnqueue": "pre_enqueue",
    "queueSort": "less",
    "preFilter": "pre_filter",
    "filter": "filter",
    "postFilter": "post_filter",
    "preScore": "pre_score",
    "score": "score",
    "reserve": "reserve",
    "permit": "permit",
    "preBind": "pre_bind",
    "bind": "bind",
    "postBind": "post_bind",
}
MAX_PERMIT_TIMEOUT = 15 * 60.0


@dataclass
class Explain:
    """Beyond upstream: what one attempt saw, for `minischeduler explain`."""

    pod: str = ""
    filters: dict[str, dict[str, str]] = field(default_factory=dict)  # node -> plugin -> verdict
    raw_scores: dict[str, dict[str, int]] = field(default_factory=dict)  # plugin -> node -> raw
    normalized: dict[str, dict[str, int]] = field(default_factory=dict)
    weights: dict[str, int] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)
    winner: str = ""
    message: str = ""


class WaitingPod:
    """waitingPod: a pod a Permit plugin parked, with a deadline per plugin."""

    def __init__(self, pod: Pod, deadlines: dict[str, float], timeouts: dict[str, float]) -> None:
        self.pod = pod
        self.pending = dict(deadlines)
        self.timeouts = timeouts
        self.result: Status | None = Status(Code.WAIT)

    def allow(self, plugin: str) -> None:
        self.pending.pop(plugin, None)
        if not self.pending and self.result is not None and self.result.code == Code.WAIT:
            self.result = None

    def reject(self, plugin: str, msg: str) -> None:
        self.result = Status(Code.UNSCHEDULABLE, msg, plugin=plugin)

    def expire(self, now: float) -> None:
        """The timer of upstream's newWaitingPod, driven by an injected clock."""
        for plugin, deadline in sorted(self.pending.items()):
            if now >= deadline and self.result is not None and self.result.code == Code.WAIT:
                waited = self.timeouts[plugin]
                shown = f"{int(waited)}s" if waited == int(waited) else f"{waited}s"
                self.reject(
                    plugin, f"rejected due to timeout after waiting {shown} at plugin {plugin}"
                )


class Handle:
    """framework.Handle: what plugins may reach besides the pod and node."""

    def __init__(self) -> None:
        self.snapshot: Any = None
        self.namespace_labels: dict[str, dict[str, str]] = {}
        self.services: dict[str, Any] = {}  # namespace/name -> Service
        self.nominator: Any = None
        self.delete_pod: Callable[[Pod], None] | None = None
        self.bind_pod: Callable[[Pod, str], Status | None] | None = None
        self.waiting_pods: dict[str, WaitingPod] = {}
        self.framework: Framework | None = None
        self.rng: Any = None


class Framework:
    """frameworkImpl for one profile: plugins per extension point and score weights."""

    def __init__(
        self,
        profile_name: str,
        points: dict[str, list[Any]],
        weights: dict[str, int],
        handle: Handle,
        percentage_of_nodes_to_score: int | None = None,
    ) -> None:
        self.profile_name = profile_name
        self.points = points
        self.weights = weights
        self.handle = handle
        self.percentage_of_nodes_to_score = percentage_of_nodes_to_score
        handle.framework = self
        self.explain: Explain | None = None
        self.post_filter_names = [p.name for p in points.get("postFilter", [])]

    def plugins(self, point: str) -> list[Any]:
        return self.points.get(point, [])

    def has_filter_plugins(self) -> bool:
        return bool(self.plugins("filter"))

    def has_score_plugins(self) -> bool:
        return bool(self.plugins("score"))

    def events_to_register(self) -> list[tuple[Any, str, Callable | None]]:
        """The queueing-hint registrations of this profile (fillEventToPluginMap).

        Only plugins that can reject a pod count (PreEnqueue, PreFilter, Filter, Reserve,
        Permit). A plugin without `events_to_register` is registered for every event
        with no hint, i.e. always Queue, as upstream does for plugins that do not
        implement EnqueueExtensions.
        """
        out: list[tuple[Any, str, Callable | None]] = []
        seen: set[str] = set()
        for point in ("preEnqueue", "preFilter", "filter", "reserve", "permit"):
            for pl in self.plugins(point):
                if pl.name in seen:
                    continue
                seen.add(pl.name)
                regs = pl.events_to_register() if hasattr(pl, "events_to_register") else None
                for r in regs if regs is not None else [WILDCARD_EVENT]:
                    out.append((r.event, pl.name, r.queueing_hint_fn))
        return out

    def queue_sort_less(self) -> Callable[[Any, Any], bool]:
        return self.plugins("queueSort")[0].less

    def run_pre_enqueue_plugins(self, pod: Pod) -> Status | None:
        for pl in self.plugins("preEnqueue"):
            s = pl.pre_enqueue(pod)
            if s is not None and s.code != Code.SUCCESS:
                return s.with_plugin(pl.name)
        return None

    def run_pre_filter_plugins(
        self, state: CycleState, pod: Pod
    ) -> tuple[PreFilterResult | None, Status | None, set[str]]:
        """The merged node set, the rejection (if any), and the plugins that narrowed it.

        Unschedulable does not stop the loop: the later PreFilters still write the state
        that preemption's Filter calls read (kubernetes issue 119770).
        UnschedulableAndUnresolvable does, since preemption cannot help then.
        """
        result: PreFilterResult | None = None
        rejected: Status | None = None
        with_nodes: set[str] = set()
        for pl in self.plugins("preFilter"):
            r, s = pl.pre_filter(state, pod)
            code = code_of(s)
            if code == Code.SKIP:
                state.skip_filter_plugins.add(pl.name)
                continue
            if code != Code.SUCCESS:
                s.with_plugin(pl.name)
                if code == Code.UNSCHEDULABLE_AND_UNRESOLVABLE:
                    return None, s, set()
                if code == Code.UNSCHEDULABLE:
                    rejected = s
                    continue
                msg = f'running PreFilter plugin "{pl.name}": ' + s.message()
                return None, Status(Code.ERROR, msg, plugin=pl.name), set()
            if r is not None and not r.all_nodes():
                with_nodes.add(pl.name)
            result = (result or PreFilterResult()).merge(r)
            if not result.all_nodes() and not result.node_names:
                names = sorted(with_nodes)
                msg = f"node(s) didn't satisfy plugin(s) [{' '.join(names)}] simultaneously"
                if len(names) == 1:
                    msg = f"node(s) didn't satisfy plugin {names[0]}"
                # Nodes a PreFilterResult leaves out count as UnschedulableAndUnresolvable.
                return result, Status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE, msg), with_nodes
        return result, rejected, with_nodes

    def run_pre_filter_extension_add_pod(
        self, state: CycleState, pod: Pod, pi: PodInfo, ni: NodeInfo
    ) -> Status | None:
        for pl in self.plugins("preFilter"):
            if pl.name in state.skip_filter_plugins or not hasattr(pl, "add_pod"):
                continue
            s = pl.add_pod(state, pod, pi, ni)
            if code_of(s) != Code.SUCCESS:
                return s
        return None

    def run_pre_filter_extension_remove_pod(
        self, state: CycleState, pod: Pod, pi: PodInfo, ni: NodeInfo
    ) -> Status | None:
        for pl in self.plugins("preFilter"):
            if pl.name in state.skip_filter_plugins or not hasattr(pl, "remove_pod"):
                continue
            s = pl.remove_pod(state, pod, pi, ni)
            if code_of(s) != Code.SUCCESS:
                return s
        return None

    def run_filter_plugins(self, state: CycleState, pod: Pod, ni: NodeInfo) -> Status | None:
        """The first non-success status, tagged with its plugin; None if all pass."""
        active = state.active_filters
        if active is None:
            # Resolved once per cycle, after PreFilter decided which plugins to skip.
            skip = state.skip_filter_plugins
            active = [(pl.name, pl.filter) for pl in self.plugins("filter") if pl.name not in skip]
            state.active_filters = active
        if self.explain is not None:
            return self._run_filter_plugins_explained(active, state, pod, ni)
        for name, run in active:
            s = run(state, pod, ni)
            if s is not None and s.code != Code.SUCCESS:
                if not s.is_rejected():
                    return Status(Code.ERROR, s.message(), plugin=name)
                return s.with_plugin(name)
        return None

    def _run_filter_plugins_explained(
        self, active: list, state: CycleState, pod: Pod, ni: NodeInfo
    ) -> Status | None:
        """run_filter_plugins, also recording each plugin's verdict for `explain`."""
        assert self.explain is not None
        explain = self.explain.filters.setdefault(ni.name, {})
        for name, run in active:
            s = run(state, pod, ni)
            if s is not None and s.code != Code.SUCCESS:
                explain[name] = s.message()
                if not s.is_rejected():
                    return Status(Code.ERROR, s.message(), plugin=name)
                return s.with_plugin(name)
            explain[name] = "passed"
        return None

    def run_filter_plugins_with_nominated_pods(
        self, state: CycleState, pod: Pod, ni: NodeInfo
    ) -> Status | None:
        """Filter twice when pods of ≥ priority are nominated here: with them, then without.

        Both must pass: the nominated pods may or may not land here after all.
        """
        nominator = self.handle.nominator
        if nominator is None or not nominator.nominated:
            return self.run_filter_plugins(state, pod, ni)
        nominated = nominator.nominated_pods_for_node(ni.name)
        prio = pod_priority(pod)
        nominated = [
            p
            for p in nominated
            if pod_priority(p.pod) >= prio and p.pod.metadata.uid != pod.metadata.uid
        ]
        if nominated:
            state2 = state.clone()
            ni2 = ni.clone()
            for p in nominated:
                ni2.add_pod_info(p)
                s = self.run_pre_filter_extension_add_pod(state2, pod, p, ni2)
                if s is not None:
                    return s
            s = self.run_filter_plugins(state2, pod, ni2)
            if s is not None:
                return s
        return self.run_filter_plugins(state, pod, ni)

    def run_post_filter_plugins(
        self, state: CycleState, pod: Pod, statuses: dict[str, Status]
    ) -> tuple[PostFilterResult | None, Status]:
        reasons: list[str] = []
        result = None
        for pl in self.plugins("postFilter"):
            r, s = pl.post_filter(state, pod, statuses)
            if code_of(s) == Code.SUCCESS:
                return r, Status(Code.SUCCESS)
            if not s.is_rejected():
                return None, s.with_plugin(pl.name)
            reasons.extend(s.reasons)
            result = r if r is not None else result
        return result, Status(Code.UNSCHEDULABLE, *reasons)

    def run_pre_score_plugins(
        self, state: CycleState, pod: Pod, nodes: list[NodeInfo]
    ) -> Status | None:
        for pl in self.plugins("preScore"):
            s = pl.pre_score(state, pod, nodes)
            code = code_of(s)
            if code == Code.SKIP:
                state.skip_score_plugins.add(pl.name)
            elif code != Code.SUCCESS:
                return Status(Code.ERROR, f'running PreScore plugin "{pl.name}": ' + s.message())
        return None

    def run_score_plugins(
        self, state: CycleState, pod: Pod, nodes: list[NodeInfo]
    ) -> tuple[list[NodePluginScores], Status | None]:
        """Score, normalize, check [0, 100], multiply by weight; totals per node.

        Per-plugin weighted scores are kept on NodePluginScores only while explaining:
        selecting the host needs the totals alone, and this loop is the hot path.
        """
        totals = [0] * len(nodes)
        per_plugin: list[list[PluginScore]] = [[] for _ in nodes] if self.explain else []
        for pl in self.plugins("score"):
            if pl.name in state.skip_score_plugins:
                continue
            values, s = self._run_score_plugin(pl, state, pod, nodes)
            if s is not None:
                return [], s
            weight = self.weights.get(pl.name, 1)
            totals = [t + v * weight for t, v in zip(totals, values)]  # noqa: B905
            if self.explain is not None:
                for ps, v in zip(per_plugin, values, strict=True):
                    ps.append(PluginScore(pl.name, v * weight))
                self.explain.normalized[pl.name] = {
                    ni.name: v for ni, v in zip(nodes, values, strict=True)
                }
                self.explain.weights[pl.name] = weight
        if not per_plugin:
            return [NodePluginScores(ni.name, (), t) for ni, t in zip(nodes, totals)], None  # noqa: B905
        return [
            NodePluginScores(ni.name, tuple(ps), t)
            for ni, ps, t in zip(nodes, per_plugin, totals, strict=True)
        ], None

    def _run_score_plugin(
        self, pl: Any, state: CycleState, pod: Pod, nodes: list[NodeInfo]
    ) -> tuple[list[int], Status | None]:
        """One plugin's scores for every node, normalized and range-checked."""
        score = pl.score
        # Comprehensions rather than a loop with appends: this is nodes × plugins calls.
        results = [score(state, pod, ni) for ni in nodes]
        failed = [s for _, s in results if s is not None and s.code != Code.SUCCESS]
        if failed:
            return [], Status(Code.ERROR, failed[0].message(), plugin=pl.name)
        values = [v for v, _ in results]
        if self.explain is not None:
            self.explain.raw_scores[pl.name] = {
                ni.name: v for ni, v in zip(nodes, values, strict=True)
            }
        if hasattr(pl, "normalize_score"):
            scores = [NodeScore(ni.name, v) for ni, v in zip(nodes, values, strict=True)]
            s = pl.normalize_score(state, pod, scores)
            if code_of(s) != Code.SUCCESS:
                return [], Status(Code.ERROR, s.message(), plugin=pl.name)
            values = [ns.score for ns in scores]
        if min(values) < MIN_NODE_SCORE or max(values) > MAX_NODE_SCORE:
            bad = next(v for v in values if not MIN_NODE_SCORE <= v <= MAX_NODE_SCORE)
            msg = (
                f"plugin {pl.name!r} returns an invalid score {bad}, it should "
                f"in the range of [{MIN_NODE_SCORE}, {MAX_NODE_SCORE}] after normalizing"
            )
            return [], Status(Code.ERROR, msg)
        return values, None

    def run_reserve_plugins_reserve(self, state: CycleState, pod: Pod, node: str) -> Status | None:
        for pl in self.plugins("reserve"):
            s = pl.reserve(state, pod, node)
            if code_of(s) != Code.SUCCESS:
                return s.with_plugin(pl.name)
        return None

    def run_reserve_plugins_unreserve(self, state: CycleState, pod: Pod, node: str) -> None:
        # Reverse order, so a plugin undoes its reservation after the ones that followed it.
        for pl in reversed(self.plugins("reserve")):
            pl.unreserve(state, pod, node)

    def run_permit_plugins(
        self, state: CycleState, pod: Pod, node: str, now: float
    ) -> Status | None:
        """Allow (None), reject, or Wait: then the pod is parked in handle.waiting_pods."""
        deadlines: dict[str, float] = {}
        timeouts: dict[str, float] = {}
        for pl in self.plugins("permit"):
            s, timeout = pl.permit(state, pod, node)
            code = code_of(s)
            if code == Code.WAIT:
                timeouts[pl.name] = min(timeout, MAX_PERMIT_TIMEOUT)
                deadlines[pl.name] = now + timeouts[pl.name]
            elif code != Code.SUCCESS:
                return s.with_plugin(pl.name)
        if deadlines:
            self.handle.waiting_pods[pod.metadata.uid] = WaitingPod(pod, deadlines, timeouts)
            return Status(
                Code.WAIT,
                f'one or more plugins asked to wait and no plugin rejected pod "{pod.metadata.name}"',
            )
        return None

    def run_pre_bind_plugins(self, state: CycleState, pod: Pod, node: str) -> Status | None:
        for pl in self.plugins("preBind"):
            s = pl.pre_bind(state, pod, node)
            if code_of(s) != Code.SUCCESS:
                return s.with_plugin(pl.name)
        return None

    def run_bind_plugins(self, state: CycleState, pod: Pod, node: str) -> Status | None:
        """The first binder that does not Skip decides."""
        for pl in self.plugins("bind"):
            s = pl.bind(state, pod, node)
            if code_of(s) == Code.SKIP:
                continue
            return s
        return Status(Code.SKIP)

    def run_post_bind_plugins(self, state: CycleState, pod: Pod, node: str) -> None:
        for pl in self.plugins("postBind"):
            pl.post_bind(state, pod, node)


def pod_priority(pod: Pod) -> int:
    """corev1helpers.PodPriority: spec.priority, 0 when unset."""
    return pod.spec.priority if pod.spec.priority is not None else 0
