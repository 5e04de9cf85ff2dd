"""An in-memory cluster that plays the API server for the pure Scheduler.

Not an upstream file: it stands where kube-apiserver and the informers stand, so
tests, the benchmark (like test/integration/scheduler_perf's in-process setup) and
`explain --cluster FILE` can drive the real scheduling loop without sockets.
Binding sets spec.nodeName and feeds the pod back as an informer update; deleting a
victim removes it at once (a grace period of 0).
"""

from __future__ import annotations

import random
from collections.abc import Iterable

from miniapi.base import replace
from miniapi.core.v1 import Node, Pod
from minischeduler.config import KubeSchedulerConfiguration, load
from minischeduler.framework.status import Status
from minischeduler.scheduler import Outcome, Scheduler


class FakeClock:
    """Seconds that only move when told to."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def step(self, seconds: float) -> None:
        self.now += seconds


class InProcessCluster:
    def __init__(
        self,
        cfg: KubeSchedulerConfiguration | None = None,
        seed: int = 0,
        explain: bool = False,
    ) -> None:
        self.clock = FakeClock()
        self.pods: dict[str, Pod] = {}
        self.nodes: dict[str, Node] = {}
        self.events: list[tuple[str, str, str, str]] = []
        self.conditions: dict[str, tuple[str, str]] = {}
        self.scheduler = Scheduler(
            cfg or load(None),
            random.Random(seed),
            self.clock,
            bind=self._bind,
            delete_pod=self.delete_pod,
            record_event=self._event,
            update_status=self._status,
            explain=explain,
        )

    @staticmethod
    def key(pod: Pod) -> str:
        return f"{pod.metadata.namespace}/{pod.metadata.name}"

    def _bind(self, pod: Pod, node: str) -> Status | None:
        old = self.pods[self.key(pod)]
        new = replace(old, spec=replace(old.spec, node_name=node))
        self.pods[self.key(pod)] = new
        self.scheduler.on_pod_update(old, new)
        return None

    def _event(self, pod: Pod, typ: str, reason: str, msg: str) -> None:
        self.events.append((self.key(pod), typ, reason, msg))

    def _status(self, pod: Pod, reason: str, msg: str, nominated: str) -> None:
        self.conditions[self.key(pod)] = (reason, msg)
        old = self.pods.get(self.key(pod))
        if nominated and old is not None:
            new = replace(old, status=replace(old.status, nominated_node_name=nominated))
            self.pods[self.key(pod)] = new
            self.scheduler.on_pod_update(old, new)  # what the informer would deliver

    def add_node(self, node: Node) -> None:
        self.nodes[node.metadata.name] = node
        self.scheduler.on_node_add(node)

    def add_pod(self, pod: Pod) -> None:
        self.pods[self.key(pod)] = pod
        self.scheduler.on_pod_add(pod)

    def delete_pod(self, pod: Pod) -> None:
        old = self.pods.pop(self.key(pod), None)
        if old is not None:
            self.scheduler.on_pod_delete(old)

    def schedule_all(self, max_steps: int = 100_000) -> list[Outcome]:
        """Run ScheduleOne until activeQ is empty (no clock advance)."""
        out = []
        for _ in range(max_steps):
            o = self.scheduler.schedule_one()
            if o is None:
                break
            out.append(o)
        return out

    def run(self, seconds: float, step: float = 1.0) -> list[Outcome]:
        """Advance the fake clock, flushing backoff/unschedulable pods as upstream's loops do."""
        out = self.schedule_all()
        elapsed = 0.0
        while elapsed < seconds:
            self.clock.step(step)
            elapsed += step
            q = self.scheduler.queue
            q.flush_backoff_q_completed()
            q.flush_unschedulable_pods_left_over()
            out += self.scheduler.process_waiting_pods()
            out += self.schedule_all()
        return out

    def load(self, objects: Iterable[Node | Pod]) -> None:
        for o in objects:
            if isinstance(o, Node):
                self.add_node(o)
        for o in objects:
            if isinstance(o, Pod):
                self.add_pod(o)
