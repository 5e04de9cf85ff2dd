"""The scheduling loop: pop a pod, decide, assume, reserve, permit, bind — or requeue.

Mirrors pkg/scheduler/scheduler.go (Scheduler, New), schedule_one.go (ScheduleOne,
schedulingCycle, bindingCycle, handleSchedulingFailure) and eventhandlers.go (how
pod/node informer events reach the cache and the queue). Pure: time comes from the
injected `clock`, randomness from the injected `random.Random`, and the API server is
reached only through the callbacks `bind`, `delete_pod`, `record_event` and
`update_status` (the running mode wires them to pods/binding, DELETE, Events and
the PodScheduled condition; the in-process cluster applies them in memory).
Omitted: asynchronous binding goroutines (binding runs inline after Permit allows).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from miniapi.base import replace
from miniapi.core.v1 import Node, Pod
from minischeduler.config import DEFAULT_SCHEDULER_NAME, KubeSchedulerConfiguration, build_framework
from minischeduler.framework.cycle_state import CycleState
from minischeduler.framework.interface import Diagnosis, FitError
from minischeduler.framework.runtime import Explain, Framework, Handle
from minischeduler.framework.status import Code, Status
from minischeduler.internal import events
from minischeduler.internal.cache import Cache
from minischeduler.internal.queue import PriorityQueue, QueuedPodInfo
from minischeduler.internal.snapshot import Snapshot
from minischeduler.schedule_one import Algorithm, NoNodesAvailableError

MAX_EXPLANATIONS = 1000  # a long-running scheduler must not keep every attempt


@dataclass
class Outcome:
    """What one ScheduleOne did, for callers and tests."""

    pod: str
    node: str = ""
    message: str = ""
    nominated_node: str = ""
    waiting: bool = False


def _pod_name(pod: Pod) -> str:
    return f"{pod.metadata.namespace}/{pod.metadata.name}"


class Scheduler:
    def __init__(
        self,
        cfg: KubeSchedulerConfiguration,
        rng: random.Random,
        clock: Callable[[], float],
        bind: Callable[[Pod, str], Status | None],
        delete_pod: Callable[[Pod], None] | None = None,
        record_event: Callable[[Pod, str, str, str], None] | None = None,
        update_status: Callable[[Pod, str, str, str], None] | None = None,
        explain: bool = False,
    ) -> None:
        self.clock = clock
        self.cache = Cache()
        self.snapshot = Snapshot()
        self.algorithm = Algorithm(rng, cfg.percentage_of_nodes_to_score)
        self.record_event = record_event or (lambda pod, typ, reason, msg: None)
        self.update_status = update_status or (lambda pod, reason, msg, nominated: None)
        self.explain_enabled = explain
        self.explanations: dict[str, Explain] = {}
        self._waiting: dict[str, tuple] = {}
        self.profiles: dict[str, Framework] = {}
        # Shared by every profile's handle: the namespace and service listers.
        self.namespace_labels: dict[str, dict[str, str]] = {}
        self.services: dict[str, object] = {}
        for p in cfg.profiles:
            h = Handle()
            h.snapshot, h.rng, h.bind_pod, h.delete_pod = self.snapshot, rng, bind, delete_pod
            h.namespace_labels, h.services = self.namespace_labels, self.services
            self.profiles[p.scheduler_name] = build_framework(
                p, h, cfg.percentage_of_nodes_to_score
            )
        first = next(iter(self.profiles.values()))
        self.queue = PriorityQueue(
            first.queue_sort_less(),
            clock,
            pre_enqueue=self._pre_enqueue,
            initial_backoff=float(cfg.pod_initial_backoff_seconds),
            max_backoff=float(cfg.pod_max_backoff_seconds),
            queueing_hint_map={
                name: fwk.events_to_register() for name, fwk in self.profiles.items()
            },
        )
        for fwk in self.profiles.values():
            fwk.handle.nominator = self.queue.nominator

    def framework_for_pod(self, pod: Pod) -> Framework | None:
        return self.profiles.get(pod.spec.scheduler_name or DEFAULT_SCHEDULER_NAME)

    def _pre_enqueue(self, pod: Pod) -> Status | None:
        fwk = self.framework_for_pod(pod)
        return fwk.run_pre_enqueue_plugins(pod) if fwk else None

    # eventhandlers.go: informer events -> cache and queue, with the objects for the hints.
    def on_pod_add(self, pod: Pod) -> None:
        if pod.spec.node_name:
            self.cache.add_pod(pod)
            self.queue.nominator.delete_nominated_pod_if_exists(pod)
            self.queue.move_all_to_active_or_backoff_queue(events.ASSIGNED_POD_ADD, None, pod)
        elif self.framework_for_pod(pod) is not None:
            self.queue.add(pod)

    def on_pod_update(self, old: Pod, new: Pod) -> None:
        if new.spec.node_name and not old.spec.node_name:
            # Bound: it leaves the unscheduled pods and arrives as an assigned pod.
            self.queue.delete(old)
            self.on_pod_add(new)
        elif new.spec.node_name:
            self.cache.update_pod(old, new)
            for ev in events.pod_scheduling_properties_change(new, old):
                self.queue.move_all_to_active_or_backoff_queue(ev, old, new)
        elif self.framework_for_pod(new) is not None and not self.cache.is_assumed_pod(new):
            # An assumed pod's own updates (its status) must not queue it again.
            self.queue.update(old, new)

    def on_pod_delete(self, pod: Pod) -> None:
        if pod.spec.node_name:
            self.cache.remove_pod(pod)
            self.queue.move_all_to_active_or_backoff_queue(events.ASSIGNED_POD_DELETE, pod, None)
        else:
            self.queue.delete(pod)
            self.queue.move_all_to_active_or_backoff_queue(events.UNSCHEDULED_POD_DELETE, pod, None)

    def on_namespace(self, ns, old=None) -> None:
        """Namespace add/update: its labels feed namespaceSelector in pod affinity."""
        self.namespace_labels[ns.metadata.name] = dict(ns.metadata.labels)
        self.queue.move_all_to_active_or_backoff_queue(events.NAMESPACE_CHANGE, old, ns)

    def on_namespace_delete(self, ns) -> None:
        self.namespace_labels.pop(ns.metadata.name, None)

    def on_service(self, svc) -> None:
        """Service add/update: its selector defaults PodTopologySpread's constraints."""
        self.services[f"{svc.metadata.namespace}/{svc.metadata.name}"] = svc

    def on_service_delete(self, svc) -> None:
        self.services.pop(f"{svc.metadata.namespace}/{svc.metadata.name}", None)

    def on_node_add(self, node: Node) -> None:
        self.cache.add_node(node)
        self.queue.move_all_to_active_or_backoff_queue(events.NODE_ADD, None, node)

    def on_node_update(self, old: Node, new: Node) -> None:
        self.cache.update_node(new)
        for ev in events.node_scheduling_properties_change(new, old):
            self.queue.move_all_to_active_or_backoff_queue(ev, old, new)

    def on_node_delete(self, node: Node) -> None:
        self.cache.remove_node(node)
        # A deleted node can lower the minimum of a topology spread domain.
        self.queue.move_all_to_active_or_backoff_queue(events.NODE_DELETE, node, None)

    def schedule_one(self) -> Outcome | None:
        """ScheduleOne: one pod from activeQ through the scheduling and binding cycles."""
        qpi = self.queue.pop()
        if qpi is None:
            return None
        pod = qpi.pod
        fwk = self.framework_for_pod(pod)
        if fwk is None or pod.metadata.deletion_timestamp is not None:
            return Outcome(_pod_name(pod), message="skipped")
        self.cache.update_snapshot(self.snapshot)
        state = CycleState()
        fwk.explain = Explain(pod=_pod_name(pod)) if self.explain_enabled else None
        cycle = self.queue.scheduling_cycle
        try:
            result = self.algorithm.schedule_pod(fwk, state, pod, self.snapshot)
        except FitError as fe:
            return self._handle_fit_error(fwk, state, qpi, fe, cycle)
        except NoNodesAvailableError as e:
            fe = FitError(pod, 0, Diagnosis())
            return self._handle_failure(fwk, qpi, fe, cycle, str(e))
        finally:
            if fwk.explain is not None:
                self._keep_explanation(_pod_name(pod), fwk.explain)
        return self._assume_and_bind(fwk, state, qpi, result.suggested_host, cycle)

    def _keep_explanation(self, key: str, ex: Explain) -> None:
        """The last attempt per pod, for the most recent MAX_EXPLANATIONS pods only."""
        self.explanations.pop(key, None)
        self.explanations[key] = ex
        while len(self.explanations) > MAX_EXPLANATIONS:
            del self.explanations[next(iter(self.explanations))]

    def _handle_fit_error(self, fwk, state, qpi, fe: FitError, cycle: int) -> Outcome:
        nominated = ""
        if fwk.plugins("postFilter"):
            r, s = fwk.run_post_filter_plugins(state, qpi.pod, fe.diagnosis.node_to_status)
            if s.code == Code.SUCCESS and r is not None:
                nominated = r.nominated_node_name
            elif s.reasons:
                fe.diagnosis.post_filter_msg = s.message()
        qpi.unschedulable_plugins = set(fe.diagnosis.unschedulable_plugins) - {""}
        qpi.pending_plugins = set(fe.diagnosis.pending_plugins) - {""}
        return self._handle_failure(fwk, qpi, fe, cycle, str(fe), nominated)

    def _handle_failure(self, fwk, qpi, fe, cycle, msg: str, nominated: str = "") -> Outcome:
        """handleSchedulingFailure: requeue, nominate, event, PodScheduled=False."""
        pod = qpi.pod
        if fwk.explain is not None:
            fwk.explain.message = msg
        self.queue.add_unschedulable_if_not_present(qpi, cycle)
        if nominated:
            self.queue.nominator.add_nominated_pod(qpi.pod_info, nominated)
        self.record_event(pod, "Warning", "FailedScheduling", msg)
        self.update_status(pod, "Unschedulable", msg, nominated)
        return Outcome(_pod_name(pod), message=msg, nominated_node=nominated)

    def _assume_and_bind(self, fwk, state, qpi: QueuedPodInfo, host: str, cycle) -> Outcome:
        pod = qpi.pod
        assumed = replace(pod, spec=replace(pod.spec, node_name=host))
        self.cache.assume_pod(assumed)
        s = fwk.run_reserve_plugins_reserve(state, assumed, host)
        if s is None:
            s = fwk.run_permit_plugins(state, assumed, host, self.clock())
        if s is not None and s.code == Code.WAIT:
            self._waiting[pod.metadata.uid] = (fwk, state, qpi, assumed, host, cycle)
            return Outcome(_pod_name(pod), node=host, waiting=True)
        if s is not None:
            return self._undo(fwk, state, qpi, assumed, host, cycle, s)
        return self._binding_cycle(fwk, state, qpi, assumed, host, cycle)

    def process_waiting_pods(self) -> list[Outcome]:
        """Drive Permit waits: expire deadlines, then finish allowed/rejected pods."""
        out = []
        now = self.clock()
        for uid, (fwk, state, qpi, assumed, host, cycle) in list(self._waiting.items()):
            wp = fwk.handle.waiting_pods.get(uid)
            wp.expire(now)
            if wp.result is not None and wp.result.code == Code.WAIT:
                continue
            del self._waiting[uid]
            del fwk.handle.waiting_pods[uid]
            if wp.result is None:
                out.append(self._binding_cycle(fwk, state, qpi, assumed, host, cycle))
            else:
                out.append(self._undo(fwk, state, qpi, assumed, host, cycle, wp.result))
        return out

    def _binding_cycle(self, fwk, state, qpi, assumed: Pod, host: str, cycle) -> Outcome:
        s = fwk.run_pre_bind_plugins(state, assumed, host)
        if s is None:
            s = fwk.run_bind_plugins(state, assumed, host)
        if s is not None and s.code != Code.SUCCESS:
            return self._undo(fwk, state, qpi, assumed, host, cycle, s)
        self.cache.finish_binding(assumed, self.clock())
        fwk.run_post_bind_plugins(state, assumed, host)
        pod = qpi.pod
        msg = f"Successfully assigned {_pod_name(pod)} to {host}"
        self.record_event(pod, "Normal", "Scheduled", msg)
        return Outcome(_pod_name(pod), node=host, message=msg)

    def _undo(self, fwk, state, qpi, assumed, host, cycle, s: Status) -> Outcome:
        fwk.run_reserve_plugins_unreserve(state, assumed, host)
        self.cache.forget_pod(assumed)
        self.queue.move_all_to_active_or_backoff_queue(events.ASSIGNED_POD_DELETE, assumed, None)
        if s.is_rejected():
            qpi.unschedulable_plugins = {s.plugin} - {""}
        fe = FitError(qpi.pod, self.snapshot.num_nodes(), Diagnosis())
        return self._handle_failure(fwk, qpi, fe, cycle, s.message())
