"""One asyncio task per (container instance, probe type), feeding the worker state machine.

Mirrors pkg/kubelet/prober/prober_manager.go (AddPod/RemovePod, workers keyed by
pod, container and probe type, results read back by the status path) and worker.go's
run loop (a probe every periodSeconds; liveness and readiness wait for startup).
Results are kept per container id, so a restarted container starts afresh.
Omitted: the probe-result channels (a callback pokes the pod worker instead), metrics.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from miniapi.core import v1
from minikubelet import cri
from minikubelet.prober.prober import run_probe
from minikubelet.prober.worker import (
    FAILURE,
    LIVENESS,
    READINESS,
    STARTUP,
    SUCCESS,
    ProbeSpec,
    Worker,
)  # fmt: skip


class ProberManager:
    def __init__(
        self, runtime: cri.RuntimeService | None, on_change: Callable[[str, str, str, str], None]
    ) -> None:
        self.runtime, self.on_change = runtime, on_change
        self.workers: dict[tuple[str, str], Worker] = {}  # (container id, type)
        self.tasks: dict[tuple[str, str], asyncio.Task] = {}
        self.by_pod: dict[str, set[tuple[str, str]]] = {}

    def result(self, cid: str, probe_type: str) -> str | None:
        w = self.workers.get((cid, probe_type))
        return w.result if w else None

    def readiness(self, cid: str) -> bool:
        started = self.result(cid, STARTUP) in (None, SUCCESS)
        return started and self.result(cid, READINESS) in (None, SUCCESS)

    def started(self, cid: str) -> bool:
        return self.result(cid, STARTUP) in (None, SUCCESS)

    def failed(self) -> set[str]:
        """Container ids whose liveness or startup probe says restart."""
        return {cid for (cid, t), w in self.workers.items()
                if t in (LIVENESS, STARTUP) and w.result == FAILURE}  # fmt: skip

    def sync(self, pod_uid: str, pod: v1.Pod, running: dict[str, tuple[str, float]], ip: str):
        """Start workers for running instances ({name: (id, started_at)}), stop the rest."""
        specs = {c.name: c for c in pod.spec.containers}
        wanted = set()
        for name, (cid, started_at) in running.items():
            spec = specs.get(name)
            if spec is None:
                continue
            for kind, probe in ((STARTUP, spec.startup_probe), (LIVENESS, spec.liveness_probe),
                                (READINESS, spec.readiness_probe)):  # fmt: skip
                if probe is None:
                    continue
                key = (cid, kind)
                wanted.add(key)
                if key not in self.tasks:
                    self.workers[key] = Worker(kind, ProbeSpec.from_probe(probe))
                    self.tasks[key] = asyncio.create_task(
                        self._run(pod_uid, spec, probe, key, started_at, ip)
                    )
        for key in self.by_pod.get(pod_uid, set()) - wanted:
            self._stop(key)
        self.by_pod[pod_uid] = wanted

    def remove_pod(self, pod_uid: str) -> None:
        for key in self.by_pod.pop(pod_uid, set()):
            self._stop(key)

    def _stop(self, key: tuple[str, str]) -> None:
        task = self.tasks.pop(key, None)
        if task is not None:
            task.cancel()
        self.workers.pop(key, None)

    async def _run(self, pod_uid, spec, probe, key, started_at: float, ip: str) -> None:
        worker = self.workers[key]
        cid, kind = key
        while True:
            await asyncio.sleep(worker.spec.period_seconds if worker.last_result != "Unknown"
                                else 0.2)  # fmt: skip
            if kind != STARTUP and not self.started(cid):
                continue
            if worker.result == SUCCESS and kind == STARTUP:
                return  # startup probes stop once they succeed
            if not worker.should_probe(time.time() - started_at):
                continue
            outcome, output = await run_probe(probe, spec, cid, ip, self.runtime)
            before = worker.result
            if worker.observe(outcome) != before or worker.on_hold:
                self.on_change(pod_uid, kind, worker.result, output)
            if worker.on_hold:
                return
