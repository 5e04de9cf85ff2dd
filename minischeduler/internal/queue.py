"""The scheduling queue: activeQ, backoffQ and the unschedulable pods, plus the nominator.

Mirrors pkg/scheduler/internal/queue/scheduling_queue.go (PriorityQueue: Add, Pop,
AddUnschedulableIfNotPresent, flushBackoffQCompleted, flushUnschedulablePodsLeftover,
MoveAllToActiveOrBackoffQueue, Update, Delete, calculateBackoffDuration) and
nominator.go. activeQ is a heap ordered by the QueueSort plugin; a pod that failed
waits in backoffQ for 1 s doubling per attempt up to 10 s, or among the unschedulable
pods until a cluster event that could help it or 5 minutes pass. Whether an event
helps is decided per pod by queueing hints (isPodWorthRequeuing): only the hints that
the pod's rejecting plugins registered for a matching event are asked; one Queue
moves the pod (an exception in a hint counts as Queue, as upstream treats an error);
a pod that no plugin rejected (an error) always moves.
The clock is injected (`clock()` returns seconds); nothing here sleeps.
Omitted: in-flight event replay (an event during a pod's cycle sends it to backoffQ,
upstream's behaviour without SchedulingQueueHint), metrics.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable

from miniapi.core.v1 import Pod
from minischeduler.framework.types import PodInfo, pod_key
from minischeduler.internal.events import (
    QUEUE,
    QUEUE_SKIP,
    UNSCHEDULABLE_TIMEOUT,
    ClusterEvent,
    pod_scheduling_properties_change,
)

DEFAULT_POD_INITIAL_BACKOFF = 1.0
DEFAULT_POD_MAX_BACKOFF = 10.0
DEFAULT_POD_MAX_IN_UNSCHEDULABLE_PODS_DURATION = 5 * 60.0
DEFAULT_SCHEDULER_NAME = "default-scheduler"
SCHEDULING_GATES = "SchedulingGates"

# queueingStrategy: what isPodWorthRequeuing decided for one pod and one event.
QUEUE_STRATEGY_SKIP, QUEUE_AFTER_BACKOFF, QUEUE_IMMEDIATELY = 0, 1, 2
ACTIVE_Q, BACKOFF_Q, UNSCHEDULABLE_PODS = "activeQ", "backoffQ", "unschedulablePods"

# QueueingHintMap per profile: (event, plugin name, hint fn or None) registrations.
QueueingHintMap = dict[str, list[tuple[ClusterEvent, str, Callable | None]]]


class QueuedPodInfo:
    """QueuedPodInfo: the pod, when it was queued, and how often it was tried."""

    def __init__(self, pod: Pod, now: float) -> None:
        self.pod_info = PodInfo(pod)
        self.timestamp = now
        self.initial_attempt_timestamp: float | None = None
        self.attempts = 0
        self.unschedulable_plugins: set[str] = set()
        self.pending_plugins: set[str] = set()
        self.gated = False

    @property
    def pod(self) -> Pod:
        return self.pod_info.pod


class _Heap:
    """A keyed heap with lazy deletion (upstream's heap.Heap keyed by pod)."""

    def __init__(self, less: Callable[[QueuedPodInfo, QueuedPodInfo], bool]) -> None:
        less_fn = less

        class Entry:
            __slots__ = ("qpi", "seq")

            def __init__(self, qpi, seq):
                self.qpi, self.seq = qpi, seq

            def __lt__(self, other):
                if less_fn(self.qpi, other.qpi):
                    return True
                if less_fn(other.qpi, self.qpi):
                    return False
                return self.seq < other.seq

        self._entry = Entry
        self._heap: list = []
        self._live: dict[str, object] = {}
        self._seq = itertools.count()

    def add(self, qpi: QueuedPodInfo) -> None:
        self.delete(pod_key(qpi.pod))
        e = self._entry(qpi, next(self._seq))
        self._live[pod_key(qpi.pod)] = e
        heapq.heappush(self._heap, e)

    def delete(self, key: str) -> QueuedPodInfo | None:
        e = self._live.pop(key, None)
        return e.qpi if e is not None else None

    def get(self, key: str) -> QueuedPodInfo | None:
        e = self._live.get(key)
        return e.qpi if e is not None else None

    def peek(self) -> QueuedPodInfo | None:
        while self._heap and self._live.get(pod_key(self._heap[0].qpi.pod)) is not self._heap[0]:
            heapq.heappop(self._heap)
        return self._heap[0].qpi if self._heap else None

    def pop(self) -> QueuedPodInfo | None:
        top = self.peek()
        if top is not None:
            heapq.heappop(self._heap)
            del self._live[pod_key(top.pod)]
        return top

    def __len__(self) -> int:
        return len(self._live)

    def items(self) -> list[QueuedPodInfo]:
        return [e.qpi for e in self._live.values()]


class Nominator:
    """Pods that preempted others and wait for room on their nominated node."""

    def __init__(self) -> None:
        self.nominated: dict[str, list[PodInfo]] = {}
        self.pod_to_node: dict[str, str] = {}

    def add_nominated_pod(self, pi: PodInfo, node: str) -> None:
        self.delete_nominated_pod_if_exists(pi.pod)
        if not node:
            return
        self.pod_to_node[pod_key(pi.pod)] = node
        self.nominated.setdefault(node, []).append(pi)

    def delete_nominated_pod_if_exists(self, pod: Pod) -> None:
        node = self.pod_to_node.pop(pod_key(pod), None)
        if node is None:
            return
        self.nominated[node] = [p for p in self.nominated[node] if pod_key(p.pod) != pod_key(pod)]
        if not self.nominated[node]:
            del self.nominated[node]

    def nominated_pods_for_node(self, node: str) -> list[PodInfo]:
        return list(self.nominated.get(node, ()))


class PriorityQueue:
    """activeQ + backoffQ + unschedulablePods, driven by an injected clock."""

    def __init__(
        self,
        less: Callable[[QueuedPodInfo, QueuedPodInfo], bool],
        clock: Callable[[], float],
        pre_enqueue: Callable[[Pod], object] | None = None,
        initial_backoff: float = DEFAULT_POD_INITIAL_BACKOFF,
        max_backoff: float = DEFAULT_POD_MAX_BACKOFF,
        max_in_unschedulable: float = DEFAULT_POD_MAX_IN_UNSCHEDULABLE_PODS_DURATION,
        queueing_hint_map: QueueingHintMap | None = None,
    ) -> None:
        self.clock = clock
        self.queueing_hint_map: QueueingHintMap = queueing_hint_map or {}
        self.pre_enqueue = pre_enqueue
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.max_in_unschedulable = max_in_unschedulable
        self.active_q = _Heap(less)
        self.backoff_q = _Heap(lambda a, b: self.backoff_time(a) < self.backoff_time(b))
        self.unschedulable_pods: dict[str, QueuedPodInfo] = {}
        self.nominator = Nominator()
        self.scheduling_cycle = 0
        self.move_request_cycle = -1

    def _gate(self, qpi: QueuedPodInfo) -> bool:
        """runPreEnqueuePlugins: False parks the pod among the unschedulable ones."""
        status = self.pre_enqueue(qpi.pod) if self.pre_enqueue else None
        qpi.gated = status is not None
        if qpi.gated:
            qpi.unschedulable_plugins = {status.plugin}
        return not qpi.gated

    def add(self, pod: Pod) -> None:
        qpi = QueuedPodInfo(pod, self.clock())
        key = pod_key(pod)
        self.unschedulable_pods.pop(key, None)
        self.backoff_q.delete(key)
        if self._gate(qpi):
            self.active_q.add(qpi)
            if pod.status.nominated_node_name:
                self.nominator.add_nominated_pod(qpi.pod_info, pod.status.nominated_node_name)
        else:
            self.unschedulable_pods[key] = qpi

    def pop(self) -> QueuedPodInfo | None:
        """Non-blocking Pop: the adapter waits when this returns None."""
        qpi = self.active_q.pop()
        if qpi is None:
            return None
        qpi.attempts += 1
        # This attempt's rejectors replace the last one's (an error leaves none).
        qpi.unschedulable_plugins = set()
        qpi.pending_plugins = set()
        if qpi.initial_attempt_timestamp is None:
            qpi.initial_attempt_timestamp = self.clock()
        self.scheduling_cycle += 1
        return qpi

    def backoff_time(self, qpi: QueuedPodInfo) -> float:
        return qpi.timestamp + self.calculate_backoff_duration(qpi)

    def calculate_backoff_duration(self, qpi: QueuedPodInfo) -> float:
        """1 s, doubled per attempt after the first, capped at 10 s."""
        d = self.initial_backoff
        for _ in range(1, qpi.attempts):
            d *= 2
            if d > self.max_backoff:
                return self.max_backoff
        return d

    def is_pod_backing_off(self, qpi: QueuedPodInfo) -> bool:
        """isPodBackingoff: never for a gated pod, which was not tried yet."""
        return not qpi.gated and self.backoff_time(qpi) > self.clock()

    def add_unschedulable_if_not_present(self, qpi: QueuedPodInfo, pod_cycle: int) -> None:
        key = pod_key(qpi.pod)
        if self.active_q.get(key) or self.backoff_q.get(key) or key in self.unschedulable_pods:
            return
        qpi.timestamp = self.clock()
        # An event arrived since this pod was popped, or it failed with an error:
        # retry after backoff rather than wait for the next event.
        if self.move_request_cycle >= pod_cycle or not qpi.unschedulable_plugins:
            self.backoff_q.add(qpi)
        else:
            self.unschedulable_pods[key] = qpi

    def flush_backoff_q_completed(self) -> int:
        moved = 0
        now = self.clock()
        while (top := self.backoff_q.peek()) is not None and self.backoff_time(top) <= now:
            self.active_q.add(self.backoff_q.pop())
            moved += 1
        return moved

    def flush_unschedulable_pods_left_over(self) -> None:
        now = self.clock()
        old = [
            q
            for q in self.unschedulable_pods.values()
            if now - q.timestamp > self.max_in_unschedulable
        ]
        if old:
            self.move_pods_to_active_or_backoff_queue(old, UNSCHEDULABLE_TIMEOUT, None, None)

    def is_event_of_interest(self, event: ClusterEvent) -> bool:
        """isEventOfInterest: did any plugin of any profile register for this event?"""
        if event.is_wildcard():
            return True
        return any(ev.match(event) for regs in self.queueing_hint_map.values() for ev, _, _ in regs)

    def is_pod_worth_requeuing(
        self, qpi: QueuedPodInfo, event: ClusterEvent, old_obj, new_obj
    ) -> int:
        """isPodWorthRequeuing: ask the hints of the plugins that rejected this pod."""
        rejectors = qpi.unschedulable_plugins | qpi.pending_plugins
        if not rejectors or event.is_wildcard():
            return QUEUE_AFTER_BACKOFF
        regs = self.queueing_hint_map.get(qpi.pod.spec.scheduler_name or DEFAULT_SCHEDULER_NAME)
        if regs is None:
            return QUEUE_AFTER_BACKOFF  # no profile for it: upstream logs a bug and moves
        strategy = QUEUE_STRATEGY_SKIP
        for ev, plugin, fn in regs:
            if plugin not in rejectors or not ev.match(event):
                continue
            try:
                hint = fn(qpi.pod, old_obj, new_obj) if fn is not None else QUEUE
            except Exception:  # an error must not strand the pod: upstream takes it as Queue
                hint = QUEUE
            if hint == QUEUE_SKIP:
                continue
            if plugin in qpi.pending_plugins:
                return QUEUE_IMMEDIATELY  # Pending plugins skip backoff
            if not qpi.pending_plugins:
                return QUEUE_AFTER_BACKOFF
            strategy = QUEUE_AFTER_BACKOFF
        return strategy

    def requeue_pod_via_queueing_hint(self, qpi: QueuedPodInfo, strategy: int) -> str:
        """requeuePodViaQueueingHint: put a pod taken from unschedulablePods where it belongs."""
        key = pod_key(qpi.pod)
        if strategy == QUEUE_STRATEGY_SKIP:
            self.unschedulable_pods[key] = qpi
            return UNSCHEDULABLE_PODS
        if strategy == QUEUE_AFTER_BACKOFF and self.is_pod_backing_off(qpi):
            self.unschedulable_pods.pop(key, None)
            self.backoff_q.add(qpi)
            return BACKOFF_Q
        if not self._gate(qpi):  # moveToActiveQ re-runs PreEnqueue
            self.unschedulable_pods[key] = qpi
            return UNSCHEDULABLE_PODS
        self.unschedulable_pods.pop(key, None)
        self.backoff_q.delete(key)
        self.active_q.add(qpi)
        return ACTIVE_Q

    def move_all_to_active_or_backoff_queue(
        self, event: ClusterEvent, old_obj=None, new_obj=None
    ) -> None:
        """MoveAllToActiveOrBackoffQueue: offer one cluster event to every unschedulable pod."""
        if not self.is_event_of_interest(event):
            return  # no plugin cares: skip walking the unschedulable pods
        self.move_pods_to_active_or_backoff_queue(
            list(self.unschedulable_pods.values()), event, old_obj, new_obj
        )

    def move_pods_to_active_or_backoff_queue(
        self, pods: list[QueuedPodInfo], event: ClusterEvent, old_obj, new_obj
    ) -> None:
        if not self.is_event_of_interest(event):
            return
        for qpi in pods:
            # Only an update of the pod itself can lift its scheduling gates (issue 124384).
            if qpi.gated and SCHEDULING_GATES in qpi.unschedulable_plugins:
                continue
            strategy = self.is_pod_worth_requeuing(qpi, event, old_obj, new_obj)
            if strategy != QUEUE_STRATEGY_SKIP:
                self.requeue_pod_via_queueing_hint(qpi, strategy)
        self.move_request_cycle = self.scheduling_cycle

    def update(self, old: Pod, new: Pod) -> None:
        key = pod_key(new)
        for q in (self.active_q, self.backoff_q):
            qpi = q.get(key)
            if qpi is not None:
                qpi.pod_info = PodInfo(new)
                q.add(qpi)
                return
        qpi = self.unschedulable_pods.get(key)
        if qpi is None:
            self.add(new)
            return
        qpi.pod_info = PodInfo(new)
        # The pod's own update may help it: each kind of change is an event for the hints.
        for event in pod_scheduling_properties_change(new, old):
            strategy = self.is_pod_worth_requeuing(qpi, event, old, new)
            if self.requeue_pod_via_queueing_hint(qpi, strategy) != UNSCHEDULABLE_PODS:
                break  # it left the unschedulable pods: later events cannot move it further

    def delete(self, pod: Pod) -> None:
        key = pod_key(pod)
        self.active_q.delete(key)
        self.backoff_q.delete(key)
        self.unschedulable_pods.pop(key, None)
        self.nominator.delete_nominated_pod_if_exists(pod)

    def pending_pods(self) -> list[Pod]:
        return (
            [q.pod for q in self.active_q.items()]
            + [q.pod for q in self.backoff_q.items()]
            + [q.pod for q in self.unschedulable_pods.values()]
        )
