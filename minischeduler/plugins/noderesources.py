"""NodeResourcesFit (filter + three scoring strategies) and NodeResourcesBalancedAllocation.

Mirrors pkg/scheduler/framework/plugins/noderesources/ (fit.go, resource_allocation.go,
least_allocated.go, most_allocated.go, requested_to_capacity_ratio.go,
balanced_allocation.go). Formulas, Go integer arithmetic:
  LeastAllocated   per resource (cap - req) * 100 / cap, weighted mean (integer division)
  MostAllocated    per resource min(req, cap) * 100 / cap, weighted mean
  RequestedToCapacityRatio  broken-linear shape over req * 100 / cap, round(weighted mean)
  BalancedAllocation  (1 - std(req_i / alloc_i)) * 100, truncated
Fit and the allocated strategies count a container without cpu/memory requests as
100m/200Mi; BalancedAllocation uses the real requests and skips best-effort pods.
Queueing hints (NodeResourcesFit): a deleted assigned pod, an assigned pod (or the pod
itself) whose requests for something this pod asks for shrank, a node added that the pod
fits, or a node whose allocatable grew in a resource the pod requests (or in pods).
Omitted: ignoredResourceGroups, DRA extended resources, pod-level resources.
"""

from __future__ import annotations

import math

from miniapi.core.v1 import Pod
from minischeduler.framework.cycle_state import CycleState
from minischeduler.framework.interface import unschedulable
from minischeduler.framework.status import MAX_NODE_SCORE, Code, Status
from minischeduler.framework.types import (
    CPU,
    EPHEMERAL_STORAGE,
    MEMORY,
    NodeInfo,
    Resource,
    compute_pod_resource_request,
)
from minischeduler.internal.events import (
    ADD,
    DELETE,
    NODE,
    POD,
    QUEUE,
    QUEUE_SKIP,
    UPDATE_NODE_ALLOCATABLE,
    UPDATE_POD_SCALE_DOWN,
    ClusterEvent,
    ClusterEventWithHint,
    QueueingHint,
)

LEAST_ALLOCATED = "LeastAllocated"
MOST_ALLOCATED = "MostAllocated"
REQUESTED_TO_CAPACITY_RATIO = "RequestedToCapacityRatio"
MAX_CUSTOM_PRIORITY_SCORE = 10  # shape scores are 0..10, scaled to 0..100
MAX_UTILIZATION = 100
DEFAULT_RESOURCES = [{"name": CPU, "weight": 1}, {"name": MEMORY, "weight": 1}]
_FIT_KEY = "PreFilterNodeResourcesFit"


def fits_request(pod_request: Resource, ni: NodeInfo, ignored: set[str]) -> list[str]:
    """fitsRequest: the reasons, "Too many pods" first, then "Insufficient <name>"."""
    reasons = []
    alloc, req = ni.allocatable, ni.requested
    if len(ni.pods) + 1 > alloc.allowed_pod_number:
        reasons.append("Too many pods")
    if pod_request.milli_cpu > 0 and pod_request.milli_cpu > alloc.milli_cpu - req.milli_cpu:
        reasons.append("Insufficient cpu")
    if pod_request.memory > 0 and pod_request.memory > alloc.memory - req.memory:
        reasons.append("Insufficient memory")
    if (
        pod_request.ephemeral_storage > 0
        and pod_request.ephemeral_storage > alloc.ephemeral_storage - req.ephemeral_storage
    ):
        reasons.append("Insufficient ephemeral-storage")
    if not pod_request.scalar_resources:
        return reasons
    for name, quant in sorted(pod_request.scalar_resources.items()):
        if quant == 0 or name in ignored:
            continue
        if quant > alloc.scalar_resources.get(name, 0) - req.scalar_resources.get(name, 0):
            reasons.append(f"Insufficient {name}")
    return reasons


def _shrank(target: Resource, before: Resource, after: Resource) -> bool:
    """Did any resource the target pod requests get smaller from before to after?"""
    if target.milli_cpu and before.milli_cpu > after.milli_cpu:
        return True
    if target.memory and before.memory > after.memory:
        return True
    if target.ephemeral_storage and before.ephemeral_storage > after.ephemeral_storage:
        return True
    return any(
        q and before.scalar_resources.get(name, 0) > after.scalar_resources.get(name, 0)
        for name, q in target.scalar_resources.items()
    )


def is_schedulable_after_pod_scale_down(target: Pod, old: Pod, new: Pod) -> bool:
    """isSchedulableAfterPodScaleDown: the pod itself, or an assigned pod giving back room."""
    if new.metadata.uid == target.metadata.uid:
        return True
    if not new.spec.node_name:
        return False
    return _shrank(
        compute_pod_resource_request(target),
        compute_pod_resource_request(old),
        compute_pod_resource_request(new),
    )


def have_any_requested_resources_increased(pod: Pod, old, new) -> bool:
    """haveAnyRequestedResourcesIncreased: more pods allowed, or more of a requested resource."""
    before, after = NodeInfo(old).allocatable, NodeInfo(new).allocatable
    if after.allowed_pod_number > before.allowed_pod_number:
        return True
    # "Increased" is "the reverse shrank": swap before and after.
    return _shrank(compute_pod_resource_request(pod), after, before)


def least_requested_score(requested: int, capacity: int) -> int:
    if capacity == 0 or requested > capacity:
        return 0
    return (capacity - requested) * MAX_NODE_SCORE // capacity


def most_requested_score(requested: int, capacity: int) -> int:
    if capacity == 0:
        return 0
    return min(requested, capacity) * MAX_NODE_SCORE // capacity


def go_div(a: int, b: int) -> int:
    """Go's integer division truncates toward zero; Python's // floors."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def broken_linear(shape: list[tuple[int, int]]):
    """buildBrokenLinearFunction over (utilization, score) points, Go integer math."""

    def f(p: int) -> int:
        for i, (u, s) in enumerate(shape):
            if p <= u:
                if i == 0:
                    return shape[0][1]
                pu, ps = shape[i - 1]
                return ps + go_div((s - ps) * (p - pu), u - pu)
        return shape[-1][1]

    return f


class _Scorer:
    """resourceAllocationScorer: per-resource (requested, allocatable) → one score."""

    def __init__(self, resources: list[dict], use_requested: bool) -> None:
        self.resources = [(r["name"], int(r.get("weight", 1))) for r in resources]
        self.use_requested = use_requested
        # The default resource list (cpu, memory) takes a shorter path: this runs per node.
        self.cpu_memory = [n for n, _ in self.resources] == [CPU, MEMORY]

    def pod_requests(self, pod: Pod) -> list[int]:
        r = compute_pod_resource_request(pod, non_zero=not self.use_requested)
        return [r.get(name) for name, _ in self.resources]

    def alloc_req(self, ni: NodeInfo, pod_requests: list[int]):
        """(requested incl. this pod, allocatable, weight) per resource the node has."""
        base = ni.requested if self.use_requested else ni.non_zero_requested
        allocatable = ni.allocatable
        if self.cpu_memory:
            (_, wc), (_, wm) = self.resources
            out = []
            if allocatable.milli_cpu:
                out.append((base.milli_cpu + pod_requests[0], allocatable.milli_cpu, wc))
            if allocatable.memory:
                out.append((base.memory + pod_requests[1], allocatable.memory, wm))
            return out
        out = []
        for (name, weight), pr in zip(self.resources, pod_requests):  # noqa: B905
            if name == CPU:
                alloc, used = allocatable.milli_cpu, base.milli_cpu
            elif name == MEMORY:
                alloc, used = allocatable.memory, base.memory
            elif name == EPHEMERAL_STORAGE or pr != 0:
                alloc, used = allocatable.get(name), base.get(name)
            else:
                continue  # a scalar resource the pod does not ask for does not count
            if alloc:
                out.append((used + pr, alloc, weight))
        return out


class NodeResourcesFit:
    """Filter: does the pod's request fit? Score: by the configured strategy."""

    name = "NodeResourcesFit"

    def __init__(self, args: dict | None = None) -> None:
        args = args or {}
        self.ignored = set(args.get("ignoredResources", []))
        strategy = args.get("scoringStrategy") or {}
        self.strategy = strategy.get("type", LEAST_ALLOCATED)
        self.scorer = _Scorer(strategy.get("resources") or DEFAULT_RESOURCES, False)
        self.least_cpu_memory = self.strategy == LEAST_ALLOCATED and self.scorer.cpu_memory
        shape = (strategy.get("requestedToCapacityRatio") or {}).get("shape") or [
            {"utilization": 0, "score": 10},
            {"utilization": 100, "score": 0},
        ]
        scale = MAX_NODE_SCORE // MAX_CUSTOM_PRIORITY_SCORE
        self.shape_fn = broken_linear(
            [(int(p["utilization"]), int(p["score"]) * scale) for p in shape]
        )

    def pre_filter(self, state: CycleState, pod: Pod):
        state.write(_FIT_KEY, compute_pod_resource_request(pod))
        return None, None

    def events_to_register(self) -> list[ClusterEventWithHint]:
        # In-place resize counts as enabled: a scaled-down pod frees resources.
        return [
            ClusterEventWithHint(
                ClusterEvent(POD, DELETE | UPDATE_POD_SCALE_DOWN),
                self.is_schedulable_after_pod_event,
            ),
            ClusterEventWithHint(
                ClusterEvent(NODE, ADD | UPDATE_NODE_ALLOCATABLE),
                self.is_schedulable_after_node_change,
            ),
        ]

    def is_schedulable_after_pod_event(self, pod: Pod, old, new) -> QueueingHint:
        """isSchedulableAfterPodEvent: a deleted or scaled-down pod may free room."""
        if new is None:
            return QUEUE if old.spec.node_name else QUEUE_SKIP
        return QUEUE if is_schedulable_after_pod_scale_down(pod, old, new) else QUEUE_SKIP

    def is_schedulable_after_node_change(self, pod: Pod, old, new) -> QueueingHint:
        """isSchedulableAfterNodeChange: the pod fits the empty node, and it is new or grew."""
        if fits_request(compute_pod_resource_request(pod), NodeInfo(new), set()):
            return QUEUE_SKIP
        if old is None:
            return QUEUE
        return QUEUE if have_any_requested_resources_increased(pod, old, new) else QUEUE_SKIP

    def filter(self, state: CycleState, pod: Pod, ni: NodeInfo) -> Status | None:
        reasons = fits_request(state.read(_FIT_KEY), ni, self.ignored)
        return unschedulable(*reasons) if reasons else None

    def pre_score(self, state: CycleState, pod: Pod, nodes) -> Status | None:
        state.write("PreScoreNodeResourcesFit", self.scorer.pod_requests(pod))
        return None

    def score(self, state: CycleState, pod: Pod, ni: NodeInfo) -> tuple[int, Status | None]:
        try:
            pod_requests = state.read("PreScoreNodeResourcesFit")
        except KeyError:
            pod_requests = self.scorer.pod_requests(pod)
        if self.least_cpu_memory:
            return self._least_allocated_cpu_memory(ni, pod_requests), None
        triples = self.scorer.alloc_req(ni, pod_requests)
        if self.strategy == REQUESTED_TO_CAPACITY_RATIO:
            return self._rtc(triples), None
        fn = most_requested_score if self.strategy == MOST_ALLOCATED else least_requested_score
        node_score = weight_sum = 0
        for req, alloc, weight in triples:
            node_score += fn(req, alloc) * weight
            weight_sum += weight
        return (node_score // weight_sum if weight_sum else 0), None

    def _least_allocated_cpu_memory(self, ni: NodeInfo, pod_requests: list[int]) -> int:
        """The default configuration's score, the loop below unrolled: it runs per node."""
        alloc, base = ni.allocatable, ni.non_zero_requested
        (_, wc), (_, wm) = self.scorer.resources
        node_score = weight_sum = 0
        cap = alloc.milli_cpu
        if cap:
            req = base.milli_cpu + pod_requests[0]
            node_score += (0 if req > cap else (cap - req) * MAX_NODE_SCORE // cap) * wc
            weight_sum += wc
        cap = alloc.memory
        if cap:
            req = base.memory + pod_requests[1]
            node_score += (0 if req > cap else (cap - req) * MAX_NODE_SCORE // cap) * wm
            weight_sum += wm
        return node_score // weight_sum if weight_sum else 0

    def _rtc(self, triples) -> int:
        node_score = weight_sum = 0
        for req, alloc, weight in triples:
            if req > alloc:
                s = self.shape_fn(MAX_UTILIZATION)
            else:
                s = self.shape_fn(req * MAX_UTILIZATION // alloc)
            node_score += s * weight
            weight_sum += weight
        if weight_sum == 0:
            return 0
        return _go_round(node_score / weight_sum)


def _go_round(x: float) -> int:
    """math.Round: half away from zero (Python's round() is half to even)."""
    return int(math.floor(x + 0.5)) if x >= 0 else -int(math.floor(-x + 0.5))


def balanced_resource_scorer(requested: list[int], allocatable: list[int]) -> int:
    fractions = []
    for req, alloc in zip(requested, allocatable, strict=True):
        if alloc == 0:
            continue
        fractions.append(min(req / alloc, 1.0))
    std = 0.0
    if len(fractions) == 2:
        std = abs((fractions[0] - fractions[1]) / 2)
    elif len(fractions) > 2:
        mean = sum(fractions) / len(fractions)
        std = math.sqrt(sum((f - mean) ** 2 for f in fractions) / len(fractions))
    return int((1 - std) * MAX_NODE_SCORE)


class NodeResourcesBalancedAllocation:
    """Prefer nodes whose cpu and memory fractions stay close to each other."""

    name = "NodeResourcesBalancedAllocation"

    def __init__(self, args: dict | None = None) -> None:
        self.scorer = _Scorer((args or {}).get("resources") or DEFAULT_RESOURCES, True)

    def pre_score(self, state: CycleState, pod: Pod, nodes) -> Status | None:
        reqs = self.scorer.pod_requests(pod)
        if not any(reqs):
            # Best-effort pods would all pile onto the same node otherwise (issue 129138).
            return Status(Code.SKIP)
        state.write("PreScoreNodeResourcesBalancedAllocation", reqs)
        return None

    def score(self, state: CycleState, pod: Pod, ni: NodeInfo) -> tuple[int, Status | None]:
        try:
            reqs = state.read("PreScoreNodeResourcesBalancedAllocation")
        except KeyError:
            reqs = self.scorer.pod_requests(pod)
            if not any(reqs):
                return 0, None
        alloc = ni.allocatable
        if self.scorer.cpu_memory and alloc.milli_cpu and alloc.memory:
            # balanced_resource_scorer for exactly two fractions, unrolled: it runs per node.
            base = ni.requested
            f_cpu = min((base.milli_cpu + reqs[0]) / alloc.milli_cpu, 1.0)
            f_mem = min((base.memory + reqs[1]) / alloc.memory, 1.0)
            return int((1 - abs((f_cpu - f_mem) / 2)) * MAX_NODE_SCORE), None
        triples = self.scorer.alloc_req(ni, reqs)
        return balanced_resource_scorer([t[0] for t in triples], [t[1] for t in triples]), None
