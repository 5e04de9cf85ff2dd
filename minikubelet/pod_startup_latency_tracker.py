"""Where a pod's start-up time went, phase by phase, told once when it first runs.

Mirrors pkg/kubelet/util/pod_startup_latency_tracker.go (ObservedPodOnWatch,
RecordImageStartedPulling / RecordImageFinishedPulling, RecordStatusUpdated and its
"Observed pod startup duration" log line with podStartE2EDuration). Beside upstream's
pulling window it keeps one timestamp per step of the kubelet's start path, so the
log line says which step a slow start spent its time in: observed (the watch event),
worker (the pod worker's first sync), volumes (the volumes' sources fetched: a TokenRequest,
ConfigMaps), sandbox (netns + CNI ADD), image (EnsureImageExists), created (rootfs
snapshot mounted and bundle written), started (the shim's OCI create + start returned),
synced (the status computed and handed to the status manager), status (the Running
status patched). A pure core: callers pass the times.
Omitted: the kubelet_pod_start_sli_duration_seconds histogram, excluding pull time (SLO).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

PHASES = ("observed", "worker", "volumes", "sandbox", "image", "created", "started", "synced",
          "status")  # fmt: skip


@dataclass
class PodStartup:
    name: str
    created: float  # the pod's creationTimestamp, seconds since the epoch
    times: dict[str, float] = field(default_factory=dict)

    def durations(self) -> dict[str, float]:
        """Seconds spent reaching each phase from the one before it (missing ones skipped)."""
        out, last = {}, self.created
        for phase in PHASES:
            if phase in self.times:
                out[phase] = round(self.times[phase] - last, 3)
                last = self.times[phase]
        return out


class PodStartupLatencyTracker:
    """Per pod UID, the first time each phase was reached; runtime threads mark it too."""

    def __init__(self) -> None:
        self.pods: dict[str, PodStartup] = {}
        self.lock = threading.Lock()  # marks come from the event loop and worker threads

    def observed_pod_on_watch(self, uid: str, name: str, created: float, when: float) -> None:
        with self.lock:
            if uid not in self.pods:
                self.pods[uid] = PodStartup(name, created, {"observed": when})

    def mark(self, uid: str, phase: str, when: float) -> None:
        with self.lock:
            pod = self.pods.get(uid)
            if pod is not None:
                pod.times.setdefault(phase, when)

    def record_status_updated(self, uid: str, running: bool, when: float) -> PodStartup | None:
        """The pod's status was sent: the record, once, the first time it says Running."""
        with self.lock:
            pod = self.pods.get(uid)
            if pod is None or not running or "status" in pod.times:
                return None
            pod.times["status"] = when
            return pod

    def delete_pod(self, uid: str) -> None:
        with self.lock:
            self.pods.pop(uid, None)
